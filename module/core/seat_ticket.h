// Seat tickets: what lets any node of a fleet give a caller back the seat
// and peer id it had on a node that is gone. The welcome hands one out with
// every resume secret; it names the seat and the peer id, and its MAC, under
// the fleet's secret, covers them, the room and the resume secret that goes
// with it. A node that never saw the room takes the join's resume secret and
// ticket together and seats the caller again under the same id, so the
// browsers keep their peer connections. Pure: no state, the time passed in.
#pragma once

#include "room_token.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace webcall::seat_ticket {

constexpr size_t   id_len = 8;            /* peer id, base58 characters */
constexpr size_t   secret_len = 16;       /* the seat's resume secret */
constexpr size_t   room_tag_len = 4;      /* first bytes of the room id */
constexpr size_t   mac_len = 16;          /* truncated HMAC-SHA256 */
constexpr size_t   raw_len = 1 + room_tag_len + 1 + id_len + 4 + 4 + mac_len;
constexpr size_t   text_len = 53;         /* base58 of raw_len, '1'-padded */
constexpr uint8_t  version = 1;
// A ticket is handed out again with every welcome and every fresh set of
// TURN credentials; a day covers a call that asks for neither.
constexpr uint32_t lifetime = 24 * 3600;

struct claim {
    uint8_t  id[id_len];
    uint8_t  seat;
    uint32_t serial;                      /* the seat's (seats.h) */
    uint32_t expires;                     /* unix seconds */
};

enum class verdict : uint8_t {
    ok,
    malformed,    /* not a ticket: length, characters, version, fields */
    other_room,   /* a genuine-looking ticket of another room */
    forged,       /* the MAC does not match: altered, another fleet's
                     secret, or not this resume secret's ticket */
    expired,
};

// Writes the ticket's text (text_len characters, no NUL); returns its
// length, or 0 when cap is too small, a field is out of range or HMAC fails.
size_t mint(const room_token::key &k, const uint8_t room_id[16],
            const claim &c, const uint8_t resume[secret_len], char *out,
            size_t cap) noexcept;

// Checks text against the room and the resume secret the join carried;
// fills *c on ok (c may be null).
verdict verify(const room_token::key &k, const uint8_t room_id[16],
               const uint8_t resume[secret_len], std::string_view text,
               uint32_t now, claim *c) noexcept;

// A short code and a sentence for the caller, per refusal.
std::string_view code(verdict v) noexcept;
std::string_view describe(verdict v) noexcept;

}  // namespace webcall::seat_ticket
