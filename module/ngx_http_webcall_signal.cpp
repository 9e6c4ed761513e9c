/*
 * webcall: the signaling protocol of webcall_signal (join, relay, bye,
 * ice-servers, beacons) on top of the WebSocket transport
 * (ngx_http_webcall_ws.cpp), which hands it whole messages. Messages are
 * checked by core/signal_msg, seats live in the zone
 * (ngx_http_webcall_seat.cpp) and frames for other workers go through
 * ngx_http_webcall_ipc.cpp. Relayed frames are built in the transport's
 * per-process scratch buffer: no per-message allocation.
 */

#include "ngx_http_webcall_ws.h"

#include "base58.h"
#include "seat_ticket.h"
#include "signal_msg.h"
#include "call_quality.h"
#include "prom_text.h"
#include "turn_credentials.h"

#include <openssl/rand.h>


namespace sig = webcall::signal;
namespace seat_ticket = webcall::seat_ticket;


#define NGX_HTTP_WEBCALL_REPLY       2048


static ngx_int_t ngx_http_webcall_signal_room(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, webcall::room_token::room *room)
    noexcept;
static void ngx_http_webcall_signal_open(ngx_http_webcall_session_t *s,
    void *data) noexcept;
static void ngx_http_webcall_signal_closed(ngx_http_webcall_session_t *s)
    noexcept;
static ngx_int_t ngx_http_webcall_signal_tick(ngx_http_webcall_session_t *s)
    noexcept;
static void ngx_http_webcall_signal_kick(ngx_http_webcall_session_t *s,
    uint16_t code) noexcept;
static void ngx_http_webcall_signal_rate_limited(
    ngx_http_webcall_session_t *s) noexcept;
static void ngx_http_webcall_signal_gone(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_change_t *ch, ngx_log_t *log) noexcept;
static size_t ngx_http_webcall_frame_peer_left(u_char *out, size_t cap,
    const u_char *id) noexcept;
static void ngx_http_webcall_message(ngx_http_webcall_session_t *s,
    ngx_uint_t is_text, std::string_view text) noexcept;
static void ngx_http_webcall_join(ngx_http_webcall_session_t *s,
    const sig::client_msg &m) noexcept;
static void ngx_http_webcall_relay(ngx_http_webcall_session_t *s,
    const sig::client_msg &m, std::string_view text) noexcept;
static void ngx_http_webcall_bye(ngx_http_webcall_session_t *s) noexcept;
static void ngx_http_webcall_beacon(ngx_http_webcall_session_t *s,
    const sig::beacon &b) noexcept;
static void ngx_http_webcall_refresh_ice(ngx_http_webcall_session_t *s)
    noexcept;
static void ngx_http_webcall_cannot_call(ngx_http_webcall_session_t *s,
    const sig::client_msg &m) noexcept;
static ngx_http_webcall_main_conf_t *ngx_http_webcall_wmcf(void) noexcept;
static ngx_int_t ngx_http_webcall_keep_ice_urls(
    ngx_http_webcall_session_t *s) noexcept;
static std::string_view ngx_http_webcall_ice_servers(
    ngx_http_webcall_session_t *s, std::string_view peer, char *out,
    size_t cap) noexcept;
static void ngx_http_webcall_tell(ngx_http_webcall_session_t *s,
    ngx_http_webcall_change_t *ch, const u_char *frame, size_t len) noexcept;
static void ngx_http_webcall_send_error(ngx_http_webcall_session_t *s,
    sig::error e, std::string_view message = "") noexcept;


static const ngx_http_webcall_ws_events_t  ngx_http_webcall_signal_events = {
    ngx_http_webcall_signal_open,
    ngx_http_webcall_message,
    ngx_http_webcall_signal_rate_limited,
    ngx_http_webcall_signal_tick,
    ngx_http_webcall_signal_kick,
    ngx_http_webcall_signal_closed
};


/* Registers what the housekeeping tick calls (ngx_http_webcall_ipc.cpp),
 * so that the part that delivers between workers builds no message. */
void
ngx_http_webcall_signal_init(void) noexcept
{
    ngx_http_webcall_ipc_set_gone_hook(ngx_http_webcall_signal_gone);
}


ngx_int_t
ngx_http_webcall_session_peer(ngx_http_request_t *r, ngx_str_t *id) noexcept
{
    ngx_http_webcall_session_t  *s;

    s = (ngx_http_webcall_session_t *)
            ngx_http_get_module_ctx(r, ngx_http_webcall_module);
    if (s == NULL || !s->joined) {
        return NGX_DECLINED;
    }

    id->data = s->peer_id;
    id->len = NGX_HTTP_WEBCALL_PEER_ID;

    return NGX_OK;
}


static size_t
ngx_http_webcall_frame_peer_left(u_char *out, size_t cap, const u_char *id)
    noexcept
{
    char    text[128];
    size_t  len;

    len = sig::build_peer_left(text, sizeof(text),
                               std::string_view((const char *) id,
                                                NGX_HTTP_WEBCALL_PEER_ID));
    return ngx_http_webcall_ws_frame(out, cap, text, len);
}


ngx_int_t
ngx_http_webcall_signal_handler(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_loc_conf_t  *conf;
    webcall::room_token::room     room;
    char                          accept[webcall::ws::accept_len];
    ngx_int_t                     rc;

    conf = (ngx_http_webcall_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_webcall_module);

    /* everything that can refuse the connection is checked before the
     * 101: the request's shape, the Origin, and the room */
    rc = ngx_http_webcall_ws_handshake(r, conf, accept);
    if (rc == NGX_OK) {
        rc = ngx_http_webcall_signal_room(r, conf, &room);
    }

    if (rc != NGX_OK) {
        return ngx_http_webcall_ws_refused(r, rc);
    }

    return ngx_http_webcall_ws_start(r, conf, accept,
                                     &ngx_http_webcall_signal_events, &room);
}


/* The room of /ws/<token>: genuine, and neither expired nor ended. */
static ngx_int_t
ngx_http_webcall_signal_room(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, webcall::room_token::room *room)
    noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_webcall_room_info_t   info;
    std::string_view               token;
    u_char                        *p, *last;

    /* the token is the last path segment: /ws/<token> */
    last = r->uri.data + r->uri.len;
    for (p = last; p > r->uri.data && p[-1] != '/'; p--) { /* void */ }
    token = std::string_view((const char *) p, last - p);

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    switch (webcall::room_token::verify(wmcf->token_key, token, room)) {
    case webcall::room_token::verdict::malformed:
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                                          "the room token is malformed");
    case webcall::room_token::verdict::forged:
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_NOT_FOUND,
                                          "the room token is not genuine");
    case webcall::room_token::verdict::ok:
        break;
    }

    switch (ngx_http_webcall_room_visit(conf->signal_zone, room, &info)) {
    case NGX_OK:
        break;
    case NGX_ABORT:
        return ngx_http_webcall_ws_refuse(r, 410,
                                          "the room was ended by its host");
    default:
        return ngx_http_webcall_ws_refuse(r, NGX_HTTP_NOT_FOUND,
                                          "the room has expired");
    }

    return NGX_OK;
}


static void
ngx_http_webcall_signal_open(ngx_http_webcall_session_t *s, void *data)
    noexcept
{
    ngx_http_request_t  *r = s->request;

    s->room = *(webcall::room_token::room *) data;

    webcall::log_redact::fingerprint(
        webcall::log_redact::find_token(std::string_view(
            (const char *) r->uri.data, r->uri.len)), (char *) s->room_fp);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webcall: WebSocket open, room %*s",
                   sizeof(s->room_fp), s->room_fp);
}


/* The connection is over: without "bye" the seat waits out its grace. */
static void
ngx_http_webcall_signal_closed(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_webcall_change_t  ch;

    if (s->joined && !s->left) {
        ngx_memzero(&ch, sizeof(ch));
        ngx_http_webcall_seat_leave(s->zone, &s->room, s->seat,
                                    s->node.key, 0, &ch);
    }

    ngx_free(s->ice_urls);
    s->ice_urls = NULL;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "webcall: WebSocket closed, room %*s, %s",
                   sizeof(s->room_fp), s->room_fp,
                   s->joined && !s->left ? "seat kept for its grace period"
                                         : "no seat held");
}


/* The first tick is the join deadline: a connection that has not joined by
 * then is closed (1008). */
static ngx_int_t
ngx_http_webcall_signal_tick(ngx_http_webcall_session_t *s) noexcept
{
    if (!s->joined) {
        ngx_http_webcall_ws_close(s, (uint16_t) sig::close_code::policy,
                                  "join expected");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_webcall_signal_kick(ngx_http_webcall_session_t *s, uint16_t code)
    noexcept
{
    if (code == (uint16_t) sig::close_code::replaced) {
        /* the seat belongs to the new connection now: no grace */
        s->left = 1;
    }

    ngx_http_webcall_ws_close(s, code,
        sig::close_reason(static_cast<sig::close_code>(code)));
}


static void
ngx_http_webcall_signal_rate_limited(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_webcall_send_error(s, sig::error::rate_limited);
}


/* Tells the others in the room that a seat whose grace ran out is gone;
 * the housekeeping tick calls it. */
static void
ngx_http_webcall_signal_gone(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_change_t *ch, ngx_log_t *log) noexcept
{
    ngx_uint_t  j;
    u_char      frame[64];
    size_t      len;

    len = ngx_http_webcall_frame_peer_left(frame, sizeof(frame), ch->id);

    /* deliver logs and counts what it cannot hand over */
    for (j = 0; j < ch->ntell; j++) {
        (void) ngx_http_webcall_deliver(zone, &ch->tell[j], frame, len, 0,
                                        log);
    }
}


static void
ngx_http_webcall_message(ngx_http_webcall_session_t *s, ngx_uint_t is_text,
    std::string_view text) noexcept
{
    sig::parse_result          res;
    std::optional<sig::error>  order;

    if (!is_text) {
        ngx_http_webcall_send_error(s, sig::error::bad_message);
        return;
    }

    res = sig::parse_client(text, s->conf->max_message);
    if (!res) {
        ngx_http_webcall_send_error(s, *res.err);
        return;
    }

    order = sig::check_order(s->joined, res.msg.type);
    if (order) {
        ngx_http_webcall_send_error(s, *order);
        return;
    }

    switch (res.msg.type) {
    case sig::msg_type::join:
        ngx_http_webcall_join(s, res.msg);
        break;
    case sig::msg_type::bye:
        ngx_http_webcall_bye(s);
        break;
    case sig::msg_type::ice_servers:
        ngx_http_webcall_refresh_ice(s);
        break;
    case sig::msg_type::beacon:
        ngx_http_webcall_beacon(s, res.msg.beacon);
        break;
    case sig::msg_type::cannot_call:
        ngx_http_webcall_cannot_call(s, res.msg);
        break;
    default:
        ngx_http_webcall_relay(s, res.msg, text);
        break;
    }
}


/* Somebody opened the link in a browser that cannot make calls: instead of
 * a seat, the people in the room get {"type":"cannot-call"}, so that
 * nobody waits for a call that can never connect, and the connection
 * closes. A PIN room tells only those who have its pass. */
static void
ngx_http_webcall_cannot_call(ngx_http_webcall_session_t *s,
    const sig::client_msg &m) noexcept
{
    ngx_http_webcall_change_t  ch;
    u_char                     frame[64];
    char                       text[32];
    size_t                     len;

    if (s->room.pin
        && !webcall::room_token::pass_matches(
               ngx_http_webcall_wmcf()->token_key, s->room.id,
               m.pass.view()))
    {
        ngx_http_webcall_send_error(s, sig::error::pin_required);
        return;
    }

    ngx_memzero(&ch, sizeof(ch));
    ngx_http_webcall_seat_knock(s->zone, &s->room, &ch);

    if (ch.rc == NGX_ABORT) {
        ngx_http_webcall_send_error(s, sig::error::room_ended);
        return;
    }

    ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_CANNOT_CALL);

    len = sig::build_cannot_call(text, sizeof(text));
    len = ngx_http_webcall_ws_frame(frame, sizeof(frame), text, len);
    ngx_http_webcall_tell(s, &ch, frame, len);

    ngx_http_webcall_ws_close(s, (uint16_t) sig::close_code::normal,
                              "cannot-call");
}


/* A fresh peer id; false when the CSPRNG fails, for an id everyone could
 * guess would let anyone in the room be addressed as somebody else. */
static bool
ngx_http_webcall_random_id(u_char *id) noexcept
{
    u_char  r[NGX_HTTP_WEBCALL_PEER_ID];

    if (RAND_bytes(r, sizeof(r)) != 1) {
        return false;
    }

    /* 58 * 4 = 232: rejecting nothing skews the odds by under 10%, which
     * only makes guessing an id of one's own room slightly easier */
    for (size_t i = 0; i < NGX_HTTP_WEBCALL_PEER_ID; i++) {
        id[i] = (u_char) webcall::base58::alphabet[r[i] % 58];
    }

    return true;
}


/* The seat ticket of a join, checked against its room and resume secret:
 * a claim for ngx_http_webcall_seat_join, or the refusal to tell. */
static seat_ticket::verdict
ngx_http_webcall_join_ticket(ngx_http_webcall_session_t *s,
    const sig::client_msg &m, const u_char *resume,
    ngx_http_webcall_change_t *ch) noexcept
{
    seat_ticket::claim    c;
    seat_ticket::verdict  v;

    if (resume == NULL) {
        /* its MAC covers the resume secret that must come with it */
        return seat_ticket::verdict::malformed;
    }

    v = seat_ticket::verify(ngx_http_webcall_wmcf()->token_key, s->room.id,
                            resume, m.ticket.view(), (uint32_t) ngx_time(),
                            &c);
    if (v != seat_ticket::verdict::ok) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "webcall: seat ticket refused (%s) in room %*s: "
                      "joining as a new participant",
                      seat_ticket::code(v).data(), sizeof(s->room_fp),
                      s->room_fp);
        return v;
    }

    ch->has_ticket = 1;
    ch->ticket_seat = c.seat;
    ch->ticket_serial = c.serial;
    ngx_memcpy(ch->ticket_id, c.id, NGX_HTTP_WEBCALL_PEER_ID);
    return v;
}


/* The seat ticket for the session's seat as it is now, into out
 * (seat_ticket::text_len); empty if it cannot be made. */
static std::string_view
ngx_http_webcall_ticket(ngx_http_webcall_session_t *s, char *out,
    size_t cap) noexcept
{
    seat_ticket::claim  c;
    size_t              len;

    ngx_memcpy(c.id, s->peer_id, NGX_HTTP_WEBCALL_PEER_ID);
    c.seat = (uint8_t) s->seat;
    c.serial = s->serial;
    c.expires = (uint32_t) ngx_time() + seat_ticket::lifetime;

    len = seat_ticket::mint(ngx_http_webcall_wmcf()->token_key, s->room.id,
                            c, s->resume, out, cap);
    return std::string_view(out, len);
}


static void
ngx_http_webcall_join(ngx_http_webcall_session_t *s,
    const sig::client_msg &m) noexcept
{
    ngx_http_webcall_main_conf_t *wmcf;
    ngx_http_webcall_change_t   ch;
    ngx_http_webcall_target_t   me;
    std::string_view            peers[NGX_HTTP_WEBCALL_SEATS];
    sig::welcome                w;
    seat_ticket::verdict        ticket;
    u_char                      resume[NGX_HTTP_WEBCALL_RESUME];
    u_char                      frame[NGX_HTTP_WEBCALL_REPLY];
    char                        text[NGX_HTTP_WEBCALL_REPLY];
    char                        secret[32];
    char                        tbuf[seat_ticket::text_len];
    char                        ice[NGX_HTTP_WEBCALL_ICE_JSON];
    const u_char               *want;
    size_t                      len, slen;
    ngx_uint_t                  i;

    ngx_memzero(&ch, sizeof(ch));
    if (!ngx_http_webcall_random_id(ch.id)
        || RAND_bytes(ch.resume, sizeof(ch.resume)) != 1)
    {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "webcall: the CSPRNG (RAND_bytes) failed to make a "
                      "peer id or resume secret: join refused");
        ngx_http_webcall_send_error(s, sig::error::server_error);
        return;
    }

    want = NULL;
    if (!m.resume.empty()
        && webcall::base58::decode_fixed(m.resume.view(), resume,
                                         sizeof(resume)))
    {
        want = resume;
    }

    /* a seat held on another node of the fleet, that this one may not
     * know: used only if the resume secret finds no seat here */
    ticket = seat_ticket::verdict::ok;
    if (!m.ticket.empty()) {
        ticket = ngx_http_webcall_join_ticket(s, m, want, &ch);
    }

    /* a PIN room seats nobody new without the pass its PIN earned
     * (POST .../admit); a resume takes back a seat that had it */
    if (s->room.pin) {
        wmcf = ngx_http_webcall_wmcf();
        ch.resume_only = !webcall::room_token::pass_matches(
                             wmcf->token_key, s->room.id, m.pass.view());
    }

    me.session = s->node.key;
    me.pid = ngx_pid;
    me.worker = (uint16_t) (s->zone->slot >= 0 ? s->zone->slot
                                               : NGX_HTTP_WEBCALL_WORKERS);

    ngx_http_webcall_seat_join(s->zone, &s->room, want, &me,
                               (uint32_t) s->conf->grace, &ch);

    switch (ch.rc) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        ngx_http_webcall_send_error(s, sig::error::room_not_found);
        return;
    case NGX_ABORT:
        ngx_http_webcall_send_error(s, sig::error::room_ended);
        return;
    case NGX_BUSY:
        ngx_http_webcall_send_error(s, sig::error::room_full);
        return;
    case NGX_AGAIN:
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_PIN_NO_PASS);
        ngx_http_webcall_send_error(s, sig::error::pin_required);
        return;
    default:
        /* the zone had no space to take the room in again */
        ngx_http_webcall_send_error(s, sig::error::room_full,
                                    "the server is full right now; "
                                    "try again in a few minutes");
        return;
    }

    /* not fatal: the caller is seated as new, and the page may say so */
    if (ticket != seat_ticket::verdict::ok) {
        ngx_http_webcall_send_error(s, sig::error::bad_ticket,
                                    seat_ticket::describe(ticket));
    } else if (ch.ticket_held) {
        ngx_http_webcall_send_error(s, sig::error::bad_ticket,
                                    "the seat ticket is older than its "
                                    "seat's latest: joined as a new "
                                    "participant");
    }

    s->joined = 1;
    s->seat = ch.seat;
    s->serial = ch.serial;
    ngx_memcpy(s->resume, ch.resume, NGX_HTTP_WEBCALL_RESUME);
    ngx_http_webcall_count(s->zone,
                           ch.restored ? NGX_HTTP_WEBCALL_JOINS_RESTORED
                           : ch.resumed ? NGX_HTTP_WEBCALL_JOINS_RESUMED
                                        : NGX_HTTP_WEBCALL_JOINS_NEW);

    ngx_log_debug7(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "webcall: join room %*s: peer %*s, seat %ui, %s, "
                   "%ui others",
                   sizeof(s->room_fp), s->room_fp,
                   (size_t) NGX_HTTP_WEBCALL_PEER_ID, ch.id, ch.seat,
                   ch.restored ? "restored" : ch.resumed ? "resumed" : "new",
                   ch.npeers);
    ngx_memcpy(s->peer_id, ch.id, NGX_HTTP_WEBCALL_PEER_ID);

    for (i = 0; i < ch.npeers; i++) {
        peers[i] = std::string_view((const char *) ch.peers[i],
                                    NGX_HTTP_WEBCALL_PEER_ID);
    }

    slen = webcall::base58::encode(ch.resume, sizeof(ch.resume), secret,
                                   sizeof(secret));

    /* always 22 characters: leading '1's are zero digits, so the secret
     * decodes the same */
    if (slen < sig::resume_len) {
        ngx_memmove(secret + (sig::resume_len - slen), secret, slen);
        ngx_memset(secret, '1', sig::resume_len - slen);
        slen = sig::resume_len;
    }

    w.id = std::string_view((const char *) ch.id, NGX_HTTP_WEBCALL_PEER_ID);
    w.peers = peers;
    w.peer_count = ch.npeers;
    w.resume = std::string_view(secret, slen);
    w.ice_servers_json = ngx_http_webcall_ice_servers(s, w.id, ice,
                                                      sizeof(ice));
    w.max_participants = (unsigned) ch.max_participants;
    w.ticket = ngx_http_webcall_ticket(s, tbuf, sizeof(tbuf));
    w.node = std::string_view((const char *) s->zone->sh->node,
                              NGX_HTTP_WEBCALL_PEER_ID);
    w.moved = ch.moved != 0;

    len = sig::build_welcome(text, sizeof(text), w);
    (void) ngx_http_webcall_ws_send_text(s, text, len);

    /* a seat given back from a ticket is somebody the others knew */
    len = sig::build_peer_joined(text, sizeof(text), w.id,
                                 ch.resumed || ch.restored);
    len = ngx_http_webcall_ws_frame(frame, sizeof(frame), text, len);
    ngx_http_webcall_tell(s, &ch, frame, len);

    /* the request has given all it had: the peer id for its access log
     * line, the ICE URLs its variables made */
    ngx_http_webcall_ws_detach(s);

    /* deliver logs and counts what it cannot hand over */
    if (ch.replaced) {
        (void) ngx_http_webcall_deliver(s->zone, &ch.old, NULL, 0,
                                        (uint16_t) sig::close_code::replaced,
                                        s->connection->log);
    }
}


/* A welcome with no ICE server means that no call between two networks
 * that block direct connections can work, and the callers only see a call
 * that never connects: say so to the sysadmin, once per worker (each
 * worker is a process of its own) so that a busy site's log is not
 * flooded. */
static void
ngx_http_webcall_no_turn(ngx_http_webcall_session_t *s,
    const char *why) noexcept
{
    static ngx_flag_t  logged;

    if (logged) {
        return;
    }

    logged = 1;

    ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                  "webcall: a caller was offered no TURN server (%s); calls "
                  "from offices, mobile carriers and other networks that "
                  "block direct connections will not connect: run "
                  "webcall-turn-setup, or set webcall_turn_urls "
                  "(logged once per worker)", why);
}


/* Whether the ICE servers about to be offered include a relay. */
static void
ngx_http_webcall_check_turn(ngx_http_webcall_session_t *s,
    ngx_http_webcall_main_conf_t *wmcf, std::string_view *urls,
    size_t n) noexcept
{
    size_t  i;

    if (wmcf->turn_secret.len == 0) {
        ngx_http_webcall_no_turn(s, wmcf->turn_off ? wmcf->turn_off
                                                   : "no TURN secret");
        return;
    }

    for (i = 0; i < n; i++) {
        if (webcall::turn::check_url(urls[i])
            == webcall::turn::url_kind::turn)
        {
            return;
        }
    }

    ngx_http_webcall_no_turn(s, "no turn: URL in webcall_turn_urls is valid "
                                "for this request");
}


static ngx_http_webcall_main_conf_t *
ngx_http_webcall_wmcf(void) noexcept
{
    return (ngx_http_webcall_main_conf_t *)
               ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                   ngx_http_webcall_module);
}


/* The ICE URLs evaluated for this connection's request, copied into one
 * block the session keeps after the request is gone: the views first,
 * then the text they point at. */
static ngx_int_t
ngx_http_webcall_keep_ice_urls(ngx_http_webcall_session_t *s) noexcept
{
    std::string_view  urls[NGX_HTTP_WEBCALL_TURN_URLS], *kept;
    ngx_uint_t        i, n;
    size_t            size;
    u_char           *p;

    if (s->request == NULL) {
        return NGX_ERROR;
    }

    n = ngx_http_webcall_turn_urls_eval(s->request, urls,
                                        NGX_HTTP_WEBCALL_TURN_URLS);

    size = n * sizeof(std::string_view);
    for (i = 0; i < n; i++) {
        size += urls[i].size();
    }

    kept = (std::string_view *) ngx_alloc(ngx_max(size, (size_t) 1),
                                          s->connection->log);
    if (kept == NULL) {
        return NGX_ERROR;
    }

    p = (u_char *) (kept + n);
    for (i = 0; i < n; i++) {
        ngx_memcpy(p, urls[i].data(), urls[i].size());
        kept[i] = std::string_view((const char *) p, urls[i].size());
        p += urls[i].size();
    }

    s->ice_urls = kept;
    s->nice_urls = n;

    return NGX_OK;
}


/* The ICE servers for one participant, with TURN credentials minted for
 * it alone: only somebody who holds a seat ever gets them. */
static std::string_view
ngx_http_webcall_ice_servers(ngx_http_webcall_session_t *s,
    std::string_view peer, char *out, size_t cap) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    std::string_view              *urls;
    char                           user[64];
    char                           cred[webcall::turn::credential_len];
    size_t                         ulen, n, len;

    wmcf = ngx_http_webcall_wmcf();

    if (wmcf->turn_urls == NULL) {
        ngx_http_webcall_no_turn(s, "no webcall_turn_urls");
        return "[]";
    }

    /* once per connection, at the join, while the request (whose
     * variables the URLs may use) is there */
    if (s->ice_urls == NULL
        && ngx_http_webcall_keep_ice_urls(s) != NGX_OK)
    {
        ngx_http_webcall_no_turn(s, "out of memory");
        return "[]";
    }

    urls = s->ice_urls;
    n = s->nice_urls;

    ngx_http_webcall_check_turn(s, wmcf, urls, n);

    ulen = webcall::turn::username(
               webcall::turn::expiry(ngx_time(), wmcf->turn_ttl), peer, user,
               sizeof(user));
    if (ulen == 0
        || (wmcf->turn_secret.len > 0
            && !webcall::turn::credential(
                   {(const char *) wmcf->turn_secret.data,
                    wmcf->turn_secret.len},
                   {user, ulen}, cred)))
    {
        ngx_http_webcall_no_turn(s, "the TURN credential could not be made");
        return "[]";
    }

    len = webcall::turn::ice_servers_json(urls, n, {user, ulen},
                                          {cred, sizeof(cred)}, out, cap);
    if (len == 0) {
        /* nginx -t refuses a list that cannot fit; only variables (a long
         * $host) can make one longer at run time. The message stays valid
         * with no server at all, and the log says why. */
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "webcall: the ICE servers of webcall_turn_urls, as "
                      "evaluated for this request, do not fit in %uz "
                      "bytes: the caller was offered none (make the URLs "
                      "shorter or fewer, or use no variable in them)", cap);
        return "[]";
    }

    if (wmcf->turn_secret.len > 0) {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_TURN_CREDENTIALS);
    }

    return std::string_view(out, len);
}


static void
ngx_http_webcall_tell(ngx_http_webcall_session_t *s,
    ngx_http_webcall_change_t *ch, const u_char *frame, size_t len) noexcept
{
    ngx_uint_t  i;

    if (len == 0) {
        return;
    }

    /* deliver logs and counts what it cannot hand over */
    for (i = 0; i < ch->ntell; i++) {
        (void) ngx_http_webcall_deliver(s->zone, &ch->tell[i], frame, len,
                                        0, s->connection->log);
    }
}


/* Relays an offer, answer or candidate: the client's own text with "from"
 * spliced in, framed once in the transport's scratch buffer. */
static void
ngx_http_webcall_relay(ngx_http_webcall_session_t *s,
    const sig::client_msg &m, std::string_view text) noexcept
{
    ngx_http_webcall_target_t  to;
    std::string_view           from((const char *) s->peer_id,
                                    NGX_HTTP_WEBCALL_PEER_ID);
    size_t                     len, h;
    u_char                    *buf;

    if (ngx_http_webcall_seat_target(s->zone, &s->room, m.to.view(), &to)
        != NGX_OK || (to.session == s->node.key && to.pid == ngx_pid))
    {
        ngx_http_webcall_send_error(s, sig::error::peer_not_found);
        return;
    }

    len = sig::relay_length(text, from);

    buf = ngx_http_webcall_ws_scratch_frame(len, &h,
                                            s->connection->log);
    if (buf == NULL) {
        return;
    }

    if (sig::build_relay((char *) buf + h, len, text, from) != len)
    {
        ngx_http_webcall_send_error(s, sig::error::bad_message);
        return;
    }

    ngx_log_debug8(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "webcall: relay %*s, room %*s, %*s to %*s",
                   sig::type_name(m.type).size(), sig::type_name(m.type).data(),
                   sizeof(s->room_fp), s->room_fp,
                   (size_t) NGX_HTTP_WEBCALL_PEER_ID, s->peer_id,
                   m.to.view().size(), m.to.view().data());

    if (ngx_http_webcall_deliver(s->zone, &to, buf, h + len, 0,
                                 s->connection->log)
        == NGX_OK)
    {
        if (to.pid == ngx_pid) {
            ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_RELAYED_LOCAL);
            ngx_http_webcall_count(s->zone,
                                   NGX_HTTP_WEBCALL_RELAYED_BYTES_LOCAL, len);
        } else {
            ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_RELAYED_CROSS);
            ngx_http_webcall_count(s->zone,
                                   NGX_HTTP_WEBCALL_RELAYED_BYTES_CROSS, len);
        }
    }
}


/* Fresh TURN credentials for the asker, e.g. before an ICE restart late in
 * a long call; minted for its own peer id like those in welcome. */
static void
ngx_http_webcall_refresh_ice(ngx_http_webcall_session_t *s) noexcept
{
    std::string_view  ice;
    char              json[NGX_HTTP_WEBCALL_ICE_JSON];
    char              text[NGX_HTTP_WEBCALL_REPLY];
    char              tbuf[seat_ticket::text_len];
    size_t            len;

    ice = ngx_http_webcall_ice_servers(s,
              std::string_view((const char *) s->peer_id,
                               NGX_HTTP_WEBCALL_PEER_ID),
              json, sizeof(json));

    /* a fresh seat ticket too: a long call's lasts another day */
    len = sig::build_ice_servers(text, sizeof(text), ice,
                                 ngx_http_webcall_ticket(s, tbuf,
                                                         sizeof(tbuf)));
    (void) ngx_http_webcall_ws_send_text(s, text, len);
}


static void
ngx_http_webcall_bye(ngx_http_webcall_session_t *s) noexcept
{
    ngx_http_webcall_change_t  ch;
    u_char                     frame[64];
    size_t                     len;

    ngx_memzero(&ch, sizeof(ch));
    ngx_http_webcall_seat_leave(s->zone, &s->room, s->seat, s->node.key, 1,
                                &ch);
    s->left = 1;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "webcall: bye, room %*s, peer %*s",
                   sizeof(s->room_fp), s->room_fp,
                   (size_t) NGX_HTTP_WEBCALL_PEER_ID, s->peer_id);

    if (ch.rc == NGX_OK) {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_LEAVES);
        len = ngx_http_webcall_frame_peer_left(frame, sizeof(frame), ch.id);
        ngx_http_webcall_tell(s, &ch, frame, len);
    }

    ngx_http_webcall_ws_close(s, (uint16_t) sig::close_code::normal, "bye");
}


/* A caller's beacon, folded into the zone's histograms and counters; a
 * few per seat (ngx_http_webcall_seat_beacon), nothing kept per person. */
static void
ngx_http_webcall_beacon(ngx_http_webcall_session_t *s, const sig::beacon &b)
    noexcept
{
    ngx_http_webcall_stats_t  *st;
    ngx_uint_t                 path;

    if (!s->conf->beacons) {
        return;
    }

    st = &s->zone->sh->stats;

    if (ngx_http_webcall_seat_beacon(s->zone, &s->room, s->seat, s->node.key)
        != NGX_OK)
    {
        ngx_http_webcall_add(s->zone, &st->beacons[2]);
        return;
    }

    ngx_http_webcall_add(s->zone, &st->beacons[0]);

    if (b.phase == sig::beacon_phase::setup) {
        path = (ngx_uint_t) b.path;
        ngx_http_webcall_add(s->zone, &st->setup[path][
            webcall::prom::bucket_of({webcall::quality::setup_bounds,
                                      webcall::quality::buckets},
                                     b.ms / 1000.0)]);
        ngx_http_webcall_add(s->zone, &st->setup_ms[path], b.ms);
        ngx_http_webcall_add(s->zone,
            &st->calls[path][(ngx_uint_t) b.transport][b.first_try ? 1 : 0]);

    } else {
        ngx_http_webcall_add(s->zone, &st->recovery[
            webcall::prom::bucket_of({webcall::quality::recovery_bounds,
                                      webcall::quality::buckets},
                                     b.ms / 1000.0)]);
        ngx_http_webcall_add(s->zone, &st->recovery_ms, b.ms);
        ngx_http_webcall_add(s->zone, &st->reconnects, b.reconnects);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "webcall: beacon, room %*s: %s %uD ms",
                   sizeof(s->room_fp), s->room_fp,
                   b.phase == sig::beacon_phase::setup ? "setup" : "recovery",
                   b.ms);
}


static void
ngx_http_webcall_send_error(ngx_http_webcall_session_t *s, sig::error e,
    std::string_view message) noexcept
{
    sig::error_info  info;
    char             text[512];
    size_t           len;

    info = sig::describe(e);
    ngx_http_webcall_count_error(s->zone, (unsigned) e);
    if (e == sig::error::bad_beacon) {
        ngx_http_webcall_add(s->zone, &s->zone->sh->stats.beacons[1]);
    }
    if (e == sig::error::rate_limited) {
        ngx_http_webcall_count(s->zone, NGX_HTTP_WEBCALL_RATE_LIMITED_CLOSES);
    }

    len = sig::build_error(text, sizeof(text), e, message);
    (void) ngx_http_webcall_ws_send_text(s, text, len);

    /* the close reason is the error's code (docs/protocol.md) */
    if (info.close) {
        ngx_http_webcall_ws_close(s, (uint16_t) *info.close, info.code);
    }
}
