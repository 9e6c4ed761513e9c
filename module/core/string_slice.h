// std::string_view::substr without its std::out_of_range: the module is
// built with -fno-exceptions, and a throw from libstdc++ through an nginx
// frame would abort the worker. A position past the end clamps to the end.
#pragma once

#include <cstddef>
#include <string_view>

namespace webcall {

// s from pos, at most n characters.
constexpr std::string_view
slice(std::string_view s, size_t pos,
      size_t n = std::string_view::npos) noexcept
{
    if (pos > s.size()) {
        pos = s.size();
    }
    if (n > s.size() - pos) {
        n = s.size() - pos;
    }
    return std::string_view(s.data() + pos, n);
}

}  // namespace webcall
