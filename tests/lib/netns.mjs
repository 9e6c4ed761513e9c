// Real network cuts for browser tests (root only): each participant's
// browser runs in a network namespace of its own; the two namespaces are
// joined by a veth pair (their media goes over it, nothing else does), and
// each reaches nginx, which stays on the host's 127.0.0.1:PORT, through a
// small forwarder: inside the namespace it listens on 127.0.0.1:PORT (so the
// page's origin is http://127.0.0.1:PORT as everywhere else) and passes each
// connection over a Unix socket to this process, which connects it to nginx.
// cut(side) drops every packet in that namespace, loopback included, with an
// nftables table; heal(side) deletes it. Media stops and the signaling
// socket stalls exactly as on a real outage.
//
//   const net = await netPair(ngx.port);
//   const browserA = await net.launch('a'), browserB = await net.launch('b');
//   await net.cut('a'); ... await net.heal('a');
//   await net.destroy();      // also on exit, whatever happens
//
// Also: node tests/lib/netns.mjs forward <port> <unix socket>   (the
// forwarder itself, run inside a namespace by netPair).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// Skips only where namespaces are impossible (not root). As root, as under
// CI, missing ip or nft is a failure of `make deps`, not a reason to skip:
// the test then runs and fails on the missing command.
export function canUseNetns() {
    if (process.getuid?.() !== 0) return 'needs root';
    return true;
}

function sh(cmd, args, input) {
    return execFileSync(cmd, args, { input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] }).toString();
}

const live = new Set();     // namespaces and processes to clean up on exit
function cleanupSync() {
    for (const item of live) {
        try { item(); } catch { /* best effort */ }
    }
    live.clear();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { cleanupSync(); process.exit(130); });

// Two namespaces, a veth pair between them, a forwarder in each to nginx on
// the host's 127.0.0.1:port.
export async function netPair(port, { chromium = process.env.CHROMIUM_BIN || '/usr/bin/chromium' } = {}) {
    const tag = `${process.pid % 100000}${Math.floor(Math.random() * 90 + 10)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webcall-netns-'));
    const ns = { a: `wc${tag}a`, b: `wc${tag}b` };
    const octet = 1 + (process.pid % 250);
    const addr = { a: `198.19.${octet}.1`, b: `198.19.${octet}.2` };
    const procs = [];
    let server = null;

    const destroySync = () => {
        for (const p of procs) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
        for (const n of Object.values(ns)) {
            try { execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' }); } catch { /* gone */ }
        }
        try { server?.close(); } catch { /* */ }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    live.add(destroySync);

    try {
        for (const n of Object.values(ns)) {
            sh('ip', ['netns', 'add', n]);
            sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
        }
        const va = `wv${tag}a`;
        const vb = `wv${tag}b`;
        sh('ip', ['link', 'add', va, 'netns', ns.a, 'type', 'veth', 'peer', 'name', vb, 'netns', ns.b]);
        sh('ip', ['-n', ns.a, 'addr', 'add', `${addr.a}/24`, 'dev', va]);
        sh('ip', ['-n', ns.b, 'addr', 'add', `${addr.b}/24`, 'dev', vb]);
        sh('ip', ['-n', ns.a, 'link', 'set', va, 'up']);
        sh('ip', ['-n', ns.b, 'link', 'set', vb, 'up']);

        // The host side: each Unix socket connection goes on to nginx.
        const sock = path.join(dir, 'nginx.sock');
        server = net.createServer((c) => {
            const up = net.connect({ port, host: '127.0.0.1' });
            c.pipe(up);
            up.pipe(c);
            const end = () => { c.destroy(); up.destroy(); };
            c.on('error', end);
            up.on('error', end);
            c.on('close', end);
            up.on('close', end);
        });
        await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(sock, resolve);
        });

        // The namespace side: 127.0.0.1:port -> the Unix socket.
        for (const side of ['a', 'b']) {
            const child = spawn('ip', ['netns', 'exec', ns[side], process.execPath, SELF, 'forward', String(port), sock],
                { stdio: ['ignore', 'pipe', 'inherit'] });
            procs.push(child);
            await new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('forwarder did not start in 5 s')), 5000);
                child.stdout.once('data', () => { clearTimeout(t); resolve(); });
                child.once('exit', (code) => { clearTimeout(t); reject(new Error(`forwarder exited ${code}`)); });
            });
        }

        // Chromium in a namespace: a wrapper the launcher runs instead.
        for (const side of ['a', 'b']) {
            fs.writeFileSync(path.join(dir, `chromium-${side}`),
                `#!/bin/sh\nexec ip netns exec ${ns[side]} ${chromium} "$@"\n`, { mode: 0o755 });
        }
    } catch (e) {
        destroySync();
        live.delete(destroySync);
        throw e;
    }

    return {
        ns, addr, dir,
        // The path of a Chromium that runs inside the side's namespace.
        chromium: (side) => path.join(dir, `chromium-${side}`),
        async cut(side) {
            sh('ip', ['netns', 'exec', ns[side], 'nft', '-f', '-'], `table inet webcall_cut {
    chain input { type filter hook input priority -300; policy drop; }
    chain output { type filter hook output priority -300; policy drop; }
}\n`);
        },
        async heal(side) {
            sh('ip', ['netns', 'exec', ns[side], 'nft', 'delete', 'table', 'inet', 'webcall_cut']);
        },
        isCut(side) {
            try {
                sh('ip', ['netns', 'exec', ns[side], 'nft', 'list', 'table', 'inet', 'webcall_cut']);
                return true;
            } catch {
                return false;
            }
        },
        async destroy() {
            destroySync();
            live.delete(destroySync);
        },
    };
}

// The forwarder, run inside a namespace.
if (process.argv[1] === SELF && process.argv[2] === 'forward') {
    const port = Number(process.argv[3]);
    const sock = process.argv[4];
    const srv = net.createServer((c) => {
        const up = net.connect(sock);
        c.pipe(up);
        up.pipe(c);
        const end = () => { c.destroy(); up.destroy(); };
        c.on('error', end);
        up.on('error', end);
        c.on('close', end);
        up.on('close', end);
    });
    srv.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
    // Ends with its parent's SIGKILL; also when the test process is gone.
    process.stdin.resume?.();
}
