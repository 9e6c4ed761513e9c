// The per-client key: IPv4 as is, IPv6 by its /64, IPv4-mapped as IPv4.
#include "client_key.h"
#include "cmocka_cxx.h"

#include <arpa/inet.h>

using webcall::client_key::of;
using webcall::client_key::max_len;

static size_t key6(const char *text, uint8_t out[max_len])
{
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, text, a), 1);
    return of(a, true, out);
}

static void ipv4_is_the_address(void **)
{
    uint8_t a[4], out[max_len];
    assert_int_equal(inet_pton(AF_INET, "198.18.7.9", a), 1);
    assert_int_equal(of(a, false, out), 4);
    assert_memory_equal(out, a, 4);
}

static void ipv6_addresses_in_one_64_share_a_key(void **)
{
    uint8_t k1[max_len], k2[max_len], k3[max_len];
    assert_int_equal(key6("2001:db8:1:2::1", k1), 8);
    assert_int_equal(key6("2001:db8:1:2:ffff:eeee:dddd:cccc", k2), 8);
    assert_memory_equal(k1, k2, 8);
    assert_int_equal(key6("2001:db8:1:3::1", k3), 8);
    assert_memory_not_equal(k1, k3, 8);
}

static void ipv4_mapped_counts_as_ipv4(void **)
{
    uint8_t k6[max_len], k4[max_len], a[4];
    assert_int_equal(key6("::ffff:198.18.0.5", k6), 4);
    assert_int_equal(inet_pton(AF_INET, "198.18.0.5", a), 1);
    assert_int_equal(of(a, false, k4), 4);
    assert_memory_equal(k6, k4, 4);
}

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_is_the_address),
        cmocka_unit_test(ipv6_addresses_in_one_64_share_a_key),
        cmocka_unit_test(ipv4_mapped_counts_as_ipv4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
