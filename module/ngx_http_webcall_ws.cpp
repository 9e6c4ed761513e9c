/*
 * webcall: the WebSocket transport of webcall_signal. It checks the
 * handshake, answers 101 itself and then owns the connection: frames are
 * parsed by the pure codec (core/ws_frame), whole messages go up to the
 * signaling protocol (ngx_http_webcall_signal.cpp) through the events it
 * gave, and frames go out through the send queue
 * (ngx_http_webcall_ws_send.cpp).
 *
 * Memory per connection: the session (with its frame parser) in one block
 * of its own; a message buffer and a send buffer only once they were
 * needed (a send buffer grows to webcall_ws_send_queue at most, then the
 * reader is too slow and is closed). Reads go into one per-process buffer,
 * since every read pass is consumed whole (payload is copied out as it is
 * parsed): no per-message allocation.

 *
 * A joined session is detached from its HTTP request
 * (ngx_http_webcall_ws_detach.cpp).
 */

#include "ngx_http_webcall_ws.h"


#include <new>


namespace ws = webcall::ws;


#define NGX_HTTP_WEBCALL_READ_BUF    16384
#define NGX_HTTP_WEBCALL_CLOSE_WAIT  1000

/* close codes of RFC 6455 the transport uses itself */
#define NGX_HTTP_WEBCALL_WS_GOING_AWAY  1001
#define NGX_HTTP_WEBCALL_WS_POLICY      1008
#define NGX_HTTP_WEBCALL_WS_INTERNAL    1011


static ngx_rbtree_t        ngx_http_webcall_sessions;
static ngx_rbtree_node_t   ngx_http_webcall_sessions_sentinel;
static uint64_t            ngx_http_webcall_next_session;
static u_char              ngx_http_webcall_read_buf[NGX_HTTP_WEBCALL_READ_BUF];


static ngx_int_t ngx_http_webcall_tcp_nodelay(ngx_http_request_t *r)
    noexcept;
static void ngx_http_webcall_session_cleanup(void *data) noexcept;
static void ngx_http_webcall_session_free(void *data) noexcept;
static void ngx_http_webcall_ws_read(ngx_http_request_t *r) noexcept;
static void ngx_http_webcall_ws_receive(ngx_http_webcall_session_t *s)
    noexcept;
static ngx_int_t ngx_http_webcall_ws_input(ngx_http_webcall_session_t *s,
    u_char *p, size_t n) noexcept;
static ngx_int_t ngx_http_webcall_ws_spill(ngx_http_webcall_session_t *s)
    noexcept;
static ngx_int_t ngx_http_webcall_ws_charge(ngx_http_webcall_session_t *s)
    noexcept;
static ngx_int_t ngx_http_webcall_ws_copy(ngx_http_webcall_session_t *s,
    const u_char *data, size_t len) noexcept;
static ngx_int_t ngx_http_webcall_ws_append(ngx_http_webcall_session_t *s,
    const ws::step &st) noexcept;
static void ngx_http_webcall_ws_message(ngx_http_webcall_session_t *s,
    ws::opcode op) noexcept;
static void ngx_http_webcall_ping_handler(ngx_event_t *ev) noexcept;
static void ngx_http_webcall_closing_handler(ngx_event_t *ev) noexcept;
static uint64_t ngx_http_webcall_clock_ms(void) noexcept;


void
ngx_http_webcall_ws_init(void) noexcept
{
    ngx_rbtree_init(&ngx_http_webcall_sessions,
                    &ngx_http_webcall_sessions_sentinel,
                    ngx_rbtree_insert_value);
    ngx_http_webcall_next_session = 1;

    ngx_http_webcall_ws_detach_init();

}


static ngx_http_webcall_session_t *
ngx_http_webcall_session_find(uint64_t id) noexcept
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = ngx_http_webcall_sessions.root;
    sentinel = ngx_http_webcall_sessions.sentinel;

    if (node == NULL) {
        return NULL;
    }

    while (node != sentinel) {
        if (id == node->key) {
            return (ngx_http_webcall_session_t *) node;
        }

        node = (id < node->key) ? node->left : node->right;
    }

    return NULL;
}


static uint64_t
ngx_http_webcall_clock_ms(void) noexcept
{
    return (uint64_t) ngx_current_msec;
}


/* The request's shape and the Origin, checked before the 101; the room is
 * the protocol's to check (ngx_http_webcall_signal_handler). */
ngx_int_t
ngx_http_webcall_ws_handshake(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, char *accept) noexcept
{
    ngx_table_elt_t  *key, *version, *h;

    if (r != r->main || r->method != NGX_HTTP_GET
        || r->http_version != NGX_HTTP_VERSION_11)
    {
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                                          "not a GET over HTTP/1.1");
    }

    h = ngx_http_webcall_header(r, "Upgrade");
    if (h == NULL
        || !ws::header_has_token({(const char *) h->value.data,
                                  h->value.len}, "websocket"))
    {
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                                          "no \"Upgrade: websocket\"");
    }

    h = ngx_http_webcall_header(r, "Connection");
    if (h == NULL
        || !ws::header_has_token({(const char *) h->value.data,
                                  h->value.len}, "upgrade"))
    {
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                                          "no \"Connection: upgrade\"");
    }

    version = ngx_http_webcall_header(r, "Sec-WebSocket-Version");
    if (version == NULL || version->value.len != 2
        || ngx_strncmp(version->value.data, "13", 2) != 0)
    {
        h = (ngx_table_elt_t *) ngx_list_push(&r->headers_out.headers);
        if (h != NULL) {
            h->hash = 1;
            ngx_str_set(&h->key, "Sec-WebSocket-Version");
            ngx_str_set(&h->value, "13");
        }
        return ngx_http_webcall_ws_refuse(r, 426,
                                          "Sec-WebSocket-Version is not 13");
    }

    key = ngx_http_webcall_header(r, "Sec-WebSocket-Key");
    if (key == NULL
        || !ws::key_valid({(const char *) key->value.data, key->value.len})
        || !ws::accept_value({(const char *) key->value.data,
                              key->value.len}, accept))
    {
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                                          "no valid Sec-WebSocket-Key");
    }

    if (!ngx_http_webcall_origin_allowed(r, conf)) {
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_FORBIDDEN,
                                          "its Origin is not allowed "
                                          "(see webcall_allowed_origins)");
    }

    return NGX_OK;
}


/* One info line per refused handshake, so a sysadmin can see why a
 * client could not connect (a proxy dropping Upgrade, a wrong Origin). */
ngx_int_t
ngx_http_webcall_ws_refuse(ngx_http_request_t *r, ngx_int_t status,
    const char *why) noexcept
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webcall: WebSocket handshake refused with %i: %s",
                  status, why);
    return status;
}


ngx_int_t
ngx_http_webcall_ws_refused(ngx_http_request_t *r, ngx_int_t rc) noexcept
{
    if (rc == 426) {
        /* nginx has no 426 page of its own: send the status line ourselves */
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");
        r->headers_out.status = 426;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    return rc;
}


static ngx_int_t
ngx_http_webcall_tcp_nodelay(ngx_http_request_t *r) noexcept
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->tcp_nodelay) {
        return ngx_tcp_nodelay(r->connection);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_webcall_ws_start(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, const char *accept,
    const ngx_http_webcall_ws_events_t *events, void *data) noexcept
{
    ngx_http_webcall_session_t  *s;
    ngx_http_webcall_attach_t   *a;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_connection_t            *c;
    webcall::rate::config        rates;
    u_char                       head[160], *p;

    c = r->connection;

    /* the parser right after the session, in the same block; it holds no
     * resources, so it is freed with the block without a destructor */
    static_assert(std::is_trivially_destructible_v<ws::parser>);
    static_assert(sizeof(ngx_http_webcall_session_t) % alignof(ws::parser)
                  == 0);

    s = (ngx_http_webcall_session_t *)
            ngx_alloc(sizeof(ngx_http_webcall_session_t) + sizeof(ws::parser),
                      c->log);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(s, sizeof(ngx_http_webcall_session_t));

    a = (ngx_http_webcall_attach_t *)
            ngx_pcalloc(r->pool, sizeof(ngx_http_webcall_attach_t));
    if (a != NULL) {
        a->free = ngx_pool_cleanup_add(r->pool, 0);
    }

    if (a == NULL || a->free == NULL) {
        ngx_free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* from here the request's pool frees the session, until detached */
    a->free->handler = ngx_http_webcall_session_free;
    a->free->data = s;

    a->cleanup = ngx_http_cleanup_add(r, 0);
    if (a->cleanup == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->parser = new (s + 1) ws::parser(conf->max_message);

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    s->connection = c;
    s->request = r;
    s->attach = a;
    s->conf = conf;
    s->zone = conf->signal_zone;
    s->events = events;
    s->send_timeout = clcf->send_timeout;
    s->node.key = (ngx_rbtree_key_t) ngx_http_webcall_next_session++;

    rates.messages = {(uint32_t) conf->rate_messages,
                      (uint32_t) conf->rate_messages * 4};
    rates.bytes = {(uint32_t) conf->rate_bytes,
                   (uint32_t) conf->rate_bytes * 4};
    webcall::rate::init(s->limiter, rates, ngx_http_webcall_clock_ms());

    s->ping.handler = ngx_http_webcall_ping_handler;
    s->ping.data = s;
    s->ping.log = c->log;
    s->closing.handler = ngx_http_webcall_closing_handler;
    s->closing.data = s;
    s->closing.log = c->log;

    a->detach.handler = ngx_http_webcall_ws_detached;
    a->detach.data = s;
    a->detach.log = c->log;

    a->cleanup->handler = ngx_http_webcall_session_cleanup;
    a->cleanup->data = s;

    /* found by the event handlers here, not through r->cleanup, which
     * nginx empties when it terminates the request */
    ngx_http_set_ctx(r, s, ngx_http_webcall_module);

    ngx_rbtree_insert(&ngx_http_webcall_sessions, &s->node);
    ngx_http_webcall_connections(s->zone, 1);

    events->open(s, data);

    /* bytes the client sent right after its handshake are not lost */
    if (r->header_in->pos < r->header_in->last) {
        s->pending = r->header_in->pos;
        s->pending_last = r->header_in->last;
        r->header_in->pos = r->header_in->last;
    }

    /* the 101 is written by us, not by nginx's header filters: from here
     * on the connection carries WebSocket frames only */
    p = ngx_sprintf(head, "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %*s\r\n\r\n",
                    (size_t) ws::accept_len, accept);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    r->header_sent = 1;
    r->keepalive = 0;
    r->lingering_close = 0;
    r->main->count++;
    r->read_event_handler = ngx_http_webcall_ws_read;
    r->write_event_handler = ngx_http_webcall_ws_write;

    /* an idle connection: at graceful shutdown nginx closes it, and our
     * cleanup says 1001 "going away" so the client resumes elsewhere */
    c->idle = 1;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    /* signaling is small messages that must go out at once */
    if (ngx_http_webcall_tcp_nodelay(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_webcall_ws_send_frame(s, head, p - head, NULL, 0, 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the first tick is the join deadline: the protocol's tick closes a
     * connection that has not joined by then (1008), and ping_handler
     * pings one that has */
    ngx_add_timer(&s->ping, ngx_min(conf->join_timeout, conf->ping_interval));

    /* reads and the first flush happen from the event loop, after nginx
     * is done with the content phase */
    ngx_post_event(c->read, &ngx_posted_events);
    ngx_post_event(c->write, &ngx_posted_events);

    return NGX_DONE;
}


/* The session's end, as the request's cleanup (nginx terminating it) or
 * from ngx_http_webcall_ws_finish once detached. Its memory stays. */
static void
ngx_http_webcall_session_cleanup(void *data) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) data;
    ngx_connection_t            *c;
    u_char                       frame[127];
    size_t                       len;
    ssize_t                      n;

    c = s->connection;
    s->done = 1;

    /* shutdown or reload: one best-effort "going away" so the client comes
     * back with its resume secret to a new worker; after the frames of
     * this turn, if the socket takes them */
    if (!s->close_sent && !c->error && !c->timedout) {
        if (s->out_pos < s->out_last) {
            n = c->send(c, s->out + s->out_pos, s->out_last - s->out_pos);
            if (n > 0) {
                s->out_pos += n;
            }
        }

        if (s->out_pos == s->out_last) {
            len = ws::encode_close(frame, NGX_HTTP_WEBCALL_WS_GOING_AWAY,
                                   "going away");
            (void) c->send(c, frame, len);
        }
    }

    s->events->closed(s);

    if (s->ping.timer_set) {
        ngx_del_timer(&s->ping);
    }

    if (s->closing.timer_set) {
        ngx_del_timer(&s->closing);
    }

    if (s->ping.posted) {
        ngx_delete_posted_event(&s->ping);
    }

    /* a detach asked for, and now never needed */
    if (s->attach != NULL && s->attach->detach.posted) {
        ngx_delete_posted_event(&s->attach->detach);
    }

    ngx_rbtree_delete(&ngx_http_webcall_sessions, &s->node);
    ngx_http_webcall_connections(s->zone, -1);

    ngx_free(s->msg);
    ngx_free(s->out);
    s->msg = NULL;
    s->out = NULL;
}


/* The request's pool is destroyed: a session still attached goes with it. */
static void
ngx_http_webcall_session_free(void *data) noexcept
{
    ngx_free(data);
}


/* Reads while the request is there (nginx's request handler calls it). */
static void
ngx_http_webcall_ws_read(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_session_t  *s;

    s = (ngx_http_webcall_session_t *)
            ngx_http_get_module_ctx(r, ngx_http_webcall_module);

    if (s == NULL || s->done) {
        return;
    }

    ngx_http_webcall_ws_receive(s);
}


/* Reads once detached: the connection's own handler. */
void
ngx_http_webcall_ws_read_event(ngx_event_t *rev) noexcept
{
    ngx_connection_t            *c = (ngx_connection_t *) rev->data;
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) c->data;

    if (c->close) {
        /* graceful shutdown closes idle connections: "going away"; and at
         * once, for a worker with no timers left exits before it would run
         * posted events again */
        ngx_http_webcall_ws_finish(s);

        if (s->closing.posted) {
            ngx_delete_posted_event(&s->closing);
            ngx_http_webcall_ws_release(&s->closing);
        }

        return;
    }

    if (s->done) {
        return;
    }

    ngx_http_webcall_ws_receive(s);
}


static void
ngx_http_webcall_ws_receive(ngx_http_webcall_session_t *s) noexcept
{
    ngx_connection_t  *c;
    ssize_t            n;
    u_char            *p;
    size_t             len;

    c = s->connection;

    if (s->pending != NULL) {
        p = s->pending;
        len = s->pending_last - s->pending;
        s->pending = NULL;

        if (ngx_http_webcall_ws_input(s, p, len) != NGX_OK) {
            return;
        }
    }

    for ( ;; ) {
        n = c->recv(c, ngx_http_webcall_read_buf, NGX_HTTP_WEBCALL_READ_BUF);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            /* the peer is gone; without "bye" its seat waits out grace */
            c->error = 1;
            ngx_http_webcall_ws_finish(s);
            return;
        }

        if (ngx_http_webcall_ws_input(s, ngx_http_webcall_read_buf,
                                      (size_t) n) != NGX_OK)
        {
            return;
        }

        /* the socket had less than the buffer holds: nginx's recv knows it
         * is drained (and keeps ready for a pending FIN), so the recv that
         * would only say EAGAIN is saved, one per wake-up */
        if (!c->read->ready) {
            break;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_webcall_ws_finish(s);
    }
}


/* Feeds received bytes to the frame parser; NGX_ERROR once the session is
 * over (nothing more may be done with it then). */
static ngx_int_t
ngx_http_webcall_ws_input(ngx_http_webcall_session_t *s, u_char *p, size_t n)
    noexcept
{
    ws::step  st;

    for ( ;; ) {
        st = s->parser->next(p, n);
        p += st.consumed;
        n -= st.consumed;

        switch (st.ev) {

        case ws::event::need_more:
            return ngx_http_webcall_ws_spill(s);

        case ws::event::data:
            if (ngx_http_webcall_ws_charge(s) != NGX_OK) {
                if (s->done) {
                    return NGX_ERROR;
                }
                break;
            }
            if (ngx_http_webcall_ws_append(s, st) != NGX_OK) {
                return NGX_ERROR;
            }
            break;

        case ws::event::message_end:
            if (!s->close_sent) {
                ngx_http_webcall_ws_message(s, st.message_op);
            }
            s->frames_charged = 0;
            s->msg_len = 0;
            s->inplace = NULL;
            s->inplace_len = 0;

            /* an idle connection keeps no message buffer */
            ngx_free(s->msg);
            s->msg = NULL;
            s->msg_cap = 0;
            break;

        case ws::event::ping:
            if (!webcall::rate::allow(s->limiter,
                                      ngx_http_webcall_clock_ms(), st.len))
            {
                s->events->rate_limited(s);
                break;
            }
            if (!s->close_sent) {
                u_char h[10];
                size_t hl = ws::encode_header(h, ws::opcode::pong, true,
                                              st.len);
                (void) ngx_http_webcall_ws_send_frame(s, h, hl, st.data,
                                                      st.len, 0);
            }
            break;

        case ws::event::pong:
            s->awaiting_pong = 0;
            break;

        case ws::event::close:
            s->close_received = 1;
            s->finish_when_flushed = 1;
            /* echo the peer's code; 1005 means it sent none */
            ngx_http_webcall_ws_close(s, st.close_code, "");
            ngx_http_webcall_ws_flush(s);
            return NGX_ERROR;

        case ws::event::error:
            ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                          "webcall: WebSocket protocol error: %s",
                          ws::to_string(st.err).data());
            ngx_http_webcall_ws_close(s, st.close_code, ws::to_string(st.err));
            return NGX_ERROR;
        }

        if (s->done) {
            return NGX_ERROR;
        }
    }
}


/* Charges the limiter once per frame, when its first payload arrives, with
 * the bytes its header announced: a message spread over many frames costs
 * what its frames cost, before any of it is assembled. NGX_DECLINED after
 * the protocol answered "rate-limited" (which closes), or once closing. */
static ngx_int_t
ngx_http_webcall_ws_charge(ngx_http_webcall_session_t *s) noexcept
{
    uint32_t  frames;

    if (s->close_sent) {
        return NGX_DECLINED;          /* nothing more is read into a message */
    }

    frames = s->parser->message_frames();
    if (frames == s->frames_charged) {
        return NGX_OK;
    }

    s->frames_charged = frames;

    if (!webcall::rate::allow(s->limiter, ngx_http_webcall_clock_ms(),
                              (size_t) s->parser->frame_size()))
    {
        s->events->rate_limited(s);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* A message that was being taken in place must be copied before its input
 * goes: at the end of a read pass (the read buffer is the worker's) or when
 * a second piece arrives. */
static ngx_int_t
ngx_http_webcall_ws_spill(ngx_http_webcall_session_t *s) noexcept
{
    const u_char  *data;
    size_t         len;

    if (s->inplace == NULL) {
        return NGX_OK;
    }

    data = s->inplace;
    len = s->inplace_len;
    s->inplace = NULL;
    s->inplace_len = 0;

    return ngx_http_webcall_ws_copy(s, data, len);
}


/* Collects a message's payload. A message whose payload arrives in one piece
 * (the usual case: one frame, one read) is handled where it lies in the
 * input, with no copy; only messages spread over fragments or reads are
 * assembled, in a buffer sized from what the frame headers announce
 * (already checked against the limit by the parser) and freed after. */
static ngx_int_t
ngx_http_webcall_ws_append(ngx_http_webcall_session_t *s, const ws::step &st)
    noexcept
{
    if (s->msg_len == 0 && s->inplace == NULL
        && st.len == s->parser->announced_size())
    {
        s->inplace = st.data;
        s->inplace_len = st.len;
        return NGX_OK;
    }

    if (ngx_http_webcall_ws_spill(s) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_webcall_ws_copy(s, st.data, st.len);
}


static ngx_int_t
ngx_http_webcall_ws_copy(ngx_http_webcall_session_t *s, const u_char *data,
    size_t len) noexcept
{
    size_t   need, cap;
    u_char  *buf;

    need = s->msg_len + len;

    if (need > s->msg_cap) {
        /* at least double: a message in many small frames announces only
         * one frame at a time, and growing by each would copy the whole
         * message again per frame; never beyond what the limit allows */
        cap = ngx_max(need, (size_t) s->parser->announced_size());
        cap = ngx_max(cap, ngx_min(2 * s->msg_cap,
                                   (size_t) s->parser->max_message()));
        cap = ngx_max(cap, (size_t) 256);

        buf = (u_char *) ngx_alloc(cap, s->connection->log);
        if (buf == NULL) {
            ngx_http_webcall_ws_close(s, NGX_HTTP_WEBCALL_WS_INTERNAL,
                                      "out of memory");
            return NGX_ERROR;
        }

        if (s->msg_len > 0) {
            ngx_memcpy(buf, s->msg, s->msg_len);
        }

        ngx_free(s->msg);
        s->msg = buf;
        s->msg_cap = cap;
    }

    ngx_memcpy(s->msg + s->msg_len, data, len);
    s->msg_len = need;

    return NGX_OK;
}


/* A whole message goes up to the protocol. */
static void
ngx_http_webcall_ws_message(ngx_http_webcall_session_t *s, ws::opcode op)
    noexcept
{
    std::string_view  text;

    text = s->inplace != NULL
           ? std::string_view((const char *) s->inplace, s->inplace_len)
           : std::string_view((const char *) s->msg, s->msg_len);

    /* a message with payload was charged frame by frame as it came in;
     * an empty one is charged here */
    if (s->frames_charged == 0
        && !webcall::rate::allow(s->limiter, ngx_http_webcall_clock_ms(), 0))
    {
        s->events->rate_limited(s);
        return;
    }

    s->events->message(s, op == ws::opcode::text, text);
}


/* Sends our one close frame and gives the client a moment to answer. All
 * state is set before the frame goes out: writing it may flush the queue
 * and finish the session, whose cleanup must then see close_sent (or it
 * would add a second close frame). The session's memory stays valid until
 * nginx runs the posted termination, but nothing is done with it after. */
void
ngx_http_webcall_ws_close(ngx_http_webcall_session_t *s, uint16_t code,
    std::string_view reason) noexcept
{
    u_char  frame[127];
    size_t  len;

    if (s->close_sent || s->done) {
        return;
    }

    len = ws::encode_close(frame, code, reason);
    s->close_sent = 1;

    if (s->close_received) {
        s->finish_when_flushed = 1;
    }

    if (!s->closing.timer_set) {
        ngx_add_timer(&s->closing, NGX_HTTP_WEBCALL_CLOSE_WAIT);
    }

    (void) ngx_http_webcall_ws_send_frame(s, frame, len, NULL, 0, 1);
}


/* Ends the request exactly once; the cleanup frees the seat or starts its
 * grace period. */
void
ngx_http_webcall_ws_finish(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_request_t  *r;

    if (s->done) {
        return;
    }

    s->done = 1;
    r = s->request;

    if (r != NULL) {
        /* until nginx runs the posted termination, read nothing more */
        r->read_event_handler = ngx_http_block_reading;

        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    ngx_http_webcall_session_cleanup(s);

    /* the connection and the session go once the callers up the stack are
     * done with them */
    s->closing.handler = ngx_http_webcall_ws_release;
    ngx_post_event(&s->closing, &ngx_posted_events);
}


static void
ngx_http_webcall_ping_handler(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) ev->data;
    ngx_connection_t            *c;
    ngx_uint_t                   attached;
    u_char                       frame[2];

    c = s->connection;
    attached = s->request != NULL;

    if (s->events->tick(s) != NGX_OK) {
        /* the protocol closed it (no join in time) */

    } else if (s->awaiting_pong) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "webcall: closing a client that stopped answering pings");
        c->timedout = 1;
        ngx_http_webcall_ws_finish(s);

    } else {
        s->awaiting_pong = 1;
        (void) ws::encode_header(frame, ws::opcode::ping, true, 0);
        (void) ngx_http_webcall_ws_send_frame(s, frame, 2, NULL, 0, 0);

        if (!s->done) {
            ngx_add_timer(&s->ping, s->conf->ping_interval);
        }
    }

    /* an attached session's termination is a posted request */
    if (attached) {
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_webcall_closing_handler(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) ev->data;
    ngx_connection_t            *c;
    ngx_uint_t                   attached;

    c = s->connection;
    attached = s->request != NULL;

    ngx_http_webcall_ws_finish(s);

    if (attached) {
        ngx_http_run_posted_requests(c);
    }
}


void
ngx_http_webcall_ws_deliver(uint64_t session, const u_char *frame,
    size_t len, uint16_t close_code) noexcept
{
    ngx_http_webcall_session_t  *s;
    ngx_connection_t            *c;
    ngx_uint_t                   attached;

    s = ngx_http_webcall_session_find(session);
    if (s == NULL || s->done) {
        return;
    }

    c = s->connection;
    attached = s->request != NULL;

    if (close_code != 0) {
        s->events->kick(s, close_code);

    } else {
        (void) ngx_http_webcall_ws_send_frame(s, frame, len, NULL, 0, 0);
    }

    if (attached) {
        ngx_http_run_posted_requests(c);
    }
}
