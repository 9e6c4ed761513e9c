// Signaling messages: client-frame validation with jansson, and the
// server's JSON written straight into caller buffers.
#include "signal_msg.h"

#include <jansson.h>

#include "base58.h"
#include "json_scan.h"
#include "utf8.h"

namespace webcall::signal {

namespace {

bool all_base58(std::string_view s) noexcept
{
    for (char c : s)
        if (!base58::is_char(c))
            return false;
    return true;
}

// Appends to a fixed buffer; once something does not fit, everything after
// is dropped and finish() reports 0, so callers check only once.
class writer {
public:
    writer(char* out, size_t cap) noexcept : out_(out), cap_(cap) {}

    void raw(std::string_view s) noexcept;
    void string(std::string_view s) noexcept;
    void number(uint64_t v) noexcept;
    size_t finish() const noexcept { return overflow_ ? 0 : len_; }

private:
    void ascii(unsigned char c) noexcept;

    char* out_;
    size_t cap_;
    size_t len_ = 0;
    bool overflow_ = false;
};

void writer::raw(std::string_view s) noexcept
{
    if (overflow_ || s.empty())
        return;
    if (s.size() > cap_ - len_) {
        overflow_ = true;
        return;
    }
    std::memcpy(out_ + len_, s.data(), s.size());
    len_ += s.size();
}

void writer::number(uint64_t v) noexcept
{
    char digits[20];
    size_t n = sizeof digits;
    do {
        digits[--n] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    raw({digits + n, sizeof digits - n});
}

void writer::ascii(unsigned char c) noexcept
{
    switch (c) {
    case '"': raw("\\\""); return;
    case '\\': raw("\\\\"); return;
    case '\n': raw("\\n"); return;
    case '\r': raw("\\r"); return;
    case '\t': raw("\\t"); return;
    default: break;
    }
    if (c >= 0x20) {
        char one = static_cast<char>(c);
        raw({&one, 1});
        return;
    }
    constexpr std::string_view hex = "0123456789abcdef";
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    raw({u, sizeof u});
}

// A JSON text must be UTF-8 and browsers drop a connection on a text frame
// that is not. Server strings are ours and meant to be valid, so on the rare
// invalid one every non-ASCII byte simply becomes U+FFFD.
void writer::string(std::string_view s) noexcept
{
    bool valid = utf8::valid(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
    raw("\"");
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x80)
            ascii(c);
        else
            raw(valid ? std::string_view(&ch, 1) : "\\ufffd");
    }
    raw("\"");
}

constexpr struct {
    std::string_view name;
    msg_type type;
} type_names[] = {
    {"join", msg_type::join},
    {"offer", msg_type::offer},
    {"answer", msg_type::answer},
    {"candidate", msg_type::candidate},
    {"bye", msg_type::bye},
    {"ice-servers", msg_type::ice_servers},
    {"beacon", msg_type::beacon},
    {"cannot-call", msg_type::cannot_call},
};

std::optional<msg_type> type_of(const json_t* v) noexcept
{
    if (!json_is_string(v))
        return std::nullopt;
    std::string_view s(json_string_value(v), json_string_length(v));
    for (const auto& t : type_names)
        if (t.name == s)
            return t.type;
    return std::nullopt;
}

std::string_view string_of(const json_t* v) noexcept
{
    return {json_string_value(v), json_string_length(v)};
}

parse_result failed(error e) noexcept
{
    parse_result r;
    r.err = e;
    return r;
}

bool read_resume(const json_t* root, client_msg& msg) noexcept
{
    const json_t* v = json_object_get(root, "resume");
    if (!v)
        return true;
    return json_is_string(v) && valid_resume(string_of(v))
        && msg.resume.assign(string_of(v));
}

bool read_pass(const json_t* root, client_msg& msg) noexcept
{
    const json_t* v = json_object_get(root, "pass");
    if (!v)
        return true;
    return json_is_string(v) && valid_pass(string_of(v))
        && msg.pass.assign(string_of(v));
}

bool read_ticket(const json_t* root, client_msg& msg) noexcept
{
    const json_t* v = json_object_get(root, "ticket");
    if (!v)
        return true;
    return json_is_string(v) && valid_ticket(string_of(v))
        && msg.ticket.assign(string_of(v));
}

bool read_to(const json_t* root, client_msg& msg) noexcept
{
    const json_t* v = json_object_get(root, "to");
    return json_is_string(v) && valid_peer_ref(string_of(v))
        && msg.to.assign(string_of(v));
}

bool has_payload(const json_t* root, msg_type type) noexcept
{
    if (type == msg_type::candidate) {
        const json_t* c = json_object_get(root, "candidate");
        return json_is_object(c) || json_is_null(c);
    }
    const json_t* sdp = json_object_get(root, "sdp");
    return json_is_string(sdp) && json_string_length(sdp) > 0;
}

// An integer in [0, max], not a float or a string of one.
bool read_count(const json_t* root, const char* key, uint32_t max,
                uint32_t* out) noexcept
{
    const json_t* v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) > (json_int_t) max)
        return false;
    *out = (uint32_t) json_integer_value(v);
    return true;
}

// One of names (an array of n), as its index.
bool read_choice(const json_t* root, const char* key,
                 const std::string_view* names, size_t n, uint8_t* out)
    noexcept
{
    const json_t* v = json_object_get(root, key);
    if (!json_is_string(v))
        return false;
    for (size_t i = 0; i < n; ++i) {
        if (string_of(v) == names[i]) {
            *out = (uint8_t) i;
            return true;
        }
    }
    return false;
}

// Exactly the keys of its phase: a beacon is small and carries nothing
// else (no id, no address, no user agent) by construction.
bool read_beacon(const json_t* root, beacon& b) noexcept
{
    static constexpr std::string_view phases[] = {"setup", "recovery"};
    static constexpr std::string_view paths[] = {"direct", "relayed"};
    static constexpr std::string_view transports[] = {"udp", "tcp", "tls"};
    uint8_t phase, path, transport;

    if (!read_choice(root, "phase", phases, 2, &phase)
        || !read_count(root, "ms", beacon_ms_max, &b.ms))
        return false;
    b.phase = (beacon_phase) phase;
    if (b.phase == beacon_phase::recovery) {
        return json_object_size(root) == 4
            && read_count(root, "reconnects", beacon_reconnects_max,
                          &b.reconnects);
    }
    const json_t* first = json_object_get(root, "firstTry");
    if (json_object_size(root) != 6 || !json_is_boolean(first)
        || !read_choice(root, "path", paths, 2, &path)
        || !read_choice(root, "transport", transports, 3, &transport))
        return false;
    b.first_try = json_is_true(first);
    b.path = (beacon_path) path;
    b.transport = (beacon_transport) transport;
    return true;
}

bool read_fields(const json_t* root, client_msg& msg) noexcept
{
    if (msg.type == msg_type::join)
        return read_resume(root, msg) && read_pass(root, msg)
            && read_ticket(root, msg);
    if (msg.type == msg_type::beacon)
        return read_beacon(root, msg.beacon);
    if (msg.type == msg_type::cannot_call)
        return read_pass(root, msg);
    if (!is_relayed(msg.type))
        return true;
    return read_to(root, msg) && has_payload(root, msg.type);
}

parse_result validate(const json_t* root) noexcept
{
    // "from" is the server's to add; a client's own would let it pose as
    // another peer, and build_relay relies on its absence.
    if (!json_is_object(root) || json_object_get(root, "from"))
        return failed(error::bad_message);
    std::optional<msg_type> type = type_of(json_object_get(root, "type"));
    if (!type)
        return failed(error::bad_message);
    parse_result r;
    r.msg.type = *type;
    if (!read_fields(root, r.msg))
        return failed(*type == msg_type::beacon ? error::bad_beacon
                                                : error::bad_message);
    return r;
}

// validate() for a text the scanner accepted, when the message is one it
// can decide alone: a relayed one, bye or ice-servers, with no escape in
// what is read. nullopt: jansson's validate() decides.
std::optional<parse_result> validate_scanned(const json::scan_result& s)
    noexcept
{
    if (!s.object || json::find(s, "from"))
        return failed(error::bad_message);
    const json::member* t = json::find(s, "type");
    if (!t || t->k != json::kind::string)
        return failed(error::bad_message);
    if (t->escaped)
        return std::nullopt;
    std::optional<msg_type> type;
    for (const auto& n : type_names)
        if (n.name == t->value)
            type = n.type;
    if (!type)
        return failed(error::bad_message);
    parse_result r;
    r.msg.type = *type;
    if (*type == msg_type::bye || *type == msg_type::ice_servers)
        return r;
    if (!is_relayed(*type))
        return std::nullopt;          // join and beacon: jansson's
    const json::member* to = json::find(s, "to");
    if (!to || to->k != json::kind::string)
        return failed(error::bad_message);
    if (to->escaped)
        return std::nullopt;
    if (!valid_peer_ref(to->value) || !r.msg.to.assign(to->value))
        return failed(error::bad_message);
    if (*type == msg_type::candidate) {
        const json::member* c = json::find(s, "candidate");
        bool ok = c && (c->k == json::kind::object
                        || (c->k == json::kind::literal && c->value == "null"));
        return ok ? r : failed(error::bad_message);
    }
    // raw content that is not empty decodes to a string that is not
    const json::member* sdp = json::find(s, "sdp");
    bool ok = sdp && sdp->k == json::kind::string && !sdp->value.empty();
    return ok ? r : failed(error::bad_message);
}

size_t skip_json_space(std::string_view s) noexcept
{
    size_t i = 0;
    while (i < s.size()
           && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        ++i;
    return i;
}

constexpr std::string_view relay_head = "{\"from\":\"";
constexpr std::string_view relay_sep = "\",";

size_t build_peer_event(char* out, size_t cap, std::string_view type,
                        std::string_view id, bool resumed = false) noexcept
{
    writer w(out, cap);
    w.raw("{\"type\":");
    w.string(type);
    w.raw(",\"id\":");
    w.string(id);
    if (resumed) {
        w.raw(",\"resumed\":true");
    }
    w.raw("}");
    return w.finish();
}

}  // namespace

bool valid_peer_ref(std::string_view s) noexcept
{
    return !s.empty() && s.size() <= peer_ref_max && all_base58(s);
}

bool valid_resume(std::string_view s) noexcept
{
    return s.size() >= resume_min && s.size() <= resume_max
        && all_base58(s);
}

bool valid_pass(std::string_view s) noexcept
{
    return !s.empty() && s.size() <= pass_max && all_base58(s);
}

bool valid_ticket(std::string_view s) noexcept
{
    return !s.empty() && s.size() <= ticket_max && all_base58(s);
}

std::string_view type_name(msg_type t) noexcept
{
    for (const auto& n : type_names)
        if (n.type == t)
            return n.name;
    return {};
}

error_info describe(error e) noexcept
{
    switch (e) {
    case error::bad_message:
        return {"bad-message", "malformed or unexpected message",
                close_code::bad_message};
    case error::room_not_found:
        return {"not-found", "no such room", close_code::not_found};
    case error::peer_not_found:
        return {"not-found", "no such peer in the room", std::nullopt};
    case error::room_full:
        return {"room-full", "the room is full", close_code::room_full};
    case error::too_large:
        return {"too-large", "message too large", close_code::too_large};
    case error::rate_limited:
        return {"rate-limited", "too many messages",
                close_code::rate_limited};
    case error::bad_beacon:
        return {"bad-beacon", "malformed or oversized beacon", std::nullopt};
    case error::room_ended:
        return {"ended", "the call was ended by its host", close_code::ended};
    case error::pin_required:
        return {"pin-required", "this room asks for a PIN",
                close_code::pin_required};
    case error::server_error:
        return {"server-error", "the server could not seat you; try again",
                close_code::internal};
    case error::bad_ticket:
        return {"bad-ticket", "the seat ticket was refused: joined as a new "
                "participant", std::nullopt};
    }
    return describe(error::bad_message);
}

std::string_view close_reason(close_code c) noexcept
{
    switch (c) {
    case close_code::normal: return "bye";
    case close_code::going_away: return "going away";
    case close_code::policy: return "policy";
    case close_code::internal: return "internal";
    case close_code::too_large: return "too-large";
    case close_code::replaced: return "replaced";
    case close_code::bad_message: return "bad-message";
    case close_code::not_found: return "not-found";
    case close_code::pin_required: return "pin-required";
    case close_code::room_full: return "room-full";
    case close_code::ended: return "ended";
    case close_code::rate_limited: return "rate-limited";
    }
    return {};
}

parse_result parse_client(std::string_view text, size_t max_bytes) noexcept
{
    if (text.size() > max_bytes)
        return failed(error::too_large);
    if (text.empty())
        return failed(error::bad_message);
    // Nearly every message of a call is an offer, answer or candidate
    // relayed as it came: one scan decides it, without building a tree.
    json::scan_result scanned = json::scan(text);
    if (scanned.v == json::verdict::reject)
        return failed(error::bad_message);
    if (scanned.v == json::verdict::accept) {
        std::optional<parse_result> r = validate_scanned(scanned);
        if (r)
            return *r;
    }
    return parse_client_reference(text, max_bytes);
}

parse_result parse_client_reference(std::string_view text, size_t max_bytes)
    noexcept
{
    if (text.size() > max_bytes)
        return failed(error::too_large);
    if (text.empty())
        return failed(error::bad_message);
    // Out of memory also lands here as bad_message: there is no better
    // code on the wire, and the connection ends either way.
    json_error_t jerr;
    json_t* root = json_loadb(text.data(), text.size(),
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return failed(error::bad_message);
    parse_result r = validate(root);
    json_decref(root);
    if (r && r.msg.type == msg_type::beacon && text.size() > beacon_max)
        return failed(error::bad_beacon);
    return r;
}

std::optional<error> check_order(bool joined, msg_type type) noexcept
{
    if (type == msg_type::cannot_call)
        return joined ? std::optional<error>(error::bad_message) : std::nullopt;
    if (joined == (type == msg_type::join))
        return error::bad_message;
    return std::nullopt;
}

size_t relay_length(std::string_view text, std::string_view from) noexcept
{
    size_t brace = skip_json_space(text);
    if (brace >= text.size() || text[brace] != '{')
        return 0;
    size_t rest = text.size() - brace - 1;
    return relay_head.size() + from.size() + relay_sep.size() + rest;
}

size_t build_relay(char* out, size_t cap, std::string_view text,
                   std::string_view from) noexcept
{
    size_t brace = skip_json_space(text);
    if (brace >= text.size() || text[brace] != '{' || !valid_peer_ref(from))
        return 0;
    writer w(out, cap);
    w.raw(relay_head);
    w.raw(from);
    w.raw(relay_sep);
    w.raw({text.data() + brace + 1, text.size() - brace - 1});
    return w.finish();
}

size_t build_welcome(char* out, size_t cap, const welcome& m) noexcept
{
    writer w(out, cap);
    w.raw("{\"type\":\"welcome\",\"id\":");
    w.string(m.id);
    w.raw(",\"peers\":[");
    for (size_t i = 0; i < m.peer_count; ++i) {
        if (i)
            w.raw(",");
        w.string(m.peers[i]);
    }
    w.raw("],\"resume\":");
    w.string(m.resume);
    w.raw(",\"iceServers\":");
    w.raw(m.ice_servers_json.empty() ? "[]" : m.ice_servers_json);
    w.raw(",\"maxParticipants\":");
    w.number(m.max_participants);
    if (!m.ticket.empty()) {
        w.raw(",\"ticket\":");
        w.string(m.ticket);
    }
    if (!m.node.empty()) {
        w.raw(",\"node\":");
        w.string(m.node);
    }
    if (m.moved)
        w.raw(",\"moved\":true");
    w.raw("}");
    return w.finish();
}

size_t build_peer_joined(char* out, size_t cap, std::string_view id,
                         bool resumed) noexcept
{
    return build_peer_event(out, cap, "peer-joined", id, resumed);
}

size_t build_ice_servers(char* out, size_t cap,
                         std::string_view ice_servers_json,
                         std::string_view ticket) noexcept
{
    writer w(out, cap);
    w.raw("{\"type\":\"ice-servers\",\"iceServers\":");
    w.raw(ice_servers_json.empty() ? "[]" : ice_servers_json);
    if (!ticket.empty()) {
        w.raw(",\"ticket\":");
        w.string(ticket);
    }
    w.raw("}");
    return w.finish();
}

size_t build_cannot_call(char* out, size_t cap) noexcept
{
    writer w(out, cap);
    w.raw("{\"type\":\"cannot-call\"}");
    return w.finish();
}

size_t build_peer_left(char* out, size_t cap, std::string_view id) noexcept
{
    return build_peer_event(out, cap, "peer-left", id);
}

size_t build_error(char* out, size_t cap, error e,
                   std::string_view message) noexcept
{
    error_info info = describe(e);
    writer w(out, cap);
    w.raw("{\"type\":\"error\",\"code\":");
    w.string(info.code);
    w.raw(",\"message\":");
    w.string(message.empty() ? info.message : message);
    w.raw("}");
    return w.finish();
}

}  // namespace webcall::signal
