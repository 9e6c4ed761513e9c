// libFuzzer target for the WebSocket frame codec: random client bytes, fed
// in chunks the input chooses, must keep every promise ws_frame.h makes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "utf8.h"
#include "ws_frame.h"

using namespace webcall;
using ws::event;
using ws::opcode;

// Input layout: [settings] [chunk seed] [client byte stream...]
//   settings bits 0-2: message limit (index into limits)
//   settings bits 3-5: largest chunk is 2^bits bytes
//   settings bit 6:    also make empty next() calls between chunks

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__,    \
                         __LINE__, #cond);                                 \
            std::abort();                                                  \
        }                                                                  \
    } while (0)

namespace {

// Small limits so short inputs reach them; the last one is "no limit".
constexpr uint64_t limits[8] = {0, 1, 3, 125, 126, 1000, 65536, UINT64_MAX};

struct chunker {
    uint32_t state;
    unsigned max_bits;
    bool empty_calls;

    // xorshift32: cheap, and fully determined by the input.
    uint32_t rand() noexcept
    {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    }
    size_t next_size() noexcept
    {
        return 1 + rand() % (size_t(1) << max_bits);
    }
};

std::string bytes_of(const uint8_t *p, size_t n)
{
    return std::string(reinterpret_cast<const char *>(p), n);
}

// Drives one parser and renders its events as text; data chunks are joined
// per message so that different chunkings give the same transcript.
struct driver {
    ws::parser ps;
    uint64_t limit;
    std::string log;
    std::string message;
    bool prev_was_data = false;
    bool done = false;   // error reported: stop feeding

    explicit driver(uint64_t lim) : ps(lim), limit(lim) {}

    void check_data(const ws::step &s, const uint8_t *p)
    {
        CHECK(s.len > 0);
        CHECK(s.data >= p && s.data + s.len <= p + s.consumed);
        CHECK(s.message_op == opcode::text || s.message_op == opcode::binary);
        message += bytes_of(s.data, s.len);
        CHECK(message.size() == ps.message_size());
        CHECK(ps.message_size() <= ps.announced_size());
        CHECK(ps.announced_size() <= limit);
    }

    void check_end(const ws::step &s)
    {
        CHECK(s.message_op == opcode::text || s.message_op == opcode::binary);
        CHECK(message.size() == ps.message_size());
        CHECK(message.size() == ps.announced_size());
        auto text = reinterpret_cast<const uint8_t *>(message.data());
        if (s.message_op == opcode::text)
            CHECK(utf8::valid(text, message.size()));
        log += s.message_op == opcode::text ? "T" : "B";
        log += std::to_string(message.size()) + ":" + message + "|";
        message.clear();
    }

    void check_close(const ws::step &s)
    {
        CHECK(s.len <= ws::max_close_reason);
        CHECK(ws::close_code_valid_on_wire(s.close_code) ||
              (s.close_code == 1005 && s.len == 0));
        CHECK(utf8::valid(s.data, s.len));
        CHECK(ps.closed());
        log += "C" + std::to_string(s.close_code) + ":" +
               bytes_of(s.data, s.len) + "|";
    }

    void check_error(const ws::step &s)
    {
        CHECK(s.err != ws::error::none);
        CHECK(s.close_code == ws::close_code_for(s.err));
        CHECK(ps.failure() == s.err);
        uint8_t spare = 0;
        ws::step again = ps.next(&spare, 1);
        CHECK(again.ev == event::error && again.err == s.err);
        CHECK(again.consumed == 0);
        log += "E" + std::string(ws::to_string(s.err)) + "|";
        done = true;
    }

    void record(const ws::step &s, const uint8_t *p)
    {
        switch (s.ev) {
        case event::need_more: break;
        case event::data: check_data(s, p); break;
        case event::message_end: check_end(s); break;
        case event::ping:
        case event::pong:
            CHECK(s.len <= ws::max_control_payload);
            log += (s.ev == event::ping ? "P" : "O") +
                   bytes_of(s.data, s.len) + "|";
            break;
        case event::close: check_close(s); break;
        case event::error: check_error(s); break;
        }
    }

    // The calling loop from ws_frame.h, with its promises checked.
    void feed(uint8_t *p, size_t n)
    {
        while (!done) {
            ws::step s = ps.next(p, n);
            CHECK(s.consumed <= n);
            if (s.consumed == 0)
                CHECK((s.ev == event::need_more && n == 0) ||
                      (s.ev == event::message_end && prev_was_data) ||
                      s.ev == event::error);
            if (s.ev == event::need_more) CHECK(s.consumed == n);
            record(s, p);
            prev_was_data = s.ev == event::data;
            p += s.consumed;
            n -= s.consumed;
            if (s.ev == event::need_more) return;
        }
    }
};

// Each chunk gets its own exact-size heap block, so ASan catches any read
// or write outside [p, p+n).
void feed_copy(driver &d, const uint8_t *src, size_t n)
{
    std::unique_ptr<uint8_t[]> buf(new uint8_t[n]);
    if (n > 0) std::memcpy(buf.get(), src, n);
    d.feed(buf.get(), n);
}

std::string run_whole(uint64_t limit, const uint8_t *p, size_t n)
{
    driver d(limit);
    feed_copy(d, p, n);
    return d.log;
}

std::string run_chunked(uint64_t limit, chunker c, const uint8_t *p, size_t n)
{
    driver d(limit);
    for (size_t at = 0; at < n && !d.done;) {
        size_t k = std::min(c.next_size(), n - at);
        feed_copy(d, p + at, k);
        at += k;
        if (c.empty_calls && c.rand() % 4 == 0) feed_copy(d, p + at, 0);
    }
    return d.log;
}

// Masks a server frame as a client would send it.
std::string as_client(const uint8_t *f, size_t n)
{
    static const uint8_t key[4] = {0xA5, 0x01, 0x7E, 0xC3};
    uint8_t len7 = f[1] & 0x7F;
    size_t hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
    std::string out = bytes_of(f, hdr);
    out[1] = char(f[1] | 0x80);
    out += bytes_of(key, 4);
    for (size_t i = hdr; i < n; i++) out += char(f[i] ^ key[(i - hdr) & 3]);
    return out;
}

void check_encode_close(uint16_t code, std::string_view reason)
{
    uint8_t out[127];
    size_t n = ws::encode_close(out, code, reason);
    CHECK(n <= sizeof out);
    if (code == 1005) {
        CHECK(n == 2 && out[0] == 0x88 && out[1] == 0);
        return;
    }
    CHECK(n >= 4 && out[1] == n - 2);
    size_t r = n - 4;
    CHECK(r <= ws::max_close_reason && r <= reason.size());
    CHECK(r == reason.size() || reason.size() > ws::max_close_reason);
    CHECK(std::memcmp(out + 4, reason.data(), r) == 0);
    auto u = reinterpret_cast<const uint8_t *>(reason.data());
    bool reason_ok = utf8::valid(u, reason.size());
    if (reason_ok) {
        // A cut loses at most the one code point it would have split.
        CHECK(utf8::valid(out + 4, r));
        CHECK(r == reason.size() || ws::max_close_reason - r < 4);
    }
    if (!reason_ok || !ws::close_code_valid_on_wire(code)) return;
    std::string client = as_client(out, n);
    driver d(0);
    d.feed(reinterpret_cast<uint8_t *>(client.data()), client.size());
    CHECK(d.log == "C" + std::to_string(code) + ":" +
                       std::string(reason.substr(0, r)) + "|");
}

void check_encode_header(const uint8_t *d, size_t n)
{
    uint64_t len = 0;
    for (size_t i = 0; i < 8 && i < n; i++) len = len << 8 | d[i];
    len >>= (d[0] & 0x3F);           // reach the short encodings too
    len &= ~(uint64_t(1) << 63);     // the RFC forbids the top bit
    uint8_t out[10];
    size_t h = ws::encode_header(out, opcode::binary, true, len);
    CHECK(h == ws::header_size(len));
    std::string client = as_client(out, h);
    ws::parser ps(UINT64_MAX);
    ws::step s = ps.next(reinterpret_cast<uint8_t *>(client.data()),
                         client.size());
    CHECK(s.consumed == client.size());
    CHECK(s.ev == (len == 0 ? event::message_end : event::need_more));
    CHECK(ps.announced_size() == len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint64_t limit = limits[data[0] & 7];
    chunker c{uint32_t(data[1]) * 2654435761u | 1, (data[0] >> 3) & 7u,
              (data[0] & 0x40) != 0};
    const uint8_t *stream = data + 2;
    size_t n = size - 2;

    std::string whole = run_whole(limit, stream, n);
    std::string chunked = run_chunked(limit, c, stream, n);
    CHECK(whole == chunked);

    if (n >= 2) {
        uint16_t code = uint16_t(stream[0] << 8 | stream[1]);
        check_encode_close(code, std::string_view(
            reinterpret_cast<const char *>(stream) + 2, n - 2));
    }
    if (n >= 1) check_encode_header(stream, n);
    return 0;
}
