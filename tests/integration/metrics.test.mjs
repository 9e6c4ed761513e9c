// webcall_metrics against the real Prometheus (Debian's prometheus, on a
// loopback port, scraping every second) and nginx with 2 workers from the
// shipped snippets: the test makes rooms, runs a call with a resume, a
// leave, errors, a flooding client and a rate-limited one, reloads nginx,
// and asks Prometheus's HTTP API for each value, which must be exactly
// what it did. promtool checks the exposition; /metrics answers only
// 127.0.0.1.
//
// Needs: make module, prometheus (make deps).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { startNginx, request, tempDir } from '../lib/nginx.mjs';
import { PROMTOOL, run, startPrometheus } from '../lib/prometheus.mjs';
import { Peer, createRoom, sleep, waitFor } from '../lib/ws.mjs';

const offer = (to) => ({ type: 'offer', to, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' });
const cand = (to, i) => ({ type: 'candidate', to, candidate: { candidate: `candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } });

describe('metrics: webcall_metrics read by the real Prometheus', () => {
    let ngx, prom;
    const open = [];

    before(async () => {
        ngx = await startNginx({ workers: 2 });
        prom = await startPrometheus(`127.0.0.1:${ngx.port}`);
    });

    after(async () => {
        for (const p of open) p.drop();
        await prom?.stop();
        await ngx?.stop();
    });

    async function peer(token) {
        const p = await Peer.open(ngx.port, token);
        open.push(p);
        return p;
    }

    it('counts what happened, across both workers and a reload', { timeout: 120000 }, async () => {
        // Two rooms for the calls, then more, past the shipped limit (10 a
        // minute, burst 20) from one address.
        const room = (await createRoom(ngx.base)).token;
        const other = (await createRoom(ngx.base)).token;
        const statuses = [];
        for (let i = 0; i < 24; i++) {
            statuses.push((await request(ngx.base, '/api/rooms', { method: 'POST', json: {} })).status);
        }
        const created = statuses.filter((s) => s === 201).length;
        const limited = statuses.filter((s) => s === 429).length;
        assert.equal(created + limited, 24, `statuses ${statuses}`);
        assert.ok(limited >= 4, `rate-limited ${limited} of 24`);
        const last = await request(ngx.base, '/api/rooms', { method: 'POST', json: {} });
        assert.equal(last.status, 429);
        assert.equal(last.headers['retry-after'], '60');
        assert.equal(last.json.error, 'rate-limited', 'the 429 comes from the API table');

        // A call: two joins, five relayed messages, a resume, a leave.
        const a = await peer(room);
        await a.join();
        const b = await peer(room);
        await b.join();
        await a.next('peer-joined');
        for (let i = 0; i < 3; i++) a.send(cand(b.id, i));
        a.send(offer(b.id));
        for (let i = 0; i < 3; i++) await b.next('candidate');
        await b.next('offer');
        b.send({ type: 'answer', to: a.id, sdp: 'v=0\r\n' });
        await a.next('answer');
        a.send(offer('zzzzzzzz'));                      // peer-not-found, not fatal
        await a.expectError('not-found');
        const resume = b.resume;
        b.drop();
        const b2 = await peer(room);
        await b2.join(resume);
        await a.next('peer-joined');
        b2.send({ type: 'bye' });
        await a.next('peer-left');
        // A browser that cannot call knocks (no seat), and a join whose
        // seat ticket is refused comes in as new and leaves.
        const knock = await peer(room);
        knock.send({ type: 'cannot-call' });
        await knock.closed;
        await a.next('cannot-call');
        const forged = await peer(room);
        forged.send({ type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a', ticket: '2'.repeat(53) });
        await forged.expectError('bad-ticket');
        await forged.next('welcome');
        await a.next('peer-joined');
        forged.send({ type: 'bye' });
        await a.next('peer-left');

        // A bad message, and a client that floods.
        const bad = await peer(other);
        await bad.join();
        bad.send('not json');
        await bad.expectError('bad-message', 4400);
        const flood = await peer(other);
        await flood.join();
        for (let i = 0; i < 400; i++) flood.send(cand('zzzzzzzz', i));
        await flood.closed;
        assert.equal(flood.closeInfo.code, 4429, flood.describe());

        const counts = {
            'sum(webcall_rooms_created_total)': created + 2,
            'sum(webcall_api_refused_total{error="rate-limited"})': limited + 1,
            'sum(webcall_joins_total{kind="new"})': 5,
            'sum(webcall_joins_total{kind="resume"})': 1,
            'sum(webcall_leaves_total)': 2,
            'sum(webcall_cannot_call_total)': 1,
            'sum(webcall_errors_sent_total{error="bad-ticket"})': 1,
            'sum(webcall_relayed_messages_total)': 5,
                        'sum(webcall_errors_sent_total{error="bad-message"})': 1,
            'sum(webcall_errors_sent_total{error="rate-limited"})': 1,
            'sum(webcall_rate_limited_closes_total)': 1,
            'sum(webcall_connections)': 1,
            'sum(webcall_seats{state="live"})': 1,
            // the two closed for their errors wait out their grace period
            'sum(webcall_seats{state="grace"})': 2,
            'sum(webcall_rooms_active)': 2,
        };
        // the flood's candidates to nobody were refused one by one until
        // the rate limit: count them from what the flooder received
        const notFound = flood.all.filter((m) => m.includes('"not-found"')).length;
        counts['sum(webcall_errors_sent_total{error="peer-not-found"})'] = 1 + notFound;

        const check = async (when) => {
            for (const [q, want] of Object.entries(counts)) {
                assert.equal(await prom.value(q, want), want, `${when}: ${q}`);
            }
        };
        await check('before the reload');
        const relayedBytes = await prom.value('sum(webcall_relayed_bytes_total)', -1, 0);
        assert.ok(relayedBytes > 5 * 40, `relayed bytes ${relayedBytes}`);

        // A reload keeps the zone, and with it every counter; the open
        // connection moves to a new worker (1001, resume).
        await ngx.reload();
        await a.closed;
        const a2 = await peer(room);
        await a2.join(a.resume);
        counts['sum(webcall_joins_total{kind="resume"})'] = 2;
        // the two grace seats may have expired by now (20 s)
        delete counts['sum(webcall_seats{state="grace"})'];
        delete counts['sum(webcall_rooms_active)'];
        await check('after the reload');
        const workers = await prom.api('webcall_connections');
        assert.equal(workers.length, 2, `one series per live worker: ${JSON.stringify(workers)}`);
    });

    it('passes promtool check metrics, and answers only 127.0.0.1', { timeout: 30000 }, async () => {
        const r = await request(ngx.base, '/metrics');
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        const lint = await run(PROMTOOL, ['check', 'metrics'], r.body);
        assert.equal(lint.code, 0, lint.output);
        assert.equal(lint.output.trim(), '', `promtool: ${lint.output}`);
        for (const name of ['webcall_zone_size_bytes', 'webcall_zone_used_bytes', 'webcall_inter_worker_deliveries_total',
            'webcall_turn_credentials_total', 'webcall_send_queue_overflows_total', 'webcall_grace_expired_total']) {
            assert.match(r.body, new RegExp(`^${name}\\{`, 'm'), name);
        }
        // from another address of this machine (a caller would be farther)
        const other = await new Promise((resolve, reject) => {
            http.get({ host: '127.0.0.1', port: ngx.port, path: '/metrics', localAddress: '127.0.0.2' }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode));
            }).on('error', reject);
        });
        assert.equal(other, 403, 'another address is refused');
        const post = await request(ngx.base, '/metrics', { method: 'POST', json: {} });
        assert.equal(post.status, 405);
    });
});

describe('health: GET /api/health', () => {
    let ngx, dir;

    before(async () => {
        dir = await tempDir('webcall-health-');
        const secretFile = path.join(dir, 'secret');
        await fsp.writeFile(secretFile, 'a'.repeat(64) + '\n', { mode: 0o600 });
        ngx = await startNginx({ workers: 2, secretFile });
        ngx.secretFile = secretFile;
    });

    after(async () => {
        await ngx?.stop();
        if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    it('answers 200 ok while rooms can be made; 503 secret-missing when the secret file is gone; refuses POST', async () => {
        const ok = await request(ngx.base, '/api/health');
        assert.equal(ok.status, 200, ok.body);
        assert.deepEqual(ok.json, { status: 'ok' });
        assert.equal(ok.headers['cache-control'], 'no-store');
        assert.equal((await request(ngx.base, '/api/health', { method: 'HEAD' })).status, 200);
        const post = await request(ngx.base, '/api/health', { method: 'POST', json: {} });
        assert.equal(post.status, 405);
        assert.equal(post.headers.allow, 'GET, HEAD');

        await fsp.rename(ngx.secretFile, `${ngx.secretFile}.moved`);
        try {
            const gone = await request(ngx.base, '/api/health');
            assert.equal(gone.status, 503, gone.body);
            assert.equal(gone.json.reason, 'secret-missing');
            assert.match(gone.json.message, /next reload/);
            // the rooms keep working meanwhile
            assert.equal((await request(ngx.base, '/api/rooms', { method: 'POST', json: {} })).status, 201);
        } finally {
            await fsp.rename(`${ngx.secretFile}.moved`, ngx.secretFile);
        }
        assert.equal((await request(ngx.base, '/api/health')).status, 200);
    });
});

// The value of one sample in the exposition text.
function sample(text, name, labels = {}) {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        const inside = /\{(.*)\}/.exec(line)?.[1] ?? '';
        if (want.every((w) => inside.split(',').includes(w))) return Number(line.split(' ').pop());
    }
    return undefined;
}

describe('beacons: call quality from the callers, folded into histograms', () => {
    let ngx, off;
    const open = [];

    before(async () => {
        ngx = await startNginx({ workers: 1 });
        off = await startNginx({ workers: 1, wsLocation: 'webcall_beacons off;' });
    });

    after(async () => {
        for (const p of open) p.drop();
        await ngx?.stop();
        await off?.stop();
    });

    async function joined(n) {
        const { token } = await createRoom(n.base);
        const p = await Peer.open(n.port, token);
        open.push(p);
        await p.join();
        p.token = token;
        return p;
    }

    const setup = (ms, extra = {}) => ({ type: 'beacon', phase: 'setup', ms, firstTry: true, path: 'direct', transport: 'udp', ...extra });

    it('counts setup and recovery beacons into their buckets, refuses malformed ones without closing, and takes at most 8 per seat', { timeout: 30000 }, async () => {
        const a = await joined(ngx);
        a.send(setup(812));
        a.send(setup(2500, { path: 'relayed', transport: 'tls', firstTry: false }));
        a.send({ type: 'beacon', phase: 'recovery', ms: 2300, reconnects: 1 });
        a.send({ type: 'beacon', phase: 'setup', ms: 812, firstTry: true, path: 'direct', transport: 'udp', ua: 'Mozilla' });
        await a.expectError('bad-beacon');
        a.send(JSON.stringify(setup(1)).replace('}', `,"pad":"${'x'.repeat(300)}"}`));
        await a.expectError('bad-beacon');
        assert.ok(a.isOpen, 'a bad beacon does not end the call');
        for (let i = 0; i < 10; i++) a.send(setup(100));   // 5 more fit in the 8
        // the seat's count survives a reconnect
        const resume = a.resume;
        await sleep(200);
        a.drop();
        const again = await Peer.open(ngx.port, a.token);
        open.push(again);
        await again.join(resume);
        again.send(setup(100));
        await sleep(300);

        const text = (await request(ngx.base, '/metrics')).body;
        const m = (name, labels) => sample(text, name, { zone: 'webcall', ...labels });
        assert.equal(m('webcall_beacons_total', { result: 'accepted' }), 8);
        assert.equal(m('webcall_beacons_total', { result: 'malformed' }), 2);
        assert.equal(m('webcall_beacons_total', { result: 'over-limit' }), 6);
        assert.equal(m('webcall_errors_sent_total', { error: 'bad-beacon' }), 2);
        // direct: 812 ms and five of 100 ms; relayed: 2.5 s
        assert.equal(m('webcall_call_setup_seconds_count', { path: 'direct' }), 6);
        assert.equal(m('webcall_call_setup_seconds_bucket', { path: 'direct', le: '0.5' }), 5);
        assert.equal(m('webcall_call_setup_seconds_bucket', { path: 'direct', le: '1' }), 6);
        assert.ok(Math.abs(m('webcall_call_setup_seconds_sum', { path: 'direct' }) - 1.312) < 1e-9);
        assert.equal(m('webcall_call_setup_seconds_bucket', { path: 'relayed', le: '2' }), 0);
        assert.equal(m('webcall_call_setup_seconds_bucket', { path: 'relayed', le: '3' }), 1);
        assert.equal(m('webcall_calls_total', { path: 'relayed', transport: 'tls', first_try: 'false' }), 1);
        assert.equal(m('webcall_calls_total', { path: 'direct', transport: 'udp', first_try: 'true' }), 6);
        assert.equal(m('webcall_call_recovery_seconds_bucket', { le: '2' }), 0);
        assert.equal(m('webcall_call_recovery_seconds_bucket', { le: '3' }), 1);
        assert.equal(m('webcall_call_reconnects_total'), 1);
        const lint = await run(PROMTOOL, ['check', 'metrics'], text);
        assert.equal(lint.code, 0, lint.output);
    });

    it('webcall_beacons off: beacons are taken and dropped, nothing is counted', { timeout: 30000 }, async () => {
        const a = await joined(off);
        a.send(setup(812));
        await a.nothing(300);
        const text = (await request(off.base, '/metrics')).body;
        assert.equal(sample(text, 'webcall_beacons_total', { result: 'accepted' }), 0);
        assert.equal(sample(text, 'webcall_call_setup_seconds_count', { path: 'direct' }), 0);
    });
});
