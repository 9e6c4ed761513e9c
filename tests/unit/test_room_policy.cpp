// Room lifetimes: when a link expires and when the zone may drop a record.
#include "cmocka_cxx.h"

#include "room_policy.h"

using namespace webcall::room_policy;

static const limits L{7 * 86400, 300};

static void
new_room_link_lives_ttl_from_creation(void **)
{
    record r = create(L, 1000, 1000);

    assert_true(link_valid(r, 1000 + L.ttl - 1));
    assert_false(link_valid(r, 1000 + L.ttl));
}

static void
a_visit_extends_the_link_to_ttl_after_it(void **)
{
    record r = create(L, 1000, 1000);

    visit(L, r, 5000);
    assert_true(link_valid(r, 5000 + L.ttl - 1));
    assert_false(link_valid(r, 5000 + L.ttl));
}

static void
a_late_visit_never_shortens_the_link(void **)
{
    record r = create(L, 1000, 9000);

    visit(L, r, 2000);   /* a clock step back */
    assert_true(link_valid(r, 9000 + L.ttl - 1));
    assert_int_equal(r.last_visit, 9000);
}

static void
occupied_room_never_expires_nor_is_reclaimed(void **)
{
    record r = create(L, 1000, 1000);

    r.participants = 1;
    r.entered = true;
    assert_true(link_valid(r, 1000 + 10 * L.ttl));
    assert_int_equal(reclaim_at(L, r), 0);
    assert_int_equal((int) queue_of(r), (int) queue::none);
}

static void
never_entered_room_record_goes_after_empty_ttl(void **)
{
    record r = create(L, 1000, 1000);

    assert_int_equal(reclaim_at(L, r), 1000 + L.empty_ttl);
    assert_int_equal((int) queue_of(r), (int) queue::fresh);
}

static void
link_of_reclaimed_fresh_room_still_lives_ttl_from_issue(void **)
{
    assert_int_equal(valid_until_without_record(L, 1000), 1000 + L.ttl);
}

static void
entered_room_record_stays_until_its_link_expires(void **)
{
    record r = create(L, 1000, 1000);

    r.entered = true;
    visit(L, r, 2000);
    assert_int_equal(reclaim_at(L, r), 2000 + L.ttl);
    assert_int_equal((int) queue_of(r), (int) queue::used);
}

static void
empty_ttl_longer_than_ttl_is_capped_by_the_link(void **)
{
    const limits short_ttl{2, 60};
    record       r = create(short_ttl, 1000, 1000);

    assert_int_equal(reclaim_at(short_ttl, r), 1002);
}

static void
room_recreated_after_a_wipe_keeps_its_original_expiry_or_later(void **)
{
    /* issued long ago, seen again now: lives ttl from now */
    record r = create(L, 1000, 1000 + 3 * 86400);

    assert_int_equal(r.valid_until, 1000 + 3 * 86400 + L.ttl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_room_link_lives_ttl_from_creation),
        cmocka_unit_test(a_visit_extends_the_link_to_ttl_after_it),
        cmocka_unit_test(a_late_visit_never_shortens_the_link),
        cmocka_unit_test(occupied_room_never_expires_nor_is_reclaimed),
        cmocka_unit_test(never_entered_room_record_goes_after_empty_ttl),
        cmocka_unit_test(link_of_reclaimed_fresh_room_still_lives_ttl_from_issue),
        cmocka_unit_test(entered_room_record_stays_until_its_link_expires),
        cmocka_unit_test(empty_ttl_longer_than_ttl_is_capped_by_the_link),
        cmocka_unit_test(room_recreated_after_a_wipe_keeps_its_original_expiry_or_later),
    };

    return cmocka_run_group_tests_name("room_policy", tests, NULL, NULL);
}
