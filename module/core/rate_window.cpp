// Token buckets for the signaling flood limit; see rate_window.h.
#include "rate_window.h"

namespace webcall::rate {

namespace {

constexpr uint64_t milli = 1000;

uint64_t capacity(const bucket& b) noexcept
{
    return uint64_t{b.cfg.burst} * milli;
}

// Tokens are thousandths, so per_second tokens a second is exactly
// per_second thousandths a millisecond. Checking the time to fill first
// keeps elapsed * rate from overflowing after a long idle.
void refill(bucket& b, uint64_t elapsed_ms) noexcept
{
    uint64_t room = capacity(b) - b.milli_tokens;
    uint64_t rate = b.cfg.per_second;
    if (room == 0 || rate == 0 || elapsed_ms == 0)
        return;
    if (elapsed_ms >= (room + rate - 1) / rate)
        b.milli_tokens = capacity(b);
    else
        b.milli_tokens += elapsed_ms * rate;
}

bool off(const bucket& b) noexcept
{
    return b.cfg.burst == 0;
}

// A message bigger than the burst can never pass, and stopping here keeps
// the multiplication below in range.
bool affordable(const bucket& b, uint64_t tokens) noexcept
{
    if (off(b))
        return true;
    return tokens <= b.cfg.burst && tokens * milli <= b.milli_tokens;
}

void charge(bucket& b, uint64_t tokens) noexcept
{
    if (!off(b))
        b.milli_tokens -= tokens * milli;
}

}  // namespace

void init(limiter& l, const config& c, uint64_t now_ms) noexcept
{
    l.messages = {c.messages, uint64_t{c.messages.burst} * milli};
    l.bytes = {c.bytes, uint64_t{c.bytes.burst} * milli};
    l.last_ms = now_ms;
}

bool allow(limiter& l, uint64_t now_ms, size_t bytes) noexcept
{
    // A clock that steps back refills nothing, and last_ms stays put so
    // the same interval is not refilled twice when it catches up.
    if (now_ms > l.last_ms) {
        refill(l.messages, now_ms - l.last_ms);
        refill(l.bytes, now_ms - l.last_ms);
        l.last_ms = now_ms;
    }
    if (!affordable(l.messages, 1) || !affordable(l.bytes, bytes))
        return false;
    charge(l.messages, 1);
    charge(l.bytes, bytes);
    return true;
}

}  // namespace webcall::rate
