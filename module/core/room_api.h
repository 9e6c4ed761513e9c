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
    bad_pin,          // 400: a PIN that is not 4-6 digits
    no_pin,           // 409: /admit for a room without a PIN
    wrong_pin,        // 403: not this room's PIN
    too_many_tries,   // 429: the room's PIN tries are used up for now
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
    char        pin[8];             /* NUL-terminated; empty: no PIN */
};

// The body of POST /rooms: empty, or an object with maxParticipants (n,
// 2 <= n <= max_allowed), oneTime (a boolean) and pin (a string of 4-6
// digits), each optional. Unknown keys are refused so a typo is not
// silently ignored.
create_request parse_create(const char *body, size_t len,
                            unsigned max_allowed) noexcept;

// The body of POST /rooms/<token>/admit: {"pin":"1234"}, nothing else.
// err is bad_pin for a PIN that is not 4-6 digits.
create_request parse_admit(const char *body, size_t len) noexcept;

// Writes "2026-11-28T06:15:31Z"; returns 20 (no NUL) or 0 if cap < 21.
size_t format_time(int64_t unix_time, char *out, size_t cap) noexcept;

struct room_view {
    std::string_view token;
    int64_t          expires_at;
    unsigned         participants;
    unsigned         max_participants;
    bool             pin;           /* joiners need a PIN */
    std::string_view node;          /* which node answers (empty: left
                                       out); a moved call compares it */
};

// Reply bodies; each returns the length written, or 0 if cap is too small.
// pass: a PIN room's pass for its creator (empty: none).
size_t write_created(const room_view &room, std::string_view url_prefix,
                     std::string_view owner_key, char *out,
                     size_t cap, std::string_view pass = {}) noexcept;
// {"pass":"..."} for a right PIN.
size_t write_admitted(std::string_view pass, char *out, size_t cap) noexcept;
// wrong_pin with "triesLeft" (and "retryAfter" too when that was the last
// try), or too_many_tries with "retryAfter" (seconds): the error body plus
// those numbers.
size_t write_pin_refused(error e, unsigned tries_left, int64_t retry_after,
                         char *out, size_t cap) noexcept;
size_t write_room(const room_view &room, char *out, size_t cap) noexcept;
size_t write_error(error e, const char *detail, char *out,
                   size_t cap) noexcept;

}  // namespace webcall::room_api
