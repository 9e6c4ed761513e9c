// The seat state machine: claiming, a full room, resuming within and after
// grace, a resume that replaces an open connection, bye, grace expiry, a
// dead worker's seats, a PIN room's resume-only joins, beacons.
#include "cmocka_cxx.h"

#include <cstring>

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
    };

    return cmocka_run_group_tests_name("seats", tests, NULL, NULL);
}
