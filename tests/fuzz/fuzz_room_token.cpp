// libFuzzer target: room tokens (room_token.h). The first byte picks one of
// two modes.
//
//   even: the rest is a link's token, verified against a fixed key (the
//         seeds hold genuine tokens of it, plain, one-time and PIN rooms,
//         so mutations start from the ok path). verify never crashes and
//         gives the same verdict twice; anything but malformed is 40-48
//         base58 characters; what it accepts is canonical: encode of the
//         room it returns is exactly the input (what a node sends the
//         fleet when a one-time link ends), and another key calls it
//         forged.
//   odd:  the input makes a room (id, participants byte, issue time,
//         one-time, PIN and its tag) and encodes it. encode refuses exactly
//         a participants byte with a settings bit and a short buffer; what
//         it writes verifies to the same room; the rest of the input then
//         alters the text, and verify never says ok unless the text came
//         back unchanged.
#include "fuzz_text.h"
#include "base58.h"
#include "room_token.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

using namespace webcall;
using room_token::verdict;

namespace {

using fuzz::input;
using fuzz::all_base58;
using fuzz::key_of;

/* What the seeds were minted with (tests/fuzz/corpus/fuzz_room_token). */
const room_token::key &
fixed_key() noexcept
{
    static const room_token::key k =
        key_of("webcall fuzz room token secret 0123456789abcdef");
    return k;
}

const room_token::key &
other_key() noexcept
{
    static const room_token::key k =
        key_of("webcall fuzz room token other secret 0123456789");
    return k;
}

bool
same_room(const room_token::room &a, const room_token::room &b) noexcept
{
    return std::memcmp(a.id, b.id, room_token::id_len) == 0
           && a.max_participants == b.max_participants
           && a.issued == b.issued && a.one_time == b.one_time
           && a.pin == b.pin
           && std::memcmp(a.pin_tag, b.pin_tag, room_token::pin_tag_len)
              == 0;
}

void
verify_text(input &in) noexcept
{
    std::string_view  text(reinterpret_cast<const char *>(in.p), in.left);
    room_token::room  r{}, r2{};
    char              again[room_token::text_max];
    verdict           v, v2;
    size_t            n;

    v = room_token::verify(fixed_key(), text, &r);
    v2 = room_token::verify(fixed_key(), text, &r2);
    CHECK(v == v2);

    if (v != verdict::malformed) {
        CHECK(text.size() >= 40 && text.size() <= room_token::text_max
              && all_base58(text));
    }

    if (v != verdict::ok) {
        return;
    }

    CHECK(same_room(r, r2));
    CHECK((r.max_participants
           & (room_token::one_time_bit | room_token::pin_bit)) == 0);

    n = room_token::encode(fixed_key(), r, again, sizeof(again));
    CHECK(n > 0 && text == std::string_view(again, n));

    CHECK(room_token::verify(other_key(), text, &r2) == verdict::forged);
}

void
encode_and_alter(input &in) noexcept
{
    room_token::room  r{}, back{};
    char              buf[room_token::text_max + 8];
    uint8_t           flags = in.next();
    size_t            cap, n;
    verdict           v;

    for (auto &b : r.id) {
        b = in.next();
    }
    r.max_participants = in.next();
    r.issued = in.next_u32();
    r.one_time = (flags & 1) != 0;
    r.pin = (flags & 2) != 0;
    for (auto &b : r.pin_tag) {
        b = r.pin ? in.next() : 0;
    }

    /* a buffer of any size; only text_max and more will do */
    cap = (flags & 4) ? (in.next() % sizeof(buf)) : sizeof(buf);

    n = room_token::encode(fixed_key(), r, buf, cap);
    if (cap < room_token::text_max
        || (r.max_participants
            & (room_token::one_time_bit | room_token::pin_bit)))
    {
        CHECK(n == 0);
        return;
    }
    CHECK(n >= 40 && n <= room_token::text_max);

    const std::string encoded(buf, n);

    CHECK(all_base58(encoded));
    CHECK(room_token::verify(fixed_key(), encoded, &back) == verdict::ok);
    CHECK(same_room(back, r));
    CHECK(room_token::verify(other_key(), encoded, &back) == verdict::forged);

    /* the owner key is of this room, under this key only */
    {
        char    owner[room_token::owner_text_max];
        size_t  m = room_token::owner_key(fixed_key(), r.id, owner,
                                          sizeof(owner));

        CHECK(m > 0);
        CHECK(room_token::owner_matches(fixed_key(), r.id,
                                        std::string_view(owner, m)));
        CHECK(!room_token::owner_matches(other_key(), r.id,
                                         std::string_view(owner, m)));
    }

    /* alterations, as many as the input has */
    std::string text = encoded;

    fuzz::alter(in, text, 2 * room_token::text_max);

    v = room_token::verify(fixed_key(), text, &back);
    if (text == encoded) {
        CHECK(v == verdict::ok);
    } else {
        CHECK(v != verdict::ok);
        if (!all_base58(text) || text.size() > room_token::text_max) {
            CHECK(v == verdict::malformed);
        }
    }
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz::by_first_byte(data, size, verify_text, encode_and_alter);
}
