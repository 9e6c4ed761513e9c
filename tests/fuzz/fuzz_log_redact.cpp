// libFuzzer: whatever URI comes in, the redacted one is no longer, holds no
// token-like run, and is the input itself when it held none.
#include "log_redact.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

using namespace webcall::log_redact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string out(size, '\0');
    size_t n = redact(in, out.data(), out.size());
    if (size > 0 && n == 0)
        std::abort();
    if (n > size)
        std::abort();
    out.resize(n);
    if (!find_token(out).empty())
        std::abort();
    if (find_token(in).empty() && out != in)
        std::abort();
    return 0;
}
