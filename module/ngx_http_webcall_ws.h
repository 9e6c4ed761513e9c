/*
 * webcall: the WebSocket transport under the signaling protocol: handshake
 * and 101, frames in and out, the send queue, ping, close, the sessions.
 */
#pragma once

#include "ngx_http_webcall_module.h"

#include "log_redact.h"
#include "rate_window.h"
#include "ws_frame.h"
#include "ws_handshake.h"

#include <string_view>


typedef struct ngx_http_webcall_ws_events_s  ngx_http_webcall_ws_events_t;


typedef struct ngx_http_webcall_attach_s  ngx_http_webcall_attach_t;


/* What ties a session to its request until it is detached; in the
 * request's pool, so it goes with the request. */
struct ngx_http_webcall_attach_s {
    ngx_event_t                    detach;
    ngx_http_cleanup_t            *cleanup;       /* the session's end */
    ngx_pool_cleanup_t            *free;          /* the session's memory */
};


/* One WebSocket connection, in memory of its own (not the request's pool):
 * once the protocol is done with the HTTP request (the join), the request
 * is freed and the session alone holds the connection (see "Detaching" in
 * ngx_http_webcall_ws.cpp). The transport owns the first part; the
 * protocol's own state (the room, the seat) stays in the same struct at
 * the end, which the transport never reads. */
typedef struct {
    ngx_rbtree_node_t              node;          /* key: session id */
    ngx_connection_t              *connection;
    /* until detached: the request, and what ties the session to it */
    ngx_http_request_t            *request;
    ngx_http_webcall_attach_t     *attach;
    ngx_http_webcall_loc_conf_t   *conf;
    ngx_http_webcall_zone_t       *zone;
    const ngx_http_webcall_ws_events_t *events;
    webcall::ws::parser           *parser;
    webcall::rate::limiter         limiter;

    u_char                        *pending;       /* pipelined bytes */
    u_char                        *pending_last;

    u_char                        *msg;
    size_t                         msg_len;
    size_t                         msg_cap;
    /* frames of the current message already charged to the limiter */
    uint32_t                       frames_charged;
    const u_char                  *inplace;       /* message in the input */
    size_t                         inplace_len;

    u_char                        *out;
    size_t                         out_pos;
    size_t                         out_last;
    size_t                         out_cap;

    ngx_msec_t                     send_timeout;

    ngx_event_t                    ping;
    /* the close handshake's deadline; then, once finished and detached,
     * the posted release of the connection and the session */
    ngx_event_t                    closing;

    unsigned                       close_sent:1;
    unsigned                       close_received:1;
    unsigned                       awaiting_pong:1;
    unsigned                       finish_when_flushed:1;
    unsigned                       done:1;

    /* the signaling protocol's (ngx_http_webcall_signal.cpp) */
    webcall::room_token::room      room;
    /* the ICE URLs as evaluated for this connection's request (they may
     * hold variables: $host), copied into one block of its own */
    std::string_view              *ice_urls;
    ngx_uint_t                     nice_urls;
    ngx_uint_t                     seat;
    u_char                         peer_id[NGX_HTTP_WEBCALL_PEER_ID];
    /* the seat's resume secret and serial, for its next seat ticket */
    u_char                         resume[NGX_HTTP_WEBCALL_RESUME];
    uint32_t                       serial;
    /* the room as logs name it ($webcall_room), never the token */
    u_char                         room_fp[
                                       webcall::log_redact::fingerprint_len];
    unsigned                       joined:1;
    unsigned                       left:1;
} ngx_http_webcall_session_t;


/* What the transport tells the protocol above it. */
struct ngx_http_webcall_ws_events_s {
    /* the session exists and its 101 is about to go out */
    void       (*open)(ngx_http_webcall_session_t *s, void *data) noexcept;
    /* a whole message, already charged to the rate limiter */
    void       (*message)(ngx_http_webcall_session_t *s, ngx_uint_t text,
                          std::string_view payload) noexcept;
    /* the client went over webcall_signal_rate */
    void       (*rate_limited)(ngx_http_webcall_session_t *s) noexcept;
    /* the ping timer, first as the join deadline: NGX_OK to ping, anything
     * else once the protocol has closed the session */
    ngx_int_t  (*tick)(ngx_http_webcall_session_t *s) noexcept;
    /* another part (maybe another worker) closes the session with code */
    void       (*kick)(ngx_http_webcall_session_t *s, uint16_t code)
                   noexcept;
    /* the connection is over: the request's cleanup */
    void       (*closed)(ngx_http_webcall_session_t *s) noexcept;
};


/* ngx_http_webcall_ws.cpp */
void ngx_http_webcall_ws_init(void) noexcept;
/* Checks the request's shape and its Origin: NGX_OK or a status. */
ngx_int_t ngx_http_webcall_ws_handshake(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, char *accept) noexcept;
/* Logs a refused handshake and returns its status. */
ngx_int_t ngx_http_webcall_ws_refuse(ngx_http_request_t *r, ngx_int_t status,
    const char *why) noexcept;
/* What the content handler returns for a refused handshake. */
ngx_int_t ngx_http_webcall_ws_refused(ngx_http_request_t *r, ngx_int_t rc)
    noexcept;
/* Takes the connection over: the session, the 101, NGX_DONE. */
ngx_int_t ngx_http_webcall_ws_start(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf, const char *accept,
    const ngx_http_webcall_ws_events_t *events, void *data) noexcept;
void ngx_http_webcall_ws_close(ngx_http_webcall_session_t *s, uint16_t code,
    std::string_view reason) noexcept;
/* A frame for one of this worker's sessions, from this worker or from its
 * inbox; close_code != 0 closes the session instead. */
void ngx_http_webcall_ws_deliver(uint64_t session, const u_char *frame,
    size_t len, uint16_t close_code) noexcept;
void ngx_http_webcall_ws_finish(ngx_http_webcall_session_t *s) noexcept;
/* The protocol is done with the HTTP request (its variables, its access
 * log line): from the next turn of the event loop the session holds the
 * connection alone and the request's memory is freed. */
void ngx_http_webcall_ws_detach(ngx_http_webcall_session_t *s) noexcept;

/* ngx_http_webcall_ws_send.cpp */
ngx_int_t ngx_http_webcall_ws_send_text(ngx_http_webcall_session_t *s,
    const char *text, size_t len) noexcept;
/* A server frame (header + text) for a small message of ours. */
size_t ngx_http_webcall_ws_frame(u_char *out, size_t cap, const char *text,
    size_t len) noexcept;
/* A text frame for a payload of len bytes in the process's scratch buffer:
 * its start, with the header written, or NULL; *hlen is the header's
 * length, the payload goes right after it. */
u_char *ngx_http_webcall_ws_scratch_frame(size_t len, size_t *hlen,
    ngx_log_t *log) noexcept;
/* inside the transport */
ngx_int_t ngx_http_webcall_ws_send_frame(ngx_http_webcall_session_t *s,
    const u_char *a, size_t alen, const u_char *b, size_t blen,
    ngx_uint_t force) noexcept;
void ngx_http_webcall_ws_flush(ngx_http_webcall_session_t *s) noexcept;
void ngx_http_webcall_ws_write(ngx_http_request_t *r) noexcept;
void ngx_http_webcall_ws_write_event(ngx_event_t *wev) noexcept;
void ngx_http_webcall_ws_read_event(ngx_event_t *rev) noexcept;

/* ngx_http_webcall_ws_detach.cpp */
void ngx_http_webcall_ws_detach_init(void) noexcept;
/* the posted detach, and the posted release of a finished session */
void ngx_http_webcall_ws_detached(ngx_event_t *ev) noexcept;
void ngx_http_webcall_ws_release(ngx_event_t *ev) noexcept;
