/*
 * webcall: room links out of the logs. A room token in a URI is the key to
 * the call, so whoever reads a log line with one can join. Two measures:
 *
 *   - the request line ($request, and the "request:" of error-log lines)
 *     has every token cut to "~" and a 6-digit fingerprint, from the first
 *     phase on, so even a log_format the sysadmin wrote before webcall was
 *     there is safe;
 *   - $webcall_uri (the URI, redacted the same way), $webcall_room (the
 *     fingerprint alone) and $webcall_peer (the participant's peer id, on
 *     a signaling connection) for a log_format of webcall's own.
 *
 * The redaction itself is the pure unit module/core/log_redact.
 */

#include "ngx_http_webcall_module.h"

#include "log_redact.h"

namespace redact = webcall::log_redact;


static ngx_int_t ngx_http_webcall_uri_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept;
static ngx_int_t ngx_http_webcall_room_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept;
static ngx_int_t ngx_http_webcall_peer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept;


static ngx_int_t ngx_http_webcall_set_variable(
    ngx_http_variable_value_t *v, u_char *data, size_t len,
    unsigned no_cacheable) noexcept;

static ngx_http_variable_t  ngx_http_webcall_log_vars[] = {
    { ngx_string("webcall_uri"), NULL, ngx_http_webcall_uri_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },
    /* changeable: deploy/scale-out/front.conf maps its own $webcall_room,
     * and a front that loads the module too must still take that */
    { ngx_string("webcall_room"), NULL, ngx_http_webcall_room_variable, 0,
      NGX_HTTP_VAR_CHANGEABLE, 0 },
    { ngx_string("webcall_peer"), NULL, ngx_http_webcall_peer_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },
};


ngx_int_t
ngx_http_webcall_log_add_variables(ngx_conf_t *cf) noexcept
{
    ngx_http_variable_t  *var, *v;
    ngx_uint_t            i;

    for (i = 0; i < sizeof(ngx_http_webcall_log_vars)
                    / sizeof(ngx_http_webcall_log_vars[0]); i++)
    {
        v = &ngx_http_webcall_log_vars[i];
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* s redacted into the request pool; s itself when it holds no token. */
static ngx_int_t
ngx_http_webcall_redacted(ngx_http_request_t *r, ngx_str_t *s,
    ngx_str_t *out) noexcept
{
    std::string_view  in((const char *) s->data, s->len);
    u_char           *p;

    if (redact::find_token(in).empty()) {
        *out = *s;
        return NGX_OK;
    }

    p = (u_char *) ngx_pnalloc(r->pool, s->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = redact::redact(in, (char *) p, s->len);

    return NGX_OK;
}


/* The first phase of every request: its request line loses its token
 * before anything can log it. */
static ngx_int_t
ngx_http_webcall_redact_handler(ngx_http_request_t *r) noexcept
{
    ngx_str_t  line;

    if (r->request_line.len == 0
        || ngx_http_webcall_redacted(r, &r->request_line, &line) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    r->request_line = line;

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_webcall_log_init(ngx_conf_t *cf) noexcept
{
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_handler_pt        *h;

    cmcf = (ngx_http_core_main_conf_t *)
               ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = (ngx_http_handler_pt *) ngx_array_push(
            &cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_webcall_redact_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webcall_set_variable(ngx_http_variable_value_t *v, u_char *data,
    size_t len, unsigned no_cacheable) noexcept
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = no_cacheable;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webcall_uri_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept
{
    ngx_str_t  out;

    if (ngx_http_webcall_redacted(r, &r->unparsed_uri, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_webcall_set_variable(v, out.data, out.len, 0);
}


static ngx_int_t
ngx_http_webcall_room_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept
{
    std::string_view  token;
    u_char           *p;

    token = redact::find_token(std::string_view(
                (const char *) r->unparsed_uri.data, r->unparsed_uri.len));
    if (token.empty()) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = (u_char *) ngx_pnalloc(r->pool, redact::fingerprint_len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    redact::fingerprint(token, (char *) p);

    return ngx_http_webcall_set_variable(v, p, redact::fingerprint_len, 0);
}


static ngx_int_t
ngx_http_webcall_peer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept
{
    ngx_str_t  id;

    if (ngx_http_webcall_session_peer(r, &id) != NGX_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_webcall_set_variable(v, id.data, id.len, 1);
}
