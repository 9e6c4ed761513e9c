// Per-connection flood limit: token buckets for messages and for bytes, in
// integer arithmetic on a monotonic millisecond clock the caller passes in.
#pragma once

#include <cstddef>
#include <cstdint>

namespace webcall::rate {

// A burst of 0 switches the bucket off (the "off" setting of a directive).
struct bucket_config {
    uint32_t per_second;  // refill rate
    uint32_t burst;       // capacity, and what a new connection starts with
};

struct config {
    bucket_config messages;
    bucket_config bytes;
};

inline constexpr config defaults{{50, 200}, {256 * 1024, 1024 * 1024}};

struct bucket {
    bucket_config cfg;
    uint64_t milli_tokens;  // thousandths, so the refill per ms is exact
};

// Plain data, so it can live in zeroed nginx pool memory; a zeroed limiter
// has both buckets off.
struct limiter {
    bucket messages;
    bucket bytes;
    uint64_t last_ms;  // latest clock value seen; never moves back
};

void init(limiter& l, const config& c, uint64_t now_ms) noexcept;

// True when one message of this size fits both buckets, which are then
// charged; false charges nothing.
bool allow(limiter& l, uint64_t now_ms, size_t bytes) noexcept;

}  // namespace webcall::rate
