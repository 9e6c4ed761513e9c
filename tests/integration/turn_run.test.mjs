// `make run` (tools/run.sh) brings up nginx and coturn together, on one
// secret: the credentials in `welcome` work on the coturn it started; Ctrl-C
// (SIGINT to the process group) or SIGTERM takes both down, leaving no
// process behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { freePort, tempDir, moduleBuilt } from '../lib/nginx.mjs';
import { Peer, createRoom } from '../lib/ws.mjs';
import { TOP, uclient, startRun } from '../e2e/turn_lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function descendants(pid) {
    let out = '';
    try { out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' }); } catch { return []; }
    const rows = out.split('\n').filter(Boolean).map((l) => {
        const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l);
        return { pid: Number(m[1]), ppid: Number(m[2]), args: m[3] };
    });
    const found = [];
    const walk = (p) => rows.filter((r) => r.ppid === p).forEach((r) => { found.push(r); walk(r.pid); });
    walk(pid);
    return found;
}

function alive(pid) {
    try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('make run: nginx and coturn together', { skip: !moduleBuilt() && 'make module first' }, () => {
    for (const how of ['SIGINT to the group (Ctrl-C)', 'SIGTERM to the script']) {
        it(`starts both on one secret, and ${how} stops both`, { timeout: 60000 }, async () => {
            const run = await startRun();
            try {
                assert.match(run.output(), new RegExp(`TURN .*127\\.0\\.0\\.1:${run.turnPort}`));
                const procs = descendants(run.child.pid);
                const nginx = procs.filter((p) => /nginx: (master|worker)/.test(p.args));
                const turn = procs.filter((p) => /turnserver -c/.test(p.args));
                assert.ok(nginx.length >= 2, `nginx master and workers: ${JSON.stringify(procs)}`);
                assert.equal(turn.length, 1, JSON.stringify(procs));

                // The credentials nginx hands out work on the coturn run.sh started.
                const room = await createRoom(`http://127.0.0.1:${run.port}`);
                const peer = await Peer.open(run.port, room.token);
                const welcome = await peer.join();
                peer.close();
                const e = welcome.iceServers.find((s) => s.username);
                assert.ok(e.urls.includes(`turn:127.0.0.1:${run.turnPort}?transport=udp`), JSON.stringify(e));
                const r = await uclient({ port: run.turnPort }, { username: e.username, password: e.credential });
                assert.ok(r.code === 0 && r.relayed, r.output);

                if (how.startsWith('SIGINT')) process.kill(-run.child.pid, 'SIGINT');
                else process.kill(run.child.pid, 'SIGTERM');
                const t0 = Date.now();
                const status = await Promise.race([run.child.exited, sleep(10000).then(() => null)]);
                assert.ok(status, `run.sh did not exit within 10 s:\n${run.output()}`);
                assert.match(run.output(), /run: stopped/);
                for (let i = 0; i < 50 && procs.some((p) => alive(p.pid)); i++) await sleep(100);
                const left = procs.filter((p) => alive(p.pid));
                assert.deepEqual(left, [], `left behind: ${JSON.stringify(left)}`);
                assert.ok(Date.now() - t0 < 10000);
            } finally {
                run.killAll();
                await fsp.rm(run.dir, { recursive: true, force: true });
            }
        });
    }

    it('refuses to start when the TURN port is taken, and starts nothing', { timeout: 60000 }, async () => {
        const net = await import('node:net');
        const srv = net.createServer().listen(0, '127.0.0.1');
        await new Promise((r) => srv.once('listening', r));
        const dir = await tempDir('webcall-run-');
        try {
            const child = spawn('bash', [path.join(TOP, 'tools/run.sh')], {
                env: { ...process.env, RUN_DIR: dir, PORT: String(await freePort()),
                    TURN_PORT: String(srv.address().port) },
                stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            child.stderr.on('data', (d) => { out += d; });
            const code = await new Promise((resolve) => child.once('exit', resolve));
            assert.equal(code, 1);
            assert.match(out, /TURN\) is already in use/);
        } finally {
            srv.close();
            await fsp.rm(dir, { recursive: true, force: true });
        }
    });
});
