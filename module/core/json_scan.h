// A strict JSON scanner for the signaling hot path: it validates one JSON
// text in a single pass, with no allocation, and hands back the top-level
// object's members as spans of the input.
//
// It is a shortcut, not a second parser with opinions of its own: for every
// text it answers what jansson's json_loadb(JSON_REJECT_DUPLICATES) would
// (accept or reject), or "unsure" for the rare shapes it does not decide
// itself, which then go to jansson: non-ASCII bytes, \u escapes, a key with
// an escape, numbers with an exponent or many digits, deep nesting, very
// many keys. tests/fuzz/fuzz_json_scan.cpp holds it to that, byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace webcall::json {

enum class verdict : uint8_t { accept, reject, unsure };

enum class kind : uint8_t { object, array, string, number, literal };

struct member {
    std::string_view key;     // raw: never holds an escape
    kind k;
    // string: the raw content between the quotes (escapes not decoded);
    // others: the value's text
    std::string_view value;
    bool escaped;             // string with at least one escape
};

constexpr size_t max_members = 16;

struct scan_result {
    verdict v = verdict::reject;
    bool object = false;                // the top-level value is an object
    size_t count = 0;                   // members of the top-level object
    member members[max_members];
};

// Scans text. A top-level object with more than max_members members is
// "unsure".
scan_result scan(std::string_view text) noexcept;

// The member named key, or nullptr.
const member* find(const scan_result& r, std::string_view key) noexcept;

}  // namespace webcall::json
