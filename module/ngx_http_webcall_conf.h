/*
 * webcall: the configuration functions the module's tables name
 * (ngx_http_webcall_module.cpp), by the file that holds them.
 */
#pragma once

#include "ngx_http_webcall_module.h"


/* What a TURN secret directive reads (its cmd->post). */
typedef enum {
    NGX_HTTP_WEBCALL_TURN_SECRET_FILE,   /* the secret itself, private */
    NGX_HTTP_WEBCALL_TURN_COTURN_CONF    /* coturn's turnserver.conf */
} ngx_http_webcall_turn_source_e;


/* ngx_http_webcall_conf.cpp */
void *ngx_http_webcall_create_main_conf(ngx_conf_t *cf) noexcept;
char *ngx_http_webcall_init_main_conf(ngx_conf_t *cf, void *conf) noexcept;
void *ngx_http_webcall_create_loc_conf(ngx_conf_t *cf) noexcept;
char *ngx_http_webcall_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child) noexcept;
char *ngx_http_webcall_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
    noexcept;
char *ngx_http_webcall_use_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
char *ngx_http_webcall_api_refuse(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
char *ngx_http_webcall_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
char *ngx_http_webcall_ended_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
char *ngx_http_webcall_allowed_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
char *ngx_http_webcall_signal_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;

/* ngx_http_webcall_fleet.cpp */
char *ngx_http_webcall_fleet_nodes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;

/* ngx_http_webcall_secret.cpp */
char *ngx_http_webcall_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
/* The one reader of the files nginx.conf names: the length read, or -1
 * after a message that names the directive. */
ssize_t ngx_http_webcall_read_conf_file(ngx_conf_t *cf,
    const char *directive, ngx_str_t *path, u_char *buf, size_t cap,
    ngx_uint_t secret, const char *make) noexcept;
std::string_view ngx_http_webcall_trim_end(std::string_view s) noexcept;

/* ngx_http_webcall_turn.cpp */
char *ngx_http_webcall_turn_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
char *ngx_http_webcall_turn_urls(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf) noexcept;
