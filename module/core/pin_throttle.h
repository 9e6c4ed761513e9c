// The PIN guard's attempt limit: how many wrong PINs a room takes before it
// stops listening for a while, and for how long. Pure arithmetic on unix
// seconds; the state lives in the room's record in the shared zone.
//
// Counting is per room, never per address, so spreading guesses over many
// addresses gains nothing. After `tries` wrong PINs the room is locked for
// `lock` seconds; each further lock lasts twice as long as the one before,
// up to `lock_max`. While locked, every PIN is refused unchecked (the right
// one too: otherwise guessing would go on, only with the answers withheld).
#pragma once

#include <cstdint>

namespace webcall::pin_throttle {

struct config {
    uint32_t tries;       /* wrong PINs before a lock, 1..100 */
    int64_t  lock;        /* seconds of the first lock */
    int64_t  lock_max;    /* the longest lock */
};

struct state {
    int64_t locked_until; /* unix seconds; 0: never locked */
    uint8_t fails;        /* wrong PINs since the last lock */
    uint8_t locks;        /* locks so far, which set the next one's length */
};

struct answer {
    bool     locked;      /* refuse without checking the PIN */
    uint32_t tries_left;  /* wrong PINs still allowed before the next lock */
    int64_t  retry_after; /* seconds until the lock ends, when locked */
};

// Whether a PIN may be checked now.
answer check(const config &c, const state &s, int64_t now) noexcept;

// A wrong PIN was given (after check() allowed it). The answer says what
// is left; locked when this one used up the last try.
answer wrong(const config &c, state &s, int64_t now) noexcept;

// How long the n-th lock (1, 2, ...) lasts.
int64_t lock_length(const config &c, uint32_t n) noexcept;

}  // namespace webcall::pin_throttle
