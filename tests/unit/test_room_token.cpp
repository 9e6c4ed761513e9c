// Room tokens and base58: known vectors, round trips, and every way a link
// can be damaged or forged.
#include "cmocka_cxx.h"

#include "base58.h"
#include "room_token.h"

#include <cstring>
#include <string>

using namespace webcall;

static std::string
b58(const std::string &bytes)
{
    char   out[128];
    size_t n = base58::encode(
        reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), out,
        sizeof(out));
    return std::string(out, n);
}

static void
base58_matches_known_vectors(void **)
{
    assert_string_equal(b58("Hello World!").c_str(), "2NEpo7TZRRrLZSi2U");
    assert_string_equal(b58("\x61").c_str(), "2g");
    assert_string_equal(b58("\x62\x62\x62").c_str(), "a3gV");
    assert_string_equal(b58(std::string("\x00\x00\x28\x7f\xb4\xcd", 6)).c_str(),
                        "11233QC4");
}

static void
base58_decodes_what_it_encodes(void **)
{
    uint8_t in[34], out[34];
    char    text[64];

    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(in); i++) {
            in[i] = static_cast<uint8_t>((round * 31 + i * 7) & 0xff);
        }
        in[0] = static_cast<uint8_t>(round % 3);   /* leading zeros too */
        size_t n = base58::encode(in, sizeof(in), text, sizeof(text));
        assert_true(n > 0);
        assert_true(base58::decode_fixed(std::string_view(text, n), out,
                                         sizeof(out)));
        assert_memory_equal(in, out, sizeof(in));
    }
}

static void
base58_refuses_lookalike_characters(void **)
{
    uint8_t out[4];

    assert_false(base58::decode_fixed("2g0", out, sizeof(out)));
    assert_false(base58::decode_fixed("2gO", out, sizeof(out)));
    assert_false(base58::decode_fixed("2gI", out, sizeof(out)));
    assert_false(base58::decode_fixed("2gl", out, sizeof(out)));
    assert_false(base58::decode_fixed("2g+", out, sizeof(out)));
}

static void
base58_refuses_a_value_too_big_for_the_buffer(void **)
{
    uint8_t out[2];

    /* 58^4 > 65535 */
    assert_false(base58::decode_fixed("zzzz", out, sizeof(out)));
    assert_true(base58::decode_fixed("LUv", out, sizeof(out)));
}

static void
base58_encode_reports_a_short_buffer(void **)
{
    char out[3];

    assert_int_equal(base58::encode(
        reinterpret_cast<const uint8_t *>("Hello"), 5, out, sizeof(out)), 0);
}

static room_token::key
test_key(const char *secret)
{
    return room_token::derive_key(
        reinterpret_cast<const uint8_t *>(secret), std::strlen(secret));
}

static std::string
mint_fixed(const room_token::key &k, uint8_t fill, uint8_t maxp,
           uint32_t now, room_token::room *r = nullptr)
{
    uint8_t id[room_token::id_len];
    char    text[room_token::text_max];

    std::memset(id, fill, sizeof(id));
    size_t n = room_token::mint_with(k, id, maxp, now, text, sizeof(text), r);
    assert_true(n > 0);
    return std::string(text, n);
}

static void
genuine_token_is_recognised_with_its_settings(void **)
{
    room_token::key  k = test_key("0123456789abcdef0123456789abcdef");
    room_token::room minted, seen;

    std::string t = mint_fixed(k, 0xab, 3, 1800000000, &minted);
    assert_int_equal(room_token::verify(k, t, &seen),
                     (int) room_token::verdict::ok);
    assert_memory_equal(seen.id, minted.id, room_token::id_len);
    assert_int_equal(seen.max_participants, 3);
    assert_int_equal(seen.issued, 1800000000u);
}

static void
token_is_url_safe_base58_of_fixed_length(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");

    for (int fill = 0; fill < 256; fill += 17) {
        std::string t = mint_fixed(k, static_cast<uint8_t>(fill), 2, 1);
        assert_int_equal(t.size(), 46);
        for (char c : t) {
            assert_true(base58::is_char(c));
        }
    }
}

static void
minted_tokens_carry_128_random_bits(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    char            a[room_token::text_max], b[room_token::text_max];
    room_token::room ra, rb;

    size_t na = room_token::mint(k, 2, 100, a, sizeof(a), &ra);
    size_t nb = room_token::mint(k, 2, 100, b, sizeof(b), &rb);
    assert_true(na > 0 && nb > 0);
    assert_memory_not_equal(ra.id, rb.id, room_token::id_len);
}

static void
token_signed_with_another_secret_is_forged(void **)
{
    room_token::key mine = test_key("0123456789abcdef0123456789abcdef");
    room_token::key other = test_key("fedcba9876543210fedcba9876543210");

    std::string t = mint_fixed(other, 1, 2, 5);
    assert_int_equal(room_token::verify(mine, t, nullptr),
                     (int) room_token::verdict::forged);
}

static void
every_altered_character_makes_the_token_refused(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    std::string     t = mint_fixed(k, 9, 2, 5);

    for (size_t i = 0; i < t.size(); i++) {
        std::string bad = t;
        bad[i] = (bad[i] == 'z') ? 'y' : 'z';
        room_token::verdict v = room_token::verify(k, bad, nullptr);
        assert_int_not_equal((int) v, (int) room_token::verdict::ok);
    }
}

static void
damaged_text_is_malformed_not_forged(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    std::string     t = mint_fixed(k, 9, 2, 5);

    assert_int_equal(room_token::verify(k, t.substr(0, 20), nullptr),
                     (int) room_token::verdict::malformed);
    assert_int_equal(room_token::verify(k, t + "zz", nullptr),
                     (int) room_token::verdict::malformed);
    assert_int_equal(room_token::verify(k, "0" + t.substr(1), nullptr),
                     (int) room_token::verdict::malformed);
    assert_int_equal(room_token::verify(k, "", nullptr),
                     (int) room_token::verdict::malformed);
    /* the same number written with a leading '1' is not the same link */
    assert_int_equal(room_token::verify(k, "1" + t, nullptr),
                     (int) room_token::verdict::malformed);
}

static void
derived_key_depends_on_every_secret_byte(void **)
{
    room_token::key a = test_key("0123456789abcdef0123456789abcdef");
    room_token::key b = test_key("0123456789abcdef0123456789abcdeF");

    assert_memory_not_equal(a.bytes, b.bytes, sizeof(a.bytes));
}

static void
one_time_travels_in_the_signed_token(void **)
{
    room_token::key  k = test_key("0123456789abcdef0123456789abcdef");
    uint8_t          id[room_token::id_len] = {7};
    room_token::room minted{}, back{};
    char             text[room_token::text_max];
    size_t           n;

    for (bool one_time : {false, true}) {
        n = room_token::mint_with(k, id, 4, 1796000000, text, sizeof(text),
                                  &minted, one_time);
        assert_true(n > 0);
        assert_int_equal((int) room_token::verify(k, std::string_view(text, n),
                                                  &back),
                         (int) room_token::verdict::ok);
        assert_int_equal(back.max_participants, 4);
        assert_int_equal(back.one_time, one_time);
        assert_int_equal(minted.one_time, one_time);
    }
    /* the flag's bit is not a participant count */
    assert_int_equal(room_token::mint_with(k, id, room_token::one_time_bit | 2,
                                           1, text, sizeof(text), nullptr),
                     0);
}

static void
owner_key_belongs_to_its_room_and_secret(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    room_token::key other = test_key("0123456789abcdef0123456789abcdeX");
    uint8_t         id[room_token::id_len] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                              11, 12, 13, 14, 15, 16};
    uint8_t         id2[room_token::id_len];
    char            text[room_token::owner_text_max], again[64];
    size_t          n;

    n = room_token::owner_key(k, id, text, sizeof(text));
    assert_true(n >= 20 && n <= room_token::owner_text_max);
    /* the same room gives the same key: nothing needs storing */
    assert_int_equal(room_token::owner_key(k, id, again, sizeof(again)), n);
    assert_memory_equal(text, again, n);
    assert_true(room_token::owner_matches(k, id, std::string_view(text, n)));

    /* another room, another secret, an altered or cut key: refused */
    std::memcpy(id2, id, sizeof(id));
    id2[15] ^= 1;
    assert_false(room_token::owner_matches(k, id2, std::string_view(text, n)));
    assert_false(room_token::owner_matches(other, id,
                                           std::string_view(text, n)));
    for (size_t i = 0; i < n; i++) {
        std::string bad(text, n);
        bad[i] = bad[i] == 'z' ? 'y' : 'z';
        assert_false(room_token::owner_matches(k, id, bad));
    }
    assert_false(room_token::owner_matches(k, id,
                                           std::string_view(text, n - 1)));
    assert_false(room_token::owner_matches(k, id, ""));
    assert_false(room_token::owner_matches(k, id, std::string(200, 'z')));
    assert_false(room_token::owner_matches(k, id, "0OIl0OIl0OIl0OIl0OIl"));
    /* a short buffer */
    assert_int_equal(room_token::owner_key(k, id, again, 4), 0);
}


static void
pin_room_token_keeps_its_length_and_knows_its_pin(void **)
{
    room_token::key  k = test_key("0123456789abcdef0123456789abcdef");
    uint8_t          id[room_token::id_len] = {3, 1, 4, 1, 5};
    room_token::room minted{}, back{};
    char             text[room_token::text_max];
    size_t           n;

    for (const char *pin : {"1234", "000000", "90210"}) {
        n = room_token::mint_with(k, id, 4, 1796000000, text, sizeof(text),
                                  &minted, true, pin);
        assert_int_equal(n, 46);
        assert_int_equal((int) room_token::verify(k, std::string_view(text, n),
                                                  &back),
                         (int) room_token::verdict::ok);
        assert_true(back.pin);
        assert_true(back.one_time);
        assert_int_equal(back.max_participants, 4);
        assert_memory_equal(back.pin_tag, minted.pin_tag,
                            room_token::pin_tag_len);
        assert_true(room_token::pin_matches(k, back, pin));
    }
}

static void
wrong_pin_is_not_the_rooms_pin(void **)
{
    room_token::key  k = test_key("0123456789abcdef0123456789abcdef");
    room_token::key  other = test_key("0123456789abcdef0123456789abcdeX");
    uint8_t          id[room_token::id_len] = {9};
    room_token::room r{};
    char             text[room_token::text_max];

    assert_true(room_token::mint_with(k, id, 2, 1, text, sizeof(text), &r,
                                      false, "4821") > 0);
    assert_true(room_token::pin_matches(k, r, "4821"));
    for (const char *bad : {"4820", "48210", "04821", "1284", "", "482",
                            "4821a", "1234567", "48 21"}) {
        assert_false(room_token::pin_matches(k, r, bad));
    }
    /* the tag is under the server key */
    assert_false(room_token::pin_matches(other, r, "4821"));
}

static void
room_without_pin_matches_no_pin(void **)
{
    room_token::key  k = test_key("0123456789abcdef0123456789abcdef");
    room_token::room r{}, back{};
    std::string      t = mint_fixed(k, 5, 2, 7, &r);

    assert_int_equal((int) room_token::verify(k, t, &back),
                     (int) room_token::verdict::ok);
    assert_false(back.pin);
    assert_false(room_token::pin_matches(k, back, "0000"));
}

static void
pin_that_is_not_4_to_6_digits_mints_nothing(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    uint8_t         id[room_token::id_len] = {1};
    char            text[room_token::text_max];

    for (const char *bad : {"123", "1234567", "12a4", "-1234", "12.4",
                            "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4"}) {
        assert_int_equal(room_token::mint_with(k, id, 2, 1, text,
                                               sizeof(text), nullptr, false,
                                               bad),
                         0);
    }
    /* the flag's bit is not a participant count either */
    assert_int_equal(room_token::mint_with(k, id, room_token::pin_bit | 2, 1,
                                           text, sizeof(text), nullptr),
                     0);
}

/* Flip the pin flag of a minted token, keep every other byte. */
static std::string
flip_pin_flag(const std::string &t)
{
    uint8_t raw[room_token::raw_len];
    char    out[room_token::text_max];

    assert_true(base58::decode_fixed(t, raw, sizeof(raw)));
    raw[1] ^= room_token::pin_bit;
    size_t n = base58::encode(raw, sizeof(raw), out, sizeof(out));
    return std::string(out, n);
}

static void
tampered_pin_flag_makes_the_token_forged(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    uint8_t         id[room_token::id_len] = {2, 7, 1, 8};
    char            text[room_token::text_max];
    size_t          n;

    /* a PIN room passed off as an open one, and the other way round */
    n = room_token::mint_with(k, id, 2, 1, text, sizeof(text), nullptr,
                              false, "1234");
    assert_int_equal((int) room_token::verify(k,
                         flip_pin_flag(std::string(text, n)), nullptr),
                     (int) room_token::verdict::forged);
    assert_int_equal((int) room_token::verify(k,
                         flip_pin_flag(mint_fixed(k, 4, 2, 1)), nullptr),
                     (int) room_token::verdict::forged);

    /* and every altered character of a PIN room's token is refused */
    std::string t(text, n);
    for (size_t i = 0; i < t.size(); i++) {
        std::string bad = t;
        bad[i] = (bad[i] == 'z') ? 'y' : 'z';
        assert_int_not_equal((int) room_token::verify(k, bad, nullptr),
                             (int) room_token::verdict::ok);
    }
}

static void
pass_belongs_to_its_room_and_is_not_the_owner_key(void **)
{
    room_token::key k = test_key("0123456789abcdef0123456789abcdef");
    uint8_t         id[room_token::id_len] = {1, 2, 3};
    uint8_t         id2[room_token::id_len] = {1, 2, 4};
    char            pass[room_token::pass_text_max];
    char            owner[room_token::owner_text_max];
    size_t          n, m;

    n = room_token::pass_key(k, id, pass, sizeof(pass));
    m = room_token::owner_key(k, id, owner, sizeof(owner));
    assert_true(n >= 20 && m >= 20);
    assert_true(room_token::pass_matches(k, id, std::string_view(pass, n)));
    assert_false(room_token::pass_matches(k, id2, std::string_view(pass, n)));
    /* the creator's owner key is no pass, and a pass ends no room */
    assert_false(room_token::pass_matches(k, id, std::string_view(owner, m)));
    assert_false(room_token::owner_matches(k, id, std::string_view(pass, n)));
    assert_false(room_token::pass_matches(k, id, ""));
}

/* A node that kept only a room's record rebuilds its link, byte for byte,
 * for every kind of room; a key of another secret rebuilds a text the
 * first secret calls forged. */
static void
encode_rebuilds_the_verified_token(void **)
{
    room_token::key  k = test_key("0123456789abcdef0123456789abcdef");
    room_token::key  other = test_key("fedcba9876543210fedcba9876543210");
    uint8_t          id[room_token::id_len] = {9, 8, 7, 6};
    char             text[room_token::text_max], again[room_token::text_max];
    room_token::room r{}, back{};
    size_t           n, m;
    const struct { bool one_time; const char *pin; } kinds[] = {
        { false, "" }, { true, "" }, { false, "1234" }, { true, "987654" },
    };

    for (const auto &kind : kinds) {
        n = room_token::mint_with(k, id, 3, 1796000000, text, sizeof(text),
                                  nullptr, kind.one_time, kind.pin);
        assert_true(n > 0);
        assert_int_equal(room_token::verify(k, std::string_view(text, n), &r),
                         room_token::verdict::ok);

        m = room_token::encode(k, r, again, sizeof(again));
        assert_int_equal(m, n);
        assert_memory_equal(again, text, n);
        assert_int_equal(room_token::verify(k, std::string_view(again, m),
                                            &back),
                         room_token::verdict::ok);
        assert_int_equal(back.one_time, kind.one_time);
        assert_int_equal(back.pin, kind.pin[0] != '\0');

        m = room_token::encode(other, r, again, sizeof(again));
        assert_true(m > 0);
        assert_int_equal(room_token::verify(k, std::string_view(again, m),
                                            nullptr),
                         room_token::verdict::forged);
    }

    /* too small a buffer, or settings bits in the count: nothing */
    assert_int_equal(room_token::encode(k, r, again, room_token::text_max - 1),
                     0);
    r.max_participants = room_token::one_time_bit | 2;
    assert_int_equal(room_token::encode(k, r, again, sizeof(again)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base58_matches_known_vectors),
        cmocka_unit_test(base58_decodes_what_it_encodes),
        cmocka_unit_test(base58_refuses_lookalike_characters),
        cmocka_unit_test(base58_refuses_a_value_too_big_for_the_buffer),
        cmocka_unit_test(base58_encode_reports_a_short_buffer),
        cmocka_unit_test(genuine_token_is_recognised_with_its_settings),
        cmocka_unit_test(token_is_url_safe_base58_of_fixed_length),
        cmocka_unit_test(minted_tokens_carry_128_random_bits),
        cmocka_unit_test(token_signed_with_another_secret_is_forged),
        cmocka_unit_test(every_altered_character_makes_the_token_refused),
        cmocka_unit_test(damaged_text_is_malformed_not_forged),
        cmocka_unit_test(derived_key_depends_on_every_secret_byte),
        cmocka_unit_test(owner_key_belongs_to_its_room_and_secret),
        cmocka_unit_test(one_time_travels_in_the_signed_token),
        cmocka_unit_test(pin_room_token_keeps_its_length_and_knows_its_pin),
        cmocka_unit_test(wrong_pin_is_not_the_rooms_pin),
        cmocka_unit_test(room_without_pin_matches_no_pin),
        cmocka_unit_test(pin_that_is_not_4_to_6_digits_mints_nothing),
        cmocka_unit_test(tampered_pin_flag_makes_the_token_forged),
        cmocka_unit_test(pass_belongs_to_its_room_and_is_not_the_owner_key),
        cmocka_unit_test(encode_rebuilds_the_verified_token),
    };

    return cmocka_run_group_tests_name("room_token", tests, NULL, NULL);
}
