// TURN REST API credentials (draft-uberti-behave-turn-rest, what coturn
// checks with use-auth-secret): username "<expiry unix time>:<peer id>",
// password base64(HMAC-SHA1(secret, username)). Also the check of the ICE
// server URLs handed to browsers, and the JSON of RTCIceServer objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace webcall::turn {

constexpr size_t credential_len = 28;   /* base64 of a SHA-1 digest */
constexpr size_t secret_min = 16;

// The expiry of a credential minted at now for ttl seconds, rounded up to
// a step of ttl/4 (at least a minute): all the credentials one peer asks
// for within a step are the same username and password, so one seat holds
// at most 5 usernames that are valid at once, and coturn's user-quota
// (allocations per username) bounds what a seat can take. A credential
// lives between ttl and ttl + ttl/4.
int64_t expiry(int64_t now, int64_t ttl) noexcept;

// Writes "<expiry>:<user>"; returns its length or 0 when cap is too small.
size_t username(int64_t expiry, std::string_view user, char *out,
                size_t cap) noexcept;

// base64(HMAC-SHA1(secret, username)) into out[credential_len].
bool credential(std::string_view secret, std::string_view username,
                char out[credential_len]) noexcept;

enum class url_kind { invalid, stun, turn };

// stun:host[:port], turn:host[:port][?transport=udp|tcp],
// turns:host[:port][?transport=tcp]. Host is a DNS name, an IPv4 address
// or a bracketed IPv6 address; nothing else is accepted (RFC 7064/7065).
url_kind check_url(std::string_view url) noexcept;

// The same check for a URL as written in nginx.conf, where the host may be
// a variable ("turn:$host:3478"): each $name or ${name} is taken as a
// valid host name. The URL nginx makes of it per connection is checked
// again with check_url before any browser sees it.
url_kind check_url_template(std::string_view url) noexcept;

// The URL as written in nginx.conf with each $name or ${name} replaced by
// stand_in, into out; its length, or 0 if it does not fit in cap or a '$'
// is not followed by a name.
size_t expand_template(std::string_view url, std::string_view stand_in,
                       char *out, size_t cap) noexcept;

// The "static-auth-secret=..." value of a coturn configuration file's text
// (the last one wins, as in coturn); empty if there is none.
std::string_view coturn_secret(std::string_view conf) noexcept;

// The iceServers array: one entry with the stun: URLs, one with the turn:
// and turns: URLs plus username and credential. Returns the length, or 0
// if cap is too small. urls holds n_urls checked URLs.
size_t ice_servers_json(const std::string_view *urls, size_t n_urls,
                        std::string_view username,
                        std::string_view credential, char *out,
                        size_t cap) noexcept;

}  // namespace webcall::turn
