// RFC 6455 frame parser (client frames) and encoders (server frames); the
// contract is in ws_frame.h.
#include "ws_frame.h"

#include <algorithm>
#include <cstring>

namespace webcall::ws {
namespace {

constexpr uint8_t fin_bit = 0x80;
constexpr uint8_t rsv_bits = 0x70;
constexpr uint8_t opcode_bits = 0x0F;
constexpr uint8_t mask_bit = 0x80;
constexpr uint8_t len7_bits = 0x7F;
constexpr uint8_t len16_marker = 126;
constexpr uint8_t len64_marker = 127;
constexpr uint16_t no_status = 1005;

constexpr bool is_control(opcode op) noexcept
{
    return (static_cast<uint8_t>(op) & 0x08) != 0;
}

constexpr bool is_known(uint8_t op) noexcept
{
    return op <= 2 || (op >= 8 && op <= 10);
}

// Bytes of extended length that follow the 7-bit length field.
constexpr size_t ext_size(uint8_t len7) noexcept
{
    return len7 == len16_marker ? 2 : len7 == len64_marker ? 8 : 0;
}

uint64_t read_be(const uint8_t *p, size_t n) noexcept
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

void write_be(uint8_t *p, uint64_t v, size_t n) noexcept
{
    for (size_t i = n; i-- > 0; v >>= 8) p[i] = static_cast<uint8_t>(v);
}

// Longest prefix of at most max bytes that does not split a UTF-8 sequence.
size_t utf8_prefix(std::string_view s, size_t max) noexcept
{
    if (s.size() <= max) return s.size();
    size_t cut = max;
    while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) cut--;
    return cut;
}

}  // namespace

uint16_t close_code_for(error e) noexcept
{
    switch (e) {
    case error::none: return 1000;
    case error::bad_utf8: return 1007;
    case error::too_large: return 1009;
    case error::too_many_fragments: return 1008;
    default: return 1002;
    }
}

bool close_code_valid_on_wire(uint16_t code) noexcept
{
    if (code >= 3000 && code <= 4999) return true;
    if (code < 1000 || code > 1014) return false;
    return code != 1004 && code != 1005 && code != 1006;
}

std::string_view to_string(error e) noexcept
{
    switch (e) {
    case error::none: return "none";
    case error::not_masked: return "not_masked";
    case error::rsv_set: return "rsv_set";
    case error::bad_opcode: return "bad_opcode";
    case error::control_too_long: return "control_too_long";
    case error::control_fragmented: return "control_fragmented";
    case error::unexpected_continuation: return "unexpected_continuation";
    case error::expected_continuation: return "expected_continuation";
    case error::too_large: return "too_large";
    case error::bad_utf8: return "bad_utf8";
    case error::bad_close_payload: return "bad_close_payload";
    case error::bad_close_code: return "bad_close_code";
    case error::bad_length: return "bad_length";
    case error::too_many_fragments: return "too_many_fragments";
    }
    return "unknown";
}

parser::parser(uint64_t max_message) noexcept : max_(max_message) {}

step parser::next(uint8_t *p, size_t n) noexcept
{
    if (state_ == state::failed) return refuse(err_, 0);
    if (state_ == state::closed) return make(event::need_more, n);
    if (end_pending_) {
        end_pending_ = false;
        return make(event::message_end, 0);
    }
    size_t used = 0;
    while (used < n) {
        step s = state_ == state::header ? read_header(p, n, used)
                                         : read_payload(p, n, used);
        if (s.ev != event::need_more) return s;
    }
    return make(event::need_more, used);
}

// The header is checked in stages (first two bytes, extended length, mask
// key) so a bad or oversized frame fails before the rest of it arrives.
step parser::read_header(const uint8_t *p, size_t n, size_t &used) noexcept
{
    size_t goal = header_goal();
    size_t k = std::min(goal - hdr_len_, n - used);
    std::memcpy(hdr_ + hdr_len_, p + used, k);
    hdr_len_ = static_cast<uint8_t>(hdr_len_ + k);
    used += k;
    if (hdr_len_ < goal) return make(event::need_more, used);
    error e = check_header();
    if (e != error::none) return refuse(e, used);
    size_t whole = 2 + ext_size(hdr_[1] & len7_bits) + 4;
    if (hdr_len_ == whole) return start_frame(used);
    return make(event::need_more, used);
}

size_t parser::header_goal() const noexcept
{
    if (hdr_len_ < 2) return 2;
    size_t ext = ext_size(hdr_[1] & len7_bits);
    if (hdr_len_ < 2 + ext) return 2 + ext;
    return 2 + ext + 4;
}

error parser::check_header() noexcept
{
    size_t ext = ext_size(hdr_[1] & len7_bits);
    if (hdr_len_ == 2) {
        error e = check_first_bytes();
        if (e != error::none || ext != 0) return e;
        return check_length();
    }
    if (hdr_len_ == 2 + ext) return check_length();
    return error::none;
}

error parser::check_first_bytes() noexcept
{
    uint8_t b0 = hdr_[0];
    uint8_t b1 = hdr_[1];
    if (b0 & rsv_bits) return error::rsv_set;
    if (!is_known(b0 & opcode_bits)) return error::bad_opcode;
    if (!(b1 & mask_bit)) return error::not_masked;
    fin_ = (b0 & fin_bit) != 0;
    op_ = static_cast<opcode>(b0 & opcode_bits);
    if (is_control(op_)) return check_control(b1 & len7_bits);
    if (op_ == opcode::continuation)
        return expect_continuation_ ? error::none
                                    : error::unexpected_continuation;
    return expect_continuation_ ? error::expected_continuation : error::none;
}

error parser::check_control(uint8_t len7) const noexcept
{
    if (!fin_) return error::control_fragmented;
    if (len7 > max_control_payload) return error::control_too_long;
    // A close payload starts with a 2-byte code, so 1 byte can't be right.
    if (op_ == opcode::close && len7 == 1) return error::bad_close_payload;
    return error::none;
}

error parser::check_length() noexcept
{
    size_t ext = ext_size(hdr_[1] & len7_bits);
    len_ = ext ? read_be(hdr_ + 2, ext) : (hdr_[1] & len7_bits);
    if (ext == 2 && len_ < len16_marker) return error::bad_length;
    if (ext == 8 && (len_ >> 63 || len_ <= 0xFFFF)) return error::bad_length;
    if (is_control(op_)) return error::none;
    if (op_ == opcode::continuation && frames_ >= max_fragments)
        return error::too_many_fragments;
    // announced_ never exceeds max_, so the subtraction can't wrap.
    uint64_t before = op_ == opcode::continuation ? announced_ : 0;
    return len_ > max_ - before ? error::too_large : error::none;
}

step parser::start_frame(size_t used) noexcept
{
    std::memcpy(mask_, hdr_ + hdr_len_ - 4, 4);
    hdr_len_ = 0;
    got_ = 0;
    if (!is_control(op_)) begin_data_frame();
    if (len_ > 0) {
        state_ = state::payload;
        return make(event::need_more, used);
    }
    if (is_control(op_)) return control_event(used);
    return empty_data_frame(used);
}

void parser::begin_data_frame() noexcept
{
    if (op_ != opcode::continuation) {
        msg_op_ = op_;
        msg_size_ = 0;
        announced_ = 0;
        frames_ = 0;
        utf8_ = utf8::validator{};
    }
    frames_++;
    announced_ += len_;
    expect_continuation_ = !fin_;
}

step parser::empty_data_frame(size_t used) noexcept
{
    if (!fin_) return make(event::need_more, used);
    if (msg_op_ == opcode::text && !utf8_.complete())
        return refuse(error::bad_utf8, used);
    return make(event::message_end, used);
}

step parser::read_payload(uint8_t *p, size_t n, size_t &used) noexcept
{
    size_t k = static_cast<size_t>(std::min<uint64_t>(len_ - got_, n - used));
    uint8_t *chunk = p + used;
    used += k;
    if (is_control(op_)) return read_control(chunk, k, used);
    return read_data(chunk, k, used);
}

step parser::read_control(const uint8_t *chunk, size_t k, size_t used) noexcept
{
    unmask(chunk, ctrl_ + got_, k);
    if (got_ < len_) return make(event::need_more, used);
    state_ = state::header;
    return control_event(used);
}

// Text is validated chunk by chunk so a bad byte fails the connection at
// once instead of after the whole (possibly huge) message.
step parser::read_data(uint8_t *chunk, size_t k, size_t used) noexcept
{
    unmask(chunk, chunk, k);
    bool text = msg_op_ == opcode::text;
    if (text && !utf8_.feed(chunk, k)) return refuse(error::bad_utf8, used);
    msg_size_ += k;
    if (got_ == len_) {
        state_ = state::header;
        if (fin_ && text && !utf8_.complete())
            return refuse(error::bad_utf8, used);
        end_pending_ = fin_;
    }
    step s = make(event::data, used);
    s.data = chunk;
    s.len = k;
    return s;
}

void parser::unmask(const uint8_t *src, uint8_t *dst, size_t k) noexcept
{
    size_t i = 0;
    // eight bytes at a time with the key turned to where this chunk starts;
    // memcpy keeps it free of alignment and aliasing concerns
    if (k >= 16) {
        uint8_t key[8];
        for (size_t j = 0; j < 8; j++)
            key[j] = mask_[(got_ + j) & 3];
        uint64_t wide;
        std::memcpy(&wide, key, 8);
        for (; i + 8 <= k; i += 8) {
            uint64_t w;
            std::memcpy(&w, src + i, 8);
            w ^= wide;
            std::memcpy(dst + i, &w, 8);
        }
    }
    for (; i < k; i++)
        dst[i] = src[i] ^ mask_[(got_ + i) & 3];
    got_ += k;
}

step parser::control_event(size_t used) noexcept
{
    if (op_ == opcode::close) return close_event(used);
    step s = make(op_ == opcode::ping ? event::ping : event::pong, used);
    s.data = ctrl_;
    s.len = static_cast<size_t>(len_);
    return s;
}

step parser::close_event(size_t used) noexcept
{
    step s = make(event::close, used);
    s.data = ctrl_;
    s.close_code = no_status;
    if (len_ >= 2) {
        s.close_code = static_cast<uint16_t>(ctrl_[0] << 8 | ctrl_[1]);
        if (!close_code_valid_on_wire(s.close_code))
            return refuse(error::bad_close_code, used);
        s.data = ctrl_ + 2;
        s.len = static_cast<size_t>(len_ - 2);
        if (!utf8::valid(s.data, s.len)) return refuse(error::bad_utf8, used);
    }
    state_ = state::closed;
    return s;
}

step parser::make(event ev, size_t used) const noexcept
{
    bool data_event = ev == event::data || ev == event::message_end;
    return step{ev, used, nullptr, 0,
                data_event ? msg_op_ : opcode::continuation, 0, error::none};
}

step parser::refuse(error e, size_t used) noexcept
{
    state_ = state::failed;
    err_ = e;
    step s = make(event::error, used);
    s.err = e;
    s.close_code = close_code_for(e);
    return s;
}

size_t encode_header(uint8_t out[10], opcode op, bool fin,
                     uint64_t payload_len) noexcept
{
    out[0] = static_cast<uint8_t>((fin ? fin_bit : 0) |
                                  static_cast<uint8_t>(op));
    size_t n = header_size(payload_len);
    if (n == 2) {
        out[1] = static_cast<uint8_t>(payload_len);
    } else {
        out[1] = n == 4 ? len16_marker : len64_marker;
        write_be(out + 2, payload_len, n - 2);
    }
    return n;
}

size_t encode_close(uint8_t out[127], uint16_t code,
                    std::string_view reason) noexcept
{
    if (code == no_status) return encode_header(out, opcode::close, true, 0);
    size_t r = utf8_prefix(reason, max_close_reason);
    size_t n = encode_header(out, opcode::close, true, 2 + r);
    write_be(out + n, code, 2);
    if (r > 0) std::memcpy(out + n + 2, reason.data(), r);
    return n + 2 + r;
}

}  // namespace webcall::ws
