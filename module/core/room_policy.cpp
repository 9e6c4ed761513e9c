// Room lifetime rules; see room_policy.h for the model.
#include "room_policy.h"

#include <algorithm>

namespace webcall::room_policy {

record
create(const limits &l, int64_t issued, int64_t now) noexcept
{
    record r{};

    r.created = now;
    r.last_visit = now;
    r.valid_until = std::max(valid_until_without_record(l, issued),
                             now + l.ttl);
    return r;
}

void
visit(const limits &l, record &r, int64_t now) noexcept
{
    r.last_visit = std::max(r.last_visit, now);
    r.valid_until = std::max(r.valid_until, now + l.ttl);
}

int64_t
valid_until_without_record(const limits &l, int64_t issued) noexcept
{
    return issued + l.ttl;
}

bool
link_valid(const record &r, int64_t now) noexcept
{
    return r.participants > 0 || now < r.valid_until;
}

int64_t
reclaim_at(const limits &l, const record &r) noexcept
{
    if (r.participants > 0) {
        return 0;
    }

    if (r.entered) {
        return r.valid_until;
    }

    return std::min(r.last_visit + l.empty_ttl, r.valid_until);
}

queue
queue_of(const record &r) noexcept
{
    if (r.participants > 0) {
        return queue::none;
    }

    return r.entered ? queue::used : queue::fresh;
}

}  // namespace webcall::room_policy
