/*
 * webcall: the signaling WebSocket (webcall_signal). nginx accepts the
 * HTTP request; this file checks the handshake and the room, answers 101
 * itself and then owns the connection: frames are parsed by the pure codec
 * (core/ws_frame), messages by core/signal_msg, seats live in the zone and
 * frames for other workers go through ngx_http_webcall_ipc.cpp.
 *
 * Memory per connection: the session in the request pool; a message buffer
 * and a send buffer only once they were needed (a send buffer grows to
 * webcall_ws_send_queue at most, then the reader is too slow and is
 * closed). Reads go into one per-process buffer, since every read pass is
 * consumed whole (payload is copied out as it is parsed), and relayed
 * frames are built in one per-process scratch buffer: no per-message
 * allocation.
 */

#include "ngx_http_webcall_module.h"

#include "base58.h"
#include "rate_window.h"
#include "signal_msg.h"
#include "call_quality.h"
#include "log_redact.h"
#include "prom_text.h"
#include "turn_credentials.h"
#include "ws_frame.h"
#include "ws_handshake.h"

#include <new>
#include <openssl/rand.h>


namespace ws = webcall::ws;
namespace sig = webcall::signal;


#define NGX_HTTP_WEBCALL_READ_BUF    16384
#define NGX_HTTP_WEBCALL_CLOSE_WAIT  1000
#define NGX_HTTP_WEBCALL_REPLY       2048


typedef struct {
    ngx_rbtree_node_t              node;          /* key: session id */
    ngx_http_request_t            *request;
    ngx_http_webcall_loc_conf_t   *conf;
    ngx_http_webcall_zone_t       *zone;
    webcall::room_token::room      room;
    std::string_view              *ice_urls;      /* this request's own */
    ngx_uint_t                     nice_urls;
    ws::parser                    *parser;
    webcall::rate::limiter         limiter;

    u_char                        *pending;       /* pipelined bytes */
    u_char                        *pending_last;

    u_char                        *msg;
    size_t                         msg_len;
    size_t                         msg_cap;
    /* frames of the current message already charged to the limiter */
    uint32_t                       frames_charged;
    const u_char                  *inplace;       /* message in the input */
    size_t                         inplace_len;

    u_char                        *out;
    size_t                         out_pos;
    size_t                         out_last;
    size_t                         out_cap;

    ngx_event_t                    ping;
    ngx_event_t                    closing;

    ngx_uint_t                     seat;
    u_char                         peer_id[NGX_HTTP_WEBCALL_PEER_ID];
    /* the room as logs name it ($webcall_room), never the token */
    u_char                         room_fp[
                                       webcall::log_redact::fingerprint_len];

    unsigned                       joined:1;
    unsigned                       left:1;
    unsigned                       close_sent:1;
    unsigned                       close_received:1;
    unsigned                       awaiting_pong:1;
    unsigned                       finish_when_flushed:1;
    unsigned                       done:1;
} ngx_http_webcall_session_t;


static ngx_rbtree_t        ngx_http_webcall_sessions;
static ngx_rbtree_node_t   ngx_http_webcall_sessions_sentinel;
static uint64_t            ngx_http_webcall_next_session;
static u_char             *ngx_http_webcall_scratch;
static u_char              ngx_http_webcall_read_buf[NGX_HTTP_WEBCALL_READ_BUF];
static u_char             *ngx_http_webcall_joined;
static size_t              ngx_http_webcall_joined_cap;
static size_t              ngx_http_webcall_scratch_cap;


static ngx_int_t ngx_http_webcall_handshake(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, webcall::room_token::room *room,
    char *accept) noexcept;
static ngx_int_t ngx_http_webcall_refuse(ngx_http_request_t *r,
    ngx_int_t status, const char *why) noexcept;
static ngx_int_t ngx_http_webcall_tcp_nodelay(ngx_http_request_t *r)
    noexcept;
static ngx_int_t ngx_http_webcall_session_start(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, webcall::room_token::room *room,
    const char *accept) noexcept;
static void ngx_http_webcall_session_cleanup(void *data) noexcept;
static void ngx_http_webcall_ws_read(ngx_http_request_t *r) noexcept;
static void ngx_http_webcall_ws_write(ngx_http_request_t *r) noexcept;
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
static void ngx_http_webcall_message(ngx_http_webcall_session_t *s,
    ws::opcode op) noexcept;
static void ngx_http_webcall_join(ngx_http_webcall_session_t *s,
    const sig::client_msg &m) noexcept;
static void ngx_http_webcall_relay(ngx_http_webcall_session_t *s,
    const sig::client_msg &m, std::string_view text) noexcept;
static void ngx_http_webcall_bye(ngx_http_webcall_session_t *s) noexcept;
static void ngx_http_webcall_beacon(ngx_http_webcall_session_t *s,
    const sig::beacon &b) noexcept;
static void ngx_http_webcall_refresh_ice(ngx_http_webcall_session_t *s)
    noexcept;
static std::string_view ngx_http_webcall_ice_servers(
    ngx_http_webcall_session_t *s, std::string_view peer, char *out,
    size_t cap) noexcept;
static void ngx_http_webcall_tell(ngx_http_webcall_session_t *s,
    ngx_http_webcall_change_t *ch, const u_char *frame, size_t len) noexcept;
static void ngx_http_webcall_send_error(ngx_http_webcall_session_t *s,
    sig::error e, std::string_view message = "") noexcept;
static ngx_int_t ngx_http_webcall_send_text(ngx_http_webcall_session_t *s,
    const char *text, size_t len) noexcept;
static ngx_int_t ngx_http_webcall_join_pieces(const u_char *a, size_t alen,
    const u_char *b, size_t blen, ngx_log_t *log) noexcept;
static ngx_int_t ngx_http_webcall_send_frame(ngx_http_webcall_session_t *s,
    const u_char *a, size_t alen, const u_char *b, size_t blen,
    ngx_uint_t force) noexcept;
static void ngx_http_webcall_flush(ngx_http_webcall_session_t *s) noexcept;
static void ngx_http_webcall_close(ngx_http_webcall_session_t *s,
    uint16_t code, std::string_view reason) noexcept;
static void ngx_http_webcall_finish(ngx_http_webcall_session_t *s) noexcept;
static void ngx_http_webcall_ping_handler(ngx_event_t *ev) noexcept;
static void ngx_http_webcall_closing_handler(ngx_event_t *ev) noexcept;
static size_t ngx_http_webcall_frame(u_char *out, size_t cap,
    const char *text, size_t len) noexcept;
static uint64_t ngx_http_webcall_clock_ms(void) noexcept;


void
ngx_http_webcall_sessions_init(void) noexcept
{
    ngx_rbtree_init(&ngx_http_webcall_sessions,
                    &ngx_http_webcall_sessions_sentinel,
                    ngx_rbtree_insert_value);
    ngx_http_webcall_next_session = 1;
}


ngx_int_t
ngx_http_webcall_session_peer(ngx_http_request_t *r, ngx_str_t *id) noexcept
{
    ngx_http_webcall_session_t  *s;

    s = (ngx_http_webcall_session_t *)
            ngx_http_get_module_ctx(r, ngx_http_webcall_module);
    if (s == NULL || !s->joined) {
        return NGX_DECLINED;
    }

    id->data = s->peer_id;
    id->len = NGX_HTTP_WEBCALL_PEER_ID;

    return NGX_OK;
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


/* A server frame (header + text) for a small message of ours. */
static size_t
ngx_http_webcall_frame(u_char *out, size_t cap, const char *text, size_t len)
    noexcept
{
    size_t  h;

    if (len == 0 || ws::header_size(len) + len > cap) {
        return 0;
    }

    h = ws::encode_header(out, ws::opcode::text, true, len);
    ngx_memcpy(out + h, text, len);

    return h + len;
}


size_t
ngx_http_webcall_frame_peer_left(u_char *out, size_t cap, const u_char *id)
    noexcept
{
    char    text[128];
    size_t  len;

    len = sig::build_peer_left(text, sizeof(text),
                               std::string_view((const char *) id,
                                                NGX_HTTP_WEBCALL_PEER_ID));
    return ngx_http_webcall_frame(out, cap, text, len);
}


ngx_int_t
ngx_http_webcall_signal_handler(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_loc_conf_t  *conf;
    webcall::room_token::room     room;
    char                          accept[ws::accept_len];
    ngx_int_t                     rc;

    conf = (ngx_http_webcall_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_webcall_module);

    rc = ngx_http_webcall_handshake(r, conf, &room, accept);

    if (rc == 426) {
        /* nginx has no 426 page of its own: send the status line ourselves */
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");
        r->headers_out.status = 426;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_webcall_session_start(r, conf, &room, accept);
}


/* Everything that can refuse the connection is checked here, before the
 * 101: the request's shape, the Origin, and the room. */
static ngx_int_t
ngx_http_webcall_handshake(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, webcall::room_token::room *room,
    char *accept) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_webcall_room_info_t   info;
    ngx_table_elt_t               *key, *version, *h;
    std::string_view               token;
    u_char                        *p, *last;

    if (r != r->main || r->method != NGX_HTTP_GET
        || r->http_version != NGX_HTTP_VERSION_11)
    {
        return ngx_http_webcall_refuse(r, NGX_HTTP_BAD_REQUEST,
                                       "not a GET over HTTP/1.1");
    }

    h = ngx_http_webcall_header(r, "Upgrade");
    if (h == NULL
        || !ws::header_has_token({(const char *) h->value.data,
                                  h->value.len}, "websocket"))
    {
        return ngx_http_webcall_refuse(r, NGX_HTTP_BAD_REQUEST,
                                       "no \"Upgrade: websocket\"");
    }

    h = ngx_http_webcall_header(r, "Connection");
    if (h == NULL
        || !ws::header_has_token({(const char *) h->value.data,
                                  h->value.len}, "upgrade"))
    {
        return ngx_http_webcall_refuse(r, NGX_HTTP_BAD_REQUEST,
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
        return ngx_http_webcall_refuse(r, 426,
                                       "Sec-WebSocket-Version is not 13");
    }

    key = ngx_http_webcall_header(r, "Sec-WebSocket-Key");
    if (key == NULL
        || !ws::key_valid({(const char *) key->value.data, key->value.len})
        || !ws::accept_value({(const char *) key->value.data,
                              key->value.len}, accept))
    {
        return ngx_http_webcall_refuse(r, NGX_HTTP_BAD_REQUEST,
                                       "no valid Sec-WebSocket-Key");
    }

    if (!ngx_http_webcall_origin_allowed(r, conf)) {
        return ngx_http_webcall_refuse(r, NGX_HTTP_FORBIDDEN,
                                       "its Origin is not allowed "
                                       "(see webcall_allowed_origins)");
    }

    /* the token is the last path segment: /ws/<token> */
    last = r->uri.data + r->uri.len;
    for (p = last; p > r->uri.data && p[-1] != '/'; p--) { /* void */ }
    token = std::string_view((const char *) p, last - p);

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    switch (webcall::room_token::verify(wmcf->token_key, token, room)) {
    case webcall::room_token::verdict::malformed:
        return ngx_http_webcall_refuse(r, NGX_HTTP_BAD_REQUEST,
                                       "the room token is malformed");
    case webcall::room_token::verdict::forged:
        return ngx_http_webcall_refuse(r, NGX_HTTP_NOT_FOUND,
                                       "the room token is not genuine");
    case webcall::room_token::verdict::ok:
        break;
    }

    switch (ngx_http_webcall_room_visit(conf->signal_zone, room, &info)) {
    case NGX_OK:
        break;
    case NGX_ABORT:
        return ngx_http_webcall_refuse(r, 410,
                                       "the room was ended by its host");
    default:
        return ngx_http_webcall_refuse(r, NGX_HTTP_NOT_FOUND,
                                       "the room has expired");
    }

    return NGX_OK;
}


/* One info line per refused handshake, so a sysadmin can see why a
 * client could not connect (a proxy dropping Upgrade, a wrong Origin). */
static ngx_int_t
ngx_http_webcall_refuse(ngx_http_request_t *r, ngx_int_t status,
    const char *why) noexcept
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webcall: WebSocket handshake refused with %i: %s",
                  status, why);
    return status;
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


static ngx_int_t
ngx_http_webcall_session_start(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, webcall::room_token::room *room,
    const char *accept) noexcept
{
    ngx_http_webcall_session_t  *s;
    ngx_http_cleanup_t          *cln;
    ngx_connection_t            *c;
    webcall::rate::config        rates;
    u_char                       head[160], *p;

    c = r->connection;

    s = (ngx_http_webcall_session_t *)
            ngx_pcalloc(r->pool, sizeof(ngx_http_webcall_session_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = (u_char *) ngx_palloc(r->pool, sizeof(ws::parser));
    cln = ngx_http_cleanup_add(r, 0);
    if (p == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the parser holds no resources: the pool frees it without a dtor */
    static_assert(std::is_trivially_destructible_v<ws::parser>);
    s->parser = new (p) ws::parser(conf->max_message);

    s->request = r;
    s->conf = conf;
    s->zone = conf->signal_zone;
    s->room = *room;
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

    cln->handler = ngx_http_webcall_session_cleanup;
    cln->data = s;

    /* found by the event handlers here, not through r->cleanup, which
     * nginx empties when it terminates the request */
    ngx_http_set_ctx(r, s, ngx_http_webcall_module);

    ngx_rbtree_insert(&ngx_http_webcall_sessions, &s->node);
    ngx_http_webcall_connections(s->zone, 1);

    webcall::log_redact::fingerprint(
        webcall::log_redact::find_token(std::string_view(
            (const char *) r->uri.data, r->uri.len)), (char *) s->room_fp);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "webcall: WebSocket open, room %*s",
                   sizeof(s->room_fp), s->room_fp);

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

    if (ngx_http_webcall_send_frame(s, head, p - head, NULL, 0, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the first tick is the join deadline: ping_handler closes a
     * connection that has not joined by then (1008), and pings one that
     * has */
    ngx_add_timer(&s->ping, ngx_min(conf->join_timeout, conf->ping_interval));

    /* reads and the first flush happen from the event loop, after nginx
     * is done with the content phase */
    ngx_post_event(c->read, &ngx_posted_events);
    ngx_post_event(c->write, &ngx_posted_events);

    return NGX_DONE;
}


static void
ngx_http_webcall_session_cleanup(void *data) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) data;
    ngx_http_webcall_change_t    ch;
    ngx_connection_t            *c;
    u_char                       frame[127];
    size_t                       len;

    c = s->request->connection;
    s->done = 1;

    /* shutdown or reload: one best-effort "going away" so the client comes
     * back with its resume secret to a new worker */
    if (!s->close_sent && !c->error && !c->timedout
        && s->out_pos == s->out_last)
    {
        len = ws::encode_close(frame,
                  (uint16_t) sig::close_code::going_away,
                  sig::close_reason(sig::close_code::going_away));
        (void) c->send(c, frame, len);
    }

    if (s->joined && !s->left) {
        ngx_memzero(&ch, sizeof(ch));
        ngx_http_webcall_seat_leave(s->zone, &s->room, s->seat,
                                    s->node.key, 0, &ch);
    }

    if (s->ping.timer_set) {
        ngx_del_timer(&s->ping);
    }

    if (s->closing.timer_set) {
        ngx_del_timer(&s->closing);
    }

    if (s->ping.posted) {
        ngx_delete_posted_event(&s->ping);
    }

    ngx_rbtree_delete(&ngx_http_webcall_sessions, &s->node);
    ngx_http_webcall_connections(s->zone, -1);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "webcall: WebSocket closed, room %*s, %s",
                   sizeof(s->room_fp), s->room_fp,
                   s->joined && !s->left ? "seat kept for its grace period"
                                         : "no seat held");

    ngx_free(s->msg);
    ngx_free(s->out);
    s->msg = NULL;
    s->out = NULL;
}


static void
ngx_http_webcall_ws_read(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_session_t  *s;
    ngx_connection_t            *c;
    ssize_t                      n;
    u_char                      *p;
    size_t                       len;

    s = (ngx_http_webcall_session_t *)
            ngx_http_get_module_ctx(r, ngx_http_webcall_module);
    c = r->connection;

    if (s == NULL || s->done) {
        return;
    }

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
            ngx_http_webcall_finish(s);
            return;
        }

        if (ngx_http_webcall_ws_input(s, ngx_http_webcall_read_buf,
                                      (size_t) n) != NGX_OK)
        {
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_webcall_finish(s);
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
                ngx_http_webcall_message(s, st.message_op);
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
                ngx_http_webcall_send_error(s, sig::error::rate_limited);
                break;
            }
            if (!s->close_sent) {
                u_char h[10];
                size_t hl = ws::encode_header(h, ws::opcode::pong, true,
                                              st.len);
                (void) ngx_http_webcall_send_frame(s, h, hl, st.data,
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
            ngx_http_webcall_close(s, st.close_code, "");
            ngx_http_webcall_flush(s);
            return NGX_ERROR;

        case ws::event::error:
            ngx_log_error(NGX_LOG_INFO, s->request->connection->log, 0,
                          "webcall: WebSocket protocol error: %s",
                          ws::to_string(st.err).data());
            ngx_http_webcall_close(s, st.close_code, ws::to_string(st.err));
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
 * answering "rate-limited" (which closes), or once closing. */
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
        ngx_http_webcall_send_error(s, sig::error::rate_limited);
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

        buf = (u_char *) ngx_alloc(cap, s->request->connection->log);
        if (buf == NULL) {
            ngx_http_webcall_close(s, (uint16_t) sig::close_code::internal,
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


static void
ngx_http_webcall_message(ngx_http_webcall_session_t *s, ws::opcode op)
    noexcept
{
    std::string_view        text;
    sig::parse_result       res;
    std::optional<sig::error> order;

    text = s->inplace != NULL
           ? std::string_view((const char *) s->inplace, s->inplace_len)
           : std::string_view((const char *) s->msg, s->msg_len);

    /* a message with payload was charged frame by frame as it came in;
     * an empty one is charged here */
    if (s->frames_charged == 0
        && !webcall::rate::allow(s->limiter, ngx_http_webcall_clock_ms(), 0))
    {
        ngx_http_webcall_send_error(s, sig::error::rate_limited);
        return;
    }

    if (op != ws::opcode::text) {
        ngx_http_webcall_send_error(s, sig::error::bad_message);
        return;
    }

    res = sig::parse_client(text, s->conf->max_message);
    if (!res) {
        ngx_http_webcall_send_error(s, *res.err);
        return;
    }

    order = sig::check_order(s->joined, res.msg.type);
    if (order) {
        ngx_http_webcall_send_error(s, *order);
        return;
    }

    switch (res.msg.type) {
    case sig::msg_type::join:
        ngx_http_webcall_join(s, res.msg);
        break;
    case sig::msg_type::bye:
        ngx_http_webcall_bye(s);
        break;
    case sig::msg_type::ice_servers:
        ngx_http_webcall_refresh_ice(s);
        break;
    case sig::msg_type::beacon:
        ngx_http_webcall_beacon(s, res.msg.beacon);
        break;
    default:
        ngx_http_webcall_relay(s, res.msg, text);
        break;
    }
}


/* A fresh peer id; false when the CSPRNG fails, for an id everyone could
 * guess would let anyone in the room be addressed as somebody else. */
static bool
ngx_http_webcall_random_id(u_char *id) noexcept
{
    u_char  r[NGX_HTTP_WEBCALL_PEER_ID];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        return false;
    }

    /* 58 * 4 = 232: rejecting nothing skews the odds by under 10%, which
     * only makes guessing an id of one's own room slightly easier */
    for (size_t i = 0; i < NGX_HTTP_WEBCALL_PEER_ID; i++) {
        id[i] = (u_char) webcall::base58::alphabet[r[i] % 58];
    }

    return true;
}


static void
ngx_http_webcall_join(ngx_http_webcall_session_t *s,
    const sig::client_msg &m) noexcept
{
    ngx_http_webcall_main_conf_t *wmcf;
    ngx_http_webcall_change_t   ch;
    ngx_http_webcall_target_t   me;
    std::string_view            peers[NGX_HTTP_WEBCALL_SEATS];
    sig::welcome                w;
    u_char                      resume[NGX_HTTP_WEBCALL_RESUME];
    u_char                      frame[NGX_HTTP_WEBCALL_REPLY];
    char                        text[NGX_HTTP_WEBCALL_REPLY];
    char                        secret[32];
    char                        ice[NGX_HTTP_WEBCALL_ICE_JSON];
    const u_char               *want;
    size_t                      len, slen;
    ngx_uint_t                  i;

    ngx_memzero(&ch, sizeof(ch));
    if (!ngx_http_webcall_random_id(ch.id)
        || RAND_bytes(ch.resume, sizeof(ch.resume)) != 1)
    {
        ngx_log_error(NGX_LOG_ERR, s->request->connection->log, 0,
                      "webcall: the CSPRNG (RAND_bytes) failed to make a "
                      "peer id or resume secret: join refused");
        ngx_http_webcall_send_error(s, sig::error::server_error);
        return;
    }

    want = NULL;
    if (!m.resume.empty()
        && webcall::base58::decode_fixed(m.resume.view(), resume,
                                         sizeof(resume)))
    {
        want = resume;
    }

    /* a PIN room seats nobody new without the pass its PIN earned
     * (POST .../admit); a resume takes back a seat that had it */
    if (s->room.pin) {
        wmcf = (ngx_http_webcall_main_conf_t *)
                   ngx_http_get_module_main_conf(s->request,
                                                 ngx_http_webcall_module);
        ch.resume_only = !webcall::room_token::pass_matches(
                             wmcf->token_key, s->room.id, m.pass.view());
    }

    me.session = s->node.key;
    me.pid = ngx_pid;
    me.worker = (uint16_t) (s->zone->slot >= 0 ? s->zone->slot
                                               : NGX_HTTP_WEBCALL_WORKERS);

    ngx_http_webcall_seat_join(s->zone, &s->room, want, &me,
                               (uint32_t) s->conf->grace, &ch);

    switch (ch.rc) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        ngx_http_webcall_send_error(s, sig::error::room_not_found);
        return;
    case NGX_ABORT:
        ngx_http_webcall_send_error(s, sig::error::room_ended);
        return;
    case NGX_BUSY:
        ngx_http_webcall_send_error(s, sig::error::room_full);
        return;
    case NGX_AGAIN:
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_PIN_NO_PASS);
        ngx_http_webcall_send_error(s, sig::error::pin_required);
        return;
    default:
        /* the zone had no space to take the room in again */
        ngx_http_webcall_send_error(s, sig::error::room_full,
                                    "the server is full right now; "
                                    "try again in a few minutes");
        return;
    }

    s->joined = 1;
    s->seat = ch.seat;
    ngx_http_webcall_count(s->zone, ch.resumed ? NGX_HTTP_WEBCALL_JOINS_RESUMED
                                               : NGX_HTTP_WEBCALL_JOINS_NEW);

    ngx_log_debug7(NGX_LOG_DEBUG_HTTP, s->request->connection->log, 0,
                   "webcall: join room %*s: peer %*s, seat %ui, %s, "
                   "%ui others",
                   sizeof(s->room_fp), s->room_fp,
                   (size_t) NGX_HTTP_WEBCALL_PEER_ID, ch.id, ch.seat,
                   ch.resumed ? "resumed" : "new", ch.npeers);
    ngx_memcpy(s->peer_id, ch.id, NGX_HTTP_WEBCALL_PEER_ID);

    for (i = 0; i < ch.npeers; i++) {
        peers[i] = std::string_view((const char *) ch.peers[i],
                                    NGX_HTTP_WEBCALL_PEER_ID);
    }

    slen = webcall::base58::encode(ch.resume, sizeof(ch.resume), secret,
                                   sizeof(secret));

    /* always 22 characters: leading '1's are zero digits, so the secret
     * decodes the same */
    if (slen < sig::resume_len) {
        ngx_memmove(secret + (sig::resume_len - slen), secret, slen);
        ngx_memset(secret, '1', sig::resume_len - slen);
        slen = sig::resume_len;
    }

    w.id = std::string_view((const char *) ch.id, NGX_HTTP_WEBCALL_PEER_ID);
    w.peers = peers;
    w.peer_count = ch.npeers;
    w.resume = std::string_view(secret, slen);
    w.ice_servers_json = ngx_http_webcall_ice_servers(s, w.id, ice,
                                                      sizeof(ice));
    w.max_participants = (unsigned) ch.max_participants;

    len = sig::build_welcome(text, sizeof(text), w);
    (void) ngx_http_webcall_send_text(s, text, len);

    len = sig::build_peer_joined(text, sizeof(text), w.id, ch.resumed);
    len = ngx_http_webcall_frame(frame, sizeof(frame), text, len);
    ngx_http_webcall_tell(s, &ch, frame, len);

    /* deliver logs and counts what it cannot hand over */
    if (ch.replaced) {
        (void) ngx_http_webcall_deliver(s->zone, &ch.old, NULL, 0,
                                        (uint16_t) sig::close_code::replaced,
                                        s->request->connection->log);
    }
}


/* A welcome with no ICE server means that no call between two networks
 * that block direct connections can work, and the callers only see a call
 * that never connects: say so to the sysadmin, once per worker (each
 * worker is a process of its own) so that a busy site's log is not
 * flooded. */
static void
ngx_http_webcall_no_turn(ngx_http_webcall_session_t *s,
    const char *why) noexcept
{
    static ngx_flag_t  logged;

    if (logged) {
        return;
    }

    logged = 1;

    ngx_log_error(NGX_LOG_WARN, s->request->connection->log, 0,
                  "webcall: a caller was offered no TURN server (%s); calls "
                  "from offices, mobile carriers and other networks that "
                  "block direct connections will not connect: run "
                  "webcall-turn-setup, or set webcall_turn_urls "
                  "(logged once per worker)", why);
}


/* Whether the ICE servers about to be offered include a relay. */
static void
ngx_http_webcall_check_turn(ngx_http_webcall_session_t *s,
    ngx_http_webcall_main_conf_t *wmcf, std::string_view *urls,
    size_t n) noexcept
{
    size_t  i;

    if (wmcf->turn_secret.len == 0) {
        ngx_http_webcall_no_turn(s, wmcf->turn_off ? wmcf->turn_off
                                                   : "no TURN secret");
        return;
    }

    for (i = 0; i < n; i++) {
        if (webcall::turn::check_url(urls[i])
            == webcall::turn::url_kind::turn)
        {
            return;
        }
    }

    ngx_http_webcall_no_turn(s, "no turn: URL in webcall_turn_urls is valid "
                                "for this request");
}


/* The ICE servers for one participant, with TURN credentials minted for
 * it alone: only somebody who holds a seat ever gets them. */
static std::string_view
ngx_http_webcall_ice_servers(ngx_http_webcall_session_t *s,
    std::string_view peer, char *out, size_t cap) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    std::string_view              *urls;
    char                           user[64];
    char                           cred[webcall::turn::credential_len];
    size_t                         ulen, n, len;

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(s->request,
                                             ngx_http_webcall_module);

    if (wmcf->turn_urls == NULL) {
        ngx_http_webcall_no_turn(s, "no webcall_turn_urls");
        return "[]";
    }

    /* once per connection, so that ice-servers requests cost no memory */
    if (s->ice_urls == NULL) {
        s->ice_urls = (std::string_view *)
            ngx_palloc(s->request->pool,
                       NGX_HTTP_WEBCALL_TURN_URLS * sizeof(std::string_view));
        if (s->ice_urls == NULL) {
            ngx_http_webcall_no_turn(s, "out of memory");
            return "[]";
        }

        s->nice_urls = ngx_http_webcall_turn_urls_eval(s->request,
                           s->ice_urls, NGX_HTTP_WEBCALL_TURN_URLS);
    }

    urls = s->ice_urls;
    n = s->nice_urls;

    ngx_http_webcall_check_turn(s, wmcf, urls, n);

    ulen = webcall::turn::username(
               webcall::turn::expiry(ngx_time(), wmcf->turn_ttl), peer, user,
               sizeof(user));
    if (ulen == 0
        || (wmcf->turn_secret.len > 0
            && !webcall::turn::credential(
                   {(const char *) wmcf->turn_secret.data,
                    wmcf->turn_secret.len},
                   {user, ulen}, cred)))
    {
        ngx_http_webcall_no_turn(s, "the TURN credential could not be made");
        return "[]";
    }

    len = webcall::turn::ice_servers_json(urls, n, {user, ulen},
                                          {cred, sizeof(cred)}, out, cap);
    if (len == 0) {
        /* nginx -t refuses a list that cannot fit; only variables (a long
         * $host) can make one longer at run time. The message stays valid
         * with no server at all, and the log says why. */
        ngx_log_error(NGX_LOG_ERR, s->request->connection->log, 0,
                      "webcall: the ICE servers of webcall_turn_urls, as "
                      "evaluated for this request, do not fit in %uz "
                      "bytes: the caller was offered none (make the URLs "
                      "shorter or fewer, or use no variable in them)", cap);
        return "[]";
    }

    if (wmcf->turn_secret.len > 0) {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_TURN_CREDENTIALS);
    }

    return std::string_view(out, len);
}


static void
ngx_http_webcall_tell(ngx_http_webcall_session_t *s,
    ngx_http_webcall_change_t *ch, const u_char *frame, size_t len) noexcept
{
    ngx_uint_t  i;

    if (len == 0) {
        return;
    }

    /* deliver logs and counts what it cannot hand over */
    for (i = 0; i < ch->ntell; i++) {
        (void) ngx_http_webcall_deliver(s->zone, &ch->tell[i], frame, len,
                                        0, s->request->connection->log);
    }
}


/* Relays an offer, answer or candidate: the client's own text with "from"
 * spliced in, framed once in the process's scratch buffer. */
static void
ngx_http_webcall_relay(ngx_http_webcall_session_t *s,
    const sig::client_msg &m, std::string_view text) noexcept
{
    ngx_http_webcall_target_t  to;
    std::string_view           from((const char *) s->peer_id,
                                    NGX_HTTP_WEBCALL_PEER_ID);
    size_t                     len, h, need;
    u_char                    *buf;

    if (ngx_http_webcall_seat_target(s->zone, &s->room, m.to.view(), &to)
        != NGX_OK || (to.session == s->node.key && to.pid == ngx_pid))
    {
        ngx_http_webcall_send_error(s, sig::error::peer_not_found);
        return;
    }

    len = sig::relay_length(text, from);
    need = ws::header_size(len) + len;

    if (need > ngx_http_webcall_scratch_cap) {
        buf = (u_char *) ngx_alloc(ngx_max(need, (size_t) 16384),
                                   s->request->connection->log);
        if (buf == NULL) {
            return;
        }

        ngx_free(ngx_http_webcall_scratch);
        ngx_http_webcall_scratch = buf;
        ngx_http_webcall_scratch_cap = ngx_max(need, (size_t) 16384);
    }

    h = ws::encode_header(ngx_http_webcall_scratch, ws::opcode::text, true,
                          len);
    if (sig::build_relay((char *) ngx_http_webcall_scratch + h, len, text,
                         from) != len)
    {
        ngx_http_webcall_send_error(s, sig::error::bad_message);
        return;
    }

    ngx_log_debug8(NGX_LOG_DEBUG_HTTP, s->request->connection->log, 0,
                   "webcall: relay %*s, room %*s, %*s to %*s",
                   sig::type_name(m.type).size(), sig::type_name(m.type).data(),
                   sizeof(s->room_fp), s->room_fp,
                   (size_t) NGX_HTTP_WEBCALL_PEER_ID, s->peer_id,
                   m.to.view().size(), m.to.view().data());

    if (ngx_http_webcall_deliver(s->zone, &to, ngx_http_webcall_scratch,
                                 h + len, 0, s->request->connection->log)
        == NGX_OK)
    {
        if (to.pid == ngx_pid) {
            ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_RELAYED_LOCAL);
            ngx_http_webcall_count(s->zone,
                                   NGX_HTTP_WEBCALL_RELAYED_BYTES_LOCAL, len);
        } else {
            ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_RELAYED_CROSS);
            ngx_http_webcall_count(s->zone,
                                   NGX_HTTP_WEBCALL_RELAYED_BYTES_CROSS, len);
        }
    }
}


/* Fresh TURN credentials for the asker, e.g. before an ICE restart late in
 * a long call; minted for its own peer id like those in welcome. */
static void
ngx_http_webcall_refresh_ice(ngx_http_webcall_session_t *s) noexcept
{
    std::string_view  ice;
    char              json[NGX_HTTP_WEBCALL_ICE_JSON];
    char              text[NGX_HTTP_WEBCALL_REPLY];
    size_t            len;

    ice = ngx_http_webcall_ice_servers(s,
              std::string_view((const char *) s->peer_id,
                               NGX_HTTP_WEBCALL_PEER_ID),
              json, sizeof(json));

    len = sig::build_ice_servers(text, sizeof(text), ice);
    (void) ngx_http_webcall_send_text(s, text, len);
}


static void
ngx_http_webcall_bye(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_webcall_change_t  ch;
    u_char                     frame[64];
    size_t                     len;

    ngx_memzero(&ch, sizeof(ch));
    ngx_http_webcall_seat_leave(s->zone, &s->room, s->seat, s->node.key, 1,
                                &ch);
    s->left = 1;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, s->request->connection->log, 0,
                   "webcall: bye, room %*s, peer %*s",
                   sizeof(s->room_fp), s->room_fp,
                   (size_t) NGX_HTTP_WEBCALL_PEER_ID, s->peer_id);

    if (ch.rc == NGX_OK) {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_LEAVES);
        len = ngx_http_webcall_frame_peer_left(frame, sizeof(frame), ch.id);
        ngx_http_webcall_tell(s, &ch, frame, len);
    }

    ngx_http_webcall_close(s, (uint16_t) sig::close_code::normal, "bye");
}


/* A caller's beacon, folded into the zone's histograms and counters; a
 * few per seat (ngx_http_webcall_seat_beacon), nothing kept per person. */
static void
ngx_http_webcall_beacon(ngx_http_webcall_session_t *s, const sig::beacon &b)
    noexcept
{
    ngx_http_webcall_stats_t  *st;
    ngx_uint_t                 path;

    if (!s->conf->beacons) {
        return;
    }

    st = &s->zone->sh->stats;

    if (ngx_http_webcall_seat_beacon(s->zone, &s->room, s->seat, s->node.key)
        != NGX_OK)
    {
        ngx_http_webcall_add(s->zone, &st->beacons[2]);
        return;
    }

    ngx_http_webcall_add(s->zone, &st->beacons[0]);

    if (b.phase == sig::beacon_phase::setup) {
        path = (ngx_uint_t) b.path;
        ngx_http_webcall_add(s->zone, &st->setup[path][
            webcall::prom::bucket_of({webcall::quality::setup_bounds,
                                      webcall::quality::buckets},
                                     b.ms / 1000.0)]);
        ngx_http_webcall_add(s->zone, &st->setup_ms[path], b.ms);
        ngx_http_webcall_add(s->zone,
            &st->calls[path][(ngx_uint_t) b.transport][b.first_try ? 1 : 0]);

    } else {
        ngx_http_webcall_add(s->zone, &st->recovery[
            webcall::prom::bucket_of({webcall::quality::recovery_bounds,
                                      webcall::quality::buckets},
                                     b.ms / 1000.0)]);
        ngx_http_webcall_add(s->zone, &st->recovery_ms, b.ms);
        ngx_http_webcall_add(s->zone, &st->reconnects, b.reconnects);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, s->request->connection->log, 0,
                   "webcall: beacon, room %*s: %s %uD ms",
                   sizeof(s->room_fp), s->room_fp,
                   b.phase == sig::beacon_phase::setup ? "setup" : "recovery",
                   b.ms);
}


static void
ngx_http_webcall_send_error(ngx_http_webcall_session_t *s, sig::error e,
    std::string_view message) noexcept
{
    sig::error_info  info;
    char             text[512];
    size_t           len;

    info = sig::describe(e);
    ngx_http_webcall_count_error(s->zone, (unsigned) e);
    if (e == sig::error::bad_beacon) {
        ngx_http_webcall_add(s->zone, &s->zone->sh->stats.beacons[1]);
    }
    if (e == sig::error::rate_limited) {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_RATE_LIMITED_CLOSES);
    }

    len = sig::build_error(text, sizeof(text), e, message);
    (void) ngx_http_webcall_send_text(s, text, len);

    /* the close reason is the error's code (docs/protocol.md) */
    if (info.close) {
        ngx_http_webcall_close(s, (uint16_t) *info.close, info.code);
    }
}


static ngx_int_t
ngx_http_webcall_send_text(ngx_http_webcall_session_t *s, const char *text,
    size_t len) noexcept
{
    u_char  h[10];
    size_t  hl;

    if (len == 0) {
        /* every reply is sized for its largest case: a bug, not a client */
        ngx_log_error(NGX_LOG_ALERT, s->request->connection->log, 0,
                      "webcall: a reply did not fit its buffer and was "
                      "not sent");
        return NGX_ERROR;
    }

    hl = ws::encode_header(h, ws::opcode::text, true, len);

    return ngx_http_webcall_send_frame(s, h, hl, (const u_char *) text, len,
                                       0);
}


static ngx_int_t
ngx_http_webcall_join_pieces(const u_char *a, size_t alen, const u_char *b,
    size_t blen, ngx_log_t *log) noexcept
{
    u_char  *buf;
    size_t   cap;

    if (alen + blen > ngx_http_webcall_joined_cap) {
        cap = ngx_max(alen + blen, (size_t) 4096);
        buf = (u_char *) ngx_alloc(cap, log);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        ngx_free(ngx_http_webcall_joined);
        ngx_http_webcall_joined = buf;
        ngx_http_webcall_joined_cap = cap;
    }

    ngx_memcpy(ngx_http_webcall_joined, a, alen);
    ngx_memcpy(ngx_http_webcall_joined + alen, b, blen);

    return NGX_OK;
}


/* Sends a frame (header and payload) straight to the socket when nothing
 * is queued, and queues only what the socket did not take. So an idle
 * connection holds no send buffer, and the common case copies nothing.
 * Past webcall_ws_send_queue the reader is too slow: it is closed rather
 * than buffered for without bound. Whatever fails here has already
 * finished or is closing the session, and logged what needs logging, so a
 * caller with nothing else to do may drop the result. */
static ngx_int_t
ngx_http_webcall_send_frame(ngx_http_webcall_session_t *s, const u_char *a,
    size_t alen, const u_char *b, size_t blen, ngx_uint_t force) noexcept
{
    ngx_connection_t  *c;
    ssize_t            n;
    size_t             used, need, cap, sent;
    u_char            *buf;

    if (s->done || (s->close_sent && !force)) {
        return NGX_DECLINED;
    }

    c = s->request->connection;
    used = s->out_last - s->out_pos;
    need = alen + blen;
    sent = 0;

    if (used == 0 && c->write->ready) {
        /* one write per frame: header and payload side by side in a
         * per-process buffer (two writes would be two packets) */
        if (blen > 0 && ngx_http_webcall_join_pieces(a, alen, b, blen, c->log)
                        == NGX_OK)
        {
            a = ngx_http_webcall_joined;
            alen = need;
            b = NULL;
            blen = 0;
        }

        n = c->send(c, (u_char *) a, alen);
        if (n == NGX_ERROR) {
            c->error = 1;
            ngx_http_webcall_finish(s);
            return NGX_ERROR;
        }

        if (n > 0) {
            sent = (size_t) n;
        }

        if (sent == alen && blen > 0) {
            n = c->send(c, (u_char *) b, blen);
            if (n == NGX_ERROR) {
                c->error = 1;
                ngx_http_webcall_finish(s);
                return NGX_ERROR;
            }

            if (n > 0) {
                sent += (size_t) n;
            }
        }

        if (sent == need) {
            return NGX_OK;
        }
    }

    if (!force && used + need - sent > s->conf->send_queue) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "webcall: closing a client that reads too slowly "
                      "(%uz bytes queued)", used);
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_SEND_QUEUE_OVERFLOWS);
        ngx_http_webcall_close(s, (uint16_t) sig::close_code::policy,
                               "send queue full");
        return NGX_DECLINED;
    }

    if (s->out_cap - s->out_last < need - sent) {
        if (s->out_pos > 0) {
            ngx_memmove(s->out, s->out + s->out_pos, used);
            s->out_pos = 0;
            s->out_last = used;
        }

        if (s->out_cap - s->out_last < need - sent) {
            cap = ngx_max(s->out_cap * 2, used + need - sent);
            cap = ngx_max(cap, (size_t) 1024);

            buf = (u_char *) ngx_alloc(cap, c->log);
            if (buf == NULL) {
                return NGX_ERROR;
            }

            if (used > 0) {
                ngx_memcpy(buf, s->out + s->out_pos, used);
            }

            ngx_free(s->out);
            s->out = buf;
            s->out_cap = cap;
            s->out_pos = 0;
            s->out_last = used;
        }
    }

    /* what the socket did not take: the rest of a, then of b */
    if (sent < alen) {
        ngx_memcpy(s->out + s->out_last, a + sent, alen - sent);
        s->out_last += alen - sent;
        sent = alen;
    }

    if (blen > 0) {
        ngx_memcpy(s->out + s->out_last, b + (sent - alen),
                   blen - (sent - alen));
        s->out_last += blen - (sent - alen);
    }

    ngx_http_webcall_flush(s);

    return NGX_OK;
}


static void
ngx_http_webcall_flush(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_core_loc_conf_t  *clcf;
    ngx_connection_t          *c;
    ssize_t                    n;

    c = s->request->connection;

    if (s->done) {
        return;
    }

    while (s->out_pos < s->out_last) {
        n = c->send(c, s->out + s->out_pos, s->out_last - s->out_pos);

        if (n == NGX_AGAIN || n == 0) {
            break;
        }

        if (n == NGX_ERROR) {
            c->error = 1;
            ngx_http_webcall_finish(s);
            return;
        }

        s->out_pos += n;
    }

    if (s->out_pos < s->out_last) {
        clcf = (ngx_http_core_loc_conf_t *)
                   ngx_http_get_module_loc_conf(s->request,
                                                ngx_http_core_module);

        if (!c->write->timer_set) {
            ngx_add_timer(c->write, clcf->send_timeout);
        }

        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            ngx_http_webcall_finish(s);
        }

        return;
    }

    s->out_pos = 0;
    s->out_last = 0;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    /* buffering happens only under backpressure: give the memory back */
    ngx_free(s->out);
    s->out = NULL;
    s->out_cap = 0;

    if (s->finish_when_flushed) {
        ngx_http_webcall_finish(s);
    }
}


static void
ngx_http_webcall_ws_write(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_session_t  *s;
    ngx_connection_t            *c;

    s = (ngx_http_webcall_session_t *)
            ngx_http_get_module_ctx(r, ngx_http_webcall_module);
    c = r->connection;

    if (s == NULL || s->done) {
        return;
    }

    if (c->write->timedout) {
        /* send_timeout passed with the client reading nothing */
        c->timedout = 1;
        ngx_http_webcall_finish(s);
        return;
    }

    ngx_http_webcall_flush(s);
}


/* Sends our one close frame and gives the client a moment to answer. All
 * state is set before the frame goes out: writing it may flush the queue
 * and finish the session, whose cleanup must then see close_sent (or it
 * would add a second close frame). The session's memory stays valid until
 * nginx runs the posted termination, but nothing is done with it after. */
static void
ngx_http_webcall_close(ngx_http_webcall_session_t *s, uint16_t code,
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

    (void) ngx_http_webcall_send_frame(s, frame, len, NULL, 0, 1);
}


/* Ends the request exactly once; the cleanup frees the seat or starts its
 * grace period. */
static void
ngx_http_webcall_finish(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_request_t  *r;

    if (s->done) {
        return;
    }

    s->done = 1;
    r = s->request;

    /* until nginx runs the posted termination, read nothing more */
    r->read_event_handler = ngx_http_block_reading;

    ngx_http_finalize_request(r, NGX_ERROR);
}


static void
ngx_http_webcall_ping_handler(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) ev->data;
    ngx_connection_t            *c;
    u_char                       frame[2];

    c = s->request->connection;

    if (!s->joined) {
        ngx_http_webcall_close(s, (uint16_t) sig::close_code::policy,
                               "join expected");

    } else if (s->awaiting_pong) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "webcall: closing a client that stopped answering pings");
        c->timedout = 1;
        ngx_http_webcall_finish(s);

    } else {
        s->awaiting_pong = 1;
        (void) ws::encode_header(frame, ws::opcode::ping, true, 0);
        (void) ngx_http_webcall_send_frame(s, frame, 2, NULL, 0, 0);

        if (!s->done) {
            ngx_add_timer(&s->ping, s->conf->ping_interval);
        }
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_webcall_closing_handler(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) ev->data;
    ngx_connection_t            *c;

    c = s->request->connection;
    ngx_http_webcall_finish(s);
    ngx_http_run_posted_requests(c);
}


/* A frame for one of this worker's sessions, from this worker or from its
 * inbox; close_code != 0 closes the session instead. */
void
ngx_http_webcall_session_deliver(uint64_t session, const u_char *frame,
    size_t len, uint16_t close_code) noexcept
{
    ngx_http_webcall_session_t  *s;
    ngx_connection_t            *c;

    s = ngx_http_webcall_session_find(session);
    if (s == NULL || s->done) {
        return;
    }

    c = s->request->connection;

    if (close_code != 0) {
        if (close_code == (uint16_t) sig::close_code::replaced) {
            /* the seat belongs to the new connection now: no grace */
            s->left = 1;
        }

        ngx_http_webcall_close(s, close_code,
            sig::close_reason(static_cast<sig::close_code>(close_code)));

    } else {
        (void) ngx_http_webcall_send_frame(s, frame, len, NULL, 0, 0);
    }

    ngx_http_run_posted_requests(c);
}
