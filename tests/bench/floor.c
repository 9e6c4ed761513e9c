/* The machine's floor for relaying one small message (issue 16): what one
 * 200-byte write() into a loopback TCP connection plus the read() that takes
 * it out of the other end cost in CPU time. A relay cannot do better than
 * that per message (it reads one and writes one), so `make bench` divides
 * the server's CPU per relayed message by this figure.
 *
 * One process, blocking sockets, TCP_NODELAY (as nginx's WebSocket
 * connections): the loopback delivers inline, so the CPU of both ends of the
 * TCP stack is counted in this process. The direction alternates, so both
 * sockets stay in the same state (nothing queued) between iterations.
 *
 *   floor [--iterations N] [--bytes B]
 *   -> {"iterations":N,"bytes":B,"cpu_us_per_pair":x,"wall_us_per_pair":y}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6
           + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static double wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void read_full(int fd, char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("read");
        buf += r;
        n -= (size_t) r;
    }
}

static void write_full(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        buf += w;
        n -= (size_t) w;
    }
}

int main(int argc, char **argv)
{
    long iterations = 200000;
    size_t bytes = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--iterations") == 0) iterations = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--bytes") == 0) bytes = (size_t) atol(argv[i + 1]);
        else {
            fprintf(stderr, "usage: floor [--iterations N] [--bytes B]\n");
            return 2;
        }
    }
    if (iterations < 1 || bytes < 1 || bytes > 65536) {
        fprintf(stderr, "floor: bad --iterations or --bytes\n");
        return 2;
    }

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) die("socket");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(lfd, (struct sockaddr *) &addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 1) < 0) die("listen");
    if (getsockname(lfd, (struct sockaddr *) &addr, &len) < 0) die("getsockname");

    int a = socket(AF_INET, SOCK_STREAM, 0);
    if (a < 0) die("socket");
    if (connect(a, (struct sockaddr *) &addr, sizeof addr) < 0) die("connect");
    int b = accept(lfd, NULL, NULL);
    if (b < 0) die("accept");
    close(lfd);
    int one = 1;
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    char *buf = malloc(bytes);
    if (buf == NULL) die("malloc");
    memset(buf, 'x', bytes);

    /* warm the path (caches, the sockets' first buffers) before measuring */
    for (int i = 0; i < 1000; i++) {
        write_full(a, buf, bytes);
        read_full(b, buf, bytes);
    }

    double c0 = cpu_us(), w0 = wall_us();
    for (long i = 0; i < iterations; i++) {
        int from = (i & 1) ? b : a, to = (i & 1) ? a : b;
        write_full(from, buf, bytes);
        read_full(to, buf, bytes);
    }
    double c1 = cpu_us(), w1 = wall_us();

    printf("{\"iterations\":%ld,\"bytes\":%zu,\"cpu_us_per_pair\":%.4f,"
           "\"wall_us_per_pair\":%.4f}\n",
           iterations, bytes, (c1 - c0) / (double) iterations,
           (w1 - w0) / (double) iterations);
    free(buf);
    close(a);
    close(b);
    return 0;
}
