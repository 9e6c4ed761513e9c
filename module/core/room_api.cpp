// Rooms API parsing and replies; JSON is read with jansson, and written with
// snprintf because every value we write is ours (base58, digits, our own
// sentences), so nothing needs escaping.
#include "room_api.h"

#include <cstdio>
#include <ctime>
#include <jansson.h>

namespace webcall::room_api {

namespace {

struct json_ref {
    json_t *p;
    ~json_ref() { json_decref(p); }
};

size_t
finish(int n, size_t cap) noexcept
{
    return (n < 0 || static_cast<size_t>(n) >= cap) ? 0
                                                    : static_cast<size_t>(n);
}

bool
only_space(const char *p, size_t len) noexcept
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            return false;
        }
    }

    return true;
}

create_request
fail(error e, const char *detail) noexcept
{
    return create_request{e, 0, false, detail};
}

}  // namespace

error_info
describe(error e) noexcept
{
    switch (e) {
    case error::none:
        return {200, "", ""};
    case error::bad_json:
        return {400, "bad-json", "The request body is not valid JSON."};
    case error::bad_request:
        return {400, "bad-request", "The request body is not understood."};
    case error::bad_participants:
        return {400, "bad-participants",
                "maxParticipants must be a whole number within the limits."};
    case error::bad_token:
        return {400, "bad-token", "This is not a room link."};
    case error::not_found:
        return {404, "not-found",
                "This room does not exist or its link has expired."};
    case error::method_not_allowed:
        return {405, "method-not-allowed",
                "This method is not allowed here."};
    case error::too_large:
        return {413, "too-large", "The request body is too large."};
    case error::unsupported_media_type:
        return {415, "unsupported-media-type",
                "Send the request body as application/json."};
    case error::cross_site:
        return {403, "cross-site",
                "Rooms are created from this site's own page."};
    case error::zone_full:
        return {503, "zone-full",
                "The server has no space for new rooms right now; "
                "try again in a few minutes."};
    case error::rate_limited:
        return {429, "rate-limited",
                "Too many new rooms from your address; wait a minute and "
                "try again."};
    case error::ended:
        return {410, "ended", "This call was ended by its host; the link "
                "no longer works."};
    case error::forbidden:
        return {403, "forbidden",
                "Only the person who created this link can end it."};
    case error::internal:
        break;
    }

    return {500, "internal", "Something went wrong on the server."};
}

create_request
parse_create(const char *body, size_t len, unsigned max_allowed) noexcept
{
    json_error_t jerr;
    const char  *key;
    json_t      *value;
    json_int_t   n = 0;
    bool         have_n = false;
    bool         one_time = false;

    if (len == 0 || only_space(body, len)) {
        return create_request{error::none, 0, false, nullptr};
    }

    if (len > body_max) {
        return fail(error::too_large, "The body may hold at most 1024 bytes.");
    }

    json_ref root{json_loadb(body, len,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)};
    if (root.p == nullptr) {
        return fail(error::bad_json, "The request body is not valid JSON.");
    }

    if (!json_is_object(root.p)) {
        return fail(error::bad_request, "The body must be a JSON object.");
    }

    json_object_foreach(root.p, key, value) {
        std::string_view name(key);

        if (name == "oneTime") {
            if (!json_is_boolean(value)) {
                return fail(error::bad_request,
                            "oneTime must be true or false.");
            }
            one_time = json_is_true(value);
            continue;
        }

        if (name != "maxParticipants") {
            return fail(error::bad_request, "Unknown field; only "
                        "maxParticipants and oneTime are accepted.");
        }

        if (!json_is_integer(value)) {
            return fail(error::bad_participants,
                        "maxParticipants must be a whole number.");
        }

        n = json_integer_value(value);
        have_n = true;
    }

    if (have_n && (n < 2 || n > static_cast<json_int_t>(max_allowed))) {
        return fail(error::bad_participants,
                    "maxParticipants is outside what this server allows.");
    }

    return create_request{error::none,
                          have_n ? static_cast<unsigned>(n) : 0u, one_time,
                          nullptr};
}

size_t
format_time(int64_t unix_time, char *out, size_t cap) noexcept
{
    time_t    t = static_cast<time_t>(unix_time);
    struct tm tm;

    if (cap < 21 || gmtime_r(&t, &tm) == nullptr) {
        return 0;
    }

    return strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20 ? 20 : 0;
}

size_t
write_created(const room_view &room, std::string_view url_prefix,
              std::string_view owner_key, char *out, size_t cap) noexcept
{
    char when[32];

    if (format_time(room.expires_at, when, sizeof(when)) == 0) {
        return 0;
    }

    return finish(std::snprintf(out, cap,
                      "{\"token\":\"%.*s\",\"url\":\"%.*s%.*s\","
                      "\"expiresAt\":\"%s\",\"maxParticipants\":%u,"
                      "\"ownerKey\":\"%.*s\"}\n",
                      (int) room.token.size(), room.token.data(),
                      (int) url_prefix.size(), url_prefix.data(),
                      (int) room.token.size(), room.token.data(), when,
                      room.max_participants,
                      (int) owner_key.size(), owner_key.data()),
                  cap);
}

size_t
write_room(const room_view &room, char *out, size_t cap) noexcept
{
    char when[32];

    if (format_time(room.expires_at, when, sizeof(when)) == 0) {
        return 0;
    }

    return finish(std::snprintf(out, cap,
                      "{\"token\":\"%.*s\",\"participants\":%u,"
                      "\"maxParticipants\":%u,\"expiresAt\":\"%s\"}\n",
                      (int) room.token.size(), room.token.data(),
                      room.participants, room.max_participants, when),
                  cap);
}

size_t
write_error(error e, const char *detail, char *out, size_t cap) noexcept
{
    error_info info = describe(e);

    if (detail == nullptr) {
        detail = info.message.data();
    }

    return finish(std::snprintf(out, cap,
                                "{\"error\":\"%.*s\",\"message\":\"%s\"}\n",
                                (int) info.code.size(), info.code.data(),
                                detail),
                  cap);
}

}  // namespace webcall::room_api
