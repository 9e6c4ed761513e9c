// Unit tests for log_redact: room tokens cut out of URIs for the logs,
// replaced by a fingerprint that is stable and short.
#include "log_redact.h"

#include "cmocka_cxx.h"

#include <string>

using namespace webcall::log_redact;

namespace {

// A real token's shape: 47 base58 characters.
const std::string token = "2VfUX9mz6Xo1y7bTq4Jw3hK8aLr5sN2pQe9Cd7Fg6Hj4Km3";

std::string redacted(const std::string& uri)
{
    std::string out(uri.size(), '\0');
    size_t n = redact(uri, out.data(), out.size());
    out.resize(n);
    return out;
}

std::string fp(const std::string& t)
{
    char f[fingerprint_len];
    fingerprint(t, f);
    return std::string(f, fingerprint_len);
}

void a_token_in_each_webcall_path_becomes_its_fingerprint(void**)
{
    const std::string f = "~" + fp(token);
    assert_true(redacted("/r/" + token) == "/r/" + f);
    assert_true(redacted("/ws/" + token) == "/ws/" + f);
    assert_true(redacted("/api/rooms/" + token) == "/api/rooms/" + f);
    assert_true(redacted("GET /r/" + token + "?lang=ru HTTP/1.1")
                == "GET /r/" + f + "?lang=ru HTTP/1.1");
    assert_true(redacted("/x?room=" + token + "&a=1") == "/x?room=" + f + "&a=1");
}

void the_fingerprint_is_six_hex_digits_and_stable(void**)
{
    std::string a = fp(token), b = fp(token);
    assert_true(a == b);
    assert_int_equal(a.size(), 6);
    for (char c : a)
        assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    assert_true(fp(token) != fp(token.substr(1) + "x"));
}

void uris_without_a_token_are_unchanged(void**)
{
    for (const std::string& u : std::initializer_list<std::string>{"/", "/assets/room.js", "/api/rooms", "/metrics",
                                "/r/short", "/api/health",
                                // too long for a token: not one
                                "/r/" + token + token}) {
        assert_true(redacted(u) == u);
        assert_true(find_token(u).empty());
    }
}

void a_run_inside_a_longer_word_is_not_a_token(void**)
{
    // an underscore or a dot joins the run to its neighbours
    const std::string u = "/assets/chunk_" + token + ".js";
    assert_true(redacted(u) == u);
}

void every_token_of_a_uri_goes(void**)
{
    const std::string other = "3" + token.substr(1);
    std::string out = redacted("/a/" + token + "/b/" + other);
    assert_true(out == "/a/~" + fp(token) + "/b/~" + fp(other));
    assert_true(find_token(out).empty());
}

void find_token_returns_the_first(void**)
{
    assert_true(find_token("/ws/" + token + "?x=1") == token);
}

void too_small_an_output_writes_nothing(void**)
{
    char out[8];
    assert_int_equal(redact("/r/" + token, out, sizeof(out)), 0);
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_token_in_each_webcall_path_becomes_its_fingerprint),
        cmocka_unit_test(the_fingerprint_is_six_hex_digits_and_stable),
        cmocka_unit_test(uris_without_a_token_are_unchanged),
        cmocka_unit_test(a_run_inside_a_longer_word_is_not_a_token),
        cmocka_unit_test(every_token_of_a_uri_goes),
        cmocka_unit_test(find_token_returns_the_first),
        cmocka_unit_test(too_small_an_output_writes_nothing),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
