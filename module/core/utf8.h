// Strict UTF-8 validation (RFC 3629) for WebSocket text messages and close
// reasons, usable incrementally because frames split code points anywhere.
#pragma once

#include <cstddef>
#include <cstdint>

namespace webcall::utf8 {

// Incremental validator: bytes may be split anywhere across chunks.
struct validator {
    uint32_t state = 0;   // 0 = accept (at a code point boundary)

    // False as soon as any byte so far is invalid, and from then on.
    // Overlong forms, surrogates and code points above U+10FFFF are invalid.
    bool feed(const uint8_t *p, size_t n) noexcept;
    // True iff no partial sequence is pending.
    bool complete() const noexcept;
};

// The whole buffer is valid UTF-8 and ends at a code point boundary.
bool valid(const uint8_t *p, size_t n) noexcept;

}  // namespace webcall::utf8
