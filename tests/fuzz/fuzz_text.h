// What the fuzzers of signed base58 texts share (room tokens, seat
// tickets): a key from a secret, the base58 check, and the alterations
// that the rest of an input makes to a text, as many as it has.
#pragma once

#include "base58.h"
#include "fuzz_input.h"
#include "room_token.h"

#include <cstring>
#include <string>
#include <string_view>

namespace webcall::fuzz {

inline room_token::key
key_of(const char *secret) noexcept
{
    return room_token::derive_key(reinterpret_cast<const uint8_t *>(secret),
                                  std::strlen(secret));
}

inline bool
all_base58(std::string_view s) noexcept
{
    for (char c : s) {
        if (!base58::is_char(c)) {
            return false;
        }
    }
    return true;
}

// Each three bytes of what is left: replace a character with a base58 one
// or any byte, insert one (up to max_len), delete one, or cut short.
inline void
alter(input &in, std::string &text, size_t max_len) noexcept
{
    while (in.left > 0) {
        uint8_t op = in.next();
        size_t  pos = in.next();
        uint8_t val = in.next();

        switch (op % 5) {
        case 0:     /* another base58 character */
            if (!text.empty()) {
                text[pos % text.size()] = base58::alphabet[val % 58];
            }
            break;
        case 1:     /* any byte */
            if (!text.empty()) {
                text[pos % text.size()] = static_cast<char>(val);
            }
            break;
        case 2:     /* one more character */
            if (text.size() < max_len) {
                text.insert(pos % (text.size() + 1), 1,
                            base58::alphabet[val % 58]);
            }
            break;
        case 3:     /* one character fewer */
            if (!text.empty()) {
                text.erase(pos % text.size(), 1);
            }
            break;
        default:    /* cut short */
            text.resize(pos % (text.size() + 1));
            break;
        }
    }
}

}  // namespace webcall::fuzz
