// Room token mint and verify with OpenSSL's HMAC-SHA256 and RAND_bytes.
#include "room_token.h"

#include "base58.h"
#include "big_endian.h"

#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace webcall::room_token {

namespace {

constexpr std::string_view key_label = "webcall room token key v1";
constexpr std::string_view mac_label = "webcall room v1";
constexpr std::string_view owner_label = "webcall room owner v1";
constexpr std::string_view pin_label = "webcall room pin v1";
constexpr std::string_view pass_label = "webcall room pass v1";
constexpr size_t           signed_len = raw_len - mac_len;
constexpr size_t           pin_mac_len = mac_len - pin_tag_len;

bool
hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a,
            size_t a_len, const uint8_t *b, size_t b_len,
            uint8_t out[32]) noexcept
{
    uint8_t      buf[64];
    unsigned int out_len = 0;

    if (a_len + b_len > sizeof(buf)) {
        return false;
    }

    std::memcpy(buf, a, a_len);
    std::memcpy(buf + a_len, b, b_len);

    return HMAC(EVP_sha256(), key, static_cast<int>(key_len), buf,
                a_len + b_len, out, &out_len) != nullptr
           && out_len == 32;
}

/* A PIN room's MAC also covers its PIN tag, the bytes after signed_len. */
bool
compute_mac(const key &k, const uint8_t raw[raw_len], bool pin,
            uint8_t mac[32]) noexcept
{
    return hmac_sha256(k.bytes, sizeof(k.bytes),
                       reinterpret_cast<const uint8_t *>(mac_label.data()),
                       mac_label.size(), raw,
                       pin ? signed_len + pin_tag_len : signed_len, mac);
}

bool
compute_pin_tag(const key &k, const uint8_t id[id_len], std::string_view pin,
                uint8_t tag[pin_tag_len]) noexcept
{
    uint8_t buf[id_len + pin_max];
    uint8_t mac[32];

    if (!pin_valid(pin)) {
        return false;
    }

    std::memcpy(buf, id, id_len);
    std::memcpy(buf + id_len, pin.data(), pin.size());

    if (!hmac_sha256(k.bytes, sizeof(k.bytes),
                     reinterpret_cast<const uint8_t *>(pin_label.data()),
                     pin_label.size(), buf, id_len + pin.size(), mac))
    {
        return false;
    }

    std::memcpy(tag, mac, pin_tag_len);
    return true;
}

}  // namespace

bool
pin_valid(std::string_view pin) noexcept
{
    if (pin.size() < pin_min || pin.size() > pin_max) {
        return false;
    }

    for (char c : pin) {
        if (c < '0' || c > '9') {
            return false;
        }
    }

    return true;
}

key
derive_key(const uint8_t *secret, size_t len) noexcept
{
    key     k{};
    uint8_t out[32];

    /* HMAC accepts keys of any length; the label is the message */
    if (HMAC(EVP_sha256(), secret, static_cast<int>(len),
             reinterpret_cast<const uint8_t *>(key_label.data()),
             key_label.size(), out, nullptr) != nullptr)
    {
        std::memcpy(k.bytes, out, sizeof(k.bytes));
    }

    OPENSSL_cleanse(out, sizeof(out));
    return k;
}

size_t
encode(const key &k, const room &r, char *out, size_t cap) noexcept
{
    uint8_t raw[raw_len];
    uint8_t mac[32];

    if (cap < text_max || (r.max_participants & (one_time_bit | pin_bit))) {
        return 0;
    }

    raw[0] = version;
    raw[1] = r.max_participants | (r.one_time ? one_time_bit : 0)
             | (r.pin ? pin_bit : 0);
    put_u32(raw + 2, r.issued);
    std::memcpy(raw + 6, r.id, id_len);
    std::memset(raw + signed_len, 0, mac_len);
    if (r.pin) {
        std::memcpy(raw + signed_len, r.pin_tag, pin_tag_len);
    }

    if (!compute_mac(k, raw, r.pin, mac)) {
        return 0;
    }

    if (r.pin) {
        std::memcpy(raw + signed_len + pin_tag_len, mac, pin_mac_len);
    } else {
        std::memcpy(raw + signed_len, mac, mac_len);
    }

    return base58::encode(raw, raw_len, out, cap);
}

size_t
mint_with(const key &k, const uint8_t id[id_len], uint8_t max_participants,
          uint32_t now, char *out, size_t cap, room *r, bool one_time,
          std::string_view pin) noexcept
{
    room    made{};
    size_t  len;

    std::memcpy(made.id, id, id_len);
    made.max_participants = max_participants;
    made.issued = now;
    made.one_time = one_time;
    made.pin = !pin.empty();

    if (made.pin && !compute_pin_tag(k, id, pin, made.pin_tag)) {
        return 0;
    }

    len = encode(k, made, out, cap);

    if (len != 0 && r != nullptr) {
        *r = made;
    }

    return len;
}

size_t
mint(const key &k, uint8_t max_participants, uint32_t now, char *out,
     size_t cap, room *r, bool one_time, std::string_view pin) noexcept
{
    uint8_t id[id_len];

    if (RAND_bytes(id, sizeof(id)) != 1) {
        return 0;
    }

    return mint_with(k, id, max_participants, now, out, cap, r, one_time,
                     pin);
}

verdict
verify(const key &k, std::string_view text, room *r) noexcept
{
    uint8_t raw[raw_len];
    uint8_t mac[32];
    char    canonical[text_max];
    size_t  len;
    bool    pin;

    if (text.size() < 40 || text.size() > text_max
        || !base58::decode_fixed(text, raw, raw_len))
    {
        return verdict::malformed;
    }

    /* one token, one text: extra leading '1's would decode to the same bytes */
    len = base58::encode(raw, raw_len, canonical, sizeof(canonical));
    if (len != text.size() || std::memcmp(canonical, text.data(), len) != 0) {
        return verdict::malformed;
    }

    /* the flag picks how the MAC bytes are read; flipping it breaks the
     * MAC either way */
    pin = (raw[1] & pin_bit) != 0;

    if (raw[0] != version || !compute_mac(k, raw, pin, mac)
        || CRYPTO_memcmp(mac, raw + raw_len - (pin ? pin_mac_len : mac_len),
                         pin ? pin_mac_len : mac_len) != 0)
    {
        return verdict::forged;
    }

    if (r != nullptr) {
        r->max_participants = raw[1] & (uint8_t) ~(one_time_bit | pin_bit);
        r->one_time = (raw[1] & one_time_bit) != 0;
        r->pin = pin;
        r->issued = get_u32(raw + 2);
        std::memcpy(r->id, raw + 6, id_len);
        std::memset(r->pin_tag, 0, pin_tag_len);
        if (pin) {
            std::memcpy(r->pin_tag, raw + signed_len, pin_tag_len);
        }
    }

    return verdict::ok;
}

namespace {

/* A 128-bit key of the room under label: the owner key, the pass. */
bool
room_key_bytes(const key &k, std::string_view label,
               const uint8_t id[id_len], uint8_t out[owner_len]) noexcept
{
    uint8_t mac[32];

    if (!hmac_sha256(k.bytes, sizeof(k.bytes),
                     reinterpret_cast<const uint8_t *>(label.data()),
                     label.size(), id, id_len, mac))
    {
        return false;
    }

    std::memcpy(out, mac, owner_len);
    return true;
}

size_t
room_key_text(const key &k, std::string_view label, const uint8_t id[id_len],
              char *out, size_t cap) noexcept
{
    uint8_t bytes[owner_len];

    if (!room_key_bytes(k, label, id, bytes)) {
        return 0;
    }

    return base58::encode(bytes, owner_len, out, cap);
}

bool
room_key_matches(const key &k, std::string_view label,
                 const uint8_t id[id_len], std::string_view text) noexcept
{
    uint8_t want[owner_len], got[owner_len];

    if (text.size() > owner_text_max
        || !base58::decode_fixed(text, got, owner_len)
        || !room_key_bytes(k, label, id, want))
    {
        return false;
    }

    return CRYPTO_memcmp(want, got, owner_len) == 0;
}

}  // namespace

size_t
owner_key(const key &k, const uint8_t id[id_len], char *out,
          size_t cap) noexcept
{
    return room_key_text(k, owner_label, id, out, cap);
}

bool
owner_matches(const key &k, const uint8_t id[id_len],
              std::string_view text) noexcept
{
    return room_key_matches(k, owner_label, id, text);
}

bool
pin_matches(const key &k, const room &r, std::string_view pin) noexcept
{
    uint8_t tag[pin_tag_len];

    return r.pin && compute_pin_tag(k, r.id, pin, tag)
           && CRYPTO_memcmp(tag, r.pin_tag, pin_tag_len) == 0;
}

size_t
pass_key(const key &k, const uint8_t id[id_len], char *out,
         size_t cap) noexcept
{
    return room_key_text(k, pass_label, id, out, cap);
}

bool
pass_matches(const key &k, const uint8_t id[id_len],
             std::string_view text) noexcept
{
    return room_key_matches(k, pass_label, id, text);
}

}  // namespace webcall::room_token
