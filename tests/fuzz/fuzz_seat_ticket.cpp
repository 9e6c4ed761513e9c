// libFuzzer target: seat tickets (seat_ticket.h). The first byte picks one
// of two modes.
//
//   even: the rest is a ticket's text, verified against a fixed key, room
//         and resume secret (the seeds hold genuine tickets of those, so
//         mutations start from the ok path). verify never crashes, gives the
//         same verdict twice, and what it accepts is canonical: the claim it
//         returns, minted again, is exactly the input text.
//   odd:  the input makes a claim, a room, a resume secret and a time, and
//         mints. mint refuses exactly the claims with a peer id that is not
//         base58; a minted ticket is 53 base58 characters and verifies (ok
//         before its expiry, expired from it on) to the same claim; another
//         room, resume secret or key is refused. The rest of the input then
//         alters the text (replace, insert, delete, truncate), and verify
//         never says ok unless the text came back unchanged.
#include "fuzz_text.h"
#include "base58.h"
#include "room_token.h"
#include "seat_ticket.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

using namespace webcall;
using seat_ticket::verdict;

namespace {

using fuzz::input;
using fuzz::all_base58;
using fuzz::key_of;

/* What the seeds were minted with (tests/fuzz/corpus/fuzz_seat_ticket). */
const room_token::key &
fleet_key() noexcept
{
    static const room_token::key k =
        key_of("webcall fuzz seat ticket fleet secret 0123456789");
    return k;
}

const room_token::key &
other_key() noexcept
{
    static const room_token::key k =
        key_of("webcall fuzz seat ticket other secret 0123456789");
    return k;
}

constexpr uint8_t fixed_room[room_token::id_len] = {
    0x52, 0x6f, 0x6f, 0x6d, 0x01, 0x02, 0x03, 0x04,
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
};
constexpr uint8_t fixed_resume[seat_ticket::secret_len] = {
    0x53, 0x65, 0x63, 0x72, 0x65, 0x74, 0x10, 0x20,
    0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0,
};
/* the seeds expire in 2035; a time before that */
constexpr uint32_t fixed_now = 1800000000;

bool
same_claim(const seat_ticket::claim &a, const seat_ticket::claim &b) noexcept
{
    return std::memcmp(a.id, b.id, seat_ticket::id_len) == 0
           && a.seat == b.seat && a.serial == b.serial
           && a.expires == b.expires;
}

/* An ok verdict's claim, minted again, is the text verify was given. */
void
check_canonical(const room_token::key &k, const uint8_t *room,
                const uint8_t *resume, std::string_view text,
                const seat_ticket::claim &c) noexcept
{
    char   again[seat_ticket::text_len];
    size_t n = seat_ticket::mint(k, room, c, resume, again, sizeof(again));

    CHECK(n == seat_ticket::text_len);
    CHECK(text == std::string_view(again, n));
}

void
verify_text(input &in) noexcept
{
    std::string_view    text(reinterpret_cast<const char *>(in.p), in.left);
    seat_ticket::claim  c{}, c2{};
    verdict             v, v2;

    v = seat_ticket::verify(fleet_key(), fixed_room, fixed_resume, text,
                            fixed_now, &c);
    v2 = seat_ticket::verify(fleet_key(), fixed_room, fixed_resume, text,
                             fixed_now, &c2);
    CHECK(v == v2);
    CHECK(!seat_ticket::code(v).empty() && !seat_ticket::describe(v).empty());

    if (v != verdict::malformed) {
        /* whatever got past the shape check is 53 base58 characters */
        CHECK(text.size() == seat_ticket::text_len && all_base58(text));
    }

    if (v == verdict::ok) {
        CHECK(same_claim(c, c2));
        CHECK(c.expires > fixed_now);
        check_canonical(fleet_key(), fixed_room, fixed_resume, text, c);

        /* the same ticket from its expiry on */
        CHECK(seat_ticket::verify(fleet_key(), fixed_room, fixed_resume,
                                  text, c.expires, &c2)
              == verdict::expired);
        /* and under another key */
        CHECK(seat_ticket::verify(other_key(), fixed_room, fixed_resume,
                                  text, fixed_now, &c2)
              == verdict::forged);
    }
}

void
mint_and_alter(input &in) noexcept
{
    uint8_t             room[room_token::id_len];
    uint8_t             resume[seat_ticket::secret_len];
    seat_ticket::claim  c{}, back{};
    char                buf[seat_ticket::text_len + 8];
    uint8_t             flags = in.next();
    bool                id_ok = true;
    uint32_t            now;
    size_t              n;
    verdict             v;

    for (auto &b : room) {
        b = in.next();
    }
    for (auto &b : resume) {
        b = in.next();
    }
    for (auto &b : c.id) {
        uint8_t x = in.next();

        /* now and then a raw byte, which may not be base58 */
        if ((flags & 1) && (x & 0x80)) {
            b = x & 0x7f;
            id_ok &= base58::is_char(static_cast<char>(b));
        } else {
            b = static_cast<uint8_t>(base58::alphabet[x % 58]);
        }
    }
    c.seat = in.next();
    c.serial = in.next_u32();
    c.expires = in.next_u32();
    now = in.next_u32();

    /* a buffer of any size; only text_len and more will do */
    size_t cap = (flags & 2) ? (in.next() % sizeof(buf)) : sizeof(buf);

    n = seat_ticket::mint(fleet_key(), room, c, resume, buf, cap);
    if (!id_ok || cap < seat_ticket::text_len) {
        CHECK(n == 0);
        return;
    }
    CHECK(n == seat_ticket::text_len);

    const std::string minted(buf, n);

    CHECK(all_base58(minted));

    v = seat_ticket::verify(fleet_key(), room, resume, minted, now, &back);
    if (now < c.expires) {
        CHECK(v == verdict::ok);
        CHECK(same_claim(back, c));
        check_canonical(fleet_key(), room, resume, minted, back);
    } else {
        CHECK(v == verdict::expired);
    }

    /* another key, resume secret or room: never ok */
    {
        uint8_t  other_room[room_token::id_len];
        uint8_t  other_resume[seat_ticket::secret_len];
        uint8_t  at = in.next();
        uint8_t  bit = static_cast<uint8_t>(1u << (at >> 5 & 7));

        CHECK(seat_ticket::verify(other_key(), room, resume, minted, now,
                                  &back)
              == verdict::forged);     /* the MAC before the expiry */

        std::memcpy(other_resume, resume, sizeof(resume));
        other_resume[at % seat_ticket::secret_len] ^= bit;
        CHECK(seat_ticket::verify(fleet_key(), room, other_resume, minted,
                                  now, &back)
              == verdict::forged);

        std::memcpy(other_room, room, sizeof(room));
        other_room[at % room_token::id_len] ^= bit;
        CHECK(seat_ticket::verify(fleet_key(), other_room, resume, minted,
                                  now, &back)
              == (at % room_token::id_len < seat_ticket::room_tag_len
                  ? verdict::other_room : verdict::forged));
    }

    /* alterations, as many as the input has */
    std::string text = minted;

    fuzz::alter(in, text, 2 * seat_ticket::text_len);

    v = seat_ticket::verify(fleet_key(), room, resume, text, now, &back);
    if (text == minted) {
        CHECK(v == (now < c.expires ? verdict::ok : verdict::expired));
    } else {
        CHECK(v != verdict::ok);
        if (text.size() != seat_ticket::text_len || !all_base58(text)) {
            CHECK(v == verdict::malformed);
        }
    }
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz::by_first_byte(data, size, verify_text, mint_and_alter);
}
