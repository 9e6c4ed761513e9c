// Lines of the ended-rooms file: fixed fields, strict parse.
#include "ended_rooms.h"

#include "string_slice.h"
#include <charconv>
#include <cstring>

namespace webcall::ended_rooms {

namespace {

constexpr char hex[] = "0123456789abcdef";

std::string_view
name_of(reason r) noexcept
{
    return r == reason::host ? "host" : "one-time";
}

int
nibble(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

}  // namespace

size_t
format(const entry &e, char *out, size_t cap) noexcept
{
    char   buf[line_max];
    char  *p = buf;

    for (uint8_t b : e.id) {
        *p++ = hex[b >> 4];
        *p++ = hex[b & 15];
    }
    *p++ = ' ';
    auto [end, ec] = std::to_chars(p, buf + sizeof(buf), e.until);
    if (ec != std::errc()) {
        return 0;
    }
    p = end;
    *p++ = ' ';
    std::string_view why = name_of(e.why);
    std::memcpy(p, why.data(), why.size());
    p += why.size();
    *p++ = '\n';

    size_t len = (size_t) (p - buf);
    if (len > cap) {
        return 0;
    }
    std::memcpy(out, buf, len);
    return len;
}

bool
parse(std::string_view line, entry *e) noexcept
{
    constexpr size_t id_hex = 2 * room_token::id_len;

    if (line.size() < id_hex + 2 || line[id_hex] != ' ') {
        return false;
    }
    for (size_t i = 0; i < room_token::id_len; ++i) {
        int hi = nibble(line[2 * i]), lo = nibble(line[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        e->id[i] = (uint8_t) (hi << 4 | lo);
    }

    std::string_view rest = slice(line, id_hex + 1);
    size_t space = rest.find(' ');
    if (space == std::string_view::npos || space == 0
        || rest[0] < '0' || rest[0] > '9' || (rest[0] == '0' && space > 1))
    {
        return false;
    }
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + space,
                                     e->until);
    if (ec != std::errc() || end != rest.data() + space || e->until < 0) {
        return false;
    }

    std::string_view why = slice(rest, space + 1);
    if (why == name_of(reason::host)) {
        e->why = reason::host;
    } else if (why == name_of(reason::one_time)) {
        e->why = reason::one_time;
    } else {
        return false;
    }
    return true;
}

}  // namespace webcall::ended_rooms
