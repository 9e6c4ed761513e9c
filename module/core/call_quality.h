// The buckets of the call-quality histograms that the callers' beacons
// feed (webcall_call_setup_seconds, webcall_call_recovery_seconds), in
// seconds. Setup: the product's budget is 5 s and its p80 target 3 s, so
// the buckets are fine below and around those. Recovery: a reload comes
// back in 1-3 s, a network change in a few, an outage in tens.
#pragma once

#include <cstddef>

namespace webcall::quality {

inline constexpr double setup_bounds[] = {0.5, 1, 1.5, 2, 3, 5, 10, 20, 30,
                                          60};
inline constexpr double recovery_bounds[] = {1, 2, 3, 5, 10, 15, 20, 30, 60,
                                             120};
inline constexpr size_t buckets = 10;

static_assert(sizeof(setup_bounds) / sizeof(setup_bounds[0]) == buckets);
static_assert(sizeof(recovery_bounds) / sizeof(recovery_bounds[0])
              == buckets);

}  // namespace webcall::quality
