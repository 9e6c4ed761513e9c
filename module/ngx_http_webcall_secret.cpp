/*
 * webcall: the room secret (webcall_secret_file), and the one reader of
 * every file nginx.conf names, which the TURN directives use too.
 */

#include "ngx_http_webcall_module.h"
#include "ngx_http_webcall_conf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>


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
char *
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
ssize_t
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
std::string_view
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
