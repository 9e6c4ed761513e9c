/*
 * webcall: the rooms REST API. POST .../rooms mints a room, GET
 * .../rooms/<token> reports one; DELETE (ends it) and POST .../admit (checks
 * a PIN room's PIN) are in ngx_http_webcall_api_room.cpp. The request is
 * turned into calls of the pure units (room_token, room_api) and the zone;
 * replies are small JSON bodies built in a stack buffer and copied once
 * into the request pool.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_api.h"

#include "log_redact.h"
#include "room_api.h"

#include <cstring>


namespace api = webcall::room_api;
namespace token = webcall::room_token;


static ngx_int_t ngx_http_webcall_api_create(ngx_http_request_t *r) noexcept;
static void ngx_http_webcall_api_create_body(ngx_http_request_t *r) noexcept;
static ngx_int_t ngx_http_webcall_api_get(ngx_http_request_t *r,
    ngx_str_t *text) noexcept;
static ngx_int_t ngx_http_webcall_api_health(ngx_http_request_t *r) noexcept;
static ngx_int_t ngx_http_webcall_api_body_text(ngx_http_request_t *r,
    u_char *buf, size_t cap, size_t *len) noexcept;
static ngx_uint_t ngx_http_webcall_api_is_json(ngx_http_request_t *r)
    noexcept;
static ngx_int_t ngx_http_webcall_api_read_only(ngx_http_request_t *r,
    const char *allow) noexcept;


ngx_http_webcall_zone_t *
ngx_http_webcall_api_zone(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_loc_conf_t  *wlcf;

    wlcf = (ngx_http_webcall_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_webcall_module);
    return wlcf->api_zone;
}


/* A GET or HEAD request: the body is discarded, any other method is 405
 * (allow: what the resource takes). NGX_DECLINED when the request may go
 * on. */
static ngx_int_t
ngx_http_webcall_api_read_only(ngx_http_request_t *r, const char *allow)
    noexcept
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_webcall_api_header(r, "Allow", allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        return ngx_http_webcall_api_error(r, api::error::method_not_allowed,
                                          NULL);
    }

    return NGX_DECLINED;
}


/* GET .../health, for a load balancer or a monitor: 200 while a room can be
 * created, 503 with the reason when the zone is full or the secret file is
 * gone (the next reload would fail). Nothing is read but sizes and a
 * stat(): the master read the secret as root, the workers cannot. */
static ngx_int_t
ngx_http_webcall_api_health(ngx_http_request_t *r) noexcept
{
    static const char             ok[] = "{\"status\":\"ok\"}\n";
    static const char             full[] =
        "{\"status\":\"unavailable\",\"reason\":\"zone-full\","
        "\"message\":\"The rooms zone is full: no new room can be created "
        "(webcall_zone size).\"}\n";
    static const char             gone[] =
        "{\"status\":\"unavailable\",\"reason\":\"secret-missing\","
        "\"message\":\"The webcall_secret_file is gone: links still work "
        "until the next reload, which will fail.\"}\n";
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_file_info_t                fi;
    ngx_int_t                      rc;

    rc = ngx_http_webcall_api_read_only(r, "GET, HEAD");
    if (rc != NGX_DECLINED) {
        return rc;
    }

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    if (ngx_http_webcall_zone_full(ngx_http_webcall_api_zone(r))) {
        return ngx_http_webcall_api_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         full, sizeof(full) - 1);
    }

    /* only "does not exist" counts: a directory we may not search says
     * nothing about the file */
    if (wmcf->secret_file.len > 0
        && ngx_file_info(wmcf->secret_file.data, &fi) == NGX_FILE_ERROR
        && ngx_errno == NGX_ENOENT)
    {
        return ngx_http_webcall_api_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         gone, sizeof(gone) - 1);
    }

    return ngx_http_webcall_api_send(r, NGX_HTTP_OK, ok, sizeof(ok) - 1);
}


/* error_page sent nginx's own refusal here (webcall_api_refuse): answer
 * it from the API's table, and count it. */
static ngx_int_t
ngx_http_webcall_api_refused(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *wlcf) noexcept
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (wlcf->refuse == (ngx_uint_t) api::error::rate_limited) {
        ngx_http_webcall_count(wlcf->api_zone,
                               NGX_HTTP_WEBCALL_API_RATE_LIMITED);
        if (ngx_http_webcall_api_header(r, "Retry-After", "60") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        ngx_http_webcall_count(wlcf->api_zone, NGX_HTTP_WEBCALL_API_TOO_LARGE);
    }

    return ngx_http_webcall_api_error(r, (api::error) wlcf->refuse, NULL);
}


/* The API's paths are relative to its location: with "location /api/",
 * "/api/rooms" and "/api/rooms/<token>"; anything else is 404. (A regex
 * location has no prefix to strip; there the path must end with them.) */
ngx_int_t
ngx_http_webcall_api_handler(ngx_http_request_t *r) noexcept
{
    static const ngx_str_t     rooms = ngx_string("rooms");
    static const ngx_str_t     admit = ngx_string("/admit");
    ngx_http_core_loc_conf_t  *clcf;
    ngx_str_t                  rest, token;
    u_char                    *p, *last;
    ngx_int_t                  rc;
    ngx_http_webcall_loc_conf_t  *wlcf;

    wlcf = (ngx_http_webcall_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_webcall_module);
    if (wlcf->refuse) {
        return ngx_http_webcall_api_refused(r, wlcf);
    }

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    rest = r->uri;
    last = rest.data + rest.len;

#if (NGX_PCRE)
    if (clcf->regex == NULL)
#endif
    {
        if (rest.len >= clcf->name.len) {
            rest.data += clcf->name.len;
            rest.len -= clcf->name.len;
        }
    }

    /* "rooms" or "rooms/<token>", with one optional leading slash (for a
     * location written without its trailing one) and trailing slash */
    if (rest.len > 0 && rest.data[0] == '/') {
        rest.data++;
        rest.len--;
    }

    if (rest.len > 0 && last[-1] == '/') {
        rest.len--;
    }

    if (rest.len == sizeof("health") - 1
        && ngx_strncmp(rest.data, "health", rest.len) == 0)
    {
        return ngx_http_webcall_api_health(r);
    }

    token.len = 0;
    token.data = NULL;

    if (rest.len < rooms.len
        || ngx_strncmp(rest.data, rooms.data, rooms.len) != 0
        || (rest.len > rooms.len && rest.data[rooms.len] != '/'))
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_webcall_api_error(r, api::error::not_found,
                                          "There is no such API address.");
    }

    if (rest.len > rooms.len) {
        token.data = rest.data + rooms.len + 1;
        token.len = rest.len - rooms.len - 1;

        /* rooms/<token>/admit: a PIN room's door */
        if (token.len > admit.len
            && ngx_strncmp(token.data + token.len - admit.len, admit.data,
                           admit.len) == 0)
        {
            token.len -= admit.len;

            if (ngx_strlchr(token.data, token.data + token.len, '/')
                == NULL)
            {
                return ngx_http_webcall_api_admit(r);
            }
        }

        for (p = token.data; p < token.data + token.len; p++) {
            if (*p == '/') {
                rc = ngx_http_discard_request_body(r);
                if (rc != NGX_OK) {
                    return rc;
                }

                return ngx_http_webcall_api_error(r, api::error::not_found,
                                            "There is no such API address.");
            }
        }
    }

    if (token.len == 0) {
        if (r->method != NGX_HTTP_POST) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            if (ngx_http_webcall_api_header(r, "Allow", "POST") != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            return ngx_http_webcall_api_error(r,
                                              api::error::method_not_allowed,
                                              NULL);
        }

        return ngx_http_webcall_api_create(r);
    }

    if (r->method == NGX_HTTP_DELETE) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_webcall_api_end(r, &token);
    }

    rc = ngx_http_webcall_api_read_only(r, "GET, HEAD, DELETE");
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_webcall_api_get(r, &token);
}


/* Another site's page can make its visitors' browsers POST here (a form,
 * or fetch with a "simple" body): those requests carry the other site's
 * Origin, or Sec-Fetch-Site: cross-site, and create no room. */
ngx_uint_t
ngx_http_webcall_api_same_site(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_loc_conf_t  *wlcf;
    ngx_table_elt_t              *site;

    wlcf = (ngx_http_webcall_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_webcall_module);

    site = ngx_http_webcall_header(r, "Sec-Fetch-Site");
    if (site != NULL && site->value.len == sizeof("cross-site") - 1
        && ngx_strncasecmp(site->value.data, (u_char *) "cross-site",
                           site->value.len) == 0
        && wlcf->allowed_origins == NULL)
    {
        return 0;
    }

    return ngx_http_webcall_origin_allowed(r, wlcf);
}


static ngx_int_t
ngx_http_webcall_api_create(ngx_http_request_t *r) noexcept
{
    ngx_int_t  rc;

    if (!ngx_http_webcall_api_same_site(r)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_webcall_api_error(r, api::error::cross_site, NULL);
    }

    /* refuse what is certainly too big before reading any of it */
    if (r->headers_in.content_length_n > (off_t) api::body_max) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_webcall_api_error(r, api::error::too_large, NULL);
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_webcall_api_create_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_webcall_api_create_body(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_webcall_room_info_t   info;
    ngx_http_webcall_zone_t       *zone;
    api::create_request            req;
    token::room                    room;
    u_char                         body[api::body_max];
    char                           text[token::text_max];
    char                           owner[token::owner_text_max];
    char                           pass[token::pass_text_max];
    char                           reply[NGX_HTTP_WEBCALL_REPLY_MAX];
    size_t                         body_len, text_len, reply_len, owner_len;
    size_t                         pass_len;
    unsigned                       max;
    api::error                     err;

    zone = ngx_http_webcall_api_zone(r);
    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    err = ngx_http_webcall_api_json_body(r, body, sizeof(body), &body_len);
    if (err != api::error::none) {
        ngx_http_finalize_request(r, ngx_http_webcall_api_error(r, err, NULL));
        return;
    }

    req = api::parse_create((const char *) body, body_len,
                            (unsigned) zone->max_participants);
    if (req.err != api::error::none) {
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, req.err, req.detail));
        return;
    }

    max = req.max_participants ? req.max_participants
                               : (unsigned) zone->participants;

    text_len = token::mint(wmcf->token_key, (uint8_t) max,
                           (uint32_t) ngx_time(), text, sizeof(text), &room,
                           req.one_time, req.pin);
    if (text_len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webcall: the CSPRNG failed to mint a room token");
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, api::error::internal, NULL));
        return;
    }

    if (ngx_http_webcall_room_create(zone, &room, r->connection->log, &info)
        != NGX_OK)
    {
        if (ngx_http_webcall_api_header(r, "Retry-After", "60") != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        ngx_http_finalize_request(r,
            ngx_http_webcall_api_error(r, api::error::zone_full, NULL));
        return;
    }

    ngx_http_webcall_count(zone, NGX_HTTP_WEBCALL_ROOMS_CREATED);

#if (NGX_DEBUG)
    {
    char  fp[webcall::log_redact::fingerprint_len];

    webcall::log_redact::fingerprint(std::string_view(text, text_len), fp);
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webcall: room %*s created for %ui", sizeof(fp), fp,
                   (ngx_uint_t) max);
    }
#endif

    owner_len = token::owner_key(wmcf->token_key, room.id, owner,
                                 sizeof(owner));

    /* the creator is never asked for the PIN they chose */
    pass_len = room.pin ? token::pass_key(wmcf->token_key, room.id, pass,
                                          sizeof(pass))
                        : 0;

    reply_len = api::write_created({std::string_view(text, text_len),
                                    info.expires_at, 0,
                                    (unsigned) info.max_participants,
                                    room.pin, {}},
                                   "/r/", std::string_view(owner, owner_len),
                                   reply, sizeof(reply),
                                   std::string_view(pass, pass_len));

    ngx_http_finalize_request(r,
        ngx_http_webcall_api_send(r, NGX_HTTP_CREATED, reply, reply_len));
}


/* NGX_DECLINED for a genuine token, else the error response (sent): 400
 * for text that is not a token, 404 for a forged one (as for an unknown
 * room). */
ngx_int_t
ngx_http_webcall_api_verify(ngx_http_request_t *r,
    ngx_http_webcall_main_conf_t *wmcf, std::string_view text,
    token::room *room) noexcept
{
    switch (token::verify(wmcf->token_key, text, room)) {
    case token::verdict::malformed:
        return ngx_http_webcall_api_error(r, api::error::bad_token, NULL);
    case token::verdict::forged:
        return ngx_http_webcall_api_error(r, api::error::not_found, NULL);
    case token::verdict::ok:
        break;
    }

    return NGX_DECLINED;
}


/* Which node of a fleet answers: the zone's random id. A call that moved
 * to another node when its own died compares it with its welcome's, to
 * go home when that node is back. Node ids are base58 (no escaping). */
static std::string_view
ngx_http_webcall_api_node(ngx_http_request_t *r) noexcept
{
    ngx_http_webcall_zone_t  *zone;

    zone = ngx_http_webcall_api_zone(r);
    return std::string_view((const char *) zone->sh->node,
                            NGX_HTTP_WEBCALL_PEER_ID);
}


static ngx_int_t
ngx_http_webcall_api_get(ngx_http_request_t *r, ngx_str_t *text) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_webcall_room_info_t   info;
    std::string_view               tv((const char *) text->data, text->len);
    token::room                    room;
    char                           reply[NGX_HTTP_WEBCALL_REPLY_MAX];
    size_t                         len;
    ngx_int_t                      rc;

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    rc = ngx_http_webcall_api_verify(r, wmcf, tv, &room);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    switch (ngx_http_webcall_room_visit(ngx_http_webcall_api_zone(r), &room,
                                        &info))
    {
    case NGX_OK:
        break;
    case NGX_ABORT:
        return ngx_http_webcall_api_error(r, api::error::ended, NULL);
    default:
        return ngx_http_webcall_api_error(r, api::error::not_found, NULL);
    }

    len = api::write_room({tv, info.expires_at,
                           (unsigned) info.participants,
                           (unsigned) info.max_participants, room.pin,
                           ngx_http_webcall_api_node(r)},
                          reply, sizeof(reply));

    return ngx_http_webcall_api_send(r, NGX_HTTP_OK, reply, len);
}


/* A request's small JSON body, copied into buf: too_large when it is over
 * cap or went to a temporary file, unsupported_media_type when a body is
 * not JSON; none (and *len 0) for no body at all. */
webcall::room_api::error
ngx_http_webcall_api_json_body(ngx_http_request_t *r, u_char *buf,
    size_t cap, size_t *len) noexcept
{
    if (ngx_http_webcall_api_body_text(r, buf, cap, len) != NGX_OK) {
        return api::error::too_large;
    }

    if (*len > 0 && !ngx_http_webcall_api_is_json(r)) {
        return api::error::unsupported_media_type;
    }

    return api::error::none;
}


/* Copies a small body out of the request's buffers; NGX_DECLINED when it is
 * larger than cap (a chunked body has no Content-Length to check first) or
 * was written to a temporary file. */
static ngx_int_t
ngx_http_webcall_api_body_text(ngx_http_request_t *r, u_char *buf,
    size_t cap, size_t *len) noexcept
{
    ngx_chain_t  *cl;
    size_t        size;

    *len = 0;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        if (cl->buf->in_file || !ngx_buf_in_memory(cl->buf)) {
            if (ngx_buf_size(cl->buf) == 0) {
                continue;
            }

            return NGX_DECLINED;
        }

        size = cl->buf->last - cl->buf->pos;
        if (*len + size > cap) {
            return NGX_DECLINED;
        }

        ngx_memcpy(buf + *len, cl->buf->pos, size);
        *len += size;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_webcall_api_is_json(ngx_http_request_t *r) noexcept
{
    static const ngx_str_t  json = ngx_string("application/json");
    ngx_table_elt_t        *ct;
    u_char                 *p, *end;

    ct = r->headers_in.content_type;
    if (ct == NULL || ct->value.len < json.len
        || ngx_strncasecmp(ct->value.data, json.data, json.len) != 0)
    {
        return 0;
    }

    /* "application/json" alone, or followed by parameters (";charset=") */
    p = ct->value.data + json.len;
    end = ct->value.data + ct->value.len;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p == end || *p == ';';
}


ngx_int_t
ngx_http_webcall_api_error(ngx_http_request_t *r, api::error e,
    const char *detail) noexcept
{
    char    body[NGX_HTTP_WEBCALL_REPLY_MAX];
    size_t  len;

    len = api::write_error(e, detail, body, sizeof(body));

    return ngx_http_webcall_api_send(r, api::describe(e).status, body, len);
}


ngx_int_t
ngx_http_webcall_api_header(ngx_http_request_t *r, const char *name,
    const char *value) noexcept
{
    ngx_table_elt_t  *h;

    h = (ngx_table_elt_t *) ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = std::strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = std::strlen(value);

    return NGX_OK;
}


ngx_int_t
ngx_http_webcall_api_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *body, size_t len) noexcept
{
    static const ngx_str_t  type = ngx_string("application/json");
    ngx_chain_t             out;
    ngx_buf_t              *b;
    ngx_int_t               rc;

    if (len == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = type;
    r->headers_out.content_type_len = type.len;
    r->headers_out.content_length_n = len;

    if (ngx_http_webcall_api_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, body, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
