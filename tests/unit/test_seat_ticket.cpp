// Seat tickets: a round trip, and every way a ticket can be damaged, forged,
// carried to another room, replayed with another resume secret, or kept past
// its expiry.
#include "cmocka_cxx.h"

#include "base58.h"
#include "room_token.h"
#include "seat_ticket.h"

#include <cstring>
#include <string>

using namespace webcall;
using seat_ticket::verdict;

static const uint32_t expires = 1800000000;

static room_token::key
test_key(const char *secret)
{
    return room_token::derive_key(
        reinterpret_cast<const uint8_t *>(secret), std::strlen(secret));
}

static room_token::key
fleet_key()
{
    return test_key("0123456789abcdef0123456789abcdef");
}

struct fixture {
    uint8_t             room[room_token::id_len];
    uint8_t             resume[seat_ticket::secret_len];
    seat_ticket::claim  c;
};

static fixture
make_fixture()
{
    fixture f{};

    for (size_t i = 0; i < sizeof(f.room); i++) {
        f.room[i] = static_cast<uint8_t>(0xa0 + i);
    }
    for (size_t i = 0; i < sizeof(f.resume); i++) {
        f.resume[i] = static_cast<uint8_t>(7 * i + 3);
    }
    std::memcpy(f.c.id, "Ab3dEf7h", seat_ticket::id_len);
    f.c.seat = 2;
    f.c.serial = 5;
    f.c.expires = expires;
    return f;
}

static std::string
mint(const room_token::key &k, const fixture &f)
{
    char   out[seat_ticket::text_len];
    size_t n = seat_ticket::mint(k, f.room, f.c, f.resume, out, sizeof(out));

    assert_int_equal(n, seat_ticket::text_len);
    return std::string(out, n);
}

static verdict
verify(const room_token::key &k, const fixture &f, std::string_view text,
       uint32_t now = expires - 3600, seat_ticket::claim *out = nullptr)
{
    seat_ticket::claim scratch;

    return seat_ticket::verify(k, f.room, f.resume, text, now,
                               out ? out : &scratch);
}

/* The raw bytes of a ticket, and a raw buffer written back as a ticket's
 * text ('1'-padded to text_len, as mint does). */
static void
decode(const std::string &text, uint8_t raw[seat_ticket::raw_len])
{
    assert_true(base58::decode_fixed(text, raw, seat_ticket::raw_len));
}

static std::string
encode(const uint8_t raw[seat_ticket::raw_len])
{
    char   out[128];
    size_t n = base58::encode(raw, seat_ticket::raw_len, out, sizeof(out));

    assert_true(n > 0 && n <= seat_ticket::text_len);
    return std::string(seat_ticket::text_len - n, '1') + std::string(out, n);
}

static void
round_trip_gives_back_the_claim(void **)
{
    room_token::key     k = fleet_key();
    fixture             f = make_fixture();
    seat_ticket::claim  back{};

    for (uint32_t serial : {0u, 1u, 5u, 0xffffffffu}) {
        for (uint8_t seat : {0, 3, 255}) {
            f.c.serial = serial;
            f.c.seat = seat;
            std::string t = mint(k, f);

            assert_int_equal(t.size(), 53);
            for (char ch : t) {
                assert_true(base58::is_char(ch));
            }
            assert_int_equal((int) verify(k, f, t, expires - 1, &back),
                             (int) verdict::ok);
            assert_memory_equal(back.id, f.c.id, seat_ticket::id_len);
            assert_int_equal(back.seat, seat);
            assert_int_equal(back.serial, serial);
            assert_int_equal(back.expires, expires);
        }
    }
}

static void
the_same_claim_mints_the_same_text(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();

    assert_string_equal(mint(k, f).c_str(), mint(k, f).c_str());
}

static void
every_altered_character_makes_the_ticket_refused(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    std::string     t = mint(k, f);

    for (size_t i = 0; i < t.size(); i++) {
        for (char with : {'z', 'y', '1', '2'}) {
            if (t[i] == with) {
                continue;
            }
            std::string bad = t;
            bad[i] = with;
            assert_int_not_equal((int) verify(k, f, bad), (int) verdict::ok);
        }
    }
}

static void
an_altered_mac_or_field_is_forged(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    std::string     t = mint(k, f);
    uint8_t         raw[seat_ticket::raw_len];

    /* every MAC byte, and the signed seat, serial and expiry */
    const size_t at_mac = seat_ticket::raw_len - seat_ticket::mac_len;
    const size_t at_seat = 1 + seat_ticket::room_tag_len;
    const size_t at_serial = at_seat + 1 + seat_ticket::id_len;
    size_t       where[seat_ticket::mac_len + 3];

    for (size_t i = 0; i < seat_ticket::mac_len; i++) {
        where[i] = at_mac + i;
    }
    where[seat_ticket::mac_len] = at_seat;
    where[seat_ticket::mac_len + 1] = at_serial + 3;
    where[seat_ticket::mac_len + 2] = at_serial + 4;

    for (size_t at : where) {
        decode(t, raw);
        raw[at] ^= 0x01;
        assert_int_equal((int) verify(k, f, encode(raw)),
                         (int) verdict::forged);
    }

    /* another peer id, still base58 */
    decode(t, raw);
    raw[at_seat + 1] = 'Z';
    assert_int_equal((int) verify(k, f, encode(raw)), (int) verdict::forged);

    /* the unaltered buffer is the ticket again */
    decode(t, raw);
    assert_string_equal(encode(raw).c_str(), t.c_str());
}

static void
ticket_of_another_secret_is_forged(void **)
{
    room_token::key k = fleet_key();
    room_token::key other = test_key("fedcba9876543210fedcba9876543210");
    fixture         f = make_fixture();

    assert_int_equal((int) verify(k, f, mint(other, f)),
                     (int) verdict::forged);
}

static void
ticket_with_another_resume_secret_is_forged(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    std::string     t = mint(k, f);

    for (size_t i = 0; i < seat_ticket::secret_len; i++) {
        fixture g = f;
        g.resume[i] ^= 0x80;
        assert_int_equal((int) verify(k, g, t), (int) verdict::forged);
    }
}

static void
ticket_of_another_room_is_other_room_or_forged(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    std::string     t = mint(k, f);

    /* a different tag: another room */
    for (size_t i = 0; i < seat_ticket::room_tag_len; i++) {
        fixture g = f;
        g.room[i] ^= 0x01;
        assert_int_equal((int) verify(k, g, t), (int) verdict::other_room);
    }

    /* the same tag, another room: the MAC covers the whole id */
    for (size_t i = seat_ticket::room_tag_len; i < room_token::id_len; i++) {
        fixture g = f;
        g.room[i] ^= 0x01;
        assert_int_equal((int) verify(k, g, t), (int) verdict::forged);
    }
}

static void
ticket_expires_at_its_expiry(void **)
{
    room_token::key     k = fleet_key();
    fixture             f = make_fixture();
    std::string         t = mint(k, f);
    seat_ticket::claim  back{};

    assert_int_equal((int) verify(k, f, t, expires - 1, &back),
                     (int) verdict::ok);
    assert_int_equal((int) verify(k, f, t, expires), (int) verdict::expired);
    assert_int_equal((int) verify(k, f, t, expires + 1),
                     (int) verdict::expired);
    assert_int_equal((int) verify(k, f, t, 0xffffffffu),
                     (int) verdict::expired);
    assert_int_equal((int) verify(k, f, t, 0), (int) verdict::ok);

    /* expired is said only of a genuine ticket */
    std::string bad = t;
    bad[40] = bad[40] == 'z' ? 'y' : 'z';
    assert_int_not_equal((int) verify(k, f, bad, expires + 1),
                         (int) verdict::expired);
}

static void
damaged_text_is_malformed(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    std::string     t = mint(k, f);

    assert_int_equal((int) verify(k, f, ""), (int) verdict::malformed);
    assert_int_equal((int) verify(k, f, t.substr(0, 52)),
                     (int) verdict::malformed);
    assert_int_equal((int) verify(k, f, t.substr(1)),
                     (int) verdict::malformed);
    assert_int_equal((int) verify(k, f, t.substr(0, 20)),
                     (int) verdict::malformed);
    assert_int_equal((int) verify(k, f, t + "z"), (int) verdict::malformed);
    /* the same number with one more leading zero digit: not the ticket */
    assert_int_equal((int) verify(k, f, "1" + t), (int) verdict::malformed);
    assert_int_equal((int) verify(k, f, std::string(200, 'z')),
                     (int) verdict::malformed);

    for (char bad : {'0', 'O', 'I', 'l', '+', '/', ' ', '\0', '\xc3'}) {
        for (size_t at : {size_t{0}, size_t{26}, size_t{52}}) {
            std::string s = t;
            s[at] = bad;
            assert_int_equal((int) verify(k, f, s), (int) verdict::malformed);
        }
    }

    /* 53 base58 characters whose value needs more than raw_len bytes */
    assert_int_equal((int) verify(k, f, std::string(53, 'z')),
                     (int) verdict::malformed);
    /* all zero digits: version 0 */
    assert_int_equal((int) verify(k, f, std::string(53, '1')),
                     (int) verdict::malformed);
}

static void
another_version_is_malformed(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    uint8_t         raw[seat_ticket::raw_len];

    for (uint8_t v : {0, 2, 0x81, 0xff}) {
        decode(mint(k, f), raw);
        assert_int_equal(raw[0], seat_ticket::version);
        raw[0] = v;
        assert_int_equal((int) verify(k, f, encode(raw)),
                         (int) verdict::malformed);
    }
}

static void
a_peer_id_that_is_not_base58_is_malformed(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    uint8_t         raw[seat_ticket::raw_len];

    decode(mint(k, f), raw);
    raw[1 + seat_ticket::room_tag_len + 1] = '0';
    assert_int_equal((int) verify(k, f, encode(raw)),
                     (int) verdict::malformed);
    raw[1 + seat_ticket::room_tag_len + 1] = 0;
    assert_int_equal((int) verify(k, f, encode(raw)),
                     (int) verdict::malformed);
}

static void
mint_refuses_a_bad_id_or_a_short_buffer(void **)
{
    room_token::key k = fleet_key();
    fixture         f = make_fixture();
    char            out[128];

    for (char bad : {'0', 'O', 'I', 'l', '-', '\0', '\xff'}) {
        fixture g = f;
        g.c.id[5] = static_cast<uint8_t>(bad);
        assert_int_equal(seat_ticket::mint(k, g.room, g.c, g.resume, out,
                                           sizeof(out)), 0);
    }

    assert_int_equal(seat_ticket::mint(k, f.room, f.c, f.resume, out,
                                       seat_ticket::text_len - 1), 0);
    assert_int_equal(seat_ticket::mint(k, f.room, f.c, f.resume, out, 0), 0);
    /* a bigger buffer gets the same 53 characters, nothing after them */
    std::memset(out, '#', sizeof(out));
    assert_int_equal(seat_ticket::mint(k, f.room, f.c, f.resume, out,
                                       sizeof(out)), seat_ticket::text_len);
    assert_int_equal(out[seat_ticket::text_len], '#');
    assert_string_equal(std::string(out, seat_ticket::text_len).c_str(),
                        mint(k, f).c_str());
}

static void
a_ticket_with_leading_zero_digits_round_trips(void **)
{
    room_token::key     k = fleet_key();
    fixture             f = make_fixture();
    seat_ticket::claim  back{};
    int                 padded = 0;

    /* a small value (version 1 is the top byte) often encodes to 52
     * characters: mint pads them, verify reads them */
    for (int i = 0; i < 64; i++) {
        f.c.serial = static_cast<uint32_t>(i * 2654435761u);
        f.room[0] = static_cast<uint8_t>(i);
        std::string t = mint(k, f);
        padded += t[0] == '1';
        assert_int_equal((int) verify(k, f, t, 0, &back), (int) verdict::ok);
        assert_int_equal(back.serial, f.c.serial);
    }
    assert_true(padded > 0);
}

static void
every_verdict_has_a_code_and_a_sentence(void **)
{
    for (verdict v : {verdict::ok, verdict::malformed, verdict::other_room,
                      verdict::forged, verdict::expired}) {
        assert_false(seat_ticket::code(v).empty());
        assert_false(seat_ticket::describe(v).empty());
    }
    assert_true(seat_ticket::code(verdict::other_room) == "other-room");
    assert_true(seat_ticket::code(verdict::forged) == "forged");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_gives_back_the_claim),
        cmocka_unit_test(the_same_claim_mints_the_same_text),
        cmocka_unit_test(every_altered_character_makes_the_ticket_refused),
        cmocka_unit_test(an_altered_mac_or_field_is_forged),
        cmocka_unit_test(ticket_of_another_secret_is_forged),
        cmocka_unit_test(ticket_with_another_resume_secret_is_forged),
        cmocka_unit_test(ticket_of_another_room_is_other_room_or_forged),
        cmocka_unit_test(ticket_expires_at_its_expiry),
        cmocka_unit_test(damaged_text_is_malformed),
        cmocka_unit_test(another_version_is_malformed),
        cmocka_unit_test(a_peer_id_that_is_not_base58_is_malformed),
        cmocka_unit_test(mint_refuses_a_bad_id_or_a_short_buffer),
        cmocka_unit_test(a_ticket_with_leading_zero_digits_round_trips),
        cmocka_unit_test(every_verdict_has_a_code_and_a_sentence),
    };

    return cmocka_run_group_tests_name("seat_ticket", tests, NULL, NULL);
}
