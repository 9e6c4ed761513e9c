#include "client_key.h"

#include <cstring>

namespace webcall::client_key {

size_t of(const uint8_t *addr, bool family_v6, uint8_t out[max_len]) noexcept
{
    static constexpr uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0,
                                              0, 0, 0, 0, 0xff, 0xff};

    if (!family_v6) {
        std::memcpy(out, addr, 4);
        return 4;
    }
    if (std::memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0) {
        std::memcpy(out, addr + 12, 4);
        return 4;
    }
    std::memcpy(out, addr, 8);
    return 8;
}

}  // namespace webcall::client_key
