// make bench: signaling relay latency and throughput (same worker and across
// workers) and worker memory per idle joined connection, against the real
// nginx with the module. Prints a table; medians and ratios, since the
// machine is shared and noisy.
import fs from 'node:fs';
import { startNginx, freePort, sleep } from '../lib/nginx.mjs';
import { Peer, createRoom, ownerPid, vmRssKb } from '../lib/ws.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const FLOOD = Number(process.env.BENCH_FLOOD ?? 20000);
const IDLE = Number(process.env.BENCH_IDLE ?? 4000);

const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function pair(nginx, wantSplit) {
    for (let attempt = 0; attempt < 40; attempt++) {
        const { token } = await createRoom(nginx.base);
        const a = await Peer.open(nginx.port, token);
        const b = await Peer.open(nginx.port, token);
        const pa = await ownerPid(nginx.port, a.localPort);
        const pb = await ownerPid(nginx.port, b.localPort);
        if ((pa !== pb) === wantSplit) {
            a.send({ type: 'join' });
            const wa = await a.next('welcome');
            b.send({ type: 'join' });
            const wb = await b.next('welcome');
            await a.next('peer-joined');
            return { a, b, aid: wa.id, bid: wb.id };
        }
        a.ws.close();
        b.ws.close();
    }
    throw new Error('could not place two peers as wanted');
}

// One-way latency estimated as half of a relay round trip A -> B -> A.
async function latency(p) {
    const rtts = [];
    for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        p.a.send({ type: 'candidate', to: p.bid, candidate: { i } });
        const m = await p.b.next('candidate');
        p.b.send({ type: 'candidate', to: p.aid, candidate: m.candidate });
        await p.a.next('candidate');
        rtts.push(performance.now() - t0);
    }
    return { p50: pct(rtts, 0.5) / 2, p99: pct(rtts, 0.99) / 2 };
}

async function throughput(p) {
    let got = 0;
    const done = new Promise((resolve) => {
        p.b.ws.on('message', () => { if (++got === FLOOD) resolve(); });
    });
    const t0 = performance.now();
    for (let i = 0; i < FLOOD; i++) {
        p.a.ws.send(`{"type":"candidate","to":"${p.bid}","candidate":{"i":${i}}}`);
    }
    await done;
    return FLOOD / ((performance.now() - t0) / 1000);
}

async function idleMemory(nginx) {
    const pids = await nginx.workerPids();
    const rss = () => pids.reduce((sum, pid) => sum + vmRssKb(pid), 0);
    const before = rss();
    const peers = [];
    for (let i = 0; i < IDLE / 2; i++) {
        const { token } = await createRoom(nginx.base);
        for (let k = 0; k < 2; k++) {
            const p = await Peer.open(nginx.port, token);
            p.send({ type: 'join' });
            await p.next('welcome');
            peers.push(p);
        }
    }
    await sleep(1000);
    const after = rss();
    for (const p of peers) p.ws.terminate();
    return ((after - before) * 1024) / IDLE;
}

// A second listener with reuseport spreads connections over the workers;
// a generous rate limit, so the flood measures the relay, not the limiter.
const spreadPort = await freePort();
const nginx = await startNginx({
    workers: 2, rateLimit: false, zoneArgs: 'webcall:64m',
    extraServer: `listen 127.0.0.1:${spreadPort} reuseport;\n` +
                 'webcall_signal_rate 100000 64m;',
});
nginx.port = spreadPort;
nginx.base = `http://127.0.0.1:${spreadPort}`;
try {
    const rows = [];
    for (const split of [false, true]) {
        const p = await pair(nginx, split);
        const lat = await latency(p);
        const tput = await throughput(p);
        rows.push({ where: split ? 'across workers' : 'same worker', ...lat, tput });
        p.a.ws.close();
        p.b.ws.close();
    }
    const perConn = await idleMemory(nginx);

    const lines = [
        `| path | relay latency p50 | p99 | relayed messages/s (one sender) |`,
        `| --- | --- | --- | --- |`,
        ...rows.map((r) => `| ${r.where} | ${(r.p50 * 1000).toFixed(0)} µs | ${(r.p99 * 1000).toFixed(0)} µs | ${Math.round(r.tput)} |`),
        '',
        `Worker memory per idle joined connection (${IDLE} connections): ${Math.round(perConn)} bytes.`,
    ];
    console.log(lines.join('\n'));
    if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, lines.join('\n') + '\n');
} finally {
    await nginx.stop();
}
