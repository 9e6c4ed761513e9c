// Rooms API: request body parsing, the error table and the reply bodies.
#include "cmocka_cxx.h"

#include "room_api.h"

#include <cstring>
#include <jansson.h>
#include <string>

using namespace webcall::room_api;

static create_request
parse(const char *body, unsigned max = 4)
{
    return parse_create(body, std::strlen(body), max);
}

static void
empty_body_asks_for_the_default(void **)
{
    assert_int_equal((int) parse("").err, (int) error::none);
    assert_int_equal(parse("").max_participants, 0);
    assert_int_equal((int) parse(" \r\n").err, (int) error::none);
    assert_int_equal((int) parse("{}").err, (int) error::none);
    assert_int_equal(parse("{}").max_participants, 0);
}

static void
max_participants_within_limits_is_taken(void **)
{
    assert_int_equal(parse("{\"maxParticipants\": 3}").max_participants, 3);
    assert_int_equal(parse("{\"maxParticipants\":4}").max_participants, 4);
    assert_int_equal(parse("{\"maxParticipants\":2}", 2).max_participants, 2);
}

static void
max_participants_out_of_range_is_refused(void **)
{
    assert_int_equal((int) parse("{\"maxParticipants\":5}").err,
                     (int) error::bad_participants);
    assert_int_equal((int) parse("{\"maxParticipants\":1}").err,
                     (int) error::bad_participants);
    assert_int_equal((int) parse("{\"maxParticipants\":-3}").err,
                     (int) error::bad_participants);
    assert_int_equal((int) parse("{\"maxParticipants\":3}", 2).err,
                     (int) error::bad_participants);
}

static void
max_participants_of_wrong_type_is_refused(void **)
{
    assert_int_equal((int) parse("{\"maxParticipants\":\"3\"}").err,
                     (int) error::bad_participants);
    assert_int_equal((int) parse("{\"maxParticipants\":2.5}").err,
                     (int) error::bad_participants);
    assert_int_equal((int) parse("{\"maxParticipants\":null}").err,
                     (int) error::bad_participants);
}

static void
one_time_is_a_boolean(void **)
{
    assert_false(parse("{}").one_time);
    assert_true(parse("{\"oneTime\":true}").one_time);
    assert_false(parse("{\"oneTime\":false}").one_time);
    create_request both = parse("{\"oneTime\":true,\"maxParticipants\":4}");
    assert_int_equal((int) both.err, (int) error::none);
    assert_true(both.one_time);
    assert_int_equal(both.max_participants, 4);
    for (const char *bad : {"{\"oneTime\":1}", "{\"oneTime\":\"yes\"}",
                            "{\"oneTime\":null}", "{\"onetime\":true}"}) {
        assert_int_equal((int) parse(bad).err, (int) error::bad_request);
        assert_non_null(parse(bad).detail);
    }
    /* a bad count is still refused next to a good flag */
    assert_int_equal((int) parse("{\"oneTime\":true,\"maxParticipants\":9}").err,
                     (int) error::bad_participants);
}

static void
malformed_json_is_bad_json(void **)
{
    assert_int_equal((int) parse("{").err, (int) error::bad_json);
    assert_int_equal((int) parse("{\"a\":1,}").err, (int) error::bad_json);
    assert_int_equal((int) parse("maxParticipants=3").err,
                     (int) error::bad_json);
    /* the same key twice could hide which value wins */
    assert_int_equal(
        (int) parse("{\"maxParticipants\":2,\"maxParticipants\":4}").err,
        (int) error::bad_json);
}

static void
non_object_or_unknown_key_is_bad_request(void **)
{
    assert_int_equal((int) parse("[]").err, (int) error::bad_request);
    assert_int_equal((int) parse("3").err, (int) error::bad_request);
    assert_int_equal((int) parse("{\"maxParticipant\":3}").err,
                     (int) error::bad_request);
}

static void
body_over_the_limit_is_too_large(void **)
{
    std::string big(body_max + 1, ' ');

    big[0] = '{';
    assert_int_equal((int) parse_create(big.data(), big.size(), 4).err,
                     (int) error::too_large);
}

static void
every_error_has_status_code_and_sentence(void **)
{
    const error all[] = {error::bad_json, error::bad_request,
                         error::bad_participants, error::bad_token,
                         error::not_found, error::method_not_allowed,
                         error::too_large, error::unsupported_media_type,
                         error::zone_full, error::rate_limited,
                         error::cross_site, error::ended,
                         error::forbidden, error::bad_pin, error::no_pin,
                         error::wrong_pin, error::too_many_tries,
                         error::internal};

    for (error e : all) {
        error_info info = describe(e);
        assert_true(info.status >= 400 && info.status < 600);
        assert_false(info.code.empty());
        assert_false(info.message.empty());
    }

    assert_int_equal(describe(error::zone_full).status, 503);
    assert_int_equal(describe(error::not_found).status, 404);
    assert_int_equal(describe(error::rate_limited).status, 429);
    assert_true(describe(error::rate_limited).code == "rate-limited");
    assert_int_equal(describe(error::ended).status, 410);
    assert_true(describe(error::ended).code == "ended");
    assert_int_equal(describe(error::forbidden).status, 403);
    assert_int_equal(describe(error::bad_pin).status, 400);
    assert_true(describe(error::bad_pin).code == "bad-pin");
    assert_int_equal(describe(error::wrong_pin).status, 403);
    assert_int_equal(describe(error::too_many_tries).status, 429);
    assert_int_equal(describe(error::no_pin).status, 409);
}

static void
times_are_iso_8601_utc(void **)
{
    char out[32];

    assert_int_equal(format_time(0, out, sizeof(out)), 20);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_int_equal(format_time(1795242931, out, sizeof(out)), 20);
    assert_string_equal(out, "2026-11-21T06:35:31Z");
    assert_int_equal(format_time(0, out, 20), 0);
}

static json_t *
load(const char *text, size_t len)
{
    json_error_t err;
    return json_loadb(text, len, 0, &err);
}

static void
replies_are_valid_json_with_every_field(void **)
{
    char   out[512];
    size_t n;

    n = write_created({"TOKEN", 1795242931, 0, 2, false, {}}, "/r/", "OWNERKEY",
                      out, sizeof(out));
    json_t *created = load(out, n);
    assert_non_null(created);
    assert_string_equal(
        json_string_value(json_object_get(created, "ownerKey")), "OWNERKEY");
    assert_string_equal(json_string_value(json_object_get(created, "url")),
                        "/r/TOKEN");
    assert_string_equal(
        json_string_value(json_object_get(created, "expiresAt")),
        "2026-11-21T06:35:31Z");
    assert_int_equal(
        json_integer_value(json_object_get(created, "maxParticipants")), 2);
    json_decref(created);

    n = write_room({"TOKEN", 1795242931, 1, 4, false, {}}, out, sizeof(out));
    json_t *room = load(out, n);
    assert_non_null(room);
    assert_int_equal(json_integer_value(json_object_get(room, "participants")),
                     1);
    json_decref(room);

    n = write_error(error::zone_full, nullptr, out, sizeof(out));
    json_t *err = load(out, n);
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "error")),
                        "zone-full");
    json_decref(err);
}

static void
reply_into_a_short_buffer_is_refused(void **)
{
    char out[16];

    assert_int_equal(write_room({"TOKEN", 0, 0, 2, false, {}}, out, sizeof(out)),
                     0);
}


static void
pin_at_creation_is_4_to_6_digits_in_a_string(void **)
{
    create_request r = parse(R"({"pin":"0042","oneTime":true})");

    assert_int_equal((int) r.err, (int) error::none);
    assert_string_equal(r.pin, "0042");
    assert_true(r.one_time);
    assert_string_equal(parse(R"({"pin":"123456"})").pin, "123456");
    assert_string_equal(parse("{}").pin, "");

    for (const char *bad : {R"({"pin":"123"})", R"({"pin":"1234567"})",
                            R"({"pin":1234})", R"({"pin":"12a4"})",
                            R"({"pin":" 1234"})", R"({"pin":""})",
                            R"({"pin":null})", R"({"pin":true})",
                            R"({"pin":"\u0661\u0662\u0663\u0664"})"}) {
        create_request b = parse(bad);
        assert_int_equal((int) b.err, (int) error::bad_pin);
        assert_string_equal(b.pin, "");
    }
}

static create_request
admit(const char *body)
{
    return parse_admit(body, std::strlen(body));
}

static void
admit_body_is_the_pin_alone(void **)
{
    assert_int_equal((int) admit(R"({"pin":"1234"})").err, (int) error::none);
    assert_string_equal(admit(R"({"pin":"1234"})").pin, "1234");
    assert_int_equal((int) admit(R"({"pin":"12"})").err,
                     (int) error::bad_pin);
    assert_int_equal((int) admit(R"({"pin":1234})").err,
                     (int) error::bad_pin);
    assert_int_equal((int) admit("").err, (int) error::bad_json);
    assert_int_equal((int) admit("{").err, (int) error::bad_json);
    assert_int_equal((int) admit("{}").err, (int) error::bad_request);
    assert_int_equal((int) admit(R"(["1234"])").err,
                     (int) error::bad_request);
    assert_int_equal((int) admit(R"({"pin":"1234","x":1})").err,
                     (int) error::bad_request);
    assert_int_equal((int) admit(R"({"pin":"1234","pin":"1234"})").err,
                     (int) error::bad_json);
}

static void
every_detail_is_safe_to_write_unescaped(void **)
{
    const char *bodies[] = {"{", "[]", "{}", R"({"x":1})", R"({"pin":1})",
                            R"({"pin":"1234","x":1})", R"({"oneTime":1})",
                            R"({"maxParticipants":"2"})",
                            R"({"maxParticipants":9})"};

    for (const char *b : bodies) {
        for (create_request r : {parse(b), admit(b)}) {
            if (r.detail != nullptr) {
                assert_null(std::strchr(r.detail, '"'));
                assert_null(std::strchr(r.detail, '\\'));
            }
        }
    }
}

static void
pin_replies_carry_the_pass_or_what_is_left(void **)
{
    char    out[512];
    size_t  n;
    json_t *j;

    n = write_created({"TOKEN", 1795242931, 0, 2, true, {}}, "/r/", "OWNER", out,
                      sizeof(out), "PASS");
    j = load(out, n);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "pass")),
                        "PASS");
    assert_true(json_is_true(json_object_get(j, "pin")));
    json_decref(j);

    n = write_created({"TOKEN", 1795242931, 0, 2, false, {}}, "/r/", "OWNER", out,
                      sizeof(out));
    j = load(out, n);
    assert_null(json_object_get(j, "pass"));
    assert_null(json_object_get(j, "pin"));
    json_decref(j);

    n = write_room({"TOKEN", 1795242931, 1, 4, true, {}}, out, sizeof(out));
    j = load(out, n);
    assert_true(json_is_true(json_object_get(j, "pin")));
    json_decref(j);

    n = write_admitted("PASS", out, sizeof(out));
    j = load(out, n);
    assert_string_equal(json_string_value(json_object_get(j, "pass")),
                        "PASS");
    json_decref(j);

    n = write_pin_refused(error::wrong_pin, 3, 0, out, sizeof(out));
    j = load(out, n);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "wrong-pin");
    assert_int_equal(json_integer_value(json_object_get(j, "triesLeft")), 3);
    assert_null(json_object_get(j, "retryAfter"));
    json_decref(j);

    n = write_pin_refused(error::wrong_pin, 0, 60, out, sizeof(out));
    j = load(out, n);
    assert_int_equal(json_integer_value(json_object_get(j, "triesLeft")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "retryAfter")), 60);
    json_decref(j);

    n = write_pin_refused(error::too_many_tries, 0, 119, out, sizeof(out));
    j = load(out, n);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "too-many-tries");
    assert_int_equal(json_integer_value(json_object_get(j, "retryAfter")),
                     119);
    json_decref(j);
}

static void
room_reply_names_the_node_when_given(void **)
{
    char    out[512];
    size_t  n;
    json_t *j;

    n = write_room({"TOKEN", 1795242931, 1, 4, false, "Nd4eXyz9"}, out,
                   sizeof(out));
    j = load(out, n);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "node")),
                        "Nd4eXyz9");
    assert_string_equal(json_string_value(json_object_get(j, "token")),
                        "TOKEN");
    assert_int_equal(json_integer_value(json_object_get(j, "participants")),
                     1);
    assert_null(json_object_get(j, "pin"));
    json_decref(j);

    /* with a PIN too: both */
    n = write_room({"TOKEN", 1795242931, 1, 4, true, "Nd4eXyz9"}, out,
                   sizeof(out));
    j = load(out, n);
    assert_true(json_is_true(json_object_get(j, "pin")));
    assert_string_equal(json_string_value(json_object_get(j, "node")),
                        "Nd4eXyz9");
    json_decref(j);

    /* no node: no key */
    n = write_room({"TOKEN", 1795242931, 1, 4, false, {}}, out, sizeof(out));
    j = load(out, n);
    assert_null(json_object_get(j, "node"));
    json_decref(j);
    n = write_room({"TOKEN", 1795242931, 1, 4, false, ""}, out, sizeof(out));
    j = load(out, n);
    assert_null(json_object_get(j, "node"));
    json_decref(j);

    /* the node makes the reply longer: a buffer just short is refused */
    n = write_room({"TOKEN", 1795242931, 1, 4, false, "Nd4eXyz9"}, out,
                   sizeof(out));
    assert_true(n > 0);
    assert_int_equal(write_room({"TOKEN", 1795242931, 1, 4, false,
                                 "Nd4eXyz9"}, out, n),
                     0);
    assert_int_equal(write_room({"TOKEN", 1795242931, 1, 4, false,
                                 "Nd4eXyz9"}, out, n + 1),
                     n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_body_asks_for_the_default),
        cmocka_unit_test(max_participants_within_limits_is_taken),
        cmocka_unit_test(max_participants_out_of_range_is_refused),
        cmocka_unit_test(max_participants_of_wrong_type_is_refused),
        cmocka_unit_test(one_time_is_a_boolean),
        cmocka_unit_test(malformed_json_is_bad_json),
        cmocka_unit_test(non_object_or_unknown_key_is_bad_request),
        cmocka_unit_test(body_over_the_limit_is_too_large),
        cmocka_unit_test(every_error_has_status_code_and_sentence),
        cmocka_unit_test(times_are_iso_8601_utc),
        cmocka_unit_test(replies_are_valid_json_with_every_field),
        cmocka_unit_test(reply_into_a_short_buffer_is_refused),
        cmocka_unit_test(pin_at_creation_is_4_to_6_digits_in_a_string),
        cmocka_unit_test(admit_body_is_the_pin_alone),
        cmocka_unit_test(every_detail_is_safe_to_write_unescaped),
        cmocka_unit_test(pin_replies_carry_the_pass_or_what_is_left),
        cmocka_unit_test(room_reply_names_the_node_when_given),
    };

    return cmocka_run_group_tests_name("room_api", tests, NULL, NULL);
}
