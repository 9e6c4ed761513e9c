// What the fuzzers that drive a sequence share: a trap that libFuzzer
// reports as a crash, and the input read as a stream of bytes (zeros once
// it runs out, so every input is a whole run).
#pragma once

#include <cstddef>
#include <cstdint>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

namespace webcall::fuzz {

struct input {
    const uint8_t *p;
    size_t         left;

    uint8_t next() noexcept
    {
        if (left == 0) {
            return 0;
        }
        left--;
        return *p++;
    }

    uint32_t next_u32() noexcept
    {
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
            v = (v << 8) | next();
        }
        return v;
    }
};

// The fuzzers of two modes: the first byte picks one, even or odd, which
// reads the rest of the input.
template <typename Even, typename Odd>
int
by_first_byte(const uint8_t *data, size_t size, Even even, Odd odd) noexcept
{
    input in{data, size};

    if (size == 0) {
        return 0;
    }

    if ((in.next() & 1) == 0) {
        even(in);
    } else {
        odd(in);
    }

    return 0;
}

}  // namespace webcall::fuzz
