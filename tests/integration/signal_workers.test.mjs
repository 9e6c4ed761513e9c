// The signaling WebSocket across nginx worker processes and through their
// lifecycle: keep-alive pings, the join deadline, a call between two
// workers, a configuration reload during a call, and a worker killed with
// SIGKILL. 2 workers; a second listener with reuseport spreads connections
// over them, and `ss` tells which worker holds a connection.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, request, freePort, workerPids } from '../lib/nginx.mjs';
import { Peer, RawWs, OP, frame, createRoom, ownerPid, peerOnWorker as sharedPeerOnWorker, waitFor, sleep } from '../lib/ws.mjs';

const PING = 1000;
const GRACE = 2000;
const KILLED = /worker process \d+ exited on signal 9/;

const offer = (to, extra = {}) => ({ type: 'offer', to, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', ...extra });
const cand = (to, i) => ({ type: 'candidate', to, candidate: { candidate: `candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } });

describe('signaling across workers and their lifecycle', () => {
    let ngx;
    let spreadPort;
    let conns = [];
    before(async () => {
        spreadPort = await freePort();
        ngx = await startNginx({
            workers: 2,
            rateLimit: false,
            extraServer: `listen 127.0.0.1:${spreadPort} reuseport;`,
            wsLocation: `webcall_ws_ping_interval ${PING / 1000}s; webcall_signal_grace ${GRACE / 1000}s;`,
            allowAlerts: [KILLED],
        });
    });
    afterEach(() => {
        for (const c of conns) (c instanceof Peer ? c.drop() : c.destroy());
        conns = [];
    });
    after(() => ngx?.stop());

    async function peer(token, port = ngx.port) {
        const p = await Peer.open(port, token);
        conns.push(p);
        return p;
    }

    async function peerOnWorker(token, want, what) {
        const p = await sharedPeerOnWorker(spreadPort, token, want, what);
        conns.push(p);
        return p;
    }

    // Two joined participants held by different workers.
    async function callAcrossWorkers(token) {
        const a = await peerOnWorker(token, () => true, 'any worker');
        await a.join();
        const b = await peerOnWorker(token, (pid) => pid !== a.pid, `a worker other than ${a.pid}`);
        await b.join();
        assert.equal((await a.next('peer-joined')).id, b.id);
        return { a, b };
    }

    it('the server pings about every interval and a client that answers stays connected', async () => {
        const { token } = await createRoom(ngx.base);
        const [a, b] = [await peer(token), await peer(token)];
        await a.join();
        await b.join();
        await a.next('peer-joined');
        const t0 = Date.now();
        await sleep(3.5 * PING);
        const pings = a.pings.filter((t) => t >= t0);
        assert.ok(pings.length >= 2 && pings.length <= 5, `${pings.length} pings in ${3.5 * PING} ms`);
        const gaps = a.pings.slice(1).map((t, i) => t - a.pings[i]);
        for (const g of gaps) assert.ok(g >= 0.5 * PING && g <= 2 * PING, `pings ${gaps.join(', ')} ms apart`);
        assert.ok(a.isOpen && b.isOpen, `${a.describe()} / ${b.describe()}`);
        a.send(offer(b.id));
        assert.equal((await b.next('offer')).from, a.id);
        await a.nothing(0);
    });

    it('a joined client that never answers pings is dropped within 2-3 intervals', async () => {
        const { token } = await createRoom(ngx.base);
        const b = await peer(token);
        await b.join();
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        conns.push(raw);
        await raw.join();
        const t0 = Date.now();
        await b.next('peer-joined');
        await Promise.race([raw.end, sleep(4.5 * PING)]);
        const dt = Date.now() - t0;
        assert.ok(raw.ended, `still connected ${dt} ms after the last message; ${raw.describe()}`);
        assert.ok(dt >= 1.5 * PING, `dropped after only ${dt} ms; ${raw.describe()}`);
        assert.ok(raw.frames.some((f) => f.op === OP.ping), `dropped without a ping first; ${raw.describe()}`);
        assert.equal(raw.protocolError, null, raw.protocolError);
        // It counts as a drop without bye: peer-left after the grace period.
        assert.equal((await b.next('peer-left', GRACE + 2000)).id, raw.id);
    });

    it('a connection that does not join within one ping interval is closed with 1008', async () => {
        const { token } = await createRoom(ngx.base);
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        conns.push(raw);
        raw.autoPong = true;     // alive, just not joining
        const t0 = Date.now();
        const { reason } = await raw.expectClose(1008, 3 * PING);
        assert.equal(reason, 'join expected');
        const dt = Date.now() - t0;
        assert.ok(dt >= 0.7 * PING && dt <= 2.5 * PING, `closed after ${dt} ms (interval ${PING})`);
    });

    it('two participants on different workers exchange offer, answer and candidates in order', async (t) => {
        const { token } = await createRoom(ngx.base);
        const { a, b } = await callAcrossWorkers(token);
        t.diagnostic(`a on worker ${a.pid}, b on worker ${b.pid}`);
        assert.notEqual(a.pid, b.pid);
        assert.ok((await ngx.workerPids()).includes(a.pid) && (await ngx.workerPids()).includes(b.pid));

        const text = JSON.stringify(offer(b.id));
        a.send(text);
        const o = await b.next('offer');
        assert.equal(o.raw, `{"from":"${a.id}",${text.slice(1)}`);
        b.send({ type: 'answer', to: a.id, sdp: 'v=0\r\nanswer' });
        const ans = await a.next('answer');
        assert.equal(ans.from, b.id);
        assert.equal(ans.sdp, 'v=0\r\nanswer');
        for (let i = 0; i < 20; i++) {
            a.send(cand(b.id, i));
            b.send(cand(a.id, 100 + i));
        }
        a.send({ type: 'candidate', to: b.id, candidate: null });
        for (let i = 0; i < 20; i++) {
            const mb = await b.next('candidate');
            assert.equal(mb.from, a.id);
            assert.equal(mb.candidate.candidate, cand(b.id, i).candidate.candidate);
            const ma = await a.next('candidate');
            assert.equal(ma.from, b.id);
            assert.equal(ma.candidate.candidate, cand(a.id, 100 + i).candidate.candidate);
        }
        assert.equal((await b.next('candidate')).candidate, null);
        // bye crosses workers too, at once.
        b.send({ type: 'bye' });
        assert.equal((await a.next('peer-left', GRACE / 2)).id, b.id);
        await b.expectClose(1000);
    });

    it('in a room of 4 spread over both workers every sender\'s order is kept', async (t) => {
        const { token } = await createRoom(ngx.base, { maxParticipants: 4 });
        const ps = [];
        for (let i = 0; i < 4; i++) {
            // alternate workers: 2 participants on each
            const want = ps.length === 0 ? () => true
                : (pid) => (i % 2 === 0 ? pid === ps[0].pid : pid !== ps[0].pid);
            const p = await peerOnWorker(token, want, `worker ${i % 2 === 0 ? '' : 'other than '}${ps[0]?.pid}`);
            await p.join();
            for (const q of ps) assert.equal((await q.next('peer-joined')).id, p.id);
            ps.push(p);
        }
        t.diagnostic(`workers: ${ps.map((p) => p.pid)}`);
        const N = 60;       // 3 x 60 + join: within the default burst of 200
        for (let i = 0; i < N; i++) {
            for (const from of ps) for (const to of ps) if (to !== from) from.send(cand(to.id, i));
        }
        for (const to of ps) {
            const next = new Map(ps.filter((p) => p !== to).map((p) => [p.id, 0]));
            for (let k = 0; k < 3 * N; k++) {
                const m = await to.next('candidate', 5000);
                const want = next.get(m.from);
                assert.ok(want !== undefined, `from ${m.from}`);
                assert.equal(m.candidate.candidate, cand(to.id, want).candidate.candidate,
                    `message ${want} from ${m.from} to ${to.id}`);
                next.set(m.from, want + 1);
            }
        }
        for (const p of ps) await p.nothing(0);
    });

    it('40 calls at once across both workers all connect, relay and leave', async () => {
        const calls = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
            const { token } = await createRoom(ngx.base);
            const a = await peer(token, spreadPort);
            await a.join();
            const b = await peer(token, spreadPort);
            await b.join();
            assert.equal((await a.next('peer-joined')).id, b.id);
            a.send(offer(b.id, { call: i }));
            const o = await b.next('offer');
            assert.equal(o.from, a.id);
            assert.equal(o.call, i);
            b.send({ type: 'answer', to: a.id, sdp: `answer ${i}` });
            assert.equal((await a.next('answer')).sdp, `answer ${i}`);
            for (let k = 0; k < 5; k++) { a.send(cand(b.id, k)); b.send(cand(a.id, k)); }
            for (let k = 0; k < 5; k++) {
                assert.equal((await b.next('candidate')).candidate.candidate, cand(b.id, k).candidate.candidate);
                assert.equal((await a.next('candidate')).candidate.candidate, cand(a.id, k).candidate.candidate);
            }
            a.send({ type: 'bye' });
            assert.equal((await b.next('peer-left')).id, a.id);
            await a.expectClose(1000);
            return [await ownerPid(spreadPort, b.localPort)];
        }));
        const pids = new Set(calls.flat().filter(Boolean));
        assert.equal(pids.size, 2, `all calls on one worker: ${[...pids]}`);
    });

    it('a participant resuming on another worker takes its seat back and the old connection gets 4001', async () => {
        const { token } = await createRoom(ngx.base);
        const { a, b } = await callAcrossWorkers(token);
        const a2 = await peerOnWorker(token, (pid) => pid !== a.pid, `a worker other than ${a.pid}`);
        const w = await a2.join(a.resume);
        assert.equal(w.id, a.id);
        await a.expectClose(4001);
        assert.deepEqual({ ...(await b.next('peer-joined')) }, { type: 'peer-joined', id: a.id, resumed: true });
        b.send(offer(a.id));
        assert.equal((await a2.next('offer')).from, b.id);
    });

    it('a reload during a call keeps both seats', async (t) => {
        const { token } = await createRoom(ngx.base);
        const { a, b } = await callAcrossWorkers(token);
        const oldWorkers = await ngx.workerPids();
        const t0 = Date.now();
        const reloading = ngx.reload();
        const [ca, cb] = await Promise.all([a.expectClose(1001, 5000), b.expectClose(1001, 5000)]);
        t.diagnostic(`closed after ${ca.at - t0} / ${cb.at - t0} ms, reasons "${ca.reason}" / "${cb.reason}"`);
        // Reconnect at once, like the web client, while the old workers go.
        const a2 = await peer(token);
        const wa = await a2.join(a.resume);
        assert.equal(wa.id, a.id);
        const b2 = await peer(token);
        const wb = await b2.join(b.resume);
        assert.equal(wb.id, b.id);
        assert.deepEqual(wb.peers, [a.id]);
        assert.deepEqual({ ...(await a2.next('peer-joined')) }, { type: 'peer-joined', id: b.id, resumed: true });

        await reloading;        // fails if an old worker is still there after 10 s
        const newWorkers = await ngx.workerPids();
        assert.equal(newWorkers.length, 2, `${newWorkers}`);
        assert.ok(!newWorkers.some((p) => oldWorkers.includes(p)), `${oldWorkers} -> ${newWorkers}`);
        t.diagnostic(`workers ${oldWorkers} -> ${newWorkers} in ${Date.now() - t0} ms`);
        assert.ok(Date.now() - t0 < 5000, `the old workers took ${Date.now() - t0} ms to go`);

        const res = await request(ngx.base, `/api/rooms/${token}`);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.participants, 2, res.body);
        a2.send(offer(b.id));
        assert.equal((await b2.next('offer')).from, a.id);
        await Promise.all([a2.nothing(GRACE + 300), b2.nothing(0)]);   // no peer-left for the old connections
    });

    async function killWorkerOf(victim) {
        const before = await ngx.workerPids();
        process.kill(victim.pid, 'SIGKILL');
        await waitFor(async () => {
            const now = await workerPids(ngx.pid);
            return now.length === 2 && !now.includes(victim.pid);
        }, 5000, `the master to replace worker ${victim.pid} (workers were ${before})`);
        await ngx.workerPids();
    }

    it('a participant on a killed worker frees its seat after the grace period and the room takes a new one', async () => {
        const { token } = await createRoom(ngx.base);
        const { a, b } = await callAcrossWorkers(token);
        const t0 = Date.now();
        await killWorkerOf(a);
        const ca = await a.closed;
        assert.equal(ca.code, 1006, 'the killed worker cannot send a close frame');
        const left = await b.next('peer-left', GRACE + 6000);
        const dt = Date.now() - t0;
        assert.equal(left.id, a.id);
        assert.ok(dt >= GRACE - 300, `peer-left ${dt} ms after the kill, before the grace period of ${GRACE}`);
        // No ghost: a new participant gets the seat (a room of 2).
        const c = await peer(token);
        const wc = await c.join();
        assert.deepEqual(wc.peers, [b.id]);
        assert.equal((await b.next('peer-joined')).id, wc.id);
        const res = await request(ngx.base, `/api/rooms/${token}`);
        assert.equal(res.json?.participants, 2, res.body);
    });

    it('a participant on a killed worker can resume its seat within the grace period', async () => {
        const { token } = await createRoom(ngx.base);
        const { a, b } = await callAcrossWorkers(token);
        await killWorkerOf(a);
        await a.closed;
        const a2 = await peer(token);
        const w = await a2.join(a.resume);
        assert.equal(w.id, a.id);
        assert.deepEqual(w.peers, [b.id]);
        assert.deepEqual({ ...(await b.next('peer-joined')) }, { type: 'peer-joined', id: a.id, resumed: true });
        b.send(offer(a.id));
        assert.equal((await a2.next('offer')).from, b.id);
        await b.nothing(GRACE + 500);
    });
});

describe('signaling on a freshly started nginx', () => {
    let ngx;
    let spreadPort;
    const conns = [];
    before(async () => {
        spreadPort = await freePort();
        ngx = await startNginx({ workers: 2, rateLimit: false, extraServer: `listen 127.0.0.1:${spreadPort} reuseport;` });
    });
    after(async () => {
        for (const p of conns) p.drop();
        await ngx?.stop();
    });

    // Each worker's first connection: whatever numbering a worker uses for
    // its connections, these two are numbered alike.
    it('the first connections of two different workers can message each other', async (t) => {
        const { token } = await createRoom(ngx.base);
        const first = new Map();        // pid -> its first connection
        for (let i = 0; i < 40 && first.size < 2; i++) {
            const p = await Peer.open(spreadPort, token);
            conns.push(p);
            const pid = await ownerPid(spreadPort, p.localPort);
            if (pid && !first.has(pid)) first.set(pid, p);
        }
        assert.equal(first.size, 2, 'all 40 connections landed on one worker');
        const [a, b] = [...first.values()];
        t.diagnostic(`workers ${[...first.keys()]}`);
        await a.join();
        await b.join();
        assert.equal((await a.next('peer-joined')).id, b.id);
        a.send(offer(b.id));
        assert.equal((await b.next('offer')).from, a.id);
        b.send({ type: 'answer', to: a.id, sdp: 'v=0' });
        assert.equal((await a.next('answer')).from, b.id);
    });
});

describe('signaling at nginx shutdown', () => {
    it('a graceful shutdown (nginx -s quit) with connections in every state closes them all, 1001 for participants, and leaks nothing', async () => {
        const ngx = await startNginx({ workers: 2, rateLimit: false });
        const conns = [];
        try {
            const { token } = await createRoom(ngx.base, { maxParticipants: 4 });
            const [a, b] = [await Peer.open(ngx.port, token), await Peer.open(ngx.port, token)];
            conns.push(a, b);
            await a.join();
            await b.join();
            // not joined yet
            const idle = await RawWs.open(ngx.port, `/ws/${token}`);
            conns.push(idle);
            // in the middle of a fragmented message
            const partial = await RawWs.open(ngx.port, `/ws/${token}`);
            conns.push(partial);
            await partial.join();
            partial.send(frame({ payload: '{"type":"offer",', fin: false }));
            // a slow reader with output queued for it
            const slow = await RawWs.open(ngx.port, `/ws/${token}`);
            conns.push(slow);
            await slow.join();
            slow.sock.pause();
            for (let i = 0; i < 30; i++) a.send(offer(slow.id, { sdp: 'x'.repeat(30000) }));
            await sleep(300);

            const t0 = Date.now();
            process.kill(ngx.pid, 'SIGQUIT');
            const exited = await Promise.race([ngx.child.exited, sleep(4000).then(() => null)]);
            const dt = Date.now() - t0;
            assert.ok(exited, `nginx still running ${dt} ms after SIGQUIT`);
            await ngx.stop();       // fails on [alert]s such as open sockets left
            for (const p of [a, b]) {
                const info = await Promise.race([p.closed, sleep(1000).then(() => null)]);
                assert.ok(info, `a participant was not closed at shutdown: ${p.describe()}`);
                assert.equal(info.code, 1001, p.describe());
            }
            for (const raw of [idle, partial]) {
                await Promise.race([raw.end, sleep(1000)]);
                assert.ok(raw.ended, `a connection stayed open after the shutdown: ${raw.describe()}`);
            }
        } finally {
            for (const c of conns) (c instanceof Peer ? c.drop() : c.destroy());
            await ngx.stop().catch(() => {});
        }
    });
});
