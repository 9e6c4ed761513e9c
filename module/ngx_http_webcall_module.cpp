/*
 * webcall: the module definition, its directives and their checks. Every
 * mistake in nginx.conf is refused by "nginx -t" with a sentence that names
 * the directive and says what to write instead.
 */

#include "ngx_http_webcall_module.h"

#include "room_api.h"
#include "turn_credentials.h"
#include "client_key.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>


static void *ngx_http_webcall_create_main_conf(ngx_conf_t *cf) noexcept;
static ngx_int_t ngx_http_webcall_check_turn(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf) noexcept;
static ngx_uint_t ngx_http_webcall_coturn_conf_missing(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf, ngx_str_t *path) noexcept;
static char *ngx_http_webcall_init_main_conf(ngx_conf_t *cf, void *conf)
    noexcept;
static void *ngx_http_webcall_create_loc_conf(ngx_conf_t *cf) noexcept;
static char *ngx_http_webcall_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child) noexcept;
static char *ngx_http_webcall_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static char *ngx_http_webcall_zone_param(ngx_conf_t *cf,
    ngx_http_webcall_zone_t *zone, ngx_str_t *param) noexcept;
static char *ngx_http_webcall_use_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static char *ngx_http_webcall_api_refuse(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static char *ngx_http_webcall_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static ngx_int_t ngx_http_webcall_init_module(ngx_cycle_t *cycle) noexcept;
static char *ngx_http_webcall_ended_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static char *ngx_http_webcall_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static ngx_http_webcall_zone_t *ngx_http_webcall_find_zone(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf, ngx_str_t *name) noexcept;
static char *ngx_http_webcall_allowed_origins(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf) noexcept;
static char *ngx_http_webcall_signal_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static char *ngx_http_webcall_turn_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static char *ngx_http_webcall_turn_urls(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
static ssize_t ngx_http_webcall_read_conf_file(ngx_conf_t *cf,
    const char *directive, ngx_str_t *path, u_char *buf, size_t cap,
    ngx_uint_t secret, const char *make) noexcept;
static std::string_view ngx_http_webcall_trim_end(std::string_view s)
    noexcept;
static ngx_int_t ngx_http_webcall_check_ice_size(ngx_conf_t *cf,
    ngx_str_t *urls, ngx_uint_t n) noexcept;
static char *ngx_http_webcall_check_bounds(ngx_conf_t *cf, void *post,
    void *data) noexcept;
static ngx_int_t ngx_http_webcall_init_process(ngx_cycle_t *cycle) noexcept;
static void ngx_http_webcall_exit_process(ngx_cycle_t *cycle) noexcept;


/* A plain number's range, checked by nginx's ngx_conf_check_num_bounds as
 * soon as the directive is read; says is the rule in words, which nginx -t
 * prints after the directive's name. bounds comes first: nginx calls the
 * post handler through it. */
typedef struct {
    ngx_conf_num_bounds_t  bounds;
    const char            *says;
} ngx_http_webcall_bounds_t;

/* ngx_conf_check_num_bounds reads an ngx_int_t; sizes, times and
 * milliseconds are stored in types of the same width */
static_assert(sizeof(size_t) == sizeof(ngx_int_t)
              && sizeof(time_t) == sizeof(ngx_int_t)
              && sizeof(ngx_msec_t) == sizeof(ngx_int_t));

static ngx_http_webcall_bounds_t  ngx_http_webcall_max_message_bounds = {
    { ngx_http_webcall_check_bounds, 1024, 16 * 1024 * 1024 },
    "must be between 1k and 16m (an SDP offer needs a few KB)"
};

static ngx_http_webcall_bounds_t  ngx_http_webcall_ping_interval_bounds = {
    { ngx_http_webcall_check_bounds, 100, -1 },
    "must be at least 100ms"
};

static ngx_http_webcall_bounds_t  ngx_http_webcall_join_timeout_bounds = {
    { ngx_http_webcall_check_bounds, 100, 60 * 1000 },
    "must be between 100ms and 1m (a page joins at once; slow networks "
    "need a few seconds)"
};

static ngx_http_webcall_bounds_t  ngx_http_webcall_grace_bounds = {
    { ngx_http_webcall_check_bounds, 0, 3600 * 1000 },
    "must be at most 1h"
};

static ngx_http_webcall_bounds_t  ngx_http_webcall_turn_ttl_bounds = {
    { ngx_http_webcall_check_bounds, 60, -1 },
    "must be at least 1m; TURN credentials must outlive a call's set-up"
};

/* What a TURN secret directive reads (its cmd->post). */
typedef enum {
    NGX_HTTP_WEBCALL_TURN_SECRET_FILE,   /* the secret itself, private */
    NGX_HTTP_WEBCALL_TURN_COTURN_CONF    /* coturn's turnserver.conf */
} ngx_http_webcall_turn_source_e;

static ngx_http_webcall_turn_source_e  ngx_http_webcall_turn_own =
    NGX_HTTP_WEBCALL_TURN_SECRET_FILE;
static ngx_http_webcall_turn_source_e  ngx_http_webcall_turn_coturn =
    NGX_HTTP_WEBCALL_TURN_COTURN_CONF;

/* The content handler a zone directive gives its location (cmd->post). */
static ngx_http_handler_pt  ngx_http_webcall_api_content =
    ngx_http_webcall_api_handler;
static ngx_http_handler_pt  ngx_http_webcall_signal_content =
    ngx_http_webcall_signal_handler;


static ngx_command_t  ngx_http_webcall_commands[] = {

    { ngx_string("webcall_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_webcall_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webcall_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webcall_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webcall_ended_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webcall_ended_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webcall_turn_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webcall_turn_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      &ngx_http_webcall_turn_own },

    { ngx_string("webcall_turn_coturn_conf"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webcall_turn_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      &ngx_http_webcall_turn_coturn },

    { ngx_string("webcall_turn_urls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_webcall_turn_urls,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webcall_turn_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_webcall_main_conf_t, turn_ttl),
      &ngx_http_webcall_turn_ttl_bounds },

    { ngx_string("webcall_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webcall_use_zone,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, api_zone),
      &ngx_http_webcall_api_content },

    { ngx_string("webcall_api_refuse"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_webcall_api_refuse,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, api_zone),
      &ngx_http_webcall_api_content },

    { ngx_string("webcall_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webcall_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webcall_signal"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webcall_use_zone,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, signal_zone),
      &ngx_http_webcall_signal_content },

    { ngx_string("webcall_allowed_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webcall_allowed_origins,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, allowed_origins),
      NULL },

    { ngx_string("webcall_ws_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, max_message),
      &ngx_http_webcall_max_message_bounds },

    { ngx_string("webcall_ws_send_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, send_queue),
      NULL },

    { ngx_string("webcall_ws_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, ping_interval),
      &ngx_http_webcall_ping_interval_bounds },

    { ngx_string("webcall_ws_join_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, join_timeout),
      &ngx_http_webcall_join_timeout_bounds },

    { ngx_string("webcall_signal_grace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, grace),
      &ngx_http_webcall_grace_bounds },

    { ngx_string("webcall_beacons"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webcall_loc_conf_t, beacons),
      NULL },

    { ngx_string("webcall_signal_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_webcall_signal_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_int_t ngx_http_webcall_add_variables(ngx_conf_t *cf) noexcept;
static ngx_int_t ngx_http_webcall_inbox_zone(ngx_conf_t *cf,
    ngx_http_webcall_zone_t *zone) noexcept;
static ngx_int_t ngx_http_webcall_client_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept;


static ngx_http_module_t  ngx_http_webcall_module_ctx = {
    ngx_http_webcall_add_variables,        /* preconfiguration */
    ngx_http_webcall_log_init,             /* postconfiguration */

    ngx_http_webcall_create_main_conf,     /* create main configuration */
    ngx_http_webcall_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_webcall_create_loc_conf,      /* create location configuration */
    ngx_http_webcall_merge_loc_conf        /* merge location configuration */
};


extern "C" {

ngx_module_t  ngx_http_webcall_module = {
    NGX_MODULE_V1,
    &ngx_http_webcall_module_ctx,          /* module context */
    ngx_http_webcall_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_webcall_init_module,          /* init module */
    ngx_http_webcall_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_webcall_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};

}


/* $webcall_client_key: what per-client limits count by (limit_req on room
 * creation, limit_conn on /ws/ in the shipped snippets): the IPv4
 * address, or the /64 of an IPv6 one, binary like $binary_remote_addr. */
static ngx_int_t
ngx_http_webcall_add_variables(ngx_conf_t *cf) noexcept
{
    static ngx_str_t      name = ngx_string("webcall_client_key");
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_webcall_client_key_variable;

    return ngx_http_webcall_log_add_variables(cf);
}


static ngx_int_t
ngx_http_webcall_client_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data) noexcept
{
    struct sockaddr  *sa = r->connection->sockaddr;
    const uint8_t    *addr;
    u_char           *key;
    bool              v6;

    switch (sa->sa_family) {
    case AF_INET:
        addr = (const uint8_t *) &((struct sockaddr_in *) sa)->sin_addr;
        v6 = false;
        break;
#if (NGX_HAVE_INET6)
    case AF_INET6:
        addr = ((struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
        v6 = true;
        break;
#endif
    default:
        /* a Unix socket: every client is the same one, as for
         * $binary_remote_addr */
        v->not_found = 1;
        return NGX_OK;
    }

    key = (u_char *) ngx_pnalloc(r->pool, webcall::client_key::max_len);
    if (key == NULL) {
        return NGX_ERROR;
    }

    v->len = webcall::client_key::of(addr, v6, key);
    v->data = key;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_webcall_create_main_conf(ngx_conf_t *cf) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_pcalloc(cf->pool, sizeof(ngx_http_webcall_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    wmcf->turn_ttl = NGX_CONF_UNSET;

    if (ngx_array_init(&wmcf->zones, cf->pool, 2,
                       sizeof(ngx_http_webcall_zone_t *))
        != NGX_OK
        || ngx_array_init(&wmcf->refs, cf->pool, 4,
                          sizeof(ngx_http_webcall_zone_ref_t))
           != NGX_OK)
    {
        return NULL;
    }

    return wmcf;
}


/* TURN URLs need a secret to mint credentials with (unless TURN was turned
 * off on purpose above: coturn not set up yet); and signaling without any
 * TURN server works only where two browsers can reach each other, so
 * nginx -t says what that costs. */
static ngx_int_t
ngx_http_webcall_check_turn(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf) noexcept
{
    ngx_http_webcall_zone_ref_t  *refs;
    ngx_http_complex_value_t     *cv;
    ngx_uint_t                    i, turn_urls, signal;
    const char                   *why;

    turn_urls = 0;
    cv = wmcf->turn_urls ? (ngx_http_complex_value_t *) wmcf->turn_urls->elts
                         : NULL;

    for (i = 0; cv != NULL && i < wmcf->turn_urls->nelts; i++) {
        if (webcall::turn::check_url_template(
                {(const char *) cv[i].value.data, cv[i].value.len})
            != webcall::turn::url_kind::turn)
        {
            continue;
        }

        turn_urls++;

        if (wmcf->turn_secret.len == 0 && wmcf->turn_off == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"webcall_turn_urls\" lists \"%V\" but "
                          "there is no TURN secret to mint credentials "
                          "with: add \"webcall_turn_secret_file\" or "
                          "\"webcall_turn_coturn_conf\"", &cv[i].value);
            return NGX_ERROR;
        }
    }

    refs = (ngx_http_webcall_zone_ref_t *) wmcf->refs.elts;
    signal = wmcf->refs.nelts;

    for (i = 0; i < wmcf->refs.nelts; i++) {
        if (ngx_strcmp(refs[i].directive, "webcall_signal") == 0) {
            signal = i;
            break;
        }
    }

    if (signal == wmcf->refs.nelts
        || (turn_urls > 0 && wmcf->turn_secret.len > 0))
    {
        return NGX_OK;
    }

    why = wmcf->turn_off ? wmcf->turn_off
          : turn_urls == 0 ? "no turn: URL in webcall_turn_urls"
          : "no TURN secret";

    ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                  "\"webcall_signal\" in %V:%ui has no TURN server (%s): "
                  "calls between two networks that block direct "
                  "connections (many mobile, office and hotel networks) "
                  "will hang on \"Connecting\"; set up coturn "
                  "(webcall-turn-setup) and give nginx "
                  "\"webcall_turn_coturn_conf\" and \"webcall_turn_urls\"",
                  &refs[signal].file, refs[signal].line, why);

    return NGX_OK;
}


/* Runs after the whole http{} block is read: every zone a location names
 * must have been declared, and rooms need the secret that signs them. */
static char *
ngx_http_webcall_init_main_conf(ngx_conf_t *cf, void *conf) noexcept
{
    ngx_http_webcall_main_conf_t *wmcf = (ngx_http_webcall_main_conf_t *) conf;
    ngx_http_webcall_zone_ref_t  *refs;
    ngx_uint_t                    i;

    refs = (ngx_http_webcall_zone_ref_t *) wmcf->refs.elts;

    for (i = 0; i < wmcf->refs.nelts; i++) {
        if (!refs[i].zone->declared) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%s\" uses the unknown zone \"%V\" in %V:%ui; "
                          "declare it in http {} with "
                          "\"webcall_zone %V:10m;\"",
                          refs[i].directive, &refs[i].zone->name,
                          &refs[i].file, refs[i].line, &refs[i].zone->name);
            return (char *) NGX_CONF_ERROR;
        }
    }

    /* short: a leaked or hoarded credential is worth an hour of relay;
     * pages renew theirs before they expire (web/src/credentials.ts) */
    ngx_conf_init_value(wmcf->turn_ttl, 60 * 60);

    if (ngx_http_webcall_check_turn(cf, wmcf) != NGX_OK) {
        return (char *) NGX_CONF_ERROR;
    }

    if (wmcf->refs.nelts > 0 && !wmcf->have_secret) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" in %V:%ui needs \"webcall_secret_file\" in "
                      "http {}: the secret that signs room links "
                      "(create one with: openssl rand -hex 32 > "
                      "/etc/webcall/secret)",
                      refs[0].directive, &refs[0].file, refs[0].line);
        return (char *) NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* The master, once the configuration is read and the zones are set up:
 * the ended-rooms file exists and belongs to the workers' user, so that a
 * worker can append to it. */
static ngx_int_t
ngx_http_webcall_init_module(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;

    if (ngx_get_conf(cycle->conf_ctx, ngx_http_module) == NULL) {
        return NGX_OK;
    }

    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_cycle_get_module_main_conf(cycle,
                                                   ngx_http_webcall_module);
    if (wmcf == NULL || wmcf->ended_file.len == 0) {
        return NGX_OK;
    }

    return ngx_http_webcall_ended_file_init(cycle, &wmcf->ended_file);
}


/* webcall_ended_file PATH;  where rooms ended by their host are kept, so a
 * restart does not bring their links back. */
static char *
ngx_http_webcall_ended_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t *wmcf = (ngx_http_webcall_main_conf_t *) conf;
    ngx_str_t                    *value;

    if (wmcf->ended_file.data != NULL) {
        return (char *) "is duplicate";
    }

    value = (ngx_str_t *) cf->args->elts;
    wmcf->ended_file = value[1];

    if (wmcf->ended_file.len == 0) {
        return (char *) "needs a file name";
    }

    if (ngx_conf_full_name(cf->cycle, &wmcf->ended_file, 1) != NGX_OK) {
        return (char *) NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_webcall_init_process(ngx_cycle_t *cycle) noexcept
{
    return ngx_http_webcall_ipc_init_process(cycle);
}


static void
ngx_http_webcall_exit_process(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_ipc_exit_process(cycle);
}


static void *
ngx_http_webcall_create_loc_conf(ngx_conf_t *cf) noexcept
{
    ngx_http_webcall_loc_conf_t  *wlcf;

    /* NULL zones and origins mean "not set" */
    wlcf = (ngx_http_webcall_loc_conf_t *)
               ngx_pcalloc(cf->pool, sizeof(ngx_http_webcall_loc_conf_t));
    if (wlcf == NULL) {
        return NULL;
    }

    wlcf->allowed_origins = (ngx_array_t *) NGX_CONF_UNSET_PTR;
    wlcf->max_message = NGX_CONF_UNSET_SIZE;
    wlcf->send_queue = NGX_CONF_UNSET_SIZE;
    wlcf->ping_interval = NGX_CONF_UNSET_MSEC;
    wlcf->join_timeout = NGX_CONF_UNSET_MSEC;
    wlcf->grace = NGX_CONF_UNSET_MSEC;
    wlcf->rate_messages = NGX_CONF_UNSET_UINT;
    wlcf->rate_bytes = NGX_CONF_UNSET_SIZE;
    wlcf->beacons = NGX_CONF_UNSET;

    return wlcf;
}


static char *
ngx_http_webcall_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
    noexcept
{
    ngx_http_webcall_loc_conf_t *prev = (ngx_http_webcall_loc_conf_t *) parent;
    ngx_http_webcall_loc_conf_t *conf = (ngx_http_webcall_loc_conf_t *) child;

    /* the zones (handlers) are per location and not inherited; the
     * WebSocket settings are, like most nginx settings */
    ngx_conf_merge_ptr_value(conf->allowed_origins, prev->allowed_origins,
                             NULL);
    ngx_conf_merge_value(conf->beacons, prev->beacons, 1);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message,
                              64 * 1024);
    ngx_conf_merge_size_value(conf->send_queue, prev->send_queue,
                              256 * 1024);
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              30000);
    /* a page sends join right after the WebSocket opens; a connection
     * that holds a slot without joining is someone filling
     * worker_connections */
    ngx_conf_merge_msec_value(conf->join_timeout, prev->join_timeout, 5000);
    ngx_conf_merge_msec_value(conf->grace, prev->grace, 20000);
    ngx_conf_merge_uint_value(conf->rate_messages, prev->rate_messages, 50);
    ngx_conf_merge_size_value(conf->rate_bytes, prev->rate_bytes,
                              256 * 1024);

    if (conf->send_queue < conf->max_message + 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_ws_send_queue\" must be larger than "
                           "\"webcall_ws_max_message\" (%uz), or one "
                           "message could never be sent", conf->max_message);
        return (char *) NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* The post handler of a plain number: nginx's own range check, then the
 * rule in words, which nginx -t prints as "\"<directive>\" directive
 * <says>". */
static char *
ngx_http_webcall_check_bounds(ngx_conf_t *cf, void *post, void *data)
    noexcept
{
    ngx_http_webcall_bounds_t  *b = (ngx_http_webcall_bounds_t *) post;

    if (ngx_conf_check_num_bounds(cf, &b->bounds, data) != NGX_CONF_OK) {
        return (char *) b->says;
    }

    return NGX_CONF_OK;
}


/* webcall_allowed_origins https://app.example.org ...; */
static char *
ngx_http_webcall_allowed_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept
{
    ngx_http_webcall_loc_conf_t  *wlcf = (ngx_http_webcall_loc_conf_t *) conf;
    ngx_str_t                    *value, *origin;
    ngx_uint_t                    i;

    if (wlcf->allowed_origins != NGX_CONF_UNSET_PTR) {
        return (char *) "is duplicate";
    }

    wlcf->allowed_origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                             sizeof(ngx_str_t));
    if (wlcf->allowed_origins == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    value = (ngx_str_t *) cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strlcasestrn(value[i].data, value[i].data + value[i].len,
                             (u_char *) "://", 3 - 1) == NULL
            || value[i].data[value[i].len - 1] == '/')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_allowed_origins\" takes origins "
                               "like https://call.example.org (scheme, host, "
                               "optional port, no path), not \"%V\"",
                               &value[i]);
            return (char *) NGX_CONF_ERROR;
        }

        origin = (ngx_str_t *) ngx_array_push(wlcf->allowed_origins);
        if (origin == NULL) {
            return (char *) NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;
}


/* webcall_signal_rate MESSAGES_PER_SECOND BYTES_PER_SECOND; */
static char *
ngx_http_webcall_signal_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_loc_conf_t  *wlcf = (ngx_http_webcall_loc_conf_t *) conf;
    ngx_str_t                    *value;
    ngx_int_t                     n;
    ssize_t                       bytes;

    if (wlcf->rate_messages != NGX_CONF_UNSET_UINT) {
        return (char *) "is duplicate";
    }

    value = (ngx_str_t *) cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);
    bytes = ngx_parse_size(&value[2]);

    if (n < 1 || n > 100000 || bytes < 1024 || bytes > 64 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_signal_rate\" takes messages per "
                           "second (1 to 100000) and bytes per second "
                           "(1k to 64m), e.g. \"webcall_signal_rate 50 "
                           "256k;\"");
        return (char *) NGX_CONF_ERROR;
    }

    wlcf->rate_messages = (ngx_uint_t) n;
    wlcf->rate_bytes = (size_t) bytes;

    return NGX_CONF_OK;
}


static ngx_http_webcall_zone_t *
ngx_http_webcall_find_zone(ngx_conf_t *cf, ngx_http_webcall_main_conf_t *wmcf,
    ngx_str_t *name) noexcept
{
    ngx_http_webcall_zone_t  **zones, *zone, **slot;
    ngx_uint_t                 i;

    zones = (ngx_http_webcall_zone_t **) wmcf->zones.elts;

    for (i = 0; i < wmcf->zones.nelts; i++) {
        if (zones[i]->name.len == name->len
            && ngx_strncmp(zones[i]->name.data, name->data, name->len) == 0)
        {
            return zones[i];
        }
    }

    zone = (ngx_http_webcall_zone_t *)
               ngx_pcalloc(cf->pool, sizeof(ngx_http_webcall_zone_t));
    slot = (ngx_http_webcall_zone_t **) ngx_array_push(&wmcf->zones);
    if (zone == NULL || slot == NULL) {
        return NULL;
    }

    zone->name = *name;
    *slot = zone;

    return zone;
}


/* webcall_zone NAME:SIZE [ttl=7d] [empty_ttl=5m] [participants=2]
 *              [max_participants=4] [pin_tries=5] [pin_lock=1m]
 *              [pin_lock_max=1h]; */
static char *
ngx_http_webcall_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t *wmcf = (ngx_http_webcall_main_conf_t *) conf;
    ngx_http_webcall_zone_t      *zone;
    ngx_str_t                    *value, name, size_text;
    ssize_t                       size;
    ngx_uint_t                    i;
    u_char                       *colon;

    value = (ngx_str_t *) cf->args->elts;

    colon = (u_char *) ngx_strlchr(value[1].data,
                                   value[1].data + value[1].len, ':');
    if (colon == NULL || colon == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" needs NAME:SIZE as its first "
                           "parameter, e.g. \"webcall_zone webcall:10m;\", "
                           "not \"%V\"", &value[1]);
        return (char *) NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = colon - value[1].data;
    size_text.data = colon + 1;
    size_text.len = value[1].data + value[1].len - size_text.data;

    size = ngx_parse_size(&size_text);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" has an invalid size \"%V\"; "
                           "write it like 10m or 512k", &size_text);
        return (char *) NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (64 * 1024)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" size \"%V\" is too small; "
                           "it must be at least 64k", &size_text);
        return (char *) NGX_CONF_ERROR;
    }

    zone = ngx_http_webcall_find_zone(cf, wmcf, &name);
    if (zone == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    if (zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" \"%V\" is declared twice; "
                           "zone names must be unique", &name);
        return (char *) NGX_CONF_ERROR;
    }

    zone->limits.ttl = 7 * 24 * 60 * 60;
    zone->limits.empty_ttl = 5 * 60;
    zone->inbox_size = 4 * 1024 * 1024;
    zone->participants = 2;
    zone->max_participants = NGX_HTTP_WEBCALL_SEATS;
    zone->pin.tries = 5;
    zone->pin.lock = 60;
    zone->pin.lock_max = 60 * 60;

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_webcall_zone_param(cf, zone, &value[i])
            != NGX_CONF_OK)
        {
            return (char *) NGX_CONF_ERROR;
        }
    }

    if (zone->pin.lock > zone->pin.lock_max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" pin_lock=%T is longer than "
                           "pin_lock_max=%T", zone->pin.lock,
                           zone->pin.lock_max);
        return (char *) NGX_CONF_ERROR;
    }

    if (zone->participants > zone->max_participants) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" participants=%ui is more than "
                           "max_participants=%ui", zone->participants,
                           zone->max_participants);
        return (char *) NGX_CONF_ERROR;
    }

    zone->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_webcall_module);
    if (zone->shm_zone == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    if (zone->shm_zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" \"%V\": another directive "
                           "already uses a shared memory zone of that name",
                           &name);
        return (char *) NGX_CONF_ERROR;
    }

    zone->shm_zone->init = ngx_http_webcall_init_zone;
    zone->shm_zone->data = zone;
    /* set later in the file or not at all; read when the zone starts */
    zone->ended_file = &wmcf->ended_file;

    if (ngx_http_webcall_inbox_zone(cf, zone) != NGX_OK) {
        return (char *) NGX_CONF_ERROR;
    }

    zone->declared = 1;

    return NGX_CONF_OK;
}


/* Frames relayed between workers get memory of their own, "NAME_inbox",
 * so that a stuck worker's inbox can never take the rooms' memory. */
static ngx_int_t
ngx_http_webcall_inbox_zone(ngx_conf_t *cf, ngx_http_webcall_zone_t *zone)
    noexcept
{
    ngx_str_t  name;

    name.len = zone->name.len + sizeof("_inbox") - 1;
    name.data = (u_char *) ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(name.data, "%V_inbox", &zone->name);

    zone->ipc_shm_zone = ngx_shared_memory_add(cf, &name, zone->inbox_size,
                                               &ngx_http_webcall_module);
    if (zone->ipc_shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (zone->ipc_shm_zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_zone\" \"%V\": another directive "
                           "already uses a shared memory zone named \"%V\"",
                           &zone->name, &name);
        return NGX_ERROR;
    }

    zone->ipc_shm_zone->init = ngx_http_webcall_init_ipc_zone;
    zone->ipc_shm_zone->data = zone;

    return NGX_OK;
}


static char *
ngx_http_webcall_zone_param(ngx_conf_t *cf, ngx_http_webcall_zone_t *zone,
    ngx_str_t *param) noexcept
{
    ngx_str_t   v;
    time_t      t;
    ngx_int_t   n;
    ssize_t     size;
    u_char     *eq;

    eq = (u_char *) ngx_strlchr(param->data, param->data + param->len, '=');
    if (eq == NULL) {
        goto unknown;
    }

    v.data = eq + 1;
    v.len = param->data + param->len - v.data;

#define WEBCALL_PARAM(p, s)                                                   \
    ((size_t) (eq - (p)->data) == sizeof(s) - 1                              \
     && ngx_strncmp((p)->data, s, sizeof(s) - 1) == 0)

    if (WEBCALL_PARAM(param, "ttl") || WEBCALL_PARAM(param, "empty_ttl")) {
        t = ngx_parse_time(&v, 1);
        if (t == (time_t) NGX_ERROR || t <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_zone\" has an invalid time in "
                               "\"%V\"; write it like 7d, 12h, 5m or 30s",
                               param);
            return (char *) NGX_CONF_ERROR;
        }

        if (WEBCALL_PARAM(param, "ttl")) {
            zone->limits.ttl = t;
        } else {
            zone->limits.empty_ttl = t;
        }

        return NGX_CONF_OK;
    }

    if (WEBCALL_PARAM(param, "pin_lock")
        || WEBCALL_PARAM(param, "pin_lock_max"))
    {
        t = ngx_parse_time(&v, 1);
        if (t == (time_t) NGX_ERROR || t <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_zone\" has an invalid time in "
                               "\"%V\"; write it like 1m, 1h or 30s",
                               param);
            return (char *) NGX_CONF_ERROR;
        }

        if (WEBCALL_PARAM(param, "pin_lock")) {
            zone->pin.lock = t;
        } else {
            zone->pin.lock_max = t;
        }

        return NGX_CONF_OK;
    }

    if (WEBCALL_PARAM(param, "pin_tries")) {
        n = ngx_atoi(v.data, v.len);
        if (n < 1 || n > 100) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_zone\" \"%V\": wrong PINs before "
                               "a lock must be a number from 1 to 100",
                               param);
            return (char *) NGX_CONF_ERROR;
        }

        zone->pin.tries = (uint32_t) n;
        return NGX_CONF_OK;
    }

    if (WEBCALL_PARAM(param, "inbox")) {
        size = ngx_parse_size(&v);
        if (size == NGX_ERROR || size < (ssize_t) (64 * 1024)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_zone\" \"%V\": the inbox size "
                               "must be at least 64k, like inbox=4m", param);
            return (char *) NGX_CONF_ERROR;
        }

        zone->inbox_size = (size_t) size;
        return NGX_CONF_OK;
    }

    if (WEBCALL_PARAM(param, "participants")
        || WEBCALL_PARAM(param, "max_participants"))
    {
        n = ngx_atoi(v.data, v.len);
        if (n < 2 || n > NGX_HTTP_WEBCALL_SEATS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webcall_zone\" \"%V\": participants per "
                               "room must be a number from 2 to %d",
                               param, NGX_HTTP_WEBCALL_SEATS);
            return (char *) NGX_CONF_ERROR;
        }

        if (WEBCALL_PARAM(param, "participants")) {
            zone->participants = n;
        } else {
            zone->max_participants = n;
        }

        return NGX_CONF_OK;
    }

#undef WEBCALL_PARAM

unknown:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"webcall_zone\" has the unknown parameter \"%V\"; "
                       "it takes ttl=, empty_ttl=, inbox=, participants=, "
                       "max_participants=, pin_tries=, pin_lock= and "
                       "pin_lock_max=", param);
    return (char *) NGX_CONF_ERROR;
}


/* webcall_api ZONE; webcall_signal ZONE; */
static char *
ngx_http_webcall_use_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t  *wmcf;
    ngx_http_webcall_zone_ref_t   *ref;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_webcall_zone_t      **field, *zone;
    ngx_str_t                     *value;

    field = (ngx_http_webcall_zone_t **) ((char *) conf + cmd->offset);
    if (*field != NULL) {
        return (char *) "is duplicate";
    }

    value = (ngx_str_t *) cf->args->elts;
    wmcf = (ngx_http_webcall_main_conf_t *)
               ngx_http_conf_get_module_main_conf(cf, ngx_http_webcall_module);

    zone = ngx_http_webcall_find_zone(cf, wmcf, &value[1]);
    ref = (ngx_http_webcall_zone_ref_t *) ngx_array_push(&wmcf->refs);
    if (zone == NULL || ref == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    ref->zone = zone;
    ref->directive = (const char *) cmd->name.data;
    ref->file = cf->conf_file->file.name;
    ref->line = cf->conf_file->line;
    *field = zone;

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return (char *) "cannot share a location with another content "
                        "handler (proxy_pass, return, another webcall_*)";
    }

    clcf->handler = *(ngx_http_handler_pt *) cmd->post;

    return NGX_CONF_OK;
}


/* webcall_api_refuse ZONE rate-limited|too-large: the answer of a location
 * that error_page sends nginx's own refusals to (limit_req's 429,
 * client_max_body_size's 413), so that they come from the API's one table
 * of errors and are counted in the zone for webcall_metrics. */
static char *
ngx_http_webcall_api_refuse(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_loc_conf_t  *wlcf = (ngx_http_webcall_loc_conf_t *) conf;
    ngx_str_t                    *value;

    value = (ngx_str_t *) cf->args->elts;

    if (ngx_strcmp(value[2].data, "rate-limited") == 0) {
        wlcf->refuse = (ngx_uint_t) webcall::room_api::error::rate_limited;

    } else if (ngx_strcmp(value[2].data, "too-large") == 0) {
        wlcf->refuse = (ngx_uint_t) webcall::room_api::error::too_large;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_api_refuse\" answers \"rate-limited\" "
                           "(429) or \"too-large\" (413), not \"%V\"",
                           &value[2]);
        return (char *) NGX_CONF_ERROR;
    }

    return ngx_http_webcall_use_zone(cf, cmd, conf);
}


/* webcall_metrics: this location answers with the Prometheus text of
 * every webcall zone. Who may read it is the location's business
 * (allow/deny in the shipped webcall-server.conf). */
static char *
ngx_http_webcall_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return (char *) "cannot share a location with another content "
                        "handler (proxy_pass, return, another webcall_*)";
    }

    clcf->handler = ngx_http_webcall_metrics_handler;

    return NGX_CONF_OK;
}


/* A secret file must be a regular file that only its owner can read or
 * write: anyone else who reads it forges room links and TURN credentials,
 * anyone who writes it chooses them. */
static ngx_int_t
ngx_http_webcall_secret_private(ngx_conf_t *cf, const char *directive,
    ngx_str_t *path, int fd) noexcept
{
    struct stat  st;

    if (fstat(fd, &st) == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\" cannot stat \"%V\"", directive, path);
        return NGX_ERROR;
    }

    if (!S_ISREG(st.st_mode)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" is not a file (make one with: "
                           "umask 077; openssl rand -hex 32 > FILE)",
                           directive, path);
        return NGX_ERROR;
    }

    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" has mode %ui%ui%ui: other "
                           "users could read or change the secret and "
                           "forge room links (fix: chmod 600 %V)",
                           directive, path,
                           (ngx_uint_t) ((st.st_mode >> 6) & 7),
                           (ngx_uint_t) ((st.st_mode >> 3) & 7),
                           (ngx_uint_t) (st.st_mode & 7), path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The secret is read here, by the master as root, so the file can stay
 * readable by root only; workers get the derived key in their config. */
static char *
ngx_http_webcall_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept
{
    ngx_http_webcall_main_conf_t *wmcf = (ngx_http_webcall_main_conf_t *) conf;
    std::string_view              secret;
    ngx_str_t                    *value;
    u_char                        buf[4096];
    ssize_t                       n;

    if (wmcf->have_secret) {
        return (char *) "is duplicate";
    }

    value = (ngx_str_t *) cf->args->elts;
    wmcf->secret_file = value[1];

    n = ngx_http_webcall_read_conf_file(cf, "webcall_secret_file",
            &wmcf->secret_file, buf, sizeof(buf), 1,
            "apt-get install --reinstall libnginx-mod-http-webcall makes "
            "it; by hand: umask 077; openssl rand -hex 32 >");
    if (n < 0) {
        return (char *) NGX_CONF_ERROR;
    }

    secret = ngx_http_webcall_trim_end({(const char *) buf, (size_t) n});

    if (secret.size() < webcall::room_token::secret_min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webcall_secret_file\" \"%V\" holds %uz bytes; "
                           "the secret must be at least %uz bytes "
                           "(make one with: openssl rand -hex 32 > %V)",
                           &wmcf->secret_file, secret.size(),
                           webcall::room_token::secret_min,
                           &wmcf->secret_file);
        ngx_explicit_memzero(buf, sizeof(buf));
        return (char *) NGX_CONF_ERROR;
    }

    wmcf->token_key = webcall::room_token::derive_key(
                          (const u_char *) secret.data(), secret.size());
    wmcf->have_secret = 1;
    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_CONF_OK;
}


/* The one reader of the files nginx.conf names (the room secret, the TURN
 * secret, coturn's configuration), by the master as root when it reads
 * the configuration: at most cap bytes, and a longer file is refused, not
 * cut. A secret file must be its owner's alone (secret = 1). make, if
 * set, is how to make a missing file, followed by its path. Returns the
 * length read, or -1 after a message that names the directive. */
static ssize_t
ngx_http_webcall_read_conf_file(ngx_conf_t *cf, const char *directive,
    ngx_str_t *path, u_char *buf, size_t cap, ngx_uint_t secret,
    const char *make) noexcept
{
    ssize_t  n, more;
    u_char   extra;
    int      fd;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return -1;
    }

    fd = open((const char *) path->data, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (make != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "\"%s\" cannot open \"%V\" (%s %V)",
                               directive, path, make, path);
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "\"%s\" cannot open \"%V\"", directive, path);
        }
        return -1;
    }

    if (secret
        && ngx_http_webcall_secret_private(cf, directive, path, fd) != NGX_OK)
    {
        close(fd);
        return -1;
    }

    n = read(fd, buf, cap);
    more = (n == (ssize_t) cap) ? read(fd, &extra, 1) : 0;

    if (n < 0 || more < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\" cannot read \"%V\"", directive, path);
        n = -1;

    } else if (more > 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" is longer than %uz bytes; is it "
                           "the right file?", directive, path, cap);
        n = -1;
    }

    if (n < 0) {
        ngx_explicit_memzero(buf, cap);
    }

    /* read-only: nothing to lose if close fails */
    (void) close(fd);

    return n;
}


/* A trailing newline from "echo" or an editor is not part of a secret. */
static std::string_view
ngx_http_webcall_trim_end(std::string_view s) noexcept
{
    while (!s.empty()
           && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '
               || s.back() == '\t'))
    {
        s.remove_suffix(1);
    }

    return s;
}


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
static char *
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
static char *
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


ngx_table_elt_t *
ngx_http_webcall_header(ngx_http_request_t *r, std::string_view name)
    noexcept
{
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    ngx_uint_t        i;

    for (part = &r->headers_in.headers.part; part != NULL; part = part->next)
    {
        h = (ngx_table_elt_t *) part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == name.size()
                && ngx_strncasecmp(h[i].key.data, (u_char *) name.data(),
                                   name.size()) == 0)
            {
                return &h[i];
            }
        }
    }

    return NULL;
}


/* Cross-site requests (a WebSocket opened, or a room created, by a page of
 * another site): a browser always sends Origin on them, so another site's
 * page is refused unless listed. The scheme must be the one this request
 * came in by, so chrome-extension://<host> or http://<host> on an https
 * site is another origin. Without Origin it is not a browser (a test
 * client, a monitoring probe) and no cookie is at stake: webcall uses
 * none. Behind a proxy that ends TLS before nginx, list the site's https://
 * origin in webcall_allowed_origins. */
ngx_uint_t
ngx_http_webcall_origin_allowed(ngx_http_request_t *r,
    ngx_http_webcall_loc_conf_t *conf) noexcept
{
    ngx_table_elt_t  *origin, *host;
    ngx_str_t        *allowed, scheme;
    u_char           *p;
    ngx_uint_t        i;

    origin = ngx_http_webcall_header(r, "Origin");
    if (origin == NULL) {
        return 1;
    }

    if (conf->allowed_origins != NULL) {
        allowed = (ngx_str_t *) conf->allowed_origins->elts;

        for (i = 0; i < conf->allowed_origins->nelts; i++) {
            if (allowed[i].len == origin->value.len
                && ngx_strncasecmp(allowed[i].data, origin->value.data,
                                   allowed[i].len) == 0)
            {
                return 1;
            }
        }
    }

    ngx_str_set(&scheme, "http://");
#if (NGX_HTTP_SSL)
    if (r->connection->ssl != NULL) {
        ngx_str_set(&scheme, "https://");
    }
#endif

    /* browsers send the scheme in lower case; anything else is not ours */
    host = r->headers_in.host;
    if (host == NULL
        || origin->value.len != scheme.len + host->value.len
        || ngx_strncmp(origin->value.data, scheme.data, scheme.len) != 0)
    {
        return 0;
    }

    p = origin->value.data + scheme.len;

    return ngx_strncasecmp(p, host->value.data, host->value.len) == 0;
}
