// The WebSocket opening handshake's pure parts.
#include "cmocka_cxx.h"

#include "ws_handshake.h"

#include <string>

using namespace webcall::ws;

static void
accept_matches_the_rfc_example(void **)
{
    char out[accept_len];

    assert_true(accept_value("dGhlIHNhbXBsZSBub25jZQ==", out));
    assert_memory_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", accept_len);
}

static void
key_of_16_base64_bytes_is_valid(void **)
{
    assert_true(key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_true(key_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
}

static void
key_of_other_shapes_is_refused(void **)
{
    assert_false(key_valid(""));
    assert_false(key_valid("dGhlIHNhbXBsZSBub25jZQ="));
    assert_false(key_valid("dGhlIHNhbXBsZSBub25jZQ==="));
    assert_false(key_valid("dGhlIHNhbXBsZSBub25j*Q=="));
    assert_false(key_valid("dGhlIHNhbXBsZSBub25jZXM="));   /* 17 bytes */
    assert_false(key_valid("short"));
}

static void
header_token_is_found_in_a_list_case_insensitively(void **)
{
    assert_true(header_has_token("Upgrade", "upgrade"));
    assert_true(header_has_token("keep-alive, Upgrade", "upgrade"));
    assert_true(header_has_token("keep-alive,upgrade ", "upgrade"));
    assert_false(header_has_token("keep-alive", "upgrade"));
    assert_false(header_has_token("upgraded", "upgrade"));
    assert_false(header_has_token("", "upgrade"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_matches_the_rfc_example),
        cmocka_unit_test(key_of_16_base64_bytes_is_valid),
        cmocka_unit_test(key_of_other_shapes_is_refused),
        cmocka_unit_test(header_token_is_found_in_a_list_case_insensitively),
    };

    return cmocka_run_group_tests_name("ws_handshake", tests, NULL, NULL);
}
