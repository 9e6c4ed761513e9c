// How long a room and its link live. Pure arithmetic on unix seconds, shared
// by the zone (which reclaims records) and the API (which answers expiresAt).
//
// A link is valid for ttl after its last visit (creation, a look-up, a join,
// a leave). The zone keeps a record per room to remember visits and seats.
// A room nobody has entered needs no record to be valid (the token proves
// it), so its record goes after empty_ttl, and then the link lives ttl from
// its creation. A room that has been entered keeps its record until the link
// expires, so every visit extends it.
#pragma once

#include <cstdint>

namespace webcall::room_policy {

struct limits {
    int64_t ttl;          /* seconds a link lives after the last visit */
    int64_t empty_ttl;    /* seconds the record of a never-entered room stays */
};

struct record {
    int64_t  created;
    int64_t  last_visit;
    int64_t  valid_until;
    uint32_t participants;
    bool     entered;     /* somebody has joined at least once */
};

enum class queue { none, fresh, used };

// A fresh record for a room first seen now.
record create(const limits &l, int64_t issued, int64_t now) noexcept;

// A visit: the link now lives at least ttl from now.
void visit(const limits &l, record &r, int64_t now) noexcept;

// The link's end when the zone has no record of the room.
int64_t valid_until_without_record(const limits &l, int64_t issued) noexcept;

bool link_valid(const record &r, int64_t now) noexcept;

// When the zone may drop the record; 0 while somebody is in the room.
int64_t reclaim_at(const limits &l, const record &r) noexcept;

// Which expiry queue holds the record. Each queue is ordered by last visit
// and every record in it has the same lifetime, so its tail is always the
// first to expire (what lets reclaiming look at the tail only).
queue queue_of(const record &r) noexcept;

}  // namespace webcall::room_policy
