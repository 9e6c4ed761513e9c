// Base58 encode and decode by long division; inputs are a few dozen bytes, so
// the quadratic cost is a few microseconds.
#include "base58.h"

#include <cstring>

namespace webcall::base58 {

namespace {

int
digit_of(char c) noexcept
{
    size_t pos = alphabet.find(c);

    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

bool
is_char(char c) noexcept
{
    return digit_of(c) >= 0;
}

size_t
encode(const uint8_t *in, size_t n, char *out, size_t cap) noexcept
{
    uint8_t digits[256];
    size_t  zeros = 0, len = 0;

    if (n > 180) {
        return 0;
    }

    while (zeros < n && in[zeros] == 0) {
        zeros++;
    }

    /* digits[] holds the number in base 58, least significant first */
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];

        for (size_t j = 0; j < len; j++) {
            carry += static_cast<unsigned>(digits[j]) << 8;
            digits[j] = static_cast<uint8_t>(carry % 58);
            carry /= 58;
        }

        while (carry > 0) {
            digits[len++] = static_cast<uint8_t>(carry % 58);
            carry /= 58;
        }
    }

    if (zeros + len > cap) {
        return 0;
    }

    for (size_t i = 0; i < zeros; i++) {
        out[i] = alphabet[0];
    }

    for (size_t i = 0; i < len; i++) {
        out[zeros + i] = alphabet[digits[len - 1 - i]];
    }

    return zeros + len;
}

bool
decode_fixed(std::string_view text, uint8_t *out, size_t n) noexcept
{
    std::memset(out, 0, n);

    for (char c : text) {
        int digit = digit_of(c);

        if (digit < 0) {
            return false;
        }

        /* out = out * 58 + digit, big-endian */
        unsigned carry = static_cast<unsigned>(digit);

        for (size_t i = n; i-- > 0;) {
            carry += static_cast<unsigned>(out[i]) * 58;
            out[i] = static_cast<uint8_t>(carry & 0xff);
            carry >>= 8;
        }

        if (carry != 0) {
            return false;
        }
    }

    return true;
}

}  // namespace webcall::base58
