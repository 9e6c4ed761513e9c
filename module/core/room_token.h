// Room tokens: 128 random bits plus the room's settings and issue time,
// signed with the server secret. The token *is* the room: a genuine token is
// recognised without any stored state (after a restart, on another node
// behind the same secret), and a forged one is refused before any lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace webcall::room_token {

constexpr size_t  id_len = 16;          /* random room id, 128 bits */
constexpr size_t  mac_len = 12;         /* truncated HMAC-SHA256, 96 bits */
constexpr size_t  pin_tag_len = 4;      /* of those, in a PIN room's token */
constexpr size_t  raw_len = 1 + 1 + 4 + id_len + mac_len;
constexpr size_t  text_max = 48;        /* base58 of raw_len bytes */
constexpr size_t  secret_min = 32;      /* bytes of secret we insist on */
constexpr uint8_t version = 1;

struct key {
    uint8_t bytes[32];
};

struct room {
    uint8_t  id[id_len];
    uint8_t  max_participants;
    uint32_t issued;                    /* unix time, seconds */
    bool     one_time;                  /* ends after its first call */
    bool     pin;                       /* joiners need the room's PIN */
    uint8_t  pin_tag[pin_tag_len];      /* what the PIN must hash to */
};

// Settings travel in the token's participants byte: the count in the low
// bits, one_time and pin in the high ones (a token minted before them has
// them 0).
constexpr uint8_t one_time_bit = 0x80;
constexpr uint8_t pin_bit = 0x40;

// A PIN room's token keeps its length: its 12 MAC bytes become an 8-byte
// MAC over everything before it and a 4-byte tag, a truncated HMAC of the
// room id and the PIN under the server key. The PIN itself is stored
// nowhere, and the tag cannot be tried offline without the key.
constexpr size_t pin_min = 4;
constexpr size_t pin_max = 6;

// 4 to 6 ASCII digits.
bool pin_valid(std::string_view pin) noexcept;

enum class verdict { ok, malformed, forged };

// The MAC key, derived from the secret file's contents so the raw secret is
// never used for two purposes (TURN credentials use it differently).
key derive_key(const uint8_t *secret, size_t len) noexcept;

// Mints a token with ids from OpenSSL's CSPRNG. Writes the text (no NUL) and
// returns its length, or 0 if the CSPRNG failed, cap < text_max or a
// non-empty pin is not pin_valid.
size_t mint(const key &k, uint8_t max_participants, uint32_t now,
            char *out, size_t cap, room *r, bool one_time = false,
            std::string_view pin = {}) noexcept;

// The same with caller-supplied randomness, for tests.
size_t mint_with(const key &k, const uint8_t id[id_len],
                 uint8_t max_participants, uint32_t now, char *out,
                 size_t cap, room *r, bool one_time = false,
                 std::string_view pin = {}) noexcept;

// The text of a room as verify gave it (a PIN room's with its pin_tag):
// what a node that holds only the room's record sends to the others when
// its one-time link ends (ngx_http_webcall_fleet.cpp). 0 on failure or
// cap < text_max.
size_t encode(const key &k, const room &r, char *out, size_t cap) noexcept;

// malformed: not a canonical base58 text of the right size (a typo or
// truncated link: 400); forged: well-formed but the MAC or version does not
// match (404, indistinguishable from an unknown room).
verdict verify(const key &k, std::string_view text, room *r) noexcept;

// The room's owner key: what POST /rooms gives the creator, and what
// DELETE /rooms/<token> asks for. HMAC-SHA256 of the room id under its own
// label, 128 bits, so like the token it needs no stored state (it works
// after a restart and on every node with the same secret), and holding a
// link tells nothing about it.
constexpr size_t owner_len = 16;
constexpr size_t owner_text_max = 22;   /* base58 of owner_len bytes */

// Writes the owner key's text (no NUL); returns its length, 0 on failure.
size_t owner_key(const key &k, const uint8_t id[id_len], char *out,
                 size_t cap) noexcept;

// Whether text is that room's owner key (in constant time).
bool owner_matches(const key &k, const uint8_t id[id_len],
                   std::string_view text) noexcept;

// Whether pin is the PIN of r, a PIN room's verified token (in constant
// time). False for a room without a PIN.
bool pin_matches(const key &k, const room &r, std::string_view pin) noexcept;

// A PIN room's pass: what a right PIN earns, and what a join must carry.
// Like the owner key, an HMAC of the room id under its own label, 128 bits:
// nothing stored, valid after a restart and on every node.
constexpr size_t pass_text_max = owner_text_max;

size_t pass_key(const key &k, const uint8_t id[id_len], char *out,
                size_t cap) noexcept;
bool pass_matches(const key &k, const uint8_t id[id_len],
                  std::string_view text) noexcept;

}  // namespace webcall::room_token
