/*
 * webcall: delivery between workers. A frame for a connection on another
 * worker is copied once into the zone and queued in that worker's inbox;
 * if the inbox was empty, the sender rings the worker's doorbell, a Unix
 * datagram socket whose abstract name the kernel picks (autobind) and the
 * worker publishes in its slot. A name nobody can know in advance cannot be
 * taken in advance by another local user (abstract names have no
 * permissions). The inbox is the truth and the doorbell only a wake-up, so
 * a lost ring, a forged one, or no doorbell at all costs at most one
 * housekeeping tick. The tick also expires grace periods and
 * notices workers that died (kill -9) to free their seats and inbox.
 * Frames are opaque bytes here: who is told what about an expired seat is
 * the hook the signaling part registered (ngx_http_webcall_signal_init).
 */

#include "ngx_http_webcall_ws.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>


#define NGX_HTTP_WEBCALL_TICK         500
#define NGX_HTTP_WEBCALL_BATCH        64
#define NGX_HTTP_WEBCALL_INBOX_MAX    4096
#define NGX_HTTP_WEBCALL_INBOX_BYTES  (16 * 1024 * 1024)


/* Per-process state: plain data, set up in init_process. */
typedef struct {
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_connection_t              *doorbell;
    struct sockaddr_un             bell;      /* its name, for the slot */
    socklen_t                      bell_len;
    ngx_event_t                    tick;
    ngx_log_t                     *log;
} ngx_http_webcall_proc_t;


static ngx_http_webcall_proc_t  ngx_http_webcall_proc;
/* set before the workers start, so not in ngx_http_webcall_proc */
static ngx_http_webcall_gone_pt  ngx_http_webcall_gone_hook;


static ngx_int_t ngx_http_webcall_doorbell_open(ngx_cycle_t *cycle) noexcept;
static void ngx_http_webcall_doorbell_handler(ngx_event_t *ev) noexcept;
static void ngx_http_webcall_ring(const u_char *bell, size_t len) noexcept;
static void ngx_http_webcall_tick_handler(ngx_event_t *ev) noexcept;
static void ngx_http_webcall_drain(ngx_http_webcall_zone_t *zone) noexcept;
static void ngx_http_webcall_drain_all(void) noexcept;
static void ngx_http_webcall_sweep(ngx_http_webcall_zone_t *zone) noexcept;
static void ngx_http_webcall_expire_graces(ngx_http_webcall_zone_t *zone)
    noexcept;
static void ngx_http_webcall_slot_release(ngx_http_webcall_zone_t *zone,
    ngx_uint_t slot) noexcept;
static void ngx_http_webcall_slot_claim(ngx_http_webcall_zone_t *zone)
    noexcept;


void
ngx_http_webcall_ipc_set_gone_hook(ngx_http_webcall_gone_pt hook) noexcept
{
    ngx_http_webcall_gone_hook = hook;
}


static ngx_http_webcall_zone_t **
ngx_http_webcall_zones(ngx_uint_t *n) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf = ngx_http_webcall_proc.wmcf;

    if (wmcf == NULL) {
        *n = 0;
        return NULL;
    }

    *n = wmcf->zones.nelts;
    return (ngx_http_webcall_zone_t **) wmcf->zones.elts;
}


ngx_int_t
ngx_http_webcall_ipc_init_process(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_zone_t  **zones;
    ngx_uint_t                 i, n;
    ngx_event_t               *tick;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_memzero(&ngx_http_webcall_proc, sizeof(ngx_http_webcall_proc_t));

    ngx_http_webcall_proc.wmcf = (ngx_http_webcall_main_conf_t *)
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_webcall_module);
    ngx_http_webcall_proc.log = cycle->log;

    zones = ngx_http_webcall_zones(&n);
    if (n == 0) {
        return NGX_OK;
    }

    ngx_http_webcall_ws_init();

    /* without a doorbell this worker still serves: it finds what other
     * workers queued for it on the tick, 500 ms late at worst */
    if (ngx_http_webcall_doorbell_open(cycle) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "webcall: worker %P runs without a doorbell; "
                      "messages from other workers reach it on the %d ms "
                      "tick", ngx_pid, NGX_HTTP_WEBCALL_TICK);
    }

    for (i = 0; i < n; i++) {
        zones[i]->slot = -1;
        if (zones[i]->sh != NULL && zones[i]->ipc != NULL) {
            ngx_http_webcall_sweep(zones[i]);
            ngx_http_webcall_slot_claim(zones[i]);
        }
    }

    tick = &ngx_http_webcall_proc.tick;
    tick->handler = ngx_http_webcall_tick_handler;
    tick->log = cycle->log;
    tick->data = &ngx_http_webcall_proc;
    /* housekeeping must never keep a shutting-down worker alive */
    tick->cancelable = 1;
    ngx_add_timer(tick, NGX_HTTP_WEBCALL_TICK);

    return NGX_OK;
}


void
ngx_http_webcall_ipc_exit_process(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_zone_t  **zones;
    ngx_uint_t                 i, n;

    zones = ngx_http_webcall_zones(&n);

    for (i = 0; i < n; i++) {
        if (zones[i]->slot >= 0) {
            ngx_shmtx_lock(&zones[i]->ipc_pool->mutex);
            ngx_http_webcall_slot_release(zones[i], zones[i]->slot);
            ngx_shmtx_unlock(&zones[i]->ipc_pool->mutex);
            zones[i]->slot = -1;
        }
    }

    if (ngx_http_webcall_proc.tick.timer_set) {
        ngx_del_timer(&ngx_http_webcall_proc.tick);
    }

    if (ngx_http_webcall_proc.doorbell != NULL) {
        ngx_close_connection(ngx_http_webcall_proc.doorbell);
        ngx_http_webcall_proc.doorbell = NULL;
    }
}


static void
ngx_http_webcall_slot_claim(ngx_http_webcall_zone_t *zone) noexcept
{
    ngx_http_webcall_worker_slot_t  *w;
    ngx_uint_t                       i;

    ngx_shmtx_lock(&zone->ipc_pool->mutex);

    for (i = 0; i < NGX_HTTP_WEBCALL_WORKERS; i++) {
        w = &zone->ipc->workers[i];

        if (w->pid == 0) {
            w->pid = ngx_pid;
            w->bell_len = 0;
            w->connections = 0;
            if (ngx_http_webcall_proc.doorbell != NULL) {
                w->bell_len = (uint8_t) ngx_http_webcall_proc.bell_len;
                ngx_memcpy(w->bell, ngx_http_webcall_proc.bell.sun_path,
                           w->bell_len);
            }
            w->queued = 0;
            w->bytes = 0;
            ngx_queue_init(&w->inbox);
            zone->slot = (ngx_int_t) i;
            break;
        }
    }

    ngx_shmtx_unlock(&zone->ipc_pool->mutex);

    if (zone->slot < 0) {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_webcall_proc.log, 0,
                      "webcall zone \"%V\": more than %d worker processes "
                      "(old and new); this one cannot receive messages from "
                      "the others", &zone->name, NGX_HTTP_WEBCALL_WORKERS);
    }
}


/* Frees a worker's slot and whatever is still queued for it. Called with
 * the inbox zone's lock held. */
static void
ngx_http_webcall_slot_release(ngx_http_webcall_zone_t *zone, ngx_uint_t slot)
    noexcept
{
    ngx_http_webcall_worker_slot_t  *w;
    ngx_http_webcall_msg_t          *msg;
    ngx_queue_t                     *q;

    w = &zone->ipc->workers[slot];

    while (!ngx_queue_empty(&w->inbox)) {
        q = ngx_queue_head(&w->inbox);
        ngx_queue_remove(q);
        msg = ngx_queue_data(q, ngx_http_webcall_msg_t, queue);
        ngx_slab_free_locked(zone->ipc_pool, msg);
    }

    w->pid = 0;
    w->bell_len = 0;
    w->connections = 0;
    w->queued = 0;
    w->bytes = 0;
}


/* Workers that died without exit_process (kill -9, a crash) leave a slot
 * with their pid: free it and put their seats into grace. */
static void
ngx_http_webcall_sweep(ngx_http_webcall_zone_t *zone) noexcept
{
    ngx_pid_t   pids[NGX_HTTP_WEBCALL_WORKERS];
    ngx_uint_t  i, released;

    ngx_shmtx_lock(&zone->ipc_pool->mutex);
    for (i = 0; i < NGX_HTTP_WEBCALL_WORKERS; i++) {
        pids[i] = zone->ipc->workers[i].pid;
    }
    ngx_shmtx_unlock(&zone->ipc_pool->mutex);

    for (i = 0; i < NGX_HTTP_WEBCALL_WORKERS; i++) {
        /* EPERM: the pid now belongs to another user's process, and our
         * workers all run as one user, so ours is gone too */
        if (pids[i] == 0 || pids[i] == ngx_pid || kill(pids[i], 0) == 0
            || (errno != ESRCH && errno != EPERM))
        {
            continue;
        }

        /* whoever frees the slot (under the inbox lock) also orphans the
         * seats (under the room lock): another worker sweeping at the same
         * time finds the slot free and does neither */
        ngx_shmtx_lock(&zone->ipc_pool->mutex);

        released = zone->ipc->workers[i].pid == pids[i];
        if (released) {
            ngx_http_webcall_slot_release(zone, i);
        }

        ngx_shmtx_unlock(&zone->ipc_pool->mutex);

        if (!released) {
            continue;
        }

        ngx_shmtx_lock(&zone->shpool->mutex);
        ngx_http_webcall_seat_orphan(zone, pids[i]);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_NOTICE, ngx_http_webcall_proc.log, 0,
                      "webcall zone \"%V\": worker %P is gone; its "
                      "participants can resume their seats until their "
                      "grace period ends", &zone->name, pids[i]);
    }
}


static void
ngx_http_webcall_tick_handler(ngx_event_t *ev) noexcept
{
    ngx_http_webcall_zone_t  **zones;
    ngx_uint_t                 i, n;

    zones = ngx_http_webcall_zones(&n);

    for (i = 0; i < n; i++) {
        if (zones[i]->sh == NULL || zones[i]->ipc == NULL) {
            continue;
        }

        ngx_http_webcall_sweep(zones[i]);
        ngx_http_webcall_expire_graces(zones[i]);
        ngx_http_webcall_drain(zones[i]);
        ngx_http_webcall_fleet_adopt(zones[i]);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_WEBCALL_TICK);
    }
}


/* Frees the seats whose grace ran out; the hook tells the others. */
static void
ngx_http_webcall_expire_graces(ngx_http_webcall_zone_t *zone) noexcept
{
    ngx_http_webcall_change_t  changes[8];
    ngx_uint_t                 i, n;

    do {
        n = ngx_http_webcall_seat_expire(zone, changes, 8);

        for (i = 0; i < n; i++) {
            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_http_webcall_proc.log, 0,
                           "webcall: grace over for peer %*s, telling %ui",
                           (size_t) NGX_HTTP_WEBCALL_PEER_ID, changes[i].id,
                           changes[i].ntell);

            if (ngx_http_webcall_gone_hook != NULL) {
                ngx_http_webcall_gone_hook(zone, &changes[i],
                                           ngx_http_webcall_proc.log);
            }
        }
    } while (n == 8);
}


ngx_int_t
ngx_http_webcall_deliver(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_target_t *to, const u_char *frame, size_t len,
    uint16_t close_code, ngx_log_t *log) noexcept
{
    ngx_http_webcall_worker_slot_t  *w;
    ngx_http_webcall_msg_t          *msg;
    ngx_uint_t                       was_empty, log_drop;
    ngx_int_t                        rc;
    u_char                           bell[16];
    size_t                           bell_len;

    if (to->pid == ngx_pid) {
        ngx_http_webcall_ws_deliver(to->session, frame, len, close_code);
        return NGX_OK;
    }

    if (to->worker >= NGX_HTTP_WEBCALL_WORKERS) {
        return NGX_DECLINED;
    }

    rc = NGX_OK;
    was_empty = 0;
    bell_len = 0;

    ngx_shmtx_lock(&zone->ipc_pool->mutex);

    w = &zone->ipc->workers[to->worker];

    if (w->pid != to->pid) {
        rc = NGX_DECLINED;              /* that worker is gone */

    } else if (w->queued >= NGX_HTTP_WEBCALL_INBOX_MAX
               || w->bytes + len > NGX_HTTP_WEBCALL_INBOX_BYTES)
    {
        rc = NGX_BUSY;                  /* that worker is stuck */

    } else {
        msg = (ngx_http_webcall_msg_t *) ngx_slab_alloc_locked(zone->ipc_pool,
                  offsetof(ngx_http_webcall_msg_t, data) + len);

        if (msg == NULL) {
            rc = NGX_ERROR;

        } else {
            msg->session = to->session;
            msg->pid = to->pid;
            msg->close_code = close_code;
            msg->len = (uint32_t) len;
            ngx_memcpy(msg->data, frame, len);

            was_empty = ngx_queue_empty(&w->inbox);
            ngx_queue_insert_tail(&w->inbox, &msg->queue);
            w->queued++;
            w->bytes += len;
            bell_len = w->bell_len;
            ngx_memcpy(bell, w->bell, bell_len);
        }
    }

    /* a stuck worker drops every message sent to it: one line a minute
     * for the zone, the rest in the metrics */
    log_drop = 0;
    if ((rc == NGX_BUSY || rc == NGX_ERROR)
        && ngx_time() - zone->ipc->drop_logged >= 60)
    {
        zone->ipc->drop_logged = ngx_time();
        log_drop = 1;
    }

    ngx_shmtx_unlock(&zone->ipc_pool->mutex);

    if (was_empty && bell_len > 0) {
        ngx_http_webcall_ring(bell, bell_len);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, log, 0,
                   "webcall: %uz bytes for session %uL on worker %P: %s",
                   len, to->session, to->pid,
                   rc == NGX_OK ? (was_empty ? "queued, rang" : "queued")
                                : "dropped");

    ngx_http_webcall_count(zone,
        rc == NGX_OK ? NGX_HTTP_WEBCALL_IPC_DELIVERED
        : rc == NGX_BUSY ? NGX_HTTP_WEBCALL_IPC_DROPPED_FULL
        : rc == NGX_ERROR ? NGX_HTTP_WEBCALL_IPC_DROPPED_NOMEM
        : NGX_HTTP_WEBCALL_IPC_DROPPED_GONE);

    if ((rc == NGX_BUSY || rc == NGX_ERROR) && log_drop) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "webcall zone \"%V\": a message for worker %P was "
                      "dropped (%s); more drops are counted in "
                      "webcall_inter_worker_dropped_total and logged at "
                      "most once a minute", &zone->name, to->pid,
                      rc == NGX_BUSY ? "its inbox is full"
                                     : "the inbox zone is out of memory; raise "
                                       "webcall_zone inbox=");
    }

    return rc;
}


/* Takes this worker's inbox in batches and hands each frame to its
 * connection, never holding the lock while writing to a socket. */
static void
ngx_http_webcall_drain(ngx_http_webcall_zone_t *zone) noexcept
{
    ngx_http_webcall_worker_slot_t  *w;
    ngx_http_webcall_msg_t          *batch[NGX_HTTP_WEBCALL_BATCH];
    ngx_queue_t                     *q;
    ngx_uint_t                       i, n;

    if (zone->slot < 0) {
        return;
    }

    w = &zone->ipc->workers[zone->slot];

    do {
        n = 0;

        ngx_shmtx_lock(&zone->ipc_pool->mutex);

        while (n < NGX_HTTP_WEBCALL_BATCH && !ngx_queue_empty(&w->inbox)) {
            q = ngx_queue_head(&w->inbox);
            ngx_queue_remove(q);
            batch[n] = ngx_queue_data(q, ngx_http_webcall_msg_t, queue);
            w->queued--;
            w->bytes -= batch[n]->len;
            n++;
        }

        ngx_shmtx_unlock(&zone->ipc_pool->mutex);

        for (i = 0; i < n; i++) {
            if (batch[i]->pid == ngx_pid) {
                ngx_http_webcall_ws_deliver(batch[i]->session,
                                            batch[i]->data, batch[i]->len,
                                            batch[i]->close_code);
            }
        }

        if (n > 0) {
            ngx_shmtx_lock(&zone->ipc_pool->mutex);
            for (i = 0; i < n; i++) {
                ngx_slab_free_locked(zone->ipc_pool, batch[i]);
            }
            ngx_shmtx_unlock(&zone->ipc_pool->mutex);
        }

    } while (n == NGX_HTTP_WEBCALL_BATCH);
}


static void
ngx_http_webcall_drain_all(void) noexcept
{
    ngx_http_webcall_zone_t  **zones;
    ngx_uint_t                 i, n;

    zones = ngx_http_webcall_zones(&n);

    for (i = 0; i < n; i++) {
        if (zones[i]->ipc != NULL) {
            ngx_http_webcall_drain(zones[i]);
        }
    }
}


static ngx_int_t
ngx_http_webcall_doorbell_open(ngx_cycle_t *cycle) noexcept
{
    struct sockaddr_un   sa;
    ngx_connection_t    *c;
    socklen_t            len;
    int                  fd;

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                      "webcall: socket(AF_UNIX) for the doorbell failed");
        return NGX_ERROR;
    }

    /* autobind: binding just the family makes the kernel choose a free
     * abstract name, so nobody can hold ours before we start */
    ngx_memzero(&sa, sizeof(struct sockaddr_un));
    sa.sun_family = AF_UNIX;

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa_family_t)) == -1) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                      "webcall: bind() of the doorbell socket failed");
        close(fd);
        return NGX_ERROR;
    }

    len = sizeof(struct sockaddr_un);
    if (getsockname(fd, (struct sockaddr *) &sa, &len) == -1
        || len <= offsetof(struct sockaddr_un, sun_path)
        || len - offsetof(struct sockaddr_un, sun_path) > 16)
    {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                      "webcall: the doorbell socket has no usable name");
        close(fd);
        return NGX_ERROR;
    }

    ngx_http_webcall_proc.bell = sa;
    ngx_http_webcall_proc.bell_len =
        len - (socklen_t) offsetof(struct sockaddr_un, sun_path);

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        close(fd);
        return NGX_ERROR;
    }

    c->recv = ngx_recv;
    c->send = ngx_send;
    c->data = NULL;
    c->read->handler = ngx_http_webcall_doorbell_handler;
    c->read->log = cycle->log;
    c->write->log = cycle->log;

    /* like nginx's own channel: not a client connection, so no "open
     * socket left" alert at exit */
    c->read->channel = 1;
    c->write->channel = 1;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    ngx_http_webcall_proc.doorbell = c;

    return NGX_OK;
}


static void
ngx_http_webcall_doorbell_handler(ngx_event_t *ev) noexcept
{
    ngx_connection_t  *c = (ngx_connection_t *) ev->data;
    u_char             buf[64];

    /* rings carry no data: swallow them all, then look at the inboxes */
    while (recv(c->fd, buf, sizeof(buf), 0) > 0) { /* void */ }

    ngx_http_webcall_drain_all();
}


static void
ngx_http_webcall_ring(const u_char *bell, size_t len) noexcept
{
    struct sockaddr_un  sa;

    if (ngx_http_webcall_proc.doorbell == NULL
        || len > sizeof(sa.sun_path))
    {
        return;             /* the tick drains our side of things anyway */
    }

    ngx_memzero(&sa, sizeof(struct sockaddr_un));
    sa.sun_family = AF_UNIX;
    ngx_memcpy(sa.sun_path, bell, len);

    /* EAGAIN: the receiver has rings pending anyway; ECONNREFUSED: it is
     * gone and the sweep will clean up after it */
    (void) sendto(ngx_http_webcall_proc.doorbell->fd, "", 1, MSG_DONTWAIT,
                  (struct sockaddr *) &sa,
                  (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len));
}
