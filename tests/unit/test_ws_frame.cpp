// Unit tests for the RFC 6455 frame parser and encoders (ws_frame.h): one
// test per protocol rule, plus split-anywhere and size-limit behaviour.
#include "cmocka_cxx.h"

#include <string>
#include <string_view>
#include <vector>

#include "ws_frame.h"

using namespace webcall;
using ws::error;
using ws::event;
using ws::opcode;
using ws::parser;
using ws::step;

namespace {

using bytes = std::vector<uint8_t>;

constexpr uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};
constexpr uint64_t roomy = 1 << 20;

uint8_t first_byte(opcode op, bool fin = true)
{
    return static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
}

void add_be(bytes &out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) out.push_back(uint8_t(v >> (8 * i)));
}

// A frame as a browser sends it: masked, minimal length encoding.
void add_frame(bytes &out, uint8_t b0, std::string_view body,
               bool masked = true)
{
    uint8_t m = masked ? 0x80 : 0;
    size_t n = body.size();
    out.push_back(b0);
    if (n < 126) {
        out.push_back(uint8_t(m | n));
    } else if (n <= 0xFFFF) {
        out.push_back(m | 126);
        add_be(out, n, 2);
    } else {
        out.push_back(m | 127);
        add_be(out, n, 8);
    }
    if (masked) out.insert(out.end(), key, key + 4);
    for (size_t i = 0; i < n; i++)
        out.push_back(uint8_t(body[i] ^ (masked ? key[i & 3] : 0)));
}

void add_frame(bytes &out, opcode op, bool fin, std::string_view body)
{
    add_frame(out, first_byte(op, fin), body);
}

bytes frame(opcode op, bool fin, std::string_view body)
{
    bytes out;
    add_frame(out, op, fin, body);
    return out;
}

std::string close_body(uint16_t code, std::string_view reason)
{
    std::string s{char(code >> 8), char(code & 0xFF)};
    return s.append(reason);
}

// A masked header with a hand-chosen length field (for bad encodings).
bytes raw_header(uint8_t b0, uint8_t len7, uint64_t ext, int ext_bytes)
{
    bytes out{b0, uint8_t(0x80 | len7)};
    add_be(out, ext, ext_bytes);
    out.insert(out.end(), key, key + 4);
    return out;
}

// Masks a server frame (short header only) as if a client had sent it.
bytes as_client(const uint8_t *f, size_t n)
{
    bytes out{f[0], uint8_t(f[1] | 0x80)};
    out.insert(out.end(), key, key + 4);
    for (size_t i = 2; i < n; i++) out.push_back(f[i] ^ key[(i - 2) & 3]);
    return out;
}

std::string text_of(const step &s)
{
    return std::string(reinterpret_cast<const char *>(s.data), s.len);
}

// Renders what the parser reports as text. Data chunks are joined per
// message, so that different cuttings of one stream compare equal.
struct transcript {
    std::string log;
    std::string message;

    void record(const step &s)
    {
        switch (s.ev) {
        case event::need_more: break;
        case event::data: message += text_of(s); break;
        case event::message_end:
            log += s.message_op == opcode::text ? "text:" : "binary:";
            log += message + "|";
            message.clear();
            break;
        case event::ping: log += "ping:" + text_of(s) + "|"; break;
        case event::pong: log += "pong:" + text_of(s) + "|"; break;
        case event::close:
            log += "close:" + std::to_string(s.close_code) + ":" +
                   text_of(s) + "|";
            break;
        case event::error:
            log += "error:" + std::string(ws::to_string(s.err)) + "|";
            break;
        }
    }
};

// The calling loop the header documents, with its promises checked.
void feed(parser &ps, uint8_t *p, size_t n, transcript &t)
{
    bool after_data = false;
    for (;;) {
        step s = ps.next(p, n);
        assert_true(s.consumed <= n);
        if (s.consumed == 0)
            assert_true((s.ev == event::need_more && n == 0) ||
                        (s.ev == event::message_end && after_data) ||
                        s.ev == event::error);
        if (s.ev == event::data)
            assert_true(s.data >= p && s.data + s.len <= p + s.consumed);
        if (s.ev == event::data || s.ev == event::message_end)
            assert_true(s.message_op == opcode::text ||
                        s.message_op == opcode::binary);
        t.record(s);
        p += s.consumed;
        n -= s.consumed;
        after_data = s.ev == event::data;
        if (s.ev == event::need_more) assert_int_equal(n, 0);
        if (s.ev == event::need_more || s.ev == event::error) return;
    }
}

// Feeds a copy of in (the parser unmasks in place), cut before each of cuts.
std::string run(bytes in, const std::vector<size_t> &cuts = {},
                uint64_t limit = roomy)
{
    parser ps(limit);
    transcript t;
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(in.size());
    for (size_t end : ends) {
        if (ps.failure() != error::none) break;
        feed(ps, in.data() + start, end - start, t);
        start = end;
    }
    return t.log;
}

std::string run_limited(bytes in, uint64_t limit)
{
    return run(std::move(in), {}, limit);
}

void expect_log(const std::string &got, const std::string &want)
{
    if (got == want) return;
    print_error("got:  %s\nwant: %s\n", got.c_str(), want.c_str());
    fail();
}

// One call on the first n bytes only, to show when an error is raised.
step first_step(bytes in, size_t n, uint64_t limit = roomy)
{
    parser ps(limit);
    return ps.next(in.data(), n);
}

// A stream with every kind of frame: fragments with control frames between
// them, UTF-8 split across fragments, 16-bit length, empty message, close.
bytes mixed_stream()
{
    bytes in;
    add_frame(in, opcode::text, false, "h\xC3\xA9llo w\xC3");
    add_frame(in, opcode::ping, true, "are you there");
    add_frame(in, opcode::continuation, false, "\xB6rld ");
    add_frame(in, opcode::pong, true, "");
    add_frame(in, opcode::continuation, true,
              "\xE2\x82\xAC\xF0\x9D\x84\x9E!");
    std::string blob;
    for (int i = 0; i < 300; i++) blob += char(i);
    add_frame(in, opcode::binary, true, blob);
    add_frame(in, opcode::text, true, "");
    add_frame(in, opcode::close, true, close_body(1000, "bye"));
    return in;
}

std::string mixed_stream_log()
{
    std::string blob;
    for (int i = 0; i < 300; i++) blob += char(i);
    return "ping:are you there|pong:|"
           "text:h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC\xF0\x9D\x84\x9E!|"
           "binary:" + blob + "|text:|close:1000:bye|";
}

}  // namespace

// --- well-formed traffic ---------------------------------------------------

static void masked_text_frame_gives_data_then_message_end(void **)
{
    bytes in = frame(opcode::text, true, "Hello");
    parser ps(roomy);
    step s = ps.next(in.data(), in.size());
    assert_int_equal(s.ev, event::data);
    assert_int_equal(s.consumed, in.size());
    assert_int_equal(s.message_op, opcode::text);
    assert_ptr_equal(s.data, in.data() + 6);
    assert_memory_equal(s.data, "Hello", 5);
    s = ps.next(in.data() + in.size(), 0);
    assert_int_equal(s.ev, event::message_end);
    assert_int_equal(s.consumed, 0);
    assert_int_equal(s.message_op, opcode::text);
    s = ps.next(in.data() + in.size(), 0);
    assert_int_equal(s.ev, event::need_more);
}

static void every_kind_of_frame_is_reported_in_order(void **)
{
    expect_log(run(mixed_stream()), mixed_stream_log());
}

static void binary_message_is_not_utf8_checked(void **)
{
    expect_log(run(frame(opcode::binary, true, "\xFF\xFE\xC0\x80")),
               "binary:\xFF\xFE\xC0\x80|");
}

static void empty_text_message_ends_at_once(void **)
{
    step s = first_step(frame(opcode::text, true, ""), 6);
    assert_int_equal(s.ev, event::message_end);
    assert_int_equal(s.consumed, 6);
}

static void empty_final_fragment_ends_message(void **)
{
    bytes in = frame(opcode::text, false, "ab");
    add_frame(in, opcode::continuation, true, "");
    expect_log(run(in), "text:ab|");
}

static void empty_non_final_fragments_are_skipped(void **)
{
    bytes in = frame(opcode::binary, false, "");
    add_frame(in, opcode::continuation, false, "");
    add_frame(in, opcode::continuation, true, "x");
    expect_log(run(in), "binary:x|");
}

static void a_message_in_max_fragments_frames_is_accepted(void **)
{
    bytes in = frame(opcode::text, false, "a");
    for (uint32_t i = 2; i < ws::max_fragments; i++)
        add_frame(in, opcode::continuation, false, "a");
    add_frame(in, opcode::continuation, true, "a");
    expect_log(run(in), "text:" + std::string(ws::max_fragments, 'a') + "|");
}

static void one_fragment_more_is_refused_with_1008(void **)
{
    bytes in = frame(opcode::text, false, "a");
    for (uint32_t i = 1; i < ws::max_fragments; i++)
        add_frame(in, opcode::continuation, false, "a");
    add_frame(in, opcode::continuation, true, "a");
    std::string log = run(in);
    assert_true(log.size() >= 25);
    assert_string_equal(log.substr(log.size() - 25).c_str(), "error:too_many_fragments|");
    assert_int_equal(ws::close_code_for(error::too_many_fragments), 1008);
}

static void the_fragment_count_starts_again_with_each_message(void **)
{
    bytes in;
    for (int m = 0; m < 3; m++) {
        add_frame(in, opcode::text, false, "b");
        for (uint32_t i = 2; i < ws::max_fragments; i++)
            add_frame(in, opcode::continuation, false, "");
        add_frame(in, opcode::continuation, true, "c");
    }
    expect_log(run(in), "text:bc|text:bc|text:bc|");
}

static void ping_between_fragments_is_delivered(void **)
{
    bytes in = frame(opcode::text, false, "Hel");
    add_frame(in, opcode::ping, true, "p");
    add_frame(in, opcode::continuation, true, "lo");
    expect_log(run(in), "ping:p|text:Hello|");
}

static void pong_is_delivered(void **)
{
    expect_log(run(frame(opcode::pong, true, "beat")), "pong:beat|");
}

static void control_frame_of_125_bytes_is_accepted(void **)
{
    std::string body(125, 'z');
    expect_log(run(frame(opcode::ping, true, body)), "ping:" + body + "|");
}

static void control_payload_lives_in_the_parser(void **)
{
    bytes in = frame(opcode::ping, true, "abc");
    parser ps(roomy);
    step s = ps.next(in.data(), in.size());
    assert_int_equal(s.ev, event::ping);
    assert_true(s.data < in.data() || s.data >= in.data() + in.size());
    assert_memory_equal(s.data, "abc", 3);
}

// --- splitting -------------------------------------------------------------

static void split_at_every_byte_boundary_gives_same_events(void **)
{
    bytes in = mixed_stream();
    std::string want = mixed_stream_log();
    for (size_t cut = 0; cut <= in.size(); cut++)
        expect_log(run(in, {cut}), want);
}

static void byte_at_a_time_gives_same_events(void **)
{
    bytes in = mixed_stream();
    std::vector<size_t> cuts;
    for (size_t i = 1; i < in.size(); i++) cuts.push_back(i);
    expect_log(run(in, cuts), mixed_stream_log());
}

static void split_inside_64bit_header_gives_same_events(void **)
{
    std::string body(65536, 'q');
    bytes in = frame(opcode::binary, true, body);
    for (size_t cut = 0; cut <= 16; cut++)
        expect_log(run(in, {cut}), "binary:" + body + "|");
}

// --- refused frames --------------------------------------------------------

static void unmasked_client_frame_is_refused(void **)
{
    bytes in;
    add_frame(in, first_byte(opcode::text), "hi", false);
    step s = first_step(in, 2);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::not_masked);
    assert_int_equal(s.close_code, 1002);
}

static void rsv_bits_are_refused(void **)
{
    for (uint8_t rsv : {0x40, 0x20, 0x10}) {
        bytes in;
        add_frame(in, uint8_t(first_byte(opcode::text) | rsv), "hi");
        expect_log(run(in), "error:rsv_set|");
    }
}

static void reserved_opcodes_are_refused(void **)
{
    for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
        bytes in;
        add_frame(in, uint8_t(0x80 | op), "");
        expect_log(run(in), "error:bad_opcode|");
    }
}

static void control_frame_over_125_bytes_is_refused_from_header(void **)
{
    bytes in = frame(opcode::ping, true, std::string(126, 'x'));
    step s = first_step(in, 2);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::control_too_long);
}

static void fragmented_control_frame_is_refused(void **)
{
    expect_log(run(frame(opcode::ping, false, "x")),
               "error:control_fragmented|");
    expect_log(run(frame(opcode::close, false, "")),
               "error:control_fragmented|");
}

static void continuation_without_message_is_refused(void **)
{
    expect_log(run(frame(opcode::continuation, true, "x")),
               "error:unexpected_continuation|");
}

static void continuation_after_finished_message_is_refused(void **)
{
    bytes in = frame(opcode::text, true, "done");
    add_frame(in, opcode::continuation, true, "more");
    expect_log(run(in), "text:done|error:unexpected_continuation|");
}

static void new_message_inside_fragmented_message_is_refused(void **)
{
    for (opcode op : {opcode::text, opcode::binary}) {
        bytes in = frame(opcode::text, false, "part");
        add_frame(in, op, true, "other");
        expect_log(run(in), "error:expected_continuation|");
    }
}

static void non_minimal_16bit_length_is_refused(void **)
{
    step s = first_step(raw_header(0x82, 126, 125, 2), 4);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::bad_length);
}

static void non_minimal_64bit_length_is_refused(void **)
{
    step s = first_step(raw_header(0x82, 127, 0xFFFF, 8), 10);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::bad_length);
}

static void minimal_lengths_are_accepted(void **)
{
    assert_int_equal(first_step(raw_header(0x82, 126, 126, 2), 8).ev,
                     event::need_more);
    assert_int_equal(first_step(raw_header(0x82, 127, 0x10000, 8), 14).ev,
                     event::need_more);
}

static void length_with_msb_set_is_refused(void **)
{
    bytes in = raw_header(0x82, 127, uint64_t(1) << 63, 8);
    step s = first_step(in, 10, UINT64_MAX);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::bad_length);
}

// --- UTF-8 in text messages ------------------------------------------------

static void invalid_utf8_fails_before_the_rest_arrives(void **)
{
    bytes in = frame(opcode::text, false, "ok\xC0 and much more to come");
    step s = first_step(in, 6 + 3);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::bad_utf8);
    assert_int_equal(s.close_code, 1007);
}

static void invalid_utf8_in_later_fragment_is_refused(void **)
{
    bytes in = frame(opcode::text, false, "fine ");
    add_frame(in, opcode::continuation, true, "\xED\xA0\x80");
    expect_log(run(in), "error:bad_utf8|");
}

static void utf8_split_across_fragments_is_accepted(void **)
{
    bytes in = frame(opcode::text, false, "\xE2");
    add_frame(in, opcode::continuation, false, "\x82");
    add_frame(in, opcode::continuation, true, "\xAC");
    expect_log(run(in), "text:\xE2\x82\xAC|");
}

static void truncated_utf8_at_message_end_is_refused(void **)
{
    expect_log(run(frame(opcode::text, true, "a\xE2\x82")),
               "error:bad_utf8|");
    bytes in = frame(opcode::text, false, "\xE2\x82");
    add_frame(in, opcode::continuation, true, "");
    expect_log(run(in), "error:bad_utf8|");
}

// --- close frames ----------------------------------------------------------

static void empty_close_reports_1005(void **)
{
    expect_log(run(frame(opcode::close, true, "")), "close:1005:|");
}

static void close_code_and_reason_are_reported(void **)
{
    expect_log(run(frame(opcode::close, true, close_body(4001, "b\xC3\xBF"))),
               "close:4001:b\xC3\xBF|");
}

static void close_with_one_byte_payload_is_refused_from_header(void **)
{
    step s = first_step(frame(opcode::close, true, "x"), 2);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::bad_close_payload);
}

static void close_code_not_valid_on_wire_is_refused(void **)
{
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000,
                          65535}) {
        expect_log(run(frame(opcode::close, true, close_body(code, ""))),
                   "error:bad_close_code|");
    }
    for (uint16_t code : {1000, 1003, 1007, 1011, 1014, 3000, 4999}) {
        expect_log(run(frame(opcode::close, true, close_body(code, ""))),
                   "close:" + std::to_string(code) + ":|");
    }
}

static void close_reason_with_bad_utf8_is_refused(void **)
{
    expect_log(run(frame(opcode::close, true, close_body(1000, "\xC0\x80"))),
               "error:bad_utf8|");
}

static void input_after_close_is_swallowed(void **)
{
    bytes in = frame(opcode::close, true, close_body(1001, ""));
    size_t close_len = in.size();
    add_frame(in, opcode::text, true, "ignored");
    in.push_back(0xFF);   // not even a valid frame
    parser ps(roomy);
    step s = ps.next(in.data(), in.size());
    assert_int_equal(s.ev, event::close);
    assert_int_equal(s.consumed, close_len);
    assert_true(ps.closed());
    s = ps.next(in.data() + close_len, in.size() - close_len);
    assert_int_equal(s.ev, event::need_more);
    assert_int_equal(s.consumed, in.size() - close_len);
}

// --- size limits -----------------------------------------------------------

static void oversized_message_is_refused_before_payload_arrives(void **)
{
    bytes in = frame(opcode::binary, true, std::string(300, 'x'));
    step s = first_step(in, 4, 299);
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::too_large);
    assert_int_equal(s.close_code, 1009);
    assert_int_equal(s.consumed, 4);   // not even the mask key

    s = first_step(frame(opcode::text, true, "eleven char"), 2, 10);
    assert_int_equal(s.err, error::too_large);
}

static void message_of_64_kib_at_64_kib_limit_passes(void **)
{
    std::string body(65536, 'a');
    expect_log(run_limited(frame(opcode::text, true, body), 65536),
               "text:" + body + "|");
}

static void message_of_64_kib_plus_one_at_64_kib_limit_fails(void **)
{
    bytes in = frame(opcode::text, true, std::string(65537, 'a'));
    expect_log(run_limited(in, 65536), "error:too_large|");
    assert_int_equal(first_step(in, 10, 65536).err, error::too_large);
}

static void limit_covers_the_sum_of_fragments(void **)
{
    std::string half(32768, 'a');
    bytes in = frame(opcode::text, false, half);
    add_frame(in, opcode::continuation, true, half);
    expect_log(run_limited(in, 65536), "text:" + half + half + "|");

    bytes over = frame(opcode::text, false, half);
    add_frame(over, opcode::continuation, true, half + "a");
    expect_log(run_limited(over, 65536), "error:too_large|");
}

static void limit_restarts_with_each_message(void **)
{
    bytes in = frame(opcode::binary, true, "12345");
    add_frame(in, opcode::text, true, "67890");
    expect_log(run_limited(in, 5), "binary:12345|text:67890|");
}

static void control_frames_do_not_count_against_the_limit(void **)
{
    bytes in = frame(opcode::text, false, "ab");
    add_frame(in, opcode::ping, true, "0123456789");
    add_frame(in, opcode::continuation, true, "c");
    expect_log(run_limited(in, 3), "ping:0123456789|text:abc|");
}

static void zero_limit_allows_only_empty_messages(void **)
{
    expect_log(run_limited(frame(opcode::text, true, ""), 0), "text:|");
    expect_log(run_limited(frame(opcode::text, true, "a"), 0),
               "error:too_large|");
}

static void announced_size_covers_the_frame_before_its_payload(void **)
{
    bytes in = frame(opcode::binary, false, "0123456789");
    add_frame(in, opcode::continuation, true, "abcde");
    parser ps(roomy);
    step s = ps.next(in.data(), 6 + 4);
    assert_int_equal(s.ev, event::data);
    assert_int_equal(ps.message_size(), 4);
    assert_int_equal(ps.announced_size(), 10);
    size_t at = s.consumed;
    s = ps.next(in.data() + at, in.size() - at);
    assert_int_equal(ps.message_size(), 10);
    at += s.consumed;
    s = ps.next(in.data() + at, in.size() - at);
    assert_int_equal(s.ev, event::data);
    assert_int_equal(ps.message_size(), 15);
    assert_int_equal(ps.announced_size(), 15);
}

// --- error state -----------------------------------------------------------

static void error_state_is_sticky(void **)
{
    bytes bad;
    add_frame(bad, first_byte(opcode::text), "x", false);
    bytes good = frame(opcode::text, true, "y");
    parser ps(roomy);
    assert_int_equal(ps.next(bad.data(), bad.size()).err, error::not_masked);
    step s = ps.next(good.data(), good.size());
    assert_int_equal(s.ev, event::error);
    assert_int_equal(s.err, error::not_masked);
    assert_int_equal(s.consumed, 0);
    assert_int_equal(ps.failure(), error::not_masked);
}

static void close_code_for_maps_errors(void **)
{
    assert_int_equal(ws::close_code_for(error::none), 1000);
    assert_int_equal(ws::close_code_for(error::bad_utf8), 1007);
    assert_int_equal(ws::close_code_for(error::too_large), 1009);
    for (error e : {error::not_masked, error::rsv_set, error::bad_opcode,
                    error::control_too_long, error::control_fragmented,
                    error::unexpected_continuation,
                    error::expected_continuation, error::bad_close_payload,
                    error::bad_close_code, error::bad_length})
        assert_int_equal(ws::close_code_for(e), 1002);
}

static void close_codes_valid_on_wire_follow_rfc_6455(void **)
{
    for (unsigned code = 0; code <= 0xFFFF; code++) {
        bool want = (code >= 1000 && code <= 1003) ||
                    (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        assert_int_equal(ws::close_code_valid_on_wire(uint16_t(code)), want);
    }
}

// --- encoders --------------------------------------------------------------

static void encode_header_uses_minimal_lengths(void **)
{
    uint8_t out[10];
    assert_int_equal(ws::encode_header(out, opcode::text, true, 0), 2);
    assert_memory_equal(out, "\x81\x00", 2);
    assert_int_equal(ws::encode_header(out, opcode::binary, true, 125), 2);
    assert_memory_equal(out, "\x82\x7D", 2);
    assert_int_equal(ws::encode_header(out, opcode::text, false, 126), 4);
    assert_memory_equal(out, "\x01\x7E\x00\x7E", 4);
    assert_int_equal(ws::encode_header(out, opcode::text, true, 65535), 4);
    assert_memory_equal(out, "\x81\x7E\xFF\xFF", 4);
    assert_int_equal(ws::encode_header(out, opcode::text, true, 65536), 10);
    assert_memory_equal(out, "\x81\x7F\0\0\0\0\0\x01\0\0", 10);
    assert_int_equal(ws::encode_header(out, opcode::continuation, false, 1),
                     2);
    assert_memory_equal(out, "\x00\x01", 2);
    assert_int_equal(ws::header_size(65536), 10);
}

static void encode_close_writes_code_and_reason(void **)
{
    uint8_t out[127];
    size_t n = ws::encode_close(out, 1001, "going away");
    assert_int_equal(n, 14);
    assert_memory_equal(out, "\x88\x0C\x03\xE9going away", 14);
}

static void encode_close_1005_sends_no_code(void **)
{
    uint8_t out[127];
    assert_int_equal(ws::encode_close(out, 1005, "ignored"), 2);
    assert_memory_equal(out, "\x88\x00", 2);
}

static void encode_close_truncates_reason_at_utf8_boundary(void **)
{
    uint8_t out[127];
    std::string fits(123, 'a');
    assert_int_equal(ws::encode_close(out, 1000, fits), 127);
    assert_int_equal(out[1], 125);
    assert_int_equal(ws::encode_close(out, 1000, fits + "bcd"), 127);

    std::string euro = std::string(121, 'a') + "\xE2\x82\xAC";   // 124
    assert_int_equal(ws::encode_close(out, 1000, euro), 4 + 121);
    assert_int_equal(out[1], 2 + 121);
    std::string e_acute = std::string(122, 'a') + "\xC3\xA9";    // 124
    assert_int_equal(ws::encode_close(out, 1000, e_acute), 4 + 122);
    std::string clef = std::string(120, 'a') + "\xF0\x9D\x84\x9E";  // 124
    assert_int_equal(ws::encode_close(out, 1000, clef), 4 + 120);
}

static void encoded_close_parses_back(void **)
{
    uint8_t out[127];
    std::string reason = std::string(119, 'r') + "\xE2\x82\xAC\xE2\x82\xAC";
    size_t n = ws::encode_close(out, 4000, reason);
    expect_log(run(as_client(out, n)),
               "close:4000:" + reason.substr(0, 122) + "|");
}

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(masked_text_frame_gives_data_then_message_end),
        cmocka_unit_test(every_kind_of_frame_is_reported_in_order),
        cmocka_unit_test(binary_message_is_not_utf8_checked),
        cmocka_unit_test(empty_text_message_ends_at_once),
        cmocka_unit_test(empty_final_fragment_ends_message),
        cmocka_unit_test(empty_non_final_fragments_are_skipped),
        cmocka_unit_test(ping_between_fragments_is_delivered),
        cmocka_unit_test(pong_is_delivered),
        cmocka_unit_test(control_frame_of_125_bytes_is_accepted),
        cmocka_unit_test(control_payload_lives_in_the_parser),
        cmocka_unit_test(split_at_every_byte_boundary_gives_same_events),
        cmocka_unit_test(byte_at_a_time_gives_same_events),
        cmocka_unit_test(split_inside_64bit_header_gives_same_events),
        cmocka_unit_test(unmasked_client_frame_is_refused),
        cmocka_unit_test(rsv_bits_are_refused),
        cmocka_unit_test(reserved_opcodes_are_refused),
        cmocka_unit_test(control_frame_over_125_bytes_is_refused_from_header),
        cmocka_unit_test(fragmented_control_frame_is_refused),
        cmocka_unit_test(continuation_without_message_is_refused),
        cmocka_unit_test(continuation_after_finished_message_is_refused),
        cmocka_unit_test(new_message_inside_fragmented_message_is_refused),
        cmocka_unit_test(non_minimal_16bit_length_is_refused),
        cmocka_unit_test(non_minimal_64bit_length_is_refused),
        cmocka_unit_test(minimal_lengths_are_accepted),
        cmocka_unit_test(length_with_msb_set_is_refused),
        cmocka_unit_test(invalid_utf8_fails_before_the_rest_arrives),
        cmocka_unit_test(invalid_utf8_in_later_fragment_is_refused),
        cmocka_unit_test(utf8_split_across_fragments_is_accepted),
        cmocka_unit_test(truncated_utf8_at_message_end_is_refused),
        cmocka_unit_test(empty_close_reports_1005),
        cmocka_unit_test(close_code_and_reason_are_reported),
        cmocka_unit_test(close_with_one_byte_payload_is_refused_from_header),
        cmocka_unit_test(close_code_not_valid_on_wire_is_refused),
        cmocka_unit_test(close_reason_with_bad_utf8_is_refused),
        cmocka_unit_test(input_after_close_is_swallowed),
        cmocka_unit_test(oversized_message_is_refused_before_payload_arrives),
        cmocka_unit_test(message_of_64_kib_at_64_kib_limit_passes),
        cmocka_unit_test(message_of_64_kib_plus_one_at_64_kib_limit_fails),
        cmocka_unit_test(limit_covers_the_sum_of_fragments),
        cmocka_unit_test(limit_restarts_with_each_message),
        cmocka_unit_test(control_frames_do_not_count_against_the_limit),
        cmocka_unit_test(zero_limit_allows_only_empty_messages),
        cmocka_unit_test(announced_size_covers_the_frame_before_its_payload),
        cmocka_unit_test(error_state_is_sticky),
        cmocka_unit_test(close_code_for_maps_errors),
        cmocka_unit_test(close_codes_valid_on_wire_follow_rfc_6455),
        cmocka_unit_test(a_message_in_max_fragments_frames_is_accepted),
        cmocka_unit_test(one_fragment_more_is_refused_with_1008),
        cmocka_unit_test(the_fragment_count_starts_again_with_each_message),
        cmocka_unit_test(encode_header_uses_minimal_lengths),
        cmocka_unit_test(encode_close_writes_code_and_reason),
        cmocka_unit_test(encode_close_1005_sends_no_code),
        cmocka_unit_test(encode_close_truncates_reason_at_utf8_boundary),
        cmocka_unit_test(encoded_close_parses_back),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
