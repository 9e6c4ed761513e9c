// Kernel calls failing under the module, injected with LD_PRELOAD
// (tests/lib/fault_shim.c), so the paths that cope run for real:
// - no doorbell socket for any worker: workers serve, and messages between
//   them arrive on the 500 ms tick;
// - kill(pid, 0) of a dead worker answering EPERM (its pid taken by
//   another user's process): the sweep still frees its slot, and the
//   others hear the participant left once its grace is over;
// - OpenSSL's RAND_bytes failing when a peer id is made: the join is
//   refused with an error and the error log says why, instead of a peer
//   id everyone could guess.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TOP, startNginx, freePort, tempDir, workerPids } from '../lib/nginx.mjs';
import { createRoom, peerOnWorker, sleep, Peer } from '../lib/ws.mjs';

const execFileP = promisify(execFile);
const offer = (to) => ({ type: 'offer', to, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' });

let dir, shim;
before(async () => {
    dir = await tempDir('webcall-faults-');
    shim = path.join(dir, 'fault_shim.so');
    await execFileP('cc', ['-shared', '-fPIC', '-Wall', '-Werror', '-o', shim,
        path.join(TOP, 'tests/lib/fault_shim.c'), '-ldl']);
});
after(async () => { if (dir) await fsp.rm(dir, { recursive: true, force: true }); });

// nginx started with the shim and these WEBCALL_FAULT_* variables.
async function faultyNginx(faults, opts) {
    const saved = { ...process.env };
    Object.assign(process.env, { LD_PRELOAD: shim, ...faults });
    try {
        // nginx clears the environment of its workers but for what env names
        return await startNginx({ ...opts, extraMain: Object.keys(faults).map((k) => `env ${k};`).join('\n') });
    } finally {
        for (const k of ['LD_PRELOAD', ...Object.keys(faults)]) {
            if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
        }
    }
}

describe('no worker can open its doorbell', () => {
    let ngx, spread;
    before(async () => {
        spread = await freePort();
        ngx = await faultyNginx({ WEBCALL_FAULT_AUTOBIND: '1' },
            { workers: 2, rateLimit: false, extraServer: `listen 127.0.0.1:${spread} reuseport;` });
    });
    after(() => ngx?.stop());

    it('both workers keep serving, say so once, and relay to each other on the tick', { timeout: 60000 }, async () => {
        await sleep(1000);
        const workers = await workerPids(ngx.pid);
        assert.equal(workers.length, 2, `workers: ${workers}`);
        const said = ngx.errorLog().split('\n').filter((l) => /runs without a doorbell/.test(l));
        assert.equal(said.length, 2, ngx.errorLog());
        assert.doesNotMatch(ngx.errorLog(), /exited with|\[alert\]|\[crit\]|\[emerg\]/);

        const { token } = await createRoom(ngx.base);
        const a = await peerOnWorker(spread, token, () => true);
        await a.join();
        const b = await peerOnWorker(spread, token, (pid) => pid !== a.pid);
        const wb = await b.join();
        await a.next('peer-joined', 3000);
        const times = [];
        for (let i = 0; i < 5; i++) {
            const t0 = Date.now();
            a.send(offer(wb.id));
            await b.next('offer', 3000);
            times.push(Date.now() - t0);
        }
        console.log(`# without doorbells, deliveries between workers took ${times.join(', ')} ms`);
        for (const t of times) assert.ok(t < 1500, `a delivery took ${t} ms`);
        a.drop();
        b.drop();
    });
});

describe('a dead worker whose pid kill(0) answers EPERM', () => {
    let ngx, spread;
    const GRACE = 2000;
    const KILLED = /worker process \d+ exited on signal 9/;
    before(async () => {
        spread = await freePort();
        ngx = await faultyNginx({ WEBCALL_FAULT_KILL_EPERM: '1' }, {
            workers: 2, rateLimit: false, extraServer: `listen 127.0.0.1:${spread} reuseport;`,
            wsLocation: `webcall_signal_grace ${GRACE / 1000}s;`, allowAlerts: [KILLED],
        });
    });
    after(() => ngx?.stop());

    it('is still found gone: the others hear peer-left after the grace period', { timeout: 60000 }, async () => {
        const { token } = await createRoom(ngx.base);
        const a = await peerOnWorker(spread, token, () => true);
        await a.join();
        const b = await peerOnWorker(spread, token, (pid) => pid !== a.pid);
        const wb = await b.join();
        await a.next('peer-joined');
        process.kill(b.pid, 'SIGKILL');
        const left = await a.next('peer-left', GRACE + 5000);
        assert.equal(left.id, wb.id);
        assert.match(ngx.errorLog(), new RegExp(`worker ${b.pid} is gone`));
        a.drop();
    });
});

describe('the CSPRNG failing when a peer id is made', () => {
    let ngx;
    before(async () => {
        ngx = await faultyNginx({ WEBCALL_FAULT_RAND_BYTES: '8' }, { workers: 1, rateLimit: false });
    });
    after(() => ngx?.stop());

    it('refuses the join with an error and a log line, never a guessable id', async () => {
        const { token } = await createRoom(ngx.base);   // 16 random bytes: unaffected
        const a = await Peer.open(ngx.port, token);
        a.send({ type: 'join' });
        const e = await a.expectError('server-error', 1011);
        assert.match(e.message, /could not seat you/);
        assert.match(ngx.errorLog(), /\[error\].*RAND_bytes.*join refused/);
    });
});
