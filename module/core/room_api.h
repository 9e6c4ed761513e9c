// The rooms REST API's pure half: request body parsing, the error table and
// the JSON replies. The nginx glue only moves bytes in and out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace webcall::room_api {

constexpr size_t body_max = 1024;

enum class error {
    none,
    bad_json,
    bad_request,
    bad_participants,
    bad_token,
    not_found,
    method_not_allowed,
    too_large,
    unsupported_media_type,
    cross_site,
    zone_full,
    rate_limited,
    ended,            // 410: its host ended it, or a one-time link was used
    forbidden,        // 403: no owner key, or not this room's
    internal
};

struct error_info {
    int              status;
    std::string_view code;
    std::string_view message;
};

// The one place that maps an error to its HTTP status, code and sentence.
error_info describe(error e) noexcept;

struct create_request {
    error       err;
    unsigned    max_participants;   /* 0: the zone's default */
    bool        one_time;           /* the link ends after its first call */
    const char *detail;             /* static text saying what was wrong */
};

// The body of POST /rooms: empty, or an object with maxParticipants (n,
// 2 <= n <= max_allowed) and oneTime (a boolean), each optional. Unknown
// keys are refused so a typo is not silently ignored.
create_request parse_create(const char *body, size_t len,
                            unsigned max_allowed) noexcept;

// Writes "2026-11-28T06:15:31Z"; returns 20 (no NUL) or 0 if cap < 21.
size_t format_time(int64_t unix_time, char *out, size_t cap) noexcept;

struct room_view {
    std::string_view token;
    int64_t          expires_at;
    unsigned         participants;
    unsigned         max_participants;
};

// Reply bodies; each returns the length written, or 0 if cap is too small.
size_t write_created(const room_view &room, std::string_view url_prefix,
                     std::string_view owner_key, char *out,
                     size_t cap) noexcept;
size_t write_room(const room_view &room, char *out, size_t cap) noexcept;
size_t write_error(error e, const char *detail, char *out,
                   size_t cap) noexcept;

}  // namespace webcall::room_api
