// make bench-recovery: every recovery fault of tests/e2e/recovery_*.test.mjs,
// RECOVERY_RUNS times each (default 5) on one call of two per fault, in
// Debian's Chromium with the real client against nginx with the module (and
// coturn for the relay case). Prints a table of median and worst times and
// writes it as the "## Recovery" section of docs/benchmarks.md (replacing
// the previous one). Needs root (ss -K, ip netns, nft); a fault that cannot
// run here is listed as skipped.
//
//   RECOVERY_RUNS=5 node tests/bench/recovery.bench.mjs
//   RECOVERY_ONLY=reload,network node tests/bench/recovery.bench.mjs   (a subset)
//   RECOVERY_NO_DOCS=1 ...                                              (print only)
import fsp from 'node:fs/promises';
import { startNginx, tempDir, writeSecret, sleep } from '../lib/nginx.mjs';
import { canUseNetns, netPair } from '../lib/netns.mjs';
import { startCoturn } from '../e2e/turn_lib.mjs';
import { launch } from '../e2e/browser.mjs';
import {
    callOfTwo, killTcp, launchAt, median, networkFault, nginxSockets, relayFault,
    reloadFault, signalingFault,
} from '../e2e/recovery_lib.mjs';
import { writeDocSection } from './doc_section.mjs';

const RUNS = Number(process.env.RECOVERY_RUNS ?? 5);
const ONLY = process.env.RECOVERY_ONLY ? new Set(process.env.RECOVERY_ONLY.split(',')) : null;
const CUT_MS = 15000;
const root = process.getuid?.() === 0;

// One row per fault: what is timed, and the target it is held to.
const FAULTS = [
    { key: 'ws-cut', name: 'WebSocket cut by the server (`ss -K`), network up', what: 'longest video stall',
        target: 'no interruption (stall < 1 s)', limit: 1000, needs: root || 'needs root' },
    { key: 'nginx-reload', name: '`nginx -s reload` (close 1001)', what: 'longest video stall',
        target: 'no interruption (stall < 1 s)', limit: 1000 },
    { key: 'worker-kill', name: '`kill -9` of the worker holding a WebSocket', what: 'longest video stall',
        target: 'no interruption (stall < 1 s)', limit: 1000, needs: root || 'needs root' },
    { key: 'nginx-restart', name: 'full nginx restart (zone wiped, new seats)', what: 'longest video stall',
        target: 'comes back by itself (here: no interruption, stall < 1 s)', limit: 1000 },
    { key: 'reload', name: 'page reload by one participant', what: 'reload to first remote frame',
        target: '< 2 s', limit: 2000 },
    { key: 'network', name: `network cut of ${CUT_MS / 1000} s on one side (netns + nftables)`,
        what: 'network back to first remote frame', target: '< 3 s', limit: 3000, needs: canUseNetns() },
    { key: 'coturn', name: 'coturn restart during a relay-only call (`?relay=1`)',
        what: 'coturn back to first remote frame', target: 'comes back by itself', limit: null },
];

const close = async (call) => {
    for (const p of [call?.a, call?.b]) await p?.context.close().catch(() => undefined);
};

// Each returns the numbers of one run: the worst of the two sides.
async function runFault(key, env) {
    const { ngx } = env;
    const out = [];
    if (key === 'ws-cut' || key === 'nginx-reload' || key === 'worker-kill' || key === 'nginx-restart') {
        const call = await callOfTwo(env.browser, ngx.base);
        try {
            for (let i = 0; i < RUNS; i++) {
                const r = await signalingFault(call, async () => {
                    if (key === 'ws-cut') { await killTcp(ngx.port); return undefined; }
                    if (key === 'nginx-reload') { await ngx.reload(); return undefined; }
                    if (key === 'nginx-restart') { await ngx.restart(); return undefined; }
                    const socks = (await nginxSockets(ngx.port)).filter((s) => s.pid);
                    if (socks.length !== 2) throw new Error(`expected the two WebSockets only: ${JSON.stringify(socks)}`);
                    process.kill(socks[0].pid, 'SIGKILL');
                    return 'any';
                });
                if (r.after.pcs.join() !== r.pcsBefore.join()) throw new Error(`${key}: a connection was replaced`);
                out.push(Math.max(...r.stall));
                await sleep(1000);
            }
        } finally {
            await close(call);
        }
    } else if (key === 'reload') {
        const call = await callOfTwo(env.browser, ngx.base);
        try {
            for (let i = 0; i < RUNS; i++) {
                const r = await reloadFault(call);
                out.push(Math.max(...r.ms));
                await sleep(1000);
            }
        } finally {
            await close(call);
        }
    } else if (key === 'network') {
        const net = await netPair(ngx.port);
        const browsers = [];
        let call;
        try {
            browsers.push(await launchAt(net.chromium('a')), await launchAt(net.chromium('b')));
            call = await callOfTwo(browsers, ngx.base);
            for (let i = 0; i < RUNS; i++) {
                const side = i % 2 ? 'b' : 'a';
                const r = await networkFault(call, { cut: () => net.cut(side), heal: () => net.heal(side), cutMs: CUT_MS });
                if (Math.min(...r.gap) < CUT_MS - 5000) throw new Error(`network: the cut did not stop the media (${r.gap})`);
                out.push(Math.max(...r.ms));
                await sleep(2000);
            }
        } finally {
            await close(call);
            for (const b of browsers) await b.close().catch(() => undefined);
            await net.destroy();
        }
    } else if (key === 'coturn') {
        const dir = await tempDir('webcall-bench-turn-');
        const secretFile = await writeSecret(dir, 'secret');
        let turn = await startCoturn({ secretFile });
        const tngx = await startNginx({
            workers: 2, rateLimit: false, secretFile,
            extraHttp: `webcall_turn_secret_file ${secretFile};\n` +
                `webcall_turn_urls turn:127.0.0.1:${turn.port}?transport=udp turn:127.0.0.1:${turn.port}?transport=tcp;`,
        });
        let call;
        try {
            call = await callOfTwo(env.browser, tngx.base, { query: '?relay=1' });
            for (let i = 0; i < RUNS; i++) {
                const port = turn.port;
                const r = await relayFault(call, async () => {
                    await turn.stop();
                    turn = await startCoturn({ secretFile, port });
                });
                out.push(Math.max(...r.ms));
                await sleep(2000);
            }
        } finally {
            await close(call);
            await tngx.stop();
            await turn.stop();
            await fsp.rm(dir, { recursive: true, force: true });
        }
    }
    return out;
}

async function main() {
    const ngx = await startNginx({
        workers: 2, rateLimit: false,
        allowAlerts: [/exited on signal 9/, /recv\(\) failed \(103: Software caused connection abort\)/],
        // every established connection a WebSocket (recovery_server.test.mjs)
        extraServer: 'keepalive_timeout 0;',
    });
    const browser = await launch();
    const rows = [];
    try {
        for (const f of FAULTS) {
            if (ONLY && !ONLY.has(f.key)) continue;
            if (f.needs !== undefined && f.needs !== true) {
                rows.push({ ...f, skipped: f.needs });
                console.log(`${f.key}: skipped (${f.needs})`);
                continue;
            }
            const t = Date.now();
            try {
                const xs = await runFault(f.key, { ngx, browser });
                rows.push({ ...f, xs });
                console.log(`${f.key}: ${xs.join(', ')} ms (${Math.round((Date.now() - t) / 1000)} s)`);
            } catch (e) {
                rows.push({ ...f, error: String(e.message ?? e).split('\n')[0] });
                console.log(`${f.key}: FAILED ${e.stack ?? e}`);
            }
        }
    } finally {
        await browser.close();
        await ngx.stop();
    }

    const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms} ms`);
    const lines = [
        '| fault | measured | runs | median | worst | target | met |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const r of rows) {
        if (r.skipped || r.error) {
            lines.push(`| ${r.name} | ${r.what} | 0 | - | - | ${r.target} | ${r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.error}`} |`);
            continue;
        }
        const med = median(r.xs);
        const worst = Math.max(...r.xs);
        const met = r.limit === null ? 'yes (came back every time)' : worst < r.limit ? 'yes' : med < r.limit ? 'median only' : 'no';
        lines.push(`| ${r.name} | ${r.what} | ${r.xs.length} | ${fmt(med)} | ${fmt(worst)} | ${r.target} | ${met} |`);
    }
    const table = lines.join('\n');
    console.log(`\n${table}\n`);

    if (process.env.RECOVERY_NO_DOCS || ONLY) return;
    const section = `## Recovery

Command: \`make bench-recovery\` (tests/bench/recovery.bench.mjs, as root;
\`RECOVERY_RUNS\` runs per fault, here ${RUNS}), on ${new Date().toISOString().slice(0, 10)}.
Two Chromium pages (Debian's Chromium, fake camera and microphone) in a call
through nginx with the module (2 workers) on 127.0.0.1; each fault is
repeated on the same call. Times are the worst of the two sides per run,
measured with \`requestVideoFrameCallback\` on the remote video: from the end
of the fault (nginx or coturn back, the network back, the reload asked for)
to the first remote frame of the recovered call. For the faults that must
not interrupt the media, the number is instead the longest gap between two
rises of inbound \`framesDecoded\`, sampled every 200 ms (at 20 fps a steady
call shows about 200 ms). The network cut is a real one: each browser in its
own network namespace, every packet of one side dropped by nftables for
${CUT_MS / 1000} s (alternating sides), media stopped for the whole cut.

${table}

How: the WebSocket drop never touches a peer connection; the client
rejoins its seat with the resume secret (backoff with jitter). A connection
that goes quiet (no heartbeat on the service channel and no byte on the
transport for 2 s, or ICE disconnected for 2.5 s, or failed) is shown as
"Connection lost. Trying to reconnect…" and restarted by the impolite side
with fresh TURN credentials; when it comes back, each side sends a key frame
at once instead of letting the other's decoder wait about 3 s for one. A full
restart wipes the zone, so both sides get new seats; the connections are
kept and matched to the new ids by their pc ids (a hello on the signaling).
`;
    writeDocSection('Recovery', section);
}

await main();
process.exit(0);
