// RFC 6455 WebSocket framing: a parser for client-to-server frames and
// encoders for server-to-client frames. No allocation, no nginx types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "utf8.h"

namespace webcall::ws {

enum class opcode : uint8_t {
    continuation = 0,
    text = 1,
    binary = 2,
    close = 8,
    ping = 9,
    pong = 10,
};

enum class error : uint8_t {
    none,
    not_masked,
    rsv_set,
    bad_opcode,
    control_too_long,
    control_fragmented,
    unexpected_continuation,
    expected_continuation,
    too_large,
    bad_utf8,
    bad_close_payload,
    bad_close_code,
    bad_length,   // 64-bit length with MSB set / non-minimal encoding
    too_many_fragments,   // a data message in more than max_fragments frames
};

// The status code to close the connection with after the parser failed:
// 1002 protocol error, 1007 bad UTF-8, 1009 too large, 1008 too many
// fragments (1000 for none).
uint16_t close_code_for(error e) noexcept;

// RFC 6455 7.4: 1000-1003, 1007-1014 and 3000-4999 may be sent; 1004, 1005,
// 1006, 1015, anything below 1000 and 5000 or more may not.
bool close_code_valid_on_wire(uint16_t code) noexcept;

// A stable lowercase name ("not_masked", ...) for logs.
std::string_view to_string(error e) noexcept;

constexpr size_t max_control_payload = 125;
constexpr size_t max_close_reason = max_control_payload - 2;
constexpr size_t max_header = 14;   // 2 + 8 extended length + 4 mask key
// Frames one data message may take. Browsers send a message in one frame;
// libraries that fragment use pieces of a few KB. Each frame costs a header
// parse and an event, so a cap keeps a message's cost in proportion to its
// bytes (1 MiB in 1-byte fragments is refused at the 257th).
constexpr uint32_t max_fragments = 256;

// Header size of a server frame (unmasked) carrying payload_len bytes.
constexpr size_t header_size(uint64_t payload_len) noexcept
{
    return payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
}

enum class event : uint8_t {
    need_more,      // all input consumed, no event
    data,           // [data,len) is unmasked payload of the current data
                    // message (text or binary); append it
    message_end,    // the current data message is complete (text already
                    // UTF-8 checked)
    ping, pong,     // control payload in [data,len), len <= 125
    close,          // peer close: close_code (1005 if the payload was
                    // empty), reason in [data,len)
    error,          // err says which; the parser stays in the error state
};

struct step {
    event ev;
    size_t consumed;        // bytes of the input eaten by this step (always
                            // advance by this)
    const uint8_t *data;    // for data: points INTO the caller's input
                            // (unmasked in place); for control: into the
                            // parser's own 125-byte buffer
    size_t len;
    opcode message_op;      // text or binary for data/message_end
    uint16_t close_code;    // close: the peer's code; error: the code to
                            // answer with (close_code_for(err))
    error err;
};

// Parses the client-to-server byte stream of one connection. Call next()
// until it returns need_more (all input eaten) or error:
//
//     for (;;) {
//         step s = ps.next(p, n);
//         p += s.consumed, n -= s.consumed;
//         ... handle s ...
//         if (s.ev == event::need_more || s.ev == event::error) break;
//     }
//
// consumed is 0 only for need_more on empty input, for error once failed,
// and for the message_end that directly follows the data event carrying the
// last payload byte of a message (hence "until need_more", not "while n").
// After a close event the connection is over (RFC 6455 1.4): later input is
// swallowed without events.
class parser {
public:
    // max_message limits the assembled message (sum of fragments).
    explicit parser(uint64_t max_message) noexcept;

    // Consumes some prefix of [p, p+n) and reports at most one event. The
    // input is unmasked in place. Size limits are checked from the header,
    // before any payload byte is accepted (so the caller never allocates
    // for an oversized message). Frames can be split at any byte boundary,
    // including inside the header and the mask key.
    step next(uint8_t *p, size_t n) noexcept;

    // Bytes of the current data message delivered so far.
    uint64_t message_size() const noexcept { return msg_size_; }
    // Size the frame headers of the current data message promise so far
    // (so a caller can reserve once per frame instead of per chunk).
    uint64_t announced_size() const noexcept { return announced_; }
    uint64_t max_message() const noexcept { return max_; }
    // Frames of the current data message begun so far (1 for the first),
    // and the payload size the current frame's header announced.
    uint32_t message_frames() const noexcept { return frames_; }
    uint64_t frame_size() const noexcept { return len_; }
    bool closed() const noexcept { return state_ == state::closed; }
    // none unless the parser is in the error state.
    error failure() const noexcept { return err_; }

private:
    enum class state : uint8_t { header, payload, closed, failed };

    step read_header(const uint8_t *p, size_t n, size_t &used) noexcept;
    size_t header_goal() const noexcept;
    error check_header() noexcept;
    error check_first_bytes() noexcept;
    error check_control(uint8_t len7) const noexcept;
    error check_length() noexcept;
    step start_frame(size_t used) noexcept;
    void begin_data_frame() noexcept;
    step read_payload(uint8_t *p, size_t n, size_t &used) noexcept;
    step read_control(const uint8_t *chunk, size_t k, size_t used) noexcept;
    step read_data(uint8_t *chunk, size_t k, size_t used) noexcept;
    void unmask(const uint8_t *src, uint8_t *dst, size_t k) noexcept;
    step control_event(size_t used) noexcept;
    step close_event(size_t used) noexcept;
    step empty_data_frame(size_t used) noexcept;
    step make(event ev, size_t used) const noexcept;
    step refuse(error e, size_t used) noexcept;

    uint64_t max_;
    state state_ = state::header;
    error err_ = error::none;

    // The frame being read.
    uint8_t hdr_[max_header] = {};
    uint8_t hdr_len_ = 0;
    bool fin_ = false;
    opcode op_ = opcode::continuation;
    uint64_t len_ = 0;
    uint64_t got_ = 0;
    uint8_t mask_[4] = {};

    // The data message being assembled; control frames leave it alone.
    opcode msg_op_ = opcode::continuation;
    bool expect_continuation_ = false;
    bool end_pending_ = false;
    uint64_t msg_size_ = 0;
    uint64_t announced_ = 0;
    uint32_t frames_ = 0;
    utf8::validator utf8_;

    uint8_t ctrl_[max_control_payload] = {};
};

// Server-to-client frames (never masked). Returns the header length
// (2, 4 or 10).
size_t encode_header(uint8_t out[10], opcode op, bool fin,
                     uint64_t payload_len) noexcept;

// A whole close frame: code + reason (reason truncated to 123 bytes, at a
// UTF-8 boundary). Code 1005 ("no status") gives an empty close frame, the
// RFC's way to close without a code. Returns bytes written (<= 127).
size_t encode_close(uint8_t out[127], uint16_t code,
                    std::string_view reason) noexcept;

}  // namespace webcall::ws
