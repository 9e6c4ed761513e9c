// Unit tests for rate_window: message and byte token buckets on a clock the
// test drives, including a clock that stands still or steps back.
#include "rate_window.h"

#include "cmocka_cxx.h"

using namespace webcall::rate;

namespace {

constexpr uint64_t t0 = 1'000'000;

// Messages only: bytes off.
limiter messages(uint32_t per_second, uint32_t burst)
{
    limiter l;
    init(l, config{{per_second, burst}, {0, 0}}, t0);
    return l;
}

// Bytes only: messages off.
limiter bytes(uint32_t per_second, uint32_t burst)
{
    limiter l;
    init(l, config{{0, 0}, {per_second, burst}}, t0);
    return l;
}

// How many messages of this size pass at one instant.
unsigned drain(limiter& l, uint64_t now, size_t size)
{
    unsigned n = 0;
    while (n < 100000 && allow(l, now, size))
        ++n;
    return n;
}

void fresh_limiter_allows_the_message_burst(void**)
{
    limiter l = messages(50, 200);
    assert_int_equal(drain(l, t0, 10), 200);
}

void messages_refill_at_the_configured_rate(void**)
{
    limiter l = messages(50, 200);
    drain(l, t0, 1);
    assert_false(allow(l, t0 + 19, 1));  // 50/s is one per 20 ms
    assert_true(allow(l, t0 + 20, 1));
    assert_false(allow(l, t0 + 20, 1));
    assert_int_equal(drain(l, t0 + 1020, 1), 50);
}

void fractional_refill_is_not_lost_between_calls(void**)
{
    limiter l = messages(3, 1);
    assert_true(allow(l, t0, 1));
    // 3/s is one per 333.3 ms; many small steps must add up exactly.
    for (uint64_t t = t0 + 1; t < t0 + 334; ++t)
        assert_false(allow(l, t, 1));
    assert_true(allow(l, t0 + 334, 1));
}

void long_idle_refills_only_up_to_the_burst(void**)
{
    limiter l = messages(50, 200);
    drain(l, t0, 1);
    assert_int_equal(drain(l, t0 + 3'600'000, 1), 200);
}

void byte_burst_limits_large_messages(void**)
{
    limiter l = bytes(256 * 1024, 1024 * 1024);
    assert_int_equal(drain(l, t0, 64 * 1024), 16);
    assert_false(allow(l, t0, 1));
    assert_true(allow(l, t0, 0));
}

void bytes_refill_at_the_configured_rate(void**)
{
    limiter l = bytes(1000, 1000);
    assert_true(allow(l, t0, 1000));
    assert_false(allow(l, t0 + 99, 100));
    assert_true(allow(l, t0 + 100, 100));
    assert_false(allow(l, t0 + 100, 1));
}

void message_larger_than_the_byte_burst_never_passes(void**)
{
    limiter l = bytes(1000, 1000);
    assert_false(allow(l, t0, 1001));
    assert_false(allow(l, t0 + 3'600'000, 1001));
    assert_false(allow(l, t0, SIZE_MAX));
    assert_true(allow(l, t0, 1000));
}

void message_limit_denies_while_bytes_remain(void**)
{
    limiter l;
    init(l, config{{10, 2}, {1000, 1000}}, t0);
    assert_true(allow(l, t0, 1));
    assert_true(allow(l, t0, 1));
    assert_false(allow(l, t0, 1));
}

void byte_limit_denies_while_messages_remain(void**)
{
    limiter l;
    init(l, config{{10, 100}, {1000, 1000}}, t0);
    assert_true(allow(l, t0, 600));
    assert_false(allow(l, t0, 600));
    assert_true(allow(l, t0, 400));
}

void denied_message_charges_nothing(void**)
{
    limiter l;
    init(l, config{{10, 5}, {1000, 1000}}, t0);
    assert_true(allow(l, t0, 900));
    for (int i = 0; i < 10; ++i)
        assert_false(allow(l, t0, 200));  // bytes short: no message charged
    assert_int_equal(drain(l, t0, 0), 4);
}

void clock_standing_still_does_not_refill(void**)
{
    limiter l = messages(1000, 5);
    assert_int_equal(drain(l, t0, 1), 5);
    for (int i = 0; i < 100; ++i)
        assert_false(allow(l, t0, 1));
}

void clock_going_backwards_does_not_refill(void**)
{
    limiter l = messages(1000, 5);
    assert_int_equal(drain(l, t0, 1), 5);
    assert_false(allow(l, t0 - 500, 1));
    assert_false(allow(l, 0, 1));
    // Back at the old time the interval since t0 is empty: still nothing.
    assert_false(allow(l, t0, 1));
    assert_int_equal(drain(l, t0 + 2, 1), 2);
}

void clock_jump_to_the_far_future_does_not_overflow(void**)
{
    limiter l;
    init(l, config{{UINT32_MAX, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}}, 0);
    assert_true(allow(l, 0, UINT32_MAX));
    assert_true(allow(l, UINT64_MAX, UINT32_MAX));
    assert_false(allow(l, UINT64_MAX, 1));
}

void zero_burst_switches_a_limit_off(void**)
{
    limiter l;
    init(l, config{{0, 0}, {0, 0}}, t0);
    assert_int_equal(drain(l, t0, SIZE_MAX), 100000);
}

void zeroed_limiter_limits_nothing(void**)
{
    limiter l{};
    assert_true(allow(l, 0, 1 << 20));
    assert_true(allow(l, 0, 1 << 20));
}

void zero_rate_never_refills(void**)
{
    limiter l = messages(0, 3);
    assert_int_equal(drain(l, t0, 1), 3);
    assert_false(allow(l, t0 + 3'600'000, 1));
}

void defaults_match_the_protocol(void**)
{
    assert_int_equal(defaults.messages.per_second, 50);
    assert_int_equal(defaults.messages.burst, 200);
    assert_int_equal(defaults.bytes.per_second, 256 * 1024);
    assert_int_equal(defaults.bytes.burst, 1024 * 1024);
}

}  // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(fresh_limiter_allows_the_message_burst),
        cmocka_unit_test(messages_refill_at_the_configured_rate),
        cmocka_unit_test(fractional_refill_is_not_lost_between_calls),
        cmocka_unit_test(long_idle_refills_only_up_to_the_burst),
        cmocka_unit_test(byte_burst_limits_large_messages),
        cmocka_unit_test(bytes_refill_at_the_configured_rate),
        cmocka_unit_test(message_larger_than_the_byte_burst_never_passes),
        cmocka_unit_test(message_limit_denies_while_bytes_remain),
        cmocka_unit_test(byte_limit_denies_while_messages_remain),
        cmocka_unit_test(denied_message_charges_nothing),
        cmocka_unit_test(clock_standing_still_does_not_refill),
        cmocka_unit_test(clock_going_backwards_does_not_refill),
        cmocka_unit_test(clock_jump_to_the_far_future_does_not_overflow),
        cmocka_unit_test(zero_burst_switches_a_limit_off),
        cmocka_unit_test(zeroed_limiter_limits_nothing),
        cmocka_unit_test(zero_rate_never_refills),
        cmocka_unit_test(defaults_match_the_protocol),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
