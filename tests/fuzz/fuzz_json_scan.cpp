// libFuzzer target: the scanner of the signaling hot path (json_scan.h)
// against jansson, its reference. For any bytes:
// - accept: jansson accepts too, with the same top-level members, each of
//   the same kind, and a string's raw content decodes to jansson's string;
// - reject: jansson rejects too;
// - and parse_client, which takes the scanner's shortcut, gives exactly
//   what parse_client_reference (jansson alone) gives.
#include "json_scan.h"
#include "signal_msg.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <jansson.h>

using namespace webcall;

namespace {

void require(bool ok)
{
    if (!ok)
        abort();
}

bool same_kind(json::kind k, const json_t* v)
{
    switch (k) {
    case json::kind::object: return json_is_object(v);
    case json::kind::array: return json_is_array(v);
    case json::kind::string: return json_is_string(v);
    case json::kind::number: return json_is_number(v);
    case json::kind::literal:
        return json_is_true(v) || json_is_false(v) || json_is_null(v);
    }
    return false;
}

// The scanner leaves \u escapes to jansson, so only these remain.
std::string decode(std::string_view raw)
{
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\') {
            out += raw[i];
            continue;
        }
        switch (raw[++i]) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default: out += raw[i]; break;
        }
    }
    return out;
}

void same_members(const json::scan_result& s, const json_t* root)
{
    require(s.object == json_is_object(root));
    if (!s.object)
        return;
    require(s.count == json_object_size(root));
    for (size_t i = 0; i < s.count; ++i) {
        const json::member& m = s.members[i];
        std::string key(m.key);
        const json_t* v = json_object_get(root, key.c_str());
        require(v != nullptr && same_kind(m.k, v));
        if (m.k == json::kind::string) {
            std::string d = decode(m.value);
            require(d.size() == json_string_length(v)
                    && std::memcmp(d.data(), json_string_value(v), d.size())
                           == 0);
            require(m.escaped == (m.value.find('\\') != std::string_view::npos));
        }
    }
}

void same_result(const signal::parse_result& a,
                 const signal::parse_result& b)
{
    require(a.err == b.err);
    if (a.err)
        return;
    require(a.msg.type == b.msg.type);
    require(a.msg.to.view() == b.msg.to.view());
    require(a.msg.resume.view() == b.msg.resume.view());
    require(a.msg.pass.view() == b.msg.pass.view());
    require(a.msg.ticket.view() == b.msg.ticket.view());
    const signal::beacon& x = a.msg.beacon;
    const signal::beacon& y = b.msg.beacon;
    require(x.phase == y.phase && x.ms == y.ms && x.first_try == y.first_try
            && x.path == y.path && x.transport == y.transport
            && x.reconnects == y.reconnects);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);

    json::scan_result s = json::scan(text);
    json_error_t jerr;
    json_t* root = json_loadb(text.data(), text.size(),
                              JSON_REJECT_DUPLICATES, &jerr);

    if (s.v == json::verdict::accept) {
        require(root != nullptr);
        same_members(s, root);
    } else if (s.v == json::verdict::reject) {
        require(root == nullptr);
    }
    json_decref(root);

    same_result(signal::parse_client(text, 65536),
                signal::parse_client_reference(text, 65536));
    return 0;
}
