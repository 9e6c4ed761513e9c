/*
 * webcall: seats in a room, the adapter between the zone and the seat state
 * machine (module/core/seats.*), which decides every move: a join, a leave
 * with or without "bye", the end of grace, a dead worker's seats. Here is
 * what shared memory adds: the lock, finding the room, the grace queue
 * (by deadline, so one look at its head finds what is due), the room's
 * lifetime and a one-time room's end. Nothing is told under the lock; the
 * caller does that from the change.
 */

#include "ngx_http_webcall_module.h"

#include <cstring>


namespace seats = webcall::seats;


static ngx_http_webcall_room_t *ngx_http_webcall_seat_room(
    ngx_http_webcall_grace_t *grace) noexcept;
static void ngx_http_webcall_seat_others(ngx_http_webcall_room_t *room,
    ngx_uint_t self, ngx_http_webcall_change_t *ch) noexcept;
static void ngx_http_webcall_seat_freed(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_uint_t i,
    ngx_http_webcall_change_t *ch) noexcept;
static void ngx_http_webcall_seat_last(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_http_webcall_change_t *ch) noexcept;
static void ngx_http_webcall_seat_token(const ngx_http_webcall_room_t *room,
    webcall::room_token::room *token) noexcept;
static void ngx_http_webcall_seat_grace(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_uint_t i) noexcept;
static void ngx_http_webcall_seat_ungrace(ngx_http_webcall_room_t *room,
    ngx_uint_t i) noexcept;
static seats::owner ngx_http_webcall_seat_owner(
    const ngx_http_webcall_target_t *t) noexcept;
static void ngx_http_webcall_seat_target_of(const seats::owner &o,
    ngx_http_webcall_target_t *t) noexcept;


int64_t
ngx_http_webcall_now_ms(void) noexcept
{
    ngx_time_t  *tp;

    /* wall clock: seat deadlines are compared by every worker */
    tp = ngx_timeofday();
    return (int64_t) tp->sec * 1000 + tp->msec;
}


static ngx_http_webcall_room_t *
ngx_http_webcall_seat_room(ngx_http_webcall_grace_t *grace) noexcept
{
    return (ngx_http_webcall_room_t *)
               ((u_char *) (grace - grace->index)
                - offsetof(ngx_http_webcall_room_t, grace));
}


static seats::owner
ngx_http_webcall_seat_owner(const ngx_http_webcall_target_t *t) noexcept
{
    seats::owner  o;

    o.session = t->session;
    o.pid = (int32_t) t->pid;
    o.worker = t->worker;

    return o;
}


static void
ngx_http_webcall_seat_target_of(const seats::owner &o,
    ngx_http_webcall_target_t *t) noexcept
{
    t->session = o.session;
    t->pid = (ngx_pid_t) o.pid;
    t->worker = o.worker;
}


/* Everybody else in the room: their ids for "peers", and where the live
 * ones are for telling them. */
static void
ngx_http_webcall_seat_others(ngx_http_webcall_room_t *room, ngx_uint_t self,
    ngx_http_webcall_change_t *ch) noexcept
{
    seats::roster  r;
    ngx_uint_t     i;

    r = seats::others(room->table, self);

    ch->npeers = r.npeers;
    ngx_memcpy(ch->peers, r.peers, sizeof(r.peers));

    ch->ntell = r.ntell;
    for (i = 0; i < r.ntell; i++) {
        ngx_http_webcall_seat_target_of(r.tell[i], &ch->tell[i]);
    }
}


static void
ngx_http_webcall_seat_grace(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_uint_t i) noexcept
{
    ngx_queue_insert_tail(&zone->sh->grace, &room->grace[i].link);
}


static void
ngx_http_webcall_seat_ungrace(ngx_http_webcall_room_t *room, ngx_uint_t i)
    noexcept
{
    ngx_queue_remove(&room->grace[i].link);
    ngx_queue_init(&room->grace[i].link);
}


/* Seat i was freed (bye, or grace over): who to tell, and the room's
 * lifetime goes on from now, or it ends if it was a one-time room. */
static void
ngx_http_webcall_seat_freed(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_room_t *room, ngx_uint_t i,
    ngx_http_webcall_change_t *ch) noexcept
{
    ch->rc = NGX_OK;
    ch->seat = i;
    ngx_memcpy(ch->id, room->table.seats[i].id, NGX_HTTP_WEBCALL_PEER_ID);
    ngx_http_webcall_seat_others(room, i, ch);

    if (room->table.participants == 0 && room->one_time
        && room->table.had_call)
    {
        ngx_http_webcall_seat_last(zone, room, ch);
        return;
    }

    ngx_http_webcall_room_requeue(zone, room, ngx_time());
}


/* The room's token as it was verified when the record was made: what the
 * fleet's other nodes are sent when its one-time link ends. */
static void
ngx_http_webcall_seat_token(const ngx_http_webcall_room_t *room,
    webcall::room_token::room *token) noexcept
{
    std::memcpy(token->id, room->id, sizeof(token->id));
    token->max_participants = room->table.max_participants;
    token->issued = (uint32_t) room->issued;
    token->one_time = room->one_time;
    token->pin = room->has_pin;
    std::memcpy(token->pin_tag, room->pin_tag, sizeof(token->pin_tag));
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
    ngx_http_webcall_seat_token(room, &ch->ended_token);
    ngx_http_webcall_room_drop(zone, room);
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
    seats::join_request       req;
    seats::result             r;
    seats::seat              *seat;
    time_t                    now;

    ngx_memzero(&req, sizeof(req));
    req.conn = ngx_http_webcall_seat_owner(me);
    req.grace_ms = grace_ms;
    req.resume_only = ch->resume_only != 0;
    req.has_resume = resume != NULL;
    if (resume != NULL) {
        ngx_memcpy(req.resume, resume, NGX_HTTP_WEBCALL_RESUME);
    }
    ngx_memcpy(req.new_id, ch->id, NGX_HTTP_WEBCALL_PEER_ID);
    ngx_memcpy(req.new_resume, ch->resume, NGX_HTTP_WEBCALL_RESUME);
    req.has_ticket = ch->has_ticket != 0;
    req.ticket_seat = (uint8_t) ch->ticket_seat;
    req.ticket_serial = ch->ticket_serial;
    ngx_memcpy(req.ticket_id, ch->ticket_id, NGX_HTTP_WEBCALL_PEER_ID);

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

    ch->max_participants = room->table.max_participants;

    req.room_entered = room->entered != 0;
    r = seats::join(room->table, req);
    ch->ticket_held = r.ticket_held && !r.ticket_freed;

    switch (r.what) {
    case seats::verdict::seated:
        room->entered = 1;
        break;
    case seats::verdict::restored:
        room->entered = 1;
        ch->restored = 1;
        break;
    case seats::verdict::resumed:
        ch->resumed = 1;
        ngx_http_webcall_seat_ungrace(room, r.seat);
        break;
    case seats::verdict::replaced:
        ch->resumed = 1;
        ch->replaced = 1;
        ngx_http_webcall_seat_target_of(r.old, &ch->old);
        break;
    case seats::verdict::refused_resume_only:
        ch->rc = NGX_AGAIN;
        goto done;
    default:
        ch->rc = NGX_BUSY;
        goto done;
    }

    seat = &room->table.seats[r.seat];

    ch->rc = NGX_OK;
    ch->seat = r.seat;
    ngx_memcpy(ch->id, seat->id, NGX_HTTP_WEBCALL_PEER_ID);
    ngx_memcpy(ch->resume, seat->resume, NGX_HTTP_WEBCALL_RESUME);
    ch->serial = seat->serial;
    ch->moved = room->table.moved;
    ngx_http_webcall_seat_others(room, r.seat, ch);

    ngx_http_webcall_room_requeue(zone, room, now);

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* A browser that cannot make calls tells whoever is in the room and takes
 * no seat: where the live seats' connections are, into ch->tell. ch->rc is
 * NGX_ABORT for an ended room. */
void
ngx_http_webcall_seat_knock(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_http_webcall_change_t *ch)
    noexcept
{
    ngx_http_webcall_room_t  *room;

    ch->rc = NGX_OK;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ngx_http_webcall_ended_locked(zone, token->id, ngx_time())) {
        ch->rc = NGX_ABORT;

    } else {
        room = ngx_http_webcall_room_peek(zone, token);
        if (room != NULL) {
            ngx_http_webcall_seat_others(room, NGX_HTTP_WEBCALL_SEATS, ch);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* The connection of a seat ended: at once after "bye" (bye), else the seat
 * waits out its grace period. Nothing happens if the seat was taken over by
 * a newer connection meanwhile. ch->rc is NGX_OK when the seat was freed. */
void
ngx_http_webcall_seat_leave(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *token, ngx_uint_t seat_index,
    uint64_t session, ngx_uint_t bye, ngx_http_webcall_change_t *ch)
    noexcept
{
    ngx_http_webcall_room_t  *room;
    seats::owner              me;
    seats::result             r;

    ch->rc = NGX_DECLINED;

    me.session = session;
    me.pid = (int32_t) ngx_pid;
    me.worker = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_find(zone, token, ngx_time());
    if (room == NULL) {
        goto done;
    }

    r = seats::leave(room->table, seat_index, me, bye != 0,
                     ngx_http_webcall_now_ms());

    if (r.what == seats::verdict::freed) {
        ngx_http_webcall_seat_freed(zone, room, r.seat, ch);

    } else if (r.what == seats::verdict::grace_started) {
        ngx_http_webcall_seat_grace(zone, room, r.seat);
    }

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
    ngx_int_t                 rc;
    size_t                    i;

    rc = NGX_DECLINED;

    if (to.size() != NGX_HTTP_WEBCALL_PEER_ID) {
        return rc;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_find(zone, token, ngx_time());

    if (room != NULL) {
        i = seats::find_live(room->table, (const uint8_t *) to.data());

        if (i != seats::none) {
            ngx_http_webcall_seat_target_of(room->table.seats[i].conn,
                                            target);
            rc = NGX_OK;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* Frees up to n seats whose grace period is over; fills changes[] with who
 * to tell. The queue is in deadline order (one grace length per zone in
 * practice), so the first head not due ends the search. */
ngx_uint_t
ngx_http_webcall_seat_expire(ngx_http_webcall_zone_t *zone,
    ngx_http_webcall_change_t *changes, ngx_uint_t n) noexcept
{
    ngx_http_webcall_grace_t  *grace;
    ngx_http_webcall_room_t   *room;
    seats::result              r;
    ngx_queue_t               *q;
    ngx_uint_t                 done;
    int64_t                    now;

    now = ngx_http_webcall_now_ms();
    done = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    while (done < n && !ngx_queue_empty(&zone->sh->grace)) {
        q = ngx_queue_head(&zone->sh->grace);
        grace = ngx_queue_data(q, ngx_http_webcall_grace_t, link);
        room = ngx_http_webcall_seat_room(grace);

        r = seats::expire(room->table, grace->index, now);

        if (r.what == seats::verdict::not_due) {
            break;
        }

        ngx_http_webcall_seat_ungrace(room, grace->index);

        if (r.what != seats::verdict::grace_expired) {
            /* not in grace: nothing to free, it only left the queue */
            continue;
        }

        ngx_memzero(&changes[done], sizeof(ngx_http_webcall_change_t));
        ngx_http_webcall_seat_freed(zone, room, r.seat, &changes[done]);
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
    ngx_rbtree_node_t        *node;
    ngx_rbtree_t             *tree;
    ngx_uint_t                i;
    unsigned                  moved;
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
        moved = seats::orphan(room->table, (int32_t) pid, now);

        for (i = 0; i < NGX_HTTP_WEBCALL_SEATS; i++) {
            if (moved & (1u << i)) {
                ngx_http_webcall_seat_grace(zone, room, i);
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
    seats::owner              me;
    ngx_int_t                 rc;

    rc = NGX_DECLINED;

    me.session = session;
    me.pid = (int32_t) ngx_pid;
    me.worker = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    room = ngx_http_webcall_room_find(zone, token, ngx_time());

    if (room != NULL
        && seats::beacon(room->table, seat, me).what
           == seats::verdict::counted)
    {
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}
