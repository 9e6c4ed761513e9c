// Unit tests for signal_msg: client-frame validation, join ordering, relay
// splicing, server message builders and the error/close-code table.
#include "signal_msg.h"

#include <cstring>
#include <string>

#include <jansson.h>

#include "cmocka_cxx.h"

using namespace webcall::signal;
using std::string_view;

namespace {

constexpr size_t max_bytes = 64 * 1024;
constexpr string_view alice = "Ab3dEf7h";
constexpr string_view secret = "4kTq9XzLmNpR2sUvWxYz1a";

parse_result parse(string_view text)
{
    return parse_client(text, max_bytes);
}

void assert_bad(string_view text)
{
    parse_result r = parse(text);
    if (r || *r.err != error::bad_message)
        fail_msg("accepted or wrong error: %.*s", static_cast<int>(text.size()),
                 text.data());
}

void assert_sv(string_view got, string_view want)
{
    if (got != want)
        fail_msg("got '%.*s', want '%.*s'", static_cast<int>(got.size()),
                 got.data(), static_cast<int>(want.size()), want.data());
}

// Loads builder output back with jansson; the caller decrefs.
json_t* load(const char* buf, size_t len)
{
    assert_true(len > 0);
    json_error_t jerr;
    json_t* v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        fail_msg("not JSON (%s): %.*s", jerr.text, static_cast<int>(len), buf);
    return v;
}

string_view str_field(const json_t* obj, const char* key)
{
    const json_t* v = json_object_get(obj, key);
    assert_true(json_is_string(v));
    return {json_string_value(v), json_string_length(v)};
}

// --- parsing ----------------------------------------------------------------

void join_without_resume_is_accepted(void**)
{
    parse_result r = parse(R"({"type":"join"})");
    assert_true(static_cast<bool>(r));
    assert_int_equal(r.msg.type, msg_type::join);
    assert_true(r.msg.resume.empty());
}

void join_with_resume_keeps_the_secret(void**)
{
    parse_result r = parse(R"({"type":"join","resume":")" + std::string(secret)
                           + "\"}");
    assert_true(static_cast<bool>(r));
    assert_sv(r.msg.resume.view(), secret);
}

void join_with_malformed_resume_is_bad_message(void**)
{
    assert_bad(R"({"type":"join","resume":"4kTq9XzLmNpR2sU"})");  // 15
    assert_bad(R"({"type":"join","resume":")" + std::string(65, 'a') + "\"}");
    assert_bad(R"({"type":"join","resume":"0kTq9XzLmNpR2sUvWxYz1a"})");
    assert_bad(R"({"type":"join","resume":"OkTq9XzLmNpR2sUvWxYz1a"})");
    assert_bad(R"({"type":"join","resume":"IkTq9XzLmNpR2sUvWxYz1a"})");
    assert_bad(R"({"type":"join","resume":"lkTq9XzLmNpR2sUvWxYz1a"})");
    assert_bad(R"({"type":"join","resume":"4kTq9XzLmNpR2sUv-xYz1a"})");
    assert_bad(R"({"type":"join","resume":12345678901234567})");
    assert_bad(R"({"type":"join","resume":null})");
}

void resume_length_bounds_are_16_and_64(void**)
{
    assert_true(static_cast<bool>(
        parse(R"({"type":"join","resume":")" + std::string(16, 'z') + "\"}")));
    assert_true(static_cast<bool>(
        parse(R"({"type":"join","resume":")" + std::string(64, 'z') + "\"}")));
}

void join_with_pass_keeps_it_alongside_resume(void**)
{
    parse_result r = parse(R"({"type":"join","pass":"7Yq2mXk9PzR4tW8vN3bC5d","resume":")"
                           + std::string(secret) + "\"}");
    assert_true(static_cast<bool>(r));
    assert_sv(r.msg.pass.view(), "7Yq2mXk9PzR4tW8vN3bC5d");
    assert_sv(r.msg.resume.view(), secret);
    assert_true(parse(R"({"type":"join"})").msg.pass.empty());
}

void join_with_malformed_pass_is_bad_message(void**)
{
    assert_bad(R"({"type":"join","pass":""})");
    assert_bad(R"({"type":"join","pass":1234})");
    assert_bad(R"({"type":"join","pass":null})");
    assert_bad(R"({"type":"join","pass":"0OIl"})");
    assert_bad(R"({"type":"join","pass":")" + std::string(33, 'z') + "\"}");
    assert_true(static_cast<bool>(
        parse(R"({"type":"join","pass":")" + std::string(32, 'z') + "\"}")));
}

constexpr string_view ticket =
    "11Gq4SiZxrdLFtcUsMw8aR3pT7vYkN2eHjBDoXKW5b9hE6mfC1zNp";

void join_with_ticket_keeps_it_alongside_resume(void**)
{
    parse_result r = parse(R"({"type":"join","resume":")" + std::string(secret)
                           + R"(","ticket":")" + std::string(ticket) + "\"}");
    assert_true(static_cast<bool>(r));
    assert_sv(r.msg.ticket.view(), ticket);
    assert_sv(r.msg.resume.view(), secret);
    assert_true(parse(R"({"type":"join"})").msg.ticket.empty());

    /* 1 to 80 characters: the length is the ticket's own business */
    r = parse(R"({"type":"join","ticket":"z"})");
    assert_true(static_cast<bool>(r));
    assert_sv(r.msg.ticket.view(), "z");
    r = parse(R"({"type":"join","ticket":")" + std::string(80, 'z') + "\"}");
    assert_true(static_cast<bool>(r));
    assert_int_equal(r.msg.ticket.view().size(), 80);
    assert_true(valid_ticket(ticket));
    assert_false(valid_ticket(""));
    assert_false(valid_ticket(std::string(81, 'z')));
}

void join_with_malformed_ticket_is_bad_message(void**)
{
    assert_bad(R"({"type":"join","ticket":""})");
    assert_bad(R"({"type":"join","ticket":12345})");
    assert_bad(R"({"type":"join","ticket":null})");
    assert_bad(R"({"type":"join","ticket":true})");
    assert_bad(R"({"type":"join","ticket":["11Gq4"]})");
    assert_bad(R"({"type":"join","ticket":{}})");
    assert_bad(R"({"type":"join","ticket":")" + std::string(81, 'z') + "\"}");
    for (char c : {'0', 'O', 'I', 'l', '-', '+', '/', '_', ' '}) {
        std::string t(ticket);
        t[10] = c;
        assert_bad(R"({"type":"join","ticket":")" + t + "\"}");
    }
    assert_bad("{\"type\":\"join\",\"ticket\":\"11Gq\\u0030\"}");
    assert_bad(R"({"type":"join","ticket":"11Gqé"})");
    assert_bad(R"({"type":"join","ticket":"z","ticket":"y"})");
    /* a bad ticket spoils the whole join, resume and all */
    assert_bad(R"({"type":"join","resume":")" + std::string(secret)
               + R"(","ticket":"0"})");
}

void offer_and_answer_carry_the_recipient(void**)
{
    parse_result o = parse(R"({"type":"offer","to":"Ab3dEf7h","sdp":"v=0"})");
    assert_true(static_cast<bool>(o));
    assert_int_equal(o.msg.type, msg_type::offer);
    assert_sv(o.msg.to.view(), alice);

    parse_result a = parse(R"({"type":"answer","to":"Ab3dEf7h","sdp":"v=0"})");
    assert_true(static_cast<bool>(a));
    assert_int_equal(a.msg.type, msg_type::answer);
    assert_sv(a.msg.to.view(), alice);
}

void offer_without_usable_sdp_is_bad_message(void**)
{
    assert_bad(R"({"type":"offer","to":"Ab3dEf7h"})");
    assert_bad(R"({"type":"offer","to":"Ab3dEf7h","sdp":""})");
    assert_bad(R"({"type":"answer","to":"Ab3dEf7h","sdp":42})");
    assert_bad(R"({"type":"answer","to":"Ab3dEf7h","sdp":null})");
}

void candidate_accepts_object_or_null(void**)
{
    parse_result c = parse(R"({"type":"candidate","to":"Ab3dEf7h",)"
                           R"("candidate":{"candidate":"x","sdpMid":"0"}})");
    assert_true(static_cast<bool>(c));
    assert_int_equal(c.msg.type, msg_type::candidate);
    assert_sv(c.msg.to.view(), alice);

    parse_result end = parse(R"({"type":"candidate","to":"Ab3dEf7h",)"
                             R"("candidate":null})");
    assert_true(static_cast<bool>(end));
}

void candidate_missing_or_not_object_is_bad_message(void**)
{
    assert_bad(R"({"type":"candidate","to":"Ab3dEf7h"})");
    assert_bad(R"({"type":"candidate","to":"Ab3dEf7h","candidate":"x"})");
    assert_bad(R"({"type":"candidate","to":"Ab3dEf7h","candidate":[]})");
}

void relayed_message_needs_a_valid_recipient(void**)
{
    assert_bad(R"({"type":"offer","sdp":"v=0"})");
    assert_bad(R"({"type":"offer","to":"","sdp":"v=0"})");
    assert_bad(R"({"type":"offer","to":"12345678901234567","sdp":"v=0"})");
    assert_bad(R"({"type":"offer","to":"Ab3dEf70","sdp":"v=0"})");
    assert_bad(R"({"type":"offer","to":"Ab3d Ef7","sdp":"v=0"})");
    assert_bad(R"({"type":"offer","to":12345678,"sdp":"v=0"})");
    assert_bad(R"({"type":"candidate","to":null,"candidate":null})");
}

void recipient_of_1_to_16_characters_is_accepted(void**)
{
    assert_true(static_cast<bool>(
        parse(R"({"type":"offer","to":"A","sdp":"v=0"})")));
    assert_true(static_cast<bool>(
        parse(R"({"type":"offer","to":"1234567891234567","sdp":"v=0"})")));
}

void escaped_recipient_is_decoded(void**)
{
    parse_result r =
        parse(R"({"type":"offer","to":"\u0041b3dEf7h","sdp":"x"})");
    assert_true(static_cast<bool>(r));
    assert_sv(r.msg.to.view(), alice);
}

void bye_is_accepted(void**)
{
    parse_result r = parse(R"({"type":"bye"})");
    assert_true(static_cast<bool>(r));
    assert_int_equal(r.msg.type, msg_type::bye);
}

void message_with_from_is_bad_message(void**)
{
    assert_bad(R"({"type":"offer","to":"Ab3dEf7h","sdp":"x","from":"Zz"})");
    assert_bad(R"({"type":"join","from":null})");
    assert_bad(R"({"type":"bye","fr\u006fm":"Zz"})");
}

void unknown_or_missing_type_is_bad_message(void**)
{
    assert_bad(R"({"type":"welcome","id":"Ab3dEf7h"})");
    assert_bad(R"({"type":"error","code":"x"})");
    assert_bad(R"({"type":"JOIN"})");
    assert_bad(R"({"type":"join\u0000"})");
    assert_bad(R"({"type":1})");
    assert_bad(R"({"type":["join"]})");
    assert_bad(R"({"to":"Ab3dEf7h","sdp":"x"})");
    assert_bad("{}");
}

void non_object_json_is_bad_message(void**)
{
    assert_bad(R"([{"type":"join"}])");
    assert_bad(R"("join")");
    assert_bad("42");
    assert_bad("null");
    assert_bad("true");
}

void invalid_json_is_bad_message(void**)
{
    assert_bad("");
    assert_bad("   ");
    assert_bad(R"({"type":"join")");
    assert_bad(R"({"type":"join"} x)");
    assert_bad(R"({"type":"join"}{"type":"bye"})");
    assert_bad(R"({type:"join"})");
    assert_bad(R"({'type':'join'})");
    assert_bad("{\"type\":\"join\",\"x\":\"\xff\"}");
    assert_bad(string_view("{\"type\":\"join\"}\0", 16));
}

void duplicate_keys_are_bad_message(void**)
{
    assert_bad(R"({"type":"join","type":"join"})");
    assert_bad(R"({"type":"offer","to":"Ab3dEf7h","to":"Zz","sdp":"x"})");
    assert_bad(R"({"type":"bye","x":1,"\u0078":2})");
}

void unknown_extra_keys_are_accepted(void**)
{
    assert_true(static_cast<bool>(parse(
        R"({"type":"offer","to":"Ab3dEf7h","sdp":"x","v2":{"a":[1,2]}})")));
    assert_true(static_cast<bool>(parse(R"({"type":"bye","reason":"done"})")));
}

void message_over_the_size_limit_is_too_large(void**)
{
    std::string text = R"({"type":"bye","pad":")";
    text += std::string(100, 'x') + "\"}";
    parse_result at = parse_client(text, text.size());
    assert_true(static_cast<bool>(at));
    parse_result over = parse_client(text, text.size() - 1);
    assert_false(static_cast<bool>(over));
    assert_int_equal(*over.err, error::too_large);
}

void deep_nesting_is_rejected_without_crashing(void**)
{
    std::string text = R"({"type":"bye","x":)";
    text += std::string(5000, '[') + std::string(5000, ']') + "}";
    assert_bad(text);
}

// --- ordering ---------------------------------------------------------------

void message_before_join_is_bad_message(void**)
{
    for (msg_type t : {msg_type::offer, msg_type::answer, msg_type::candidate,
                       msg_type::bye}) {
        std::optional<error> e = check_order(false, t);
        assert_true(e.has_value());
        assert_int_equal(*e, error::bad_message);
    }
}

void second_join_is_bad_message(void**)
{
    std::optional<error> e = check_order(true, msg_type::join);
    assert_true(e.has_value());
    assert_int_equal(*e, error::bad_message);
}

void join_first_then_anything_but_join_is_in_order(void**)
{
    assert_false(check_order(false, msg_type::join).has_value());
    for (msg_type t : {msg_type::offer, msg_type::answer, msg_type::candidate,
                       msg_type::bye})
        assert_false(check_order(true, t).has_value());
}

// --- relay ------------------------------------------------------------------

std::string relay(string_view text, string_view from)
{
    char buf[512];
    size_t n = build_relay(buf, sizeof buf, text, from);
    assert_int_equal(n, relay_length(text, from));
    return std::string(buf, n);
}

void relayed_offer_carries_sender_id_and_keeps_payload(void**)
{
    string_view in = R"({"type":"offer","to":"Zz9","sdp":"v=0\r\n","x":1.50})";
    std::string out = relay(in, alice);
    assert_string_equal(out.c_str(),
                        R"({"from":"Ab3dEf7h","type":"offer","to":"Zz9",)"
                        R"("sdp":"v=0\r\n","x":1.50})");
}

void relay_skips_leading_whitespace(void**)
{
    string_view in = " \t\r\n{ \"type\":\"bye\" } \n";
    std::string out = relay(in, "Q");
    assert_string_equal(out.c_str(), "{\"from\":\"Q\", \"type\":\"bye\" } \n");
}

void relayed_candidate_is_valid_json_with_from(void**)
{
    string_view in = R"({"type":"candidate","to":"Zz9","candidate":null})";
    std::string out = relay(in, alice);
    json_t* v = load(out.data(), out.size());
    assert_sv(str_field(v, "from"), alice);
    assert_sv(str_field(v, "type"), "candidate");
    assert_true(json_is_null(json_object_get(v, "candidate")));
    json_decref(v);
}

void relay_into_small_buffer_reports_too_small(void**)
{
    string_view in = R"({"type":"bye"})";
    size_t need = relay_length(in, alice);
    std::string buf(need + 1, '#');
    for (size_t cap = 0; cap < need; ++cap)
        assert_int_equal(build_relay(buf.data(), cap, in, alice), 0);
    assert_int_equal(build_relay(buf.data(), need, in, alice), need);
    assert_int_equal(buf[need], '#');
}

void relay_refuses_invalid_sender_id(void**)
{
    char buf[64];
    string_view in = R"({"type":"bye"})";
    assert_int_equal(build_relay(buf, sizeof buf, in, ""), 0);
    assert_int_equal(build_relay(buf, sizeof buf, in, "a\"b"), 0);
    assert_int_equal(build_relay(buf, sizeof buf, "[1]", alice), 0);
    assert_int_equal(build_relay(buf, sizeof buf, "  ", alice), 0);
}

// --- builders ---------------------------------------------------------------

void welcome_lists_id_peers_resume_and_settings(void**)
{
    string_view peers[] = {"Pq2Rs3Tu", "Vw4Xy5Za"};
    welcome w;
    w.id = alice;
    w.peers = peers;
    w.peer_count = 2;
    w.resume = secret;
    w.ice_servers_json = R"([{"urls":"stun:stun.example.org"}])";
    w.max_participants = 4;
    char buf[512];
    size_t n = build_welcome(buf, sizeof buf, w);
    assert_string_equal(std::string(buf, n).c_str(),
                        R"({"type":"welcome","id":"Ab3dEf7h",)"
                        R"("peers":["Pq2Rs3Tu","Vw4Xy5Za"],)"
                        R"("resume":"4kTq9XzLmNpR2sUvWxYz1a",)"
                        R"("iceServers":[{"urls":"stun:stun.example.org"}],)"
                        R"("maxParticipants":4})");
    json_decref(load(buf, n));
}

void welcome_to_empty_room_has_empty_lists(void**)
{
    welcome w;
    w.id = alice;
    w.resume = secret;
    w.max_participants = 2;
    char buf[256];
    size_t n = build_welcome(buf, sizeof buf, w);
    json_t* v = load(buf, n);
    assert_int_equal(json_array_size(json_object_get(v, "peers")), 0);
    assert_true(json_is_array(json_object_get(v, "peers")));
    assert_true(json_is_array(json_object_get(v, "iceServers")));
    assert_int_equal(json_integer_value(json_object_get(v, "maxParticipants")),
                     2);
    json_decref(v);
}

void peer_joined_and_peer_left_name_the_peer(void**)
{
    char buf[64];
    size_t n = build_peer_joined(buf, sizeof buf, alice);
    assert_string_equal(std::string(buf, n).c_str(),
                        R"({"type":"peer-joined","id":"Ab3dEf7h"})");
    n = build_peer_left(buf, sizeof buf, alice);
    assert_string_equal(std::string(buf, n).c_str(),
                        R"({"type":"peer-left","id":"Ab3dEf7h"})");
}

void error_message_is_json_escaped(void**)
{
    std::string msg =
        "say \"hi\" \\ back\n\t\x01\x1f caf\xc3\xa9 \xf0\x9f\x99\x82";
    char buf[256];
    size_t n = build_error(buf, sizeof buf, error::room_full, msg);
    json_t* v = load(buf, n);
    assert_sv(str_field(v, "type"), "error");
    assert_sv(str_field(v, "code"), "room-full");
    assert_sv(str_field(v, "message"), msg);
    json_decref(v);
    assert_non_null(memmem(buf, n, "\\u0001", 6));
}

void invalid_utf8_in_message_becomes_replacement_chars(void**)
{
    // Stray continuation, overlong '/', surrogate, past U+10FFFF, truncated:
    // each makes the string invalid, and then every non-ASCII byte is
    // replaced, the valid 'é' included.
    for (string_view bad : {"\x80", "\xc0\xaf", "\xed\xa0\x80",
                            "\xf4\x90\x80\x80", "\xe2\x82"}) {
        std::string msg = "caf\xc3\xa9 " + std::string(bad);
        std::string want = "caf\uFFFD\uFFFD ";
        for (size_t i = 0; i < bad.size(); ++i)
            want += "\uFFFD";
        char buf[256];
        size_t n = build_error(buf, sizeof buf, error::bad_message, msg);
        json_t* v = load(buf, n);
        assert_sv(str_field(v, "message"), want);
        json_decref(v);
    }
}

void error_without_message_uses_default_text(void**)
{
    char buf[128];
    size_t n = build_error(buf, sizeof buf, error::rate_limited, "");
    json_t* v = load(buf, n);
    assert_sv(str_field(v, "code"), "rate-limited");
    assert_sv(str_field(v, "message"), describe(error::rate_limited).message);
    json_decref(v);
}

// Each builder, for every capacity short of the need, returns 0 and writes
// nothing past the capacity.
void builders_report_small_buffer(void**)
{
    string_view peers[] = {"Pq2Rs3Tu"};
    welcome w;
    w.id = alice;
    w.peers = peers;
    w.peer_count = 1;
    w.resume = secret;
    w.max_participants = 1234567890;
    using build_fn = size_t (*)(char*, size_t, const welcome&);
    build_fn builders[] = {
        [](char* o, size_t c, const welcome& m) {
            return build_welcome(o, c, m);
        },
        [](char* o, size_t c, const welcome& m) {
            return build_peer_joined(o, c, m.id);
        },
        [](char* o, size_t c, const welcome& m) {
            return build_peer_left(o, c, m.id);
        },
        [](char* o, size_t c, const welcome&) {
            return build_error(o, c, error::too_large, "x\"y\x01\xff");
        },
    };
    for (build_fn build : builders) {
        char full[512];
        size_t need = build(full, sizeof full, w);
        assert_true(need > 0);
        for (size_t cap = 0; cap < need; ++cap) {
            std::string buf(need, '#');
            assert_int_equal(build(buf.data(), cap, w), 0);
            assert_true(buf.find_first_not_of('#', cap) == std::string::npos);
        }
    }
}

// --- beacons -----------------------------------------------------------------

void assert_bad_beacon(string_view text)
{
    parse_result r = parse(text);
    if (r || *r.err != error::bad_beacon)
        fail_msg("accepted or wrong error: %.*s", static_cast<int>(text.size()),
                 text.data());
}

void setup_beacon_is_read_whole(void**)
{
    parse_result r = parse(R"({"type":"beacon","phase":"setup","ms":812,)"
                           R"("firstTry":true,"path":"relayed","transport":"tls"})");
    assert_true(static_cast<bool>(r));
    assert_true(r.msg.type == msg_type::beacon);
    assert_true(r.msg.beacon.phase == beacon_phase::setup);
    assert_int_equal(r.msg.beacon.ms, 812);
    assert_true(r.msg.beacon.first_try);
    assert_true(r.msg.beacon.path == beacon_path::relayed);
    assert_true(r.msg.beacon.transport == beacon_transport::tls);
}

void recovery_beacon_is_read_whole(void**)
{
    parse_result r = parse(R"({"type":"beacon","phase":"recovery","ms":2300,"reconnects":2})");
    assert_true(static_cast<bool>(r));
    assert_true(r.msg.beacon.phase == beacon_phase::recovery);
    assert_int_equal(r.msg.beacon.ms, 2300);
    assert_int_equal(r.msg.beacon.reconnects, 2);
}

void malformed_beacons_are_bad_beacon_and_not_fatal(void**)
{
    const char* bad[] = {
        R"({"type":"beacon"})",
        R"({"type":"beacon","phase":"lunch","ms":1})",
        R"({"type":"beacon","phase":"recovery","ms":-1,"reconnects":0})",
        R"({"type":"beacon","phase":"recovery","ms":600001,"reconnects":0})",
        R"({"type":"beacon","phase":"recovery","ms":1.5,"reconnects":0})",
        R"({"type":"beacon","phase":"recovery","ms":"100","reconnects":0})",
        R"({"type":"beacon","phase":"recovery","ms":100,"reconnects":101})",
        R"({"type":"beacon","phase":"recovery","ms":100})",
        // anything more is refused: nothing that could name a person
        R"({"type":"beacon","phase":"recovery","ms":100,"reconnects":0,"ua":"x"})",
        R"({"type":"beacon","phase":"setup","ms":1,"firstTry":1,"path":"direct","transport":"udp"})",
        R"({"type":"beacon","phase":"setup","ms":1,"firstTry":true,"path":"moon","transport":"udp"})",
        R"({"type":"beacon","phase":"setup","ms":1,"firstTry":true,"path":"direct","transport":"sctp"})",
        R"({"type":"beacon","phase":"setup","ms":1,"firstTry":true,"path":"direct"})",
        R"({"type":"beacon","phase":"setup","ms":1,"firstTry":true,"path":"direct","transport":"udp","ip":"1.2.3.4"})",
    };
    for (const char* b : bad)
        assert_bad_beacon(b);
    assert_false(describe(error::bad_beacon).close.has_value());
}

void oversized_beacon_is_bad_beacon(void**)
{
    std::string text = R"({"type":"beacon","phase":"recovery","ms":100,"reconnects":0})";
    text.insert(1, std::string(beacon_max, ' '));
    assert_bad_beacon(text);
}

void beacon_before_join_is_out_of_order(void**)
{
    assert_true(check_order(false, msg_type::beacon).has_value());
    assert_false(check_order(true, msg_type::beacon).has_value());
}

// --- errors and close codes ---------------------------------------------

void check_error(error e, string_view code, std::optional<int> close)
{
    error_info info = describe(e);
    assert_sv(info.code, code);
    assert_false(info.message.empty());
    assert_int_equal(info.close.has_value(), close.has_value());
    if (close)
        assert_int_equal(static_cast<int>(*info.close), *close);
}

void error_table_matches_the_protocol(void**)
{
    check_error(error::room_ended, "ended", 4410);
    check_error(error::bad_message, "bad-message", 4400);
    check_error(error::room_not_found, "not-found", 4404);
    check_error(error::room_full, "room-full", 4409);
    check_error(error::too_large, "too-large", 1009);
    check_error(error::rate_limited, "rate-limited", 4429);
    check_error(error::bad_beacon, "bad-beacon", std::nullopt);
    check_error(error::pin_required, "pin-required", 4403);
    check_error(error::server_error, "server-error", 1011);
}

void unknown_peer_is_not_found_but_not_fatal(void**)
{
    check_error(error::peer_not_found, "not-found", std::nullopt);
}

void close_codes_have_reasons_including_replaced_and_going_away(void**)
{
    assert_int_equal(static_cast<int>(close_code::replaced), 4001);
    assert_int_equal(static_cast<int>(close_code::going_away), 1001);
    assert_sv(close_reason(close_code::replaced), "replaced");
    assert_sv(close_reason(close_code::going_away), "going away");
    assert_int_equal(static_cast<int>(close_code::ended), 4410);
    assert_sv(close_reason(close_code::ended), "ended");
    for (close_code c : {close_code::too_large, close_code::bad_message,
                         close_code::not_found, close_code::room_full,
                         close_code::rate_limited, close_code::pin_required})
        assert_false(close_reason(c).empty());
}

void welcome_carries_ticket_node_and_moved_when_given(void**)
{
    string_view peers[] = {"Pq2Rs3Tu"};
    welcome w;
    w.id = alice;
    w.peers = peers;
    w.peer_count = 1;
    w.resume = secret;
    w.max_participants = 2;
    w.ticket = ticket;
    w.node = "Nd4eXyz9";
    w.moved = true;
    char buf[512];
    size_t n = build_welcome(buf, sizeof buf, w);
    assert_string_equal(std::string(buf, n).c_str(),
                        R"({"type":"welcome","id":"Ab3dEf7h",)"
                        R"("peers":["Pq2Rs3Tu"],)"
                        R"("resume":"4kTq9XzLmNpR2sUvWxYz1a",)"
                        R"("iceServers":[],"maxParticipants":2,)"
                        R"("ticket":"11Gq4SiZxrdLFtcUsMw8aR3pT7vYkN2eHjBDoXKW5b9hE6mfC1zNp",)"
                        R"("node":"Nd4eXyz9","moved":true})");
    json_t* v = load(buf, n);
    assert_sv(str_field(v, "ticket"), ticket);
    assert_sv(str_field(v, "node"), "Nd4eXyz9");
    assert_true(json_is_true(json_object_get(v, "moved")));
    json_decref(v);

    /* each on its own */
    w.node = {};
    w.moved = false;
    n = build_welcome(buf, sizeof buf, w);
    v = load(buf, n);
    assert_sv(str_field(v, "ticket"), ticket);
    assert_null(json_object_get(v, "node"));
    assert_null(json_object_get(v, "moved"));
    json_decref(v);

    w.ticket = {};
    w.node = "Nd4eXyz9";
    n = build_welcome(buf, sizeof buf, w);
    v = load(buf, n);
    assert_null(json_object_get(v, "ticket"));
    assert_sv(str_field(v, "node"), "Nd4eXyz9");
    assert_null(json_object_get(v, "moved"));
    json_decref(v);

    w.node = {};
    w.moved = true;
    n = build_welcome(buf, sizeof buf, w);
    v = load(buf, n);
    assert_null(json_object_get(v, "ticket"));
    assert_null(json_object_get(v, "node"));
    assert_true(json_is_true(json_object_get(v, "moved")));
    json_decref(v);

    /* every byte counts: one short of the whole is nothing */
    w.ticket = ticket;
    w.node = "Nd4eXyz9";
    n = build_welcome(buf, sizeof buf, w);
    assert_true(n > 0);
    assert_int_equal(build_welcome(buf, n - 1, w), 0);
    assert_int_equal(build_welcome(buf, n, w), n);
}

void welcome_without_ticket_node_or_moved_leaves_them_out(void**)
{
    welcome w;
    w.id = alice;
    w.resume = secret;
    w.max_participants = 2;
    char buf[256];
    size_t n = build_welcome(buf, sizeof buf, w);
    json_t* v = load(buf, n);
    assert_null(json_object_get(v, "ticket"));
    assert_null(json_object_get(v, "node"));
    assert_null(json_object_get(v, "moved"));
    assert_int_equal(json_object_size(v), 6);
    json_decref(v);
}

void ice_servers_reply_carries_a_ticket_when_given(void**)
{
    char   out[256];
    size_t n = build_ice_servers(out, sizeof(out), "", ticket);
    assert_sv(string_view(out, n),
              R"({"type":"ice-servers","iceServers":[],)"
              R"("ticket":"11Gq4SiZxrdLFtcUsMw8aR3pT7vYkN2eHjBDoXKW5b9hE6mfC1zNp"})");
    json_t* v = load(out, n);
    assert_sv(str_field(v, "ticket"), ticket);
    json_decref(v);

    n = build_ice_servers(out, sizeof(out),
                          R"([{"urls":["stun:t.example.org"]}])", ticket);
    v = load(out, n);
    assert_int_equal(json_array_size(json_object_get(v, "iceServers")), 1);
    assert_sv(str_field(v, "ticket"), ticket);
    json_decref(v);

    /* an empty ticket: the reply as before */
    n = build_ice_servers(out, sizeof(out), "[]", {});
    assert_sv(string_view(out, n), R"({"type":"ice-servers","iceServers":[]})");

    n = build_ice_servers(out, sizeof(out), "[]", ticket);
    assert_int_equal(build_ice_servers(out, n - 1, "[]", ticket), 0);
}

void bad_ticket_is_not_fatal(void**)
{
    check_error(error::bad_ticket, "bad-ticket", std::nullopt);
    char   out[256];
    size_t n = build_error(out, sizeof(out), error::bad_ticket, {});
    json_t* v = load(out, n);
    assert_sv(str_field(v, "code"), "bad-ticket");
    assert_sv(str_field(v, "message"), describe(error::bad_ticket).message);
    json_decref(v);
}

void type_names_match_the_wire(void**)
{
    assert_sv(type_name(msg_type::join), "join");
    assert_sv(type_name(msg_type::offer), "offer");
    assert_sv(type_name(msg_type::answer), "answer");
    assert_sv(type_name(msg_type::candidate), "candidate");
    assert_sv(type_name(msg_type::bye), "bye");
    assert_true(is_relayed(msg_type::candidate));
    assert_false(is_relayed(msg_type::join));
    assert_false(is_relayed(msg_type::bye));
}

void ice_servers_request_is_valid_after_join_only(void**)
{
    parse_result r = parse(R"({"type":"ice-servers"})");
    assert_true(static_cast<bool>(r));
    assert_int_equal(static_cast<int>(r.msg.type),
                     static_cast<int>(msg_type::ice_servers));
    assert_false(is_relayed(msg_type::ice_servers));
    assert_true(check_order(false, msg_type::ice_servers).has_value());
    assert_false(check_order(true, msg_type::ice_servers).has_value());
}

void ice_servers_reply_carries_the_array(void**)
{
    char   out[256];
    size_t n = build_ice_servers(out, sizeof(out),
                                 R"([{"urls":["stun:t.example.org"]}])");
    assert_sv(string_view(out, n),
              R"({"type":"ice-servers","iceServers":[{"urls":["stun:t.example.org"]}]})");
    n = build_ice_servers(out, sizeof(out), "");
    assert_sv(string_view(out, n), R"({"type":"ice-servers","iceServers":[]})");
    assert_int_equal(build_ice_servers(out, 10, "[]"), 0);
}

}  // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(join_without_resume_is_accepted),
        cmocka_unit_test(join_with_resume_keeps_the_secret),
        cmocka_unit_test(join_with_malformed_resume_is_bad_message),
        cmocka_unit_test(resume_length_bounds_are_16_and_64),
        cmocka_unit_test(join_with_pass_keeps_it_alongside_resume),
        cmocka_unit_test(join_with_malformed_pass_is_bad_message),
        cmocka_unit_test(join_with_ticket_keeps_it_alongside_resume),
        cmocka_unit_test(join_with_malformed_ticket_is_bad_message),
        cmocka_unit_test(offer_and_answer_carry_the_recipient),
        cmocka_unit_test(offer_without_usable_sdp_is_bad_message),
        cmocka_unit_test(candidate_accepts_object_or_null),
        cmocka_unit_test(candidate_missing_or_not_object_is_bad_message),
        cmocka_unit_test(relayed_message_needs_a_valid_recipient),
        cmocka_unit_test(recipient_of_1_to_16_characters_is_accepted),
        cmocka_unit_test(escaped_recipient_is_decoded),
        cmocka_unit_test(bye_is_accepted),
        cmocka_unit_test(message_with_from_is_bad_message),
        cmocka_unit_test(unknown_or_missing_type_is_bad_message),
        cmocka_unit_test(non_object_json_is_bad_message),
        cmocka_unit_test(invalid_json_is_bad_message),
        cmocka_unit_test(duplicate_keys_are_bad_message),
        cmocka_unit_test(unknown_extra_keys_are_accepted),
        cmocka_unit_test(message_over_the_size_limit_is_too_large),
        cmocka_unit_test(deep_nesting_is_rejected_without_crashing),
        cmocka_unit_test(message_before_join_is_bad_message),
        cmocka_unit_test(second_join_is_bad_message),
        cmocka_unit_test(join_first_then_anything_but_join_is_in_order),
        cmocka_unit_test(relayed_offer_carries_sender_id_and_keeps_payload),
        cmocka_unit_test(relay_skips_leading_whitespace),
        cmocka_unit_test(relayed_candidate_is_valid_json_with_from),
        cmocka_unit_test(relay_into_small_buffer_reports_too_small),
        cmocka_unit_test(relay_refuses_invalid_sender_id),
        cmocka_unit_test(welcome_lists_id_peers_resume_and_settings),
        cmocka_unit_test(welcome_to_empty_room_has_empty_lists),
        cmocka_unit_test(peer_joined_and_peer_left_name_the_peer),
        cmocka_unit_test(error_message_is_json_escaped),
        cmocka_unit_test(invalid_utf8_in_message_becomes_replacement_chars),
        cmocka_unit_test(error_without_message_uses_default_text),
        cmocka_unit_test(builders_report_small_buffer),
        cmocka_unit_test(error_table_matches_the_protocol),
        cmocka_unit_test(unknown_peer_is_not_found_but_not_fatal),
        cmocka_unit_test(
            close_codes_have_reasons_including_replaced_and_going_away),
        cmocka_unit_test(type_names_match_the_wire),
        cmocka_unit_test(ice_servers_request_is_valid_after_join_only),
        cmocka_unit_test(ice_servers_reply_carries_the_array),
        cmocka_unit_test(welcome_carries_ticket_node_and_moved_when_given),
        cmocka_unit_test(welcome_without_ticket_node_or_moved_leaves_them_out),
        cmocka_unit_test(ice_servers_reply_carries_a_ticket_when_given),
        cmocka_unit_test(bad_ticket_is_not_fatal),
        cmocka_unit_test(setup_beacon_is_read_whole),
        cmocka_unit_test(recovery_beacon_is_read_whole),
        cmocka_unit_test(malformed_beacons_are_bad_beacon_and_not_fatal),
        cmocka_unit_test(oversized_beacon_is_bad_beacon),
        cmocka_unit_test(beacon_before_join_is_out_of_order),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
