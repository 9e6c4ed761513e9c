/*
 * webcall: telling the fleet that a room ended (webcall_fleet_nodes).
 *
 * A room ends on the node that holds it: by its host's DELETE, or by
 * itself when a one-time link's call is over. The other nodes must know,
 * or when that node is lost and its rooms move, the link works again on
 * the next one. So the node sends DELETE .../rooms/<token> with the room's
 * owner key (both rebuilt from the token with the fleet's secret) to every
 * node listed, each of which keeps the end in its own ended-rooms file.
 * The copies carry a Webcall-Fleet header, and a node does not send on
 * what it got with one.
 *
 * One short HTTP/1.1 request per node (Connection: close, http or https),
 * from the worker where the room ended, in its event loop; an attempt has
 * 3 s. A node that cannot be reached or answers 5xx/429 is tried again
 * after 1, 2, 4, 8 then every 10 s, for an hour; one that refuses the end
 * (another secret, a wrong URL) is not. Pending retries live in that
 * worker; one that stops (a reload) leaves them in the zone's fleet
 * outbox, and the next workers take them over on their tick. A stop of
 * nginx loses them (the zone goes), which the warning at exit says; the
 * ends are in the local file either way.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_conf.h"

#include "log_redact.h"

#include <cstring>


namespace token = webcall::room_token;


#define NGX_HTTP_WEBCALL_FLEET_TIMEOUT    3000      /* one attempt, ms */
#define NGX_HTTP_WEBCALL_FLEET_DELAY_MAX  10000     /* between tries, ms */
#define NGX_HTTP_WEBCALL_FLEET_GIVE_UP    3600      /* s after the end */
#define NGX_HTTP_WEBCALL_FLEET_URL_MAX    256       /* host, and path */
#define NGX_HTTP_WEBCALL_FLEET_REQUEST    1024


typedef enum {
    NGX_HTTP_WEBCALL_FLEET_CONNECTING = 0,
    NGX_HTTP_WEBCALL_FLEET_SENDING,
    NGX_HTTP_WEBCALL_FLEET_READING
} ngx_http_webcall_fleet_state_e;


/* One end on its way to one node. */
typedef struct {
    ngx_queue_t                      queue;     /* this worker's pending */
    ngx_http_webcall_fleet_node_t   *node;
    token::room                      room;
    ngx_http_webcall_zone_t         *zone;      /* its counters */
    ngx_ssl_t                       *ssl;
    ngx_peer_connection_t            pc;
    ngx_pool_t                      *pool;      /* of the attempt */
    ngx_event_t                      retry;
    ngx_msec_t                       delay;
    time_t                           give_up;
    ngx_uint_t                       attempts;
    ngx_http_webcall_fleet_state_e   state;
    size_t                           len;
    size_t                           sent;
    size_t                           got;
    char                             fp[webcall::log_redact::fingerprint_len];
    u_char                           response[64];
    u_char                           request[NGX_HTTP_WEBCALL_FLEET_REQUEST];
} ngx_http_webcall_fleet_send_t;


/* An end left in the zone by a worker that stopped before delivering it:
 * the node by its URL, since the next workers may have another list. */
typedef struct {
    ngx_queue_t                      queue;
    token::room                      room;
    time_t                           give_up;
    ngx_uint_t                       attempts;
    ngx_msec_t                       delay;
    size_t                           url_len;
    u_char                           url[1];
} ngx_http_webcall_fleet_left_t;


static ngx_http_webcall_main_conf_t *ngx_http_webcall_fleet_conf(void)
    noexcept;
static ngx_http_webcall_fleet_send_t *ngx_http_webcall_fleet_send_new(
    ngx_http_webcall_main_conf_t *wmcf, ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_fleet_node_t *node, const token::room *room) noexcept;
static void ngx_http_webcall_fleet_leave(ngx_http_webcall_fleet_send_t *s,
    ngx_uint_t *left, ngx_uint_t *lost) noexcept;
static void ngx_http_webcall_fleet_take(ngx_http_webcall_main_conf_t *wmcf,
    ngx_http_webcall_zone_t *zone, ngx_http_webcall_fleet_left_t *left)
    noexcept;
static void ngx_http_webcall_fleet_attempt(ngx_http_webcall_fleet_send_t *s)
    noexcept;
static void ngx_http_webcall_fleet_write_handler(ngx_event_t *wev) noexcept;
static void ngx_http_webcall_fleet_read_handler(ngx_event_t *rev) noexcept;
static void ngx_http_webcall_fleet_connected(ngx_http_webcall_fleet_send_t *s)
    noexcept;
#if (NGX_HTTP_SSL)
static void ngx_http_webcall_fleet_handshaked(ngx_connection_t *c) noexcept;
#endif
static void ngx_http_webcall_fleet_send(ngx_http_webcall_fleet_send_t *s)
    noexcept;
static void ngx_http_webcall_fleet_read(ngx_http_webcall_fleet_send_t *s)
    noexcept;
static void ngx_http_webcall_fleet_answered(ngx_http_webcall_fleet_send_t *s,
    ngx_uint_t status) noexcept;
static void ngx_http_webcall_fleet_failed(ngx_http_webcall_fleet_send_t *s,
    const char *why) noexcept;
static void ngx_http_webcall_fleet_retry_handler(ngx_event_t *ev) noexcept;
static void ngx_http_webcall_fleet_close(ngx_http_webcall_fleet_send_t *s)
    noexcept;
static void ngx_http_webcall_fleet_free(ngx_http_webcall_fleet_send_t *s)
    noexcept;
static char *ngx_http_webcall_fleet_node(ngx_conf_t *cf, ngx_str_t *url,
    ngx_http_webcall_fleet_node_t *node) noexcept;


/* This worker's ends still on their way: left in the zone at its exit. */
static ngx_queue_t  ngx_http_webcall_fleet_pending;
static ngx_uint_t   ngx_http_webcall_fleet_ready;


/* In the worker where a room ended (its host's DELETE, or a one-time
 * link's last caller gone), after the lock: one DELETE per listed node. */
void
ngx_http_webcall_fleet_end(ngx_http_webcall_zone_t *zone,
    const token::room *room) noexcept
{
    ngx_http_webcall_main_conf_t   *wmcf;
    ngx_http_webcall_fleet_node_t  *nodes;
    ngx_http_webcall_fleet_send_t  *s;
    ngx_uint_t                      i;

    wmcf = ngx_http_webcall_fleet_conf();
    if (wmcf == NULL) {
        return;
    }

    nodes = (ngx_http_webcall_fleet_node_t *) wmcf->fleet_nodes->elts;

    for (i = 0; i < wmcf->fleet_nodes->nelts; i++) {
        s = ngx_http_webcall_fleet_send_new(wmcf, zone, &nodes[i], room);
        if (s == NULL) {
            ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_FLEET_GIVEN_UP);
            continue;
        }

        ngx_http_webcall_fleet_attempt(s);
    }
}


/* The main conf when this nginx has a fleet; the pending list is ready. */
static ngx_http_webcall_main_conf_t *
ngx_http_webcall_fleet_conf(void) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                   ngx_http_webcall_module);
    if (wmcf == NULL || wmcf->fleet_nodes == NULL) {
        return NULL;
    }

    if (!ngx_http_webcall_fleet_ready) {
        ngx_queue_init(&ngx_http_webcall_fleet_pending);
        ngx_http_webcall_fleet_ready = 1;
    }

    return wmcf;
}


static ngx_http_webcall_fleet_send_t *
ngx_http_webcall_fleet_send_new(ngx_http_webcall_main_conf_t *wmcf,
    ngx_http_webcall_zone_t *zone, ngx_http_webcall_fleet_node_t *node,
    const token::room *room) noexcept
{
    ngx_http_webcall_fleet_send_t  *s;
    char                            text[token::text_max];
    char                            owner[token::owner_text_max];
    size_t                          tlen, olen;
    u_char                         *last;

    tlen = token::encode(wmcf->token_key, *room, text, sizeof(text));
    olen = token::owner_key(wmcf->token_key, room->id, owner, sizeof(owner));

    if (tlen == 0 || olen == 0) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "webcall: cannot rebuild the link of an ended room; "
                      "fleet node \"%V\" is not told", &node->url);
        return NULL;
    }

    s = (ngx_http_webcall_fleet_send_t *)
            ngx_calloc(sizeof(ngx_http_webcall_fleet_send_t), ngx_cycle->log);
    if (s == NULL) {
        return NULL;
    }

    s->node = node;
    s->room = *room;
    s->zone = zone;
    s->ssl = wmcf->fleet_ssl;
    s->delay = 1000;
    s->give_up = ngx_time() + NGX_HTTP_WEBCALL_FLEET_GIVE_UP;
    webcall::log_redact::fingerprint(std::string_view(text, tlen), s->fp);

    /* the sizes are bounded: host and path by the directive, the rest by
     * room_token */
    last = ngx_snprintf(s->request, sizeof(s->request),
               "DELETE %V%*s HTTP/1.1\r\n"
               "Host: %V\r\n"
               "Authorization: Bearer %*s\r\n"
               "User-Agent: webcall-fleet\r\n"
               NGX_HTTP_WEBCALL_FLEET_HEADER ": end\r\n"
               "Content-Length: 0\r\n"
               "Connection: close\r\n\r\n",
               &node->path, tlen, text, &node->host, olen, owner);
    s->len = (size_t) (last - s->request);

    s->retry.handler = ngx_http_webcall_fleet_retry_handler;
    s->retry.data = s;
    s->retry.log = ngx_cycle->log;
    /* a stopping worker does not wait for a retry: it leaves the end to
     * the next workers (ngx_http_webcall_fleet_exit_process) */
    s->retry.cancelable = 1;

    ngx_queue_insert_tail(&ngx_http_webcall_fleet_pending, &s->queue);

    return s;
}


static void
ngx_http_webcall_fleet_attempt(ngx_http_webcall_fleet_send_t *s) noexcept
{
    ngx_connection_t  *c;
    ngx_int_t          rc;

    s->attempts++;
    s->state = NGX_HTTP_WEBCALL_FLEET_CONNECTING;
    s->sent = 0;
    s->got = 0;

    ngx_memzero(&s->pc, sizeof(ngx_peer_connection_t));
    s->pc.sockaddr = s->node->addr.sockaddr;
    s->pc.socklen = s->node->addr.socklen;
    s->pc.name = &s->node->addr.name;
    s->pc.get = ngx_event_get_peer;
    s->pc.log = ngx_cycle->log;
    s->pc.log_error = NGX_ERROR_ERR;

    s->pool = ngx_create_pool(512, ngx_cycle->log);
    if (s->pool == NULL) {
        ngx_http_webcall_fleet_failed(s, "no memory");
        return;
    }

    rc = ngx_event_connect_peer(&s->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_webcall_fleet_failed(s, "no connection");
        return;
    }

    c = s->pc.connection;
    c->data = s;
    c->pool = s->pool;
    c->read->handler = ngx_http_webcall_fleet_read_handler;
    c->write->handler = ngx_http_webcall_fleet_write_handler;

    /* the attempt's whole time: connect, TLS, request and answer */
    ngx_add_timer(c->read, NGX_HTTP_WEBCALL_FLEET_TIMEOUT);

    if (rc == NGX_OK) {
        ngx_http_webcall_fleet_connected(s);
    }
}


static void
ngx_http_webcall_fleet_write_handler(ngx_event_t *wev) noexcept
{
    ngx_connection_t               *c = (ngx_connection_t *) wev->data;
    ngx_http_webcall_fleet_send_t  *s;
    ngx_err_t                       err;
    socklen_t                       len;

    s = (ngx_http_webcall_fleet_send_t *) c->data;

    if (s->state == NGX_HTTP_WEBCALL_FLEET_SENDING) {
        ngx_http_webcall_fleet_send(s);
        return;
    }

    if (s->state != NGX_HTTP_WEBCALL_FLEET_CONNECTING) {
        return;
    }

    /* the non-blocking connect finished: how (as the upstream module) */
    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, (char *) "connect() failed");
        ngx_http_webcall_fleet_failed(s, "no connection");
        return;
    }

    ngx_http_webcall_fleet_connected(s);
}


static void
ngx_http_webcall_fleet_read_handler(ngx_event_t *rev) noexcept
{
    ngx_connection_t               *c = (ngx_connection_t *) rev->data;
    ngx_http_webcall_fleet_send_t  *s;

    s = (ngx_http_webcall_fleet_send_t *) c->data;

    if (rev->timedout) {
        ngx_http_webcall_fleet_failed(s, "no answer within 3 s");
        return;
    }

    if (s->state == NGX_HTTP_WEBCALL_FLEET_CONNECTING) {
        /* a refused connect wakes both sides: the write side says why */
        ngx_http_webcall_fleet_write_handler(c->write);
        return;
    }

    if (s->state == NGX_HTTP_WEBCALL_FLEET_READING) {
        ngx_http_webcall_fleet_read(s);
    }
}


static void
ngx_http_webcall_fleet_connected(ngx_http_webcall_fleet_send_t *s) noexcept
{
#if (NGX_HTTP_SSL)
    ngx_connection_t  *c = s->pc.connection;
    ngx_int_t          rc;

    if (s->node->https) {
        if (ngx_ssl_create_connection(s->ssl, c,
                                      NGX_SSL_BUFFER|NGX_SSL_CLIENT)
            != NGX_OK)
        {
            ngx_http_webcall_fleet_failed(s, "no TLS connection");
            return;
        }

        if (s->node->sni.len
            && SSL_set_tlsext_host_name(c->ssl->connection,
                                        (char *) s->node->sni.data) == 0)
        {
            ngx_http_webcall_fleet_failed(s, "no TLS server name");
            return;
        }

        /* no verification, as proxy_pass https:// by default: the request
         * carries the owner key of a room that has ended, which can do
         * nothing but end it */
        rc = ngx_ssl_handshake(c);
        if (rc == NGX_AGAIN) {
            c->ssl->handler = ngx_http_webcall_fleet_handshaked;
            return;
        }

        ngx_http_webcall_fleet_handshaked(c);
        return;
    }
#endif

    s->state = NGX_HTTP_WEBCALL_FLEET_SENDING;
    ngx_http_webcall_fleet_send(s);
}


#if (NGX_HTTP_SSL)

static void
ngx_http_webcall_fleet_handshaked(ngx_connection_t *c) noexcept
{
    ngx_http_webcall_fleet_send_t  *s;

    s = (ngx_http_webcall_fleet_send_t *) c->data;

    if (c->read->timedout) {
        ngx_http_webcall_fleet_failed(s, "no answer within 3 s");
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_http_webcall_fleet_failed(s, "the TLS handshake failed");
        return;
    }

    /* the handshake took the handlers over */
    c->read->handler = ngx_http_webcall_fleet_read_handler;
    c->write->handler = ngx_http_webcall_fleet_write_handler;

    s->state = NGX_HTTP_WEBCALL_FLEET_SENDING;
    ngx_http_webcall_fleet_send(s);
}

#endif


static void
ngx_http_webcall_fleet_send(ngx_http_webcall_fleet_send_t *s) noexcept
{
    ngx_connection_t  *c = s->pc.connection;
    ssize_t            n;

    while (s->sent < s->len) {
        n = c->send(c, s->request + s->sent, s->len - s->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_http_webcall_fleet_failed(s, "the request was not sent");
            }
            return;
        }

        if (n <= 0) {
            ngx_http_webcall_fleet_failed(s, "the request was not sent");
            return;
        }

        s->sent += (size_t) n;
    }

    s->state = NGX_HTTP_WEBCALL_FLEET_READING;
    ngx_http_webcall_fleet_read(s);
}


/* Only the status line matters: "HTTP/1.x NNN". */
static void
ngx_http_webcall_fleet_read(ngx_http_webcall_fleet_send_t *s) noexcept
{
    ngx_connection_t  *c = s->pc.connection;
    ngx_uint_t         status;
    u_char            *p;
    ssize_t            n;

    while (s->got < 12) {
        n = c->recv(c, s->response + s->got, sizeof(s->response) - s->got);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_http_webcall_fleet_failed(s, "no answer");
            }
            return;
        }

        if (n <= 0) {
            ngx_http_webcall_fleet_failed(s, "the connection closed "
                                             "without an answer");
            return;
        }

        s->got += (size_t) n;
    }

    p = s->response;

    if (ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' '
        || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9')
    {
        ngx_http_webcall_fleet_failed(s, "an answer that is not HTTP");
        return;
    }

    status = (ngx_uint_t) ((p[9] - '0') * 100 + (p[10] - '0') * 10
                           + (p[11] - '0'));

    ngx_http_webcall_fleet_answered(s, status);
}


/* 204: ended there (now, or already). 404 for a link past issue + ttl:
 * expired there, as dead as ended (a room kept alive by visits here). 5xx
 * and 429 may pass; any other answer will not: the node has another
 * secret, or the URL is not its rooms API. */
static void
ngx_http_webcall_fleet_answered(ngx_http_webcall_fleet_send_t *s,
    ngx_uint_t status) noexcept
{
    ngx_http_webcall_fleet_close(s);

    if (status == NGX_HTTP_NO_CONTENT || status == 410
        || (status == NGX_HTTP_NOT_FOUND
            && ngx_time() >= webcall::room_policy::valid_until_without_record(
                                 s->zone->limits, s->room.issued)))
    {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_FLEET_DELIVERED);

        if (s->attempts > 1) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "webcall: fleet node \"%V\" was told that "
                          "room %*s ended, at try %ui",
                          &s->node->url, sizeof(s->fp), s->fp, s->attempts);
        }

        ngx_http_webcall_fleet_free(s);
        return;
    }

    if (status >= 500 || status == 429) {
        ngx_http_webcall_fleet_failed(s, status >= 500 ? "a server error"
                                                       : "too many requests");
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "webcall: fleet node \"%V\" refused the end of room %*s "
                  "with HTTP %ui: it has another "
                  "webcall_secret_file, or that URL of "
                  "webcall_fleet_nodes is not its rooms API. If this node "
                  "is lost, that link works again there",
                  &s->node->url, sizeof(s->fp), s->fp, status);

    ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_FLEET_GIVEN_UP);
    ngx_http_webcall_fleet_free(s);
}


/* An attempt failed: the first failure is a warning, the tries after it
 * are quiet (nginx logs each refused connect), giving up is an error. */
static void
ngx_http_webcall_fleet_failed(ngx_http_webcall_fleet_send_t *s,
    const char *why) noexcept
{
    ngx_uint_t  level;

    ngx_http_webcall_fleet_close(s);
    ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_FLEET_RETRIED);

    if (ngx_time() + (time_t) (s->delay / 1000) >= s->give_up) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "webcall: gave up telling fleet node \"%V\" that "
                      "room %*s ended (%s, %ui tries). If this "
                      "node is lost, that link works again there",
                      &s->node->url, sizeof(s->fp), s->fp, why,
                      s->attempts);
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_FLEET_GIVEN_UP);
        ngx_http_webcall_fleet_free(s);
        return;
    }

    level = (s->attempts == 1) ? NGX_LOG_WARN : NGX_LOG_INFO;

    ngx_log_error(level, ngx_cycle->log, 0,
                  "webcall: could not tell fleet node \"%V\" that room %*s "
                  "ended (%s); trying again in %M ms, for up to an hour",
                  &s->node->url, sizeof(s->fp), s->fp, why, s->delay);

    ngx_add_timer(&s->retry, s->delay);
    s->delay = ngx_min(s->delay * 2, NGX_HTTP_WEBCALL_FLEET_DELAY_MAX);
}


static void
ngx_http_webcall_fleet_retry_handler(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_fleet_attempt(
        (ngx_http_webcall_fleet_send_t *) ev->data);
}


static void
ngx_http_webcall_fleet_close(ngx_http_webcall_fleet_send_t *s) noexcept
{
    ngx_connection_t  *c = s->pc.connection;

    if (c != NULL) {
#if (NGX_HTTP_SSL)
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif
        ngx_close_connection(c);
        s->pc.connection = NULL;
    }

    if (s->pool != NULL) {
        ngx_destroy_pool(s->pool);
        s->pool = NULL;
    }
}


static void
ngx_http_webcall_fleet_free(ngx_http_webcall_fleet_send_t *s) noexcept
{
    if (s->retry.timer_set) {
        ngx_del_timer(&s->retry);
    }

    ngx_queue_remove(&s->queue);
    ngx_free(s);
}


/* A worker that stops with ends still on their way leaves them in their
 * zone for the next workers (a reload), and says so: if nginx is
 * stopping, the zone goes with it and they are lost. */
void
ngx_http_webcall_fleet_exit_process(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_fleet_send_t  *s;
    ngx_queue_t                    *q;
    ngx_uint_t                      left, lost;

    if (!ngx_http_webcall_fleet_ready) {
        return;
    }

    left = 0;
    lost = 0;

    while (!ngx_queue_empty(&ngx_http_webcall_fleet_pending)) {
        q = ngx_queue_head(&ngx_http_webcall_fleet_pending);
        s = ngx_queue_data(q, ngx_http_webcall_fleet_send_t, queue);

        ngx_http_webcall_fleet_close(s);
        ngx_http_webcall_fleet_leave(s, &left, &lost);
        ngx_http_webcall_fleet_free(s);
    }

    if (left) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "webcall: %ui end(s) of rooms not yet delivered to "
                      "fleet nodes are left to this node's next workers "
                      "(lost if nginx is stopping)", left);
    }

    if (lost) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "webcall: %ui end(s) of rooms not yet delivered to "
                      "fleet nodes are lost: no space for them in the zone",
                      lost);
    }
}


static void
ngx_http_webcall_fleet_leave(ngx_http_webcall_fleet_send_t *s,
    ngx_uint_t *left, ngx_uint_t *lost) noexcept
{
    ngx_http_webcall_zone_t        *zone = s->zone;
    ngx_http_webcall_fleet_left_t  *l;

    ngx_shmtx_lock(&zone->shpool->mutex);

    l = (ngx_http_webcall_fleet_left_t *) ngx_slab_alloc_locked(
            zone->shpool,
            offsetof(ngx_http_webcall_fleet_left_t, url) + s->node->url.len);

    if (l == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_FLEET_GIVEN_UP);
        (*lost)++;
        return;
    }

    l->room = s->room;
    l->give_up = s->give_up;
    l->attempts = s->attempts;
    l->delay = s->delay;
    l->url_len = s->node->url.len;
    ngx_memcpy(l->url, s->node->url.data, l->url_len);

    ngx_queue_insert_tail(&zone->sh->fleet_outbox, &l->queue);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    (*left)++;
}


/* On the tick: the ends a stopped worker left in the zone, a few at a
 * time, go on from here. */
void
ngx_http_webcall_fleet_adopt(ngx_http_webcall_zone_t *zone) noexcept
{
    ngx_http_webcall_main_conf_t   *wmcf;
    ngx_http_webcall_fleet_left_t  *l, *taken[16];
    ngx_queue_t                    *q;
    ngx_uint_t                      i, n;

    /* a glance without the lock: the queue is empty nearly always */
    if (ngx_queue_empty(&zone->sh->fleet_outbox)) {
        return;
    }

    wmcf = ngx_http_webcall_fleet_conf();

    n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    while (n < 16 && !ngx_queue_empty(&zone->sh->fleet_outbox)) {
        q = ngx_queue_head(&zone->sh->fleet_outbox);
        ngx_queue_remove(q);
        taken[n++] = ngx_queue_data(q, ngx_http_webcall_fleet_left_t, queue);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    for (i = 0; i < n; i++) {
        l = taken[i];

        if (wmcf != NULL) {
            ngx_http_webcall_fleet_take(wmcf, zone, l);

        } else {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "webcall: an end of a room for fleet node "
                          "\"%*s\" is dropped: webcall_fleet_nodes is gone",
                          l->url_len, l->url);
        }

        ngx_slab_free(zone->shpool, l);
    }
}


static void
ngx_http_webcall_fleet_take(ngx_http_webcall_main_conf_t *wmcf,
    ngx_http_webcall_zone_t *zone, ngx_http_webcall_fleet_left_t *l) noexcept
{
    ngx_http_webcall_fleet_node_t  *nodes;
    ngx_http_webcall_fleet_send_t  *s;
    ngx_uint_t                      i;

    nodes = (ngx_http_webcall_fleet_node_t *) wmcf->fleet_nodes->elts;

    for (i = 0; i < wmcf->fleet_nodes->nelts; i++) {
        if (nodes[i].url.len == l->url_len
            && ngx_strncmp(nodes[i].url.data, l->url, l->url_len) == 0)
        {
            break;
        }
    }

    if (i == wmcf->fleet_nodes->nelts) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "webcall: an end of a room for fleet node \"%*s\" "
                      "is dropped: webcall_fleet_nodes no longer lists it",
                      l->url_len, l->url);
        return;
    }

    s = ngx_http_webcall_fleet_send_new(wmcf, zone, &nodes[i], &l->room);
    if (s == NULL) {
        ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_FLEET_GIVEN_UP);
        return;
    }

    s->give_up = l->give_up;
    s->attempts = l->attempts;
    s->delay = l->delay;

    ngx_http_webcall_fleet_attempt(s);
}


/* webcall_fleet_nodes URL ...: every node of the fleet, this one may be
 * among them (it answers itself that the room has ended), so that every
 * node can have the same line. Resolved once, at start, as proxy_pass
 * does with a name. */
char *
ngx_http_webcall_fleet_nodes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t   *wmcf;
    ngx_http_webcall_fleet_node_t  *node, *nodes;
    ngx_str_t                      *value;
    ngx_uint_t                      i, j, https;
    char                           *rv;

    wmcf = (ngx_http_webcall_main_conf_t *) conf;

    if (wmcf->fleet_nodes != NULL) {
        return (char *) "is duplicate";
    }

    if (cf->args->nelts - 1 > NGX_HTTP_WEBCALL_FLEET_NODES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_fleet_nodes\" lists %ui nodes; at "
                           "most %d are supported",
                           cf->args->nelts - 1, NGX_HTTP_WEBCALL_FLEET_NODES);
        return (char *) NGX_CONF_ERROR;
    }

    wmcf->fleet_nodes = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                         sizeof(ngx_http_webcall_fleet_node_t));
    if (wmcf->fleet_nodes == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    value = (ngx_str_t *) cf->args->elts;
    https = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        node = (ngx_http_webcall_fleet_node_t *)
                   ngx_array_push(wmcf->fleet_nodes);
        if (node == NULL) {
            return (char *) NGX_CONF_ERROR;
        }

        rv = ngx_http_webcall_fleet_node(cf, &value[i], node);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        nodes = (ngx_http_webcall_fleet_node_t *) wmcf->fleet_nodes->elts;

        for (j = 0; j + 1 < wmcf->fleet_nodes->nelts; j++) {
            if (ngx_cmp_sockaddr(nodes[j].addr.sockaddr,
                                 nodes[j].addr.socklen, node->addr.sockaddr,
                                 node->addr.socklen, 1) == NGX_OK
                && nodes[j].path.len == node->path.len
                && ngx_strncmp(nodes[j].path.data, node->path.data,
                               node->path.len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"webcall_fleet_nodes\" lists \"%V\" "
                                   "twice (as \"%V\")", &node->url,
                                   &nodes[j].url);
                return (char *) NGX_CONF_ERROR;
            }
        }

        https |= node->https;
    }

    if (!https) {
        return NGX_CONF_OK;
    }

#if (NGX_HTTP_SSL)
    {
    ngx_pool_cleanup_t  *cln;

    wmcf->fleet_ssl = (ngx_ssl_t *) ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (wmcf->fleet_ssl == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    wmcf->fleet_ssl->log = cf->log;

    if (ngx_ssl_create(wmcf->fleet_ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3,
                       NULL)
        != NGX_OK)
    {
        return (char *) NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(wmcf->fleet_ssl);
        return (char *) NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = wmcf->fleet_ssl;
    }

    return NGX_CONF_OK;
#else
    return (char *) "lists an https:// node, but this nginx is built "
                    "without SSL";
#endif
}


/* http[s]://host[:port][/path/]: the path is where the node's rooms API
 * is (webcall_api's location), /api/rooms/ when left out. */
static char *
ngx_http_webcall_fleet_node(ngx_conf_t *cf, ngx_str_t *url,
    ngx_http_webcall_fleet_node_t *node) noexcept
{
    static const ngx_str_t  api = ngx_string("/api/rooms/");
    ngx_url_t               u;
    size_t                  add;
    u_char                 *end;

    ngx_memzero(node, sizeof(ngx_http_webcall_fleet_node_t));
    node->url = *url;

    if (url->len > 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        == 0)
    {
        add = 7;

    } else if (url->len > 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        add = 8;
        node->https = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_fleet_nodes\": \"%V\" is not an "
                           "http:// or https:// URL of a node's rooms API, "
                           "e.g. https://198.51.100.11:8443/api/rooms/",
                           url);
        return (char *) NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url.len = url->len - add;
    u.url.data = url->data + add;
    u.default_port = node->https ? 443 : 80;
    u.uri_part = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_fleet_nodes\": %s in \"%V\"",
                           u.err ? u.err : "invalid URL", url);
        return (char *) NGX_CONF_ERROR;
    }

    if (u.family == AF_UNIX || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_fleet_nodes\": \"%V\" names no "
                           "network address", url);
        return (char *) NGX_CONF_ERROR;
    }

    node->addr = u.addrs[0];

    /* Host: as written, between the scheme and the path */
    end = u.uri.len ? u.uri.data : url->data + url->len;
    node->host.data = url->data + add;
    node->host.len = (size_t) (end - node->host.data);

    node->path = (u.uri.len == 0 || (u.uri.len == 1 && u.uri.data[0] == '/'))
                 ? api : u.uri;

    if (node->host.len > NGX_HTTP_WEBCALL_FLEET_URL_MAX
        || node->path.len > NGX_HTTP_WEBCALL_FLEET_URL_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_fleet_nodes\": \"%V\" is too long",
                           url);
        return (char *) NGX_CONF_ERROR;
    }

    if (node->path.data[node->path.len - 1] != '/'
        || ngx_strlchr(node->path.data, node->path.data + node->path.len,
                       '?') != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_fleet_nodes\": the path of \"%V\" "
                           "must end with \"/\": a room's token follows "
                           "it, as in /api/rooms/<token>", url);
        return (char *) NGX_CONF_ERROR;
    }

    /* TLS server name: a host name, never an address */
    if (node->https && u.host.len && u.host.data[0] != '['
        && ngx_inet_addr(u.host.data, u.host.len) == INADDR_NONE)
    {
        node->sni.data = (u_char *) ngx_pnalloc(cf->pool, u.host.len + 1);
        if (node->sni.data == NULL) {
            return (char *) NGX_CONF_ERROR;
        }

        ngx_memcpy(node->sni.data, u.host.data, u.host.len);
        node->sni.data[u.host.len] = '\0';
        node->sni.len = u.host.len;
    }

    return NGX_CONF_OK;
}
