// The seat state machine: claiming, a full room, resuming within and after
// grace, a resume that replaces an open connection, bye, grace expiry, a
// dead worker's seats, a PIN room's resume-only joins, beacons, and seat
// tickets: a seat restored from another node, an older ticket, serials.
#include "cmocka_cxx.h"

#include <cstring>
#include <initializer_list>

#include "seats.h"

using namespace webcall;
using seats::verdict;

static const uint32_t grace_ms = 20000;

/* A connection: session n on worker process pid. */
static seats::owner
conn(uint64_t n, int32_t pid = 100)
{
    return {n, pid, 3};
}

/* A join of connection c; fresh id and secret made from tag, so each join
 * of a test has its own. */
static seats::join_request
join_of(const seats::owner &c, char tag)
{
    seats::join_request r{};

    r.conn = c;
    r.grace_ms = grace_ms;
    std::memset(r.new_id, tag, sizeof(r.new_id));
    std::memset(r.new_resume, tag, sizeof(r.new_resume));
    return r;
}

/* The same, holding the secret a seat was given. */
static seats::join_request
resume_of(const seats::owner &c, char tag, const uint8_t *secret)
{
    seats::join_request r = join_of(c, tag);

    r.has_resume = true;
    std::memcpy(r.resume, secret, seats::secret_len);
    return r;
}

/* A join carrying a verified seat ticket for the id made of id_tag, of
 * seat and serial; no resume secret that matches here. */
static seats::join_request
ticket_of(const seats::owner &c, char tag, char id_tag, uint8_t seat,
          uint32_t serial)
{
    seats::join_request r = join_of(c, tag);
    uint8_t             stale[seats::secret_len];

    std::memset(stale, 'S', sizeof(stale));
    r.has_resume = true;   /* the ticket comes with its own old secret */
    std::memcpy(r.resume, stale, sizeof(stale));
    r.has_ticket = true;
    r.ticket_seat = seat;
    r.ticket_serial = serial;
    std::memset(r.ticket_id, id_tag, sizeof(r.ticket_id));
    return r;
}

static void
assert_id(const seats::table &t, size_t i, char tag)
{
    uint8_t want[seats::id_len];

    std::memset(want, tag, sizeof(want));
    assert_memory_equal(t.seats[i].id, want, sizeof(want));
}

static void
first_join_takes_the_first_seat_with_its_new_id_and_secret(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r = seats::join(t, join_of(conn(1), 'a'));

    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.participants, 1);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::live);
    assert_id(t, 0, 'a');
    assert_int_equal(t.seats[0].resume[0], 'a');
    assert_int_equal(t.seats[0].conn.session, 1);
    assert_false(t.had_call);
}

static void
second_join_takes_the_next_seat_and_makes_it_a_call(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    r = seats::join(t, join_of(conn(2), 'b'));

    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 1);
    assert_int_equal(t.participants, 2);
    assert_true(t.had_call);
}

static void
third_join_is_refused_when_two_seats_are_held(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    r = seats::join(t, join_of(conn(3), 'c'));

    assert_int_equal((int) r.what, (int) verdict::refused_full);
    assert_int_equal(r.seat, seats::none);
    assert_int_equal(t.participants, 2);
    assert_int_equal((int) t.seats[2].st, (int) seats::state::free);
}

static void
a_room_of_four_seats_four_and_refuses_the_fifth(void **)
{
    seats::table   t = seats::make(4);
    seats::result  r;

    for (char tag = 'a'; tag < 'e'; tag++) {
        r = seats::join(t, join_of(conn((uint64_t) tag), tag));
        assert_int_equal((int) r.what, (int) verdict::seated);
    }

    r = seats::join(t, join_of(conn(9), 'z'));
    assert_int_equal((int) r.what, (int) verdict::refused_full);
    assert_int_equal(t.participants, 4);
}

static void
a_seat_in_grace_still_counts_so_the_room_stays_full(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    r = seats::leave(t, 0, conn(1), false, 1000);
    assert_int_equal((int) r.what, (int) verdict::grace_started);

    r = seats::join(t, join_of(conn(3), 'c'));
    assert_int_equal((int) r.what, (int) verdict::refused_full);
}

static void
a_made_up_resume_secret_takes_a_free_seat_as_new(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        made_up[seats::secret_len];
    seats::result  r;

    std::memset(made_up, 'q', sizeof(made_up));
    (void) seats::join(t, join_of(conn(1), 'a'));
    r = seats::join(t, resume_of(conn(2), 'b', made_up));

    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 1);
    assert_id(t, 1, 'b');
}

static void
resume_within_grace_keeps_the_peer_id(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::leave(t, 0, conn(1), false, 1000);

    r = seats::join(t, resume_of(conn(7, 200), 'x', secret));

    assert_int_equal((int) r.what, (int) verdict::resumed);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.participants, 2);
    assert_id(t, 0, 'a');
    assert_int_equal((int) t.seats[0].st, (int) seats::state::live);
    assert_int_equal(t.seats[0].conn.session, 7);
    assert_int_equal(t.seats[0].conn.pid, 200);
}

static void
a_resume_hands_out_a_new_secret_and_the_old_one_stops_working(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::leave(t, 0, conn(1), false, 1000);
    (void) seats::join(t, resume_of(conn(2), 'x', secret));

    assert_int_equal(t.seats[0].resume[0], 'x');

    /* the leaked secret again: a newcomer, not the seat's holder */
    r = seats::join(t, resume_of(conn(3), 'y', secret));
    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 1);
}

static void
resume_of_a_live_seat_replaces_the_old_connection(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    (void) seats::join(t, join_of(conn(1, 100), 'a'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));

    r = seats::join(t, resume_of(conn(2, 200), 'x', secret));

    assert_int_equal((int) r.what, (int) verdict::replaced);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.old.session, 1);
    assert_int_equal(r.old.pid, 100);
    assert_int_equal(r.old.worker, 3);
    assert_int_equal(r.participants, 1);
    assert_id(t, 0, 'a');
    assert_int_equal(t.seats[0].conn.session, 2);
}

static void
the_replaced_connection_closing_leaves_the_seat_alone(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::join(t, resume_of(conn(2), 'x', secret));

    r = seats::leave(t, 0, conn(1), false, 1000);
    assert_int_equal((int) r.what, (int) verdict::not_holder);
    r = seats::leave(t, 0, conn(1), true, 1000);
    assert_int_equal((int) r.what, (int) verdict::not_holder);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::live);
    assert_int_equal(t.participants, 1);
}

static void
same_session_of_another_process_is_another_connection(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1, 100), 'a'));
    r = seats::leave(t, 0, conn(1, 101), true, 1000);

    assert_int_equal((int) r.what, (int) verdict::not_holder);
    assert_int_equal(t.participants, 1);
}

static void
resume_after_grace_gets_a_new_seat_and_id(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::leave(t, 0, conn(1), false, 1000);
    r = seats::expire(t, 0, 1000 + grace_ms);
    assert_int_equal((int) r.what, (int) verdict::grace_expired);

    r = seats::join(t, resume_of(conn(2), 'n', secret));

    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 0);
    assert_id(t, 0, 'n');
    assert_int_equal(t.seats[0].resume[0], 'n');
}

static void
bye_frees_the_seat_at_once(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    r = seats::leave(t, 1, conn(2), true, 1000);

    assert_int_equal((int) r.what, (int) verdict::freed);
    assert_int_equal(r.seat, 1);
    assert_int_equal(r.participants, 1);
    assert_int_equal((int) t.seats[1].st, (int) seats::state::free);

    /* the next one takes it, as new */
    r = seats::join(t, join_of(conn(3), 'c'));
    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 1);
    assert_id(t, 1, 'c');
}

static void
a_drop_keeps_the_seat_in_grace_until_its_deadline(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    r = seats::leave(t, 0, conn(1), false, 5000);

    assert_int_equal((int) r.what, (int) verdict::grace_started);
    assert_int_equal(r.participants, 1);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::grace);
    assert_int_equal(t.seats[0].grace_until, 5000 + grace_ms);

    /* a second close of the same connection changes nothing */
    r = seats::leave(t, 0, conn(1), false, 6000);
    assert_int_equal((int) r.what, (int) verdict::not_holder);
    assert_int_equal(t.seats[0].grace_until, 5000 + grace_ms);
}

static void
grace_expiry_frees_the_seat_at_its_deadline_and_not_before(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::leave(t, 0, conn(1), false, 5000);

    r = seats::expire(t, 0, 5000 + grace_ms - 1);
    assert_int_equal((int) r.what, (int) verdict::not_due);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::grace);

    r = seats::expire(t, 0, 5000 + grace_ms);
    assert_int_equal((int) r.what, (int) verdict::grace_expired);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.participants, 0);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::free);
}

static void
expire_touches_only_seats_in_grace(void **)
{
    seats::table   t = seats::make(2);

    (void) seats::join(t, join_of(conn(1), 'a'));

    assert_int_equal((int) seats::expire(t, 0, 1 << 30).what,
                     (int) verdict::not_holder);
    assert_int_equal((int) seats::expire(t, 1, 1 << 30).what,
                     (int) verdict::not_holder);
    assert_int_equal((int) seats::expire(t, 9, 1 << 30).what,
                     (int) verdict::not_holder);
    assert_int_equal(t.participants, 1);
}

static void
grace_is_each_seats_own(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  j = join_of(conn(1), 'a');

    j.grace_ms = 500;
    (void) seats::join(t, j);
    (void) seats::leave(t, 0, conn(1), false, 1000);

    assert_int_equal(t.seats[0].grace_until, 1500);
}

static void
seats_beyond_the_rooms_size_are_never_taken(void **)
{
    seats::table   t = seats::make(2);

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    (void) seats::leave(t, 0, conn(1), true, 1000);
    (void) seats::join(t, join_of(conn(3), 'c'));

    for (size_t i = 2; i < seats::max_seats; i++) {
        assert_int_equal((int) t.seats[i].st, (int) seats::state::free);
    }
    assert_id(t, 0, 'c');
}

static void
pin_room_without_pass_is_refused_a_new_seat(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  j = join_of(conn(1), 'a');
    seats::result        r;

    j.resume_only = true;
    r = seats::join(t, j);

    assert_int_equal((int) r.what, (int) verdict::refused_resume_only);
    assert_int_equal(t.participants, 0);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::free);
}

static void
pin_room_without_pass_takes_its_own_seat_back(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  j;
    uint8_t              secret[seats::secret_len];
    seats::result        r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::leave(t, 0, conn(1), false, 1000);

    j = resume_of(conn(2), 'x', secret);
    j.resume_only = true;
    r = seats::join(t, j);

    assert_int_equal((int) r.what, (int) verdict::resumed);
    assert_id(t, 0, 'a');
}

static void
pin_room_without_pass_is_refused_resume_only_even_when_full(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  j = join_of(conn(3), 'c');
    seats::result        r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    j.resume_only = true;
    r = seats::join(t, j);

    assert_int_equal((int) r.what, (int) verdict::refused_resume_only);
}

static void
pin_room_resume_after_grace_is_refused(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  j;
    uint8_t              secret[seats::secret_len];

    (void) seats::join(t, join_of(conn(1), 'a'));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::leave(t, 0, conn(1), false, 1000);
    (void) seats::expire(t, 0, 1000 + grace_ms);

    j = resume_of(conn(2), 'x', secret);
    j.resume_only = true;

    assert_int_equal((int) seats::join(t, j).what,
                     (int) verdict::refused_resume_only);
}

static void
a_dead_workers_live_seats_go_into_grace(void **)
{
    seats::table   t = seats::make(4);
    unsigned       moved;

    (void) seats::join(t, join_of(conn(1, 100), 'a'));
    (void) seats::join(t, join_of(conn(2, 200), 'b'));
    (void) seats::join(t, join_of(conn(3, 100), 'c'));
    (void) seats::leave(t, 2, conn(3, 100), false, 1000);

    moved = seats::orphan(t, 100, 4000);

    assert_int_equal(moved, 1u << 0);
    assert_int_equal((int) t.seats[0].st, (int) seats::state::grace);
    assert_int_equal(t.seats[0].grace_until, 4000 + grace_ms);
    assert_int_equal((int) t.seats[1].st, (int) seats::state::live);
    /* already in grace: its deadline stands */
    assert_int_equal(t.seats[2].grace_until, 1000 + grace_ms);
    assert_int_equal(t.participants, 3);
}

static void
beacons_are_limited_per_seat_and_kept_across_a_resume(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];

    (void) seats::join(t, join_of(conn(1), 'a'));

    for (unsigned i = 0; i < seats::beacons_max - 1; i++) {
        assert_int_equal((int) seats::beacon(t, 0, conn(1)).what,
                         (int) verdict::counted);
    }

    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::join(t, resume_of(conn(2), 'x', secret));

    assert_int_equal((int) seats::beacon(t, 0, conn(1)).what,
                     (int) verdict::not_holder);
    assert_int_equal((int) seats::beacon(t, 0, conn(2)).what,
                     (int) verdict::counted);
    assert_int_equal((int) seats::beacon(t, 0, conn(2)).what,
                     (int) verdict::over);
}

static void
a_freed_seat_starts_its_beacons_again(void **)
{
    seats::table   t = seats::make(2);

    (void) seats::join(t, join_of(conn(1), 'a'));
    for (unsigned i = 0; i < seats::beacons_max; i++) {
        (void) seats::beacon(t, 0, conn(1));
    }
    (void) seats::leave(t, 0, conn(1), true, 1000);
    (void) seats::join(t, join_of(conn(2), 'b'));

    assert_int_equal((int) seats::beacon(t, 0, conn(2)).what,
                     (int) verdict::counted);
}

static void
only_live_seats_are_found_by_id(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        a[seats::id_len], b[seats::id_len];

    std::memset(a, 'a', sizeof(a));
    std::memset(b, 'b', sizeof(b));
    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    (void) seats::leave(t, 1, conn(2), false, 1000);

    assert_int_equal(seats::find_live(t, a), 0);
    assert_int_equal(seats::find_live(t, b), seats::none);
}

static void
others_name_every_held_seat_and_tell_the_live_ones(void **)
{
    seats::table   t = seats::make(4);
    seats::roster  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    (void) seats::join(t, join_of(conn(3), 'c'));
    (void) seats::leave(t, 1, conn(2), false, 1000);

    r = seats::others(t, 0);

    assert_int_equal(r.npeers, 2);
    assert_int_equal(r.peers[0][0], 'b');
    assert_int_equal(r.peers[1][0], 'c');
    assert_int_equal(r.ntell, 1);
    assert_int_equal(r.tell[0].session, 3);

    r = seats::others(t, seats::none);
    assert_int_equal(r.npeers, 3);
    assert_int_equal(r.ntell, 2);
}

static void
a_room_size_above_four_is_four(void **)
{
    assert_int_equal(seats::make(9).max_participants, seats::max_seats);
    assert_int_equal(seats::make(3).max_participants, 3);
}

/* --- seat tickets: a room that moved here from another node ----------- */

static void
a_new_seat_has_serial_1_and_each_resume_counts_up(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];

    (void) seats::join(t, join_of(conn(1), 'a'));
    assert_int_equal(t.seats[0].serial, 1);

    for (uint32_t want = 2; want < 6; want++) {
        std::memcpy(secret, t.seats[0].resume, sizeof(secret));
        (void) seats::join(t, resume_of(conn(want), (char) ('a' + want),
                                        secret));
        assert_int_equal(t.seats[0].serial, want);
    }

    /* freed and taken again: a new seat, serial 1 */
    (void) seats::leave(t, 0, conn(5), true, 1000);
    (void) seats::join(t, join_of(conn(9), 'n'));
    assert_int_equal(t.seats[0].serial, 1);
    assert_false(t.moved);
}

static void
a_ticket_on_an_empty_table_restores_its_id_and_marks_the_room_moved(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    r = seats::join(t, ticket_of(conn(1), 'x', 'T', 0, 7));

    assert_int_equal((int) r.what, (int) verdict::restored);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.participants, 1);
    assert_false(r.ticket_held);
    assert_id(t, 0, 'T');
    assert_int_equal(t.seats[0].resume[0], 'x');
    assert_int_equal((int) t.seats[0].st, (int) seats::state::live);
    assert_int_equal(t.seats[0].conn.session, 1);
    assert_int_equal(t.seats[0].serial, 8);
    assert_int_equal(t.participants, 1);
    assert_true(t.moved);
    assert_false(t.had_call);
}

static void
a_restore_prefers_the_tickets_own_seat(void **)
{
    seats::table   t = seats::make(4);
    seats::result  r;

    r = seats::join(t, ticket_of(conn(1), 'x', 'T', 2, 1));
    assert_int_equal((int) r.what, (int) verdict::restored);
    assert_int_equal(r.seat, 2);
    assert_id(t, 2, 'T');

    /* the second of the call comes back to its seat too: a call again */
    r = seats::join(t, ticket_of(conn(2), 'y', 'U', 0, 3));
    assert_int_equal((int) r.what, (int) verdict::restored);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.participants, 2);
    assert_true(t.had_call);

    /* its seat taken: the first free one */
    r = seats::join(t, ticket_of(conn(3), 'z', 'V', 2, 1));
    assert_int_equal((int) r.what, (int) verdict::restored);
    assert_int_equal(r.seat, 1);
    assert_id(t, 1, 'V');

    /* new joiners take what is left */
    r = seats::join(t, join_of(conn(4), 'n'));
    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_int_equal(r.seat, 3);
}

static void
a_tickets_seat_beyond_the_rooms_size_is_not_taken(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    for (uint8_t seat : {2, 3, 4, 200, 255}) {
        t = seats::make(2);
        r = seats::join(t, ticket_of(conn(1), 'x', 'T', seat, 1));
        assert_int_equal((int) r.what, (int) verdict::restored);
        assert_int_equal(r.seat, 0);
        for (size_t i = 2; i < seats::max_seats; i++) {
            assert_int_equal((int) t.seats[i].st, (int) seats::state::free);
        }
    }
}

static void
a_restore_into_a_full_room_is_refused_full(void **)
{
    seats::table   t = seats::make(2);
    seats::table   before;
    seats::result  r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, join_of(conn(2), 'b'));
    (void) seats::leave(t, 1, conn(2), false, 1000);   /* grace counts */
    before = t;

    r = seats::join(t, ticket_of(conn(3), 'x', 'T', 1, 4));

    assert_int_equal((int) r.what, (int) verdict::refused_full);
    assert_int_equal(r.seat, seats::none);
    assert_false(r.ticket_held);
    assert_false(t.moved);
    assert_int_equal(t.participants, 2);
    assert_memory_equal(t.seats[1].id, before.seats[1].id, seats::id_len);
    assert_int_equal((int) t.seats[1].st, (int) seats::state::grace);
}

static void
an_older_ticket_of_a_held_id_joins_as_new(void **)
{
    seats::table   t = seats::make(3);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    /* the seat of id 'T' is at serial 4 here */
    (void) seats::join(t, ticket_of(conn(1), 'a', 'T', 0, 3));
    assert_int_equal(t.seats[0].serial, 4);

    r = seats::join(t, ticket_of(conn(2), 'n', 'T', 0, 3));

    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_true(r.ticket_held);
    assert_int_equal(r.seat, 1);
    assert_id(t, 1, 'n');
    assert_int_equal(t.seats[1].serial, 1);
    /* the holder keeps its seat, id, secret and connection */
    assert_id(t, 0, 'T');
    assert_int_equal(t.seats[0].resume[0], 'a');
    assert_int_equal(t.seats[0].conn.session, 1);
    assert_int_equal(t.seats[0].serial, 4);
    assert_int_equal(t.participants, 2);

    /* the same after a resume moved the seat's serial on */
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::join(t, resume_of(conn(3), 'b', secret));
    assert_int_equal(t.seats[0].serial, 5);
    r = seats::join(t, ticket_of(conn(4), 'o', 'T', 0, 4));
    assert_int_equal((int) r.what, (int) verdict::seated);
    assert_true(r.ticket_held);
    assert_int_equal(r.seat, 2);
    assert_id(t, 2, 'o');
    assert_int_equal(t.seats[0].conn.session, 3);
}

static void
an_older_ticket_of_a_held_id_in_a_full_room_is_refused_full(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, ticket_of(conn(1), 'a', 'T', 0, 3));
    (void) seats::join(t, join_of(conn(2), 'b'));

    r = seats::join(t, ticket_of(conn(3), 'n', 'T', 0, 2));

    assert_int_equal((int) r.what, (int) verdict::refused_full);
    assert_true(r.ticket_held);
    assert_int_equal(r.seat, seats::none);
    assert_int_equal(t.participants, 2);
}

static void
an_older_ticket_in_a_pin_room_without_pass_is_refused_resume_only(void **)
{
    seats::table         t = seats::make(3);
    seats::join_request  j;
    seats::result        r;

    (void) seats::join(t, ticket_of(conn(1), 'a', 'T', 0, 3));
    j = ticket_of(conn(2), 'n', 'T', 0, 2);
    j.resume_only = true;

    r = seats::join(t, j);

    assert_int_equal((int) r.what, (int) verdict::refused_resume_only);
    assert_true(r.ticket_held);
    assert_int_equal(t.participants, 1);
    assert_int_equal(t.seats[0].conn.session, 1);
}

static void
a_ticket_as_new_as_the_seat_takes_it_back_from_grace(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, ticket_of(conn(1), 'a', 'T', 1, 3));  /* serial 4 */
    (void) seats::join(t, join_of(conn(2), 'b'));
    assert_int_equal(t.seats[1].serial, 4);
    (void) seats::leave(t, 1, conn(1), false, 1000);

    /* the ticket that seat was given here: serial 4 */
    r = seats::join(t, ticket_of(conn(3), 'x', 'T', 1, 4));

    assert_int_equal((int) r.what, (int) verdict::resumed);
    assert_false(r.ticket_held);
    assert_int_equal(r.seat, 1);
    assert_int_equal(r.participants, 2);
    assert_id(t, 1, 'T');
    assert_int_equal(t.seats[1].resume[0], 'x');
    assert_int_equal((int) t.seats[1].st, (int) seats::state::live);
    assert_int_equal(t.seats[1].conn.session, 3);
    assert_int_equal(t.seats[1].serial, 5);
}

static void
a_newer_ticket_replaces_a_live_holder(void **)
{
    seats::table   t = seats::make(2);
    seats::result  r;

    (void) seats::join(t, ticket_of(conn(1, 100), 'a', 'T', 0, 3));

    /* the caller moved on elsewhere (serial 9) and came back here */
    r = seats::join(t, ticket_of(conn(2, 200), 'x', 'T', 1, 9));

    assert_int_equal((int) r.what, (int) verdict::replaced);
    assert_false(r.ticket_held);
    assert_int_equal(r.seat, 0);
    assert_int_equal(r.old.session, 1);
    assert_int_equal(r.old.pid, 100);
    assert_int_equal(r.participants, 1);
    assert_id(t, 0, 'T');
    assert_int_equal(t.seats[0].conn.session, 2);
    assert_int_equal(t.seats[0].resume[0], 'x');
    assert_int_equal(t.seats[0].serial, 10);
    /* only the seat of id 'T': seat 1 stays free */
    assert_int_equal((int) t.seats[1].st, (int) seats::state::free);
}

static void
a_matching_resume_secret_wins_over_a_ticket(void **)
{
    seats::table         t = seats::make(3);
    seats::join_request  j;
    seats::result        r;

    (void) seats::join(t, join_of(conn(1), 'a'));
    (void) seats::join(t, ticket_of(conn(2), 'b', 'T', 1, 50));
    (void) seats::leave(t, 0, conn(1), false, 1000);

    /* the secret of seat 0, with a ticket naming seat 1's id */
    j = ticket_of(conn(3), 'x', 'T', 1, 99);
    std::memset(j.resume, 'a', sizeof(j.resume));
    r = seats::join(t, j);

    assert_int_equal((int) r.what, (int) verdict::resumed);
    assert_int_equal(r.seat, 0);
    assert_false(r.ticket_held);
    assert_id(t, 0, 'a');
    assert_int_equal(t.seats[0].serial, 2);
    /* seat 1 untouched */
    assert_id(t, 1, 'T');
    assert_int_equal(t.seats[1].conn.session, 2);
    assert_int_equal(t.seats[1].serial, 51);
}

static void
a_pin_room_gives_a_ticket_its_seat_without_the_pass(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  j = ticket_of(conn(1), 'x', 'T', 1, 2);
    seats::result        r;

    j.resume_only = true;
    r = seats::join(t, j);

    assert_int_equal((int) r.what, (int) verdict::restored);
    assert_int_equal(r.seat, 1);
    assert_id(t, 1, 'T');
    assert_true(t.moved);

    /* and without a ticket, still nothing new */
    j = join_of(conn(2), 'n');
    j.resume_only = true;
    r = seats::join(t, j);
    assert_int_equal((int) r.what, (int) verdict::refused_resume_only);
}

static void
a_restored_seat_resumes_with_its_new_secret(void **)
{
    seats::table   t = seats::make(2);
    uint8_t        secret[seats::secret_len];
    seats::result  r;

    (void) seats::join(t, ticket_of(conn(1), 'x', 'T', 0, 1));
    std::memcpy(secret, t.seats[0].resume, sizeof(secret));
    (void) seats::leave(t, 0, conn(1), false, 1000);

    r = seats::join(t, resume_of(conn(2), 'y', secret));

    assert_int_equal((int) r.what, (int) verdict::resumed);
    assert_id(t, 0, 'T');
    assert_int_equal(t.seats[0].serial, 3);
}

/* A seat freed on this node (the others were told it left) does not come
 * back from its ticket in a room entered here: the caller joins as new, as
 * with a resume secret that finds nothing. A moved room does take it. */
static void
a_ticket_of_a_seat_freed_here_joins_as_new_unless_the_room_moved(void **)
{
    seats::table         t = seats::make(2);
    seats::join_request  r = ticket_of(conn(1), 'a', 'T', 0, 3);
    seats::result        res;

    r.room_entered = true;
    res = seats::join(t, r);
    assert_int_equal((int) res.what, (int) verdict::seated);
    assert_true(res.ticket_held);
    assert_true(res.ticket_freed);
    assert_memory_equal(t.seats[res.seat].id, "aaaaaaaa", seats::id_len);
    assert_false(t.moved);

    /* once a restore moved the room here, later ones restore too */
    seats::table  m = seats::make(2);

    res = seats::join(m, ticket_of(conn(2), 'b', 'U', 0, 1));
    assert_int_equal((int) res.what, (int) verdict::restored);
    assert_true(m.moved);
    r = ticket_of(conn(3), 'c', 'V', 1, 5);
    r.room_entered = true;
    res = seats::join(m, r);
    assert_int_equal((int) res.what, (int) verdict::restored);
    assert_memory_equal(m.seats[res.seat].id, "VVVVVVVV", seats::id_len);
    assert_int_equal(m.seats[res.seat].serial, 6);
}

/* Serials saturate: a ticket at the top cannot wrap a seat back to 0. */
static void
serials_saturate(void **)
{
    seats::table   t = seats::make(2);
    seats::result  res;

    res = seats::join(t, ticket_of(conn(1), 'a', 'T', 0, UINT32_MAX));
    assert_int_equal((int) res.what, (int) verdict::restored);
    assert_int_equal(t.seats[res.seat].serial, UINT32_MAX);
    res = seats::join(t, ticket_of(conn(2), 'b', 'T', 0, 3));
    assert_true(res.ticket_held);
    assert_memory_not_equal(t.seats[res.seat].id, "TTTTTTTT", seats::id_len);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            first_join_takes_the_first_seat_with_its_new_id_and_secret),
        cmocka_unit_test(second_join_takes_the_next_seat_and_makes_it_a_call),
        cmocka_unit_test(third_join_is_refused_when_two_seats_are_held),
        cmocka_unit_test(a_room_of_four_seats_four_and_refuses_the_fifth),
        cmocka_unit_test(a_seat_in_grace_still_counts_so_the_room_stays_full),
        cmocka_unit_test(a_made_up_resume_secret_takes_a_free_seat_as_new),
        cmocka_unit_test(resume_within_grace_keeps_the_peer_id),
        cmocka_unit_test(
            a_resume_hands_out_a_new_secret_and_the_old_one_stops_working),
        cmocka_unit_test(resume_of_a_live_seat_replaces_the_old_connection),
        cmocka_unit_test(the_replaced_connection_closing_leaves_the_seat_alone),
        cmocka_unit_test(same_session_of_another_process_is_another_connection),
        cmocka_unit_test(resume_after_grace_gets_a_new_seat_and_id),
        cmocka_unit_test(bye_frees_the_seat_at_once),
        cmocka_unit_test(a_drop_keeps_the_seat_in_grace_until_its_deadline),
        cmocka_unit_test(
            grace_expiry_frees_the_seat_at_its_deadline_and_not_before),
        cmocka_unit_test(expire_touches_only_seats_in_grace),
        cmocka_unit_test(grace_is_each_seats_own),
        cmocka_unit_test(seats_beyond_the_rooms_size_are_never_taken),
        cmocka_unit_test(pin_room_without_pass_is_refused_a_new_seat),
        cmocka_unit_test(pin_room_without_pass_takes_its_own_seat_back),
        cmocka_unit_test(
            pin_room_without_pass_is_refused_resume_only_even_when_full),
        cmocka_unit_test(pin_room_resume_after_grace_is_refused),
        cmocka_unit_test(a_dead_workers_live_seats_go_into_grace),
        cmocka_unit_test(
            beacons_are_limited_per_seat_and_kept_across_a_resume),
        cmocka_unit_test(a_freed_seat_starts_its_beacons_again),
        cmocka_unit_test(only_live_seats_are_found_by_id),
        cmocka_unit_test(others_name_every_held_seat_and_tell_the_live_ones),
        cmocka_unit_test(a_room_size_above_four_is_four),
        cmocka_unit_test(a_new_seat_has_serial_1_and_each_resume_counts_up),
        cmocka_unit_test(
            a_ticket_on_an_empty_table_restores_its_id_and_marks_the_room_moved),
        cmocka_unit_test(a_restore_prefers_the_tickets_own_seat),
        cmocka_unit_test(
            a_ticket_of_a_seat_freed_here_joins_as_new_unless_the_room_moved),
        cmocka_unit_test(serials_saturate),
        cmocka_unit_test(a_tickets_seat_beyond_the_rooms_size_is_not_taken),
        cmocka_unit_test(a_restore_into_a_full_room_is_refused_full),
        cmocka_unit_test(an_older_ticket_of_a_held_id_joins_as_new),
        cmocka_unit_test(
            an_older_ticket_of_a_held_id_in_a_full_room_is_refused_full),
        cmocka_unit_test(
            an_older_ticket_in_a_pin_room_without_pass_is_refused_resume_only),
        cmocka_unit_test(a_ticket_as_new_as_the_seat_takes_it_back_from_grace),
        cmocka_unit_test(a_newer_ticket_replaces_a_live_holder),
        cmocka_unit_test(a_matching_resume_secret_wins_over_a_ticket),
        cmocka_unit_test(a_pin_room_gives_a_ticket_its_seat_without_the_pass),
        cmocka_unit_test(a_restored_seat_resumes_with_its_new_secret),
    };

    return cmocka_run_group_tests_name("seats", tests, NULL, NULL);
}
