// The PIN guard's attempt limit: tries, locks that double up to a cap, and
// no PIN checked while locked.
#include "cmocka_cxx.h"

#include "pin_throttle.h"

using namespace webcall;

static const pin_throttle::config policy{5, 60, 3600};

static void
fresh_room_allows_every_try(void **)
{
    pin_throttle::state   s{};
    pin_throttle::answer  a = pin_throttle::check(policy, s, 1000);

    assert_false(a.locked);
    assert_int_equal(a.tries_left, 5);
}

static void
each_wrong_pin_uses_up_a_try_and_the_last_locks(void **)
{
    pin_throttle::state   s{};
    pin_throttle::answer  a;

    for (unsigned left = 4; left > 0; left--) {
        assert_false(pin_throttle::check(policy, s, 1000).locked);
        a = pin_throttle::wrong(policy, s, 1000);
        assert_false(a.locked);
        assert_int_equal(a.tries_left, left);
    }

    a = pin_throttle::wrong(policy, s, 1000);
    assert_true(a.locked);
    assert_int_equal(a.tries_left, 0);
    assert_int_equal(a.retry_after, 60);
}

static void
locked_room_refuses_until_the_cool_down_ends(void **)
{
    pin_throttle::state   s{};
    pin_throttle::answer  a;

    for (int i = 0; i < 5; i++) {
        (void) pin_throttle::wrong(policy, s, 1000);
    }

    a = pin_throttle::check(policy, s, 1030);
    assert_true(a.locked);
    assert_int_equal(a.retry_after, 30);
    assert_true(pin_throttle::check(policy, s, 1059).locked);

    /* then a full set of tries again */
    a = pin_throttle::check(policy, s, 1060);
    assert_false(a.locked);
    assert_int_equal(a.tries_left, 5);
}

static void
each_further_lock_doubles_up_to_the_cap(void **)
{
    pin_throttle::state   s{};
    pin_throttle::answer  a{};
    int64_t               now = 0;
    int64_t               want[] = {60, 120, 240, 480, 960, 1920, 3600,
                                    3600};

    for (int64_t len : want) {
        for (int i = 0; i < 5; i++) {
            a = pin_throttle::wrong(policy, s, now);
        }
        assert_true(a.locked);
        assert_int_equal(a.retry_after, len);
        now += len;
    }

    /* the count of locks stops growing, the length stays capped */
    s.locks = 254;
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 5; j++) {
            a = pin_throttle::wrong(policy, s, now);
        }
        assert_int_equal(a.retry_after, 3600);
        now += 3600;
    }
    assert_int_equal(s.locks, 255);
}

static void
lock_length_never_overflows(void **)
{
    pin_throttle::config c{1, 1, 86400};

    assert_int_equal(pin_throttle::lock_length(c, 1), 1);
    assert_int_equal(pin_throttle::lock_length(c, 2), 2);
    assert_int_equal(pin_throttle::lock_length(c, 255), 86400);
    assert_int_equal(pin_throttle::lock_length(c, 0xffffffffu), 86400);
}

static void
a_single_try_policy_locks_at_once(void **)
{
    pin_throttle::config  one{1, 10, 10};
    pin_throttle::state   s{};
    pin_throttle::answer  a = pin_throttle::wrong(one, s, 5);

    assert_true(a.locked);
    assert_int_equal(a.retry_after, 10);
    assert_true(pin_throttle::check(one, s, 14).locked);
    assert_false(pin_throttle::check(one, s, 15).locked);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_room_allows_every_try),
        cmocka_unit_test(each_wrong_pin_uses_up_a_try_and_the_last_locks),
        cmocka_unit_test(locked_room_refuses_until_the_cool_down_ends),
        cmocka_unit_test(each_further_lock_doubles_up_to_the_cap),
        cmocka_unit_test(lock_length_never_overflows),
        cmocka_unit_test(a_single_try_policy_locks_at_once),
    };

    return cmocka_run_group_tests_name("pin_throttle", tests, NULL, NULL);
}
