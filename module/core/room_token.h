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
};

// Settings travel in the token's participants byte: the count in the low
// bits, one_time in the high one (a token minted before it was 0).
constexpr uint8_t one_time_bit = 0x80;

enum class verdict { ok, malformed, forged };

// The MAC key, derived from the secret file's contents so the raw secret is
// never used for two purposes (TURN credentials use it differently).
key derive_key(const uint8_t *secret, size_t len) noexcept;

// Mints a token with ids from OpenSSL's CSPRNG. Writes the text (no NUL) and
// returns its length, or 0 if the CSPRNG failed or cap < text_max.
size_t mint(const key &k, uint8_t max_participants, uint32_t now,
            char *out, size_t cap, room *r, bool one_time = false) noexcept;

// The same with caller-supplied randomness, for tests.
size_t mint_with(const key &k, const uint8_t id[id_len],
                 uint8_t max_participants, uint32_t now, char *out,
                 size_t cap, room *r, bool one_time = false) noexcept;

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

}  // namespace webcall::room_token
