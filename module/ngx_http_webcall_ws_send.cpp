/*
 * webcall: the WebSocket transport's sending side. Frames are gathered per
 * connection and written once the event loop has handled every event of
 * its turn (c->write is posted): a burst of candidates read in one recv,
 * or delivered from another worker's inbox, leaves in one send() instead
 * of one per frame. The send buffer holds only that turn's frames and
 * what the socket did not take, up to webcall_ws_send_queue, and is given
 * back once written, so an idle connection holds none. Relayed frames are
 * built in one per-process scratch buffer.
 */

#include "ngx_http_webcall_ws.h"


namespace ws = webcall::ws;


/* RFC 6455: a client that reads too slowly breaks our policy */
#define NGX_HTTP_WEBCALL_WS_POLICY  1008

/* a turn's frames for one connection past this go out at once */
#define NGX_HTTP_WEBCALL_WS_BATCH   16384


static u_char             *ngx_http_webcall_scratch;
static size_t              ngx_http_webcall_scratch_cap;


static void ngx_http_webcall_ws_writable(ngx_http_webcall_session_t *s)
    noexcept;
static ngx_int_t ngx_http_webcall_ws_queue(ngx_http_webcall_session_t *s,
    const u_char *a, size_t alen, const u_char *b, size_t blen) noexcept;


size_t
ngx_http_webcall_ws_frame(u_char *out, size_t cap, const char *text, size_t len)
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


/* Relayed frames are framed once, in place: the protocol writes the
 * payload after the header. */
u_char *
ngx_http_webcall_ws_scratch_frame(size_t len, size_t *hlen, ngx_log_t *log)
    noexcept
{
    size_t   need;
    u_char  *buf;

    need = ws::header_size(len) + len;

    if (need > ngx_http_webcall_scratch_cap) {
        buf = (u_char *) ngx_alloc(ngx_max(need, (size_t) 16384), log);
        if (buf == NULL) {
            return NULL;
        }

        ngx_free(ngx_http_webcall_scratch);
        ngx_http_webcall_scratch = buf;
        ngx_http_webcall_scratch_cap = ngx_max(need, (size_t) 16384);
    }

    *hlen = ws::encode_header(ngx_http_webcall_scratch, ws::opcode::text,
                              true, len);

    return ngx_http_webcall_scratch;
}


ngx_int_t
ngx_http_webcall_ws_send_text(ngx_http_webcall_session_t *s,
    const char *text, size_t len) noexcept
{
    u_char  h[10];
    size_t  hl;

    if (len == 0) {
        /* every reply is sized for its largest case: a bug, not a client */
        ngx_log_error(NGX_LOG_ALERT, s->connection->log, 0,
                      "webcall: a reply did not fit its buffer and was "
                      "not sent");
        return NGX_ERROR;
    }

    hl = ws::encode_header(h, ws::opcode::text, true, len);

    return ngx_http_webcall_ws_send_frame(s, h, hl, (const u_char *) text,
                                          len, 0);
}


/* Queues a frame (header a, payload b) for the end of this turn of the
 * event loop. At once instead: our close frame and the 101 (force, sent
 * even when closing), and a turn's frames past NGX_HTTP_WEBCALL_WS_BATCH,
 * so that a burst never waits in memory for the socket. What the socket
 * does not take counts against webcall_ws_send_queue: past it the reader
 * is too slow and is closed rather than buffered for without bound.
 * Whatever fails here has already finished or is closing the session, and
 * logged what needs logging, so a caller with nothing else to do may drop
 * the result. */
ngx_int_t
ngx_http_webcall_ws_send_frame(ngx_http_webcall_session_t *s,
    const u_char *a, size_t alen, const u_char *b, size_t blen,
    ngx_uint_t force) noexcept
{
    ngx_connection_t  *c;
    size_t             used;

    if (s->done || (s->close_sent && !force)) {
        return NGX_DECLINED;
    }

    c = s->connection;

    if (ngx_http_webcall_ws_queue(s, a, alen, b, blen) != NGX_OK) {
        return NGX_ERROR;
    }

    used = s->out_last - s->out_pos;

    if (force || used > NGX_HTTP_WEBCALL_WS_BATCH) {
        ngx_http_webcall_ws_flush(s);

        if (s->done) {
            return NGX_ERROR;
        }

        used = s->out_last - s->out_pos;

    } else if (c->write->ready && !c->write->posted) {
        /* written when the turn's events are all handled: once per
         * connection however many frames it got; a full socket is written
         * when it says it is writable again */
        ngx_post_event(c->write, &ngx_posted_events);
        return NGX_OK;
    }

    if (!force && used > s->conf->send_queue) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "webcall: closing a client that reads too slowly "
                      "(%uz bytes queued)", used);
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_SEND_QUEUE_OVERFLOWS);
        ngx_http_webcall_ws_close(s, NGX_HTTP_WEBCALL_WS_POLICY,
                                  "send queue full");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* Appends a frame to the send buffer, growing it (at least doubled, and a
 * burst's worth at once) when it does not fit. */
static ngx_int_t
ngx_http_webcall_ws_queue(ngx_http_webcall_session_t *s, const u_char *a,
    size_t alen, const u_char *b, size_t blen) noexcept
{
    size_t   used, need, cap;
    u_char  *buf;

    used = s->out_last - s->out_pos;
    need = alen + blen;

    if (s->out_cap - s->out_last < need) {
        if (s->out_pos > 0) {
            ngx_memmove(s->out, s->out + s->out_pos, used);
            s->out_pos = 0;
            s->out_last = used;
        }

        if (s->out_cap - s->out_last < need) {
            cap = ngx_max(s->out_cap * 2, used + need);
            cap = ngx_max(cap, (size_t) 4096);

            buf = (u_char *) ngx_alloc(cap, s->connection->log);
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

    ngx_memcpy(s->out + s->out_last, a, alen);
    s->out_last += alen;

    if (blen > 0) {
        ngx_memcpy(s->out + s->out_last, b, blen);
        s->out_last += blen;
    }

    return NGX_OK;
}


void
ngx_http_webcall_ws_flush(ngx_http_webcall_session_t *s) noexcept
{
    ngx_connection_t          *c;
    ssize_t                    n;

    c = s->connection;

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
            ngx_http_webcall_ws_finish(s);
            return;
        }

        s->out_pos += n;
    }

    if (s->out_pos < s->out_last) {
        if (!c->write->timer_set) {
            ngx_add_timer(c->write, s->send_timeout);
        }

        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            ngx_http_webcall_ws_finish(s);
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
        ngx_http_webcall_ws_finish(s);
    }
}


/* Writable while the request is there (nginx's request handler calls it). */
void
ngx_http_webcall_ws_write(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_session_t  *s;

    s = (ngx_http_webcall_session_t *)
            ngx_http_get_module_ctx(r, ngx_http_webcall_module);

    if (s != NULL) {
        ngx_http_webcall_ws_writable(s);
    }
}


/* Writable once detached: the connection's own handler. */
void
ngx_http_webcall_ws_write_event(ngx_event_t *wev) noexcept
{
    ngx_connection_t  *c = (ngx_connection_t *) wev->data;

    ngx_http_webcall_ws_writable((ngx_http_webcall_session_t *) c->data);
}


static void
ngx_http_webcall_ws_writable(ngx_http_webcall_session_t *s) noexcept
{
    ngx_connection_t  *c;

    c = s->connection;

    if (s->done) {
        return;
    }

    if (c->write->timedout) {
        /* send_timeout passed with the client reading nothing */
        c->timedout = 1;
        ngx_http_webcall_ws_finish(s);
        return;
    }

    ngx_http_webcall_ws_flush(s);
}
