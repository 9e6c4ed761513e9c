// Unit tests for the signaling hot path's JSON scanner (json_scan.h): what
// it decides itself, what it leaves to jansson ("unsure"), and that every
// decision here is also jansson's (json_loadb with JSON_REJECT_DUPLICATES).
// tests/fuzz/fuzz_json_scan.cpp checks the same on arbitrary bytes.
#include "cmocka_cxx.h"

#include <string_view>

#include <jansson.h>

#include "json_scan.h"
#include "signal_msg.h"

using namespace webcall;
using json::verdict;

namespace {

bool jansson_accepts(std::string_view t)
{
    json_error_t e;
    json_t* v = json_loadb(t.data(), t.size(), JSON_REJECT_DUPLICATES, &e);
    json_decref(v);
    return v != nullptr;
}

// The scanner's verdict, checked against jansson's own when it decides.
verdict check(std::string_view t)
{
    verdict v = json::scan(t).v;
    if (v == verdict::accept)
        assert_true(jansson_accepts(t));
    if (v == verdict::reject)
        assert_false(jansson_accepts(t));
    return v;
}

void the_messages_of_a_call_are_accepted(void**)
{
    const std::string_view ok[] = {
        R"({"type":"candidate","to":"Ab3dEf7h","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"x/y+z"}})",
        "{\"type\":\"offer\",\"to\":\"Ab3dEf7h\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"}",
        R"({"type":"candidate","to":"Ab3dEf7h","candidate":null})",
        " {\t\"type\" :\n\"bye\"\r} ",
        R"({"a":[1,-0,0.5,-12.25,true,false,null,[],{},"\"\\\/\b\f\n\r\t"]})",
        R"([])",
    };
    for (auto t : ok)
        assert_int_equal(check(t), verdict::accept);
}

void broken_json_is_rejected(void**)
{
    const std::string_view bad[] = {
        "", "   ", "1", "\"x\"", "null", "{", "}", "{\"a\"}", "{\"a\":}",
        "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\":1}x", "{\"a\":1}{}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":.5}", "{\"a\":tru}",
        "{\"a\":nulls}", "{\"a\":True}", "{a:1}", "{'a':1}", "{\"a\":\"x}",
        "{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}", "{\"a\":1,\"a\":2}",
        "{\"o\":{\"k\":1,\"k\":1}}", "{\"a\":[1]]", "{\"a\":\xff}",
    };
    for (auto t : bad)
        assert_int_equal(check(t), verdict::reject);
}

void what_needs_jansson_is_left_to_it(void**)
{
    const std::string_view unsure[] = {
        "{\"a\":\"\\u0041\"}",             // \u escapes
        "{\"a\":\"\xc3\xa9\"}",            // UTF-8
        "{\"a\\n\":1}",                    // an escaped key
        "{\"a\":1e400}",                   // exponents
        "{\"a\":1234567890123456789012}",  // 19 digits or more
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (auto t : unsure)
        assert_int_equal(check(t), verdict::unsure);
}

void one_nul_after_a_number_or_word_is_skipped_as_jansson_does(void**)
{
    assert_int_equal(check(std::string_view("{\"a\":null\0}", 11)),
                     verdict::accept);
    assert_int_equal(check(std::string_view("[1\0]", 4)), verdict::accept);
    assert_int_equal(check(std::string_view("[1\0\0]", 5)), verdict::reject);
    assert_int_equal(check(std::string_view("{\"a\":1}\0", 8)),
                     verdict::reject);
    assert_int_equal(check(std::string_view("{\"a\":\"x\0\"}", 10)),
                     verdict::reject);
}

void members_are_spans_of_the_input(void**)
{
    std::string_view t = "{\"type\":\"offer\",\"to\":\"Ab3dEf7h\","
                         "\"sdp\":\"v=0\\r\\n\",\"n\":[1,{\"k\":2}]}";
    json::scan_result r = json::scan(t);
    assert_int_equal(r.v, verdict::accept);
    assert_int_equal(r.count, 4);
    const json::member* sdp = json::find(r, "sdp");
    assert_non_null(sdp);
    assert_true(sdp->escaped);
    assert_true(sdp->value == "v=0\\r\\n");
    const json::member* n = json::find(r, "n");
    assert_int_equal(n->k, json::kind::array);
    assert_true(n->value == "[1,{\"k\":2}]");
    assert_null(json::find(r, "from"));
}

void parse_client_agrees_with_jansson_alone(void**)
{
    const std::string_view msgs[] = {
        R"({"type":"candidate","to":"Ab3dEf7h","candidate":{"candidate":""}})",
        R"({"type":"candidate","to":"Ab3dEf7h","candidate":"x"})",
        R"({"type":"candidate","to":"Ab3dEf7h"})",
        R"({"type":"offer","to":"Ab3dEf7h","sdp":""})",
        R"({"type":"offer","to":"0bad","sdp":"v=0"})",
        R"({"type":"answer","to":"Ab3dEf7h","sdp":"v=0","from":"Zz"})",
        R"({"type":"answe\u0072","to":"Ab3dEf7h","sdp":"v=0"})",
        R"({"type":"hello"})",
        R"({"type":7})",
        R"({"type":"bye","extra":[1,2]})",
        R"({"type":"ice-servers"})",
        R"({"type":"join","resume":"4kTq9XzLmNpR2sUvWxYz1a"})",
        R"({"type":"join","resume":"4kTq9XzLmNpR2sUvWxYz1a","ticket":"11Gq4SiZxrdLFtcUsMw8aR3pT7vYkN2eHjBDoXKW5b9hE6mfC1zNp"})",
        R"({"type":"join","ticket":"11Gq4SiZxrdLFtcUsMw8aR3pT7vYkN2eHjBDoXKW5b9hE6mfC1zNp"})",
        R"({"type":"join","ticket":"0OIl"})",
        R"({"type":"join","ticket":53})",
        R"({"type":"join","ticket":"z\u0031"})",
        R"({"type":"beacon","phase":"recovery","ms":120,"reconnects":1})",
        R"([{"type":"bye"}])",
    };
    for (auto t : msgs) {
        signal::parse_result a = signal::parse_client(t, 65536);
        signal::parse_result b = signal::parse_client_reference(t, 65536);
        assert_true(a.err == b.err);
        if (!a.err) {
            assert_int_equal(a.msg.type, b.msg.type);
            assert_true(a.msg.to.view() == b.msg.to.view());
            assert_true(a.msg.resume.view() == b.msg.resume.view());
            assert_true(a.msg.ticket.view() == b.msg.ticket.view());
        }
    }
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_messages_of_a_call_are_accepted),
        cmocka_unit_test(broken_json_is_rejected),
        cmocka_unit_test(what_needs_jansson_is_left_to_it),
        cmocka_unit_test(one_nul_after_a_number_or_word_is_skipped_as_jansson_does),
        cmocka_unit_test(members_are_spans_of_the_input),
        cmocka_unit_test(parse_client_agrees_with_jansson_alone),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
