// TURN REST API credentials with OpenSSL's HMAC-SHA1 and base64.
#include "turn_credentials.h"
#include "string_slice.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace webcall::turn {

namespace {

bool
host_char(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool
valid_host(std::string_view h) noexcept
{
    if (h.empty()) {
        return false;
    }

    if (h.front() == '[') {
        if (h.size() < 3 || h.back() != ']') {
            return false;
        }
        for (char c : slice(h, 1, h.size() - 2)) {
            bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                       || (c >= 'A' && c <= 'F');
            if (!hex && c != ':' && c != '.') {
                return false;
            }
        }
        return true;
    }

    if (h.front() == '-' || h.front() == '.' || h.back() == '-') {
        return false;
    }

    for (char c : h) {
        if (!host_char(c)) {
            return false;
        }
    }

    return true;
}

bool
valid_port(std::string_view p) noexcept
{
    unsigned n = 0;

    if (p.empty() || p.size() > 5) {
        return false;
    }

    for (char c : p) {
        if (c < '0' || c > '9') {
            return false;
        }
        n = n * 10 + static_cast<unsigned>(c - '0');
    }

    return n >= 1 && n <= 65535;
}

// "host[:port]" with the IPv6 brackets taken into account.
bool
valid_hostport(std::string_view hp) noexcept
{
    size_t colon;

    if (!hp.empty() && hp.front() == '[') {
        size_t close = hp.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        if (close + 1 == hp.size()) {
            return valid_host(hp);
        }
        return hp[close + 1] == ':' && valid_host(slice(hp, 0, close + 1))
               && valid_port(slice(hp, close + 2));
    }

    colon = hp.find(':');
    if (colon == std::string_view::npos) {
        return valid_host(hp);
    }

    return valid_host(slice(hp, 0, colon))
           && valid_port(slice(hp, colon + 1));
}

bool
starts_with(std::string_view s, std::string_view p) noexcept
{
    return s.size() >= p.size() && slice(s, 0, p.size()) == p;
}

size_t
append(char *out, size_t cap, size_t at, std::string_view s) noexcept
{
    if (at == 0 && cap == 0) {
        return 0;
    }
    if (at + s.size() >= cap) {
        return cap;   /* marks overflow */
    }
    std::memcpy(out + at, s.data(), s.size());
    return at + s.size();
}

}  // namespace

int64_t
expiry(int64_t now, int64_t ttl) noexcept
{
    int64_t step = ttl / 4 < 60 ? 60 : ttl / 4;
    int64_t at = now + ttl;
    return (at + step - 1) / step * step;
}

size_t
username(int64_t expiry, std::string_view user, char *out, size_t cap)
    noexcept
{
    int n = std::snprintf(out, cap, "%lld:%.*s",
                          static_cast<long long>(expiry),
                          static_cast<int>(user.size()), user.data());

    return (n < 0 || static_cast<size_t>(n) >= cap) ? 0
                                                    : static_cast<size_t>(n);
}

bool
credential(std::string_view secret, std::string_view username,
           char out[credential_len]) noexcept
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned char text[credential_len + 1];
    unsigned int  len = 0;

    if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char *>(username.data()),
             username.size(), digest, &len) == nullptr
        || len != 20)
    {
        return false;
    }

    if (EVP_EncodeBlock(text, digest, 20) != static_cast<int>(credential_len))
    {
        return false;
    }

    std::memcpy(out, text, credential_len);
    return true;
}

url_kind
check_url(std::string_view url) noexcept
{
    std::string_view rest, query;
    url_kind         kind;
    bool             secure = false;
    size_t           q;

    if (starts_with(url, "stun:")) {
        rest = slice(url, 5);
        kind = url_kind::stun;
    } else if (starts_with(url, "turns:")) {
        rest = slice(url, 6);
        kind = url_kind::turn;
        secure = true;
    } else if (starts_with(url, "turn:")) {
        rest = slice(url, 5);
        kind = url_kind::turn;
    } else {
        return url_kind::invalid;
    }

    q = rest.find('?');
    if (q != std::string_view::npos) {
        query = slice(rest, q + 1);
        rest = slice(rest, 0, q);

        if (kind == url_kind::stun) {
            return url_kind::invalid;
        }
        if (query != "transport=tcp" && (secure || query != "transport=udp"))
        {
            return url_kind::invalid;
        }
    }

    return valid_hostport(rest) ? kind : url_kind::invalid;
}

size_t
expand_template(std::string_view url, std::string_view stand_in, char *out,
                size_t cap) noexcept
{
    size_t  at = 0, i = 0;

    while (i < url.size()) {
        if (url[i] != '$') {
            if (at == cap) {
                return 0;
            }
            out[at++] = url[i++];
            continue;
        }

        /* $name or ${name}: letters, digits and '_' as nginx takes them */
        size_t j = i + 1;
        bool   braced = j < url.size() && url[j] == '{';
        size_t start = braced ? j + 1 : j;

        j = start;
        while (j < url.size()
               && (std::isalnum((unsigned char) url[j]) || url[j] == '_'))
        {
            j++;
        }
        if (j == start || (braced && (j == url.size() || url[j] != '}'))) {
            return 0;
        }
        if (at + stand_in.size() > cap) {
            return 0;
        }
        for (char c : stand_in) {
            out[at++] = c;
        }
        i = braced ? j + 1 : j;
    }

    return at;
}

url_kind
check_url_template(std::string_view url) noexcept
{
    char    buf[512];
    size_t  n = expand_template(url, "example.org", buf, sizeof(buf));

    return n == 0 ? url_kind::invalid : check_url(std::string_view(buf, n));
}

std::string_view
coturn_secret(std::string_view conf) noexcept
{
    std::string_view found;
    const std::string_view key = "static-auth-secret";

    while (!conf.empty()) {
        size_t           nl = conf.find('\n');
        std::string_view line = slice(conf, 0, nl);

        conf = (nl == std::string_view::npos) ? std::string_view()
                                              : slice(conf, nl + 1);

        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            line.remove_prefix(1);
        }
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '
                                 || line.back() == '\t'))
        {
            line.remove_suffix(1);
        }

        if (!starts_with(line, key)) {
            continue;
        }

        line.remove_prefix(key.size());
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
        {
            line.remove_prefix(1);
        }
        if (line.empty() || line.front() != '=') {
            continue;
        }

        line.remove_prefix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
        {
            line.remove_prefix(1);
        }
        if (line.size() >= 2 && line.front() == '"' && line.back() == '"') {
            line = slice(line, 1, line.size() - 2);
        }

        found = line;
    }

    return found;
}

size_t
ice_servers_json(const std::string_view *urls, size_t n_urls,
                 std::string_view username, std::string_view credential,
                 char *out, size_t cap) noexcept
{
    size_t at = 0;
    bool   any[2] = {false, false};   /* stun, turn */

    for (size_t i = 0; i < n_urls; i++) {
        any[check_url(urls[i]) == url_kind::stun ? 0 : 1] = true;
    }

    /* {"urls":[...]} of one kind; credentials only where TURN needs them */
    auto entry = [&](url_kind kind) noexcept {
        bool first = true;

        at = append(out, cap, at, "{\"urls\":[");
        for (size_t i = 0; i < n_urls; i++) {
            if (check_url(urls[i]) != kind) {
                continue;
            }
            at = append(out, cap, at, first ? "\"" : ",\"");
            at = append(out, cap, at, urls[i]);
            at = append(out, cap, at, "\"");
            first = false;
        }
        at = append(out, cap, at, "]");

        if (kind == url_kind::turn) {
            at = append(out, cap, at, ",\"username\":\"");
            at = append(out, cap, at, username);
            at = append(out, cap, at, "\",\"credential\":\"");
            at = append(out, cap, at, credential);
            at = append(out, cap, at, "\"");
        }

        at = append(out, cap, at, "}");
    };

    at = append(out, cap, at, "[");

    if (any[0]) {
        entry(url_kind::stun);
    }

    if (any[1]) {
        if (any[0]) {
            at = append(out, cap, at, ",");
        }
        entry(url_kind::turn);
    }

    at = append(out, cap, at, "]");

    return at >= cap ? 0 : at;
}

}  // namespace webcall::turn
