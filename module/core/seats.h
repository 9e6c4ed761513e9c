// The seats of a room and what moves them: a join takes a free seat or,
// with its resume secret, its own seat back; a dropped connection keeps its
// seat for a grace period; "bye" or the end of grace frees it. Pure: plain
// structs, the time passed in, no allocation, no locking. The zone keeps a
// table per room in shared memory and calls this under its lock
// (ngx_http_webcall_seat.cpp); telling the others is the caller's business,
// from the result.
//
// A seat is live while its connection is open, grace after it dropped
// without "bye" until grace_until, free otherwise. participants counts live
// and grace seats, so a room never fills up behind somebody reconnecting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace webcall::seats {

constexpr size_t   max_seats = 4;
constexpr size_t   id_len = 8;       /* peer id, base58 characters */
constexpr size_t   secret_len = 16;  /* resume secret, random bytes */
constexpr uint8_t  beacons_max = 8;  /* per seat: a few per call */
constexpr size_t   none = max_seats; /* no seat */

enum class state : uint8_t { free, live, grace };

/* Where a seat's connection lives: numbers that mean the same in every
 * process. A connection is the same one when session and pid match. */
struct owner {
    uint64_t session;
    int32_t  pid;
    uint16_t worker;
};

struct seat {
    int64_t  grace_until;   /* ms, wall clock; while in grace */
    owner    conn;          /* while live: its connection; in grace: the
                               one that dropped */
    uint32_t grace_ms;      /* the grace its connection's location gives */
    state    st;
    uint8_t  beacons;       /* sent by its holder */
    uint8_t  id[id_len];
    uint8_t  resume[secret_len];
    uint32_t serial;        /* counts the seat's secrets; its seat ticket
                               carries it, so an older ticket than the
                               seat's latest is known here */
};

struct table {
    seat     seats[max_seats];
    uint8_t  max_participants;  /* 2..max_seats, from the token */
    uint8_t  participants;      /* live and grace seats */
    bool     had_call;          /* two seats were held at once */
    bool     moved;             /* a seat came back from a seat ticket:
                                   the room moved here from another node */
};

static_assert(std::is_trivially_copyable_v<table>);

struct join_request {
    owner    conn;
    uint32_t grace_ms;
    bool     has_resume;        /* the client sent a resume secret */
    bool     resume_only;       /* a PIN room without its pass: only its
                                   own seat back */
    uint8_t  resume[secret_len];
    /* fresh random values: a new seat's id and secret, or a resumed
     * seat's new secret */
    uint8_t  new_id[id_len];
    uint8_t  new_resume[secret_len];
    /* a verified seat ticket (seat_ticket.h): the seat and peer id the
     * caller held on another node, given back here when the resume secret
     * finds no seat */
    bool     has_ticket;
    /* the room was entered on this node before this join: a seat freed
     * here (bye, grace over) was told to the others as gone, so a ticket
     * for it does not bring it back (the caller joins as new) unless the
     * room moved here */
    bool     room_entered;
    uint8_t  ticket_seat;
    uint32_t ticket_serial;
    uint8_t  ticket_id[id_len];
};

static_assert(std::is_trivially_copyable_v<join_request>);

enum class verdict : uint8_t {
    seated,              /* join: a free seat, new id and secret */
    resumed,             /* join: its own seat back from grace */
    replaced,            /* join: its own seat back from a connection still
                            open (old), which must be closed */
    restored,            /* join: a free seat, the id of a seat ticket,
                            new secret (the room moved from another node) */
    refused_full,        /* join: no free seat */
    refused_resume_only, /* join: resume_only, and no seat of its own */
    freed,               /* leave with "bye": the seat is free */
    grace_started,       /* leave without "bye" */
    grace_expired,       /* expire: grace is over, the seat is free */
    not_due,             /* expire: still in grace */
    not_holder,          /* leave, expire, beacon: the seat is not (any
                            more) this connection's, or not in grace */
    counted,             /* beacon: one more allowed */
    over,                /* beacon: too many from this seat */
};

struct result {
    verdict  what;
    uint8_t  seat;          /* the seat concerned, or none */
    uint8_t  participants;  /* after the change */
    owner    old;           /* replaced: the connection to close */
    bool     ticket_held;   /* join: the ticket was not used: its id is
                               held here by a newer secret (an old ticket),
                               or ticket_freed */
    bool     ticket_freed;  /* join: its seat was freed here (see
                               join_request::room_entered) */
};

static_assert(std::is_trivially_copyable_v<result>);

/* Everybody but one seat: the ids of the held seats, and where the live
 * ones are, to be told. */
struct roster {
    size_t   npeers;
    uint8_t  peers[max_seats][id_len];
    size_t   ntell;
    owner    tell[max_seats];
};

// An empty table for a room of max_participants (clamped to 1..max_seats).
table make(unsigned max_participants) noexcept;

// A join: its own seat back when the resume secret matches a held seat
// (whatever its state; a new secret is handed out); else, with a seat
// ticket, that seat back under the same id: the held seat of that id if
// the ticket is not older than it (resumed or replaced), else a free seat
// (the ticket's own if free: restored; a PIN room's pass is not needed,
// the seat had it) if the room moved here or was never entered here; an
// older ticket is ignored (ticket_held); else a free seat with new_id and new_resume if the room has space
// and resume_only is off.
result join(table &t, const join_request &r) noexcept;

// The connection conn of seat i ended: with bye the seat is freed, else it
// waits in grace until now_ms + its grace_ms. not_holder when the seat was
// taken over by a newer connection meanwhile (or is not live).
result leave(table &t, size_t i, const owner &conn, bool bye,
             int64_t now_ms) noexcept;

// Frees seat i if its grace is over at now_ms.
result expire(table &t, size_t i, int64_t now_ms) noexcept;

// A process died without closing its connections: its live seats go into
// grace from now_ms. Returns a bit per seat that did.
unsigned orphan(table &t, int32_t pid, int64_t now_ms) noexcept;

// Whether the holder conn of seat i may send one more beacon (counted).
result beacon(table &t, size_t i, const owner &conn) noexcept;

// The live seat with this id, or none.
size_t find_live(const table &t, const uint8_t *id) noexcept;

// Everybody but seat self (none: everybody).
roster others(const table &t, size_t self) noexcept;

bool same_connection(const owner &a, const owner &b) noexcept;

}  // namespace webcall::seats
