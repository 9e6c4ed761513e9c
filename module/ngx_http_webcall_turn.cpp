/*
 * webcall: the TURN directives: the secret (its own file or coturn's
 * configuration), the ICE server URLs and the size of the list they make,
 * and the URLs each signaling connection is given.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_conf.h"

#include "turn_credentials.h"

#include <cerrno>
#include <sys/stat.h>


static ngx_uint_t ngx_http_webcall_coturn_conf_missing(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf, ngx_str_t *path) noexcept;
static ngx_int_t ngx_http_webcall_check_ice_size(ngx_conf_t *cf,
    ngx_str_t *urls, ngx_uint_t n) noexcept;


/* A webcall_turn_coturn_conf file that does not exist means coturn is not
 * installed yet: TURN is off, and nginx says so once it has read http{}. */
static ngx_uint_t
ngx_http_webcall_coturn_conf_missing(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf, ngx_str_t *path) noexcept
{
    struct stat  st;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return 0;
    }

    if (stat((const char *) path->data, &st) == 0 || errno != ENOENT) {
        return 0;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "\"webcall_turn_coturn_conf\": \"%V\" does not "
                       "exist, so TURN is off (install coturn and set it "
                       "up with webcall-turn-setup)", path);
    wmcf->turn_off = "coturn is not set up";

    return 1;
}


/* webcall_turn_secret_file PATH;  (the secret itself, as in coturn's
 *                                  static-auth-secret)
 * webcall_turn_coturn_conf PATH;  (coturn's own turnserver.conf) */
char *
ngx_http_webcall_turn_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t *wmcf = (ngx_http_webcall_main_conf_t *) conf;
    const char                   *name = (const char *) cmd->name.data;
    ngx_uint_t                    coturn;
    std::string_view              secret;
    ngx_str_t                    *value, path;
    u_char                        buf[65536];
    ssize_t                       n;

    coturn = *(ngx_http_webcall_turn_source_e *) cmd->post
             == NGX_HTTP_WEBCALL_TURN_COTURN_CONF;

    if (wmcf->turn_secret.len != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": the TURN secret is already set; use "
                           "either webcall_turn_secret_file or "
                           "webcall_turn_coturn_conf, once", name);
        return (char *) NGX_CONF_ERROR;
    }

    value = (ngx_str_t *) cf->args->elts;
    path = value[1];

    /* coturn's own file is named in the packaged snippet before coturn is
     * set up: a missing one, or Debian's stock one without a secret, turns
     * TURN off with a warning (see init_main_conf) instead of stopping
     * nginx */
    if (coturn && ngx_http_webcall_coturn_conf_missing(cf, wmcf, &path))
    {
        return NGX_CONF_OK;
    }

    /* coturn's own file is group turnserver by design; ours is private */
    n = ngx_http_webcall_read_conf_file(cf, name, &path, buf, sizeof(buf),
                                        !coturn,
                                        coturn ? NULL
                                        : "it may be webcall_secret_file's "
                                          "file; or make one: umask 077; "
                                          "openssl rand -hex 32 >");
    if (n < 0) {
        return (char *) NGX_CONF_ERROR;
    }

    secret = std::string_view((const char *) buf, (size_t) n);

    if (coturn) {
        secret = webcall::turn::coturn_secret(secret);
        if (secret.empty()) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"%s\": \"%V\" has no static-auth-secret= "
                               "line, so TURN is off (set coturn up for "
                               "webcall with webcall-turn-setup or "
                               "turn/render.sh)", name, &path);
            wmcf->turn_off = "coturn has no static-auth-secret";
            ngx_explicit_memzero(buf, sizeof(buf));
            return NGX_CONF_OK;
        }

    } else {
        secret = ngx_http_webcall_trim_end(secret);
    }

    if (secret.size() < webcall::turn::secret_min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": the TURN secret in \"%V\" has %uz "
                           "bytes; it needs at least %uz", name, &path,
                           secret.size(), webcall::turn::secret_min);
        ngx_explicit_memzero(buf, sizeof(buf));
        return (char *) NGX_CONF_ERROR;
    }

    wmcf->turn_secret.len = secret.size();
    wmcf->turn_secret.data = (u_char *) ngx_pnalloc(cf->pool, secret.size());
    if (wmcf->turn_secret.data == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    ngx_memcpy(wmcf->turn_secret.data, secret.data(), secret.size());
    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_CONF_OK;
}


/* webcall_turn_urls stun:turn.example.org:3478
 *                   turn:turn.example.org:3478?transport=udp ...; */
char *
ngx_http_webcall_turn_urls(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t      *wmcf;
    ngx_http_compile_complex_value_t   ccv;
    ngx_http_complex_value_t          *cv;
    ngx_str_t                         *value;
    ngx_uint_t                         i;

    wmcf = (ngx_http_webcall_main_conf_t *) conf;

    if (wmcf->turn_urls != NULL) {
        return (char *) "is duplicate";
    }

    if (cf->args->nelts - 1 > NGX_HTTP_WEBCALL_TURN_URLS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_turn_urls\" takes at most %d URLs",
                           NGX_HTTP_WEBCALL_TURN_URLS);
        return (char *) NGX_CONF_ERROR;
    }

    wmcf->turn_urls = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                       sizeof(ngx_http_complex_value_t));
    if (wmcf->turn_urls == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    value = (ngx_str_t *) cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (webcall::turn::check_url_template({(const char *) value[i].data,
                                               value[i].len})
            == webcall::turn::url_kind::invalid)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_turn_urls\": \"%V\" is not a "
                               "stun:, turn: or turns: URL (e.g. "
                               "turn:$host:3478?transport=udp, "
                               "turns:turn.example.org:443?transport=tcp)",
                               &value[i]);
            return (char *) NGX_CONF_ERROR;
        }

        cv = (ngx_http_complex_value_t *) ngx_array_push(wmcf->turn_urls);
        if (cv == NULL) {
            return (char *) NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return (char *) NGX_CONF_ERROR;
        }

        if (cv->lengths != NULL) {
            wmcf->turn_urls_vary = 1;
        }
    }

    if (ngx_http_webcall_check_ice_size(cf, &value[1], cf->args->nelts - 1)
        != NGX_OK)
    {
        return (char *) NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* The iceServers list a participant is given must fit its buffer
 * (NGX_HTTP_WEBCALL_ICE_JSON), with the longest username and credential
 * it can carry. A URL without variables is exact; a variable ($host) is
 * counted as one character, so a list refused here can never fit, and one
 * whose variables come out long is refused at run time with an error
 * line (ngx_http_webcall_ice_servers). */
static ngx_int_t
ngx_http_webcall_check_ice_size(ngx_conf_t *cf, ngx_str_t *urls,
    ngx_uint_t n) noexcept
{
    /* "<expiry>:<peer id>" with the largest expiry there is */
    static const char  user[] = "9223372036854775807:12345678";
    std::string_view   views[NGX_HTTP_WEBCALL_TURN_URLS];
    char               cred[webcall::turn::credential_len];
    char              *p, *json;
    size_t             total, len, need;
    ngx_uint_t         i;

    total = 0;
    for (i = 0; i < n; i++) {
        total += urls[i].len;
    }

    p = (char *) ngx_pnalloc(cf->temp_pool, total + 1);
    need = total + 4 * n + 256;
    json = (char *) ngx_pnalloc(cf->temp_pool, need);
    if (p == NULL || json == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        len = webcall::turn::expand_template(
                  {(const char *) urls[i].data, urls[i].len}, "a", p,
                  urls[i].len);
        views[i] = std::string_view(p, len);
        p += len;
    }

    ngx_memset(cred, 'A', sizeof(cred));

    len = webcall::turn::ice_servers_json(views, n,
              {user, sizeof(user) - 1}, {cred, sizeof(cred)}, json,
              NGX_HTTP_WEBCALL_ICE_JSON);
    if (len > 0) {
        return NGX_OK;
    }

    len = webcall::turn::ice_servers_json(views, n,
              {user, sizeof(user) - 1}, {cred, sizeof(cred)}, json, need);

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"webcall_turn_urls\": these %ui URLs make an ICE "
                       "server list of %s%uz bytes with its TURN "
                       "credentials, more than the %d a participant's "
                       "messages hold; list fewer or shorter URLs", n,
                       len == 0 ? "over " : "", len == 0 ? need : len,
                       NGX_HTTP_WEBCALL_ICE_JSON);

    return NGX_ERROR;
}


/* The URLs one connection is given: variables such as $host are those of
 * its own request, evaluated once per connection (the caller keeps them),
 * and a URL that comes out malformed is left out. TURN URLs are left out
 * while TURN is off. Returns how many were written to urls. */
ngx_uint_t
ngx_http_webcall_turn_urls_eval(ngx_http_request_t *r,
    std::string_view *urls, ngx_uint_t cap) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_complex_value_t      *cv;
    webcall::turn::url_kind        kind;
    ngx_str_t                      val;
    ngx_uint_t                     i, n;

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_get_module_main_conf(r, ngx_http_webcall_module);

    if (wmcf->turn_urls == NULL) {
        return 0;
    }

    cv = (ngx_http_complex_value_t *) wmcf->turn_urls->elts;
    n = 0;

    for (i = 0; i < wmcf->turn_urls->nelts && n < cap; i++) {
        if (ngx_http_complex_value(r, &cv[i], &val) != NGX_OK) {
            continue;
        }

        kind = webcall::turn::check_url({(const char *) val.data, val.len});

        if (kind == webcall::turn::url_kind::invalid) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "webcall: ICE server URL \"%V\" left out: not a "
                          "valid stun:, turn: or turns: URL for this "
                          "request", &val);
            continue;
        }

        if (kind == webcall::turn::url_kind::turn
            && wmcf->turn_secret.len == 0)
        {
            continue;
        }

        urls[n++] = std::string_view((const char *) val.data, val.len);
    }

    return n;
}
