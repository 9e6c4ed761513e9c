/*
 * webcall: the module definition: the table of its directives, the hooks
 * nginx calls (configuration, start, each worker), its variables, and the
 * request helpers every handler uses. The directives' handlers are in
 * ngx_http_webcall_conf.cpp, ngx_http_webcall_secret.cpp and
 * ngx_http_webcall_turn.cpp.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_conf.h"

#include "client_key.h"


static ngx_int_t ngx_http_webcall_init_module(ngx_cycle_t *cycle) noexcept;
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

    { ngx_string("webcall_fleet_nodes"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_webcall_fleet_nodes,
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


/* A worker: the signaling part gives the inter-worker tick its hook for
 * expired seats (ipc knows nothing of messages), then ipc starts. */
static ngx_int_t
ngx_http_webcall_init_process(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_signal_init();

    return ngx_http_webcall_ipc_init_process(cycle);
}


static void
ngx_http_webcall_exit_process(ngx_cycle_t *cycle) noexcept
{
    ngx_http_webcall_fleet_exit_process(cycle);
    ngx_http_webcall_ipc_exit_process(cycle);
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
