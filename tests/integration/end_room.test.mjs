// "End the room for everyone": the owner key from POST /api/rooms, DELETE
// with it, and what an ended link answers everywhere (API 410, handshake
// 410, joined participants closed with 4410 on every worker); the end
// survives a reload and a restart through the ended-rooms file, and a
// torn or unwritable file is handled without losing anything.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxTest, startNginx, request } from '../lib/nginx.mjs';
import { B58, Peer, createRoom, peerOnWorker } from '../lib/ws.mjs';

const end = (base, token, key, headers = {}) => request(base, `/api/rooms/${token}`, {
    method: 'DELETE', headers: key === undefined ? headers : { authorization: `Bearer ${key}`, ...headers },
});

async function handshakeStatus(port, token) {
    try {
        const p = await Peer.open(port, token);
        p.close();
        return 101;
    } catch (e) {
        return e.status;
    }
}

describe('ending a room for everyone', () => {
    let ngx;

    before(async () => { ngx = await startNginx({ workers: 2 }); });
    after(async () => { await ngx?.stop({ allowAlerts: [/cannot open the ended-rooms file/] }); });

    it('gives the creator an owner key that only ends its own room', async () => {
        const a = await createRoom(ngx.base);
        const b = await createRoom(ngx.base);
        assert.match(a.ownerKey, B58);
        assert.ok(a.ownerKey.length >= 21, `${a.ownerKey}: 128 bits in base58 are 21-22 characters`);
        assert.notEqual(a.ownerKey, b.ownerKey);

        for (const [what, res] of [
            ['no Authorization', await end(ngx.base, a.token)],
            ['another room\'s key', await end(ngx.base, a.token, b.ownerKey)],
            ['a damaged key', await end(ngx.base, a.token, a.ownerKey.slice(0, -1) + (a.ownerKey.endsWith('z') ? 'y' : 'z'))],
            ['an empty key', await end(ngx.base, a.token, '')],
            ['another scheme', await end(ngx.base, a.token, undefined, { authorization: `Basic ${a.ownerKey}` })],
        ]) {
            assert.equal(res.status, 403, `${what}: ${res.status} ${res.body}`);
            assert.equal(res.json.error, 'forbidden', what);
        }
        // nothing changed
        assert.equal((await request(ngx.base, `/api/rooms/${a.token}`)).status, 200);
        assert.equal((await end(ngx.base, 'not-a-token', a.ownerKey)).status, 400);
        assert.equal((await end(ngx.base, a.token.slice(0, -1) + (a.token.endsWith('z') ? 'y' : 'z'), a.ownerKey)).status, 404);
        const put = await request(ngx.base, `/api/rooms/${a.token}`, { method: 'PUT' });
        assert.equal(put.status, 405);
        assert.equal(put.headers.allow, 'GET, HEAD, DELETE');
    });

    it('closes everyone in the call with 4410 on both workers, and the link answers 410 everywhere', { timeout: 30000 }, async () => {
        const room = await createRoom(ngx.base);
        const pids = await ngx.workerPids();
        const a = await peerOnWorker(ngx.port, room.token, (pid) => pid === pids[0], 'worker 1');
        const b = await peerOnWorker(ngx.port, room.token, (pid) => pid === pids[1], 'worker 2');
        await a.join();
        await b.join();
        await a.next('peer-joined');

        const res = await end(ngx.base, room.token, room.ownerKey);
        assert.equal(res.status, 204, res.body);
        assert.equal(res.body, '');
        for (const p of [a, b]) {
            const info = await p.expectClose(4410);
            assert.equal(info.reason, 'ended');
        }

        const get = await request(ngx.base, `/api/rooms/${room.token}`);
        assert.equal(get.status, 410);
        assert.equal(get.json.error, 'ended');
        assert.match(get.json.message, /ended by its host/);
        assert.equal(await handshakeStatus(ngx.port, room.token), 410);
        // ending it again is what the host's retry gets: the same answer
        assert.equal((await end(ngx.base, room.token, room.ownerKey)).status, 204);
        assert.match((await request(ngx.base, '/metrics')).body, /^webcall_rooms_ended_total\{zone="webcall"\} 1$/m);
    });

    it('stays ended after a reload and a restart (the ended-rooms file), and other rooms do not', { timeout: 30000 }, async () => {
        const gone = await createRoom(ngx.base);
        const kept = await createRoom(ngx.base);
        assert.equal((await end(ngx.base, gone.token, gone.ownerKey)).status, 204);

        const file = path.join(ngx.dir, 'ended-rooms');
        const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
        assert.match(lines.at(-1), /^[0-9a-f]{32} \d+ host$/);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.ok(!lines.join('\n').includes(gone.token), 'the file names rooms by id, never by link');

        await ngx.reload();
        assert.equal((await request(ngx.base, `/api/rooms/${gone.token}`)).status, 410);
        await ngx.restart();
        assert.equal((await request(ngx.base, `/api/rooms/${gone.token}`)).status, 410);
        assert.equal(await handshakeStatus(ngx.port, gone.token), 410);
        assert.equal((await request(ngx.base, `/api/rooms/${kept.token}`)).status, 200);
        assert.equal(await handshakeStatus(ngx.port, kept.token), 101);
    });

    it('skips a torn or edited line of the file with a warning, and keeps the rest', { timeout: 30000 }, async () => {
        const gone = await createRoom(ngx.base);
        assert.equal((await end(ngx.base, gone.token, gone.ownerKey)).status, 204);
        const file = path.join(ngx.dir, 'ended-rooms');
        fs.appendFileSync(file, 'edited by hand\n0123456789abcdef0123456789abcdef 17');   // a crash mid-line
        await ngx.restart();
        assert.equal((await request(ngx.base, `/api/rooms/${gone.token}`)).status, 410);
        assert.match(ngx.errorLog(), /2 line\(s\) of the ended-rooms file ".*ended-rooms" are not understood and were skipped/);
        // the next end is still one whole line of its own
        fs.appendFileSync(file, '\n');
        const next = await createRoom(ngx.base);
        assert.equal((await end(ngx.base, next.token, next.ownerKey)).status, 204);
        await ngx.restart();
        assert.equal((await request(ngx.base, `/api/rooms/${next.token}`)).status, 410);
    });

    it('answers 500 and ends nothing when the file cannot be written', { timeout: 30000 }, async () => {
        const room = await createRoom(ngx.base);
        const file = path.join(ngx.dir, 'ended-rooms');
        const saved = fs.readFileSync(file);
        const owner = fs.statSync(file);   // nginx gave it to the workers' user
        fs.rmSync(file);
        fs.mkdirSync(file);            // not a file any more: every open fails
        try {
            const res = await end(ngx.base, room.token, room.ownerKey);
            assert.equal(res.status, 500, res.body);
            assert.match(res.json.message, /could not record/);
            assert.equal((await request(ngx.base, `/api/rooms/${room.token}`)).status, 200);
            assert.match(ngx.errorLog(), /\[alert\].*cannot open the ended-rooms file/);
        } finally {
            fs.rmdirSync(file);
            fs.writeFileSync(file, saved, { mode: 0o600 });
            fs.chownSync(file, owner.uid, owner.gid);
        }
        assert.equal((await end(ngx.base, room.token, room.ownerKey)).status, 204);
    });
});

describe('the ended-rooms file at start', () => {
    it('stops nginx -t when it cannot be read, and says why', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webcall-ended-'));
        try {
            const endedFile = path.join(dir, 'ended-rooms');
            fs.mkdirSync(endedFile);       // there, but not a file
            const r = await nginxTest({ endedFile });
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /ended-rooms file ".*ended-rooms"/);
            const missing = await nginxTest({ endedFile: path.join(dir, 'no-such-dir', 'ended-rooms') });
            assert.notEqual(missing.code, 0, missing.output);
            assert.match(missing.output, /cannot create the ended-rooms file .*its directory must exist/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe('one-time links', () => {
    let ngx;

    before(async () => { ngx = await startNginx({ workers: 2, wsLocation: 'webcall_signal_grace 1s;' }); });
    after(async () => { await ngx?.stop(); });

    const oneTime = async () => createRoom(ngx.base, { oneTime: true });
    const get = async (token) => (await request(ngx.base, `/api/rooms/${token}`)).status;

    it('refuses bad options with 400 and a sentence', async () => {
        for (const json of [{ oneTime: 'yes' }, { oneTime: 1 }, { oneTime: null }, { onetime: true }]) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST', json });
            assert.equal(res.status, 400, JSON.stringify(json));
            assert.equal(res.json.error, 'bad-request');
            assert.ok(res.json.message.length > 10, res.json.message);
        }
        const both = await request(ngx.base, '/api/rooms', { method: 'POST', json: { oneTime: true, maxParticipants: 4 } });
        assert.equal(both.status, 201);
        assert.equal(both.json.maxParticipants, 4);
    });

    it('stays open until a call happened, and a reload in the call does not end it', { timeout: 20000 }, async () => {
        const room = await oneTime();
        const a = await Peer.open(ngx.port, room.token);
        await a.join();
        a.send({ type: 'bye' });
        await a.closed;
        assert.equal(await get(room.token), 200, 'one person alone is no call');

        const b = await Peer.open(ngx.port, room.token);
        await b.join();
        const c = await Peer.open(ngx.port, room.token);
        await c.join();
        await b.next('peer-joined');
        // C reloads: the room is never empty, the call goes on
        const resume = c.resume;
        c.drop();
        const c2 = await Peer.open(ngx.port, room.token);
        await c2.join(resume);
        assert.equal(await get(room.token), 200);
        for (const p of [b, c2]) p.send({ type: 'bye' });
        await Promise.all([b.closed, c2.closed]);
        assert.equal(await get(room.token), 410, 'the first call ended: the link is used up');
        assert.equal(await handshakeStatus(ngx.port, room.token), 410);
    });

    it('ends when the last one of a call drops and the grace runs out, and stays ended after a restart', { timeout: 30000 }, async () => {
        const room = await oneTime();
        const plain = await createRoom(ngx.base);
        const a = await Peer.open(ngx.port, room.token);
        await a.join();
        const b = await Peer.open(ngx.port, room.token);
        await b.join();
        const x = await Peer.open(ngx.port, plain.token);
        await x.join();
        const y = await Peer.open(ngx.port, plain.token);
        await y.join();
        for (const p of [a, b, x, y]) p.drop();
        const end = Date.now() + 8000;
        while (await get(room.token) !== 410 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
        assert.equal(await get(room.token), 410);
        assert.equal(await get(plain.token), 200, 'an ordinary link lives on');
        const lines = fs.readFileSync(path.join(ngx.dir, 'ended-rooms'), 'utf8').trim().split('\n');
        assert.match(lines.at(-1), /^[0-9a-f]{32} \d+ one-time$/);
        await ngx.restart();
        assert.equal(await get(room.token), 410);
        assert.equal(await get(plain.token), 200);
    });
});
