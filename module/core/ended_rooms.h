// The ended-rooms file (webcall_ended_file): one line per room ended by its
// host or used up as a one-time link, appended by the worker that ended it
// and read back when a zone starts empty (a restart), so an ended link stays
// dead. A line is "<room id, 32 hex digits> <unix time the link would have
// expired> <why>\n"; past that time the link is dead anyway and the line is
// dropped when the file is next rewritten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "room_token.h"

namespace webcall::ended_rooms {

enum class reason : uint8_t { host, one_time };

struct entry {
    uint8_t  id[room_token::id_len];
    int64_t  until;
    reason   why;
};

// The longest line, newline included.
constexpr size_t line_max = 2 * room_token::id_len + 1 + 20 + 1 + 8 + 1;

// Writes the line of e, newline included; returns its length (0 if cap is
// too small).
size_t format(const entry &e, char *out, size_t cap) noexcept;

// Reads one line (without its newline). False for anything else: a torn
// last line after a crash, a line edited by hand.
bool parse(std::string_view line, entry *e) noexcept;

}  // namespace webcall::ended_rooms
