/*
 * webcall: the room table in a shared memory zone. Modelled on nginx's
 * limit_req zone: an rbtree keyed by the room id, LRU queues whose tails
 * expire first, expiry on allocation. Every function here takes the zone's
 * only lock, shpool->mutex (the one the master unlocks if a worker dies
 * holding it), for a few dozen instructions and nothing else: no syscalls,
 * no logging, no allocation outside the slab while it is held.
 */

#include "ngx_http_webcall_module.h"

#include "base58.h"

#include <cstring>
#include <openssl/rand.h>


namespace policy = webcall::room_policy;


static void ngx_http_webcall_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel) noexcept;
static ngx_http_webcall_room_t *ngx_http_webcall_room_lookup(
    ngx_http_webcall_shctx_t *sh, const u_char *id) noexcept;
static ngx_http_webcall_room_t *ngx_http_webcall_room_alloc(
    ngx_http_webcall_zone_t *zone, const webcall::room_token::room *token,
    time_t now, ngx_uint_t evict) noexcept;
static void ngx_http_webcall_room_free(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room) noexcept;
static void ngx_http_webcall_expire(ngx_http_webcall_zone_t *zone,
    time_t now, ngx_uint_t n) noexcept;
static policy::record ngx_http_webcall_room_record(
    const ngx_http_webcall_room_t *room) noexcept;
static void ngx_http_webcall_room_store(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, const policy::record &rec) noexcept;
static void ngx_http_webcall_room_info(const ngx_http_webcall_room_t *room,
    ngx_http_webcall_room_info_t *info) noexcept;


static ngx_rbtree_node_t *
ngx_http_webcall_node(ngx_http_webcall_room_t *room) noexcept
{
    return (ngx_rbtree_node_t *)
               ((u_char *) room - offsetof(ngx_rbtree_node_t, color));
}


static ngx_http_webcall_room_t *
ngx_http_webcall_room(ngx_rbtree_node_t *node) noexcept
{
    return (ngx_http_webcall_room_t *) &node->color;
}


static ngx_rbtree_key_t
ngx_http_webcall_room_key(const u_char *id) noexcept
{
    return ngx_http_webcall_id_key(id);
}


/* The node id: 8 base58 characters from a 16-byte draw (the shape of a
 * peer id; only telling nodes apart depends on it). */
static ngx_int_t
ngx_http_webcall_node_id(u_char *id) noexcept
{
    u_char  r[16];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        return NGX_ERROR;
    }

    for (size_t i = 0; i < NGX_HTTP_WEBCALL_PEER_ID; i++) {
        id[i] = (u_char) webcall::base58::alphabet[r[i] % 58];
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_webcall_init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept
{
    ngx_http_webcall_zone_t   *octx = (ngx_http_webcall_zone_t *) data;
    ngx_http_webcall_zone_t   *ctx;
    ngx_http_webcall_shctx_t  *sh;
    size_t                     len;

    ctx = (ngx_http_webcall_zone_t *) shm_zone->data;

    if (octx != NULL) {
        /* a reload with the same name and size: the rooms live on */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;

        ngx_shmtx_lock(&ctx->shpool->mutex);
        ctx->sh->generation++;
        ngx_shmtx_unlock(&ctx->shpool->mutex);

        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = (ngx_http_webcall_shctx_t *) ctx->shpool->data;
        return NGX_OK;
    }

    sh = (ngx_http_webcall_shctx_t *)
             ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_webcall_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ctx->sh = sh;
    ctx->shpool->data = sh;

    if (ngx_http_webcall_node_id(sh->node) != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "webcall: the CSPRNG (RAND_bytes) failed to make the "
                      "node id of webcall_zone \"%V\"", &shm_zone->shm.name);
        return NGX_ERROR;
    }

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                    ngx_http_webcall_rbtree_insert_value);
    ngx_rbtree_init(&sh->ended, &sh->ended_sentinel,
                    ngx_http_webcall_ended_insert_value);
    ngx_queue_init(&sh->fresh);
    ngx_queue_init(&sh->used);
    ngx_queue_init(&sh->grace);
    ngx_queue_init(&sh->fleet_outbox);

    len = sizeof(" in webcall_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = (u_char *) ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in webcall_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is expected under load; we log it ourselves, once a
     * minute, instead of the slab allocator's line per failure */
    ctx->shpool->log_nomem = 0;

    /* an empty zone (a start, or a resize): the rooms ended before */
    return ngx_http_webcall_ended_load(ctx, shm_zone->shm.log);
}


/* The inbox zone of a webcall_zone: the worker slots and the frames
 * queued for them. Reused across reloads like the room zone. */
ngx_int_t
ngx_http_webcall_init_ipc_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept
{
    ngx_http_webcall_zone_t    *octx = (ngx_http_webcall_zone_t *) data;
    ngx_http_webcall_zone_t    *ctx;
    ngx_http_webcall_ipc_sh_t  *ipc;
    size_t                      len;

    ctx = (ngx_http_webcall_zone_t *) shm_zone->data;

    if (octx != NULL) {
        ctx->ipc = octx->ipc;
        ctx->ipc_pool = octx->ipc_pool;
        return NGX_OK;
    }

    ctx->ipc_pool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->ipc = (ngx_http_webcall_ipc_sh_t *) ctx->ipc_pool->data;
        return NGX_OK;
    }

    ipc = (ngx_http_webcall_ipc_sh_t *)
              ngx_slab_calloc(ctx->ipc_pool, sizeof(ngx_http_webcall_ipc_sh_t));
    if (ipc == NULL) {
        return NGX_ERROR;
    }

    for (ngx_uint_t i = 0; i < NGX_HTTP_WEBCALL_WORKERS; i++) {
        ngx_queue_init(&ipc->workers[i].inbox);
    }

    ctx->ipc = ipc;
    ctx->ipc_pool->data = ipc;

    /* a full inbox zone is expected under load and said once per frame
     * dropped by the sender, as a warning; no "ngx_slab_alloc() failed" */
    ctx->ipc_pool->log_nomem = 0;

    len = sizeof(" in webcall_zone \"\" inbox") + shm_zone->shm.name.len;

    ctx->ipc_pool->log_ctx = (u_char *) ngx_slab_alloc(ctx->ipc_pool, len);
    if (ctx->ipc_pool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->ipc_pool->log_ctx, " in webcall_zone \"%V\" inbox%Z",
                &ctx->name);

    return NGX_OK;
}


static void
ngx_http_webcall_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel) noexcept
{
    ngx_http_webcall_id_insert(temp, node, sentinel,
                               offsetof(ngx_http_webcall_room_t, id));
}


static ngx_http_webcall_room_t *
ngx_http_webcall_room_lookup(ngx_http_webcall_shctx_t *sh, const u_char *id)
    noexcept
{
    ngx_rbtree_node_t  *node;

    node = ngx_http_webcall_id_lookup(&sh->rbtree, id,
                                      offsetof(ngx_http_webcall_room_t, id));

    return node != NULL ? ngx_http_webcall_room(node) : NULL;
}


/* The room's record if there is one; nothing is taken in. Called with
 * the lock held. */
ngx_http_webcall_room_t *
ngx_http_webcall_room_peek(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token) noexcept
{
    return ngx_http_webcall_room_lookup(zone->sh, token->id);
}


static policy::record
ngx_http_webcall_room_record(const ngx_http_webcall_room_t *room) noexcept
{
    policy::record  rec{};

    rec.created = room->created;
    rec.last_visit = room->last_visit;
    rec.valid_until = room->valid_until;
    rec.participants = room->table.participants;
    rec.entered = room->entered != 0;

    return rec;
}


/* Writes rec back and moves the room to the head of the queue its state
 * belongs to (or out of both while somebody is in it). */
static void
ngx_http_webcall_room_store(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, const policy::record &rec) noexcept
{
    room->last_visit = rec.last_visit;
    room->valid_until = rec.valid_until;
    room->entered = rec.entered;   /* participants: the seats' own */

    ngx_queue_remove(&room->queue);

    switch (policy::queue_of(rec)) {
    case policy::queue::fresh:
        ngx_queue_insert_head(&zone->sh->fresh, &room->queue);
        break;
    case policy::queue::used:
        ngx_queue_insert_head(&zone->sh->used, &room->queue);
        break;
    case policy::queue::none:
        ngx_queue_init(&room->queue);
        break;
    }
}


/* The zone is full and a genuine link wants in: the oldest idle record
 * makes way. A room nobody entered goes first, then the longest unvisited
 * one; either comes back from its token on its next visit (only a link kept
 * alive past its first ttl by visits loses those). Rooms with someone in
 * them or in grace are in neither queue, so a call is never touched. */
static ngx_uint_t
ngx_http_webcall_evict_idle(ngx_http_webcall_zone_t *zone) noexcept
{
    ngx_queue_t  *queues[2];

    queues[0] = &zone->sh->fresh;
    queues[1] = &zone->sh->used;

    for (ngx_uint_t i = 0; i < 2; i++) {
        if (!ngx_queue_empty(queues[i])) {
            ngx_http_webcall_room_free(zone, ngx_queue_data(
                ngx_queue_last(queues[i]), ngx_http_webcall_room_t, queue));
            ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_EVICTED);
            return 1;
        }
    }

    return 0;
}


/* evict: a genuine link asks (a join, a visit), which may push out an idle
 * record; a new room (evict 0) may not, or one client creating rooms could
 * push out everybody's. */
static ngx_http_webcall_room_t *
ngx_http_webcall_room_alloc(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, time_t now, ngx_uint_t evict)
    noexcept
{
    ngx_http_webcall_room_t  *room;
    ngx_rbtree_node_t        *node;
    policy::record            rec;
    size_t                    size;

    size = offsetof(ngx_rbtree_node_t, color)
           + sizeof(ngx_http_webcall_room_t);

    /* like limit_req: make a little room first, then all we can */
    ngx_http_webcall_expire(zone, now, 2);

    node = (ngx_rbtree_node_t *) ngx_slab_calloc_locked(zone->shpool, size);
    if (node == NULL) {
        ngx_http_webcall_expire(zone, now, 16);
        node = (ngx_rbtree_node_t *) ngx_slab_calloc_locked(zone->shpool,
                                                            size);
    }

    while (node == NULL && evict && ngx_http_webcall_evict_idle(zone)) {
        node = (ngx_rbtree_node_t *) ngx_slab_calloc_locked(zone->shpool,
                                                            size);
    }

    if (node == NULL) {
        ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_REFUSED);
        return NULL;
    }

    room = ngx_http_webcall_room(node);
    node->key = ngx_http_webcall_room_key(token->id);
    std::memcpy(room->id, token->id, sizeof(room->id));
    room->issued = token->issued;
    room->table = webcall::seats::make(token->max_participants);
    room->one_time = token->one_time;
    room->has_pin = token->pin;
    std::memcpy(room->pin_tag, token->pin_tag, sizeof(room->pin_tag));

    rec = policy::create(zone->limits, token->issued, now);
    room->created = rec.created;

    for (ngx_uint_t i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
        room->grace[i].index = (u_char) i;
        ngx_queue_init(&room->grace[i].link);
    }

    ngx_rbtree_insert(&zone->sh->rbtree, node);
    ngx_queue_init(&room->queue);
    ngx_http_webcall_room_store(zone, room, rec);

    zone->sh->rooms++;

    return room;
}


static void
ngx_http_webcall_room_free(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room) noexcept
{
    ngx_queue_remove(&room->queue);
    ngx_rbtree_delete(&zone->sh->rbtree, ngx_http_webcall_node(room));
    ngx_slab_free_locked(zone->shpool, ngx_http_webcall_node(room));

    zone->sh->rooms--;
}


/* A room record goes for good (a one-time room after its call). Called
 * with the lock held. */
void
ngx_http_webcall_room_drop(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room) noexcept
{
    ngx_http_webcall_room_free(zone, room);
}


/* Frees up to n rooms whose time is up from the tail of each queue. Each
 * queue is ordered by last visit and holds rooms of one lifetime, so the
 * first live tail ends the search. */
static void
ngx_http_webcall_expire(ngx_http_webcall_zone_t *zone, time_t now,
    ngx_uint_t n) noexcept
{
    ngx_queue_t              *queues[2], *q;
    ngx_http_webcall_room_t  *room;
    ngx_uint_t                i, freed;

    queues[0] = &zone->sh->fresh;
    queues[1] = &zone->sh->used;

    for (i = 0; i < 2; i++) {
        for (freed = 0; freed < n && !ngx_queue_empty(queues[i]); freed++) {
            q = ngx_queue_last(queues[i]);
            room = ngx_queue_data(q, ngx_http_webcall_room_t, queue);

            if (now < policy::reclaim_at(zone->limits,
                                         ngx_http_webcall_room_record(room)))
            {
                break;
            }

            ngx_http_webcall_room_free(zone, room);
            ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_EXPIRED);
        }
    }
}


static void
ngx_http_webcall_room_info(const ngx_http_webcall_room_t *room,
    ngx_http_webcall_room_info_t *info) noexcept
{
    info->expires_at = room->valid_until;
    info->participants = room->table.participants;
    info->max_participants = room->table.max_participants;
}


/* The room of a genuine token, taken in again if the zone does not hold
 * it. NULL with *rc NGX_DECLINED when its link expired, NGX_BUSY when there
 * is no space for it. Called with the lock held. */
ngx_http_webcall_room_t *
ngx_http_webcall_room_find(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, time_t now) noexcept
{
    ngx_http_webcall_room_t  *room;

    if (ngx_http_webcall_ended_locked(zone, token->id, now)) {
        return NULL;
    }

    room = ngx_http_webcall_room_lookup(zone->sh, token->id);

    if (room != NULL) {
        if (policy::link_valid(ngx_http_webcall_room_record(room), now)) {
            return room;
        }

        ngx_http_webcall_room_free(zone, room);
        ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_EXPIRED);
        return NULL;
    }

    if (now >= policy::valid_until_without_record(zone->limits,
                                                  token->issued))
    {
        return NULL;
    }

    return ngx_http_webcall_room_alloc(zone, token, now, 1);
}


/* A visit after the seats changed: extends the link and moves the room to
 * the queue its occupancy belongs to. Called with the lock held. */
void
ngx_http_webcall_room_requeue(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, time_t now) noexcept
{
    policy::record  rec;

    rec = ngx_http_webcall_room_record(room);
    policy::visit(zone->limits, rec, now);
    ngx_http_webcall_room_store(zone, room, rec);
}


/* A new room from a freshly minted token: NGX_BUSY when the zone is full of
 * live rooms. */
ngx_int_t
ngx_http_webcall_room_create(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_log_t *log,
    ngx_http_webcall_room_info_t *info) noexcept
{
    ngx_http_webcall_room_t  *room;
    time_t                    now;
    ngx_uint_t                log_full;

    now = ngx_time();
    log_full = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_alloc(zone, token, now, 0);
    if (room != NULL) {
        ngx_http_webcall_room_info(room, info);

    } else if (now - zone->sh->full_logged >= 60) {
        /* one line a minute for the whole zone, whatever the load */
        zone->sh->full_logged = now;
        log_full = zone->sh->rooms;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (log_full) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "webcall zone \"%V\" is full with %ui live rooms: new "
                      "rooms are refused with 503 until some expire; make "
                      "it larger in \"webcall_zone\"",
                      &zone->name, log_full);
    }

    return room != NULL ? NGX_OK : NGX_BUSY;
}


/* A visit to an existing room by a genuine token: NGX_DECLINED when its
 * link has expired, NGX_ABORT when its host ended it. A room the zone does
 * not hold (wiped by a restart, reclaimed while empty, created on another
 * node) is taken in again; if there is no space for its record, the answer
 * comes from the token alone. */
ngx_int_t
ngx_http_webcall_room_visit(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token,
    ngx_http_webcall_room_info_t *info) noexcept
{
    ngx_http_webcall_room_t  *room;
    policy::record            rec;
    time_t                    now;
    ngx_int_t                 rc;

    now = ngx_time();
    rc = NGX_OK;

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_lookup(zone->sh, token->id);

    if (ngx_http_webcall_ended_locked(zone, token->id, now)) {
        rc = NGX_ABORT;

    } else if (room != NULL) {
        rec = ngx_http_webcall_room_record(room);

        if (!policy::link_valid(rec, now)) {
            ngx_http_webcall_room_free(zone, room);
            ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_EXPIRED);
            rc = NGX_DECLINED;

        } else {
            policy::visit(zone->limits, rec, now);
            ngx_http_webcall_room_store(zone, room, rec);
            ngx_http_webcall_room_info(room, info);
        }

    } else if (now >= policy::valid_until_without_record(zone->limits,
                                                         token->issued))
    {
        rc = NGX_DECLINED;

    } else {
        room = ngx_http_webcall_room_alloc(zone, token, now, 1);

        if (room != NULL) {
            ngx_http_webcall_room_info(room, info);

        } else {
            info->expires_at = policy::valid_until_without_record(
                                   zone->limits, token->issued);
            info->participants = 0;
            info->max_participants = token->max_participants;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* A PIN try, counted in the room's record (taken in again if the zone
 * does not hold it, as a visit would). While the room is locked the try is
 * refused unchecked. A wrong PIN marks the record entered, so it is kept
 * for the link's lifetime like a used room's and its count is not dropped
 * with an unentered room's short-lived record. */
ngx_int_t
ngx_http_webcall_room_pin_try(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t right,
    webcall::pin_throttle::answer *answer) noexcept
{
    ngx_http_webcall_room_t  *room;
    time_t                    now;
    ngx_int_t                 rc;

    now = ngx_time();

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ngx_http_webcall_ended_locked(zone, token->id, now)) {
        rc = NGX_ABORT;
        goto done;
    }

    room = ngx_http_webcall_room_find(zone, token, now);
    if (room == NULL) {
        rc = (now >= policy::valid_until_without_record(zone->limits,
                                                        token->issued))
             ? NGX_DONE : NGX_ERROR;
        goto done;
    }

    *answer = webcall::pin_throttle::check(zone->pin, room->pin, now);

    if (answer->locked) {
        rc = NGX_BUSY;

    } else if (right) {
        rc = NGX_OK;

    } else {
        *answer = webcall::pin_throttle::wrong(zone->pin, room->pin, now);
        room->entered = 1;
        rc = NGX_DECLINED;
    }

    ngx_http_webcall_room_requeue(zone, room, now);

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* For /api/health: whether a new room would find space now, after what is
 * due to expire has gone (as a creation would do). */
ngx_uint_t
ngx_http_webcall_zone_full(ngx_http_webcall_zone_t *zone) noexcept
{
    void    *p;
    size_t   size;

    size = offsetof(ngx_rbtree_node_t, color) + sizeof(ngx_http_webcall_room_t);

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_webcall_expire(zone, ngx_time(), 16);

    p = ngx_slab_alloc_locked(zone->shpool, size);
    if (p != NULL) {
        ngx_slab_free_locked(zone->shpool, p);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return p == NULL;
}


/* Ends a room for good: remembered as ended until its link would have
 * expired (*until), its record gone, and targets[] (NGX_HTTP_WEBCALL_SEATS)
 * filled with every connection still in it, to be closed. NGX_DONE when it
 * had ended already, NGX_DECLINED when its link had expired, NGX_ERROR
 * when the zone has no space to remember it. dry_run only says which (the
 * caller records the end on disk before it happens). */
ngx_int_t
ngx_http_webcall_room_end(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, webcall::ended_rooms::reason why,
    ngx_uint_t dry_run, int64_t *until, ngx_http_webcall_target_t *targets,
    ngx_uint_t *ntargets) noexcept
{
    ngx_http_webcall_room_t   *room;
    webcall::seats::seat      *seat;
    webcall::ended_rooms::entry e;
    ngx_uint_t                 i;
    ngx_int_t                  rc;
    time_t                     now;

    now = ngx_time();
    *ntargets = 0;

    e.until = policy::valid_until_without_record(zone->limits,
                                                 token->issued);
    e.why = why;
    std::memcpy(e.id, token->id, sizeof(e.id));

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ngx_http_webcall_ended_locked(zone, token->id, now)) {
        rc = NGX_DONE;
        goto done;
    }

    room = ngx_http_webcall_room_lookup(zone->sh, token->id);

    if (room != NULL
        && policy::link_valid(ngx_http_webcall_room_record(room), now))
    {
        /* visits may have kept it alive past its first ttl */
        e.until = ngx_max(e.until, room->valid_until);

    } else if (now >= e.until) {
        rc = NGX_DECLINED;
        goto done;
    }

    if (dry_run) {
        rc = NGX_OK;
        goto done;
    }

    rc = ngx_http_webcall_ended_add_locked(zone, e);
    if (rc != NGX_OK || room == NULL) {
        goto done;
    }

    for (i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
        seat = &room->table.seats[i];

        if (seat->st == webcall::seats::state::grace) {
            /* its connection is gone already; the record goes below */
            ngx_queue_remove(&room->grace[i].link);
            continue;
        }

        if (seat->st != webcall::seats::state::live) {
            continue;
        }

        targets[*ntargets].session = seat->conn.session;
        targets[*ntargets].pid = seat->conn.pid;
        targets[*ntargets].worker = seat->conn.worker;
        (*ntargets)++;
    }

    ngx_http_webcall_room_free(zone, room);

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    *until = e.until;

    return rc;
}
