// A fleet behind the shipped front (deploy/scale-out/front.conf), three
// nodes with one secret: when a room's node dies (kill -9 of its master and
// workers), its callers come back through the front on another node with
// their seats and peer ids (seat tickets); when the node is back, they go
// home the same way; refused tickets say why and seat the caller as new;
// a room ended before its node was lost stays ended on every node, and so
// does a one-time link used up on its node (webcall_fleet_nodes), even for
// a node that was down when it ended.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, tempDir, writeSecret, request, sleep, workerPids, freePort } from '../lib/nginx.mjs';
import { startFront } from '../lib/front.mjs';
import { Peer, waitFor } from '../lib/ws.mjs';
import { testCertificate } from '../e2e/turn_lib.mjs';

let nodes = [];
let front;

before(async () => {
    const dir = await tempDir('webcall-fleet-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    // every node has the same webcall_fleet_nodes line, itself included
    const ports = [await freePort(), await freePort(), await freePort()];
    const extraHttp = `webcall_fleet_nodes ${fleetList(ports)};`;
    for (const port of ports) {
        nodes.push(await startNginx({ secretFile, rateLimit: false, workers: 2, port, extraHttp }));
    }
    front = await startFront(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
});

after(async () => {
    await front?.stop();
    for (const n of nodes) await n.stop({ allowAlerts: [/worker process \d+ exited on signal 9/] });
});

function fleetList(ports) {
    return ports.map((p) => `http://127.0.0.1:${p}/api/rooms/`).join(' ');
}

const create = async (body = {}) => {
    const res = await request(front.base, '/api/rooms', { method: 'POST', json: body });
    assert.equal(res.status, 201, res.body);
    return res.json;
};

// Which node answers for a room through the front now, and each node's id.
const nodeOf = async (token) => (await request(front.base, `/api/rooms/${token}`)).json?.node;
const idOfNode = async (n) => {
    const { token } = (await request(n.base, '/api/rooms', { method: 'POST' })).json;
    return (await request(n.base, `/api/rooms/${token}`)).json.node;
};

// A join with what the last welcome gave (resume secret and ticket).
async function rejoin(peer, token, { ticket = peer.ticket, resume = peer.resume } = {}) {
    const p = await Peer.open(front.port, token);
    p.send({ type: 'join', ...(resume ? { resume } : {}), ...(ticket ? { ticket } : {}) });
    return p;
}

async function welcomed(p) {
    const w = await p.next('welcome');
    p.id = w.id;
    p.resume = w.resume;
    p.ticket = w.ticket;
    return w;
}

// kill -9 of a node's master and workers, as a machine that dies would.
async function kill9(n) {
    const pids = [n.pid, ...await workerPids(n.pid)];
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await n.child.exited;
}

test('a welcome carries a seat ticket and the node; the rooms API names the node too', async () => {
    const { token } = await create();
    const a = await Peer.open(front.port, token);
    a.send({ type: 'join' });
    const w = await welcomed(a);
    assert.match(w.ticket, /^[1-9A-HJ-NP-Za-km-z]{53}$/);
    assert.match(w.node, /^[1-9A-HJ-NP-Za-km-z]{8}$/);
    assert.equal(w.moved, undefined);
    assert.equal(await nodeOf(token), w.node);
    // fresh TURN credentials bring a fresh ticket
    a.send({ type: 'ice-servers' });
    const ice = await a.next('ice-servers');
    assert.match(ice.ticket, /^[1-9A-HJ-NP-Za-km-z]{53}$/);
    a.close();
});

test('refused tickets: altered, of another room, without their resume secret, older than the seat', async () => {
    const { token } = await create({ maxParticipants: 4 });
    const { token: other } = await create({ maxParticipants: 4 });
    const a = await Peer.open(front.port, token);
    a.send({ type: 'join' });
    const first = await welcomed(a);
    const old = { resume: a.resume, ticket: a.ticket };

    // altered: one character of the MAC changed (with a resume secret that
    // holds no seat here, as after a node was lost)
    const flip = a.ticket.slice(0, -1) + (a.ticket.endsWith('2') ? '3' : '2');
    const b = await rejoin(a, token, { ticket: flip, resume: '4kTq9XzLmNpR2sUvWxYz1a' });
    const e1 = await b.next('error');
    assert.equal(e1.code, 'bad-ticket');
    assert.match(e1.message, /does not match/);
    const wb = await b.next('welcome');
    assert.notEqual(wb.id, first.id, 'a forged ticket took somebody\'s id');

    // another room's ticket
    const c = await rejoin(a, other);
    const e2 = await c.next('error');
    assert.equal(e2.code, 'bad-ticket');
    assert.match(e2.message, /another room/);
    await c.next('welcome');

    // a ticket alone, without the resume secret its MAC covers
    const d = await rejoin(a, token, { resume: null });
    assert.equal((await d.next('error')).code, 'bad-ticket');
    assert.notEqual((await d.next('welcome')).id, first.id);

    // the seat moves on (a resume: new secret, serial 2); the first pair is
    // older than the seat now and seats a new participant
    const a2 = await rejoin(a, token);
    const again = await welcomed(a2);
    assert.equal(again.id, first.id);
    await a.expectClose(4001);
    const e = await rejoin({}, token, old);
    const e3 = await e.next('error');
    assert.equal(e3.code, 'bad-ticket');
    assert.match(e3.message, /older/);
    assert.notEqual((await e.next('welcome')).id, first.id);
    for (const p of [a2, b, c, d, e]) p.close();

    // a ticket that is not base58 is no join at all
    const f = await Peer.open(front.port, token);
    f.send({ type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a', ticket: 'not a ticket!' });
    await f.expectError('bad-message', 4400);
});

test('a node killed mid-call: its callers are back on another node with their peer ids, then go home', async () => {
    const { token } = await create();
    const a = await Peer.open(front.port, token);
    a.send({ type: 'join' });
    const wa = await welcomed(a);
    const b = await Peer.open(front.port, token);
    b.send({ type: 'join' });
    const wb = await welcomed(b);
    assert.deepEqual(wb.peers, [wa.id]);
    await a.next('peer-joined');

    const ids = await Promise.all(nodes.map(idOfNode));
    const home = ids.indexOf(wa.node);
    assert.ok(home >= 0, `welcome's node ${wa.node} is none of ${ids}`);
    const dead = nodes[home];

    // the node dies: both connections drop
    const t0 = Date.now();
    await kill9(dead);
    await Promise.all([a.closed, b.closed]);

    // the pages come back through the front with resume and ticket
    const a2 = await rejoin(a, token);
    const wa2 = await welcomed(a2);
    const b2 = await rejoin(b, token);
    const wb2 = await welcomed(b2);
    const took = Date.now() - t0;
    assert.equal(wa2.id, wa.id);
    assert.equal(wb2.id, wb.id);
    assert.equal(wa2.moved, true);
    assert.notEqual(wa2.node, wa.node);
    assert.deepEqual(wb2.peers, [wa.id]);
    const pj = await a2.next('peer-joined');
    assert.deepEqual({ id: pj.id, resumed: pj.resumed }, { id: wb.id, resumed: true });
    assert.ok(took < 3000, `signaling back after ${took} ms`);
    // and they can talk there
    b2.send({ type: 'offer', to: wa.id, sdp: 'v=0 on the new node' });
    assert.equal((await a2.next('offer')).from, wb.id);
    // the node that took them in counts them as seats given back
    const taker = nodes[ids.indexOf(wa2.node)];
    const metrics = (await request(taker.base, '/metrics')).body;
    assert.match(metrics, /^webcall_joins_total\{zone="[^"]+",kind="ticket"\} 2$/m, metrics);

    // the node comes back, empty (kill -9 lost its memory); after the
    // front's fail_timeout the room hashes to it again
    await dead.restart();
    const back = await idOfNode(dead);
    await waitFor(async () => (await nodeOf(token)) === back, 12000, 'the room\'s own node answering again', 250);

    // the moved call goes home the same way, peer ids kept
    const a3 = await rejoin(a2, token);
    const wa3 = await welcomed(a3);
    assert.equal(wa3.node, back);
    assert.equal(wa3.id, wa.id);
    const b3 = await rejoin(b2, token);
    const wb3 = await welcomed(b3);
    assert.equal(wb3.id, wb.id);
    assert.deepEqual(wb3.peers, [wa.id]);
    assert.equal((await a3.next('peer-joined')).id, wb.id);
    for (const p of [a2, b2, a3, b3]) p.close();
});

test('a room ended before its node was lost stays ended on every node', async () => {
    // a room whose node is not the one restarted above is as good as any
    const { token, ownerKey } = await create();
    const ids = await Promise.all(nodes.map(idOfNode));
    const holder = nodes[ids.indexOf(await nodeOf(token))];
    assert.ok(holder, 'the room\'s node is none of the three');
    const res = await request(front.base, `/api/rooms/${token}`,
        { method: 'DELETE', headers: { authorization: `Bearer ${ownerKey}` } });
    assert.equal(res.status, 204, res.body);
    await sleep(300);
    // every node refuses it directly, not only the one that held it
    for (const n of nodes) {
        assert.equal((await request(n.base, `/api/rooms/${token}`)).status, 410, n.dir);
    }
    // its node is lost: the room hashes to another, which ended it too
    await kill9(holder);
    const after = await request(front.base, `/api/rooms/${token}`);
    assert.equal(after.status, 410, after.body);
    await assert.rejects(Peer.open(front.port, token), (e) => e.status === 410);
    await holder.restart();
});

// A node's webcall_fleet_ends_total by result.
async function fleetEnds(n) {
    const text = (await request(n.base, '/metrics')).body;
    const ends = {};
    for (const m of text.matchAll(/^webcall_fleet_ends_total\{zone="webcall",result="([a-z-]+)"\} (\d+)$/gm)) {
        ends[m[1]] = Number(m[2]);
    }
    assert.deepEqual(Object.keys(ends).sort(), ['delivered', 'failed-attempt', 'given-up'], text);
    return ends;
}

// Two callers through the front, a call, both hang up: the link is used up.
async function useUp(room) {
    const fields = room.pass ? { pass: room.pass } : {};
    const a = await Peer.open(front.port, room.token);
    a.send({ type: 'join', ...fields });
    await welcomed(a);
    const b = await Peer.open(front.port, room.token);
    b.send({ type: 'join', ...fields });
    await welcomed(b);
    await a.next('peer-joined');
    for (const p of [a, b]) p.send({ type: 'bye' });
    await Promise.all([a.closed, b.closed]);
}

test('a one-time link used up on its node is ended on every node, and stays ended when that node is lost', async () => {
    // a PIN room's link is rebuilt with its PIN tag, a plain one without
    const used = [];
    for (const body of [{ oneTime: true }, { oneTime: true, pin: '2468' }]) {
        const room = await create(body);
        const ids = await Promise.all(nodes.map(idOfNode));
        const holder = nodes[ids.indexOf(await nodeOf(room.token))];
        assert.ok(holder, 'the room\'s node is none of the three');
        const before = await fleetEnds(holder);

        await useUp(room);
        for (const n of nodes) {
            await waitFor(async () => (await request(n.base, `/api/rooms/${room.token}`)).status === 410,
                3000, `node ${n.port} ends one-time room ${JSON.stringify(body)}`);
        }
        // one DELETE per listed node, itself included, each delivered at once
        const after = await fleetEnds(holder);
        assert.equal(after.delivered - before.delivered, 3);
        assert.equal(after['failed-attempt'], before['failed-attempt']);
        assert.equal(after['given-up'], before['given-up']);

        used.push({ room, holder });
    }

    // the last room's node is lost (one node only: the front takes a node
    // that failed out for fail_timeout, and the test before lost one too):
    // where each room hashes now, it is ended too
    const { holder } = used.at(-1);
    await kill9(holder);
    for (const { room } of used) {
        const res = await request(front.base, `/api/rooms/${room.token}`);
        assert.equal(res.status, 410, `${res.body}\n${front.errorLog().split('\n').slice(-6).join('\n')}`);
        await assert.rejects(Peer.open(front.port, room.token), (e) => e.status === 410);
    }
    // and the node that comes back has them in its own file
    await holder.restart();
    for (const { room } of used) {
        assert.equal((await request(holder.base, `/api/rooms/${room.token}`)).status, 410);
    }
});

test('a node that was down when rooms ended (one-time, by the host) is told once it is back; one of another secret refuses, in the log; an https node is told too; a copy is not sent on', async () => {
    const dir = await tempDir('webcall-fleet-end-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    const otherSecret = await writeSecret(dir, 'another-secret');
    const [px, py, pz, pw] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const url = (p) => `http://127.0.0.1:${p}/api/rooms/`;
    const z = await startNginx({ secretFile: otherSecret, port: pz, rateLimit: false });
    // w: a node on https, named: it answers only with its TLS server name
    const tls = await testCertificate(dir);
    const w = await startNginx({ secretFile, port: pw, rateLimit: false, listen: `127.0.0.1:${pw} ssl`,
        base: `https://127.0.0.1:${pw}`,
        extraServer: `ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key}; `
            + 'if ($ssl_server_name != "localhost") { return 421; }' });
    const x = await startNginx({ secretFile, port: px, rateLimit: false,
        extraHttp: `webcall_fleet_nodes ${fleetList([px, py, pz])} https://localhost:${pw}/api/rooms/;` });
    let y;
    try {
        const room = (await request(x.base, '/api/rooms', { method: 'POST', json: { oneTime: true } })).json;
        const a = await Peer.open(x.port, room.token);
        await a.join();
        const b = await Peer.open(x.port, room.token);
        await b.join();
        await a.next('peer-joined');
        for (const p of [a, b]) p.send({ type: 'bye' });
        await Promise.all([a.closed, b.closed]);
        // a room its host ends on x, directly
        const hosted = (await request(x.base, '/api/rooms', { method: 'POST' })).json;
        const end = (token, ownerKey, headers = {}) => request(x.base, `/api/rooms/${token}`,
            { method: 'DELETE', headers: { authorization: `Bearer ${ownerKey}`, ...headers } });
        assert.equal((await end(hosted.token, hosted.ownerKey)).status, 204);
        // what x gets as another node's copy it does not send on
        const copied = (await request(x.base, '/api/rooms', { method: 'POST' })).json;
        assert.equal((await end(copied.token, copied.ownerKey, { 'Webcall-Fleet': 'end' })).status, 204);

        // y is down: a warning, and tries again; z refuses for good
        const esc = (p) => url(p).replace(/[./]/g, '\\$&');
        await waitFor(() => new RegExp(`\\[warn\\].*could not tell fleet node "${esc(py)}" that room \\S+ `
            + 'ended \\(no connection\\); trying again in 1000 ms, for up to an hour').test(x.errorLog()),
            3000, `the warning about ${url(py)}:\n${x.errorLog()}`);
        await waitFor(() => new RegExp(`\\[error\\].*fleet node "${esc(pz)}" refused the end of room \\S+ `
            + 'with HTTP 404: it has another webcall_secret_file').test(x.errorLog()),
            3000, `the refusal of ${url(pz)}:\n${x.errorLog()}`);
        assert.equal((await request(z.base, `/api/rooms/${room.token}`)).status, 404);
        const onW = async (token) => (await request(w.base, `/api/rooms/${token}`, { servername: 'localhost' })).status;
        for (const r of [room, hosted]) {
            await waitFor(async () => await onW(r.token) === 410, 3000, 'the https node learns of the end');
        }
        assert.equal(await onW(copied.token), 200, 'a copy was sent on');

        y = await startNginx({ secretFile, port: py, rateLimit: false });
        for (const r of [room, hosted]) {
            await waitFor(async () => (await request(y.base, `/api/rooms/${r.token}`)).status === 410,
                15000, 'the node that was down learns of the end');
        }
        assert.equal((await request(y.base, `/api/rooms/${copied.token}`)).status, 200);
        await waitFor(() => new RegExp(`\\[notice\\].*fleet node "${esc(py)}" was told that room \\S+ `
            + 'ended, at try [2-9]').test(x.errorLog()), 3000, x.errorLog());
        const ends = await fleetEnds(x);
        assert.equal(ends.delivered, 6, 'x itself, w and y, twice');
        assert.equal(ends['given-up'], 2, 'z, twice');
        assert.ok(ends['failed-attempt'] >= 1, JSON.stringify(ends));
        // and what x says names no link: only its fingerprint
        for (const r of [room, hosted]) assert.ok(!x.errorLog().includes(r.token), 'a link in the log');
    } finally {
        await y?.stop();
        await w.stop();
        await z.stop();
        await x.stop();
    }
});

test('ends not yet delivered when nginx reloads are left to the next workers, which deliver them', async () => {
    const dir = await tempDir('webcall-fleet-reload-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    const [px, py] = [await freePort(), await freePort()];
    const x = await startNginx({ secretFile, port: px, rateLimit: false,
        extraHttp: `webcall_fleet_nodes ${fleetList([px, py])};` });
    let y;
    try {
        const room = (await request(x.base, '/api/rooms', { method: 'POST' })).json;
        const res = await request(x.base, `/api/rooms/${room.token}`,
            { method: 'DELETE', headers: { authorization: `Bearer ${room.ownerKey}` } });
        assert.equal(res.status, 204);
        await waitFor(() => /\[warn\].*could not tell fleet node/.test(x.errorLog()), 3000, x.errorLog());

        // y is still down: the old workers leave the end in the zone
        await x.reload();
        await waitFor(() => /\[warn\].*1 end\(s\) of rooms not yet delivered to fleet nodes are left to this node's next workers/
            .test(x.errorLog()), 3000, x.errorLog());

        y = await startNginx({ secretFile, port: py, rateLimit: false });
        await waitFor(async () => (await request(y.base, `/api/rooms/${room.token}`)).status === 410,
            15000, `y learns of the end from x's new workers:\n${x.errorLog()}`);
        // by a worker that is not the one that left it
        const left = /\[warn\] (\d+)#\d+: webcall: 1 end\(s\)/.exec(x.errorLog());
        const told = /\[notice\] (\d+)#\d+: webcall: fleet node "http:\/\/127\.0\.0\.1:\d+\/api\/rooms\/" was told that room \S+ ended, at try [2-9]/
            .exec(x.errorLog());
        assert.ok(told, x.errorLog());
        assert.notEqual(told[1], left[1]);
    } finally {
        await y?.stop();
        await x.stop();
    }
});

test('a room kept past issue + ttl on its node: a node that calls its link expired (404) counts as told, not as a refusal', async () => {
    const dir = await tempDir('webcall-fleet-old-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    const [px, py] = [await freePort(), await freePort()];
    const zoneArgs = 'webcall:1m ttl=2s';
    const y = await startNginx({ secretFile, port: py, rateLimit: false, zoneArgs });
    const x = await startNginx({ secretFile, port: px, rateLimit: false, zoneArgs,
        extraHttp: `webcall_fleet_nodes ${fleetList([px, py])};` });
    try {
        const room = (await request(x.base, '/api/rooms', { method: 'POST' })).json;
        const a = await Peer.open(x.port, room.token);
        await a.join();
        // a call keeps the room on x; y, with no record (asking it would
        // make one), calls the link expired from issue + ttl on
        await sleep(2500);
        assert.equal((await request(x.base, `/api/rooms/${room.token}`)).status, 200);
        const res = await request(x.base, `/api/rooms/${room.token}`,
            { method: 'DELETE', headers: { authorization: `Bearer ${room.ownerKey}` } });
        assert.equal(res.status, 204, res.body);
        await a.expectClose(4410);
        await waitFor(async () => (await fleetEnds(x)).delivered === 2, 3000, JSON.stringify(await fleetEnds(x)));
        const ends = await fleetEnds(x);
        assert.equal(ends['given-up'], 0);
        assert.equal(ends['failed-attempt'], 0);
        assert.doesNotMatch(x.errorLog(), /refused the end/);
    } finally {
        await x.stop();
        await y.stop();
    }
});
