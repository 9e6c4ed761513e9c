/*
 * webcall: the WebSocket transport's sending side: frames go straight to the
 * socket, and only what the socket does not take is queued, up to
 * webcall_ws_send_queue. Relayed frames are built in one per-process
 * scratch buffer, so sending allocates nothing per message.
 */

#include "ngx_http_webcall_ws.h"


namespace ws = webcall::ws;


/* RFC 6455: a client that reads too slowly breaks our policy */
#define NGX_HTTP_WEBCALL_WS_POLICY  1008


static u_char             *ngx_http_webcall_scratch;
static u_char             *ngx_http_webcall_joined;
static size_t              ngx_http_webcall_joined_cap;
static size_t              ngx_http_webcall_scratch_cap;


static void ngx_http_webcall_ws_writable(ngx_http_webcall_session_t *s)
    noexcept;
static ngx_int_t ngx_http_webcall_join_pieces(const u_char *a, size_t alen,
    const u_char *b, size_t blen, ngx_log_t *log) noexcept;


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
ngx_int_t
ngx_http_webcall_ws_send_frame(ngx_http_webcall_session_t *s,
    const u_char *a, size_t alen, const u_char *b, size_t blen,
    ngx_uint_t force) noexcept
{
    ngx_connection_t  *c;
    ssize_t            n;
    size_t             used, need, cap, sent;
    u_char            *buf;

    if (s->done || (s->close_sent && !force)) {
        return NGX_DECLINED;
    }

    c = s->connection;
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
            ngx_http_webcall_ws_finish(s);
            return NGX_ERROR;
        }

        if (n > 0) {
            sent = (size_t) n;
        }

        if (sent == alen && blen > 0) {
            n = c->send(c, (u_char *) b, blen);
            if (n == NGX_ERROR) {
                c->error = 1;
                ngx_http_webcall_ws_finish(s);
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
        ngx_http_webcall_ws_close(s, NGX_HTTP_WEBCALL_WS_POLICY,
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

    ngx_http_webcall_ws_flush(s);

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
