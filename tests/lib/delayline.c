/*
 * delayline: a slow, lossy link for the simulated internet (tests/lib/
 * internet.mjs), where `tc netem` is not available. This machine's kernel
 * is built without sch_netem, so the mobile network's delay and loss are
 * done in user space: an iptables NFQUEUE rule in the router's namespace
 * hands every forwarded packet to this program, which keeps it for DELAY_MS
 * and then lets it go on (NF_ACCEPT), or drops LOSS_PERMILLE of them at
 * random. The packet itself never leaves the kernel: only its id and its
 * release time are kept here, so order is kept (one FIFO, one delay).
 * The bandwidth limit is the kernel's own (tc tbf on the router's links).
 *
 * usage: delayline QUEUE_NUM DELAY_MS LOSS_PERMILLE
 *
 * Prints "ready" on stdout once the queue is bound; runs until killed. At
 * SIGTERM it lets every held packet go and prints, on stderr, how many
 * packets it passed and dropped.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING 65536              /* packets in flight at most (power of 2) */

struct held {
    uint32_t id;
    int64_t  due_us;
};

static struct held ring[RING];
static unsigned head, tail;     /* tail - head = packets held */
static int64_t delay_us;
static unsigned loss_permille;
static unsigned long long passed, dropped, overflow;
static volatile sig_atomic_t stop;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
                     struct nfq_data *nfa, void *data)
{
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    (void) msg; (void) data;
    if (ph == NULL) {
        return 0;
    }
    uint32_t id = ntohl(ph->packet_id);
    if (loss_permille && (unsigned) (random() % 1000) < loss_permille) {
        dropped++;
        return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
    }
    if (tail - head == RING) {
        /* A full line behaves as a full router queue: tail drop. */
        overflow++;
        return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
    }
    ring[tail % RING] = (struct held) { id, now_us() + delay_us };
    tail++;
    return 0;
}

static void release_due(struct nfq_q_handle *qh)
{
    int64_t t = now_us();
    while (head != tail && ring[head % RING].due_us <= t) {
        nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
        head++;
        passed++;
    }
}

static void on_term(int sig)
{
    (void) sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s QUEUE_NUM DELAY_MS LOSS_PERMILLE\n", argv[0]);
        return 2;
    }
    int queue = atoi(argv[1]);
    delay_us = (int64_t) atoi(argv[2]) * 1000;
    loss_permille = (unsigned) atoi(argv[3]);
    srandom((unsigned) (now_us() ^ getpid()));

    struct nfq_handle *h = nfq_open();
    if (h == NULL) {
        perror("delayline: nfq_open");
        return 1;
    }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t) queue, on_packet, NULL);
    if (qh == NULL) {
        perror("delayline: nfq_create_queue");
        return 1;
    }
    /* Only the packet's metadata comes up: the payload stays in the kernel. */
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, RING) < 0) {
        perror("delayline: queue setup");
        return 1;
    }
    nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
    int fd = nfq_fd(h);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    printf("ready\n");
    fflush(stdout);

    char buf[65536];
    while (!stop) {
        int timeout = -1;
        if (head != tail) {
            int64_t wait = ring[head % RING].due_us - now_us();
            timeout = wait <= 0 ? 0 : (int) ((wait + 999) / 1000);
        }
        struct pollfd p = { fd, POLLIN, 0 };
        int n = poll(&p, 1, timeout);
        if (n < 0 && errno != EINTR) {
            perror("delayline: poll");
            break;
        }
        if (n > 0) {
            for (;;) {
                ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (r < 0) {
                    if (errno == ENOBUFS) {
                        /* The kernel dropped queue messages: like a full router. */
                        overflow++;
                        continue;
                    }
                    break;
                }
                nfq_handle_packet(h, buf, (int) r);
            }
        }
        release_due(qh);
    }
    /* Let what is held go, so nothing stays queued after us. */
    while (head != tail) {
        nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
        head++;
        passed++;
    }
    fprintf(stderr, "delayline: passed %llu, dropped %llu (loss), %llu (overflow)\n",
            passed, dropped, overflow);
    nfq_destroy_queue(qh);
    nfq_close(h);
    return 0;
}
