/*
 * webcall: what the rooms API's two files share: the reply and request
 * helpers of ngx_http_webcall_api.cpp, the endpoints of _api_room.cpp.
 */
#pragma once

#include "ngx_http_webcall_module.h"

#include "room_api.h"


#define NGX_HTTP_WEBCALL_REPLY_MAX  512


/* ngx_http_webcall_api.cpp */
ngx_http_webcall_zone_t *ngx_http_webcall_api_zone(ngx_http_request_t *r)
    noexcept;
ngx_uint_t ngx_http_webcall_api_same_site(ngx_http_request_t *r) noexcept;
/* NGX_DECLINED for a genuine token, else the error response (sent) */
ngx_int_t ngx_http_webcall_api_verify(ngx_http_request_t *r,
    ngx_http_webcall_main_conf_t *wmcf, std::string_view text,
    webcall::room_token::room *room) noexcept;
ngx_int_t ngx_http_webcall_api_error(ngx_http_request_t *r,
    webcall::room_api::error e, const char *detail) noexcept;
ngx_int_t ngx_http_webcall_api_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *body, size_t len) noexcept;
ngx_int_t ngx_http_webcall_api_header(ngx_http_request_t *r,
    const char *name, const char *value) noexcept;
webcall::room_api::error ngx_http_webcall_api_json_body(
    ngx_http_request_t *r, u_char *buf, size_t cap, size_t *len) noexcept;

/* ngx_http_webcall_api_room.cpp */
ngx_int_t ngx_http_webcall_api_end(ngx_http_request_t *r, ngx_str_t *text)
    noexcept;
ngx_int_t ngx_http_webcall_api_admit(ngx_http_request_t *r) noexcept;
