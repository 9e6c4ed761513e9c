// deploy/scale-out/front.conf: a front nginx pins each room to one of two
// webcall nodes that share a secret; both participants of a room meet on
// the node that holds it, and links minted by either node work through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
    TOP, NGINX, startNginx, freePort, tempDir, writeSecret, request, sleep,
} from '../lib/nginx.mjs';
import { Peer } from '../lib/ws.mjs';

let nodes = [];
let front;

async function startFront(ports) {
    const dir = await tempDir('webcall-front-');
    const port = await freePort();
    let conf = fs.readFileSync(path.join(TOP, 'deploy/scale-out/front.conf'), 'utf8');
    conf = conf
        .replace('listen 443 ssl http2;', `listen 127.0.0.1:${port};`)
        .replace(/^\s*server 192\.0\.2\.\d+:8443 .*$/gm, '')
        .replace('hash $webcall_room consistent;',
            'hash $webcall_room consistent;\n' +
            ports.map((p) => `    server 127.0.0.1:${p};`).join('\n'))
        .replace('proxy_pass https://webcall_nodes;', 'proxy_pass http://webcall_nodes;');
    fs.writeFileSync(path.join(dir, 'front.conf'), conf);
    fs.writeFileSync(path.join(dir, 'nginx.conf'), `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
    include ${dir}/front.conf;
}
`);
    const child = spawn(NGINX, ['-p', dir, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'],
        { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
        if (fs.existsSync(`${dir}/nginx.pid`)) break;
        await sleep(50);
    }
    await sleep(100);
    return {
        port, dir, child, base: `http://127.0.0.1:${port}`,
        async stop() {
            child.kill('SIGTERM');
            await new Promise((r) => child.once('exit', r));
            const log = fs.readFileSync(`${dir}/error.log`, 'utf8');
            assert.doesNotMatch(log, /\[(alert|emerg|crit)\]/, log);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

before(async () => {
    const dir = await tempDir('webcall-fleet-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    for (let i = 0; i < 2; i++) {
        nodes.push(await startNginx({ secretFile, rateLimit: false, workers: 1 }));
    }
    front = await startFront(nodes.map((n) => n.port));
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

test('a host ending a room through the front reaches the node that holds it', async () => {
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
    // the API, the signaling and the DELETE all landed on one node, which
    // keeps the end in its ended-rooms file
    const counts = servedBy('/api/rooms/', token);
    assert.equal(counts.filter((c) => c > 0).length, 1, `requests per node: ${counts}`);
    const home = counts.findIndex((c) => c > 0);
    const lines = fs.readFileSync(path.join(nodes[home].dir, 'ended-rooms'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal(fs.readFileSync(path.join(nodes[1 - home].dir, 'ended-rooms'), 'utf8'), '');
});
