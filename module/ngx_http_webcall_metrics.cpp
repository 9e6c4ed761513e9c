/*
 * webcall: webcall_metrics, the Prometheus text exposition (0.0.4) of every
 * webcall zone. Counters live in the zone (ngx_http_webcall_stats_t), so
 * every worker's numbers add up and survive a reload; gauges are read when
 * scraped: the room table is walked under the zone's lock (a lookup per
 * room, no syscall), the inbox slots give each worker's open connections.
 */

#include "ngx_http_webcall_module.h"

#include "call_quality.h"
#include "prom_text.h"
#include "signal_msg.h"

namespace prom = webcall::prom;
namespace sig = webcall::signal;
namespace quality = webcall::quality;

static_assert(NGX_HTTP_WEBCALL_BUCKETS == quality::buckets);


#define NGX_HTTP_WEBCALL_METRICS_START  16384
#define NGX_HTTP_WEBCALL_METRICS_MAX    (4 * 1024 * 1024)


/* One counter of the zone's table, as the scraper sees it. */
typedef struct {
    ngx_http_webcall_stat_e   stat;
    const char               *name;
    const char               *label;      /* NULL: none */
    const char               *value;
    const char               *help;       /* NULL: the family's earlier row */
} ngx_http_webcall_counter_t;


static const ngx_http_webcall_counter_t  ngx_http_webcall_counters[] = {
    { NGX_HTTP_WEBCALL_ROOMS_CREATED, "webcall_rooms_created_total",
      NULL, NULL, "Rooms created through the API (POST .../rooms)." },
    { NGX_HTTP_WEBCALL_ROOMS_EXPIRED, "webcall_rooms_expired_total",
      NULL, NULL, "Room records removed because their time was up." },
    { NGX_HTTP_WEBCALL_ROOMS_EVICTED, "webcall_rooms_evicted_total",
      NULL, NULL, "Idle room records pushed out of a full zone (their "
      "links still work)." },
    { NGX_HTTP_WEBCALL_ROOMS_REFUSED, "webcall_rooms_refused_total",
      NULL, NULL, "Rooms that found no space in a full zone (503 "
      "zone-full, or a join refused)." },
    { NGX_HTTP_WEBCALL_ROOMS_ENDED, "webcall_rooms_ended_total",
      NULL, NULL, "Rooms ended for everyone by their host (DELETE "
      ".../rooms/<token>)." },
    { NGX_HTTP_WEBCALL_JOINS_NEW, "webcall_joins_total", "kind", "new",
      "Participants seated, new ones and resumed ones (reload, network "
      "change)." },
    { NGX_HTTP_WEBCALL_JOINS_RESUMED, "webcall_joins_total", "kind",
      "resume", NULL },
    { NGX_HTTP_WEBCALL_JOINS_RESTORED, "webcall_joins_total", "kind",
      "ticket", NULL },
    { NGX_HTTP_WEBCALL_CANNOT_CALL, "webcall_cannot_call_total", NULL, NULL,
      "Links opened in a browser that cannot make calls (no WebRTC): the "
      "people in the room were told, and no seat was taken." },
    { NGX_HTTP_WEBCALL_FLEET_DELIVERED, "webcall_fleet_ends_total",
      "result", "delivered", "Ends of rooms (by their host, or one-time "
      "links used up) sent to the nodes of webcall_fleet_nodes: delivered, "
      "attempts that failed (each is tried again), and ends given up "
      "(after an hour, or refused)." },
    { NGX_HTTP_WEBCALL_FLEET_RETRIED, "webcall_fleet_ends_total", "result",
      "failed-attempt", NULL },
    { NGX_HTTP_WEBCALL_FLEET_GIVEN_UP, "webcall_fleet_ends_total", "result",
      "given-up", NULL },
    { NGX_HTTP_WEBCALL_LEAVES, "webcall_leaves_total", NULL, NULL,
      "Participants who left with bye (hang-up, closed tab)." },
    { NGX_HTTP_WEBCALL_GRACE_EXPIRED, "webcall_grace_expired_total", NULL,
      NULL, "Seats freed because nobody resumed them within "
      "webcall_signal_grace." },
    { NGX_HTTP_WEBCALL_RELAYED_LOCAL, "webcall_relayed_messages_total",
      "path", "same-worker", "Offers, answers and candidates relayed, to a "
      "participant on the same worker or on another one." },
    { NGX_HTTP_WEBCALL_RELAYED_CROSS, "webcall_relayed_messages_total",
      "path", "cross-worker", NULL },
    { NGX_HTTP_WEBCALL_RELAYED_BYTES_LOCAL, "webcall_relayed_bytes_total",
      "path", "same-worker", "Bytes of relayed messages (JSON text, "
      "without WebSocket framing)." },
    { NGX_HTTP_WEBCALL_RELAYED_BYTES_CROSS, "webcall_relayed_bytes_total",
      "path", "cross-worker", NULL },
    { NGX_HTTP_WEBCALL_RATE_LIMITED_CLOSES,
      "webcall_rate_limited_closes_total", NULL, NULL,
      "Signaling connections closed for sending too fast "
      "(webcall_signal_rate)." },
    { NGX_HTTP_WEBCALL_SEND_QUEUE_OVERFLOWS,
      "webcall_send_queue_overflows_total", NULL, NULL,
      "Signaling connections closed because they read too slowly "
      "(webcall_ws_send_queue)." },
    { NGX_HTTP_WEBCALL_IPC_DELIVERED,
      "webcall_inter_worker_deliveries_total", NULL, NULL,
      "Frames queued for a connection on another worker." },
    { NGX_HTTP_WEBCALL_IPC_DROPPED_FULL,
      "webcall_inter_worker_dropped_total", "reason", "inbox-full",
      "Frames for another worker that were dropped: its inbox was full, "
      "the inbox zone had no memory, or the worker was gone." },
    { NGX_HTTP_WEBCALL_IPC_DROPPED_NOMEM,
      "webcall_inter_worker_dropped_total", "reason", "no-memory", NULL },
    { NGX_HTTP_WEBCALL_IPC_DROPPED_GONE,
      "webcall_inter_worker_dropped_total", "reason", "worker-gone", NULL },
    { NGX_HTTP_WEBCALL_TURN_CREDENTIALS,
      "webcall_turn_credentials_total", NULL, NULL,
      "TURN credentials handed out (in welcome and ice-servers)." },
    { NGX_HTTP_WEBCALL_API_RATE_LIMITED, "webcall_api_refused_total",
      "error", "rate-limited", "API requests refused by nginx before the "
      "module saw them: too many new rooms from one address (429, "
      "limit_req), a body over the limit (413)." },
    { NGX_HTTP_WEBCALL_API_TOO_LARGE, "webcall_api_refused_total",
      "error", "too-large", NULL },
    { NGX_HTTP_WEBCALL_PIN_ADMITTED, "webcall_pin_admitted_total", NULL,
      NULL, "Right PINs given to a PIN room (POST .../admit, 200)." },
    { NGX_HTTP_WEBCALL_PIN_WRONG, "webcall_pin_refused_total", "reason",
      "wrong-pin", "PINs refused: wrong (403), or not checked because the "
      "room was locked after too many wrong ones (429); joins without a "
      "valid pass (pin-required)." },
    { NGX_HTTP_WEBCALL_PIN_LOCKED, "webcall_pin_refused_total", "reason",
      "locked", NULL },
    { NGX_HTTP_WEBCALL_PIN_NO_PASS, "webcall_pin_refused_total", "reason",
      "no-pass", NULL },
    { NGX_HTTP_WEBCALL_PIN_LOCKOUTS, "webcall_pin_lockouts_total", NULL,
      NULL, "Times a PIN room was locked after its wrong PINs were used "
      "up (pin_tries= of webcall_zone)." },
};


/* The errors sent on signaling connections, by their name in the code
 * (peer-not-found and room-not-found share "not-found" on the wire). */
static const struct {
    sig::error   error;
    const char  *name;
} ngx_http_webcall_error_names[] = {
    { sig::error::bad_message, "bad-message" },
    { sig::error::room_not_found, "room-not-found" },
    { sig::error::peer_not_found, "peer-not-found" },
    { sig::error::room_full, "room-full" },
    { sig::error::too_large, "too-large" },
    { sig::error::rate_limited, "rate-limited" },
    { sig::error::bad_beacon, "bad-beacon" },
    { sig::error::room_ended, "ended" },
    { sig::error::pin_required, "pin-required" },
    { sig::error::server_error, "server-error" },
    { sig::error::bad_ticket, "bad-ticket" },
};


/* What is read when scraped, copied out of the zone under its lock. */
typedef struct {
    ngx_uint_t   rooms;
    ngx_uint_t   active;
    ngx_uint_t   live;
    ngx_uint_t   grace;
    size_t       size;
    size_t       used;
    ngx_uint_t   fails;
    size_t       ipc_size;
    size_t       ipc_used;
    ngx_uint_t   ipc_fails;
    ngx_uint_t   connections[NGX_HTTP_WEBCALL_WORKERS];
    ngx_uint_t   live_slot[NGX_HTTP_WEBCALL_WORKERS];
} ngx_http_webcall_gauges_t;


static ngx_uint_t
ngx_http_webcall_slab_fails(ngx_slab_pool_t *pool) noexcept
{
    ngx_uint_t  i, n, fails;

    /* one stat per size class, from 8 bytes to half a page */
    n = ngx_pagesize_shift - 3;
    fails = 0;

    for (i = 0; pool->stats != NULL && i < n; i++) {
        fails += pool->stats[i].fails;
    }

    return fails;
}


static void
ngx_http_webcall_read_rooms(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_gauges_t *g) noexcept
{
    ngx_rbtree_node_t        *node;
    ngx_rbtree_t             *tree;
    ngx_http_webcall_room_t  *room;
    ngx_uint_t                i;

    ngx_shmtx_lock(&zone->shpool->mutex);

    g->rooms = zone->sh->rooms;
    g->size = zone->shm_zone->shm.size;
    g->used = g->size - zone->shpool->pfree * ngx_pagesize;
    g->fails = ngx_http_webcall_slab_fails(zone->shpool);

    tree = &zone->sh->rbtree;

    if (tree->root != tree->sentinel) {
        for (node = ngx_rbtree_min(tree->root, tree->sentinel);
             node != NULL;
             node = ngx_rbtree_next(tree, node))
        {
            room = (ngx_http_webcall_room_t *) &node->color;
            g->active += room->table.participants > 0;

            for (i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
                g->live += room->table.seats[i].st
                           == webcall::seats::state::live;
                g->grace += room->table.seats[i].st
                            == webcall::seats::state::grace;
            }
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


static void
ngx_http_webcall_read_workers(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_gauges_t *g) noexcept
{
    ngx_uint_t  i;

    if (zone->ipc == NULL) {
        return;
    }

    ngx_shmtx_lock(&zone->ipc_pool->mutex);

    g->ipc_size = zone->ipc_shm_zone->shm.size;
    g->ipc_used = g->ipc_size - zone->ipc_pool->pfree * ngx_pagesize;
    g->ipc_fails = ngx_http_webcall_slab_fails(zone->ipc_pool);

    for (i = 0; i < NGX_HTTP_WEBCALL_WORKERS; i++) {
        g->live_slot[i] = zone->ipc->workers[i].pid != 0;
        g->connections[i] = zone->ipc->workers[i].connections;
    }

    ngx_shmtx_unlock(&zone->ipc_pool->mutex);
}


static std::string_view
ngx_http_webcall_name(const ngx_str_t *s) noexcept
{
    return std::string_view((const char *) s->data, s->len);
}


static void
ngx_http_webcall_write_counters(prom::writer &w,
    ngx_http_webcall_zone_t **zones, ngx_uint_t nzones) noexcept
{
    const ngx_http_webcall_counter_t  *c;
    std::string_view                   zn;
    uint64_t                           v;
    ngx_uint_t                         i, z;

    for (i = 0; i < sizeof(ngx_http_webcall_counters)
                    / sizeof(ngx_http_webcall_counters[0]); i++)
    {
        c = &ngx_http_webcall_counters[i];

        if (c->help != NULL) {
            w.family(c->name, prom::kind::counter, c->help);
        }

        for (z = 0; z < nzones; z++) {
            zn = ngx_http_webcall_name(&zones[z]->name);
            v = __atomic_load_n(&zones[z]->sh->stats.count[c->stat],
                                __ATOMIC_RELAXED);
            if (c->label == NULL) {
                w.sample(c->name, {{"zone", zn}}, v);
            } else {
                w.sample(c->name, {{"zone", zn}, {c->label, c->value}}, v);
            }
        }
    }

    w.family("webcall_errors_sent_total", prom::kind::counter,
             "Error messages sent on signaling connections, by error "
             "(docs/protocol.md).");

    for (i = 0; i < sizeof(ngx_http_webcall_error_names)
                    / sizeof(ngx_http_webcall_error_names[0]); i++)
    {
        for (z = 0; z < nzones; z++) {
            v = __atomic_load_n(&zones[z]->sh->stats.errors[
                    (unsigned) ngx_http_webcall_error_names[i].error],
                    __ATOMIC_RELAXED);
            w.sample("webcall_errors_sent_total",
                     {{"zone", ngx_http_webcall_name(&zones[z]->name)},
                      {"error", ngx_http_webcall_error_names[i].name}}, v);
        }
    }
}


static void
ngx_http_webcall_write_gauges(prom::writer &w,
    ngx_http_webcall_zone_t **zones, ngx_http_webcall_gauges_t *g,
    ngx_uint_t nzones) noexcept
{
    std::string_view  zn;
    char              slot[NGX_INT_T_LEN];
    ngx_uint_t        i, z;
    size_t            n;

    w.family("webcall_rooms", prom::kind::gauge,
             "Room records in the zone (rooms created or visited and not "
             "yet expired).");
    for (z = 0; z < nzones; z++) {
        w.sample("webcall_rooms",
                 {{"zone", ngx_http_webcall_name(&zones[z]->name)}},
                 (uint64_t) g[z].rooms);
    }

    w.family("webcall_rooms_active", prom::kind::gauge,
             "Rooms with somebody in them (connected or reconnecting).");
    for (z = 0; z < nzones; z++) {
        w.sample("webcall_rooms_active",
                 {{"zone", ngx_http_webcall_name(&zones[z]->name)}},
                 (uint64_t) g[z].active);
    }

    w.family("webcall_seats", prom::kind::gauge,
             "Seats held: live (connected) or grace (dropped, waiting to "
             "be resumed).");
    for (z = 0; z < nzones; z++) {
        zn = ngx_http_webcall_name(&zones[z]->name);
        w.sample("webcall_seats", {{"zone", zn}, {"state", "live"}},
                 (uint64_t) g[z].live);
        w.sample("webcall_seats", {{"zone", zn}, {"state", "grace"}},
                 (uint64_t) g[z].grace);
    }

    w.family("webcall_connections", prom::kind::gauge,
             "Open signaling WebSocket connections, by worker slot.");
    for (z = 0; z < nzones; z++) {
        zn = ngx_http_webcall_name(&zones[z]->name);
        for (i = 0; i < NGX_HTTP_WEBCALL_WORKERS; i++) {
            if (!g[z].live_slot[i]) {
                continue;
            }
            n = (size_t) (ngx_sprintf((u_char *) slot, "%ui", i)
                          - (u_char *) slot);
            w.sample("webcall_connections",
                     {{"zone", zn}, {"worker", std::string_view(slot, n)}},
                     (uint64_t) g[z].connections[i]);
        }
    }
}


static void
ngx_http_webcall_write_memory(prom::writer &w,
    ngx_http_webcall_zone_t **zones, ngx_http_webcall_gauges_t *g,
    ngx_uint_t nzones) noexcept
{
    std::string_view  zn;
    ngx_uint_t        z;

    w.family("webcall_zone_size_bytes", prom::kind::gauge,
             "Size of the shared memory zones: rooms and inbox "
             "(webcall_zone size and inbox=).");
    for (z = 0; z < nzones; z++) {
        zn = ngx_http_webcall_name(&zones[z]->name);
        w.sample("webcall_zone_size_bytes", {{"zone", zn}, {"part", "rooms"}},
                 (uint64_t) g[z].size);
        w.sample("webcall_zone_size_bytes", {{"zone", zn}, {"part", "inbox"}},
                 (uint64_t) g[z].ipc_size);
    }

    w.family("webcall_zone_used_bytes", prom::kind::gauge,
             "Bytes of the zones in use (whole pages, as the slab "
             "allocator hands them out).");
    for (z = 0; z < nzones; z++) {
        zn = ngx_http_webcall_name(&zones[z]->name);
        w.sample("webcall_zone_used_bytes", {{"zone", zn}, {"part", "rooms"}},
                 (uint64_t) g[z].used);
        w.sample("webcall_zone_used_bytes", {{"zone", zn}, {"part", "inbox"}},
                 (uint64_t) g[z].ipc_used);
    }

    w.family("webcall_zone_alloc_failures_total", prom::kind::counter,
             "Allocations the zones could not satisfy since they were "
             "created.");
    for (z = 0; z < nzones; z++) {
        zn = ngx_http_webcall_name(&zones[z]->name);
        w.sample("webcall_zone_alloc_failures_total",
                 {{"zone", zn}, {"part", "rooms"}}, (uint64_t) g[z].fails);
        w.sample("webcall_zone_alloc_failures_total",
                 {{"zone", zn}, {"part", "inbox"}},
                 (uint64_t) g[z].ipc_fails);
    }
}


/* A relaxed copy of n counters, for one histogram's buckets. */
static void
ngx_http_webcall_load(const uint64_t *from, uint64_t *to, ngx_uint_t n)
    noexcept
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
    }
}


static void
ngx_http_webcall_write_setup(prom::writer &w,
    ngx_http_webcall_zone_t **zones, ngx_uint_t nzones) noexcept
{
    static const char *paths[] = { "direct", "relayed" };
    static const char *transports[] = { "udp", "tcp", "tls" };
    ngx_http_webcall_stats_t  *st;
    std::string_view           zn;
    uint64_t                   b[NGX_HTTP_WEBCALL_BUCKETS + 1];
    ngx_uint_t                 z, p, t, f;

    w.family("webcall_call_setup_seconds", prom::kind::histogram,
             "Time from a caller's arrival to the first media of a call, "
             "as the callers' browsers report it, by path.");
    for (z = 0; z < nzones; z++) {
        st = &zones[z]->sh->stats;
        zn = ngx_http_webcall_name(&zones[z]->name);
        for (p = 0; p < 2; p++) {
            ngx_http_webcall_load(st->setup[p], b,
                                  NGX_HTTP_WEBCALL_BUCKETS + 1);
            w.histogram("webcall_call_setup_seconds",
                        {{"zone", zn}, {"path", paths[p]}},
                        {quality::setup_bounds, quality::buckets}, b,
                        __atomic_load_n(&st->setup_ms[p], __ATOMIC_RELAXED)
                        / 1000.0);
        }
    }

    w.family("webcall_calls_total", prom::kind::counter,
             "Calls set up, by path, the transport to the relay or between "
             "the peers, and whether they connected at the first try.");
    for (z = 0; z < nzones; z++) {
        st = &zones[z]->sh->stats;
        zn = ngx_http_webcall_name(&zones[z]->name);
        for (p = 0; p < 2; p++) {
            for (t = 0; t < 3; t++) {
                for (f = 0; f < 2; f++) {
                    w.sample("webcall_calls_total",
                             {{"zone", zn}, {"path", paths[p]},
                              {"transport", transports[t]},
                              {"first_try", f ? "true" : "false"}},
                             __atomic_load_n(&st->calls[p][t][f],
                                             __ATOMIC_RELAXED));
                }
            }
        }
    }
}


static void
ngx_http_webcall_write_recovery(prom::writer &w,
    ngx_http_webcall_zone_t **zones, ngx_uint_t nzones) noexcept
{
    static const char *results[] = { "accepted", "malformed", "over-limit" };
    ngx_http_webcall_stats_t  *st;
    std::string_view           zn;
    uint64_t                   b[NGX_HTTP_WEBCALL_BUCKETS + 1];
    ngx_uint_t                 z, i;

    w.family("webcall_call_recovery_seconds", prom::kind::histogram,
             "How long calls were interrupted before they came back by "
             "themselves (a network drop, a reload), as the callers report.");
    for (z = 0; z < nzones; z++) {
        st = &zones[z]->sh->stats;
        ngx_http_webcall_load(st->recovery, b, NGX_HTTP_WEBCALL_BUCKETS + 1);
        w.histogram("webcall_call_recovery_seconds",
                    {{"zone", ngx_http_webcall_name(&zones[z]->name)}},
                    {quality::recovery_bounds, quality::buckets}, b,
                    __atomic_load_n(&st->recovery_ms, __ATOMIC_RELAXED)
                    / 1000.0);
    }

    w.family("webcall_call_reconnects_total", prom::kind::counter,
             "ICE restarts that the reported recoveries took.");
    for (z = 0; z < nzones; z++) {
        w.sample("webcall_call_reconnects_total",
                 {{"zone", ngx_http_webcall_name(&zones[z]->name)}},
                 __atomic_load_n(&zones[z]->sh->stats.reconnects,
                                 __ATOMIC_RELAXED));
    }

    w.family("webcall_beacons_total", prom::kind::counter,
             "Call-quality beacons from the callers: accepted, malformed "
             "(refused with bad-beacon), or over the few a call may send.");
    for (z = 0; z < nzones; z++) {
        zn = ngx_http_webcall_name(&zones[z]->name);
        for (i = 0; i < 3; i++) {
            w.sample("webcall_beacons_total",
                     {{"zone", zn}, {"result", results[i]}},
                     __atomic_load_n(&zones[z]->sh->stats.beacons[i],
                                     __ATOMIC_RELAXED));
        }
    }
}


/* The whole exposition, or 0 when cap was too small. */
static size_t
ngx_http_webcall_metrics_text(ngx_http_webcall_main_conf_t *wmcf,
    ngx_http_webcall_gauges_t *g, u_char *out, size_t cap) noexcept
{
    prom::writer               w((char *) out, cap);
    ngx_http_webcall_zone_t  **zones;
    ngx_uint_t                 nzones;

    zones = (ngx_http_webcall_zone_t **) wmcf->zones.elts;
    nzones = wmcf->zones.nelts;

    ngx_http_webcall_write_counters(w, zones, nzones);
    ngx_http_webcall_write_gauges(w, zones, g, nzones);
    ngx_http_webcall_write_memory(w, zones, g, nzones);
    ngx_http_webcall_write_setup(w, zones, nzones);
    ngx_http_webcall_write_recovery(w, zones, nzones);

    return w.finish();
}


ngx_int_t
ngx_http_webcall_metrics_handler(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_webcall_zone_t      **zones;
    ngx_http_webcall_gauges_t     *g;
    ngx_buf_t                     *b;
    ngx_chain_t                    out;
    ngx_uint_t                     z;
    ngx_int_t                      rc;
    size_t                         cap, len;
    u_char                        *text;

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);
    zones = (ngx_http_webcall_zone_t **) wmcf->zones.elts;

    g = (ngx_http_webcall_gauges_t *)
            ngx_pcalloc(r->pool, (wmcf->zones.nelts + 1) * sizeof(*g));
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (z = 0; z < wmcf->zones.nelts; z++) {
        if (zones[z]->sh == NULL) {
            return NGX_HTTP_SERVICE_UNAVAILABLE;
        }
        ngx_http_webcall_read_rooms(zones[z], &g[z]);
        ngx_http_webcall_read_workers(zones[z], &g[z]);
    }

    /* the text grows with zones and workers: start small, double */
    len = 0;
    text = NULL;

    for (cap = NGX_HTTP_WEBCALL_METRICS_START;
         cap <= NGX_HTTP_WEBCALL_METRICS_MAX && len == 0;
         cap *= 2)
    {
        text = (u_char *) ngx_pnalloc(r->pool, cap);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        len = ngx_http_webcall_metrics_text(wmcf, g, text, cap);
    }

    if (len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webcall: the metrics do not fit in %uz bytes",
                      (size_t) NGX_HTTP_WEBCALL_METRICS_MAX);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = (off_t) len;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = (ngx_buf_t *) ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = text;
    b->last = text + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


void
ngx_http_webcall_connections(ngx_http_webcall_zone_t *zone, ngx_int_t delta)
    noexcept
{
    ngx_http_webcall_worker_slot_t  *w;

    if (zone->ipc == NULL || zone->slot < 0) {
        return;
    }

    /* only this worker writes its slot's count; a scrape reads a word */
    w = &zone->ipc->workers[zone->slot];
    __atomic_store_n(&w->connections, w->connections + delta,
                     __ATOMIC_RELAXED);
}
