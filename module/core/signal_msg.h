// Signaling messages (docs/protocol.md): validate what a client sends and
// build what the server sends, free of nginx types so tests and fuzzers can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace webcall::signal {

// The server hands out ids and secrets of the exact lengths; clients are
// held only to the looser ranges so the lengths can change without a break.
inline constexpr size_t peer_id_len = 8;
inline constexpr size_t peer_ref_max = 16;
inline constexpr size_t resume_len = 22;
inline constexpr size_t resume_min = 16;
inline constexpr size_t resume_max = 64;
// A PIN room's pass (POST .../admit): 128 bits in base58, 21-22 characters.
inline constexpr size_t pass_max = 32;
// A seat ticket (seat_ticket.h, 53 characters today).
inline constexpr size_t ticket_max = 80;

bool valid_peer_ref(std::string_view s) noexcept;  // 1-16 base58 characters
bool valid_resume(std::string_view s) noexcept;    // 16-64 base58 characters
bool valid_pass(std::string_view s) noexcept;      // 1-32 base58 characters
bool valid_ticket(std::string_view s) noexcept;    // 1-80 base58 characters

// ice_servers: a joined participant asks for fresh TURN credentials (before
// an ICE restart in a long call); answered to it alone. beacon: how a call
// phase went, for the operator's metrics; folded into counters, never kept.
// cannot_call: instead of join, a browser that cannot make calls (no
// WebRTC) tells whoever is in the room, and takes no seat.
enum class msg_type : uint8_t { join, offer, answer, candidate, bye,
                                ice_servers, beacon, cannot_call };

// A beacon: one per call phase. setup: how long until the first media
// flowed, whether at the first try, and over which path; recovery: how
// long an outage lasted and how many ICE restarts it took.
inline constexpr size_t beacon_max = 256;        // bytes of its JSON text
inline constexpr uint32_t beacon_ms_max = 600000;
inline constexpr uint32_t beacon_reconnects_max = 100;

enum class beacon_phase : uint8_t { setup, recovery };
enum class beacon_path : uint8_t { direct, relayed };
enum class beacon_transport : uint8_t { udp, tcp, tls };

struct beacon {
    beacon_phase     phase = beacon_phase::setup;
    uint32_t         ms = 0;
    bool             first_try = false;          // setup
    beacon_path      path = beacon_path::direct;  // setup
    beacon_transport transport = beacon_transport::udp;  // setup
    uint32_t         reconnects = 0;             // recovery
};

constexpr bool is_relayed(msg_type t) noexcept
{
    return t == msg_type::offer || t == msg_type::answer
        || t == msg_type::candidate;
}

std::string_view type_name(msg_type t) noexcept;

enum class error : uint8_t {
    bad_message,
    room_not_found,  // fatal: unknown or expired room
    peer_not_found,  // not fatal: the addressee may have just left
    room_full,
    too_large,
    rate_limited,
    bad_beacon,      // not fatal: the call does not depend on it
    room_ended,      // fatal: its host ended it for everyone
    pin_required,    // fatal: a PIN room, and no valid pass in the join
    server_error,    // fatal: the server could not seat the caller (its
                     // CSPRNG failed); the client tries again
    bad_ticket,      // not fatal: the join's seat ticket was refused, and
                     // the caller joins as a new participant
};

enum class close_code : uint16_t {
    normal = 1000,      // the client said bye
    going_away = 1001,  // server reload or shutdown
    policy = 1008,      // no join in time, or a client that reads too slowly
    too_large = 1009,
    internal = 1011,    // the server could not go on (out of memory)
    replaced = 4001,    // the seat was resumed by a newer connection
    bad_message = 4400,
    not_found = 4404,
    pin_required = 4403,  // a PIN room: ask for the PIN, then join again
    room_full = 4409,
    ended = 4410,       // the room's host ended it for everyone
    rate_limited = 4429,
};

struct error_info {
    std::string_view code;            // "code" of the error message
    std::string_view message;         // default human-readable text
    std::optional<close_code> close;  // set when the error is fatal
};

// The one mapping of an error to the wire: docs/protocol.md has the table.
error_info describe(error e) noexcept;
std::string_view close_reason(close_code c) noexcept;

// A short decoded string held by value, so a parsed message outlives the
// JSON tree it came from without allocating.
template <size_t N>
class short_text {
public:
    std::string_view view() const noexcept { return {buf_, len_}; }
    bool empty() const noexcept { return len_ == 0; }

    bool assign(std::string_view s) noexcept
    {
        if (s.size() > N)
            return false;
        if (!s.empty())
            std::memcpy(buf_, s.data(), s.size());
        len_ = s.size();
        return true;
    }

private:
    char buf_[N] = {};
    size_t len_ = 0;
};

struct client_msg {
    msg_type type = msg_type::bye;
    short_text<peer_ref_max> to;    // set for offer, answer, candidate
    short_text<resume_max> resume;  // join only; empty when not given
    short_text<pass_max> pass;      // join only; a PIN room's pass
    short_text<ticket_max> ticket;  // join only; a seat ticket
    struct beacon beacon;           // beacon only
};

struct parse_result {
    client_msg msg;
    std::optional<error> err;

    explicit operator bool() const noexcept { return !err; }
};

// Validates one client text frame. Longer than max_bytes is too_large;
// everything else wrong is bad_message.
parse_result parse_client(std::string_view text, size_t max_bytes) noexcept;
// The same with jansson alone: parse_client takes a shortcut (json_scan.h)
// for the messages of a call, and must always agree with this
// (tests/fuzz/fuzz_json_scan.cpp).
parse_result parse_client_reference(std::string_view text, size_t max_bytes)
    noexcept;

// Join must come first and only once; cannot-call only instead of it.
std::optional<error> check_order(bool joined, msg_type type) noexcept;

// The relayed message is the client's own text with "from" spliced in
// after the '{', so unknown keys and number spellings pass untouched.
// text must have passed parse_client; from must be valid_peer_ref.
size_t relay_length(std::string_view text, std::string_view from) noexcept;

// Builders write JSON into out (not NUL-terminated) and return its length,
// or 0 when it does not fit in cap or a precondition fails.
size_t build_relay(char* out, size_t cap, std::string_view text,
                   std::string_view from) noexcept;

struct welcome {
    std::string_view id;
    const std::string_view* peers = nullptr;
    size_t peer_count = 0;
    std::string_view resume;
    std::string_view ice_servers_json;  // serialised array; empty means []
    unsigned max_participants = 0;
    std::string_view ticket;  // the seat ticket; left out when empty
    std::string_view node;    // which node this is; left out when empty
    bool moved = false;       // the room moved here from another node
};

size_t build_welcome(char* out, size_t cap, const welcome& w) noexcept;
// resumed: the participant came back to its seat (a reload, a network
// change); the others keep their peer connection unless told otherwise.
size_t build_peer_joined(char* out, size_t cap, std::string_view id,
                         bool resumed = false) noexcept;
size_t build_peer_left(char* out, size_t cap, std::string_view id) noexcept;
// {"type":"cannot-call"}: somebody opened the link in a browser that cannot
// make calls, and took no seat.
size_t build_cannot_call(char* out, size_t cap) noexcept;

// {"type":"ice-servers","iceServers":<ice_servers_json>[,"ticket":...]}
size_t build_ice_servers(char* out, size_t cap,
                         std::string_view ice_servers_json,
                         std::string_view ticket = {}) noexcept;

// An empty message stands for the error's default text.
size_t build_error(char* out, size_t cap, error e,
                   std::string_view message) noexcept;

}  // namespace webcall::signal
