// The scanner of json_scan.h. Each rule below is jansson's (2.14, with
// JSON_REJECT_DUPLICATES and no other flag): where jansson would reject,
// so do we; where deciding would need jansson's own decoding, we say
// "unsure" at once and jansson decides.
#include "json_scan.h"

#include <cstring>

namespace webcall::json {

namespace {

constexpr size_t max_depth = 32;    // jansson allows 2048: deeper is unsure
constexpr size_t max_keys = 64;     // keys of all open objects, for dupes
constexpr size_t max_int_digits = 18;  // always fits jansson's json_int_t

// Bytes a string may hold as they are: printable ASCII but '"' and '\\'.
struct plain_table {
    bool t[256] = {};
    constexpr plain_table() noexcept
    {
        for (int c = 0x20; c < 0x80; ++c)
            t[c] = c != '"' && c != '\\';
    }
    constexpr bool operator[](unsigned char c) const noexcept { return t[c]; }
};
constexpr plain_table plain;

class scanner {
public:
    explicit scanner(std::string_view t) noexcept
        : p_(t.data()), end_(t.data() + t.size()) {}

    verdict run(scan_result& r) noexcept;

private:
    // outcome of one step: go on, or stop with a verdict
    enum class st : uint8_t { ok, reject, unsure };

    void space() noexcept
    {
        while (p_ < end_
               && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
            ++p_;
    }
    st value(kind& k, std::string_view& text, bool& escaped) noexcept;
    st string(std::string_view& raw, bool& escaped) noexcept;
    st number() noexcept;
    st literal() noexcept;
    st container(char open) noexcept;
    st key_seen(std::string_view key, size_t level_start) noexcept;

    const char* p_;
    const char* end_;
    size_t depth_ = 0;
    size_t nkeys_ = 0;
    std::string_view keys_[max_keys];
    scan_result* top_ = nullptr;      // members of the top-level object
};

scanner::st scanner::string(std::string_view& raw, bool& escaped) noexcept
{
    const char* start = ++p_;         // after the opening quote
    escaped = false;
    while (p_ < end_) {
        // most of a string is plain printable ASCII: skip it in one loop
        while (p_ < end_ && plain[static_cast<unsigned char>(*p_)])
            ++p_;
        if (p_ == end_)
            break;
        auto c = static_cast<unsigned char>(*p_);
        if (c == '"') {
            raw = std::string_view(start, static_cast<size_t>(p_ - start));
            ++p_;
            return st::ok;
        }
        if (c < 0x20)
            return st::reject;        // a control character
        if (c >= 0x80)
            return st::unsure;        // UTF-8: jansson checks it
        if (c == '\\') {
            if (++p_ == end_)
                return st::reject;
            char e = *p_;
            if (e == 'u')
                return st::unsure;    // \u0000, surrogates: jansson's
            if (!std::strchr("\"\\/bfnrt", e) || e == '\0')
                return st::reject;
            escaped = true;
        }
        ++p_;
    }
    return st::reject;                // no closing quote
}

scanner::st scanner::number() noexcept
{
    if (*p_ == '-')
        ++p_;
    if (p_ == end_)
        return st::reject;
    const char* digits = p_;
    if (*p_ == '0') {
        ++p_;
        if (p_ < end_ && *p_ >= '0' && *p_ <= '9')
            return st::reject;        // no leading zero
    } else if (*p_ >= '1' && *p_ <= '9') {
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
            ++p_;
    } else {
        return st::reject;
    }
    if (static_cast<size_t>(p_ - digits) > max_int_digits)
        return st::unsure;            // jansson's range check
    if (p_ < end_ && *p_ == '.') {
        ++p_;
        if (p_ == end_ || *p_ < '0' || *p_ > '9')
            return st::reject;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
            ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E'))
        return st::unsure;            // strtod's overflow is jansson's
    return st::ok;
}

scanner::st scanner::literal() noexcept
{
    // jansson reads a whole run of letters as one word
    const char* start = p_;
    while (p_ < end_ && ((*p_ >= 'a' && *p_ <= 'z') || (*p_ >= 'A' && *p_ <= 'Z')))
        ++p_;
    std::string_view w(start, static_cast<size_t>(p_ - start));
    return w == "true" || w == "false" || w == "null" ? st::ok : st::reject;
}

// A key of the object whose keys start at level_start: duplicates are
// refused, as JSON_REJECT_DUPLICATES does at every level.
scanner::st scanner::key_seen(std::string_view key, size_t level_start) noexcept
{
    for (size_t i = level_start; i < nkeys_; ++i)
        if (keys_[i] == key)
            return st::reject;
    if (nkeys_ == max_keys)
        return st::unsure;
    keys_[nkeys_++] = key;
    return st::ok;
}

scanner::st scanner::container(char open) noexcept
{
    const char close = open == '{' ? '}' : ']';
    const bool is_top = depth_ == 0;
    const size_t level_start = nkeys_;
    if (++depth_ > max_depth)
        return st::unsure;
    ++p_;
    space();
    if (p_ < end_ && *p_ == close) {
        ++p_;
        --depth_;
        return st::ok;
    }
    for (;;) {
        std::string_view key;
        if (open == '{') {
            bool key_escaped = false;
            if (p_ == end_ || *p_ != '"')
                return st::reject;    // string or '}' expected
            st s = string(key, key_escaped);
            if (s != st::ok)
                return s;
            if (key_escaped)
                return st::unsure;    // jansson compares decoded keys
            s = key_seen(key, level_start);
            if (s != st::ok)
                return s;
            space();
            if (p_ == end_ || *p_ != ':')
                return st::reject;
            ++p_;
            space();
        }
        kind k;
        std::string_view text;
        bool escaped = false;
        st s = value(k, text, escaped);
        if (s != st::ok)
            return s;
        if (is_top && open == '{') {
            if (top_->count == max_members)
                return st::unsure;
            top_->members[top_->count++] = member{key, k, text, escaped};
        }
        space();
        if (p_ == end_)
            return st::reject;
        if (*p_ == ',') {
            ++p_;
            space();
            continue;                 // a value (or key) must follow
        }
        if (*p_ != close)
            return st::reject;
        ++p_;
        --depth_;
        nkeys_ = level_start;         // this object's keys are done
        return st::ok;
    }
}

scanner::st scanner::value(kind& k, std::string_view& text, bool& escaped)
    noexcept
{
    if (p_ == end_)
        return st::reject;
    const char* start = p_;
    st s;
    switch (*p_) {
    case '{':
        k = kind::object;
        s = container('{');
        break;
    case '[':
        k = kind::array;
        s = container('[');
        break;
    case '"':
        k = kind::string;
        return string(text, escaped);
    case 't': case 'f': case 'n':
        k = kind::literal;
        s = literal();
        break;
    default:
        if (*p_ != '-' && (*p_ < '0' || *p_ > '9'))
            return st::reject;        // no value starts so
        k = kind::number;
        s = number();
        break;
    }
    text = std::string_view(start, static_cast<size_t>(p_ - start));
    // jansson ends a number or a word by putting back the byte after it,
    // and a NUL put back is lost (its one-character buffer reads as
    // empty): one NUL right there is skipped
    if (s == st::ok && (k == kind::number || k == kind::literal)
        && p_ < end_ && *p_ == '\0')
        ++p_;
    return s;
}

verdict scanner::run(scan_result& r) noexcept
{
    top_ = &r;
    space();
    // without JSON_DECODE_ANY the text must be an object or an array
    if (p_ == end_ || (*p_ != '{' && *p_ != '['))
        return verdict::reject;
    r.object = *p_ == '{';
    kind k;
    std::string_view text;
    bool escaped;
    st s = value(k, text, escaped);
    if (s == st::reject)
        return verdict::reject;
    if (s == st::unsure)
        return verdict::unsure;
    space();
    return p_ == end_ ? verdict::accept : verdict::reject;
}

}  // namespace

scan_result scan(std::string_view text) noexcept
{
    scan_result r;
    scanner sc(text);
    r.v = sc.run(r);
    if (r.v != verdict::accept)
        r.count = 0;
    return r;
}

const member* find(const scan_result& r, std::string_view key) noexcept
{
    for (size_t i = 0; i < r.count; ++i)
        if (r.members[i].key == key)
            return &r.members[i];
    return nullptr;
}

}  // namespace webcall::json
