// The signaling protocol (docs/protocol.md) with real WebSocket clients
// against a real nginx: join/welcome, relay, errors, capacity, bye, resume,
// the grace period, ice-servers, rate limits and a slow reader.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { startNginx, request, tempDir, writeSecret } from '../lib/nginx.mjs';
import { Peer, RawWs, createRoom, joinAll, socketOwner, vmRssKb, waitFor, sleep, frame, OP, B58 } from '../lib/ws.mjs';

const GRACE = 2000;

const offer = (to, extra = {}) => ({ type: 'offer', to, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', ...extra });
const cand = (to, i) => ({ type: 'candidate', to, candidate: { candidate: `candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } });

// The relayed form of a client's text: "from" spliced in after the '{'.
const relayed = (text, from) => `{"from":"${from}",${text.trimStart().slice(1)}`;

function trackPeers() {
    const peers = [];
    return {
        async open(port, token, opts) {
            const p = await Peer.open(port, token, opts);
            peers.push(p);
            return p;
        },
        async joinAll(port, token, n) {
            const list = await joinAll(port, token, n);
            peers.push(...list);
            return list;
        },
        track(c) { peers.push(c); return c; },
        cleanup() {
            for (const p of peers) (p instanceof Peer ? p.drop() : p.destroy());
            peers.length = 0;
        },
    };
}

describe('signaling protocol', () => {
    let ngx;
    const peers = trackPeers();
    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false, wsLocation: `webcall_signal_grace ${GRACE / 1000}s;` });
    });
    afterEach(() => peers.cleanup());
    after(() => ngx?.stop());

    const room = (json) => createRoom(ngx.base, json);
    const open = (token) => peers.open(ngx.port, token);
    const two = async (json) => {
        const { token } = await room(json);
        const [a, b] = await peers.joinAll(ngx.port, token, 2);
        return { token, a, b };
    };

    it('the first participant gets welcome with its id, no peers, a resume secret, ICE servers and the room size', async () => {
        const { token } = await room();
        const a = await open(token);
        const w = await a.join();
        assert.deepEqual(Object.keys(w).sort(),
            ['iceServers', 'id', 'maxParticipants', 'node', 'peers', 'resume', 'ticket', 'type'], w.raw);
        // the seat ticket (docs/protocol.md) and which node this is
        assert.match(w.ticket, B58);
        assert.equal(w.ticket.length, 53, w.raw);
        assert.match(w.node, B58);
        assert.equal(w.node.length, 8, w.raw);
        assert.match(w.id, B58);
        assert.equal(w.id.length, 8, w.raw);
        assert.deepEqual(w.peers, []);
        assert.match(w.resume, B58);
        assert.equal(w.resume.length, 22, w.raw);
        assert.ok(Array.isArray(w.iceServers), w.raw);
        assert.equal(w.maxParticipants, 2);
        const w3 = await (await open((await room({ maxParticipants: 3 })).token)).join();
        assert.equal(w3.maxParticipants, 3);
    });

    it('ids are always 8 and resume secrets always 22 base58 characters, all different', async () => {
        // 128 random bits in base58 are 21 characters about 3% of the time
        // unless padded: 60 secrets catch a missing pad nearly always.
        const ids = new Set();
        const secrets = new Set();
        for (let i = 0; i < 30; i++) {
            const { token } = await room();
            for (let j = 0; j < 2; j++) {
                const p = await open(token);
                const w = await p.join();
                assert.match(w.id, B58);
                assert.equal(w.id.length, 8, `id ${w.id}`);
                assert.match(w.resume, B58);
                assert.equal(w.resume.length, 22, `resume ${w.resume}`);
                ids.add(w.id);
                secrets.add(w.resume);
            }
            peers.cleanup();
        }
        assert.equal(secrets.size, 60);
        assert.ok(ids.size >= 59, `${ids.size} different ids of 60`);
    });

    it('the second participant finds the first in peers, and the first gets peer-joined', async () => {
        const { token } = await room();
        const a = await open(token);
        const wa = await a.join();
        const b = await open(token);
        const wb = await b.join();
        assert.notEqual(wb.id, wa.id);
        assert.notEqual(wb.resume, wa.resume);
        assert.deepEqual(wb.peers, [wa.id]);
        const pj = await a.next('peer-joined');
        assert.deepEqual({ ...pj }, { type: 'peer-joined', id: wb.id });
        await a.nothing(100);
    });

    it('the rooms API counts the held seats', async () => {
        const { token, a } = await two();
        const count = async () => (await request(ngx.base, `/api/rooms/${token}`)).json?.participants;
        assert.equal(await count(), 2);
        a.send({ type: 'bye' });
        await a.expectClose(1000);
        await waitFor(async () => (await count()) === 1, 2000, 'participants back to 1 after a bye');
    });

    it('offer, answer and candidates are relayed to the addressee only, with from added and nothing else changed', async () => {
        const { token } = await room({ maxParticipants: 3 });
        const [a, b, c] = await peers.joinAll(ngx.port, token, 3);
        const msgs = [
            [a, b, JSON.stringify(offer(b.id))],
            [b, a, JSON.stringify({ type: 'answer', to: a.id, sdp: 'v=0\r\nanswer' })],
            [a, b, JSON.stringify(cand(b.id, 1))],
            [a, b, JSON.stringify({ type: 'candidate', to: b.id, candidate: null })],
            [c, a, JSON.stringify(offer(a.id))],
        ];
        for (const [from, to, text] of msgs) {
            from.send(text);
            const got = await to.next(JSON.parse(text).type);
            assert.equal(got.raw, relayed(text, from.id));
            assert.equal(got.from, from.id);
        }
        await Promise.all([a.nothing(150), b.nothing(0), c.nothing(0)]);
    });

    it('the relayed text keeps unknown keys, spacing, key order and number spellings', async () => {
        const { a, b } = await two();
        const text = `  {"sdp":"v=0" , "to":"${b.id}","type":"offer","x":{"n":1.50,"e":1E3,"a":[true,null,"\\u00e9\\n"]},"big":-1234567890123456789}`;
        a.send(text);
        const got = await b.next('offer');
        assert.equal(got.raw, relayed(text, a.id));
    });

    it('relayed messages arrive in the order they were sent', async () => {
        const { a, b } = await two();
        a.send(offer(b.id));
        for (let i = 0; i < 60; i++) a.send(cand(b.id, i));
        b.send({ type: 'answer', to: a.id, sdp: 'v=0' });
        assert.equal((await b.next('offer')).from, a.id);
        for (let i = 0; i < 60; i++) {
            const m = await b.next('candidate');
            assert.equal(m.candidate.candidate, cand(b.id, i).candidate.candidate, `candidate ${i}`);
            assert.equal(m.from, a.id);
        }
        assert.equal((await a.next('answer')).from, b.id);
    });

    it('peer-joined, the messages of a participant and its peer-left arrive in that order', async () => {
        const { token } = await room();
        const a = await open(token);
        await a.join();
        const b = await open(token);
        b.send({ type: 'join' });
        // Sent at once, without waiting for welcome: a's id is known from its own welcome.
        for (let i = 0; i < 5; i++) b.send(cand(a.id, i));
        b.send({ type: 'bye' });
        const pj = await a.next('peer-joined');
        for (let i = 0; i < 5; i++) {
            const m = await a.next('candidate');
            assert.equal(m.from, pj.id);
            assert.equal(m.candidate.candidate, cand(a.id, i).candidate.candidate);
        }
        assert.equal((await a.next('peer-left')).id, pj.id);
        await b.next('welcome');
        await b.expectClose(1000);
    });

    it('a message before join is refused with bad-message and 4400', async () => {
        const { token, a } = await two();
        for (const msg of [offer(a.id), cand(a.id, 1), { type: 'bye' }]) {
            const p = await open(token);
            p.send(msg);
            await p.expectError('bad-message', 4400);
            assert.equal(p.all.length, 1, p.describe());
        }
        await a.nothing(100);   // no peer-joined, no peer-left for refused connections
    });

    it('invalid JSON or an invalid message is refused with bad-message and 4400', async () => {
        // Sent after a valid join (TO: the other participant's id).
        const afterJoin = [
            'hello', '{', '', ' ', '[]', '"offer"', 'null', '{}',
            '{"type":"nope"}', '{"type":"OFFER","to":"TO","sdp":"v=0"}', '{"type":1}',
            '{"type":"offer","to":"TO","sdp":"v=0"} x', '{"type":"offer","to":"TO","sdp":"v=0"}{}',
            '{"type":"offer","sdp":"v=0"}',
            '{"type":"offer","to":"0OIl","sdp":"v=0"}',
            '{"type":"offer","to":"TO","sdp":""}',
            '{"type":"offer","to":"TO","sdp":5}',
            '{"type":"offer","to":"TO","sdp":"v=0","from":"TO"}',
            '{"type":"offer","to":"TO","sdp":"a\\u0000b"}',
            '{"type":"offer","to":"TO","to":"TO","sdp":"v=0"}',
            '{"type":"candidate","to":"TO"}',
            '{"type":"candidate","to":"TO","candidate":"x"}',
            '{"type":"answer","to":"12345678901234567","sdp":"v=0"}',
        ];
        // Sent as the first message.
        const asJoin = [
            '{"type":"join","resume":null}', '{"type":"join","resume":"short"}',
            '{"type":"join","resume":5}', '{"type":"join"} x', '{"type":"join","type":"join"}',
            '{"type":"join","from":"abc"}',
        ];
        for (const [first, text] of [...afterJoin.map((t) => [false, t]), ...asJoin.map((t) => [true, t])]) {
            let p;
            let t = text;
            if (first) {
                p = await open((await room()).token);
            } else {
                const { a, b } = await two();
                p = a;
                t = text.replaceAll('TO', b.id);
            }
            p.send(t);
            try {
                await p.expectError('bad-message', 4400);
            } catch (e) {
                e.message = `message ${JSON.stringify(t)}: ${e.message}`;
                throw e;
            }
        }
    });

    it('a second join is refused with bad-message and 4400', async () => {
        const { a, b } = await two();
        a.send({ type: 'join' });
        await a.expectError('bad-message', 4400);
        // a dropped without bye: b hears nothing yet (grace), but is still served.
        b.send(offer('zzzzzzzz'));
        assert.equal((await b.next('error')).code, 'not-found');
    });

    it('a message to an unknown peer, to oneself or to another room gets not-found and the connection stays', async () => {
        const { a, b } = await two();
        const elsewhere = await two();
        for (const to of ['zzzzzzzz', 'z', a.id, `${b.id}2`, elsewhere.a.id]) {
            a.send(offer(to));
            const e = await a.next('error');
            assert.equal(e.code, 'not-found', `to ${to}: ${e.raw}`);
        }
        assert.ok(a.isOpen, a.describe());
        a.send(offer(b.id));
        assert.equal((await b.next('offer')).from, a.id);
        await Promise.all([b.nothing(100), elsewhere.a.nothing(0), elsewhere.b.nothing(0)]);
    });

    it('third participant is refused with room-full and 4409', async () => {
        const { token, a, b } = await two();
        const c = await open(token);
        c.send({ type: 'join' });
        await c.expectError('room-full', 4409);
        await Promise.all([a.nothing(200), b.nothing(0)]);
        // A room of 3 takes a third and refuses a fourth.
        const r3 = await room({ maxParticipants: 3 });
        await peers.joinAll(ngx.port, r3.token, 3);
        const d = await open(r3.token);
        d.send({ type: 'join' });
        await d.expectError('room-full', 4409);
    });

    it('the default maximum message is 64 KiB: 64 KiB is relayed, one byte more closes with 1009', async () => {
        const { a, b } = await two();
        const core = JSON.stringify(offer(b.id, { sdp: '' }));
        const sdp = 'x'.repeat(64 * 1024 - core.length);
        const text = JSON.stringify(offer(b.id, { sdp }));
        assert.equal(text.length, 64 * 1024);
        a.send(text);
        assert.equal((await b.next('offer')).sdp.length, sdp.length);
        a.send(JSON.stringify(offer(b.id, { sdp: `${sdp}y` })));
        await a.expectClose(1009);
        await b.nothing(100);
    });

    it('a room of 4 seats four and relays between every pair', async () => {
        const { token } = await room({ maxParticipants: 4 });
        const ps = await peers.joinAll(ngx.port, token, 4);
        for (const from of ps) {
            for (const to of ps) if (to !== from) from.send(offer(to.id, { n: from.id }));
        }
        for (const to of ps) {
            const got = [];
            for (let i = 0; i < 3; i++) got.push((await to.next('offer')).from);
            assert.deepEqual(got.sort(), ps.filter((p) => p !== to).map((p) => p.id).sort());
        }
    });

    it('bye: the others get peer-left at once, the sender is closed with 1000 and the seat is free', async () => {
        const { token, a, b } = await two();
        const t0 = Date.now();
        a.send({ type: 'bye' });
        const left = await b.next('peer-left', GRACE);
        assert.equal(left.id, a.id);
        assert.ok(Date.now() - t0 < GRACE / 2, `peer-left after ${Date.now() - t0} ms`);
        await a.expectClose(1000);
        // The seat is free: a new participant gets in, and the old secret no longer works.
        const c = await open(token);
        const wc = await c.join(a.resume);
        assert.notEqual(wc.id, a.id, 'a secret given up with bye still held its seat');
        assert.deepEqual(wc.peers, [b.id]);
        assert.equal((await b.next('peer-joined')).id, wc.id);
    });

    it('a resume takes the same seat even in a full room, and the old connection is closed with 4001', async () => {
        const { token, a, b } = await two();
        const a2 = await open(token);
        const w = await a2.join(a.resume);
        assert.equal(w.id, a.id);
        assert.deepEqual(w.peers, [b.id]);
        assert.match(w.resume, B58);
        const info = await a.expectClose(4001);
        assert.equal(info.reason, 'replaced');
        const pj = await b.next('peer-joined');
        assert.deepEqual({ ...pj }, { type: 'peer-joined', id: a.id, resumed: true });
        // The relay now reaches the new connection.
        b.send(offer(a.id));
        assert.equal((await a2.next('offer')).from, b.id);
        a2.send({ type: 'answer', to: b.id, sdp: 'v=0' });
        assert.equal((await b.next('answer')).from, a.id);
        await b.nothing(GRACE + 300);      // no peer-left for the replaced connection
    });

    it('resuming the same seat 8 times in a row leaves exactly the last connection on it', async () => {
        const { token, a, b } = await two();
        let cur = a;
        let secret = a.resume;
        for (let i = 0; i < 8; i++) {
            const next = await open(token);
            const w = await next.join(secret);
            assert.equal(w.id, a.id, `resume ${i}`);
            await cur.expectClose(4001);
            assert.deepEqual({ ...(await b.next('peer-joined')) }, { type: 'peer-joined', id: a.id, resumed: true });
            cur = next;
            secret = w.resume;
        }
        b.send(offer(a.id));
        assert.equal((await cur.next('offer')).from, b.id);
        await b.nothing(GRACE + 300);
    });

    it('two connections resuming the same seat at once: the first takes it, the secret then works no more', async () => {
        const { token, a, b } = await two();
        const [x, y] = [await open(token), await open(token)];
        x.send({ type: 'join', resume: a.resume });
        y.send({ type: 'join', resume: a.resume });
        const [mx, my] = [await x.next(), await y.next()];
        // Each resume rotates the secret, so only one of the two gets the
        // seat; the other is a stranger to a full room.
        const got = [mx, my].filter((m) => m.type === 'welcome');
        assert.equal(got.length, 1, `${JSON.stringify(mx)} / ${JSON.stringify(my)}`);
        assert.equal(got[0].id, a.id);
        assert.notEqual(got[0].resume, a.resume);
        const [winner, loser, lm] = mx.type === 'welcome' ? [x, y, my] : [y, x, mx];
        assert.equal(lm.type, 'error');
        assert.equal(lm.code, 'room-full');
        await loser.expectClose(4409);
        await a.expectClose(4001);
        await sleep(300);
        assert.ok(winner.isOpen, winner.describe());
        b.queue.length = 0;
        b.send(offer(a.id));
        assert.equal((await winner.next('offer')).from, b.id);
    });

    it('a client that half-closes its socket counts as dropped: peer-left after the grace period', async () => {
        const { token, b } = await two({ maxParticipants: 3 });
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        peers.track(raw);
        await raw.join();
        await b.next('peer-joined');
        const t0 = Date.now();
        raw.sock.end();
        await Promise.race([raw.end, sleep(3000)]);
        assert.ok(raw.ended, `the server kept a half-closed connection open: ${raw.describe()}`);
        const left = await b.next('peer-left', GRACE + 3000);
        assert.equal(left.id, raw.id);
        assert.ok(Date.now() - t0 >= GRACE - 300, `peer-left after ${Date.now() - t0} ms`);
    });

    it('a resume secret that matches no seat is ignored: the join is a new participant', async () => {
        const { token } = await room();
        const a = await open(token);
        const w = await a.join('4kTq9XzLmNpR2sUvWxYz1a');
        assert.match(w.id, B58);
        assert.notEqual(w.resume, '4kTq9XzLmNpR2sUvWxYz1a');
        // A real secret of another room does not open a seat here either.
        const other = await two();
        const c = await open(token);
        const wc = await c.join(other.a.resume);
        assert.notEqual(wc.id, other.a.id);
        assert.deepEqual(wc.peers, [w.id]);
        assert.ok(other.a.isOpen, 'a secret used in another room replaced its seat');
        await other.b.nothing(100);
    });

    it('a dropped connection keeps its seat for the grace period, then the others get peer-left', async () => {
        const { token, a, b } = await two();
        const t0 = Date.now();
        a.drop();
        await sleep(200);
        // During the grace period: the seat is held, and a relay to it is not-found.
        b.send(offer(a.id));
        assert.equal((await b.next('error')).code, 'not-found');
        const c = await open(token);
        c.send({ type: 'join' });
        await c.expectError('room-full', 4409);
        const left = await b.next('peer-left', GRACE + 3000);
        const dt = Date.now() - t0;
        assert.equal(left.id, a.id);
        assert.ok(dt >= GRACE - 300 && dt <= GRACE + 2500, `peer-left ${dt} ms after the drop (grace ${GRACE})`);
        // The seat is free now.
        const d = await open(token);
        await d.join();
    });

    it('a resume within the grace period means no peer-left at all', async () => {
        const { token, a, b } = await two();
        a.drop();
        await sleep(500);
        const a2 = await open(token);
        const w = await a2.join(a.resume);
        assert.equal(w.id, a.id);
        const pj = await b.next('peer-joined');
        assert.deepEqual({ ...pj }, { type: 'peer-joined', id: a.id, resumed: true });
        await b.nothing(GRACE + 500);
        assert.ok(a2.isOpen);
    });

    it('1000 calls that join, relay 20 KB and leave do not grow the workers\' memory', async (t) => {
        const rooms = await Promise.all(Array.from({ length: 20 }, () => room()));
        const call = async ({ token }) => {
            const a = await Peer.open(ngx.port, token);
            await a.join();
            const b = await Peer.open(ngx.port, token);
            await b.join();
            a.send(offer(b.id, { sdp: 'x'.repeat(20000) }));
            await b.next('offer');
            a.send({ type: 'bye' });
            b.send({ type: 'bye' });
            await Promise.all([a.expectClose(1000), b.expectClose(1000)]);
        };
        const calls = async (n) => {
            for (let i = 0; i < n; i += rooms.length) await Promise.all(rooms.map(call));
        };
        const rss = async () => Promise.all((await ngx.workerPids()).map(async (p) => [p, vmRssKb(p)]));
        await calls(200);       // warm-up: pools, buffers, zone pages
        const before = new Map(await rss());
        await calls(1000);
        for (const [pid, kb] of await rss()) {
            t.diagnostic(`worker ${pid}: ${before.get(pid)} -> ${kb} kB`);
            assert.ok(kb - before.get(pid) < 1536, `worker ${pid} grew by ${kb - before.get(pid)} kB over 1000 calls`);
        }
    });

    it('a client close without bye (1000 frame) also keeps the seat for the grace period', async () => {
        const { a, b } = await two();
        a.close(1000);
        await a.expectClose(1000);
        await b.nothing(GRACE - 500);
        assert.equal((await b.next('peer-left', 3000)).id, a.id);
    });

    // A browser without WebRTC (docs/protocol.md "cannot-call")
    it('cannot-call instead of join tells everybody in the room, takes no seat, and closes', async () => {
        const { token, a, b } = await two({ maxParticipants: 3 });
        const c = await open(token);
        c.send({ type: 'cannot-call' });
        const info = await c.expectClose(1000);
        assert.equal(info.reason, 'cannot-call');
        assert.deepEqual(c.all, []);
        for (const p of [a, b]) assert.equal((await p.next('cannot-call')).raw, '{"type":"cannot-call"}');
        const state = await request(ngx.base, `/api/rooms/${token}`);
        assert.equal(state.json.participants, 2);
        // in a room of two that is full, and in an empty room, the same
        const full = await two();
        const d = await open(full.token);
        d.send({ type: 'cannot-call' });
        await d.expectClose(1000);
        assert.equal((await full.a.next('cannot-call')).type, 'cannot-call');
        const { token: empty } = await room();
        const e = await open(empty);
        e.send({ type: 'cannot-call' });
        await e.expectClose(1000);
        assert.equal((await request(ngx.base, `/api/rooms/${empty}`)).json.participants, 0);
    });

    it('cannot-call after join, or with a malformed pass, is bad-message; a PIN room needs its pass', async () => {
        const { a, b } = await two();
        a.send({ type: 'cannot-call' });
        await a.expectError('bad-message', 4400);
        await b.next('peer-left', GRACE + 3000).catch(() => undefined);
        const { token } = await room();
        const c = await open(token);
        c.send({ type: 'cannot-call', pass: 'not base58!' });
        await c.expectError('bad-message', 4400);

        const pinned = await room({ pin: '4321' });
        const host = await open(pinned.token);
        host.send({ type: 'join', pass: pinned.pass });
        await host.next('welcome');
        const stranger = await open(pinned.token);
        stranger.send({ type: 'cannot-call' });
        await stranger.expectError('pin-required', 4403);
        await host.nothing(200);
        const guest = await open(pinned.token);
        guest.send({ type: 'cannot-call', pass: pinned.pass });
        await guest.expectClose(1000);
        assert.equal((await host.next('cannot-call')).type, 'cannot-call');
    });
});

describe('signaling ice-servers (fresh TURN credentials)', () => {
    let ngx;
    let dir;
    let secret;
    const peers = trackPeers();
    before(async () => {
        dir = await tempDir('webcall-ice-');
        const secretFile = await writeSecret(dir, 'secret');
        secret = fs.readFileSync(secretFile, 'utf8').replace(/\s+$/, '');
        ngx = await startNginx({
            workers: 2,
            rateLimit: false,
            secretFile,
            extraHttp: `webcall_turn_secret_file ${secretFile};\n` +
                'webcall_turn_urls stun:turn.example.org:3478 turn:turn.example.org:3478?transport=udp;\n' +
                'webcall_turn_ttl 1h;',
        });
    });
    afterEach(() => peers.cleanup());
    after(async () => {
        await ngx?.stop();
        await fsp.rm(dir, { recursive: true, force: true });
    });

    // Every TURN entry carries a credential for this id, valid for ttl to
    // ttl + ttl/4 (the expiry is rounded up to a quarter of the ttl).
    function checkCredentials(iceServers, id, what) {
        const turn = iceServers.filter((e) => [e.urls].flat().some((u) => /^turns?:/.test(u)));
        assert.ok(turn.length > 0, `${what}: no TURN entry in ${JSON.stringify(iceServers)}`);
        for (const e of turn) {
            const [expiry, who] = e.username.split(':');
            assert.equal(who, id, `${what}: ${e.username}`);
            const left = Number(expiry) - Date.now() / 1000;
            assert.ok(left > 3600 - 5 && left <= 4500 + 5, `${what}: expiry ${expiry}, ${left} s from now`);
            assert.equal(Number(expiry) % 900, 0, `${what}: expiry ${expiry}`);
            assert.equal(e.credential, crypto.createHmac('sha1', secret).update(e.username).digest('base64'), what);
        }
    }

    it('a joined participant asking ice-servers gets credentials for its own id, and nobody else hears of it', async () => {
        const { token } = await createRoom(ngx.base);
        const [a, b] = await peers.joinAll(ngx.port, token, 2);
        a.send({ type: 'ice-servers' });
        const r = await a.next('ice-servers');
        assert.deepEqual(Object.keys(r).sort(), ['iceServers', 'ticket', 'type'], r.raw);
        assert.equal(r.ticket.length, 53, r.raw);
        checkCredentials(r.iceServers, a.id, 'ice-servers of a');
        b.send({ type: 'ice-servers', extra: 1 });
        checkCredentials((await b.next('ice-servers')).iceServers, b.id, 'ice-servers of b');
        await Promise.all([a.nothing(100), b.nothing(0)]);
    });

    it('welcome carries the same kind of credentials', async () => {
        const { token } = await createRoom(ngx.base);
        const a = await peers.open(ngx.port, token);
        const w = await a.join();
        checkCredentials(w.iceServers, w.id, 'welcome');
    });

    it('ice-servers before join is refused with bad-message and 4400', async () => {
        const { token } = await createRoom(ngx.base);
        const a = await peers.open(ngx.port, token);
        a.send({ type: 'ice-servers' });
        await a.expectError('bad-message', 4400);
    });
});

describe('ICE servers on $host that come out too long for one request', () => {
    let ngx;
    let dir;
    const peers = trackPeers();
    before(async () => {
        dir = await tempDir('webcall-ice-long-');
        const secretFile = await writeSecret(dir, 'secret');
        // the shipped list: nginx -t counts $host as one character
        ngx = await startNginx({
            workers: 1,
            rateLimit: false,
            secretFile,
            extraHttp: `webcall_turn_secret_file ${secretFile};\n` +
                'webcall_turn_urls stun:$host:3478 turn:$host:3478?transport=udp ' +
                'turn:$host:3478?transport=tcp turns:$host:5349?transport=tcp;',
        });
    });
    afterEach(() => peers.cleanup());
    after(async () => {
        await ngx?.stop();
        await fsp.rm(dir, { recursive: true, force: true });
    });

    it('a short host gets all four', async () => {
        const { token } = await createRoom(ngx.base);
        const a = await peers.open(ngx.port, token, { headers: { Host: 'call.example.org' } });
        const w = await a.join();
        assert.equal(w.iceServers.flatMap((e) => e.urls).length, 4, JSON.stringify(w.iceServers));
    });

    it('a 330-character host gets a valid welcome with no ICE server, and the error log says why', async () => {
        const { token } = await createRoom(ngx.base);
        const host = 'h' + '.abcdefghij'.repeat(30);
        const a = await peers.open(ngx.port, token, { headers: { Host: host } });
        const w = await a.join();
        assert.deepEqual(w.iceServers, []);
        assert.equal(w.id.length, 8);
        assert.match(ngx.errorLog(), /\[error\].*ICE servers of webcall_turn_urls.*do not fit in 1024 bytes/);
    });
});

describe('signaling rate limits (webcall_signal_rate 20 64k)', () => {
    let ngx;
    const peers = trackPeers();
    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false, wsLocation: 'webcall_signal_rate 20 64k;' });
    });
    afterEach(() => peers.cleanup());
    after(() => ngx?.stop());

    it('a burst of 60 messages is within the limit', async () => {
        const { token } = await createRoom(ngx.base);
        const [a, b] = await peers.joinAll(ngx.port, token, 2);
        for (let i = 0; i < 60; i++) a.send(cand(b.id, i));
        for (let i = 0; i < 60; i++) assert.equal((await b.next('candidate')).from, a.id);
        await a.nothing(200);
        assert.ok(a.isOpen);
    });

    it('a ping flood is rate-limited like messages (4429 after the burst of pongs)', async () => {
        const { token } = await createRoom(ngx.base);
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        peers.track(raw);
        await raw.join();
        for (let i = 0; i < 300; i++) raw.send(frame({ op: OP.ping, payload: `p${i}` }));
        const { before } = await raw.expectClose(4429);
        assert.equal(before.length, 1, raw.describe().slice(-300));
        assert.equal(before[0].code, 'rate-limited');
        const pongs = raw.frames.filter((f) => f.op === OP.pong);
        pongs.forEach((f, i) => assert.equal(f.payload.toString(), `p${i}`));
        assert.ok(pongs.length >= 60 && pongs.length <= 120, `${pongs.length} pongs for 300 pings at 20/s burst 80`);
    });

    it('a flood of small messages gets rate-limited and 4429, and the peer keeps working', async () => {
        const { token } = await createRoom(ngx.base);
        const [a, b] = await peers.joinAll(ngx.port, token, 2);
        for (let i = 0; i < 400; i++) a.send(cand(b.id, i));
        await a.expectError('rate-limited', 4429);
        // What passed arrived in order; the limiter let the burst through (80, minus the join).
        let n = 0;
        for (let m; (m = await b.next('candidate', 1000).catch(() => null)); n++) {
            assert.equal(m.candidate.candidate, cand(b.id, n).candidate.candidate);
        }
        assert.ok(n >= 60 && n <= 120, `${n} of 400 candidates passed a limit of 20/s burst 80`);
        b.send(offer('zzzzzzzz'));
        assert.equal((await b.next('error')).code, 'not-found');
    });

    it('a flood of bytes gets rate-limited and 4429', async () => {
        const { token } = await createRoom(ngx.base);
        const [a, b] = await peers.joinAll(ngx.port, token, 2);
        const sdp = 'x'.repeat(60 * 1024);
        for (let i = 0; i < 8; i++) a.send(offer(b.id, { sdp }));     // 480 KiB > 256 KiB burst
        await a.expectError('rate-limited', 4429);
        let n = 0;
        while (await b.next('offer', 500).catch(() => null)) n++;
        assert.ok(n >= 3 && n <= 5, `${n} offers of 60 KiB passed a byte burst of 256 KiB`);
    });
});

describe('signaling slow reader (webcall_ws_send_queue 64k)', () => {
    let ngx;
    const peers = trackPeers();
    let raw;
    before(async () => {
        ngx = await startNginx({
            workers: 2,
            rateLimit: false,
            // the send queue must exceed the largest message: 48k messages, 64k queue
            wsLocation: 'webcall_ws_max_message 48k; webcall_ws_send_queue 64k; webcall_signal_rate 100000 64m; webcall_signal_grace 2s;',
        });
    });
    afterEach(() => { peers.cleanup(); raw?.destroy(); });
    after(() => ngx?.stop());

    it('a participant that stops reading is closed by the server, the sender keeps working, memory stays bounded', async (t) => {
        const { token } = await createRoom(ngx.base, { maxParticipants: 3 });
        raw = await RawWs.open(ngx.port, `/ws/${token}`);
        assert.equal(raw.status, 101);
        const w = await raw.join();
        raw.sock.pause();
        const b = await peers.open(ngx.port, token);
        await b.join();

        const c = await peers.open(ngx.port, token);
        await c.join();
        await b.next('peer-joined');
        // The relay to the reader is accepted (no not-found) before it is slow.
        b.send(offer(w.id));
        await b.nothing(200);

        const workers = await ngx.workerPids();
        const rss0 = Object.fromEntries(workers.map((p) => [p, vmRssKb(p)]));
        const sdp = 'v=0\r\n' + 'a'.repeat(32 * 1024 - 50);
        const text = JSON.stringify(offer(w.id, { sdp }));
        const localPort = raw.sock.localPort;
        let sent = 0;
        let state;
        const t0 = Date.now();
        // 200 x 32 KiB first, then more while the server still holds the
        // connection (up to 100 MB: a server without a bound would buffer it all).
        for (let round = 0; round < 160; round++) {
            for (let i = 0; i < 20; i++) b.send(text);
            sent += 20;
            await waitFor(() => b.ws.bufferedAmount === 0 || !b.isOpen, 10000, 'the sender\'s socket to drain');
            assert.ok(b.isOpen, `the sender was closed: ${b.describe().slice(-300)}`);
            state = await socketOwner(ngx.port, localPort);
            if (sent >= 200 && state.pid === 0) break;
        }
        t.diagnostic(`slow reader: ${sent} offers of 32 KiB sent in ${Date.now() - t0} ms; server side now ${state.state} pid=${state.pid}`);
        assert.equal(state.pid, 0, `the server still holds the slow reader after ${sent} x 32 KiB: ${state.line}`);
        for (const p of workers) {
            const grew = vmRssKb(p) - rss0[p];
            t.diagnostic(`worker ${p}: VmRSS ${rss0[p]} -> ${rss0[p] + grew} kB`);
            assert.ok(grew < 50 * 1024, `worker ${p} grew by ${grew} kB`);
        }
        // The sender is still served: its offer reaches the third participant.
        b.send(offer(c.id, { marker: 'after' }));
        const got = await c.next('offer', 5000);
        assert.equal(got.marker, 'after');
        assert.equal(got.from, b.id);
    });
});

describe('signaling close handshake under backpressure', () => {
    let ngx;
    const peers = trackPeers();
    before(async () => {
        ngx = await startNginx({ workers: 1, rateLimit: false, wsLocation: 'webcall_signal_rate 100000 64m;' });
    });
    afterEach(() => peers.cleanup());
    after(() => ngx?.stop());

    // The server side's kernel send queue (Send-Q) for the client's port.
    async function sendQ(clientPort) {
        const { line } = await socketOwner(ngx.port, clientPort);
        return Number(line?.trim().split(/\s+/)[2] ?? -1);
    }

    it('a client closing while output is queued for it gets one close frame', async (t) => {
        // Fill the kernel buffers until the module itself queues (Send-Q stops
        // growing), then read again and close at once: the server takes the
        // close while its own queue still holds data.
        for (let round = 0; round < 5; round++) {
            const t0 = Date.now();
            const { token } = await createRoom(ngx.base);
            const raw = peers.track(await RawWs.open(ngx.port, `/ws/${token}`));
            const w = await raw.join();
            raw.sock.pause();
            const b = await peers.open(ngx.port, token);
            await b.join();
            const text = JSON.stringify(offer(w.id, { sdp: 'x'.repeat(32000) }));
            for (let i = 0; i < 110; i++) b.send(text);
            await waitFor(() => b.ws.bufferedAmount === 0, 5000, 'the sender to drain');
            await sleep(50);
            let last = -1;
            let same = 0;
            let n = 110;
            for (; n < 400 && same < 2; n++) {
                b.send(text);
                await sleep(30);
                const q = await sendQ(raw.sock.localPort);
                same = q > 0 && q === last ? same + 1 : 0;
                last = q;
            }
            assert.ok(same >= 2, `the kernel buffers never filled after ${n} offers of 32 KB`);
            raw.sock.resume();
            raw.send(frame({ op: OP.close, payload: Buffer.from([0x03, 0xe8]) }));
            await Promise.race([raw.end, sleep(3000)]);
            const closes = raw.frames.filter((f) => f.op === OP.close).map((f) => `${f.code} ${f.reason}`);
            t.diagnostic(`round ${round}: ${n} offers, Send-Q ${last}, close frames: ${closes.join(', ')}, ${Date.now() - t0} ms`);
            assert.deepEqual(closes, ['1000 '], `close frames received: ${closes.join(' | ')}`);
            assert.ok(raw.ended, 'the server did not close the connection');
            peers.cleanup();
        }
    });
});
