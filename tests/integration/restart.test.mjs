// Room links outlive the nginx processes: the token is signed with the
// server secret, so a full restart (zone wiped) keeps them valid, and a
// different secret makes them unknown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, request, writeSecret, tempDir } from '../lib/nginx.mjs';
import fsp from 'node:fs/promises';

function show(res) {
    return `${res.status} ${JSON.stringify(res.headers)} ${res.body}`;
}

async function createRoom(base, json) {
    const res = await request(base, '/api/rooms', { method: 'POST', json });
    assert.equal(res.status, 201, show(res));
    return res.json;
}

async function lookUp(base, token) {
    return request(base, `/api/rooms/${token}`);
}

describe('restart and reload', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 2, rateLimit: false }); });
    after(() => ngx?.stop());

    it('a link minted before a full restart still works after it, with its participant limit', async () => {
        const rooms = [await createRoom(ngx.base), await createRoom(ngx.base, { maxParticipants: 4 })];
        for (const room of rooms) assert.equal((await lookUp(ngx.base, room.token)).status, 200);

        const oldPid = ngx.pid;
        await ngx.restart();
        assert.notEqual(ngx.pid, oldPid, 'restart() did not start a new master');

        for (const room of rooms) {
            const res = await lookUp(ngx.base, room.token);
            assert.equal(res.status, 200, show(res));
            assert.equal(res.json.token, room.token);
            assert.equal(res.json.participants, 0);
            assert.equal(res.json.maxParticipants, room.maxParticipants);
        }
        // A forged variant is still refused after the restart.
        const t = rooms[0].token;
        const c = t[20] === '2' ? '3' : '2';
        const forged = await lookUp(ngx.base, t.slice(0, 20) + c + t.slice(21));
        assert.equal(forged.status, 404, show(forged));
    });

    it('a configuration reload replaces the workers and keeps serving rooms', async () => {
        const room = await createRoom(ngx.base, { maxParticipants: 3 });
        const oldWorkers = await ngx.workerPids();
        assert.equal(oldWorkers.length, 2, `workers: ${oldWorkers}`);

        await ngx.reload();
        const newWorkers = await ngx.workerPids();
        assert.equal(newWorkers.length, 2, `workers: ${newWorkers}`);
        assert.ok(!newWorkers.some((p) => oldWorkers.includes(p)), `${oldWorkers} -> ${newWorkers}`);

        const res = await lookUp(ngx.base, room.token);
        assert.equal(res.status, 200, show(res));
        assert.equal(res.json.maxParticipants, 3);
        await createRoom(ngx.base);
    });
});

describe('another secret', () => {
    let first;
    let second;
    let secretDir;
    before(async () => {
        secretDir = await tempDir('webcall-secret-');
        first = await startNginx({ workers: 1, rateLimit: false });
        second = await startNginx({ workers: 1, rateLimit: false, secretFile: await writeSecret(secretDir) });
    });
    after(async () => {
        try {
            await first?.stop();
        } finally {
            await second?.stop();
            if (secretDir) await fsp.rm(secretDir, { recursive: true, force: true });
        }
    });

    it('a link minted with one secret is unknown (404) to a server with another', async () => {
        const room = await createRoom(first.base);
        assert.equal((await lookUp(first.base, room.token)).status, 200);
        const res = await lookUp(second.base, room.token);
        assert.equal(res.status, 404, show(res));
        assert.equal(res.json?.error, 'not-found', show(res));
        // And the other way round.
        const other = await createRoom(second.base);
        assert.equal((await lookUp(first.base, other.token)).status, 404);
        assert.equal((await lookUp(second.base, other.token)).status, 200);
    });
});
