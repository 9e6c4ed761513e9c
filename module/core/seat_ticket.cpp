// Seat tickets, minted and checked with OpenSSL's HMAC-SHA256.
#include "seat_ticket.h"

#include "base58.h"
#include "big_endian.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace webcall::seat_ticket {

namespace {

constexpr std::string_view label = "webcall seat ticket v1";
constexpr size_t           signed_len = raw_len - mac_len;
constexpr size_t           room_id_len = room_token::id_len;

static_assert(base58::max_encoded_len(raw_len) == text_len);

/* HMAC(k, label | ticket fields | room id | resume secret) */
bool
compute_mac(const room_token::key &k, const uint8_t raw[raw_len],
            const uint8_t room_id[room_id_len],
            const uint8_t resume[secret_len], uint8_t mac[32]) noexcept
{
    uint8_t       buf[label.size() + signed_len + room_id_len + secret_len];
    uint8_t      *p = buf;
    unsigned int  len = 0;
    bool          ok;

    std::memcpy(p, label.data(), label.size());
    p += label.size();
    std::memcpy(p, raw, signed_len);
    p += signed_len;
    std::memcpy(p, room_id, room_id_len);
    p += room_id_len;
    std::memcpy(p, resume, secret_len);

    ok = HMAC(EVP_sha256(), k.bytes, sizeof(k.bytes), buf, sizeof(buf), mac,
              &len) != nullptr
         && len == 32;

    OPENSSL_cleanse(buf, sizeof(buf));
    return ok;
}

bool
valid_id(const uint8_t *id) noexcept
{
    for (size_t i = 0; i < id_len; i++) {
        if (!base58::is_char(static_cast<char>(id[i]))) {
            return false;
        }
    }
    return true;
}

/* layout: version | room tag | seat | peer id | serial | expiry | MAC */
constexpr size_t at_tag = 1;
constexpr size_t at_seat = at_tag + room_tag_len;
constexpr size_t at_id = at_seat + 1;
constexpr size_t at_serial = at_id + id_len;
constexpr size_t at_expires = at_serial + 4;
constexpr size_t at_mac = at_expires + 4;

static_assert(at_mac == signed_len);

}  // namespace

size_t
mint(const room_token::key &k, const uint8_t room_id[16], const claim &c,
     const uint8_t resume[secret_len], char *out, size_t cap) noexcept
{
    uint8_t raw[raw_len];
    uint8_t mac[32];
    size_t  n;

    if (cap < text_len || !valid_id(c.id)) {
        return 0;
    }

    raw[0] = version;
    std::memcpy(raw + at_tag, room_id, room_tag_len);
    raw[at_seat] = c.seat;
    std::memcpy(raw + at_id, c.id, id_len);
    put_u32(raw + at_serial, c.serial);
    put_u32(raw + at_expires, c.expires);

    if (!compute_mac(k, raw, room_id, resume, mac)) {
        return 0;
    }
    std::memcpy(raw + at_mac, mac, mac_len);

    n = base58::encode(raw, raw_len, out, cap);
    if (n == 0 || n > text_len) {
        return 0;
    }

    /* always text_len characters: leading '1's are zero digits */
    if (n < text_len) {
        std::memmove(out + (text_len - n), out, n);
        std::memset(out, '1', text_len - n);
    }

    return text_len;
}

verdict
verify(const room_token::key &k, const uint8_t room_id[16],
       const uint8_t resume[secret_len], std::string_view text, uint32_t now,
       claim *c) noexcept
{
    uint8_t raw[raw_len];
    uint8_t mac[32];
    bool    same;

    if (text.size() != text_len
        || !base58::decode_fixed(text, raw, raw_len)
        || raw[0] != version
        || !valid_id(raw + at_id))
    {
        return verdict::malformed;
    }

    if (std::memcmp(raw + at_tag, room_id, room_tag_len) != 0) {
        return verdict::other_room;
    }

    if (!compute_mac(k, raw, room_id, resume, mac)) {
        return verdict::forged;
    }

    same = CRYPTO_memcmp(mac, raw + at_mac, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!same) {
        return verdict::forged;
    }

    if (get_u32(raw + at_expires) <= now) {
        return verdict::expired;
    }

    if (c == nullptr) {
        return verdict::ok;
    }

    std::memcpy(c->id, raw + at_id, id_len);
    c->seat = raw[at_seat];
    c->serial = get_u32(raw + at_serial);
    c->expires = get_u32(raw + at_expires);
    return verdict::ok;
}

std::string_view
code(verdict v) noexcept
{
    switch (v) {
    case verdict::ok:         return "ok";
    case verdict::malformed:  return "malformed";
    case verdict::other_room: return "other-room";
    case verdict::forged:     return "forged";
    case verdict::expired:    return "expired";
    }
    return "malformed";
}

std::string_view
describe(verdict v) noexcept
{
    switch (v) {
    case verdict::ok:
        return "seat restored";
    case verdict::malformed:
        return "the seat ticket is not one: joined as a new participant";
    case verdict::other_room:
        return "the seat ticket is for another room: joined as a new "
               "participant";
    case verdict::forged:
        return "the seat ticket does not match its room, resume secret or "
               "server secret: joined as a new participant";
    case verdict::expired:
        return "the seat ticket has expired: joined as a new participant";
    }
    return "";
}

}  // namespace webcall::seat_ticket
