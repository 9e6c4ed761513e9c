/*
 * Fault injection for tests, loaded into nginx with LD_PRELOAD: makes the
 * kernel calls the module depends on fail the way a hostile or unlucky
 * machine would, so the paths that handle it run for real.
 *
 *   WEBCALL_FAULT_AUTOBIND=1   bind() of an AF_UNIX socket to an autobound
 *                              name (address of just the family) fails with
 *                              EADDRINUSE: no doorbell for the worker.
 *   WEBCALL_FAULT_KILL_EPERM=1 kill(pid, 0) for a pid that does not exist
 *                              answers EPERM instead of ESRCH, as when the
 *                              pid was taken by another user's process.
 *   WEBCALL_FAULT_RAND_BYTES=N OpenSSL's RAND_bytes() for exactly N bytes
 *                              fails, as when the CSPRNG cannot be seeded.
 *                              The module calls RAND_bytes itself (through
 *                              the PLT, so this one wins); N=8 hits peer
 *                              ids alone (room ids and resume secrets are
 *                              16 bytes).
 *
 *   cc -shared -fPIC -o fault_shim.so fault_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

static int
on(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] == '1';
}

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    static int (*real)(int, const struct sockaddr *, socklen_t);

    if (real == NULL) {
        real = (int (*)(int, const struct sockaddr *, socklen_t))
                   dlsym(RTLD_NEXT, "bind");
    }

    if (on("WEBCALL_FAULT_AUTOBIND") && sa != NULL
        && sa->sa_family == AF_UNIX && len == sizeof(sa_family_t))
    {
        errno = EADDRINUSE;
        return -1;
    }

    return real(fd, sa, len);
}

int RAND_bytes(unsigned char *buf, int num);

int
RAND_bytes(unsigned char *buf, int num)
{
    static int (*real)(unsigned char *, int);
    const char *v = getenv("WEBCALL_FAULT_RAND_BYTES");

    if (v != NULL && atoi(v) == num) {
        return 0;
    }

    if (real == NULL) {
        real = (int (*)(unsigned char *, int)) dlsym(RTLD_NEXT, "RAND_bytes");
    }

    return real(buf, num);
}

int
kill(pid_t pid, int sig)
{
    static int (*real)(pid_t, int);
    int rc;

    if (real == NULL) {
        real = (int (*)(pid_t, int)) dlsym(RTLD_NEXT, "kill");
    }

    rc = real(pid, sig);

    if (rc == -1 && errno == ESRCH && sig == 0 && on("WEBCALL_FAULT_KILL_EPERM")) {
        errno = EPERM;
    }

    return rc;
}
