// WebSocket handshake helpers on OpenSSL's SHA-1 and base64.
#include "ws_handshake.h"
#include "string_slice.h"

#include <cstring>
#include <openssl/evp.h>
#include <openssl/sha.h>

namespace webcall::ws {

namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool
eq_nocase(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) {
        return false;
    }

    for (size_t i = 0; i < a.size(); i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) {
            return false;
        }
    }

    return true;
}

std::string_view
trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

bool
key_valid(std::string_view key) noexcept
{
    unsigned char out[24];

    /* 16 bytes encode to 22 characters plus "==" */
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') {
        return false;
    }

    for (size_t i = 0; i < 22; i++) {
        char c = key[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                  || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok) {
            return false;
        }
    }

    return EVP_DecodeBlock(out,
                           reinterpret_cast<const unsigned char *>(key.data()),
                           24) == 18;
}

bool
accept_value(std::string_view key, char out[accept_len]) noexcept
{
    unsigned char buf[128];
    unsigned char digest[SHA_DIGEST_LENGTH];
    unsigned char text[accept_len + 1];

    if (key.size() + guid.size() > sizeof(buf)) {
        return false;
    }

    std::memcpy(buf, key.data(), key.size());
    std::memcpy(buf + key.size(), guid.data(), guid.size());

    if (SHA1(buf, key.size() + guid.size(), digest) == nullptr
        || EVP_EncodeBlock(text, digest, SHA_DIGEST_LENGTH)
           != static_cast<int>(accept_len))
    {
        return false;
    }

    std::memcpy(out, text, accept_len);
    return true;
}

bool
header_has_token(std::string_view value, std::string_view token) noexcept
{
    while (!value.empty()) {
        size_t           comma = value.find(',');
        std::string_view item = trim(slice(value, 0, comma));

        if (eq_nocase(item, token)) {
            return true;
        }

        if (comma == std::string_view::npos) {
            break;
        }

        value.remove_prefix(comma + 1);
    }

    return false;
}

}  // namespace webcall::ws
