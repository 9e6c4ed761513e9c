// The key per-client limits count by: an IPv4 address, or the /64 of an
// IPv6 address (one home, one phone or one VM usually gets a whole /64, so
// counting single IPv6 addresses would let one client be millions).
#pragma once

#include <cstddef>
#include <cstdint>

namespace webcall::client_key {

inline constexpr size_t max_len = 8;

// addr: 4 bytes (family_v6 false) or 16 bytes (true), network order.
// Writes the key into out (max_len bytes) and returns its length: the 4
// bytes of an IPv4 address (also for an IPv4-mapped IPv6 one, ::ffff:a.b.c.d,
// so a dual-stack listener counts a client once), else the first 8 bytes.
size_t of(const uint8_t *addr, bool family_v6, uint8_t out[max_len]) noexcept;

}  // namespace webcall::client_key
