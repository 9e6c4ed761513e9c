// Strict UTF-8 validator as a small state machine, so a code point split
// across WebSocket frames or reads is checked without buffering.
#include "utf8.h"

#include <cstring>

namespace webcall::utf8 {
namespace {

// States between 1 and 7 mean "inside a sequence"; each restricts the next
// byte. The tight ranges after E0, ED, F0 and F4 are what reject overlongs,
// surrogates and code points above U+10FFFF (RFC 3629 section 4).
constexpr uint32_t accept = 0;
constexpr uint32_t reject = 8;

struct next_byte {
    uint8_t lo, hi;
    uint32_t then;
};

constexpr next_byte expected[reject] = {
    {0x00, 0x00, reject},   // accept: handled by lead()
    {0x80, 0xBF, 0},        // last continuation byte
    {0x80, 0xBF, 1},        // two to go
    {0x80, 0xBF, 2},        // three to go
    {0xA0, 0xBF, 1},        // after E0: no overlong 3-byte forms
    {0x80, 0x9F, 1},        // after ED: no surrogates
    {0x90, 0xBF, 2},        // after F0: no overlong 4-byte forms
    {0x80, 0x8F, 2},        // after F4: nothing above U+10FFFF
};

constexpr uint32_t lead(uint8_t b) noexcept
{
    if (b < 0x80) return accept;
    if (b < 0xC2) return reject;   // stray continuation, or overlong C0/C1
    if (b < 0xE0) return 1;
    if (b == 0xE0) return 4;
    if (b == 0xED) return 5;
    if (b < 0xF0) return 2;
    if (b == 0xF0) return 6;
    if (b < 0xF4) return 3;
    if (b == 0xF4) return 7;
    return reject;                 // F5..FF never appear in UTF-8
}

constexpr uint32_t advance(uint32_t s, uint8_t b) noexcept
{
    if (s == accept) return lead(b);
    const next_byte &e = expected[s];
    return b >= e.lo && b <= e.hi ? e.then : reject;
}

}  // namespace

bool validator::feed(const uint8_t *p, size_t n) noexcept
{
    // The state is public, so treat anything out of range as invalid.
    if (state >= reject) {
        state = reject;
        return false;
    }
    size_t i = 0;
    while (i < n) {
        // between characters, a run of ASCII is eight bytes at a time
        if (state == accept) {
            while (i + 8 <= n) {
                uint64_t w;
                std::memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull) break;
                i += 8;
            }
            if (i == n) break;
        }
        state = advance(state, p[i++]);
        if (state == reject) return false;
    }
    return true;
}

bool validator::complete() const noexcept
{
    return state == accept;
}

bool valid(const uint8_t *p, size_t n) noexcept
{
    validator v;
    return v.feed(p, n) && v.complete();
}

}  // namespace webcall::utf8
