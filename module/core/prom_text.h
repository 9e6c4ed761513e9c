// Prometheus text exposition format 0.0.4, written into a caller's buffer:
// the pure half of webcall_metrics. Families are announced once (HELP and
// TYPE), samples follow with their labels; histograms come from cumulative
// bucket counts. Nothing here knows nginx or where the numbers live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace webcall::prom {

enum class kind { counter, gauge, histogram };

struct label {
    std::string_view name;
    std::string_view value;
};

// Upper bounds of a histogram's buckets, in the metric's base unit
// (seconds), ascending; +Inf is implied.
struct buckets {
    const double* bounds;
    size_t        n;
};

// The bucket a value falls into: the first bound >= value, or n for +Inf.
size_t bucket_of(const buckets& b, double value) noexcept;

class writer {
public:
    writer(char* out, size_t cap) noexcept : out_(out), cap_(cap) {}

    // # HELP and # TYPE lines; help must be one line of text.
    void family(std::string_view name, kind k, std::string_view help) noexcept;

    void sample(std::string_view name, std::initializer_list<label> labels,
                uint64_t value) noexcept;
    void sample(std::string_view name, std::initializer_list<label> labels,
                double value) noexcept;

    // name_bucket{...,le="..."} for every bound and +Inf (counts is the
    // per-bucket, not cumulative, count: n + 1 entries), name_sum (in the
    // base unit) and name_count.
    void histogram(std::string_view name, std::initializer_list<label> labels,
                   const buckets& b, const uint64_t* counts,
                   double sum) noexcept;

    // The length written, or 0 when the text did not fit: the caller
    // retries with a larger buffer.
    size_t finish() const noexcept { return overflow_ ? 0 : len_; }
    bool overflowed() const noexcept { return overflow_; }

private:
    void raw(std::string_view s) noexcept;
    void escaped(std::string_view s, bool quote) noexcept;
    void labels(std::initializer_list<label> ls, const label* extra) noexcept;
    void number(uint64_t v) noexcept;
    void number(double v) noexcept;

    char*  out_;
    size_t cap_;
    size_t len_ = 0;
    bool   overflow_ = false;
};

}  // namespace webcall::prom
