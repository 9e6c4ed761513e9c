// libFuzzer target: arbitrary bytes as a client frame through parse_client
// and, when accepted, build_relay; the relay must be JSON carrying "from".
// The same bytes as an error's text must also come out as valid JSON.
#include "signal_msg.h"
#include "utf8.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <jansson.h>

using namespace webcall::signal;

namespace {

constexpr std::string_view sender = "Ab3dEf7h";

void require(bool ok)
{
    if (!ok)
        abort();
}

std::string_view string_of(const json_t* v)
{
    require(json_is_string(v));
    return {json_string_value(v), json_string_length(v)};
}

json_t* load(const std::vector<char>& buf, size_t len, size_t flags = 0)
{
    json_error_t jerr;
    json_t* v = json_loadb(buf.data(), len, JSON_REJECT_DUPLICATES | flags,
                           &jerr);
    require(v != nullptr);
    return v;
}

// The relay is the original object plus "from", nothing else changed.
void check_relay(std::string_view text, const parse_result& r)
{
    size_t need = relay_length(text, sender);
    std::vector<char> buf(need);
    require(build_relay(buf.data(), need - 1, text, sender) == 0);
    require(build_relay(buf.data(), need, text, sender) == need);

    json_t* out = load(buf, need);
    json_t* in = json_loadb(text.data(), text.size(), 0, nullptr);
    require(in != nullptr && json_is_object(out));
    require(string_of(json_object_get(out, "from")) == sender);
    require(json_object_size(out) == json_object_size(in) + 1);
    require(json_object_del(out, "from") == 0);
    require(json_equal(out, in));
    require(string_of(json_object_get(out, "type")) == type_name(r.msg.type));
    json_decref(in);
    json_decref(out);
}

// \u0000 is valid JSON that jansson refuses unless asked. Valid UTF-8 must
// come back unchanged.
void check_error_text(std::string_view text)
{
    std::vector<char> buf(256 + text.size() * 6);
    size_t n = build_error(buf.data(), buf.size(), error::bad_message, text);
    require(n > 0);
    json_t* v = load(buf, n, JSON_ALLOW_NUL);
    std::string_view back = string_of(json_object_get(v, "message"));
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    if (!text.empty() && webcall::utf8::valid(p, text.size()))
        require(back == text);
    json_decref(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    parse_result r = parse_client(text, 64 * 1024);
    // Only offer, answer and candidate are relayed, but splicing any valid
    // message must work, so join and bye exercise it too.
    if (r)
        check_relay(text, r);
    require(r || r.err == error::bad_message || r.err == error::too_large
            || r.err == error::bad_beacon);
    // A beacon that passes is small and in range; a refused one is only
    // ever refused as a beacon when its type says so.
    if (r && r.msg.type == msg_type::beacon) {
        require(text.size() <= beacon_max);
        require(r.msg.beacon.ms <= beacon_ms_max);
        require(r.msg.beacon.reconnects <= beacon_reconnects_max);
    }
    if (!r && r.err == error::bad_beacon)
        require(text.find("beacon") != std::string_view::npos);
    check_error_text(text);
    return 0;
}
