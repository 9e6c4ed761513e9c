// Rooms API parsing and replies; JSON is read with jansson, and written with
// snprintf because every value we write is ours (base58, digits, our own
// sentences), so nothing needs escaping.
#include "room_api.h"

#include "room_token.h"

#include <cstdio>
#include <cstring>
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
    return create_request{e, 0, false, detail, {}};
}

/* A PIN field: a string of 4-6 ASCII digits, copied into req.pin. */
bool
read_pin(json_t *value, create_request &req) noexcept
{
    std::string_view pin;

    if (!json_is_string(value)) {
        return false;
    }

    pin = std::string_view(json_string_value(value),
                           json_string_length(value));
    if (!webcall::room_token::pin_valid(pin)) {
        return false;
    }

    std::memcpy(req.pin, pin.data(), pin.size());
    req.pin[pin.size()] = '\0';
    return true;
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
    case error::bad_pin:
        return {400, "bad-pin", "pin must be a string of 4 to 6 digits."};
    case error::no_pin:
        return {409, "no-pin",
                "This room has no PIN; join it without one."};
    case error::wrong_pin:
        return {403, "wrong-pin", "This is not the room's PIN."};
    case error::too_many_tries:
        return {429, "too-many-tries",
                "Too many wrong PINs for this room; wait and try again."};
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
    create_request req{error::none, 0, false, nullptr, {}};

    if (len == 0 || only_space(body, len)) {
        return req;
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
            req.one_time = json_is_true(value);
            continue;
        }

        if (name == "pin") {
            if (!read_pin(value, req)) {
                return fail(error::bad_pin, nullptr);
            }
            continue;
        }

        if (name != "maxParticipants") {
            return fail(error::bad_request, "Unknown field; only "
                        "maxParticipants, oneTime and pin are accepted.");
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

    req.max_participants = have_n ? static_cast<unsigned>(n) : 0u;
    return req;
}

create_request
parse_admit(const char *body, size_t len) noexcept
{
    json_error_t   jerr;
    json_t        *value;
    create_request req{error::none, 0, false, nullptr, {}};

    if (len > body_max) {
        return fail(error::too_large, "The body may hold at most 1024 bytes.");
    }

    json_ref root{len == 0 ? nullptr
                           : json_loadb(body, len, JSON_REJECT_DUPLICATES
                                                   | JSON_DECODE_ANY, &jerr)};
    if (root.p == nullptr) {
        return fail(error::bad_json,
                    "Send the PIN as a JSON object with pin alone.");
    }

    if (!json_is_object(root.p) || json_object_size(root.p) != 1) {
        return fail(error::bad_request,
                    "The body must be an object with pin alone.");
    }

    value = json_object_get(root.p, "pin");
    if (value == nullptr) {
        return fail(error::bad_request,
                    "The body must be an object with pin alone.");
    }

    if (!read_pin(value, req)) {
        return fail(error::bad_pin, nullptr);
    }

    return req;
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
              std::string_view owner_key, char *out, size_t cap,
              std::string_view pass) noexcept
{
    char when[32];

    if (format_time(room.expires_at, when, sizeof(when)) == 0) {
        return 0;
    }

    return finish(std::snprintf(out, cap,
                      "{\"token\":\"%.*s\",\"url\":\"%.*s%.*s\","
                      "\"expiresAt\":\"%s\",\"maxParticipants\":%u,"
                      "\"ownerKey\":\"%.*s\"%s%.*s%s}\n",
                      (int) room.token.size(), room.token.data(),
                      (int) url_prefix.size(), url_prefix.data(),
                      (int) room.token.size(), room.token.data(), when,
                      room.max_participants,
                      (int) owner_key.size(), owner_key.data(),
                      pass.empty() ? "" : ",\"pin\":true,\"pass\":\"",
                      (int) pass.size(), pass.data(),
                      pass.empty() ? "" : "\""),
                  cap);
}

size_t
write_admitted(std::string_view pass, char *out, size_t cap) noexcept
{
    return finish(std::snprintf(out, cap, "{\"pass\":\"%.*s\"}\n",
                                (int) pass.size(), pass.data()),
                  cap);
}

size_t
write_pin_refused(error e, unsigned tries_left, int64_t retry_after,
                  char *out, size_t cap) noexcept
{
    error_info info = describe(e);

    if (e == error::wrong_pin && retry_after <= 0) {
        return finish(std::snprintf(out, cap,
                          "{\"error\":\"%.*s\",\"message\":\"%.*s\","
                          "\"triesLeft\":%u}\n",
                          (int) info.code.size(), info.code.data(),
                          (int) info.message.size(), info.message.data(),
                          tries_left),
                      cap);
    }

    if (e == error::wrong_pin) {
        /* the last try: wrong, and the room is locked from now */
        return finish(std::snprintf(out, cap,
                          "{\"error\":\"%.*s\",\"message\":\"%.*s\","
                          "\"triesLeft\":0,\"retryAfter\":%lld}\n",
                          (int) info.code.size(), info.code.data(),
                          (int) info.message.size(), info.message.data(),
                          (long long) retry_after),
                      cap);
    }

    return finish(std::snprintf(out, cap,
                      "{\"error\":\"%.*s\",\"message\":\"%.*s\","
                      "\"retryAfter\":%lld}\n",
                      (int) info.code.size(), info.code.data(),
                      (int) info.message.size(), info.message.data(),
                      (long long) retry_after),
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
                      "\"maxParticipants\":%u,\"expiresAt\":\"%s\"%s"
                      "%s%.*s%s}\n",
                      (int) room.token.size(), room.token.data(),
                      room.participants, room.max_participants, when,
                      room.pin ? ",\"pin\":true" : "",
                      room.node.empty() ? "" : ",\"node\":\"",
                      (int) room.node.size(), room.node.data(),
                      room.node.empty() ? "" : "\""),
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
