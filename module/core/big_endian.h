// Fixed-width integers in network byte order, for the binary fields of
// room tokens and seat tickets (both are bytes under base58).
#pragma once

#include <cstdint>

namespace webcall {

constexpr void
put_u32(uint8_t *p, uint32_t v) noexcept
{
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

constexpr uint32_t
get_u32(const uint8_t *p) noexcept
{
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
           | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace webcall
