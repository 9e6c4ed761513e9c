/*
 * webcall: the directives' handlers and checks, and the creation and
 * merging of the module's configurations. Every mistake in nginx.conf is
 * refused by "nginx -t" with a sentence that names the directive and says
 * what to write instead.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_conf.h"

#include "room_api.h"
#include "turn_credentials.h"


static ngx_int_t ngx_http_webcall_check_turn(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf) noexcept;
static char *ngx_http_webcall_zone_param(ngx_conf_t *cf,
    ngx_http_webcall_zone_t *zone, ngx_str_t *param) noexcept;
static ngx_http_webcall_zone_t *ngx_http_webcall_find_zone(ngx_conf_t *cf,
    ngx_http_webcall_main_conf_t *wmcf, ngx_str_t *name) noexcept;
static ngx_int_t ngx_http_webcall_inbox_zone(ngx_conf_t *cf,
    ngx_http_webcall_zone_t *zone) noexcept;


void *
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
char *
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


/* webcall_ended_file PATH;  where rooms ended by their host are kept, so a
 * restart does not bring their links back. */
char *
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


void *
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


char *
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


/* webcall_allowed_origins https://app.example.org ...; */
char *
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
char *
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
char *
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
char *
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
char *
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
char *
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
