// The RFC 6455 opening handshake's pure parts: is a Sec-WebSocket-Key
// acceptable, what Sec-WebSocket-Accept answers it, and does a header list
// contain a token (Connection: keep-alive, Upgrade).
#pragma once

#include <cstddef>
#include <string_view>

namespace webcall::ws {

constexpr size_t accept_len = 28;     /* base64 of a SHA-1 digest */

// The key must be base64 of exactly 16 bytes (RFC 6455 4.2.1).
bool key_valid(std::string_view key) noexcept;

// base64(SHA-1(key + GUID)) into out[accept_len]; false on a crypto failure.
bool accept_value(std::string_view key, char out[accept_len]) noexcept;

// True if the comma-separated header value holds token, case-insensitively.
bool header_has_token(std::string_view value, std::string_view token) noexcept;

}  // namespace webcall::ws
