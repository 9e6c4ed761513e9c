/*
 * webcall: the rooms API's two acts on a room that take a secret: DELETE
 * .../rooms/<token> with the owner key ends it for everyone, and POST
 * .../rooms/<token>/admit with the PIN earns a PIN room's pass.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_api.h"

#include "log_redact.h"
#include "room_api.h"
#include "signal_msg.h"

#include <cstring>


namespace api = webcall::room_api;
namespace token = webcall::room_token;
namespace sig = webcall::signal;


static ngx_int_t ngx_http_webcall_api_no_content(ngx_http_request_t *r)
    noexcept;
static void ngx_http_webcall_api_admit_body(ngx_http_request_t *r) noexcept;
static ngx_int_t ngx_http_webcall_api_retry_after(ngx_http_request_t *r,
    int64_t seconds) noexcept;


/* DELETE .../rooms/<token> with "Authorization: Bearer <ownerKey>": the
 * room's host ends it for everyone. The end is on disk (the ended-rooms
 * file) before it happens in memory, then every connection still in the
 * room is closed with 4410; the link answers 410 from then on, and the
 * fleet's other nodes are sent the same (webcall_fleet_nodes) unless this
 * is such a copy. Ending a room that has ended already is 204 again. */
ngx_int_t
ngx_http_webcall_api_end(ngx_http_request_t *r, ngx_str_t *text) noexcept
{
    static const ngx_str_t          bearer = ngx_string("Bearer ");
    ngx_http_webcall_main_conf_t   *wmcf;
    ngx_http_webcall_zone_t        *zone;
    ngx_http_webcall_target_t       targets[NGX_HTTP_WEBCALL_SEATS];
    ngx_table_elt_t                *auth;
    webcall::ended_rooms::entry     e;
    token::room                     room;
    std::string_view                key;
    ngx_uint_t                      i, n;
    ngx_int_t                       rc;
    int64_t                         until;

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);
    zone = ngx_http_webcall_api_zone(r);

    rc = ngx_http_webcall_api_verify(r, wmcf,
             std::string_view((const char *) text->data, text->len), &room);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    auth = r->headers_in.authorization;
    if (auth == NULL || auth->value.len <= bearer.len
        || ngx_strncasecmp(auth->value.data, bearer.data, bearer.len) != 0)
    {
        return ngx_http_webcall_api_error(r, api::error::forbidden,
                   "Send the owner key in an Authorization header: "
                   "Bearer <key>.");
    }

    key = std::string_view((const char *) auth->value.data + bearer.len,
                           auth->value.len - bearer.len);

    if (!token::owner_matches(wmcf->token_key, room.id, key)) {
        return ngx_http_webcall_api_error(r, api::error::forbidden, NULL);
    }

    rc = ngx_http_webcall_room_end(zone, &room,
                                   webcall::ended_rooms::reason::host, 1,
                                   &until, targets, &n);
    if (rc == NGX_DONE) {
        return ngx_http_webcall_api_no_content(r);
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_webcall_api_error(r, api::error::not_found, NULL);
    }

    std::memcpy(e.id, room.id, sizeof(e.id));
    e.until = until;
    e.why = webcall::ended_rooms::reason::host;

    if (ngx_http_webcall_ended_record(zone->ended_file, e, r->connection->log)
        != NGX_OK)
    {
        return ngx_http_webcall_api_error(r, api::error::internal,
                   "The server could not record that the room ended; it "
                   "goes on. Try again later.");
    }

    rc = ngx_http_webcall_room_end(zone, &room,
                                   webcall::ended_rooms::reason::host, 0,
                                   &until, targets, &n);
    if (rc == NGX_ERROR) {
        if (ngx_http_webcall_api_header(r, "Retry-After", "60") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        return ngx_http_webcall_api_error(r, api::error::zone_full, NULL);
    }

    for (i = 0; i < n; i++) {
        (void) ngx_http_webcall_deliver(zone, &targets[i], NULL, 0,
                                        (uint16_t) sig::close_code::ended,
                                        r->connection->log);
    }

    ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_ENDED);

    if (ngx_http_webcall_header(r, NGX_HTTP_WEBCALL_FLEET_HEADER) == NULL) {
        ngx_http_webcall_fleet_end(zone, &room);
    }

    {
    char  fp[webcall::log_redact::fingerprint_len];

    webcall::log_redact::fingerprint(
        std::string_view((const char *) text->data, text->len), fp);
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webcall: room %*s was ended by its host, %ui "
                  "connection(s) closed", sizeof(fp), fp, n);
    }

    return ngx_http_webcall_api_no_content(r);
}


static ngx_int_t
ngx_http_webcall_api_no_content(ngx_http_request_t *r) noexcept
{
    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    if (ngx_http_webcall_api_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_send_header(r);
}


/* POST .../rooms/<token>/admit with {"pin":"1234"}: a PIN room's door.
 * The right PIN earns the room's pass (200); a wrong one is counted in the
 * room's record (403 with the tries left), and once they are used up every
 * try is 429 until the lock ends, the right PIN too. Checked like room
 * creation: from this site's pages only, a small JSON body. */
ngx_int_t
ngx_http_webcall_api_admit(ngx_http_request_t *r) noexcept
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_POST || !ngx_http_webcall_api_same_site(r)
        || r->headers_in.content_length_n > (off_t) api::body_max)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (r->method != NGX_HTTP_POST) {
            if (ngx_http_webcall_api_header(r, "Allow", "POST") != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            return ngx_http_webcall_api_error(r,
                                              api::error::method_not_allowed,
                                              NULL);
        }

        return ngx_http_webcall_api_error(r,
                   r->headers_in.content_length_n > (off_t) api::body_max
                   ? api::error::too_large : api::error::cross_site, NULL);
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_webcall_api_admit_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* The token of .../rooms/<token>/admit[/], as the handler checked it. */
static std::string_view
ngx_http_webcall_api_admit_token(ngx_http_request_t *r) noexcept
{
    u_char  *start, *end;

    end = r->uri.data + r->uri.len;
    if (end > r->uri.data && end[-1] == '/') {
        end--;
    }

    end -= sizeof("/admit") - 1;
    for (start = end; start > r->uri.data && start[-1] != '/'; start--) {
        /* void */
    }

    return std::string_view((const char *) start, end - start);
}


static void
ngx_http_webcall_api_admit_body(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_main_conf_t   *wmcf;
    ngx_http_webcall_zone_t        *zone;
    webcall::pin_throttle::answer   answer{};
    api::create_request             req;
    token::room                     room;
    u_char                          body[api::body_max];
    char                            pass[token::pass_text_max];
    char                            reply[NGX_HTTP_WEBCALL_REPLY_MAX];
    size_t                          body_len, len;
    ngx_int_t                       rc;
    ngx_uint_t                      right;
    api::error                      err;

    zone = ngx_http_webcall_api_zone(r);
    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    rc = ngx_http_webcall_api_verify(r, wmcf,
                                     ngx_http_webcall_api_admit_token(r),
                                     &room);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (!room.pin) {
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, api::error::no_pin, NULL));
        return;
    }

    err = ngx_http_webcall_api_json_body(r, body, sizeof(body), &body_len);
    if (err != api::error::none) {
        ngx_http_finalize_request(r, ngx_http_webcall_api_error(r, err, NULL));
        return;
    }

    req = api::parse_admit((const char *) body, body_len);
    if (req.err != api::error::none) {
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, req.err, req.detail));
        return;
    }

    /* the HMAC outside the lock; the answer only once the throttle
     * allows the try */
    right = token::pin_matches(wmcf->token_key, room, req.pin);

    rc = ngx_http_webcall_room_pin_try(zone, &room, right, &answer);

    switch (rc) {

    case NGX_OK:
        ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_PIN_ADMITTED);
        len = token::pass_key(wmcf->token_key, room.id, pass, sizeof(pass));
        len = api::write_admitted(std::string_view(pass, len), reply,
                                  sizeof(reply));
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_send(r, NGX_HTTP_OK, reply, len));
        return;

    case NGX_DECLINED:
    case NGX_BUSY:
        ngx_http_webcall_count(zone, rc == NGX_BUSY
                                     ? NGX_HTTP_WEBCALL_PIN_LOCKED
                                     : NGX_HTTP_WEBCALL_PIN_WRONG);

        if (answer.locked) {
            if (rc == NGX_DECLINED) {
                ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_PIN_LOCKOUTS);
                ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                              "webcall: a PIN room is locked for %L s "
                              "after too many wrong PINs",
                              answer.retry_after);
            }

            if (ngx_http_webcall_api_retry_after(r, answer.retry_after)
                != NGX_OK)
            {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }
        }

        len = api::write_pin_refused(rc == NGX_BUSY
                                     ? api::error::too_many_tries
                                     : api::error::wrong_pin,
                                     answer.tries_left, answer.retry_after,
                                     reply, sizeof(reply));
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_send(r, api::describe(rc == NGX_BUSY
                                          ? api::error::too_many_tries
                                          : api::error::wrong_pin).status,
                                      reply, len));
        return;

    case NGX_ABORT:
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, api::error::ended, NULL));
        return;

    case NGX_DONE:
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, api::error::not_found, NULL));
        return;

    default:
        if (ngx_http_webcall_api_header(r, "Retry-After", "60") != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, api::error::zone_full, NULL));
        return;
    }
}


static ngx_int_t
ngx_http_webcall_api_retry_after(ngx_http_request_t *r, int64_t seconds)
    noexcept
{
    u_char  *p;

    p = (u_char *) ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(p, "%L", seconds > 0 ? seconds : 1) = '\0';

    return ngx_http_webcall_api_header(r, "Retry-After", (const char *) p);
}
