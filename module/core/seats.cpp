// The seat state machine; see seats.h for the model.
#include "seats.h"

#include <cstdint>
#include <cstring>
#include <openssl/crypto.h>

namespace webcall::seats {

namespace {

result
answer(verdict what, size_t i, const table &t) noexcept
{
    result r{};

    r.what = what;
    r.seat = static_cast<uint8_t>(i);
    r.participants = t.participants;
    return r;
}

void
free_seat(table &t, seat &s) noexcept
{
    s.st = state::free;
    s.beacons = 0;
    t.participants--;
}

/* The held seat whose secret this is, or none. Constant time per seat: the
 * secret is what proves a seat is one's own. */
size_t
find_own(const table &t, const uint8_t *resume) noexcept
{
    for (size_t i = 0; i < max_seats; i++) {
        const seat &s = t.seats[i];

        if (s.st != state::free
            && CRYPTO_memcmp(s.resume, resume, secret_len) == 0)
        {
            return i;
        }
    }

    return none;
}

/* The first free seat within the room's size, or none. */
size_t
find_free(const table &t) noexcept
{
    for (size_t i = 0; i < max_seats && i < t.max_participants; i++) {
        if (t.seats[i].st == state::free) {
            return i;
        }
    }

    return none;
}

void
sit(seat &s, const join_request &r) noexcept
{
    s.st = state::live;
    s.conn = r.conn;
    s.grace_ms = r.grace_ms;
}

result
take_back(table &t, size_t i, const join_request &r) noexcept
{
    seat    &s = t.seats[i];
    result   res = answer(s.st == state::live ? verdict::replaced
                                              : verdict::resumed, i, t);

    if (res.what == verdict::replaced) {
        /* the stale connection of a reloaded page is still open */
        res.old = s.conn;
    }

    /* a new secret each time: one that leaked (a shared screen, a copied
     * log) takes the seat over at most once, not for its life */
    std::memcpy(s.resume, r.new_resume, secret_len);
    sit(s, r);
    if (s.serial < UINT32_MAX) {
        s.serial++;
    }

    return res;
}

void
start_grace(seat &s, int64_t now_ms) noexcept
{
    s.st = state::grace;
    s.grace_until = now_ms + s.grace_ms;
}

result
seat_new(table &t, const join_request &r) noexcept
{
    size_t  i;

    i = find_free(t);
    if (i == none || t.participants >= t.max_participants) {
        return answer(verdict::refused_full, none, t);
    }

    seat &s = t.seats[i];

    std::memcpy(s.id, r.new_id, id_len);
    std::memcpy(s.resume, r.new_resume, secret_len);
    sit(s, r);
    s.serial = 1;

    t.participants++;
    if (t.participants >= 2) {
        t.had_call = true;
    }

    return answer(verdict::seated, i, t);
}

/* The held seat with this id, or none. */
size_t
find_id(const table &t, const uint8_t *id) noexcept
{
    for (size_t i = 0; i < max_seats; i++) {
        if (t.seats[i].st != state::free
            && std::memcmp(t.seats[i].id, id, id_len) == 0)
        {
            return i;
        }
    }

    return none;
}

/* A seat ticket's seat: taken back if held here under that id and the
 * ticket is as new (a caller back from another node), else given back on
 * a free seat (the room moved here). ticket_held for an older ticket. */
result
restore(table &t, const join_request &r) noexcept
{
    result  res;
    size_t  i;

    i = find_id(t, r.ticket_id);
    if (i != none) {
        if (r.ticket_serial < t.seats[i].serial) {
            res = answer(verdict::refused_full, none, t);
            res.ticket_held = true;
            return res;
        }
        t.seats[i].serial = r.ticket_serial;
        return take_back(t, i, r);
    }

    if (r.room_entered && !t.moved) {
        /* its seat was freed here and the others told: a new participant,
         * as a resume secret that finds nothing */
        res = answer(verdict::refused_full, none, t);
        res.ticket_held = true;
        res.ticket_freed = true;
        return res;
    }

    i = none;
    if (r.ticket_seat < max_seats && r.ticket_seat < t.max_participants
        && t.seats[r.ticket_seat].st == state::free)
    {
        i = r.ticket_seat;
    } else {
        i = find_free(t);
    }

    if (i == none || t.participants >= t.max_participants) {
        return answer(verdict::refused_full, none, t);
    }

    seat &s = t.seats[i];

    std::memcpy(s.id, r.ticket_id, id_len);
    std::memcpy(s.resume, r.new_resume, secret_len);
    sit(s, r);
    s.serial = r.ticket_serial < UINT32_MAX ? r.ticket_serial + 1
                                            : UINT32_MAX;

    t.participants++;
    t.moved = true;
    if (t.participants >= 2) {
        t.had_call = true;
    }

    return answer(verdict::restored, i, t);
}

}  // namespace

table
make(unsigned max_participants) noexcept
{
    table t{};

    t.max_participants = static_cast<uint8_t>(
        max_participants < max_seats ? max_participants : max_seats);
    return t;
}

bool
same_connection(const owner &a, const owner &b) noexcept
{
    return a.session == b.session && a.pid == b.pid;
}

result
join(table &t, const join_request &r) noexcept
{
    size_t  i;

    if (r.has_resume) {
        i = find_own(t, r.resume);
        if (i != none) {
            return take_back(t, i, r);
        }
    }

    if (r.has_ticket) {
        result  restored = restore(t, r);

        if (!restored.ticket_held) {
            return restored;
        }
        if (r.resume_only) {
            restored.what = verdict::refused_resume_only;
            return restored;
        }
        /* an old ticket of an id held here, or of a seat freed here: a new
         * participant */
        result  fresh = seat_new(t, r);
        fresh.ticket_held = true;
        fresh.ticket_freed = restored.ticket_freed;
        return fresh;
    }

    if (r.resume_only) {
        return answer(verdict::refused_resume_only, none, t);
    }

    return seat_new(t, r);
}

result
leave(table &t, size_t i, const owner &conn, bool bye, int64_t now_ms)
    noexcept
{
    if (i >= max_seats || t.seats[i].st != state::live
        || !same_connection(t.seats[i].conn, conn))
    {
        return answer(verdict::not_holder, i < max_seats ? i : none, t);
    }

    if (bye) {
        free_seat(t, t.seats[i]);
        return answer(verdict::freed, i, t);
    }

    start_grace(t.seats[i], now_ms);
    return answer(verdict::grace_started, i, t);
}

result
expire(table &t, size_t i, int64_t now_ms) noexcept
{
    if (i >= max_seats || t.seats[i].st != state::grace) {
        return answer(verdict::not_holder, i < max_seats ? i : none, t);
    }

    if (t.seats[i].grace_until > now_ms) {
        return answer(verdict::not_due, i, t);
    }

    free_seat(t, t.seats[i]);
    return answer(verdict::grace_expired, i, t);
}

unsigned
orphan(table &t, int32_t pid, int64_t now_ms) noexcept
{
    unsigned  moved = 0;

    for (size_t i = 0; i < max_seats; i++) {
        seat &s = t.seats[i];

        if (s.st == state::live && s.conn.pid == pid) {
            start_grace(s, now_ms);
            moved |= 1u << i;
        }
    }

    return moved;
}

result
beacon(table &t, size_t i, const owner &conn) noexcept
{
    if (i >= max_seats || t.seats[i].st != state::live
        || !same_connection(t.seats[i].conn, conn))
    {
        return answer(verdict::not_holder, i < max_seats ? i : none, t);
    }

    if (t.seats[i].beacons >= beacons_max) {
        return answer(verdict::over, i, t);
    }

    t.seats[i].beacons++;
    return answer(verdict::counted, i, t);
}

size_t
find_live(const table &t, const uint8_t *id) noexcept
{
    for (size_t i = 0; i < max_seats; i++) {
        if (t.seats[i].st == state::live
            && std::memcmp(t.seats[i].id, id, id_len) == 0)
        {
            return i;
        }
    }

    return none;
}

roster
others(const table &t, size_t self) noexcept
{
    roster  r{};

    for (size_t i = 0; i < max_seats; i++) {
        const seat &s = t.seats[i];

        if (i == self || s.st == state::free) {
            continue;
        }

        std::memcpy(r.peers[r.npeers++], s.id, id_len);

        if (s.st == state::live) {
            r.tell[r.ntell++] = s.conn;
        }
    }

    return r;
}

}  // namespace webcall::seats
