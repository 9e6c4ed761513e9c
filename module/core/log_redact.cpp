// Room tokens out of logs (see log_redact.h).
#include "log_redact.h"
#include "string_slice.h"

#include <openssl/sha.h>

#include <cstring>

namespace webcall::log_redact {

namespace {

bool base58_char(char c) noexcept
{
    return (c >= '1' && c <= '9') || (c >= 'A' && c <= 'H')
        || (c >= 'J' && c <= 'N') || (c >= 'P' && c <= 'Z')
        || (c >= 'a' && c <= 'k') || (c >= 'm' && c <= 'z');
}

// What may stand on either side of a token in a URI.
bool delimiter(char c) noexcept
{
    return c == '/' || c == '?' || c == '&' || c == '=' || c == '#'
        || c == ';' || c == ' ';
}

// The run of base58 characters starting at i, and whether it stands
// between delimiters with a token's length.
size_t run_at(std::string_view s, size_t i, bool* token) noexcept
{
    size_t j = i;
    while (j < s.size() && base58_char(s[j]))
        ++j;
    size_t n = j - i;
    *token = n >= token_min && n <= token_max
          && (i == 0 || delimiter(s[i - 1]))
          && (j == s.size() || delimiter(s[j]));
    return n;
}

}  // namespace

void fingerprint(std::string_view text, char out[fingerprint_len]) noexcept
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
           d);
    for (size_t i = 0; i < fingerprint_len / 2; ++i) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
}

std::string_view find_token(std::string_view uri) noexcept
{
    for (size_t i = 0; i < uri.size();) {
        bool token;
        size_t n = run_at(uri, i, &token);
        if (token)
            return slice(uri, i, n);
        i += n ? n : 1;
    }
    return {};
}

size_t redact(std::string_view uri, char* out, size_t cap) noexcept
{
    size_t w = 0;
    if (cap < uri.size())
        return 0;
    for (size_t i = 0; i < uri.size();) {
        bool token;
        size_t n = run_at(uri, i, &token);
        if (token) {
            out[w++] = '~';
            fingerprint(slice(uri, i, n), out + w);
            w += fingerprint_len;
        } else if (n) {
            std::memcpy(out + w, uri.data() + i, n);
            w += n;
        } else {
            out[w++] = uri[i];
            n = 1;
        }
        i += n;
    }
    return w;
}

}  // namespace webcall::log_redact
