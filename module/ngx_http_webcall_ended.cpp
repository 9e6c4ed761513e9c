/*
 * webcall: rooms ended for good (by their host, or a one-time link used
 * up). A room token is valid by itself, so ending a room means
 * remembering that it ended until its link would have expired anyway:
 * an rbtree of (room id, until) in the room zone, beside the room table,
 * that eviction never touches; and, so that a restart (which wipes the
 * zone) does not bring the link back, the ended-rooms file
 * (webcall_ended_file), one line per room (module/core/ended_rooms),
 * appended and synced by the worker before it answers, read back by the
 * master when a zone starts empty.
 */

#include "ngx_http_webcall_module.h"

#include <cstring>
#include <unistd.h>


namespace ended = webcall::ended_rooms;


/* An ended room; overlays ngx_rbtree_node_t from "color" on. */
typedef struct {
    u_char                        color;
    u_char                        why;
    u_char                        id[webcall::room_token::id_len];
    int64_t                       until;
} ngx_http_webcall_ended_t;


static ngx_http_webcall_ended_t *
ngx_http_webcall_ended(ngx_rbtree_node_t *node) noexcept
{
    return (ngx_http_webcall_ended_t *) &node->color;
}


/* Room records and ended rooms are both rbtrees keyed by the 128-bit room
 * id, at offset "off" from the node's color: one insert and one lookup for
 * both. */
ngx_rbtree_key_t
ngx_http_webcall_id_key(const u_char *id) noexcept
{
    uint32_t  key;

    /* the id is 128 random bits, so any 32 of them make a fair hash */
    std::memcpy(&key, id, sizeof(key));
    return key;
}


static const u_char *
ngx_http_webcall_id_of(ngx_rbtree_node_t *node, size_t off) noexcept
{
    return &node->color + off;
}


void
ngx_http_webcall_id_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel, size_t off) noexcept
{
    ngx_rbtree_node_t  **p;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = std::memcmp(ngx_http_webcall_id_of(node, off),
                            ngx_http_webcall_id_of(temp, off),
                            webcall::room_token::id_len) < 0
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_rbtree_node_t *
ngx_http_webcall_id_lookup(ngx_rbtree_t *tree, const u_char *id, size_t off)
    noexcept
{
    ngx_rbtree_node_t  *node, *sentinel;
    ngx_rbtree_key_t    key;
    int                 rc;

    key = ngx_http_webcall_id_key(id);
    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        rc = std::memcmp(id, ngx_http_webcall_id_of(node, off),
                         webcall::room_token::id_len);
        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


void
ngx_http_webcall_ended_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel) noexcept
{
    ngx_http_webcall_id_insert(temp, node, sentinel,
                               offsetof(ngx_http_webcall_ended_t, id));
}


static ngx_rbtree_node_t *
ngx_http_webcall_ended_lookup(ngx_http_webcall_shctx_t *sh, const u_char *id)
    noexcept
{
    return ngx_http_webcall_id_lookup(&sh->ended, id,
                                      offsetof(ngx_http_webcall_ended_t, id));
}


/* Whether the room ended; an entry past its time goes (the link is dead
 * by its age now). Called with the lock held. */
ngx_uint_t
ngx_http_webcall_ended_locked(ngx_http_webcall_zone_t *zone, const u_char *id,
    time_t now) noexcept
{
    ngx_rbtree_node_t  *node;

    node = ngx_http_webcall_ended_lookup(zone->sh, id);
    if (node == NULL) {
        return 0;
    }

    if (ngx_http_webcall_ended(node)->until > now) {
        return 1;
    }

    ngx_rbtree_delete(&zone->sh->ended, node);
    ngx_slab_free_locked(zone->shpool, node);
    zone->sh->nended--;

    return 0;
}


/* Remembers that a room ended; NGX_OK if it already had. Called with the
 * lock held. */
ngx_int_t
ngx_http_webcall_ended_add_locked(ngx_http_webcall_zone_t *zone,
    const ended::entry &e) noexcept
{
    ngx_rbtree_node_t         *node;
    ngx_http_webcall_ended_t  *rec;

    if (ngx_http_webcall_ended_lookup(zone->sh, e.id) != NULL) {
        return NGX_OK;
    }

    node = (ngx_rbtree_node_t *) ngx_slab_alloc_locked(zone->shpool,
               offsetof(ngx_rbtree_node_t, color)
               + sizeof(ngx_http_webcall_ended_t));
    if (node == NULL) {
        return NGX_ERROR;
    }

    rec = ngx_http_webcall_ended(node);
    node->key = ngx_http_webcall_id_key(e.id);
    rec->why = (u_char) e.why;
    rec->until = e.until;
    std::memcpy(rec->id, e.id, sizeof(rec->id));

    ngx_rbtree_insert(&zone->sh->ended, node);
    zone->sh->nended++;

    return NGX_OK;
}


/* Appends one line to the ended-rooms file and syncs it: the answer to
 * the host waits for the disk, once per ended room. */
ngx_int_t
ngx_http_webcall_ended_record(ngx_str_t *file, const ended::entry &e,
    ngx_log_t *log) noexcept
{
    ngx_fd_t  fd;
    char      line[ended::line_max];
    size_t    len;
    ssize_t   n;

    if (file == NULL || file->len == 0) {
        return NGX_OK;
    }

    len = ended::format(e, line, sizeof(line));

    fd = ngx_open_file(file->data, NGX_FILE_APPEND, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "webcall: cannot open the ended-rooms file \"%V\": "
                      "the room was not ended", file);
        return NGX_ERROR;
    }

    n = write(fd, line, len);

    if (n != (ssize_t) len || fdatasync(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "webcall: cannot write the ended-rooms file \"%V\": "
                      "the room was not ended", file);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    (void) ngx_close_file(fd);

    return NGX_OK;
}


/* After the lock: a one-time room that ended with its last participant
 * goes into the ended-rooms file, and the fleet's other nodes are told
 * (webcall_fleet_nodes). If the file fails, the room is ended until the
 * next restart only, which the alert says. */
void
ngx_http_webcall_ended_after(ngx_http_webcall_zone_t *zone,
    const ngx_http_webcall_change_t *ch) noexcept
{
    if (!ch->ended) {
        return;
    }

    (void) ngx_http_webcall_ended_record(zone->ended_file, ch->ended_entry,
                                         ngx_cycle->log);

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "webcall: a one-time room ended with its first call");

    ngx_http_webcall_fleet_end(zone, &ch->ended_token);
}


/* Reads the ended-rooms file into a fresh zone (the master, at start or
 * when a zone was resized). A line that does not parse (a write torn by a
 * crash, an edit by hand) is skipped and counted in one warning; an
 * unreadable file stops nginx, since starting would bring ended links
 * back. */
ngx_int_t
ngx_http_webcall_ended_load(ngx_http_webcall_zone_t *zone, ngx_log_t *log)
    noexcept
{
    ngx_str_t        *file = zone->ended_file;
    ngx_file_t        f;
    ngx_file_info_t   fi;
    ended::entry      e;
    ngx_uint_t        loaded, skipped;
    u_char           *buf, *p, *last, *nl;
    size_t            size;
    ssize_t           n;
    time_t            now;

    if (file == NULL || file->len == 0) {
        return NGX_OK;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.name = *file;
    f.log = log;

    f.fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (f.fd == NGX_INVALID_FILE) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_OK;   /* no room ended yet */
        }

        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "webcall: cannot read the ended-rooms file \"%V\" "
                      "(\"webcall_ended_file\"): starting without it would "
                      "let ended links work again", file);
        return NGX_ERROR;
    }

    buf = NULL;
    loaded = 0;
    skipped = 0;
    now = ngx_time();

    if (ngx_fd_info(f.fd, &fi) == NGX_FILE_ERROR) {
        goto failed;
    }

    size = (size_t) ngx_file_size(&fi);
    if (size == 0) {
        (void) ngx_close_file(f.fd);
        return NGX_OK;
    }

    buf = (u_char *) ngx_alloc(size, log);
    if (buf == NULL) {
        goto failed;
    }

    n = ngx_read_file(&f, buf, size, 0);
    if (n != (ssize_t) size) {
        goto failed;
    }

    last = buf + size;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (p = buf; p < last; p = nl + 1) {
        nl = (u_char *) ngx_strlchr(p, last, '\n');
        if (nl == NULL) {
            nl = last;   /* a last line without its newline: torn */
            skipped++;
            break;
        }

        if (!ended::parse(std::string_view((const char *) p,
                                           (size_t) (nl - p)), &e))
        {
            skipped++;
            continue;
        }

        if (e.until <= now) {
            continue;
        }

        if (ngx_http_webcall_ended_add_locked(zone, e) != NGX_OK) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "webcall: webcall_zone \"%V\" has no space for "
                          "the ended rooms of \"%V\"; make it larger",
                          &zone->name, file);
            ngx_free(buf);
            (void) ngx_close_file(f.fd);
            return NGX_ERROR;
        }

        loaded++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (skipped) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "webcall: %ui line(s) of the ended-rooms file \"%V\" "
                      "are not understood and were skipped", skipped, file);
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "webcall: %ui ended room(s) read from \"%V\" into "
                  "webcall_zone \"%V\"", loaded, file, &zone->name);

    ngx_free(buf);
    (void) ngx_close_file(f.fd);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                  "webcall: cannot read the ended-rooms file \"%V\"", file);
    if (buf != NULL) {
        ngx_free(buf);
    }
    (void) ngx_close_file(f.fd);

    return NGX_ERROR;
}


/* In the master at start and on every reload: the file exists (appending
 * needs no write access to its directory then) and, if nginx runs as
 * root, belongs to the workers' user, as nginx does for its temp paths. */
ngx_int_t
ngx_http_webcall_ended_file_init(ngx_cycle_t *cycle, ngx_str_t *file)
    noexcept
{
    ngx_core_conf_t  *ccf;
    ngx_fd_t          fd;

    fd = ngx_open_file(file->data, NGX_FILE_APPEND, NGX_FILE_CREATE_OR_OPEN,
                       0600);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "webcall: cannot create the ended-rooms file \"%V\" "
                      "(\"webcall_ended_file\"); its directory must exist "
                      "(the package makes /var/lib/webcall)", file);
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && fchown(fd, ccf->user, (gid_t) -1) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "webcall: cannot give the ended-rooms file \"%V\" to "
                      "the workers' user", file);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    (void) ngx_close_file(fd);

    return NGX_OK;
}
