// TURN REST API credentials, ICE server URL checks and coturn's secret.
#include "cmocka_cxx.h"

#include "turn_credentials.h"

#include <cstring>
#include <jansson.h>
#include <string>

using namespace webcall::turn;

static std::string
cred(std::string_view secret, std::string_view user)
{
    char out[credential_len];

    assert_true(credential(secret, user, out));
    return std::string(out, credential_len);
}

static void
expiry_rounds_up_to_a_quarter_of_the_ttl(void **)
{
    /* ttl 1 h: steps of 15 min; between ttl and ttl + ttl/4 from now */
    assert_int_equal(expiry(1800000000, 3600), 1800003600);
    assert_int_equal(expiry(1800000001, 3600), 1800004500);
    assert_int_equal(expiry(1800000899, 3600), 1800004500);
    for (int64_t now = 1800000000; now < 1800010000; now += 37) {
        int64_t e = expiry(now, 3600);
        assert_true(e >= now + 3600 && e <= now + 3600 + 900);
        assert_int_equal(e % 900, 0);
    }
    /* short ttls still step by a minute */
    assert_int_equal(expiry(1800000001, 60), 1800000120);
}

static void
one_step_gives_one_username_and_credential(void **)
{
    char u1[64], u2[64];
    size_t n1 = username(expiry(1800000100, 3600), "Ab3dEf7h", u1, sizeof(u1));
    size_t n2 = username(expiry(1800000800, 3600), "Ab3dEf7h", u2, sizeof(u2));
    assert_int_equal(n1, n2);
    assert_memory_equal(u1, u2, n1);
    assert_string_equal(cred("s3cret-s3cret-16", {u1, n1}).c_str(),
                        cred("s3cret-s3cret-16", {u2, n2}).c_str());
}

static void
credential_is_base64_hmac_sha1_known_vector(void **)
{
    /* HMAC-SHA1 test vector de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9 */
    assert_string_equal(
        cred("key", "The quick brown fox jumps over the lazy dog").c_str(),
        "3nybhbi3iqa8ino29wqQcBydtNk=");
}

static void
credential_matches_what_openssl_computes_for_a_turn_username(void **)
{
    /* echo -n 1600000000:alice | openssl dgst -sha1 -hmac north -binary
     *   | base64 */
    assert_string_equal(cred("north", "1600000000:alice").c_str(),
                        "gq98pTOhhHaAu0we9aV79kOVVv0=");
    assert_string_equal(cred("0123456789abcdef0123456789abcdef",
                             "1735689600:Hv27dJc9").c_str(),
                        "RCH2cgtQbVIIEIJTaILzwRl0Rvc=");
}

static void
username_is_expiry_colon_peer(void **)
{
    char   out[64];
    size_t n = username(1735689600, "Hv27dJc9", out, sizeof(out));

    assert_int_equal(n, 19);
    assert_memory_equal(out, "1735689600:Hv27dJc9", n);
    assert_int_equal(username(1735689600, "Hv27dJc9", out, 10), 0);
}

static void
another_secret_or_username_gives_another_credential(void **)
{
    assert_string_not_equal(cred("north", "1600000000:alice").c_str(),
                            cred("south", "1600000000:alice").c_str());
    assert_string_not_equal(cred("north", "1600000000:alice").c_str(),
                            cred("north", "1600000001:alice").c_str());
}

static void
good_ice_urls_are_accepted(void **)
{
    assert_int_equal((int) check_url("stun:turn.example.org:3478"),
                     (int) url_kind::stun);
    assert_int_equal((int) check_url("stun:turn.example.org"),
                     (int) url_kind::stun);
    assert_int_equal((int) check_url("turn:turn.example.org:3478?transport=udp"),
                     (int) url_kind::turn);
    assert_int_equal((int) check_url("turn:198.51.100.7:3478?transport=tcp"),
                     (int) url_kind::turn);
    assert_int_equal((int) check_url("turns:turn.example.org:443?transport=tcp"),
                     (int) url_kind::turn);
    assert_int_equal((int) check_url("turn:[2001:db8::1]:3478"),
                     (int) url_kind::turn);
}

static void
bad_ice_urls_are_refused(void **)
{
    const char *bad[] = {
        "", "stun:", "http://turn.example.org", "turn:/x",
        "stun:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:443?transport=udp",
        "turn:turn.example.org:0", "turn:turn.example.org:70000",
        "turn:turn.example.org:34a8", "turn:turn example.org",
        "turn:turn.example.org?transport=sctp", "turn:\"x\"",
        "turn:[2001:db8::1", "turn:-bad.example.org",
        "STUN:turn.example.org",
    };

    for (const char *u : bad) {
        assert_int_equal((int) check_url(u), (int) url_kind::invalid);
    }
}

static void
coturn_secret_is_read_from_its_config(void **)
{
    const char *conf = "# coturn\nlistening-port=3478\n"
                       "  static-auth-secret = first\n"
                       "use-auth-secret\n"
                       "static-auth-secret=\"second one\"\r\n"
                       "#static-auth-secret=commented\n";

    assert_true(coturn_secret(conf) == "second one");
    assert_true(coturn_secret("use-auth-secret\n").empty());
    assert_true(coturn_secret("static-auth-secretx=1\n").empty());
}

static void
ice_servers_json_splits_stun_and_turn_with_credentials(void **)
{
    std::string_view urls[] = {
        "stun:t.example.org:3478",
        "turn:t.example.org:3478?transport=udp",
        "turns:t.example.org:443?transport=tcp",
    };
    char         out[1024];
    json_error_t err;

    size_t n = ice_servers_json(urls, 3, "1:abc", "c2VjcmV0", out,
                                sizeof(out));
    assert_true(n > 0);

    json_t *a = json_loadb(out, n, 0, &err);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 2);
    json_t *stun = json_array_get(a, 0);
    assert_null(json_object_get(stun, "username"));
    json_t *turn = json_array_get(a, 1);
    assert_int_equal(json_array_size(json_object_get(turn, "urls")), 2);
    assert_string_equal(json_string_value(json_object_get(turn, "username")),
                        "1:abc");
    assert_string_equal(
        json_string_value(json_object_get(turn, "credential")), "c2VjcmV0");
    json_decref(a);

    assert_int_equal(ice_servers_json(urls, 3, "1:abc", "c2VjcmV0", out, 40),
                     0);
    assert_int_equal(ice_servers_json(urls, 0, "", "", out, sizeof(out)), 2);
}

static void
url_templates_take_a_variable_for_the_host(void **state)
{
    (void) state;
    using webcall::turn::check_url_template;
    using webcall::turn::url_kind;

    assert_int_equal(check_url_template("turn:$host:3478?transport=udp"),
                     url_kind::turn);
    assert_int_equal(check_url_template("turns:${host}:5349?transport=tcp"),
                     url_kind::turn);
    assert_int_equal(check_url_template("stun:$host"), url_kind::stun);
    assert_int_equal(check_url_template("turn:turn.$host:443"),
                     url_kind::turn);
    assert_int_equal(check_url_template("turn:example.org:3478"),
                     url_kind::turn);
    /* the rest of the URL is still checked */
    assert_int_equal(check_url_template("turn:$host:3478?transport=sctp"),
                     url_kind::invalid);
    assert_int_equal(check_url_template("http://$host/"), url_kind::invalid);
    assert_int_equal(check_url_template("turn:$:3478"), url_kind::invalid);
    assert_int_equal(check_url_template("turn:${host:3478"),
                     url_kind::invalid);
    assert_int_equal(check_url_template("turn:$host/x"), url_kind::invalid);
}

static void
url_templates_expand_with_a_stand_in_for_each_variable(void **)
{
    using webcall::turn::expand_template;
    char out[64];

    size_t n = expand_template("turn:$host:3478", "a", out, sizeof(out));
    assert_int_equal(n, sizeof("turn:a:3478") - 1);
    assert_memory_equal(out, "turn:a:3478", n);

    n = expand_template("turns:${host}.$zone_x:443", "ab", out, sizeof(out));
    assert_int_equal(n, sizeof("turns:ab.ab:443") - 1);
    assert_memory_equal(out, "turns:ab.ab:443", n);

    /* without variables it is the URL itself */
    n = expand_template("stun:example.org", "a", out, sizeof(out));
    assert_int_equal(n, sizeof("stun:example.org") - 1);

    /* too long for out, or a '$' without a name: 0 */
    assert_int_equal(expand_template("stun:example.org", "a", out, 8), 0);
    assert_int_equal(expand_template("turn:$host", "example.org", out, 12),
                     0);
    assert_int_equal(expand_template("turn:$:1", "a", out, sizeof(out)), 0);
    assert_int_equal(expand_template("turn:${host", "a", out, sizeof(out)),
                     0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expiry_rounds_up_to_a_quarter_of_the_ttl),
        cmocka_unit_test(one_step_gives_one_username_and_credential),
        cmocka_unit_test(credential_is_base64_hmac_sha1_known_vector),
        cmocka_unit_test(credential_matches_what_openssl_computes_for_a_turn_username),
        cmocka_unit_test(username_is_expiry_colon_peer),
        cmocka_unit_test(another_secret_or_username_gives_another_credential),
        cmocka_unit_test(good_ice_urls_are_accepted),
        cmocka_unit_test(bad_ice_urls_are_refused),
        cmocka_unit_test(url_templates_take_a_variable_for_the_host),
        cmocka_unit_test(url_templates_expand_with_a_stand_in_for_each_variable),
        cmocka_unit_test(coturn_secret_is_read_from_its_config),
        cmocka_unit_test(ice_servers_json_splits_stun_and_turn_with_credentials),
    };

    return cmocka_run_group_tests_name("turn_credentials", tests, NULL, NULL);
}
