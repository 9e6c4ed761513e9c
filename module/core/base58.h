// Base58 (the Bitcoin alphabet): URL-safe text with no look-alike characters
// (no 0, O, I, l), so a room link survives being read aloud or retyped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace webcall::base58 {

constexpr std::string_view alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

// Longest text for n bytes: n * log(256) / log(58), rounded up.
constexpr size_t
max_encoded_len(size_t n) noexcept
{
    return n * 138 / 100 + 1;
}

bool is_char(char c) noexcept;

// Writes the text of [in, in + n) to out; returns its length, or 0 when cap
// is too small.
size_t encode(const uint8_t *in, size_t n, char *out, size_t cap) noexcept;

// Decodes text into exactly n bytes (big-endian, left-padded with zeros).
// False for a character outside the alphabet or a value that needs more
// than n bytes.
bool decode_fixed(std::string_view text, uint8_t *out, size_t n) noexcept;

}  // namespace webcall::base58
