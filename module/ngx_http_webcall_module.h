/*
 * webcall: types shared by the module's glue files. nginx headers come first
 * and inside extern "C" (they define 64-bit off_t and C linkage).
 */
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <type_traits>

#include "room_policy.h"
#include "room_token.h"


#define NGX_HTTP_WEBCALL_SEATS  4


extern "C" {
extern ngx_module_t  ngx_http_webcall_module;
}


/* A room in shared memory; overlays ngx_rbtree_node_t from "color" on, as
 * limit_req does. Plain data only: shm pointers (queue links), never a
 * pointer into one process's heap. */
typedef struct {
    u_char                        color;
    u_char                        max_participants;
    u_char                        participants;
    u_char                        entered;
    ngx_queue_t                   queue;
    int64_t                       issued;
    int64_t                       created;
    int64_t                       last_visit;
    int64_t                       valid_until;
    u_char                        id[webcall::room_token::id_len];
} ngx_http_webcall_room_t;

static_assert(std::is_trivially_copyable_v<ngx_http_webcall_room_t>);


/* The root of a zone, in shared memory. */
typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   fresh;      /* never entered; LRU */
    ngx_queue_t                   used;       /* entered and empty; LRU */
    ngx_uint_t                    rooms;
    ngx_uint_t                    generation; /* +1 on every reload */
    time_t                        full_logged;
    uint64_t                      created_total;
    uint64_t                      reclaimed_total;
    uint64_t                      refused_total;
} ngx_http_webcall_shctx_t;

static_assert(std::is_trivially_copyable_v<ngx_http_webcall_shctx_t>);


/* A zone as one process sees it (shm_zone->data). */
typedef struct {
    ngx_str_t                     name;
    ngx_shm_zone_t               *shm_zone;
    ngx_slab_pool_t              *shpool;
    ngx_http_webcall_shctx_t     *sh;
    webcall::room_policy::limits  limits;
    ngx_uint_t                    participants;
    ngx_uint_t                    max_participants;
    unsigned                      declared:1;
} ngx_http_webcall_zone_t;


/* A use of a zone by webcall_api or webcall_signal, checked once the whole
 * http{} block is read (the zone may be declared after its use). */
typedef struct {
    ngx_http_webcall_zone_t      *zone;
    const char                   *directive;
    ngx_str_t                     file;
    ngx_uint_t                    line;
} ngx_http_webcall_zone_ref_t;


typedef struct {
    ngx_array_t                   zones;      /* ngx_http_webcall_zone_t * */
    ngx_array_t                   refs;       /* ngx_http_webcall_zone_ref_t */
    ngx_str_t                     secret_file;
    webcall::room_token::key      token_key;
    unsigned                      have_secret:1;
} ngx_http_webcall_main_conf_t;


typedef struct {
    ngx_http_webcall_zone_t      *api_zone;
    ngx_http_webcall_zone_t      *signal_zone;
} ngx_http_webcall_loc_conf_t;


/* What a caller learns about a room; copied out of the zone under the lock. */
typedef struct {
    int64_t                       expires_at;
    ngx_uint_t                    participants;
    ngx_uint_t                    max_participants;
} ngx_http_webcall_room_info_t;


/* ngx_http_webcall_zone.cpp */
ngx_int_t ngx_http_webcall_init_zone(ngx_shm_zone_t *shm_zone, void *data)
    noexcept;
ngx_int_t ngx_http_webcall_room_create(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *room, ngx_log_t *log,
    ngx_http_webcall_room_info_t *info) noexcept;
ngx_int_t ngx_http_webcall_room_visit(ngx_http_webcall_zone_t *zone,
    const webcall::room_token::room *room,
    ngx_http_webcall_room_info_t *info) noexcept;

/* ngx_http_webcall_api.cpp */
ngx_int_t ngx_http_webcall_api_handler(ngx_http_request_t *r) noexcept;

/* ngx_http_webcall_signal.cpp */
ngx_int_t ngx_http_webcall_signal_handler(ngx_http_request_t *r) noexcept;
