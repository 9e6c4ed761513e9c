// Prometheus text exposition format 0.0.4 (see prom_text.h).
#include "prom_text.h"

#include "string_slice.h"
#include <cmath>
#include <cstdio>
#include <cstring>

namespace webcall::prom {

size_t bucket_of(const buckets& b, double value) noexcept
{
    for (size_t i = 0; i < b.n; ++i)
        if (value <= b.bounds[i])
            return i;
    return b.n;
}

void writer::raw(std::string_view s) noexcept
{
    if (overflow_ || s.size() > cap_ - len_) {
        overflow_ = true;
        return;
    }
    std::memcpy(out_ + len_, s.data(), s.size());
    len_ += s.size();
}

// Label values escape backslash, double quote and newline; HELP text only
// backslash and newline (the format's two rules).
void writer::escaped(std::string_view s, bool quote) noexcept
{
    size_t from = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c != '\\' && c != '\n' && !(quote && c == '"'))
            continue;
        raw(slice(s, from, i - from));
        raw(c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\");
        from = i + 1;
    }
    raw(slice(s, from));
}

void writer::number(uint64_t v) noexcept
{
    char buf[24];
    int n = std::snprintf(buf, sizeof(buf), "%llu", (unsigned long long) v);
    raw({buf, (size_t) n});
}

void writer::number(double v) noexcept
{
    char buf[32];
    int n;
    if (std::isinf(v))
        n = std::snprintf(buf, sizeof(buf), "%s", v > 0 ? "+Inf" : "-Inf");
    else if (std::isnan(v))
        n = std::snprintf(buf, sizeof(buf), "NaN");
    else
        n = std::snprintf(buf, sizeof(buf), "%.17g", v);
    raw({buf, (size_t) n});
}

void writer::labels(std::initializer_list<label> ls, const label* extra)
    noexcept
{
    if (ls.size() == 0 && extra == nullptr)
        return;
    raw("{");
    bool first = true;
    auto one = [&](const label& l) {
        if (!first)
            raw(",");
        first = false;
        raw(l.name);
        raw("=\"");
        escaped(l.value, true);
        raw("\"");
    };
    for (const label& l : ls)
        one(l);
    if (extra)
        one(*extra);
    raw("}");
}

void writer::family(std::string_view name, kind k, std::string_view help)
    noexcept
{
    raw("# HELP ");
    raw(name);
    raw(" ");
    escaped(help, false);
    raw("\n# TYPE ");
    raw(name);
    raw(k == kind::counter ? " counter\n"
        : k == kind::gauge ? " gauge\n" : " histogram\n");
}

void writer::sample(std::string_view name, std::initializer_list<label> ls,
                    uint64_t value) noexcept
{
    raw(name);
    labels(ls, nullptr);
    raw(" ");
    number(value);
    raw("\n");
}

void writer::sample(std::string_view name, std::initializer_list<label> ls,
                    double value) noexcept
{
    raw(name);
    labels(ls, nullptr);
    raw(" ");
    number(value);
    raw("\n");
}

void writer::histogram(std::string_view name, std::initializer_list<label> ls,
                       const buckets& b, const uint64_t* counts, double sum)
    noexcept
{
    char     le[32];
    uint64_t total = 0;

    for (size_t i = 0; i <= b.n; ++i) {
        total += counts[i];
        int n = i < b.n ? std::snprintf(le, sizeof(le), "%g", b.bounds[i])
                        : std::snprintf(le, sizeof(le), "+Inf");
        const label bound{"le", {le, (size_t) n}};
        raw(name);
        raw("_bucket");
        labels(ls, &bound);
        raw(" ");
        number(total);
        raw("\n");
    }
    raw(name);
    raw("_sum");
    labels(ls, nullptr);
    raw(" ");
    number(sum);
    raw("\n");
    raw(name);
    raw("_count");
    labels(ls, nullptr);
    raw(" ");
    number(total);
    raw("\n");
}

}  // namespace webcall::prom
