// The seat state machine under random sequences of joins (new, with the
// secret of a seat, with an old or a made-up secret, with or without a PIN
// room's pass, with a seat ticket of an id from a small set or of a seat's
// own id, older or newer than the seat), drops, byes, beacons, a dead
// worker, time going forward and grace expiry, on a room of 2 to 4 seats.
// The harness keeps the grace queue from the verdicts alone, as
// ngx_http_webcall_seat.cpp does, and traps when an invariant breaks: never
// more holders than the room's size, a resumed seat keeps its peer id, a
// restored seat has its ticket's id, an expired seat is free, ids unique
// among held seats, serials count as seats.h says, the queue holds exactly
// the seats in grace, and a refusal changes nothing.
#include "fuzz_input.h"
#include "seats.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

using namespace webcall;
using seats::verdict;

namespace {

/* The serial that follows, saturating as seats.cpp does. */
uint32_t
after(uint32_t serial)
{
    return serial < UINT32_MAX ? serial + 1 : UINT32_MAX;
}


using fuzz::input;

constexpr size_t max_secrets = 64;
constexpr size_t max_conns = 64;

struct harness {
    seats::table   t;
    int64_t        now = 1000000;
    uint32_t       grace_ms;
    uint32_t       counter = 0;
    /* the grace queue, oldest first, kept from the verdicts only */
    uint8_t        queue[seats::max_seats];
    size_t         queued = 0;
    /* every secret and connection handed out, to try stale ones */
    uint8_t        secrets[max_secrets][seats::secret_len];
    size_t         nsecrets = 0;
    seats::owner   conns[max_conns];
    size_t         nconns = 0;
    bool           ever_two = false;
    bool           ever_moved = false;
};

/* The ids seat tickets name: a few, so that they collide. */
constexpr size_t ticket_ids = 4;

void
ticket_id(uint8_t *out, size_t k) noexcept
{
    std::memset(out, 'T', seats::id_len);
    out[seats::id_len - 1] = static_cast<uint8_t>('0' + k % ticket_ids);
}

/* Fresh values are unique, as 64 and 128 random bits are in practice. */
void
fresh(harness &h, uint8_t *out, size_t len, uint8_t kind) noexcept
{
    uint32_t n = ++h.counter;

    std::memset(out, kind, len);
    std::memcpy(out, &n, sizeof(n));
}

void
remember_secret(harness &h, const uint8_t *s) noexcept
{
    std::memcpy(h.secrets[h.nsecrets % max_secrets], s, seats::secret_len);
    h.nsecrets++;
}

void
queue_push(harness &h, size_t i) noexcept
{
    for (size_t k = 0; k < h.queued; k++) {
        CHECK(h.queue[k] != i);
    }
    CHECK(h.queued < seats::max_seats);
    h.queue[h.queued++] = (uint8_t) i;
}

void
queue_remove(harness &h, size_t i) noexcept
{
    for (size_t k = 0; k < h.queued; k++) {
        if (h.queue[k] == i) {
            std::memmove(&h.queue[k], &h.queue[k + 1], h.queued - k - 1);
            h.queued--;
            return;
        }
    }
    __builtin_trap();
}

/* The seat holding this secret, or none: what a resume must find. */
size_t
holder_of(const seats::table &t, const uint8_t *secret) noexcept
{
    for (size_t i = 0; i < seats::max_seats; i++) {
        if (t.seats[i].st != seats::state::free
            && std::memcmp(t.seats[i].resume, secret, seats::secret_len) == 0)
        {
            return i;
        }
    }
    return seats::none;
}

/* Field by field: padding bytes are not part of the state. */
bool
same_table(const seats::table &a, const seats::table &b) noexcept
{
    if (a.max_participants != b.max_participants
        || a.participants != b.participants || a.had_call != b.had_call
        || a.moved != b.moved)
    {
        return false;
    }

    for (size_t i = 0; i < seats::max_seats; i++) {
        const seats::seat &x = a.seats[i];
        const seats::seat &y = b.seats[i];

        if (x.st != y.st || x.grace_until != y.grace_until
            || x.grace_ms != y.grace_ms || x.beacons != y.beacons
            || x.conn.session != y.conn.session || x.conn.pid != y.conn.pid
            || x.conn.worker != y.conn.worker || x.serial != y.serial
            || std::memcmp(x.id, y.id, seats::id_len) != 0
            || std::memcmp(x.resume, y.resume, seats::secret_len) != 0)
        {
            return false;
        }
    }

    return true;
}

void
check_invariants(const harness &h) noexcept
{
    const seats::table &t = h.t;
    size_t               held = 0;

    for (size_t i = 0; i < seats::max_seats; i++) {
        const seats::seat &s = t.seats[i];
        bool in_queue = false;

        for (size_t k = 0; k < h.queued; k++) {
            in_queue |= h.queue[k] == i;
        }
        CHECK(in_queue == (s.st == seats::state::grace));

        if (s.st == seats::state::free) {
            continue;
        }

        CHECK(s.st == seats::state::live || s.st == seats::state::grace);
        CHECK(i < t.max_participants);
        held++;

        for (size_t j = i + 1; j < seats::max_seats; j++) {
            if (t.seats[j].st != seats::state::free) {
                CHECK(std::memcmp(s.id, t.seats[j].id, seats::id_len) != 0);
                CHECK(std::memcmp(s.resume, t.seats[j].resume,
                                  seats::secret_len) != 0);
            }
        }
    }

    CHECK(held == t.participants);
    CHECK(held <= t.max_participants);
    CHECK(t.had_call == h.ever_two);
    CHECK(t.moved == h.ever_moved);
}

/* The held seat with this id, or none: what a ticket must find. */
size_t
holder_of_id(const seats::table &t, const uint8_t *id) noexcept
{
    for (size_t i = 0; i < seats::max_seats; i++) {
        if (t.seats[i].st != seats::state::free
            && std::memcmp(t.seats[i].id, id, seats::id_len) == 0)
        {
            return i;
        }
    }
    return seats::none;
}

/* A seat ticket for the join: its id from the small set or a seat's own
 * (held, or free: a stale one), its seat anywhere (beyond the room's size
 * too), its serial older, as new or newer than the seat of that id. */
void
add_ticket(harness &h, input &in, seats::join_request &r) noexcept
{
    uint8_t  which = in.next();
    uint8_t  seat = in.next();
    uint8_t  serial = in.next();
    size_t   held;

    r.has_ticket = true;
    if (which & 0x80) {
        std::memcpy(r.ticket_id, h.t.seats[which % seats::max_seats].id,
                    seats::id_len);
    } else {
        ticket_id(r.ticket_id, which);
    }
    r.ticket_seat = seat & 0x80 ? seat : seat % (seats::max_seats + 2);

    held = holder_of_id(h.t, r.ticket_id);
    if (serial == 0xff) {
        r.ticket_serial = 0xffffffffu;
    } else if ((serial & 0x80) && held != seats::none) {
        /* around the seat's own: -2 .. +2 */
        r.ticket_serial = h.t.seats[held].serial + (serial % 5) - 2u;
    } else {
        r.ticket_serial = serial % 8;
    }
}

void
do_join(harness &h, input &in, uint8_t how) noexcept
{
    seats::join_request  r{};
    seats::table         before = h.t;
    seats::result        res;
    uint8_t              arg = in.next();
    size_t               own, free_seat;

    r.conn.session = ++h.counter;
    r.conn.pid = 100 + (arg & 3);
    r.conn.worker = arg & 3;
    r.grace_ms = h.grace_ms;
    r.resume_only = (arg & 4) != 0;
    fresh(h, r.new_id, sizeof(r.new_id), 'i');
    fresh(h, r.new_resume, sizeof(r.new_resume), 's');

    switch (how) {
    case 0:
        break;
    case 1:     /* the current secret of a seat, held or not */
        r.has_resume = true;
        std::memcpy(r.resume, h.t.seats[(arg >> 3) % seats::max_seats].resume,
                    sizeof(r.resume));
        break;
    case 2:     /* a secret handed out some time ago */
        r.has_resume = true;
        if (h.nsecrets > 0) {
            std::memcpy(r.resume,
                        h.secrets[(arg >> 3) % (h.nsecrets < max_secrets
                                                ? h.nsecrets : max_secrets)],
                        sizeof(r.resume));
        }
        break;
    case 3:     /* made up: never handed out */
        r.has_resume = true;
        fresh(h, r.resume, sizeof(r.resume), 'm');
        break;
    case 4:     /* a ticket alone */
        add_ticket(h, in, r);
        break;
    default:    /* a ticket with the secret it came with, maybe stale */
        r.has_resume = true;
        if (h.nsecrets > 0 && (arg & 0x80)) {
            std::memcpy(r.resume,
                        h.secrets[(arg >> 3) % (h.nsecrets < max_secrets
                                                ? h.nsecrets : max_secrets)],
                        sizeof(r.resume));
        } else {
            fresh(h, r.resume, sizeof(r.resume), 'm');
        }
        add_ticket(h, in, r);
        break;
    }

    own = r.has_resume ? holder_of(h.t, r.resume) : seats::none;
    free_seat = seats::none;
    for (size_t i = 0; i < h.t.max_participants; i++) {
        if (h.t.seats[i].st == seats::state::free) {
            free_seat = i;
            break;
        }
    }

    /* with a ticket and no seat of its own: the seat of the ticket's id if
     * the ticket is not older, else (an older one) as a new participant,
     * else the ticket's seat if free and in the room, else the first free */
    size_t  by_id = seats::none, ticket_seat = seats::none;
    bool    older = false;

    if (own == seats::none && r.has_ticket) {
        by_id = holder_of_id(h.t, r.ticket_id);
        if (by_id != seats::none) {
            older = r.ticket_serial < h.t.seats[by_id].serial;
        } else if (r.ticket_seat < h.t.max_participants
                   && h.t.seats[r.ticket_seat].st == seats::state::free)
        {
            ticket_seat = r.ticket_seat;
        } else {
            ticket_seat = free_seat;
        }
    }

    res = seats::join(h.t, r);

    CHECK(res.ticket_held == (by_id != seats::none && older));

    if (own == seats::none && by_id != seats::none && !older) {
        /* the ticket's id is held here, by this caller on another node
         * (or before): its seat back, the serial after the ticket's */
        const seats::seat &was = before.seats[by_id];
        const seats::seat &now = h.t.seats[by_id];

        CHECK(res.seat == by_id);
        CHECK(std::memcmp(now.id, r.ticket_id, seats::id_len) == 0);
        CHECK(std::memcmp(now.id, was.id, seats::id_len) == 0);
        CHECK(std::memcmp(now.resume, r.new_resume, seats::secret_len) == 0);
        CHECK(now.serial == after(r.ticket_serial));
        CHECK(now.st == seats::state::live);
        CHECK(seats::same_connection(now.conn, r.conn));
        CHECK(h.t.participants == before.participants);
        CHECK(h.t.moved == before.moved);

        if (was.st == seats::state::live) {
            CHECK(res.what == verdict::replaced);
            CHECK(seats::same_connection(res.old, was.conn));
        } else {
            CHECK(res.what == verdict::resumed);
            queue_remove(h, by_id);
        }

    } else if (own == seats::none && r.has_ticket && by_id == seats::none) {
        /* the room moved here: a PIN room's pass is not asked for */
        if (ticket_seat == seats::none) {
            CHECK(res.what == verdict::refused_full);
        } else {
            const seats::seat &now = h.t.seats[ticket_seat];

            CHECK(res.what == verdict::restored);
            CHECK(res.seat == ticket_seat);
            CHECK(std::memcmp(now.id, r.ticket_id, seats::id_len) == 0);
            CHECK(std::memcmp(now.resume, r.new_resume,
                              seats::secret_len) == 0);
            CHECK(now.serial == after(r.ticket_serial));
            CHECK(now.st == seats::state::live);
            CHECK(seats::same_connection(now.conn, r.conn));
            CHECK(h.t.participants == before.participants + 1);
            CHECK(h.t.moved);
            h.ever_moved = true;
            if (h.t.participants >= 2) {
                h.ever_two = true;
            }
        }

    } else if (own != seats::none) {
        const seats::seat &was = before.seats[own];
        const seats::seat &now = h.t.seats[own];

        CHECK(res.seat == own);
        CHECK(std::memcmp(now.id, was.id, seats::id_len) == 0);
        CHECK(std::memcmp(now.resume, r.new_resume, seats::secret_len) == 0);
        CHECK(now.serial == after(was.serial));
        CHECK(now.st == seats::state::live);
        CHECK(seats::same_connection(now.conn, r.conn));
        CHECK(h.t.participants == before.participants);
        CHECK(!res.ticket_held);

        if (was.st == seats::state::live) {
            CHECK(res.what == verdict::replaced);
            CHECK(seats::same_connection(res.old, was.conn));
        } else {
            CHECK(res.what == verdict::resumed);
            queue_remove(h, own);
        }

    } else if (r.resume_only) {
        CHECK(res.what == verdict::refused_resume_only);

    } else if (free_seat == seats::none) {
        CHECK(res.what == verdict::refused_full);

    } else {
        CHECK(res.what == verdict::seated);
        CHECK(res.seat == free_seat);
        CHECK(std::memcmp(h.t.seats[free_seat].id, r.new_id,
                          seats::id_len) == 0);
        CHECK(h.t.seats[free_seat].serial == 1);
        CHECK(h.t.participants == before.participants + 1);
        if (h.t.participants >= 2) {
            h.ever_two = true;
        }
    }

    if (res.what == verdict::refused_full
        || res.what == verdict::refused_resume_only)
    {
        CHECK(res.seat == seats::none);
        CHECK(same_table(before, h.t));
        return;
    }

    CHECK(res.participants == h.t.participants);
    remember_secret(h, h.t.seats[res.seat].resume);

    if (h.nconns < max_conns) {
        h.conns[h.nconns++] = r.conn;
    }
}

void
do_leave(harness &h, input &in, bool bye) noexcept
{
    seats::table   before = h.t;
    seats::result  res;
    seats::owner   who;
    uint8_t        arg = in.next();
    size_t         i = arg % 5;   /* 4: out of range */
    bool           holder;

    if ((arg & 0x80) && h.nconns > 0) {
        who = h.conns[(arg >> 3) % h.nconns];     /* maybe a stale one */
    } else {
        who = h.t.seats[i % seats::max_seats].conn;
    }

    holder = i < seats::max_seats && h.t.seats[i].st == seats::state::live
             && seats::same_connection(h.t.seats[i].conn, who);

    res = seats::leave(h.t, i, who, bye, h.now);

    if (!holder) {
        CHECK(res.what == verdict::not_holder);
        CHECK(same_table(before, h.t));
        return;
    }

    CHECK(res.seat == i);
    CHECK(res.participants == h.t.participants);

    if (bye) {
        CHECK(res.what == verdict::freed);
        CHECK(h.t.seats[i].st == seats::state::free);
        CHECK(h.t.participants == before.participants - 1);
    } else {
        CHECK(res.what == verdict::grace_started);
        CHECK(h.t.seats[i].st == seats::state::grace);
        CHECK(h.t.seats[i].grace_until == h.now + h.grace_ms);
        CHECK(h.t.participants == before.participants);
        queue_push(h, i);
    }
}

/* As the zone's tick does: free from the head while it is due. */
void
do_expire(harness &h) noexcept
{
    seats::result  res;
    size_t         i;
    bool           due;

    while (h.queued > 0) {
        i = h.queue[0];
        due = h.t.seats[i].grace_until <= h.now;
        res = seats::expire(h.t, i, h.now);

        if (res.what == verdict::not_due) {
            CHECK(!due && h.t.seats[i].st == seats::state::grace);
            break;
        }

        CHECK(res.what == verdict::grace_expired && due);
        CHECK(res.seat == i);
        CHECK(h.t.seats[i].st == seats::state::free);
        queue_remove(h, i);
    }

    /* one grace length and a clock that goes forward: the queue is in
     * deadline order, so nothing due is left behind */
    for (i = 0; i < seats::max_seats; i++) {
        CHECK(h.t.seats[i].st != seats::state::grace
              || h.t.seats[i].grace_until > h.now);
    }
}

void
do_orphan(harness &h, input &in) noexcept
{
    seats::table  before = h.t;
    int32_t       pid = 100 + (in.next() & 3);
    unsigned      moved = seats::orphan(h.t, pid, h.now);

    for (size_t i = 0; i < seats::max_seats; i++) {
        bool was = before.seats[i].st == seats::state::live
                   && before.seats[i].conn.pid == pid;

        CHECK(((moved >> i) & 1) == (was ? 1u : 0u));
        if (was) {
            CHECK(h.t.seats[i].st == seats::state::grace);
            CHECK(std::memcmp(h.t.seats[i].id, before.seats[i].id,
                              seats::id_len) == 0);
            queue_push(h, i);
        }
    }
    CHECK(moved < (1u << seats::max_seats));
}

void
do_beacon(harness &h, input &in) noexcept
{
    uint8_t        arg = in.next();
    size_t         i = arg % seats::max_seats;
    seats::result  res = seats::beacon(h.t, i, h.t.seats[i].conn);

    CHECK(h.t.seats[i].beacons <= seats::beacons_max);
    if (h.t.seats[i].st != seats::state::live) {
        CHECK(res.what == verdict::not_holder);
    } else {
        CHECK(res.what == verdict::counted || res.what == verdict::over);
    }
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input    in{data, size};
    harness  h;
    uint8_t  op;

    h.t = seats::make(2 + in.next() % 3);
    h.grace_ms = 250u * (1 + in.next() % 80);
    check_invariants(h);

    for (int steps = 0; in.left > 0 && steps < 1024; steps++) {
        op = in.next();

        /* % 13: the seeds' ops below 11 keep their meaning */
        switch (op % 13) {
        case 0: case 1: do_join(h, in, 0); break;
        case 2:         do_join(h, in, 1); break;
        case 3:         do_join(h, in, 2); break;
        case 4:         do_join(h, in, 3); break;
        case 5:         do_leave(h, in, false); break;
        case 6:         do_leave(h, in, true); break;
        case 7:         h.now += 100 * (int64_t) in.next(); break;
        case 8:         do_expire(h); break;
        case 9:         do_orphan(h, in); break;
        case 10:        do_beacon(h, in); break;
        case 11:        do_join(h, in, 4); break;
        default:        do_join(h, in, 5); break;
        }

        check_invariants(h);
    }

    return 0;
}
