/*
 * webcall: detaching a joined WebSocket session from its HTTP request.
 *
 * An HTTP request costs 8-10 KB (its pool of request_pool_size and a second
 * block, the header buffer) that a joined connection, idle for most of a
 * call, does not need. Once the protocol has what it needs from the
 * request (the join: $webcall_peer is known, the ICE URLs are evaluated)
 * it asks to detach: from a posted event, outside nginx's own request
 * handlers, the request is freed the way nginx frees one (its access log
 * line is written then, with status 101), the header buffers go as for a
 * keep-alive connection, and the connection's handlers, data and log
 * context become the session's. Until then the session lives as any
 * module's request does, and is freed with the request's pool; after,
 * finishing closes the connection and frees the session from a posted
 * event, so that no caller up the stack holds a freed session.
 */

#include "ngx_http_webcall_ws.h"


/* nginx's limit_conn, when this nginx has it (ngx_http_webcall_keep_limits) */
static ngx_module_t  *ngx_http_webcall_limit_conn;


static void ngx_http_webcall_keep_limits(ngx_http_request_t *r) noexcept;
static void ngx_http_webcall_free_header_buffers(ngx_connection_t *c,
    ngx_http_connection_t *hc) noexcept;
static u_char *ngx_http_webcall_ws_log_error(ngx_log_t *log, u_char *buf,
    size_t len) noexcept;


void
ngx_http_webcall_ws_detach_init(void) noexcept
{
    ngx_uint_t  i;

    /* by name: an nginx built without it still loads this module */
    ngx_http_webcall_limit_conn = NULL;

    for (i = 0; ngx_cycle->modules[i] != NULL; i++) {
        if (ngx_strcmp(ngx_cycle->modules[i]->name,
                       "ngx_http_limit_conn_module") == 0)
        {
            ngx_http_webcall_limit_conn = ngx_cycle->modules[i];
            break;
        }
    }
}


void
ngx_http_webcall_ws_detach(ngx_http_webcall_session_t *s) noexcept
{
    if (s->attach == NULL || s->done || s->attach->detach.posted) {
        return;
    }

    ngx_post_event(&s->attach->detach, &ngx_posted_events);
}


/* Posted, so it runs outside nginx's request handlers, which would touch
 * the request (and c->data as a request) after us. */
void
ngx_http_webcall_ws_detached(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) ev->data;
    ngx_http_webcall_attach_t   *a;
    ngx_http_connection_t       *hc;
    ngx_http_request_t          *r;
    ngx_connection_t            *c;

    r = s->request;
    c = s->connection;
    a = s->attach;

    if (s->done || s->pending != NULL) {
        return;             /* over already, or bytes still in the request */
    }

    /* the session outlives the request now: neither its end nor its
     * memory is the request's business any more */
    a->cleanup->handler = NULL;
    a->free->handler = NULL;

    ngx_http_webcall_keep_limits(r);
    hc = r->http_connection;

    /* writes the access log line (101, $webcall_peer) and frees the
     * request's pool; the ev we run from goes with it */
    ngx_http_free_request(r, 0);

    /* only now: the request line the log used lies in them */
    ngx_http_webcall_free_header_buffers(c, hc);

    c->destroyed = 0;
    c->data = s;
    c->read->handler = ngx_http_webcall_ws_read_event;
    c->write->handler = ngx_http_webcall_ws_write_event;
    c->log->handler = ngx_http_webcall_ws_log_error;
    c->log->data = s;
    c->log->action = (char *) "signaling";

    s->request = NULL;
    s->attach = NULL;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "webcall: session %uL detached from its request",
                   (uint64_t) s->node.key);
}


/* limit_conn counts a connection until its request's pool is destroyed
 * (a pool cleanup). A detached session still is that connection, so the
 * count moves to the connection's pool and is given back when it closes.
 * limit_conn's cleanup is known by its data: the first field is one of
 * its shared zones (tagged with the module), the second the node. */
static void
ngx_http_webcall_keep_limits(ngx_http_request_t *r) noexcept
{
    ngx_pool_cleanup_t  *cln, *moved;
    ngx_shm_zone_t      *zone;
    ngx_list_part_t     *part;
    ngx_uint_t           i;
    void               **data;

    if (ngx_http_webcall_limit_conn == NULL) {
        return;
    }

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == NULL || cln->data == NULL) {
            continue;
        }

        data = (void **) cln->data;
        part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
        zone = (ngx_shm_zone_t *) part->elts;

        for (i = 0; /* void */; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }
                part = part->next;
                zone = (ngx_shm_zone_t *) part->elts;
                i = 0;
            }

            if (data[0] != &zone[i]
                || zone[i].tag != ngx_http_webcall_limit_conn)
            {
                continue;
            }

            moved = ngx_pool_cleanup_add(r->connection->pool,
                                         2 * sizeof(void *));
            if (moved == NULL) {
                /* the count is given back now rather than never */
                break;
            }

            ngx_memcpy(moved->data, data, 2 * sizeof(void *));
            moved->handler = cln->handler;
            cln->handler = NULL;
            break;
        }
    }
}


/* As nginx does for a keep-alive connection: the header buffers go. */
static void
ngx_http_webcall_free_header_buffers(ngx_connection_t *c,
    ngx_http_connection_t *hc) noexcept
{
    ngx_chain_t  *cl, *ln;

    if (c->buffer != NULL) {
        (void) ngx_pfree(c->pool, c->buffer->start);
        c->buffer = NULL;
    }

    for (cl = hc->free; cl != NULL; /* void */) {
        ln = cl;
        cl = cl->next;
        (void) ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }

    for (cl = hc->busy; cl != NULL; /* void */) {
        ln = cl;
        cl = cl->next;
        (void) ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }

    hc->free = NULL;
    hc->busy = NULL;
    hc->nbusy = 0;

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        ngx_ssl_free_buffer(c);
    }
#endif
}


/* Error log lines of a detached session: the client and the room, by its
 * fingerprint (never the token). */
static u_char *
ngx_http_webcall_ws_log_error(ngx_log_t *log, u_char *buf, size_t len)
    noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) log->data;
    ngx_connection_t            *c = s->connection;
    u_char                      *p;

    p = buf;

    if (log->action) {
        p = ngx_snprintf(p, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    p = ngx_snprintf(p, len, ", client: %V, room: ~%*s", &c->addr_text,
                     sizeof(s->room_fp), s->room_fp);
    len -= p - buf;
    buf = p;

    if (s->joined) {
        p = ngx_snprintf(p, len, ", peer: %*s",
                         (size_t) NGX_HTTP_WEBCALL_PEER_ID, s->peer_id);
    }

    return p;
}


void
ngx_http_webcall_ws_release(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_session_t  *s = (ngx_http_webcall_session_t *) ev->data;
    ngx_connection_t            *c;

    c = s->connection;

    /* a TLS shutdown may outlive the session: its log lines then say
     * nothing of it */
    c->log->handler = NULL;
    c->log->data = NULL;
    c->log->action = NULL;

    ngx_http_close_connection(c);
    ngx_free(s);
}
