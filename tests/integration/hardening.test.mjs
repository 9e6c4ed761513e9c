// What one attacker on the machine or on the network can do to a webcall
// server, done for real against nginx on 127.0.0.1; after each attack the
// service must still carry a fresh call, with nothing in the error log but
// what the attack is expected to leave there (docs/architecture.md,
// "Limits and abuse").
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import http from 'node:http';
import fsp from 'node:fs/promises';
import { startNginx, freePort, request, tempDir, workerPids, writeSecret } from '../lib/nginx.mjs';
import { OP, Peer, RawWs, createRoom, frame, ownerPid, peerOnWorker, waitFor, sleep } from '../lib/ws.mjs';

const offer = (to) => ({ type: 'offer', to, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' });

// Holds abstract Unix datagram names until killed (the attack on the old
// doorbell, which was named after the worker's pid). Resolves once bound.
function squat(names) {
    const py = `
import socket, sys, time
held = []
for n in sys.stdin.read().split():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind(b"\\0" + n.encode())
        held.append(s)
    except OSError:
        s.close()
print(len(held), flush=True)
time.sleep(3600)
`;
    const child = spawn('python3', ['-c', py], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(names.join('\n'));
    return new Promise((resolve, reject) => {
        child.stdout.once('data', (d) => resolve({ child, held: Number(String(d).trim()) }));
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`python3 exited ${code}`)));
    });
}

describe('a local user squats the doorbell names of the next workers', () => {
    let ngx, spreadPort, squatter;
    let conns = [];
    before(async () => {
        spreadPort = await freePort();
        ngx = await startNginx({ workers: 2, rateLimit: false, extraServer: `listen 127.0.0.1:${spreadPort} reuseport;` });
    });
    afterEach(() => { for (const c of conns) c.drop(); conns = []; });
    after(async () => {
        if (squatter) squatter.kill('SIGKILL');
        await ngx?.stop();
    });

    it('a reload still brings up every worker, and workers still wake each other at once', { timeout: 60000 }, async () => {
        // Every name the old scheme would use for the next 3000 pids, and
        // the plain "webcall" prefix space around them.
        const last = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
        const names = [];
        for (let pid = last + 1; pid <= last + 3000; pid++) names.push(`webcall-doorbell-${pid}`);
        const s = await squat(names);
        squatter = s.child;
        assert.equal(s.held, names.length, 'the attacker holds every name');

        const before = await workerPids(ngx.pid);
        await ngx.reload();
        await waitFor(async () => {
            const now = await workerPids(ngx.pid);
            return now.length === 2 && now.every((p) => !before.includes(p));
        }, 15000, 'two new workers after the reload');
        await sleep(1000);
        const workers = await workerPids(ngx.pid);
        assert.equal(workers.length, 2, `workers after 1 s: ${workers}`);
        assert.doesNotMatch(ngx.errorLog(), /exited with (fatal )?code 2|doorbell/, ngx.errorLog());

        // A call across the two new workers; each delivery between them is
        // rung at once, not found on the 500 ms tick.
        const { token } = await createRoom(ngx.base);
        const a = await peerOnWorker(spreadPort, token);
        conns.push(a);
        await a.join();
        const b = await peerOnWorker(spreadPort, token, (pid) => pid !== a.pid);
        conns.push(b);
        await b.join();
        await a.next('peer-joined');
        const times = [];
        for (let i = 0; i < 7; i++) {
            const t0 = Date.now();
            a.send(offer(b.id));
            await b.next('offer');
            times.push(Date.now() - t0);
            await sleep(600 * Math.random());
        }
        times.sort((x, y) => x - y);
        assert.ok(times[3] < 250, `median delivery between workers ${times[3]} ms (${times})`);
    });
});

// The shipped limits (limit_conn 32 on /ws/ per client, the join deadline
// of 5 s), default ping interval (30 s).
describe('one address opens thousands of signaling connections', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 2 }); });
    after(() => ngx?.stop());

    it('a connection that never joins is closed after the 5 s join deadline with 1008', { timeout: 30000 }, async () => {
        const { token } = await createRoom(ngx.base);
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        raw.autoPong = true;
        const t0 = Date.now();
        const { reason } = await raw.expectClose(1008, 10000);
        const dt = Date.now() - t0;
        assert.equal(reason, 'join expected');
        assert.ok(dt >= 4000 && dt <= 7500, `closed after ${dt} ms`);
    });

    it('3000 from 127.0.0.1: 32 are let in, the rest refused with 429 at once; 127.0.0.2 still calls', { timeout: 120000 }, async () => {
        const { token } = await createRoom(ngx.base);
        const N = 3000;
        const statuses = new Map();
        const held = [];
        const t0 = Date.now();
        for (let i = 0; i < N; i += 100) {
            const batch = await Promise.all(Array.from({ length: Math.min(100, N - i) }, () =>
                RawWs.open(ngx.port, `/ws/${token}`, { timeout: 10000 }).catch((e) => ({ status: `error ${e.message}` }))));
            for (const r of batch) {
                statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
                if (r.status === 101) held.push(r); else r.sock?.destroy();
            }
        }
        const ms = Date.now() - t0;
        console.log(`# ${N} WebSockets from 127.0.0.1 in ${ms} ms: ${JSON.stringify(Object.fromEntries(statuses))}`);
        assert.equal(statuses.get(101), 32, JSON.stringify(Object.fromEntries(statuses)));
        assert.equal(statuses.get(429), N - 32, JSON.stringify(Object.fromEntries(statuses)));

        // Another caller, from another address, gets through and calls.
        const a = await Peer.open(ngx.port, token, { localAddress: '127.0.0.2' });
        const b = await Peer.open(ngx.port, token, { localAddress: '127.0.0.2' });
        try {
            // The room holds 2: the squatters never joined, so both seats are free.
            await a.join();
            const wb = await b.join();
            assert.equal((await a.next('peer-joined')).id, wb.id);
            a.send(offer(wb.id));
            assert.ok(await b.next('offer'));
        } finally {
            a.drop();
            b.drop();
        }

        // The squatters are gone after the join deadline, and 127.0.0.1 is
        // let in again.
        await Promise.all(held.map((r) => Promise.race([r.end, sleep(10000)])));
        assert.ok(held.every((r) => r.ended), 'every squatter was closed');
        const again = await Peer.open(ngx.port, token);
        again.drop();
        assert.doesNotMatch(ngx.errorLog().split('\n').filter((l) => !/limiting connections/.test(l)).join('\n'),
            /\[alert\]|\[crit\]|\[emerg\]/);
    });
});

// A joined connection gives its HTTP request back (docs/architecture.md,
// "Detaching"); limit_conn's count must stay with the connection.
describe('limit_conn holds joined connections too', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 2 }); });
    after(() => ngx?.stop());

    it('32 joined connections from 127.0.0.1 keep the 33rd out until one of them closes', { timeout: 60000 }, async () => {
        const peers = [];
        try {
            for (let r = 0; r < 8; r++) {
                const res = await request(ngx.base, '/api/rooms', { method: 'POST', json: { maxParticipants: 4 } });
                assert.equal(res.status, 201, res.body);
                for (let k = 0; k < 4; k++) {
                    const p = await Peer.open(ngx.port, res.json.token);
                    await p.join();
                    peers.push(p);
                }
            }
            // every one of them detached from its request by now
            await sleep(200);
            const { token } = await createRoom(ngx.base);
            const refused = await RawWs.open(ngx.port, `/ws/${token}`);
            assert.equal(refused.status, 429, 'the 33rd connection is refused');
            refused.sock?.destroy();

            peers.pop().drop();
            const again = await waitFor(async () => {
                const r = await RawWs.open(ngx.port, `/ws/${token}`);
                if (r.status === 101) return r;
                r.sock?.destroy();
                return null;
            }, 5000);
            assert.equal(again.status, 101, 'a closed connection gives its place back');
            again.sock?.destroy();
        } finally {
            for (const p of peers) p.drop();
        }
        // the access log has one line per joined connection, with its peer
        const log = fs.readFileSync(`${ngx.dir}/access.log`, 'utf8');
        const lines = log.split('\n').filter((l) => /"GET \/ws\/~[0-9a-f]{6} HTTP\/1.1" 101 .* peer=[1-9A-HJ-NP-Za-km-z]{8}$/.test(l));
        assert.equal(lines.length, 32, log);
        assert.doesNotMatch(ngx.errorLog(), /\[alert\]|\[crit\]|\[emerg\]/);
    });
});

describe('per-client limits count an IPv6 client by its /64', () => {
    let ngx, port6;
    before(async () => {
        port6 = await freePort();
        ngx = await startNginx({ workers: 1, extraServer: `listen [::1]:${port6};` });
    });
    after(() => ngx?.stop());

    it('40 WebSockets from ::1: 32 let in, 8 refused; 127.0.0.1 is another client', { timeout: 60000 }, async () => {
        const { token } = await createRoom(ngx.base);
        const open = (opts) => RawWs.open(port6, `/ws/${token}`, { host: `[::1]:${port6}`, connectTo: '::1', ...opts });
        const rs = await Promise.all(Array.from({ length: 40 }, () => open()));
        const count = (s) => rs.filter((r) => r.status === s).length;
        assert.equal(count(101), 32);
        assert.equal(count(429), 8);
        const v4 = await RawWs.open(ngx.port, `/ws/${token}`);
        assert.equal(v4.status, 101);
        for (const r of [...rs, v4]) r.sock.destroy();
    });
});

// CPU seconds a process has used (utime + stime, in clock ticks of 1/100 s).
function cpuSeconds(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
}

// Writes buffers as fast as the socket takes them, until it closes.
// Returns how many bytes were handed to the socket.
async function pump(raw, chunks) {
    let sent = 0;
    for (const c of chunks) {
        if (raw.ended || raw.sock.destroyed) break;
        sent += c.length;
        if (!raw.sock.write(c)) await Promise.race([new Promise((r) => raw.sock.once('drain', r)), raw.end]);
    }
    return sent;
}

// One big text message as frames of `piece` bytes each: the first text,
// the rest continuations, the last fin. Yields 64 KiB-ish write chunks.
function* fragmented(total, piece) {
    const payload = Buffer.alloc(piece, 0x61);
    let batch = [];
    let size = 0;
    for (let off = 0; off < total; off += piece) {
        const first = off === 0;
        const last = off + piece >= total;
        const f = frame({ op: first ? OP.text : OP.cont, payload, fin: last });
        batch.push(f);
        size += f.length;
        if (size >= 65536 || last) { yield Buffer.concat(batch); batch = []; size = 0; }
    }
}

describe('a message in a million 1-byte fragments (webcall_ws_max_message 1m)', () => {
    for (const [label, rate, codes] of [
        ['the shipped rate limit', '', [4429]],
        ['the rate limit at its maximum', 'webcall_signal_rate 100000 64m;', [1008]],
    ]) {
        it(`with ${label}: refused early, under 0.5 s of worker CPU, and the server still carries a call`, { timeout: 120000 }, async () => {
            const ngx = await startNginx({ workers: 1, rateLimit: false,
                wsLocation: `webcall_ws_max_message 1m; webcall_ws_send_queue 2m; ${rate}` });
            try {
                const [worker] = await workerPids(ngx.pid);
                const { token } = await createRoom(ngx.base);
                const raw = await RawWs.open(ngx.port, `/ws/${token}`);
                const cpu0 = cpuSeconds(worker);
                const t0 = Date.now();
                // 1 MiB of 1-byte frames is 7 MiB on the wire (header, mask, byte).
                const sent = await pump(raw, fragmented(1 << 20, 1));
                await Promise.race([raw.end, sleep(20000)]);
                const cpu = cpuSeconds(worker) - cpu0;
                const close = raw.frames.find((f) => f.op === OP.close);
                console.log(`# 1 MiB in 1-byte fragments, ${label}: closed after ${Date.now() - t0} ms and ` +
                    `${(sent / 1048576).toFixed(1)} of 7 MiB sent (close ${close?.code ?? 'lost in the reset'}), ` +
                    `worker CPU ${cpu.toFixed(2)} s`);
                assert.ok(raw.ended, 'the server closed the connection');
                assert.ok(sent < 7 << 20, `the whole message went in (${sent} bytes)`);
                if (close) assert.ok(codes.includes(close.code), `closed with ${close.code}`);
                assert.ok(cpu < 0.5, `worker CPU ${cpu} s`);

                const a = await Peer.open(ngx.port, token);
                const b = await Peer.open(ngx.port, token);
                await a.join();
                const wb = await b.join();
                a.send(offer(wb.id));
                assert.ok(await b.next('offer'));
                a.drop();
                b.drop();
            } finally {
                await ngx.stop();
            }
        });
    }

    it('1 MiB in 256 fragments of 4 KiB costs about what one frame costs', { timeout: 120000 }, async () => {
        const ngx = await startNginx({ workers: 1, rateLimit: false,
            wsLocation: 'webcall_ws_max_message 1m; webcall_ws_send_queue 2m; webcall_signal_rate 100000 64m;' });
        try {
            const [worker] = await workerPids(ngx.pid);
            const { token } = await createRoom(ngx.base);
            const cost = async (piece) => {
                const raw = await RawWs.open(ngx.port, `/ws/${token}`);
                const cpu0 = cpuSeconds(worker);
                // Not JSON signaling: answered with an error, after assembly.
                const closing = raw.expectClose([1008, 1002, 4400], 60000).catch(() => null);
                await pump(raw, fragmented(1 << 20, piece));
                await Promise.race([closing, sleep(3000)]);
                raw.sock.destroy();
                return cpuSeconds(worker) - cpu0;
            };
            const one = await cost(1 << 20);
            const many = await cost(4096);
            console.log(`# 1 MiB: one frame ${one.toFixed(2)} s, 256 fragments ${many.toFixed(2)} s of worker CPU`);
            assert.ok(many < 0.5, `256 fragments cost ${many} s`);
        } finally {
            await ngx.stop();
        }
    });
});

describe('requests from other sites, and headers', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 1 }); });
    after(() => ngx?.stop());

    it('the CSP never carries the request\'s Host', async () => {
        const res = await request(ngx.base, '/', { headers: { Host: 'evil.example; script-src *' } });
        const csp = res.headers['content-security-policy'] ?? '';
        assert.doesNotMatch(csp, /evil|script-src \*/, csp);
        assert.match(csp, /connect-src 'self' wss:\/\/localhost;/, csp);
    });

    it('a WebSocket Origin must have this site\'s scheme and host', async () => {
        const { token } = await createRoom(ngx.base);
        const host = `127.0.0.1:${ngx.port}`;
        for (const [origin, status] of [[`chrome-extension://${host}`, 403], [`x://${host}`, 403],
            [`HTTP://${host}`, 403], [`https://${host}`, 403], [`http://${host}.evil.example`, 403],
            [`http://${host}`, 101]]) {
            const raw = await RawWs.open(ngx.port, `/ws/${token}`, { headers: { Origin: origin } });
            assert.equal(raw.status, status, `Origin ${origin}`);
            raw.sock.destroy();
        }
    });

    it('another site\'s page cannot create rooms (Origin or Sec-Fetch-Site), this site\'s can', async () => {
        const own = `http://127.0.0.1:${ngx.port}`;
        for (const headers of [{ Origin: 'https://evil.example' }, { Origin: `chrome-extension://127.0.0.1:${ngx.port}` },
            { 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'null' }]) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST', headers });
            assert.equal(res.status, 403, `${JSON.stringify(headers)}: ${res.status} ${res.body}`);
            assert.equal(res.json?.error, 'cross-site');
        }
        for (const headers of [{ Origin: own, 'Sec-Fetch-Site': 'same-origin' }, {}]) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST', headers, json: {} });
            assert.equal(res.status, 201, `${JSON.stringify(headers)}: ${res.status} ${res.body}`);
        }
    });

    it('a 100 KiB chunked body to the API is refused with 413 while it is read', async () => {
        const res = await new Promise((resolve, reject) => {
            const req = http.request(`${ngx.base}/api/rooms`, { method: 'POST', agent: false,
                headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (r) => {
                r.resume();
                r.on('end', () => resolve(r));
            });
            req.on('error', reject);
            for (let i = 0; i < 100; i++) req.write(' '.repeat(1024));
            req.end('{}');
        });
        assert.equal(res.statusCode, 413);
    });

    it('the 429 answer to too many new rooms keeps every security header', async () => {
        let res;
        for (let i = 0; i < 40; i++) {
            res = await request(ngx.base, '/api/rooms', { method: 'POST' });
            if (res.status === 429) break;
        }
        assert.equal(res.status, 429);
        assert.match(res.headers['content-security-policy'] ?? '', /default-src 'none'/);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['x-frame-options'], 'DENY');
        assert.equal(res.headers['referrer-policy'], 'no-referrer');
        assert.match(res.headers['permissions-policy'] ?? '', /camera=\(self\)/);
        assert.equal(res.headers['retry-after'], '60');
    });
});

describe('the room zone filled by one client', () => {
    let full, other, dir;
    before(async () => {
        dir = await tempDir('webcall-full-');
        const secretFile = await writeSecret(dir, 'secret');
        full = await startNginx({ workers: 2, rateLimit: false, secretFile, zoneArgs: 'webcall:1m' });
        other = await startNginx({ workers: 1, rateLimit: false, secretFile });
    });
    after(async () => {
        await full?.stop();
        await other?.stop();
        if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    it('a valid link whose record is not in the full zone still gets in, and its call works', { timeout: 120000 }, async () => {
        // An older link: signed with the same secret, its record elsewhere.
        const { token } = await createRoom(other.base);
        let rooms = 0;
        for (;;) {
            const res = await request(full.base, '/api/rooms', { method: 'POST' });
            if (res.status === 503) break;
            assert.equal(res.status, 201, res.body);
            rooms++;
            assert.ok(rooms < 20000, 'the zone never filled');
        }
        console.log(`# a 1 MiB zone holds ${rooms} rooms`);
        assert.equal((await request(full.base, '/api/rooms', { method: 'POST' })).status, 503, 'still full');

        const a = await Peer.open(full.port, token);
        const b = await Peer.open(full.port, token);
        try {
            await a.join();
            const wb = await b.join();
            a.send(offer(wb.id));
            assert.ok(await b.next('offer'));
        } finally {
            a.drop();
            b.drop();
        }
        assert.doesNotMatch(full.errorLog(), /\[alert\]|\[crit\]/);
    });
});

describe('a leaked resume secret', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 1, rateLimit: false }); });
    after(() => ngx?.stop());

    it('each resume hands out a new secret; the old one no longer takes the seat', { timeout: 30000 }, async () => {
        const { token } = await createRoom(ngx.base);
        const a = await Peer.open(ngx.port, token);
        const w1 = await a.join();
        a.drop();
        const a2 = await Peer.open(ngx.port, token);
        const w2 = await a2.join(w1.resume);
        assert.equal(w2.id, w1.id, 'resumed the same seat');
        assert.notEqual(w2.resume, w1.resume, 'a new secret');
        a2.drop();
        // Someone holding the first secret gets a seat of their own, not this one.
        const thief = await Peer.open(ngx.port, token);
        const wt = await thief.join(w1.resume);
        assert.notEqual(wt.id, w1.id);
        thief.drop();
        const a3 = await Peer.open(ngx.port, token);
        const w3 = await a3.join(w2.resume);
        assert.equal(w3.id, w1.id, 'the latest secret still resumes');
        a3.drop();
    });
});

describe('relaying towards a stuck worker', () => {
    let ngx, spreadPort;
    before(async () => {
        spreadPort = await freePort();
        ngx = await startNginx({
            workers: 2, rateLimit: false, zoneArgs: 'webcall:128k inbox=256k',
            extraServer: `listen 127.0.0.1:${spreadPort} reuseport;`,
            wsLocation: 'webcall_signal_rate 100000 64m;',
        });
    });
    after(() => ngx?.stop());

    it('fills the inbox memory, never the rooms: creation keeps answering 201', { timeout: 90000 }, async () => {
        const { token } = await createRoom(ngx.base);
        const a = await peerOnWorker(spreadPort, token);
        await a.join();
        const b = await peerOnWorker(spreadPort, token, (pid) => pid !== a.pid);
        const wb = await b.join();
        await a.next('peer-joined');
        // b's worker stops reading its inbox; a relays 2 MiB towards it.
        process.kill(b.pid, 'SIGSTOP');
        try {
            const sdp = 'v=0\r\n' + 'a=x:'.padEnd(60000, 'y') + '\r\n';
            for (let i = 0; i < 36; i++) a.send({ type: 'offer', to: wb.id, sdp });
            await sleep(1500);
            // Room creation, answered by a's worker, still has its memory.
            let created = 0;
            for (let i = 0; i < 20 && created < 5; i++) {
                const sock = await new Promise((resolve, reject) => {
                    const c = net.connect({ port: spreadPort, host: '127.0.0.1' }, () => resolve(c));
                    c.once('error', reject);
                });
                const owner = await ownerPid(spreadPort, sock.localPort);
                if (owner !== a.pid) { sock.destroy(); continue; }
                sock.write('POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
                const answer = await new Promise((resolve) => {
                    let t = '';
                    sock.on('data', (d) => { t += d; });
                    sock.on('close', () => resolve(t));
                    setTimeout(() => { sock.destroy(); resolve(t); }, 3000);
                });
                assert.match(answer, /^HTTP\/1\.1 201/, answer.slice(0, 200));
                created++;
            }
            assert.ok(created >= 3, `only ${created} rooms created`);
            assert.match(ngx.errorLog(), /dropped \(the inbox zone is out of memory/);
        } finally {
            process.kill(b.pid, 'SIGCONT');
        }
        // b's worker catches up with what fitted; the call goes on.
        const first = await b.next('offer', 10000);
        assert.ok(first.sdp.length > 50000);
        a.drop();
        b.drop();
        const c = await Peer.open(ngx.port, (await createRoom(ngx.base)).token);
        await c.join();
        c.drop();
        assert.doesNotMatch(ngx.errorLog(), /\[alert\]|\[crit\]|ngx_slab_alloc\(\) failed/);
    });
});

describe('one client minting seats (and TURN credentials) over and over', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 2 }); });
    after(() => ngx?.stop());

    it('about 120 handshakes pass at once, then 429; another address is not affected', { timeout: 60000 }, async () => {
        const { token } = await createRoom(ngx.base);
        let ok = 0;
        let refused = 0;
        for (let i = 0; i < 200; i++) {
            const raw = await RawWs.open(ngx.port, `/ws/${token}`);
            if (raw.status === 101) ok++;
            else if (raw.status === 429) refused++;
            raw.sock.destroy();
        }
        console.log(`# 200 handshakes from one address at once: ${ok} let in, ${refused} refused`);
        assert.ok(ok >= 120 && ok <= 125, `${ok} let in`);
        assert.equal(ok + refused, 200);
        const other = await Peer.open(ngx.port, token, { localAddress: '127.0.0.2' });
        const w = await other.join();
        assert.ok(w.iceServers);
        other.drop();
    });
});
