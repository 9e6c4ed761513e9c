// Room links never reach a log: anything in a URI that could be a room
// token (a run of base58 characters as long as a token, between path or
// query delimiters) is replaced by "~" and a short fingerprint, the first
// 6 hex digits of its SHA-256. The fingerprint names the same room in
// every log line, and nobody can turn it back into the link (128 random
// bits in the token; 24 bits in the fingerprint).
#pragma once

#include <cstddef>
#include <string_view>

namespace webcall::log_redact {

constexpr size_t fingerprint_len = 6;
// a token is 46-47 base58 characters today (room_token::text_max at
// most); anything from 32 up is treated as one, so a shorter future
// version is redacted too
constexpr size_t token_min = 32;
constexpr size_t token_max = 64;

// Writes the fingerprint of text (fingerprint_len hex digits, no NUL).
void fingerprint(std::string_view text, char out[fingerprint_len]) noexcept;

// The first token-like run in uri, or an empty view.
std::string_view find_token(std::string_view uri) noexcept;

// uri with every token-like run replaced by "~<fingerprint>"; returns the
// length written, which is never more than uri.size(), so cap ==
// uri.size() always suffices (0 only for an empty uri or cap too small).
size_t redact(std::string_view uri, char* out, size_t cap) noexcept;

}  // namespace webcall::log_redact
