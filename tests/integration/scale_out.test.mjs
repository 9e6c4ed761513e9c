// deploy/scale-out/front.conf: a front nginx pins each room to one of two
// webcall nodes that share a secret; both participants of a room meet on
// the node that holds it, and links minted by either node work through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
    startNginx, tempDir, writeSecret, request, sleep, freePort,
} from '../lib/nginx.mjs';
import { startFront } from '../lib/front.mjs';
import { Peer } from '../lib/ws.mjs';

let nodes = [];
let front;

before(async () => {
    const dir = await tempDir('webcall-fleet-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    // each node tells the others when a room ends there
    const ports = [await freePort(), await freePort()];
    const extraHttp = `webcall_fleet_nodes ${ports.map((p) => `http://127.0.0.1:${p}/api/rooms/`).join(' ')};`;
    for (const port of ports) {
        nodes.push(await startNginx({ secretFile, rateLimit: false, workers: 1, port, extraHttp }));
    }
    front = await startFront(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
});

after(async () => {
    await front?.stop();
    for (const n of nodes) await n.stop();
});

// the nodes' access logs name a room by its fingerprint, never its token
function servedBy(prefix, token) {
    const fp = crypto.createHash('sha256').update(token).digest('hex').slice(0, 6);
    const uri = `${prefix}~${fp}`;
    return nodes.map((n) => {
        const log = fs.readFileSync(path.join(n.dir, 'access.log'), 'utf8');
        assert.ok(!log.includes(token), 'a room token reached a node\'s access log');
        return log.split('\n').filter((l) => l.includes(uri)).length;
    });
}

function deletesOn(i) {
    return fs.readFileSync(path.join(nodes[i].dir, 'access.log'), 'utf8').split('\n')
        .filter((l) => l.includes('"DELETE /api/rooms/')).length;
}

test('the front config parses and forwards the rooms API', async () => {
    const res = await request(front.base, '/api/rooms', { method: 'POST' });
    assert.equal(res.status, 201);
});

test('each room is pinned to one node and rooms spread over both', async () => {
    const homes = new Set();
    for (let i = 0; i < 12; i++) {
        const { token } = (await request(front.base, '/api/rooms', { method: 'POST' })).json;
        for (let k = 0; k < 3; k++) {
            assert.equal((await request(front.base, `/api/rooms/${token}`)).status, 200);
        }
        const counts = servedBy('/api/rooms/', token);
        assert.equal(counts.filter((c) => c > 0).length, 1,
            `GETs of one room reached ${counts} requests per node`);
        homes.add(counts.findIndex((c) => c > 0));
    }
    assert.equal(homes.size, 2, 'twelve rooms all landed on one node');
});

test('two participants of a room meet through the front and exchange an offer', async () => {
    const { token } = (await request(front.base, '/api/rooms', { method: 'POST' })).json;
    const a = await Peer.open(front.port, token);
    const b = await Peer.open(front.port, token);
    try {
        a.send({ type: 'join' });
        const wa = await a.next('welcome');
        b.send({ type: 'join' });
        const wb = await b.next('welcome');
        assert.deepEqual(wb.peers, [wa.id]);
        await a.next('peer-joined');
        b.send({ type: 'offer', to: wa.id, sdp: 'v=0 through the front' });
        const offer = await a.next('offer');
        assert.equal(offer.from, wb.id);
    } finally {
        a.ws.close();
        b.ws.close();
    }
    // a WebSocket's access log line is written when it closes
    await Promise.all([a.closed, b.closed]);
    await sleep(300);
    const counts = servedBy('/ws/', token);
    assert.deepEqual(counts.filter((c) => c > 0), [2], `WebSockets per node: ${counts}`);
});

test('a host ending a room through the front reaches the node that holds it, which tells every node', async () => {
    const made = await request(front.base, '/api/rooms', { method: 'POST' });
    const { token, ownerKey } = made.json;
    const a = await Peer.open(front.port, token);
    const b = await Peer.open(front.port, token);
    a.send({ type: 'join' });
    await a.next('welcome');
    b.send({ type: 'join' });
    await b.next('welcome');
    const res = await request(front.base, `/api/rooms/${token}`,
        { method: 'DELETE', headers: { authorization: `Bearer ${ownerKey}` } });
    assert.equal(res.status, 204, res.body);
    for (const p of [a, b]) await p.expectClose(4410);
    assert.equal((await request(front.base, `/api/rooms/${token}`)).status, 410);
    // the node that holds the room sent the DELETE to every node of
    // webcall_fleet_nodes (itself too: it answered that it knew), and each
    // keeps the end in its own ended-rooms file
    await sleep(300);
    for (const n of nodes) {
        const lines = fs.readFileSync(path.join(n.dir, 'ended-rooms'), 'utf8').trim().split('\n');
        assert.equal(lines.length, 1, `${n.dir}: ${lines}`);
        const deletes = fs.readFileSync(path.join(n.dir, 'access.log'), 'utf8').split('\n')
            .filter((l) => l.includes('"DELETE /api/rooms/'));
        assert.ok(deletes.length >= 1, `no DELETE reached ${n.dir}`);
    }
    // GETs and the signaling were not copied: they stay on the room's node
    const counts = servedBy('/api/rooms/', token).map((c, i) => c - (nodes[i] ? deletesOn(i) : 0));
    assert.equal(counts.filter((c) => c > 0).length, 1, `GETs per node: ${counts}`);
});
