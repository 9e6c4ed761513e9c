// Load generator for the signaling relay (issue 16): many WebSocket clients
// in one thread on one libevent base, so that the client costs little next
// to the server it measures (the caller pins it to a core of its own).
//
//   loadgen --mode idle   --port P [--conns 10000] [--concurrency 200]
//   loadgen --mode relay  --port P [--pairs 8] [--rate 10000] [--seconds 10]
//                                  [--warmup 1]
//   loadgen --mode rising --port P [--pairs 8] [--steps 10000,20000,...]
//                                  [--step-seconds 3] [--warmup 0.5]
//   loadgen --mode storm  --port P [--concurrency 50] [--seconds 10]
//   common: --host 127.0.0.1, --sources N and --source-base A (connect
//           from 127.0.0.A .. 127.0.0.(A+N-1), for more connections than
//           one address has ephemeral ports; default: the kernel's choice),
//           --watch PID[,PID] (server processes whose CPU time is read
//           around each measured window), --frame 200 (relay frame bytes),
//           --timeout 15 (seconds a room set-up may take), --stall 15
//           (idle: report what is joined when nothing more joins this long)
//
// The result is one JSON object on stdout (a Node script reads it); errors
// go to stderr. idle prints it once every connection is joined, then holds
// them until stdin closes or SIGINT/SIGTERM, so the caller can measure the
// server's memory meanwhile. relay and rising measure each window from the
// send time stamped into every message: loss (sent in the window, never
// received after a drain of up to 10 s), order (seq per sender) and latency
// (CLOCK_MONOTONIC, one clock for both ends as both are in this process).
// rising stops after two failed steps in a row (loss, reordering, < 90% of
// the rate, or a p99 over a second).
//
// Frames: client frames are built with the project's codec (ws::encode_header
// writes the unmasked server form; the mask bit and key are added here, as
// the codec encodes server frames only). Server frames are parsed here too:
// ws::parser parses the client-to-server direction and refuses unmasked
// frames by design, which every server frame is.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "ws_frame.h"
#include "ws_handshake.h"

namespace ws = webcall::ws;
using std::string;
using std::string_view;

namespace {

// --- time, randomness, JSON text ----------------------------------------------

uint64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

uint64_t rng_state = 0x9E3779B97F4A7C15u;

// xorshift64*: masks and keys need to vary, not to be secret.
uint64_t rnd()
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

string json_escape(string_view s)
{
    string out;
    for (unsigned char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += char(ch);
        } else if (ch < 0x20) {
            char b[8];
            snprintf(b, sizeof b, "\\u%04x", ch);
            out += b;
        } else {
            out += char(ch);
        }
    }
    return out;
}

// The string value of "key":"..." in a flat JSON text (the server's
// messages: ids and tokens are base58, no escapes to undo).
string_view json_str(string_view text, string_view key)
{
    char pat[40];
    int n = snprintf(pat, sizeof pat, "\"%.*s\":\"", int(key.size()), key.data());
    size_t at = text.find(string_view(pat, size_t(n)));
    if (at == string_view::npos) return {};
    at += size_t(n);
    size_t end = text.find('"', at);
    if (end == string_view::npos) return {};
    return text.substr(at, end - at);
}

// The unsigned number after "key": (the relay's own seq and time stamp).
bool json_u64(string_view text, string_view key, uint64_t &out)
{
    char pat[24];
    int n = snprintf(pat, sizeof pat, "\"%.*s\":", int(key.size()), key.data());
    size_t at = text.find(string_view(pat, size_t(n)));
    if (at == string_view::npos) return false;
    at += size_t(n);
    uint64_t v = 0;
    size_t i = at;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') v = v * 10 + uint64_t(text[i++] - '0');
    if (i == at) return false;
    out = v;
    return true;
}

// --- options ---------------------------------------------------------------------

enum class mode_t_ : uint8_t { idle, relay, rising, storm };

struct options {
    mode_t_ mode = mode_t_::idle;
    string host = "127.0.0.1";
    int port = 0;
    int conns = 10000;
    int concurrency = 0;        // 0: the mode's default
    int pairs = 8;
    double rate = 10000;
    double seconds = 10;
    double warmup = -1;         // <0: the mode's default
    std::vector<double> steps;
    double step_seconds = 3;
    int sources = 1;
    int source_base = 1;
    int frame = 200;
    std::vector<int> watch;
    double timeout = 15;
    double stall = 15;
};

options opt;

void usage()
{
    fprintf(stderr,
            "usage: loadgen --mode idle|relay|rising|storm --port P [--host H]\n"
            "  [--conns N] [--concurrency C] [--pairs P] [--rate R] [--seconds T]\n"
            "  [--warmup W] [--steps R1,R2,...] [--step-seconds S] [--sources N]\n"
            "  [--source-base A] [--stall S]\n"
            "  [--frame BYTES] [--watch PID,...] [--timeout S]\n");
    exit(2);
}

std::vector<double> split_numbers(const char *s)
{
    std::vector<double> v;
    while (*s) {
        char *end;
        double d = strtod(s, &end);
        if (end == s) usage();
        v.push_back(d);
        s = *end == ',' ? end + 1 : end;
    }
    return v;
}

void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) usage();
        string_view k = argv[i];
        const char *v = argv[i + 1];
        if (k == "--mode") {
            string_view m = v;
            if (m == "idle") opt.mode = mode_t_::idle;
            else if (m == "relay") opt.mode = mode_t_::relay;
            else if (m == "rising") opt.mode = mode_t_::rising;
            else if (m == "storm") opt.mode = mode_t_::storm;
            else usage();
        } else if (k == "--host") opt.host = v;
        else if (k == "--port") opt.port = atoi(v);
        else if (k == "--conns") opt.conns = atoi(v);
        else if (k == "--concurrency") opt.concurrency = atoi(v);
        else if (k == "--pairs") opt.pairs = atoi(v);
        else if (k == "--rate") opt.rate = atof(v);
        else if (k == "--seconds") opt.seconds = atof(v);
        else if (k == "--warmup") opt.warmup = atof(v);
        else if (k == "--steps") opt.steps = split_numbers(v);
        else if (k == "--step-seconds") opt.step_seconds = atof(v);
        else if (k == "--sources") opt.sources = atoi(v);
        else if (k == "--source-base") opt.source_base = atoi(v);
        else if (k == "--frame") opt.frame = atoi(v);
        else if (k == "--timeout") opt.timeout = atof(v);
        else if (k == "--stall") opt.stall = atof(v);
        else if (k == "--watch") {
            for (double d : split_numbers(v)) opt.watch.push_back(int(d));
        } else usage();
    }
    if (opt.port <= 0 || opt.conns < 2 || opt.pairs < 1 || opt.sources < 1
        || opt.source_base < 1 || opt.source_base + opt.sources > 255 || opt.frame < 120 || opt.frame > 60000) {
        usage();
    }
    if (opt.concurrency <= 0) opt.concurrency = opt.mode == mode_t_::storm ? 50 : 200;
    if (opt.warmup < 0) opt.warmup = opt.mode == mode_t_::rising ? 0.5 : 1;
    if (opt.steps.empty()) {
        opt.steps = {10000, 20000, 40000, 60000, 80000, 100000, 120000,
                     150000, 200000, 250000, 300000, 400000, 500000,
                     600000};
    }
}

// --- CPU time of the watched server processes and of ourselves ------------------

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14, 15).
long long proc_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    // the command name may hold spaces: count fields after its ')'
    const char *p = strrchr(buf, ')');
    if (!p) return -1;
    long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2) {
        return -1;
    }
    return ut + st;
}

// Time on CPU in ns (/proc/PID/schedstat, first field): the same quantity
// as the ticks, without their 10 ms granularity.
long long proc_sched_ns(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long long ns = -1;
    if (fscanf(f, "%lld", &ns) != 1) ns = -1;
    fclose(f);
    return ns;
}

double self_cpu_us()
{
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6
           + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

struct cpu_snapshot {
    std::vector<long long> ticks, sched_ns;
    double self_us = 0;

    void take()
    {
        ticks.clear();
        sched_ns.clear();
        for (int pid : opt.watch) {
            ticks.push_back(proc_ticks(pid));
            sched_ns.push_back(proc_sched_ns(pid));
        }
        self_us = self_cpu_us();
    }
};

// "server_cpu_us":[..],"server_sched_us":[..],"client_cpu_us":x
string cpu_json(const cpu_snapshot &a, const cpu_snapshot &b)
{
    static const long tck = sysconf(_SC_CLK_TCK);
    string s = "\"server_cpu_us\":[";
    for (size_t i = 0; i < a.ticks.size(); i++) {
        char n[32];
        snprintf(n, sizeof n, "%s%.0f", i ? "," : "", double(b.ticks[i] - a.ticks[i]) * 1e6 / double(tck));
        s += n;
    }
    s += "],\"server_sched_us\":[";
    for (size_t i = 0; i < a.sched_ns.size(); i++) {
        char n[32];
        snprintf(n, sizeof n, "%s%.0f", i ? "," : "", double(b.sched_ns[i] - a.sched_ns[i]) / 1e3);
        s += n;
    }
    char n[64];
    snprintf(n, sizeof n, "],\"client_cpu_us\":%.0f", b.self_us - a.self_us);
    return s + n;
}

// --- connections -----------------------------------------------------------------

event_base *base;
sockaddr_in server_addr;
unsigned next_source = 0;

// A non-blocking TCP connection to the server as a bufferevent, from the
// next source address (127.0.0.1+k) when there are several. Returns nullptr
// with errno set if the socket could not even be started.
bufferevent *connect_bev(bufferevent_data_cb readcb, bufferevent_event_cb eventcb, void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.sources > 1 || opt.source_base > 1) {
        // The port is then picked at connect() from the whole 4-tuple, not
        // reserved by bind() for this address alone: each source address
        // gets the full ephemeral range.
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + unsigned(opt.source_base)
                                    + next_source++ % unsigned(opt.sources));
        if (bind(fd, reinterpret_cast<sockaddr *>(&src), sizeof src) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return nullptr;
        }
    }
    bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        errno = ENOMEM;
        return nullptr;
    }
    bufferevent_setcb(bev, readcb, nullptr, eventcb, arg);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    // a relay receiver takes many frames per read() at high rates
    bufferevent_set_max_single_read(bev, 256 * 1024);
    if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr *>(&server_addr),
                                   sizeof server_addr) < 0) {
        int e = errno;
        bufferevent_free(bev);
        errno = e ? e : ECONNREFUSED;
        return nullptr;
    }
    return bev;
}

string bev_error_text(short what)
{
    int e = EVUTIL_SOCKET_ERROR();
    if (what & BEV_EVENT_EOF) return "connection closed by the server";
    return string("socket error: ") + (e ? strerror(e) : "unknown");
}

// --- rooms, their two WebSocket connections, and the slots that set them up --------

struct room;
struct slot;

struct wsconn {
    enum class state : uint8_t { none, handshake, open, closing, done };

    room *rm = nullptr;
    int side = 0;                   // 0: A (sender in relay, offerer in storm)
    bufferevent *bev = nullptr;
    state st = state::none;
    char accept[ws::accept_len] = {};
    uint8_t mask[4] = {};
    string id;                      // our seat, from welcome
    // relay receiver: the next seq expected from the sender
    uint64_t next_seq = 0;
    uint64_t seq = 0;               // relay sender: the next seq to send
};

struct room {
    slot *sl = nullptr;             // the slot setting it up; null once held
    string token;
    wsconn w[2];
    int welcomed = 0;
    int finished = 0;               // connections done after bye
    uint64_t t0 = 0, deadline = 0;
    bool failed = false;
};

struct httpconn {
    bufferevent *bev = nullptr;
    bool busy = false;
    bool reused = false;            // the request went on a kept-alive connection
    bool retried = false;
};

struct slot {
    httpconn http;
    room *rm = nullptr;
    event *kick = nullptr;          // starts the next room from the loop
};

std::vector<std::unique_ptr<slot>> slots;
std::vector<room *> held;           // idle, relay: joined rooms, kept
std::vector<room *> graveyard;      // finished or failed, freed at the next tick

struct counters {
    uint64_t started = 0, inflight = 0, joined = 0, failures = 0;
    uint64_t setups = 0, cycles = 0;
    string first_error;
    uint64_t last_progress = 0;
} cnt;

std::vector<uint64_t> setup_ns;

// idle: rooms of two for --conns connections (an odd count rounds up)
uint64_t idle_rooms()
{
    return (uint64_t(opt.conns) + 1) / 2;
}     // storm: POST to answer, per set-up
uint64_t t_start = 0;
bool stopping = false;              // storm: no new rooms
bool idle_reported = false;

void on_room_joined(room *r);
void relay_all_joined();
void slot_next(slot *s);
void send_text(wsconn &c, string_view text);

// The stage a room set-up is in, for the first error's text.
string stage_of(const room *r)
{
    if (r->token.empty()) return "POST /api/rooms";
    for (const wsconn &c : r->w) {
        if (c.st == wsconn::state::handshake) return "the WebSocket handshake";
    }
    if (r->welcomed < 2) return "join/welcome";
    return "offer/answer/bye";
}

void note_failure(const string &what)
{
    cnt.failures++;
    if (cnt.first_error.empty()) cnt.first_error = what;
}

void free_ws(wsconn &c)
{
    if (c.bev) {
        bufferevent_free(c.bev);
        c.bev = nullptr;
    }
    c.st = wsconn::state::done;
}

void http_drop(httpconn &h);

// Frees a room's sockets; a room being set up leaves its slot, which then
// goes on with the next one. The object itself is freed later, as callbacks
// up the stack may still hold it.
void room_fail(room *r, const string &why)
{
    if (r->failed) return;
    r->failed = true;
    note_failure(why);
    free_ws(r->w[0]);
    free_ws(r->w[1]);
    if (r->sl) {
        slot *s = r->sl;
        r->sl = nullptr;
        s->rm = nullptr;
        // A POST still unanswered (the room timed out waiting): its late
        // answer must not be taken for the next room's, so the next one
        // goes on a new connection.
        if (s->http.busy) http_drop(s->http);
        cnt.inflight--;
        graveyard.push_back(r);
        slot_next(s);
    }
}

void room_finished(room *r)
{
    cnt.cycles++;
    slot *s = r->sl;
    r->sl = nullptr;
    s->rm = nullptr;
    cnt.inflight--;
    graveyard.push_back(r);
    slot_next(s);
}

// A masked client frame straight into the connection's output buffer, which
// several frames share until the loop writes them in one write().
void send_frame(wsconn &c, ws::opcode op, const void *data, size_t n)
{
    uint8_t hdr[ws::max_header];
    size_t h = ws::encode_header(hdr, op, true, n);
    hdr[1] |= 0x80;
    std::memcpy(hdr + h, c.mask, 4);
    h += 4;

    evbuffer *out = bufferevent_get_output(c.bev);
    evbuffer_iovec v;
    if (evbuffer_reserve_space(out, ev_ssize_t(h + n), &v, 1) < 1) return;
    auto *dst = static_cast<uint8_t *>(v.iov_base);
    std::memcpy(dst, hdr, h);
    dst += h;
    auto *src = static_cast<const uint8_t *>(data);
    // eight bytes at a time: the key repeats every 4, the payload starts at 0
    uint64_t k8;
    std::memcpy(&k8, c.mask, 4);
    std::memcpy(reinterpret_cast<uint8_t *>(&k8) + 4, c.mask, 4);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, src + i, 8);
        w ^= k8;
        std::memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++) dst[i] = src[i] ^ c.mask[i & 3];
    v.iov_len = h + n;
    evbuffer_commit_space(out, &v, 1);
}

void send_text(wsconn &c, string_view text)
{
    send_frame(c, ws::opcode::text, text.data(), text.size());
}

// --- relay: pacing and checking ----------------------------------------------------

struct phase_stats {
    double rate = 0;
    uint64_t window_start = 0, window_end = UINT64_MAX;
    uint64_t sent = 0, received = 0, reordered = 0, arrived = 0;
    uint64_t skipped = 0;           // due but not sent (client behind, or backpressure)
    std::vector<uint32_t> lat_ns;   // one per message received from the window
    cpu_snapshot cpu0, cpu1;
};

enum class relay_state : uint8_t { joining, warm, measure, drain, done };

struct relay_run {
    relay_state st = relay_state::joining;
    std::vector<double> rates;
    size_t index = 0;
    uint64_t send_t0 = 0, sent_since_t0 = 0;
    uint64_t warm_end = 0, measure_end = 0, drain_deadline = 0;
    uint64_t sent_total = 0, received_total = 0;
    size_t rr = 0;
    int bad_steps = 0;              // rising: failed steps in a row
    std::vector<phase_stats> phases;
    phase_stats *cur = nullptr;
    string pad;
} relay;

// {"type":"candidate","to":"<B>","candidate":{"s":<seq>,"t":<ns>,"pad":"xx"}}
// padded so the masked frame is opt.frame bytes.
void relay_send(room *r, uint64_t t)
{
    wsconn &a = r->w[0];
    char msg[65536];
    int n = snprintf(msg, sizeof msg, "{\"type\":\"candidate\",\"to\":\"%s\",\"candidate\":{\"s\":%" PRIu64
                     ",\"t\":%" PRIu64 ",\"pad\":\"",
                     r->w[1].id.c_str(), a.seq, t);
    // payload >= 126 bytes: 4 bytes of header and 4 of key
    int want = opt.frame - 8 - n - 3;
    if (want < 0) want = 0;
    std::memset(msg + n, 'x', size_t(want));
    n += want;
    std::memcpy(msg + n, "\"}}", 3);
    n += 3;
    send_text(a, string_view(msg, size_t(n)));
    a.seq++;
}

void relay_receive(wsconn &b, string_view text, uint64_t now)
{
    uint64_t s, t;
    if (!json_u64(text, "s", s) || !json_u64(text, "t", t)) {
        note_failure("a relayed candidate without its seq or time: " + string(text.substr(0, 200)));
        return;
    }
    relay.received_total++;
    phase_stats *p = relay.cur;
    bool in_window = p && t >= p->window_start && t < p->window_end && p->window_start;
    if (s == b.next_seq) {
        b.next_seq = s + 1;
    } else if (s > b.next_seq) {
        b.next_seq = s + 1;         // a gap: shows as lost unless it turns up late
    } else if (in_window) {
        p->reordered++;
    }
    if (in_window) {
        p->received++;
        p->lat_ns.push_back(uint32_t(std::min<uint64_t>(now - t, UINT32_MAX)));
    }
    if (p && now >= p->window_start && now < p->window_end && p->window_start) p->arrived++;
}

// Sends what is due at this tick: the phase's rate times the time since it
// began, minus what went out. A tick late by more than 10 ms worth of
// messages does not burst to catch up: the excess is counted as skipped,
// so the achieved rate shows that the client fell behind.
void relay_pump(uint64_t now)
{
    double rate = relay.rates[relay.index];
    double due_f = rate * double(now - relay.send_t0) / 1e9 - double(relay.sent_since_t0);
    if (due_f < 1) return;
    uint64_t due = uint64_t(due_f);
    uint64_t cap = std::max<uint64_t>(1, uint64_t(rate / 100));
    if (due > cap) {
        if (relay.cur && relay.st == relay_state::measure) relay.cur->skipped += due - cap;
        relay.sent_since_t0 += due - cap;
        due = cap;
    }
    size_t np = held.size();
    for (uint64_t k = 0; k < due; k++) {
        room *r = held[relay.rr++ % np];
        relay.sent_since_t0++;
        // a receiver that falls this far behind is the server's (or the
        // client's) limit: do not queue without bound here
        if (r->failed || evbuffer_get_length(bufferevent_get_output(r->w[0].bev)) > 512 * 1024) {
            if (relay.cur && relay.st == relay_state::measure) relay.cur->skipped++;
            continue;
        }
        relay_send(r, now);
        relay.sent_total++;
        if (relay.st == relay_state::measure) relay.cur->sent++;
    }
}

void print_relay_result();

// A step that is worth following with a higher one: nothing lost or
// reordered, the asked rate (nearly) reached, latency not running away (a
// second's worth of queue). The caller applies its own, stricter bound on
// p99 to call a step sustained; this one only stops the climb.
bool step_ok(const phase_stats &p, double p99_us, double seconds)
{
    double achieved = double(p.sent) / seconds;
    return p.sent > 0 && p.received == p.sent && p.reordered == 0 && achieved >= 0.9 * p.rate
           && p99_us < 1e6;
}

double pct_us(std::vector<uint32_t> &v, double q)
{
    if (v.empty()) return 0;
    size_t i = std::min(v.size() - 1, size_t(double(v.size()) * q));
    std::nth_element(v.begin(), v.begin() + long(i), v.end());
    return double(v[i]) / 1e3;
}

void relay_start_phase(uint64_t now)
{
    relay.phases.emplace_back();
    relay.cur = &relay.phases.back();
    relay.cur->rate = relay.rates[relay.index];
    relay.cur->lat_ns.reserve(size_t(relay.cur->rate * (opt.mode == mode_t_::rising ? opt.step_seconds : opt.seconds) * 1.1));
    relay.send_t0 = now;
    relay.sent_since_t0 = 0;
    relay.warm_end = now + uint64_t(opt.warmup * 1e9);
    relay.st = relay_state::warm;
}

void relay_tick(uint64_t now)
{
    switch (relay.st) {
    case relay_state::joining:
    case relay_state::done:
        return;
    case relay_state::warm:
        if (now >= relay.warm_end) {
            relay.cur->cpu0.take();
            relay.cur->window_start = now;
            double secs = opt.mode == mode_t_::rising ? opt.step_seconds : opt.seconds;
            relay.measure_end = now + uint64_t(secs * 1e9);
            relay.st = relay_state::measure;
        }
        relay_pump(now);
        return;
    case relay_state::measure:
        if (now >= relay.measure_end) {
            relay.cur->window_end = now;
            relay.cur->cpu1.take();
            relay.st = relay_state::drain;
            // long enough that what is still missing after it was lost, not slow
            relay.drain_deadline = now + 10000000000u;
            return;
        }
        relay_pump(now);
        return;
    case relay_state::drain: {
        if (relay.received_total < relay.sent_total && now < relay.drain_deadline) return;
        phase_stats &p = *relay.cur;
        double secs = double(p.window_end - p.window_start) / 1e9;
        std::vector<uint32_t> copy = p.lat_ns;
        double p99 = pct_us(copy, 0.99);
        bool more = relay.index + 1 < relay.rates.size();
        // two failed steps in a row end the climb: one alone may be a
        // hiccup of a shared machine
        if (opt.mode == mode_t_::rising) {
            relay.bad_steps = step_ok(p, p99, secs) ? 0 : relay.bad_steps + 1;
            if (relay.bad_steps >= 2) more = false;
        }
        if (!more) {
            relay.st = relay_state::done;
            print_relay_result();
            event_base_loopexit(base, nullptr);
            return;
        }
        relay.index++;
        relay_start_phase(now);
        return;
    }
    }
}

void print_relay_result()
{
    string out = "{\"mode\":\"";
    out += opt.mode == mode_t_::rising ? "rising" : "relay";
    char b[512];
    snprintf(b, sizeof b, "\",\"pairs\":%zu,\"frame_bytes\":%d,\"phases\":[", held.size(), opt.frame);
    out += b;
    for (size_t i = 0; i < relay.phases.size(); i++) {
        phase_stats &p = relay.phases[i];
        double secs = double(p.window_end - p.window_start) / 1e9;
        uint64_t lost = p.sent > p.received ? p.sent - p.received : 0;
        double p50 = pct_us(p.lat_ns, 0.5), p99 = pct_us(p.lat_ns, 0.99);
        double mx = p.lat_ns.empty() ? 0 : double(*std::max_element(p.lat_ns.begin(), p.lat_ns.end())) / 1e3;
        snprintf(b, sizeof b,
                 "%s{\"rate\":%.0f,\"seconds\":%.3f,\"sent\":%" PRIu64 ",\"received\":%" PRIu64
                 ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"skipped\":%" PRIu64
                 ",\"arrived\":%" PRIu64 ",\"achieved\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,",
                 i ? "," : "", p.rate, secs, p.sent, p.received, lost, p.reordered, p.skipped, p.arrived,
                 double(p.sent) / secs, p50, p99, mx);
        out += b;
        out += cpu_json(p.cpu0, p.cpu1);
        out += "}";
    }
    snprintf(b, sizeof b, "],\"failures\":%" PRIu64 ",\"first_error\":\"", cnt.failures);
    out += b;
    out += json_escape(cnt.first_error) + "\"}\n";
    fputs(out.c_str(), stdout);
    fflush(stdout);
}

void relay_all_joined()
{
    relay.rates = opt.mode == mode_t_::rising ? opt.steps : std::vector<double>{opt.rate};
    relay.index = 0;
    relay_start_phase(now_ns());
}

// --- storm and idle results ------------------------------------------------------------

cpu_snapshot storm_cpu0, storm_cpu1;
uint64_t storm_end = 0, storm_setups_in_window = 0, storm_window_end = 0;

void print_storm_result()
{
    double secs = double(storm_window_end - t_start) / 1e9;
    std::vector<uint32_t> v;
    v.reserve(setup_ns.size());
    for (uint64_t ns : setup_ns) v.push_back(uint32_t(std::min<uint64_t>(ns, UINT32_MAX)));
    char b[512];
    snprintf(b, sizeof b,
             "{\"mode\":\"storm\",\"concurrency\":%d,\"seconds\":%.3f,\"setups\":%" PRIu64
             ",\"setups_per_s\":%.0f,\"cycles\":%" PRIu64 ",\"failures\":%" PRIu64
             ",\"setup_p50_ms\":%.3f,\"setup_p99_ms\":%.3f,",
             opt.concurrency, secs, storm_setups_in_window, double(storm_setups_in_window) / secs, cnt.cycles,
             cnt.failures, pct_us(v, 0.5) / 1e3, pct_us(v, 0.99) / 1e3);
    string out = b + cpu_json(storm_cpu0, storm_cpu1) + ",\"first_error\":\"" + json_escape(cnt.first_error) + "\"}\n";
    fputs(out.c_str(), stdout);
    fflush(stdout);
}

void print_idle_result(const char *why)
{
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    char b[512];
    snprintf(b, sizeof b,
             "{\"mode\":\"idle\",\"target\":%d,\"connections\":%" PRIu64 ",\"rooms\":%" PRIu64
             ",\"seconds\":%.3f,\"failures\":%" PRIu64 ",\"stopped\":\"%s\",\"nofile\":%llu,\"first_error\":\"",
             opt.conns, cnt.joined * 2, cnt.joined, double(now_ns() - t_start) / 1e9, cnt.failures, why,
             (unsigned long long) rl.rlim_cur);
    string out = b + json_escape(cnt.first_error) + "\"}\n";
    fputs(out.c_str(), stdout);
    fflush(stdout);
    idle_reported = true;
}

// --- the WebSocket client ----------------------------------------------------------------

void on_text(wsconn &c, string_view text, uint64_t now)
{
    room *r = c.rm;
    string_view type = json_str(text.substr(0, 64), "type");
    if (type == "candidate") {
        if (opt.mode == mode_t_::relay || opt.mode == mode_t_::rising) relay_receive(c, text, now);
        return;
    }
    if (type == "welcome") {
        c.id = string(json_str(text, "id"));
        if (c.id.empty()) {
            room_fail(r, "a welcome without an id: " + string(text.substr(0, 200)));
            return;
        }
        if (++r->welcomed == 2) on_room_joined(r);
        return;
    }
    if (type == "offer" && c.side == 1) {
        string from(json_str(text, "from"));
        string ans = "{\"type\":\"answer\",\"to\":\"" + from +
                     "\",\"sdp\":\"v=0\\r\\no=- 2 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
                     "a=group:BUNDLE 0\\r\\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\\r\\n"
                     "c=IN IP4 0.0.0.0\\r\\na=mid:0\\r\\na=sctp-port:5000\\r\\n\"}";
        send_text(c, ans);
        return;
    }
    if (type == "answer" && c.side == 0) {
        uint64_t t = now_ns();
        cnt.setups++;
        if (!stopping) {
            storm_setups_in_window++;
            setup_ns.push_back(t - r->t0);
        }
        cnt.last_progress = t;
        for (wsconn &x : r->w) {
            send_text(x, "{\"type\":\"bye\"}");
            x.st = wsconn::state::closing;
        }
        return;
    }
    if (type == "error") {
        room_fail(r, "server error during " + stage_of(r) + ": " + string(text.substr(0, 300)));
        return;
    }
    // peer-joined, peer-left: nothing to do
}

void ws_done(wsconn &c)
{
    room *r = c.rm;
    free_ws(c);
    if (++r->finished == 2 && r->sl) room_finished(r);
}

// The 101 answer: status and Sec-WebSocket-Accept. Returns false (room
// failed) on anything else.
bool read_handshake(wsconn &c, evbuffer *in)
{
    evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, nullptr);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > 16384) room_fail(c.rm, "a handshake answer over 16 KiB");
        return false;
    }
    size_t n = size_t(end.pos) + 4;
    string head(reinterpret_cast<const char *>(evbuffer_pullup(in, ev_ssize_t(n))), n);
    evbuffer_drain(in, n);
    if (head.compare(0, 13, "HTTP/1.1 101 ") != 0) {
        // the body (an error's JSON) may follow: show what has arrived
        size_t more = std::min<size_t>(evbuffer_get_length(in), 200);
        string body(reinterpret_cast<const char *>(evbuffer_pullup(in, ev_ssize_t(more))), more);
        room_fail(c.rm, "handshake answered " + head.substr(0, head.find('\r')) + " " + body);
        return false;
    }
    string lower = head;
    for (char &ch : lower) ch = char(tolower(static_cast<unsigned char>(ch)));
    size_t at = lower.find("\r\nsec-websocket-accept:");
    string_view want(c.accept, ws::accept_len);
    if (at == string::npos || head.find(want, at) == string::npos) {
        room_fail(c.rm, "handshake: no or wrong Sec-WebSocket-Accept");
        return false;
    }
    c.st = wsconn::state::open;
    send_text(c, "{\"type\":\"join\"}");
    return true;
}

// Server frames: never masked, never fragmented by this server (a fragment
// is refused as unexpected rather than assembled).
void ws_read(bufferevent *bev, void *arg)
{
    auto &c = *static_cast<wsconn *>(arg);
    evbuffer *in = bufferevent_get_input(bev);
    if (c.st == wsconn::state::handshake && !read_handshake(c, in)) return;
    uint64_t now = now_ns();
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 2) return;
        uint8_t h2[2];
        evbuffer_copyout(in, h2, 2);
        size_t hl = 2;
        uint64_t len = h2[1] & 0x7F;
        if (len == 126) hl = 4;
        else if (len == 127) hl = 10;
        if (avail < hl) return;
        uint8_t hdr[10];
        evbuffer_copyout(in, hdr, hl);
        if (hl == 4) len = uint64_t(hdr[2]) << 8 | hdr[3];
        else if (hl == 10) {
            len = 0;
            for (int i = 2; i < 10; i++) len = len << 8 | hdr[i];
        }
        bool fin = hdr[0] & 0x80;
        auto op = ws::opcode(hdr[0] & 0x0F);
        if ((hdr[1] & 0x80) || (hdr[0] & 0x70) || !fin || len > 16 * 1024 * 1024) {
            room_fail(c.rm, "a server frame masked, with RSV bits, fragmented or huge");
            return;
        }
        if (avail < hl + len) return;
        auto *f = evbuffer_pullup(in, ev_ssize_t(hl + len));
        string_view payload(reinterpret_cast<const char *>(f + hl), size_t(len));
        switch (op) {
        case ws::opcode::text:
            if (c.st == wsconn::state::open || c.st == wsconn::state::closing) on_text(c, payload, now);
            break;
        case ws::opcode::ping:
            send_frame(c, ws::opcode::pong, payload.data(), payload.size());
            break;
        case ws::opcode::close:
            if (c.st == wsconn::state::closing) {
                // echo its code; the server then ends the TCP connection,
                // so its side, not ours, keeps the TIME_WAIT
                send_frame(c, ws::opcode::close, payload.data(), std::min<size_t>(payload.size(), 2));
            } else {
                uint16_t code = len >= 2 ? uint16_t(uint8_t(payload[0]) << 8 | uint8_t(payload[1])) : 1005;
                room_fail(c.rm, "the server closed the connection with " + std::to_string(code) + " " +
                                    string(payload.substr(std::min<size_t>(2, payload.size()))) + " during " +
                                    stage_of(c.rm));
                return;
            }
            break;
        default:
            break;
        }
        if (!c.bev) return;         // the room failed meanwhile
        evbuffer_drain(in, hl + len);
    }
}

void ws_event(bufferevent *, short what, void *arg)
{
    auto &c = *static_cast<wsconn *>(arg);
    if (what & BEV_EVENT_CONNECTED) return;
    if (c.st == wsconn::state::closing) {
        ws_done(c);
        return;
    }
    room_fail(c.rm, bev_error_text(what) + " during " + stage_of(c.rm));
}

void ws_open(room *r, int side)
{
    wsconn &c = r->w[side];
    c.rm = r;
    c.side = side;
    uint64_t m = rnd();
    std::memcpy(c.mask, &m, 4);
    uint8_t raw[16];
    uint64_t a = rnd(), b = rnd();
    std::memcpy(raw, &a, 8);
    std::memcpy(raw + 8, &b, 8);
    char key[32];
    EVP_EncodeBlock(reinterpret_cast<unsigned char *>(key), raw, 16);
    if (!ws::accept_value(key, c.accept)) {
        room_fail(r, "Sec-WebSocket-Accept could not be computed");
        return;
    }
    c.bev = connect_bev(ws_read, ws_event, &c);
    if (!c.bev) {
        room_fail(r, string("connect: ") + strerror(errno));
        return;
    }
    c.st = wsconn::state::handshake;
    // the headers tests/lib/ws.mjs sends (handshakeRequest); no Origin, as
    // a client that is not a browser
    evbuffer_add_printf(bufferevent_get_output(c.bev),
                        "GET /ws/%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n",
                        r->token.c_str(), opt.host.c_str(), opt.port, key);
}

void on_room_joined(room *r)
{
    cnt.last_progress = now_ns();
    if (opt.mode == mode_t_::storm) {
        string offer = "{\"type\":\"offer\",\"to\":\"" + r->w[1].id +
                       "\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
                       "a=group:BUNDLE 0\\r\\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\\r\\n"
                       "c=IN IP4 0.0.0.0\\r\\na=mid:0\\r\\na=sctp-port:5000\\r\\n\"}";
        send_text(r->w[0], offer);
        return;
    }
    // idle, relay: keep the room, let its slot set up the next one
    cnt.joined++;
    held.push_back(r);
    slot *s = r->sl;
    r->sl = nullptr;
    s->rm = nullptr;
    cnt.inflight--;
    if (opt.mode == mode_t_::idle && cnt.joined >= idle_rooms() && !idle_reported) {
        print_idle_result("done");
    }
    if ((opt.mode == mode_t_::relay || opt.mode == mode_t_::rising) && cnt.joined == uint64_t(opt.pairs)) {
        relay_all_joined();
    }
    slot_next(s);
}

// --- POST /api/rooms on a keep-alive connection per slot ------------------------------------

void http_read(bufferevent *bev, void *arg);
void http_event(bufferevent *bev, short what, void *arg);

void http_drop(httpconn &h)
{
    if (h.bev) bufferevent_free(h.bev);
    h.bev = nullptr;
    h.busy = false;
}

void http_post(slot *s)
{
    httpconn &h = s->http;
    h.reused = h.bev != nullptr;
    if (!h.bev) {
        h.bev = connect_bev(http_read, http_event, s);
        if (!h.bev) {
            room_fail(s->rm, string("connect: ") + strerror(errno));
            return;
        }
    }
    h.busy = true;
    evbuffer_add_printf(bufferevent_get_output(h.bev),
                        "POST /api/rooms HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                        "Content-Length: 2\r\n\r\n{}",
                        opt.host.c_str(), opt.port);
}

void http_read(bufferevent *bev, void *arg)
{
    auto *s = static_cast<slot *>(arg);
    httpconn &h = s->http;
    evbuffer *in = bufferevent_get_input(bev);
    evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, nullptr);
    if (end.pos < 0) return;
    size_t hn = size_t(end.pos) + 4;
    string head(reinterpret_cast<const char *>(evbuffer_pullup(in, ev_ssize_t(hn))), hn);
    string lower = head;
    for (char &ch : lower) ch = char(tolower(static_cast<unsigned char>(ch)));
    size_t cl = lower.find("\r\ncontent-length:");
    if (cl == string::npos) {
        http_drop(h);
        if (s->rm) room_fail(s->rm, "POST /api/rooms: an answer without Content-Length: " + head.substr(0, 200));
        return;
    }
    size_t body_len = size_t(strtoul(head.c_str() + cl + 17, nullptr, 10));
    if (evbuffer_get_length(in) < hn + body_len) return;
    evbuffer_drain(in, hn);
    string body(body_len, '\0');
    evbuffer_remove(in, body.data(), body_len);
    bool close_after = lower.find("\r\nconnection: close") != string::npos;
    h.busy = false;
    h.retried = false;
    if (close_after) http_drop(h);

    room *r = s->rm;
    if (!r || !r->token.empty()) return;      // not waiting for this answer
    if (head.compare(0, 13, "HTTP/1.1 201 ") != 0) {
        room_fail(r, "POST /api/rooms answered " + head.substr(0, head.find('\r')) + " " + body.substr(0, 200));
        return;
    }
    r->token = string(json_str(body, "token"));
    if (r->token.empty()) {
        room_fail(r, "POST /api/rooms: no token in " + body.substr(0, 200));
        return;
    }
    ws_open(r, 0);
    if (!r->failed) ws_open(r, 1);
}

void http_event(bufferevent *, short what, void *arg)
{
    auto *s = static_cast<slot *>(arg);
    if (what & BEV_EVENT_CONNECTED) return;
    httpconn &h = s->http;
    bool busy = h.busy, retry = h.reused && !h.retried
        && evbuffer_get_length(bufferevent_get_input(h.bev)) == 0;
    http_drop(h);
    if (!busy || !s->rm) return;
    // nginx closes idle keep-alive connections when it runs short of
    // connections; a request that raced such a close had no answer yet and
    // goes again once on a new connection, as HTTP clients do
    if (retry) {
        h.retried = true;
        http_post(s);
        return;
    }
    room_fail(s->rm, "POST /api/rooms: " + bev_error_text(what));
}

// --- slots: each sets up one room at a time -----------------------------------------------------

bool want_more_rooms()
{
    switch (opt.mode) {
    case mode_t_::idle:
        return !idle_reported && cnt.joined + cnt.inflight < idle_rooms();
    case mode_t_::relay:
    case mode_t_::rising:
        return cnt.joined + cnt.inflight < uint64_t(opt.pairs);
    case mode_t_::storm:
        return !stopping;
    }
    return false;
}

void slot_kick(evutil_socket_t, short, void *arg)
{
    auto *s = static_cast<slot *>(arg);
    if (s->rm || !want_more_rooms()) return;
    auto *r = new room;
    r->sl = s;
    r->t0 = now_ns();
    r->deadline = r->t0 + uint64_t(opt.timeout * 1e9);
    s->rm = r;
    cnt.started++;
    cnt.inflight++;
    http_post(s);
}

// From the loop, not from here: a failure that comes at once (connect
// refused) would otherwise recurse through every slot.
void slot_next(slot *s)
{
    event_active(s->kick, EV_TIMEOUT, 0);
}

// --- the tick: pacing, deadlines, the end of the run -------------------------------------------

void tick(evutil_socket_t, short, void *)
{
    uint64_t now = now_ns();
    for (room *r : graveyard) delete r;
    graveyard.clear();

    for (auto &s : slots) {
        if (s->rm && now > s->rm->deadline) {
            room_fail(s->rm, "timed out (" + std::to_string(int(opt.timeout)) + " s) in " + stage_of(s->rm));
        }
    }

    switch (opt.mode) {
    case mode_t_::relay:
    case mode_t_::rising:
        relay_tick(now);
        if (relay.st == relay_state::joining && cnt.failures > uint64_t(opt.pairs) * 4) {
            fprintf(stderr, "loadgen: could not join the pairs: %s\n", cnt.first_error.c_str());
            print_relay_result();
            event_base_loopexit(base, nullptr);
        }
        break;
    case mode_t_::storm:
        if (!stopping && now >= storm_end) {
            stopping = true;
            storm_window_end = now;
            storm_cpu1.take();
        }
        if (stopping && (cnt.inflight == 0 || now > storm_end + 5000000000u)) {
            // the CPU window is the set-up window, not the wind-down
            print_storm_result();
            event_base_loopexit(base, nullptr);
        }
        break;
    case mode_t_::idle:
        if (!idle_reported) {
            if (now - cnt.last_progress > uint64_t(opt.stall * 1e9)) print_idle_result("stalled");
            else if (cnt.failures > std::max<uint64_t>(200, uint64_t(opt.conns) / 20)) print_idle_result("failures");
        }
        break;
    }
}

void on_stdin(evutil_socket_t fd, short, void *)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0 && idle_reported) event_base_loopexit(base, nullptr);
}

void on_signal(evutil_socket_t, short, void *)
{
    event_base_loopexit(base, nullptr);
}

// Up to the hard limit; above it too when we may (root), for the
// connections asked.
void raise_nofile(rlim_t need)
{
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    if (need > rl.rlim_max) {
        rlimit more{need, need};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0) return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    rng_state ^= now_ns() ^ (uint64_t(getpid()) << 32);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(rlim_t(opt.conns) + rlim_t(opt.concurrency) * 3 + 1024);

    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons(uint16_t(opt.port));
    if (inet_pton(AF_INET, opt.host.c_str(), &server_addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        return 2;
    }

    // epoll changes made and undone within one loop turn (a write event
    // added, then removed once the buffer is flushed) cost no syscall
    event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!base) {
        fprintf(stderr, "loadgen: event_base_new failed\n");
        return 1;
    }

    int nslots = opt.concurrency;
    if (opt.mode == mode_t_::relay || opt.mode == mode_t_::rising) nslots = std::min(nslots, opt.pairs);
    if (opt.mode == mode_t_::idle) nslots = std::min(nslots, opt.conns / 2);
    for (int i = 0; i < nslots; i++) {
        auto s = std::make_unique<slot>();
        s->kick = event_new(base, -1, 0, slot_kick, s.get());
        slots.push_back(std::move(s));
    }

    // 1 ms: the relay's pacing granularity (frames due in a tick go out in
    // one write per connection); the other modes only check deadlines
    timeval period{0, opt.mode == mode_t_::relay || opt.mode == mode_t_::rising ? 1000 : 10000};
    event *ticker = event_new(base, -1, EV_PERSIST, tick, nullptr);
    event_add(ticker, &period);
    event *sigint = evsignal_new(base, SIGINT, on_signal, nullptr);
    event *sigterm = evsignal_new(base, SIGTERM, on_signal, nullptr);
    event_add(sigint, nullptr);
    event_add(sigterm, nullptr);
    event *in = nullptr;
    if (opt.mode == mode_t_::idle) {
        // held until stdin closes (a file or /dev/null cannot be polled:
        // then until a signal)
        in = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, nullptr);
        if (event_add(in, nullptr) < 0) {
            event_free(in);
            in = nullptr;
        }
    }

    t_start = now_ns();
    cnt.last_progress = t_start;
    if (opt.mode == mode_t_::storm) {
        storm_end = t_start + uint64_t(opt.seconds * 1e9);
        storm_cpu0.take();
    }
    for (auto &s : slots) slot_next(s.get());

    event_base_dispatch(base);

    if (opt.mode == mode_t_::idle && !idle_reported) print_idle_result("interrupted");
    // the kernel closes the sockets; freeing 40,000 of them one by one
    // would only delay the caller
    fflush(stdout);
    _exit(0);
}
