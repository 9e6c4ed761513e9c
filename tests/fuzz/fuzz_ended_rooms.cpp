// The ended-rooms file's line parser: never reads past the line, and what
// it accepts is exactly the canonical line format() writes (so a line read
// at start means one thing only).
#include "ended_rooms.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace webcall;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view line(reinterpret_cast<const char*>(data), size);
    ended_rooms::entry e{};
    if (!ended_rooms::parse(line, &e))
        return 0;
    char out[ended_rooms::line_max];
    size_t n = ended_rooms::format(e, out, sizeof(out));
    if (n != size + 1 || std::memcmp(out, data, size) != 0 || out[size] != '\n')
        abort();
    return 0;
}
