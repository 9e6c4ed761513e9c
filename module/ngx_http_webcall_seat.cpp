/*
 * webcall: seats in a room. A seat is LIVE while its WebSocket is open,
 * GRACE for a short while after it dropped without "bye" (so a reload or a
 * network change takes it back with the resume secret, unnoticed by the
 * others), FREE otherwise. All functions run under the zone's lock and only
 * read and write the zone; telling the others happens after, by the caller.
 */

#include "ngx_http_webcall_module.h"

#include <cstring>
#include <openssl/crypto.h>


static ngx_http_webcall_room_t *ngx_http_webcall_seat_room(
    ngx_http_webcall_seat_t *seat) noexcept;
static void ngx_http_webcall_seat_others(ngx_http_webcall_room_t *room,
    ngx_uint_t self, ngx_http_webcall_change_t *ch) noexcept;
static void ngx_http_webcall_seat_last(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_http_webcall_change_t *ch) noexcept;
static void ngx_http_webcall_seat_free(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_http_webcall_seat_t *seat,
    ngx_http_webcall_change_t *ch) noexcept;
static ngx_http_webcall_seat_t *ngx_http_webcall_seat_claim(
    ngx_http_webcall_room_t *room, const u_char *resume,
    ngx_http_webcall_change_t *ch) noexcept;


int64_t
ngx_http_webcall_now_ms(void) noexcept
{
    ngx_time_t  *tp;

    /* wall clock: seat deadlines are compared by every worker */
    tp = ngx_timeofday();
    return (int64_t) tp->sec * 1000 + tp->msec;
}


static ngx_http_webcall_room_t *
ngx_http_webcall_seat_room(ngx_http_webcall_seat_t *seat) noexcept
{
    return (ngx_http_webcall_room_t *)
               ((u_char *) (seat - seat->index)
                - offsetof(ngx_http_webcall_room_t, seats));
}


/* Everybody else in the room: their ids for "peers", and where the live
 * ones are for telling them. */
static void
ngx_http_webcall_seat_others(ngx_http_webcall_room_t *room, ngx_uint_t self,
    ngx_http_webcall_change_t *ch) noexcept
{
    ngx_http_webcall_seat_t  *s;
    ngx_uint_t                i;

    ch->npeers = 0;
    ch->ntell = 0;

    for (i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
        s = &room->seats[i];

        if (i == self || s->state == NGX_HTTP_WEBCALL_SEAT_FREE) {
            continue;
        }

        ngx_memcpy(ch->peers[ch->npeers++], s->id, NGX_HTTP_WEBCALL_PEER_ID);

        if (s->state == NGX_HTTP_WEBCALL_SEAT_LIVE) {
            ch->tell[ch->ntell].session = s->session;
            ch->tell[ch->ntell].pid = s->pid;
            ch->tell[ch->ntell].worker = s->worker;
            ch->ntell++;
        }
    }
}


static void
ngx_http_webcall_seat_free(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_http_webcall_seat_t *seat,
    ngx_http_webcall_change_t *ch) noexcept
{
    if (seat->state == NGX_HTTP_WEBCALL_SEAT_GRACE) {
        ngx_queue_remove(&seat->grace_link);
        ngx_queue_init(&seat->grace_link);
    }

    seat->state = NGX_HTTP_WEBCALL_SEAT_FREE;
    seat->beacons = 0;
    room->participants--;

    ch->rc = NGX_OK;
    ch->seat = seat->index;
    ngx_memcpy(ch->id, seat->id, NGX_HTTP_WEBCALL_PEER_ID);
    ngx_http_webcall_seat_others(room, seat->index, ch);

    if (room->participants == 0 && room->one_time && room->had_call) {
        ngx_http_webcall_seat_last(zone, room, ch);
        return;
    }

    ngx_http_webcall_room_requeue(zone, room, ngx_time());
}


/* The last one left a one-time room after its call: the link stops
 * admitting anybody, as if its host had ended it. The end is in memory at
 * once, under the lock, so nobody gets in after; the caller writes it to
 * the ended-rooms file after the lock (ngx_http_webcall_ended_after). */
static void
ngx_http_webcall_seat_last(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_http_webcall_change_t *ch) noexcept
{
    webcall::ended_rooms::entry  &e = ch->ended_entry;

    std::memcpy(e.id, room->id, sizeof(e.id));
    e.why = webcall::ended_rooms::reason::one_time;
    e.until = ngx_max(room->valid_until,
                      webcall::room_policy::valid_until_without_record(
                          zone->limits, room->issued));

    if (ngx_http_webcall_ended_add_locked(zone, e) != NGX_OK) {
        /* no space to remember it: the link keeps working, as before */
        ngx_http_webcall_room_requeue(zone, room, ngx_time());
        return;
    }

    ch->ended = 1;
    ngx_http_webcall_room_drop(zone, room);
}


/* The seat a join takes: its own again when the resume secret matches one,
 * else a free one if the room has space. */
static ngx_http_webcall_seat_t *
ngx_http_webcall_seat_claim(ngx_http_webcall_room_t *room,
    const u_char *resume, ngx_http_webcall_change_t *ch) noexcept
{
    ngx_http_webcall_seat_t  *s, *free_seat;
    ngx_uint_t                i;

    free_seat = NULL;

    for (i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
        s = &room->seats[i];

        if (s->state == NGX_HTTP_WEBCALL_SEAT_FREE) {
            if (free_seat == NULL && i < room->max_participants) {
                free_seat = s;
            }
            continue;
        }

        if (resume != NULL
            && CRYPTO_memcmp(s->resume, resume, NGX_HTTP_WEBCALL_RESUME) == 0)
        {
            ch->resumed = 1;
            return s;
        }
    }

    if (free_seat == NULL || room->participants >= room->max_participants
        || ch->resume_only)
    {
        return NULL;
    }

    /* the caller put fresh random id and secret into ch */
    ngx_memcpy(free_seat->id, ch->id, NGX_HTTP_WEBCALL_PEER_ID);
    ngx_memcpy(free_seat->resume, ch->resume, NGX_HTTP_WEBCALL_RESUME);
    room->participants++;
    room->entered = 1;

    if (room->participants >= 2) {
        room->had_call = 1;
    }

    return free_seat;
}


/* ch->id and ch->resume arrive holding fresh random values for a new seat;
 * they leave holding the seat's. rc: NGX_OK, NGX_DECLINED (no such room),
 * NGX_BUSY (room full), NGX_AGAIN (resume_only, and no seat of its own),
 * NGX_ERROR (no space in the zone). */
void
ngx_http_webcall_seat_join(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, const u_char *resume,
    const ngx_http_webcall_target_t *me, uint32_t grace_ms,
    ngx_http_webcall_change_t *ch) noexcept
{
    ngx_http_webcall_room_t  *room;
    ngx_http_webcall_seat_t  *seat;
    time_t                    now;

    now = ngx_time();

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ngx_http_webcall_ended_locked(zone, token->id, now)) {
        ch->rc = NGX_ABORT;
        goto done;
    }

    room = ngx_http_webcall_room_find(zone, token, now);
    if (room == NULL) {
        ch->rc = (now >= webcall::room_policy::valid_until_without_record(
                             zone->limits, token->issued))
                 ? NGX_DECLINED : NGX_ERROR;
        goto done;
    }

    ch->max_participants = room->max_participants;

    seat = ngx_http_webcall_seat_claim(room, resume, ch);
    if (seat == NULL) {
        ch->rc = ch->resume_only ? NGX_AGAIN : NGX_BUSY;
        goto done;
    }

    if (seat->state == NGX_HTTP_WEBCALL_SEAT_LIVE && ch->resumed) {
        /* the stale connection of a reloaded page is still open */
        ch->replaced = 1;
        ch->old.session = seat->session;
        ch->old.pid = seat->pid;
        ch->old.worker = seat->worker;

    } else if (seat->state == NGX_HTTP_WEBCALL_SEAT_GRACE) {
        ngx_queue_remove(&seat->grace_link);
        ngx_queue_init(&seat->grace_link);
    }

    /* a resume hands out a new secret: one that leaked (a shared screen,
     * a copied log) takes the seat over at most once, not for its life */
    if (ch->resumed) {
        ngx_memcpy(seat->resume, ch->resume, NGX_HTTP_WEBCALL_RESUME);
    }

    seat->state = NGX_HTTP_WEBCALL_SEAT_LIVE;
    seat->session = me->session;
    seat->pid = me->pid;
    seat->worker = me->worker;
    seat->grace_ms = grace_ms;

    ch->rc = NGX_OK;
    ch->seat = seat->index;
    ngx_memcpy(ch->id, seat->id, NGX_HTTP_WEBCALL_PEER_ID);
    ngx_memcpy(ch->resume, seat->resume, NGX_HTTP_WEBCALL_RESUME);
    ngx_http_webcall_seat_others(room, seat->index, ch);

    ngx_http_webcall_room_requeue(zone, room, now);

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* The connection of a seat ended: at once after "bye" (now), else the seat
 * waits out its grace period. Nothing happens if the seat was taken over by
 * a newer connection meanwhile. ch->rc is NGX_OK when the seat was freed. */
void
ngx_http_webcall_seat_leave(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t seat_index,
    uint64_t session, ngx_uint_t now, ngx_http_webcall_change_t *ch)
    noexcept
{
    ngx_http_webcall_room_t  *room;
    ngx_http_webcall_seat_t  *seat;

    ch->rc = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_find(zone, token, ngx_time());
    if (room == NULL) {
        goto done;
    }

    seat = &room->seats[seat_index];

    if (seat->state != NGX_HTTP_WEBCALL_SEAT_LIVE
        || seat->session != session || seat->pid != ngx_pid)
    {
        goto done;
    }

    if (now) {
        ngx_http_webcall_seat_free(zone, room, seat, ch);
        goto done;
    }

    seat->state = NGX_HTTP_WEBCALL_SEAT_GRACE;
    seat->grace_until = ngx_http_webcall_now_ms() + seat->grace_ms;
    ngx_queue_insert_tail(&zone->sh->grace, &seat->grace_link);

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_webcall_ended_after(zone, ch);
}


/* Where the live participant "to" of the room is; NGX_DECLINED if nobody by
 * that id is connected. */
ngx_int_t
ngx_http_webcall_seat_target(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, std::string_view to,
    ngx_http_webcall_target_t *target) noexcept
{
    ngx_http_webcall_room_t  *room;
    ngx_http_webcall_seat_t  *s;
    ngx_int_t                 rc;
    ngx_uint_t                i;

    rc = NGX_DECLINED;

    if (to.size() != NGX_HTTP_WEBCALL_PEER_ID) {
        return rc;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_find(zone, token, ngx_time());

    for (i = 0; room != NULL && i < NGX_HTTP_WEBCALL_SEATS; i++) {
        s = &room->seats[i];

        if (s->state == NGX_HTTP_WEBCALL_SEAT_LIVE
            && ngx_memcmp(s->id, to.data(), NGX_HTTP_WEBCALL_PEER_ID) == 0)
        {
            target->session = s->session;
            target->pid = s->pid;
            target->worker = s->worker;
            rc = NGX_OK;
            break;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* Frees up to n seats whose grace period is over; fills changes[] with who
 * to tell. The queue is in deadline order (one grace length per zone in
 * practice), so the first live head ends the search. */
ngx_uint_t
ngx_http_webcall_seat_expire(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_change_t *changes, ngx_uint_t n) noexcept
{
    ngx_http_webcall_seat_t  *seat;
    ngx_queue_t              *q;
    ngx_uint_t                done;
    int64_t                   now;

    now = ngx_http_webcall_now_ms();
    done = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    while (done < n && !ngx_queue_empty(&zone->sh->grace)) {
        q = ngx_queue_head(&zone->sh->grace);
        seat = ngx_queue_data(q, ngx_http_webcall_seat_t, grace_link);

        if (seat->grace_until > now) {
            break;
        }

        ngx_memzero(&changes[done], sizeof(ngx_http_webcall_change_t));
        ngx_http_webcall_seat_free(zone, ngx_http_webcall_seat_room(seat),
                                   seat, &changes[done]);
        ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_GRACE_EXPIRED);
        done++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    for (ngx_uint_t i = 0; i < done; i++) {
        ngx_http_webcall_ended_after(zone, &changes[i]);
    }

    return done;
}


/* A worker died without closing its connections: its live seats wait out
 * their grace period like any dropped connection. Called with the lock
 * held; walks every room, which is fine for an event this rare. */
void
ngx_http_webcall_seat_orphan(ngx_http_webcall_zone_t *zone, ngx_pid_t pid)
    noexcept
{
    ngx_http_webcall_room_t  *room;
    ngx_http_webcall_seat_t  *s;
    ngx_rbtree_node_t        *node;
    ngx_rbtree_t             *tree;
    ngx_uint_t                i;
    int64_t                   now;

    tree = &zone->sh->rbtree;
    now = ngx_http_webcall_now_ms();

    if (tree->root == tree->sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(tree->root, tree->sentinel);
         node != NULL;
         node = ngx_rbtree_next(tree, node))
    {
        room = (ngx_http_webcall_room_t *) &node->color;

        for (i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
            s = &room->seats[i];

            if (s->state == NGX_HTTP_WEBCALL_SEAT_LIVE && s->pid == pid) {
                s->state = NGX_HTTP_WEBCALL_SEAT_GRACE;
                s->grace_until = now + s->grace_ms;
                ngx_queue_insert_tail(&zone->sh->grace, &s->grace_link);
            }
        }
    }
}


/* Whether the seat of this session may send one more beacon: a few per
 * call, counted in the seat so that reconnecting does not reset them. */
ngx_int_t
ngx_http_webcall_seat_beacon(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t seat, uint64_t session)
    noexcept
{
    ngx_http_webcall_room_t  *room;
    ngx_http_webcall_seat_t  *s;
    ngx_int_t                 rc;

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_find(zone, token, ngx_time());

    if (room != NULL && seat < NGX_HTTP_WEBCALL_SEATS) {
        s = &room->seats[seat];

        if (s->state == NGX_HTTP_WEBCALL_SEAT_LIVE && s->session == session
            && s->pid == ngx_pid && s->beacons < NGX_HTTP_WEBCALL_BEACONS)
        {
            s->beacons++;
            rc = NGX_OK;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}
