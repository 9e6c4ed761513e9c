// PIN attempt limit; see pin_throttle.h for the model.
#include "pin_throttle.h"

#include <algorithm>

namespace webcall::pin_throttle {

int64_t
lock_length(const config &c, uint32_t n) noexcept
{
    int64_t len = c.lock;

    for (uint32_t i = 1; i < n && len < c.lock_max; i++) {
        len *= 2;
    }

    return std::min(len, c.lock_max);
}

answer
check(const config &c, const state &s, int64_t now) noexcept
{
    if (now < s.locked_until) {
        return {true, 0, s.locked_until - now};
    }

    return {false, c.tries > s.fails ? c.tries - s.fails : 0, 0};
}

answer
wrong(const config &c, state &s, int64_t now) noexcept
{
    if (s.fails < 255) {
        s.fails++;
    }

    if (s.fails < c.tries) {
        return {false, c.tries - s.fails, 0};
    }

    if (s.locks < 255) {
        s.locks++;
    }

    s.fails = 0;
    s.locked_until = now + lock_length(c, s.locks);

    return {true, 0, s.locked_until - now};
}

}  // namespace webcall::pin_throttle
