/*
 * webcall: types shared by the module's glue files. nginx headers come first
 * and inside extern "C" (they define 64-bit off_t and C linkage).
 */
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <type_traits>

#include "ended_rooms.h"
#include "pin_throttle.h"
#include "room_policy.h"
#include "room_token.h"
#include "seats.h"


#define NGX_HTTP_WEBCALL_SEATS    4     /* webcall::seats::max_seats */
#define NGX_HTTP_WEBCALL_WORKERS  64
#define NGX_HTTP_WEBCALL_PEER_ID  8     /* webcall::seats::id_len */
#define NGX_HTTP_WEBCALL_TURN_URLS 16  /* at most, in webcall_turn_urls */
#define NGX_HTTP_WEBCALL_ICE_JSON 1024 /* one participant's iceServers */
#define NGX_HTTP_WEBCALL_RESUME   16    /* webcall::seats::secret_len */
#define NGX_HTTP_WEBCALL_FLEET_NODES 16 /* at most, in webcall_fleet_nodes */
/* on the ends a node sends the fleet: the receiver does not send them on */
#define NGX_HTTP_WEBCALL_FLEET_HEADER "Webcall-Fleet"

static_assert(NGX_HTTP_WEBCALL_SEATS == webcall::seats::max_seats);
static_assert(NGX_HTTP_WEBCALL_PEER_ID == webcall::seats::id_len);
static_assert(NGX_HTTP_WEBCALL_RESUME == webcall::seats::secret_len);


extern "C" {
extern ngx_module_t  ngx_http_webcall_module;
}


/* A seat's place in the zone's grace queue (shctx->grace, by deadline);
 * the seat itself is table.seats[index] of the room holding this. */
typedef struct {
    ngx_queue_t                   link;
    u_char                        index;
} ngx_http_webcall_grace_t;


/* A room in shared memory; overlays ngx_rbtree_node_t from "color" on, as
 * limit_req does. Plain data only: shm pointers (queue links), never a
 * pointer into one process's heap. The seats' state machine is
 * webcall::seats (module/core/seats.h); the table holds participants, the
 * room's size and whether it had a call. */
typedef struct {
    u_char                        color;
    u_char                        entered;
    u_char                        one_time;   /* ends after its first call */
    /* a PIN room's tag, so that its link can be rebuilt from the record
     * (room_token::encode, when a one-time room ends: the fleet is told) */
    u_char                        has_pin;
    u_char                        pin_tag[webcall::room_token::pin_tag_len];
    ngx_queue_t                   queue;
    webcall::pin_throttle::state  pin;        /* a PIN room's wrong tries */
    int64_t                       issued;
    int64_t                       created;
    int64_t                       last_visit;
    int64_t                       valid_until;
    u_char                        id[webcall::room_token::id_len];
    webcall::seats::table         table;
    ngx_http_webcall_grace_t      grace[NGX_HTTP_WEBCALL_SEATS];
} ngx_http_webcall_room_t;

static_assert(std::is_trivially_copyable_v<ngx_http_webcall_room_t>);
/* a record stays in the slab's 512-byte class (2016 rooms per MiB) */
static_assert(offsetof(ngx_rbtree_node_t, color)
              + sizeof(ngx_http_webcall_room_t) <= 512);


/* A worker's inbox: frames other workers queued for its connections. */
typedef struct {
    ngx_pid_t                     pid;        /* 0: the slot is free */
    /* the kernel-chosen abstract name of its doorbell socket (autobind),
     * bell_len 0: none, the worker polls its inbox on the tick */
    u_char                        bell[16];
    uint8_t                       bell_len;
    ngx_queue_t                   inbox;
    ngx_uint_t                    queued;
    size_t                        bytes;
    /* open WebSocket connections of this worker; only it writes this */
    ngx_uint_t                    connections;
} ngx_http_webcall_worker_slot_t;


/* One queued delivery: a complete server frame for one session, or (code
 * != 0) an order to close that session with code. */
typedef struct {
    ngx_queue_t                   queue;
    uint64_t                      session;
    ngx_pid_t                     pid;
    uint16_t                      close_code;
    uint32_t                      len;
    u_char                        data[1];
} ngx_http_webcall_msg_t;


/* What the module counts for webcall_metrics: counters in the zone's
 * shared memory, so every worker's numbers add up and a reload (which
 * reuses the zone) keeps them. Incremented with relaxed atomic adds, never
 * under a lock; names and help texts are in ngx_http_webcall_metrics.cpp. */
typedef enum {
    NGX_HTTP_WEBCALL_ROOMS_CREATED = 0,
    NGX_HTTP_WEBCALL_ROOMS_EXPIRED,
    NGX_HTTP_WEBCALL_ROOMS_EVICTED,
    NGX_HTTP_WEBCALL_ROOMS_REFUSED,
    NGX_HTTP_WEBCALL_ROOMS_ENDED,
    NGX_HTTP_WEBCALL_JOINS_NEW,
    NGX_HTTP_WEBCALL_JOINS_RESUMED,
    NGX_HTTP_WEBCALL_JOINS_RESTORED,    /* from a seat ticket: the room
                                           moved here from another node */
    NGX_HTTP_WEBCALL_LEAVES,
    NGX_HTTP_WEBCALL_GRACE_EXPIRED,
    NGX_HTTP_WEBCALL_RELAYED_LOCAL,
    NGX_HTTP_WEBCALL_RELAYED_CROSS,
    NGX_HTTP_WEBCALL_RELAYED_BYTES_LOCAL,
    NGX_HTTP_WEBCALL_RELAYED_BYTES_CROSS,
    NGX_HTTP_WEBCALL_RATE_LIMITED_CLOSES,
    NGX_HTTP_WEBCALL_SEND_QUEUE_OVERFLOWS,
    NGX_HTTP_WEBCALL_IPC_DELIVERED,
    NGX_HTTP_WEBCALL_IPC_DROPPED_FULL,
    NGX_HTTP_WEBCALL_IPC_DROPPED_NOMEM,
    NGX_HTTP_WEBCALL_IPC_DROPPED_GONE,
    NGX_HTTP_WEBCALL_TURN_CREDENTIALS,
    NGX_HTTP_WEBCALL_API_RATE_LIMITED,
    NGX_HTTP_WEBCALL_API_TOO_LARGE,
    NGX_HTTP_WEBCALL_PIN_ADMITTED,
    NGX_HTTP_WEBCALL_PIN_WRONG,
    NGX_HTTP_WEBCALL_PIN_LOCKED,
    NGX_HTTP_WEBCALL_PIN_LOCKOUTS,
    NGX_HTTP_WEBCALL_PIN_NO_PASS,
    NGX_HTTP_WEBCALL_CANNOT_CALL,
    NGX_HTTP_WEBCALL_FLEET_DELIVERED,   /* an end told to a node */
    NGX_HTTP_WEBCALL_FLEET_RETRIED,     /* an attempt that failed */
    NGX_HTTP_WEBCALL_FLEET_GIVEN_UP,
    NGX_HTTP_WEBCALL_NSTATS
} ngx_http_webcall_stat_e;

#define NGX_HTTP_WEBCALL_NERRORS  11    /* >= the codes of signal::error */

#define NGX_HTTP_WEBCALL_BUCKETS  10    /* webcall::quality bounds, + Inf */

/* The callers' beacons, folded in (docs/operations.md): histograms of setup
 * time by path and of recovery time, calls by path, transport and first
 * try. Nothing per person. */
typedef struct {
    uint64_t                      count[NGX_HTTP_WEBCALL_NSTATS];
    uint64_t                      errors[NGX_HTTP_WEBCALL_NERRORS];
    uint64_t                      setup[2][NGX_HTTP_WEBCALL_BUCKETS + 1];
    uint64_t                      setup_ms[2];
    uint64_t                      calls[2][3][2];
    uint64_t                      recovery[NGX_HTTP_WEBCALL_BUCKETS + 1];
    uint64_t                      recovery_ms;
    uint64_t                      reconnects;
    uint64_t                      beacons[3];  /* ok, malformed, over */
} ngx_http_webcall_stats_t;


/* The root of a zone, in shared memory. */
typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   fresh;      /* never entered; LRU */
    ngx_queue_t                   used;       /* entered and empty; LRU */
    ngx_uint_t                    rooms;
    ngx_uint_t                    generation; /* +1 on every reload */
    /* which node this is, random when the zone is made (a start), so
     * that callers can tell two nodes of a fleet apart */
    u_char                        node[NGX_HTTP_WEBCALL_PEER_ID];
    time_t                        full_logged;
    ngx_queue_t                   grace;      /* seats, by grace_until */
    ngx_rbtree_t                  ended;      /* rooms ended for good */
    ngx_rbtree_node_t             ended_sentinel;
    ngx_uint_t                    nended;
    /* ends for fleet nodes that a stopping worker had not delivered yet,
     * for the next workers (ngx_http_webcall_fleet.cpp) */
    ngx_queue_t                   fleet_outbox;
    ngx_http_webcall_stats_t      stats;
} ngx_http_webcall_shctx_t;

static_assert(std::is_trivially_copyable_v<ngx_http_webcall_shctx_t>);


/* The root of a zone's inbox memory, a shared memory zone of its own
 * ("NAME_inbox", webcall_zone inbox=SIZE): frames relayed between workers
 * come from there, so a worker that stops reading fills that, never the
 * rooms. Its own mutex guards the slots and their inboxes. */
typedef struct {
    ngx_http_webcall_worker_slot_t workers[NGX_HTTP_WEBCALL_WORKERS];
    time_t                        drop_logged;  /* once a minute at most */
} ngx_http_webcall_ipc_sh_t;

static_assert(std::is_trivially_copyable_v<ngx_http_webcall_ipc_sh_t>);


/* A zone as one process sees it (shm_zone->data). */
typedef struct {
    ngx_str_t                     name;
    ngx_shm_zone_t               *shm_zone;
    ngx_slab_pool_t              *shpool;
    ngx_http_webcall_shctx_t     *sh;
    ngx_shm_zone_t               *ipc_shm_zone;
    ngx_slab_pool_t              *ipc_pool;
    ngx_http_webcall_ipc_sh_t    *ipc;
    size_t                        inbox_size;
    webcall::room_policy::limits  limits;
    webcall::pin_throttle::config pin;        /* pin_tries=, pin_lock= */
    ngx_uint_t                    participants;
    ngx_uint_t                    max_participants;
    ngx_int_t                     slot;       /* ours in ipc->workers */
    ngx_str_t                    *ended_file; /* webcall_ended_file */
    unsigned                      declared:1;
} ngx_http_webcall_zone_t;


/* A use of a zone by webcall_api or webcall_signal, checked once the whole
 * http{} block is read (the zone may be declared after its use). */
typedef struct {
    ngx_http_webcall_zone_t      *zone;
    const char                   *directive;
    ngx_str_t                     file;
    ngx_uint_t                    line;
} ngx_http_webcall_zone_ref_t;


/* A node of webcall_fleet_nodes: where the ends of rooms are sent. */
typedef struct {
    ngx_str_t                     url;        /* as written, for messages */
    ngx_addr_t                    addr;
    ngx_str_t                     host;       /* the Host header */
    ngx_str_t                     sni;        /* NUL-terminated; none for
                                                 an address */
    ngx_str_t                     path;       /* ends with '/' */
    unsigned                      https:1;
} ngx_http_webcall_fleet_node_t;


typedef struct {
    ngx_array_t                   zones;      /* ngx_http_webcall_zone_t * */
    ngx_array_t                   refs;       /* ngx_http_webcall_zone_ref_t */
    ngx_str_t                     secret_file;
    ngx_str_t                     ended_file;    /* webcall_ended_file */
    webcall::room_token::key      token_key;
    ngx_str_t                     turn_secret;   /* raw, as coturn has it */
    ngx_array_t                  *turn_urls;     /* complex values */
    time_t                        turn_ttl;
    const char                   *turn_off;      /* why, when TURN is off */
    ngx_array_t                  *fleet_nodes;   /* webcall_fleet_nodes,
                                                    NULL: no fleet */
#if (NGX_HTTP_SSL)
    ngx_ssl_t                    *fleet_ssl;     /* for https:// nodes */
#else
    void                         *fleet_ssl;
#endif
    unsigned                      have_secret:1;
    unsigned                      turn_urls_vary:1;  /* e.g. $host */
} ngx_http_webcall_main_conf_t;


typedef struct {
    ngx_http_webcall_zone_t      *api_zone;
    ngx_http_webcall_zone_t      *signal_zone;
    ngx_array_t                  *allowed_origins;   /* ngx_str_t */
    size_t                        max_message;
    size_t                        send_queue;
    ngx_msec_t                    ping_interval;
    ngx_msec_t                    join_timeout;
    ngx_msec_t                    grace;
    ngx_uint_t                    rate_messages;
    size_t                        rate_bytes;
    ngx_flag_t                    beacons;    /* webcall_beacons */
    ngx_uint_t                    refuse;     /* webcall_api_refuse: an
                                                 room_api::error, 0: none */
} ngx_http_webcall_loc_conf_t;


/* Where a seat's connection lives, copied out of the zone under the lock. */
typedef struct {
    uint64_t                      session;
    ngx_pid_t                     pid;
    uint16_t                      worker;
} ngx_http_webcall_target_t;


/* What happened to a room when somebody joined, left or timed out: who to
 * tell, copied out under the lock so the telling happens after it. */
typedef struct {
    ngx_int_t                     rc;
    ngx_uint_t                    seat;
    ngx_uint_t                    resumed;
    /* in: a join to a PIN room without its pass may only take its own
     * seat back with the resume secret (else rc NGX_AGAIN) */
    ngx_uint_t                    resume_only;
    ngx_uint_t                    max_participants;
    u_char                        id[NGX_HTTP_WEBCALL_PEER_ID];
    u_char                        resume[NGX_HTTP_WEBCALL_RESUME];
    /* in: a verified seat ticket's claim; out: restored (a seat given
     * back from it), ticket_held (an older ticket, ignored), the seat's
     * serial for its next ticket, and whether the room moved here */
    ngx_uint_t                    has_ticket;
    ngx_uint_t                    ticket_seat;
    uint32_t                      ticket_serial;
    u_char                        ticket_id[NGX_HTTP_WEBCALL_PEER_ID];
    ngx_uint_t                    restored;
    ngx_uint_t                    ticket_held;
    uint32_t                      serial;
    ngx_uint_t                    moved;
    ngx_uint_t                    npeers;
    u_char                        peers[NGX_HTTP_WEBCALL_SEATS]
                                       [NGX_HTTP_WEBCALL_PEER_ID];
    ngx_uint_t                    ntell;
    ngx_http_webcall_target_t     tell[NGX_HTTP_WEBCALL_SEATS];
    ngx_uint_t                    replaced;
    ngx_http_webcall_target_t     old;
    /* the last one left a one-time room after a call: it ended, and the
     * caller records that in the ended-rooms file */
    ngx_uint_t                    ended;
    webcall::ended_rooms::entry   ended_entry;
    webcall::room_token::room     ended_token;  /* its link, for the fleet */
} ngx_http_webcall_change_t;


/* What a caller learns about a room; copied out of the zone under the lock. */
typedef struct {
    int64_t                       expires_at;
    ngx_uint_t                    participants;
    ngx_uint_t                    max_participants;
} ngx_http_webcall_room_info_t;


/* ngx_http_webcall_zone.cpp */
ngx_int_t ngx_http_webcall_init_ipc_zone(ngx_shm_zone_t *shm_zone,
    void *data) noexcept;
ngx_int_t ngx_http_webcall_init_zone(ngx_shm_zone_t *shm_zone, void *data)
    noexcept;
ngx_int_t ngx_http_webcall_room_create(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *room, ngx_log_t *log,
    ngx_http_webcall_room_info_t *info) noexcept;
ngx_int_t ngx_http_webcall_room_visit(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *room,
    ngx_http_webcall_room_info_t *info) noexcept;

ngx_http_webcall_room_t *ngx_http_webcall_room_find(
    ngx_http_webcall_zone_t *zone, const webcall::room_token::room *token,
    time_t now) noexcept;
ngx_http_webcall_room_t *ngx_http_webcall_room_peek(
    ngx_http_webcall_zone_t *zone, const webcall::room_token::room *token)
    noexcept;
void ngx_http_webcall_room_requeue(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, time_t now) noexcept;
ngx_uint_t ngx_http_webcall_zone_full(ngx_http_webcall_zone_t *zone) noexcept;
/* A PIN try on a room: NGX_OK (right), NGX_DECLINED (wrong), NGX_BUSY
 * (locked; not checked), NGX_ABORT (ended), NGX_DONE (expired), NGX_ERROR
 * (no space for its record). */
ngx_int_t ngx_http_webcall_room_pin_try(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t right,
    webcall::pin_throttle::answer *answer) noexcept;
ngx_int_t ngx_http_webcall_room_end(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, webcall::ended_rooms::reason why,
    ngx_uint_t dry_run, int64_t *until, ngx_http_webcall_target_t *targets,
    ngx_uint_t *ntargets) noexcept;

/* ngx_http_webcall_ended.cpp */
ngx_rbtree_key_t ngx_http_webcall_id_key(const u_char *id) noexcept;
void ngx_http_webcall_id_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel, size_t off)
    noexcept;
ngx_rbtree_node_t *ngx_http_webcall_id_lookup(ngx_rbtree_t *tree,
    const u_char *id, size_t off) noexcept;
void ngx_http_webcall_ended_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel) noexcept;
ngx_uint_t ngx_http_webcall_ended_locked(ngx_http_webcall_zone_t *zone,
    const u_char *id, time_t now) noexcept;
ngx_int_t ngx_http_webcall_ended_add_locked(ngx_http_webcall_zone_t *zone,
    const webcall::ended_rooms::entry &e) noexcept;
ngx_int_t ngx_http_webcall_ended_record(ngx_str_t *file,
    const webcall::ended_rooms::entry &e, ngx_log_t *log) noexcept;
void ngx_http_webcall_room_drop(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room) noexcept;
/* ngx_http_webcall_fleet.cpp */
void ngx_http_webcall_fleet_end(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *room) noexcept;
void ngx_http_webcall_fleet_exit_process(ngx_cycle_t *cycle) noexcept;
void ngx_http_webcall_fleet_adopt(ngx_http_webcall_zone_t *zone) noexcept;

void ngx_http_webcall_ended_after(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_change_t *ch) noexcept;
ngx_int_t ngx_http_webcall_ended_load(ngx_http_webcall_zone_t *zone,
    ngx_log_t *log) noexcept;
ngx_int_t ngx_http_webcall_ended_file_init(ngx_cycle_t *cycle,
    ngx_str_t *file) noexcept;

/* ngx_http_webcall_seat.cpp */
void ngx_http_webcall_seat_join(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, const u_char *resume,
    const ngx_http_webcall_target_t *me, uint32_t grace_ms,
    ngx_http_webcall_change_t *ch) noexcept;
void ngx_http_webcall_seat_knock(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_http_webcall_change_t *ch)
    noexcept;
void ngx_http_webcall_seat_leave(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t seat,
    uint64_t session, ngx_uint_t bye, ngx_http_webcall_change_t *ch)
    noexcept;
ngx_int_t ngx_http_webcall_seat_target(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, std::string_view to,
    ngx_http_webcall_target_t *target) noexcept;
ngx_int_t ngx_http_webcall_seat_beacon(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t seat,
    uint64_t session) noexcept;
ngx_uint_t ngx_http_webcall_seat_expire(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_change_t *changes, ngx_uint_t n) noexcept;
void ngx_http_webcall_seat_orphan(ngx_http_webcall_zone_t *zone,
    ngx_pid_t pid) noexcept;
int64_t ngx_http_webcall_now_ms(void) noexcept;

/* ngx_http_webcall_metrics.cpp */
ngx_int_t ngx_http_webcall_metrics_handler(ngx_http_request_t *r) noexcept;
/* this worker's open signaling connections, +1 or -1 */
void ngx_http_webcall_connections(ngx_http_webcall_zone_t *zone,
    ngx_int_t delta) noexcept;

static inline void
ngx_http_webcall_count(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_stat_e stat, uint64_t n = 1) noexcept
{
    if (zone->sh != NULL) {
        __atomic_fetch_add(&zone->sh->stats.count[stat], n, __ATOMIC_RELAXED);
    }
}

static inline void
ngx_http_webcall_add(ngx_http_webcall_zone_t *zone, uint64_t *counter,
    uint64_t n = 1) noexcept
{
    (void) zone;
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void
ngx_http_webcall_count_error(ngx_http_webcall_zone_t *zone, unsigned code)
    noexcept
{
    if (zone->sh != NULL && code < NGX_HTTP_WEBCALL_NERRORS) {
        __atomic_fetch_add(&zone->sh->stats.errors[code], 1,
                           __ATOMIC_RELAXED);
    }
}

/* ngx_http_webcall_log.cpp */
ngx_int_t ngx_http_webcall_log_add_variables(ngx_conf_t *cf) noexcept;
ngx_int_t ngx_http_webcall_log_init(ngx_conf_t *cf) noexcept;

/* ngx_http_webcall_module.cpp */
/* A request header by name (case-insensitive), or NULL. */
ngx_table_elt_t *ngx_http_webcall_header(ngx_http_request_t *r,
    std::string_view name) noexcept;
/* Whether the request's Origin (if any) is this site as reached
 * (scheme and host) or one of webcall_allowed_origins. */
ngx_uint_t ngx_http_webcall_origin_allowed(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf) noexcept;

/* ngx_http_webcall_turn.cpp */
ngx_uint_t ngx_http_webcall_turn_urls_eval(ngx_http_request_t *r,
    std::string_view *urls, ngx_uint_t cap) noexcept;

/* ngx_http_webcall_ipc.cpp */
ngx_int_t ngx_http_webcall_ipc_init_process(ngx_cycle_t *cycle) noexcept;
void ngx_http_webcall_ipc_exit_process(ngx_cycle_t *cycle) noexcept;
ngx_int_t ngx_http_webcall_deliver(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_target_t *to, const u_char *frame, size_t len,
    uint16_t close_code, ngx_log_t *log) noexcept;
/* what the tick calls for each seat whose grace ran out (signal.cpp's) */
typedef void (*ngx_http_webcall_gone_pt)(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_change_t *ch, ngx_log_t *log) noexcept;
void ngx_http_webcall_ipc_set_gone_hook(ngx_http_webcall_gone_pt hook)
    noexcept;

/* ngx_http_webcall_api.cpp */
ngx_int_t ngx_http_webcall_api_handler(ngx_http_request_t *r) noexcept;

/* ngx_http_webcall_signal.cpp */
/* (its WebSocket transport is ngx_http_webcall_ws.h) */
ngx_int_t ngx_http_webcall_signal_handler(ngx_http_request_t *r) noexcept;
void ngx_http_webcall_signal_init(void) noexcept;
/* the peer id of the request's signaling session, once it has joined */
ngx_int_t ngx_http_webcall_session_peer(ngx_http_request_t *r, ngx_str_t *id)
    noexcept;
