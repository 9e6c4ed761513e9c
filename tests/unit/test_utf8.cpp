// Unit tests for the strict incremental UTF-8 validator (utf8.h), including
// an exhaustive comparison with a plain decode-then-check reference.
#include "cmocka_cxx.h"

#include <string_view>

#include "utf8.h"

using webcall::utf8::valid;
using webcall::utf8::validator;

namespace {

const uint8_t *u8(std::string_view s)
{
    return reinterpret_cast<const uint8_t *>(s.data());
}

bool valid_sv(std::string_view s)
{
    return valid(u8(s), s.size());
}

// Oracle written the other way round from the state machine: decode by bit
// pattern first, then apply RFC 3629's rules to the code point.
bool reference_valid(const uint8_t *p, size_t n)
{
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < n;) {
        uint8_t b = p[i];
        size_t len;
        uint32_t cp;
        if (b < 0x80) { i++; continue; }
        if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
        else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
        else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min_for_len[len] || cp > 0x10FFFF) return false;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        i += len;
    }
    return true;
}

// Feeds s cut at every position and checks the verdict never changes.
void check_every_split(std::string_view s, bool expected)
{
    for (size_t cut = 0; cut <= s.size(); cut++) {
        validator v;
        bool ok = v.feed(u8(s), cut);
        ok = v.feed(u8(s) + cut, s.size() - cut) && ok;
        assert_int_equal(ok && v.complete(), expected);
    }
}

}  // namespace

static void empty_and_ascii_are_valid(void **)
{
    assert_true(valid(nullptr, 0));
    assert_true(valid_sv("hello, world\x7f"));
    assert_true(valid_sv(std::string_view("a\0b", 3)));
}

static void multibyte_sequences_are_valid(void **)
{
    assert_true(valid_sv("\xC2\x80"));               // U+0080
    assert_true(valid_sv("h\xC3\xA9llo"));           // é
    assert_true(valid_sv("\xE2\x82\xAC"));           // €
    assert_true(valid_sv("\xED\x9F\xBF"));           // U+D7FF
    assert_true(valid_sv("\xEE\x80\x80"));           // U+E000
    assert_true(valid_sv("\xEF\xBF\xBF"));           // U+FFFF
    assert_true(valid_sv("\xF0\x9D\x84\x9E"));       // 𝄞
    assert_true(valid_sv("\xF4\x8F\xBF\xBF"));       // U+10FFFF
}

static void overlong_forms_are_refused(void **)
{
    assert_false(valid_sv("\xC0\x80"));
    assert_false(valid_sv("\xC1\xBF"));
    assert_false(valid_sv("\xE0\x80\x80"));
    assert_false(valid_sv("\xE0\x9F\xBF"));
    assert_false(valid_sv("\xF0\x80\x80\x80"));
    assert_false(valid_sv("\xF0\x8F\xBF\xBF"));
}

static void surrogates_are_refused(void **)
{
    assert_false(valid_sv("\xED\xA0\x80"));          // U+D800
    assert_false(valid_sv("\xED\xBF\xBF"));          // U+DFFF
    assert_false(valid_sv("\xED\xA0\xBD\xED\xB2\xA9"));   // CESU pair
}

static void code_points_beyond_10ffff_are_refused(void **)
{
    assert_false(valid_sv("\xF4\x90\x80\x80"));
    assert_false(valid_sv("\xF5\x80\x80\x80"));
    assert_false(valid_sv("\xF7\xBF\xBF\xBF"));
    assert_false(valid_sv("\xFE"));
    assert_false(valid_sv("\xFF"));
}

static void stray_continuation_bytes_are_refused(void **)
{
    assert_false(valid_sv("\x80"));
    assert_false(valid_sv("a\xBF"));
    assert_false(valid_sv("\xC3\xA9\xA9"));
}

static void truncated_sequence_is_incomplete_not_invalid(void **)
{
    validator v;
    assert_true(v.feed(u8("a\xE2\x82"), 3));
    assert_false(v.complete());
    assert_false(valid_sv("a\xE2\x82"));
    assert_false(valid_sv("\xF0\x9D\x84"));
    assert_false(valid_sv("\xC3"));
}

static void split_feeding_gives_the_same_verdict(void **)
{
    check_every_split("h\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E!", true);
    check_every_split("\xF4\x8F\xBF\xBF\xEF\xBF\xBF", true);
    check_every_split("ok \xED\xA0\x80 ok", false);
    check_every_split("ok \xF4\x90\x80\x80", false);
    check_every_split("ok \xE2\x82", false);
}

static void bad_byte_fails_in_the_chunk_that_carries_it(void **)
{
    validator v;
    assert_true(v.feed(u8("\xE0"), 1));
    assert_false(v.feed(u8("\x80"), 1));
}

static void invalid_state_is_sticky(void **)
{
    validator v;
    assert_false(v.feed(u8("\xFF"), 1));
    assert_false(v.feed(u8("abc"), 3));
    assert_false(v.feed(nullptr, 0));
    assert_false(v.complete());
}

static void garbage_state_counts_as_invalid(void **)
{
    validator v;
    v.state = 12345;
    assert_false(v.feed(u8("a"), 1));
    assert_false(v.complete());
}

// Every 1-, 2- and 3-byte input whose first byte is not ASCII (ASCII-first
// inputs reduce to shorter ones), and 4-byte inputs around the edges.
static void agrees_with_reference_decoder(void **)
{
    uint8_t b[4];
    for (unsigned x = 0; x < 0x10000; x++) {
        b[0] = uint8_t(x >> 8), b[1] = uint8_t(x);
        assert_int_equal(valid(b, 1), reference_valid(b, 1));
        assert_int_equal(valid(b, 2), reference_valid(b, 2));
    }
    for (unsigned x = 0x800000; x < 0x1000000; x++) {
        b[0] = uint8_t(x >> 16), b[1] = uint8_t(x >> 8), b[2] = uint8_t(x);
        if (valid(b, 3) != reference_valid(b, 3))
            fail_msg("3-byte mismatch at %06x", x);
    }
    static const uint8_t edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90,
                                    0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    for (unsigned lead = 0xE0; lead <= 0xFF; lead++)
        for (unsigned second = 0; second < 0x100; second++)
            for (uint8_t third : edges)
                for (uint8_t fourth : edges) {
                    b[0] = uint8_t(lead), b[1] = uint8_t(second);
                    b[2] = third, b[3] = fourth;
                    if (valid(b, 4) != reference_valid(b, 4))
                        fail_msg("4-byte mismatch at %02x%02x%02x%02x",
                                 b[0], b[1], b[2], b[3]);
                }
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_and_ascii_are_valid),
        cmocka_unit_test(multibyte_sequences_are_valid),
        cmocka_unit_test(overlong_forms_are_refused),
        cmocka_unit_test(surrogates_are_refused),
        cmocka_unit_test(code_points_beyond_10ffff_are_refused),
        cmocka_unit_test(stray_continuation_bytes_are_refused),
        cmocka_unit_test(truncated_sequence_is_incomplete_not_invalid),
        cmocka_unit_test(split_feeding_gives_the_same_verdict),
        cmocka_unit_test(bad_byte_fails_in_the_chunk_that_carries_it),
        cmocka_unit_test(invalid_state_is_sticky),
        cmocka_unit_test(garbage_state_counts_as_invalid),
        cmocka_unit_test(agrees_with_reference_decoder),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
