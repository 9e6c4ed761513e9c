// make bench-fleet: what one front holds (issue 17). A front nginx rendered
// from the shipped deploy/scale-out/front.conf (tests/lib/front.mjs: stock
// nginx, no module) in front of two nodes (nginx with the module, one worker
// each, one fleet secret), loaded by our own load generator
// (build/bench/loadgen, tests/bench/loadgen.cpp) through the front and,
// for comparison, straight at a node in the same run:
//
//   1. idle proxied WebSocket connections (joined signaling connections)
//      one front worker holds, and its memory per connection; then two
//      front workers (full run only). The front holds two sockets per
//      connection (the caller's and the node's), so its descriptors
//      (worker_rlimit_nofile, up to the hard RLIMIT_NOFILE) bound the count.
//   2. call set-ups per second (the loadgen's storm: POST /api/rooms, two
//      WebSocket handshakes, two joins, an offer, an answer, two byes),
//      BENCH_STORM_CONCURRENCY (100) in flight, and the CPU each process
//      spends per set-up.
//   3. relayed messages at a fixed rate (BENCH_FLEET_RATE, 10,000/s over 8
//      pairs): CPU per message of the front's worker and of the nodes,
//      latency, loss.
//
// The front's worker is pinned to BENCH_SERVER_CPU (0), the load generator
// to BENCH_CLIENT_CPU (1); the nodes float over both cores, except for the
// runs straight at a node, whose worker is then pinned to the front's core
// (the front is idle meanwhile), as `make bench` pins its worker. Speed runs
// alternate through the front and straight at a node, BENCH_REPEATS times
// (5; 1 with BENCH_QUICK=1); the table gives medians. Prints a Markdown
// table (BENCH_OUT: also into a file).
//
//   BENCH_QUICK=1     a short run (about a minute): one repetition, 3 s
//                     windows, no two-worker idle run
//   BENCH_REPEATS=5   repetitions of the speed runs
//   BENCH_FLEET_PARTS=idle1,speed,idle2   which parts run
//   BENCH_FLEET_RATE=10000                relay rate (8 pairs)
//   BENCH_STORM_CONCURRENCY=100           set-ups in flight
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startNginx, sleep, TOP, tempDir, writeSecret, workerPids } from '../lib/nginx.mjs';
import { startFront } from '../lib/front.mjs';
import {
    NOFILE, cpuModel, fmt, hardNofile, holdAll, nproc, phaseRunner, pinnedOn, sumStatus,
} from './bench_lib.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const LOADGEN = path.join(TOP, 'build/bench/loadgen');
const FRONT_CPU = Number(process.env.BENCH_SERVER_CPU ?? 0);
const CLIENT_CPU = Number(process.env.BENCH_CLIENT_CPU ?? 1);
const pinned = pinnedOn(CLIENT_CPU);
const STORM_C = Number(process.env.BENCH_STORM_CONCURRENCY ?? 100);
const RATE = Number(process.env.BENCH_FLEET_RATE ?? 10000);
const PAIRS = 8;
const REPEATS = Number(process.env.BENCH_REPEATS ?? (QUICK ? 1 : 5));
const STORM_SECONDS = QUICK ? 3 : 5;
const RELAY_SECONDS = QUICK ? 3 : 5;
const WARMUP = QUICK ? 0.5 : 1;
// One loadgen process holds at most this many connections (its own
// descriptors are capped by the hard limit too); more are spread over
// several, each from an address of its own (127.0.0.2, .3, ...).
const PER_LOADGEN = 18000;
const IDLE_CONCURRENCY = 100;
// which parts run: idle1 (one front worker), speed (set-ups, relay), idle2
// (two front workers; not with BENCH_QUICK)
const PARTS = new Set((process.env.BENCH_FLEET_PARTS ?? (QUICK ? 'idle1,speed' : 'idle1,speed,idle2')).split(','));

if (!fs.existsSync(LOADGEN)) throw new Error(`${LOADGEN} is missing: run \`make bench-fleet\` (it builds it)`);

// above the descriptors, so that they, not worker_connections, are the bound
// (nginx also starts closing keep-alive connections at 15/16 of these)
const WORKER_CONNECTIONS = Math.ceil((NOFILE * 16) / 15) + 64;

// --- processes: memory, descriptors, affinity ------------------------------------

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;
const nofileOf = (pid) => Number(/Max open files\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1]);

function affinity(pid, cpus) {
    execFileSync('taskset', ['-pc', cpus, String(pid)], { stdio: 'ignore' });
}
const ALL_CPUS = `0-${Number(execFileSync('nproc', ['--all']).toString().trim()) - 1}`;

// Established TCP connections from the front to the nodes (the front's own
// sockets: their peer port is a node's): what the front really holds open
// upstream, proxied WebSockets plus its few idle keep-alive ones.
function upstreamSockets(nodes) {
    const filter = nodes.map((n) => `dport = :${n.port}`).join(' or ');
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( ${filter} )`]).toString();
    return out.split('\n').filter((l) => l.trim()).length;
}

const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// --- the fleet ---------------------------------------------------------------------

// Two nodes with one fleet secret (one worker each, floating), and a front
// with frontWorkers workers (one: pinned to the front's core; two: not
// pinned, one listening socket each with reuseport so the kernel spreads
// the callers over both).
async function startFleet(frontWorkers) {
    const dir = await tempDir('webcall-fleet-bench-');
    const secretFile = await writeSecret(dir, 'fleet-secret');
    const nodes = [];
    for (let i = 0; i < 2; i++) {
        nodes.push(await startNginx({
            workers: 1,
            secretFile,
            // the front's address is every caller's here: no per-client limits
            rateLimit: false,
            // a storm creates thousands of rooms a second; rooms outlive calls
            zoneArgs: 'webcall:256m inbox=32m',
            extraMain: `worker_rlimit_nofile ${NOFILE};`,
            workerConnections: WORKER_CONNECTIONS,
            wsLocation: 'webcall_signal_rate 100000 64m;',
        }));
    }
    const pin = frontWorkers === 1 ? `\nworker_cpu_affinity 1${'0'.repeat(FRONT_CPU)};` : '';
    const front = await startFront(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), {
        workers: frontWorkers,
        workerConnections: WORKER_CONNECTIONS,
        extraMain: `worker_rlimit_nofile ${NOFILE};${pin}`,
        listenOptions: frontWorkers > 1 ? 'reuseport' : '',
    });
    const fleet = {
        dir, nodes, front,
        frontPids: await workerPids(front.child.pid),
        nodePids: (await Promise.all(nodes.map((n) => n.workerPids()))).flat(),
    };
    if (fleet.frontPids.length !== frontWorkers) throw new Error(`the front has workers ${fleet.frontPids}`);
    return fleet;
}

// Stops the fleet; what its error logs say becomes notes (the front's
// descriptor errors at its limit are expected in the idle runs), not a throw.
async function stopFleet(fleet, notes, label) {
    const summarize = (who, log) => {
        const lines = log.split('\n').filter((l) => /\[(warn|error|crit|alert|emerg)\]/.test(l) &&
            !/TURN|exceed open file resource limit/.test(l));
        const norm = lines.map((l) => l.replace(/^\S+ \S+ /, '').replace(/\d+#\d+: (\*\d+ )?/, '')
            .replace(/, client: .*$/, '').replace(/:\d{4,5}\b/g, ':PORT'));
        const distinct = [...new Set(norm)];
        for (const w of distinct.slice(0, 4)) {
            notes.push(`${label}: ${who}'s error log: \`${w.slice(0, 240)}\` (${norm.filter((x) => x === w).length}x)`);
        }
        if (distinct.length > 4) notes.push(`${label}: ${who}'s error log: ${distinct.length - 4} more kinds of line`);
    };
    summarize('the front', fleet.front.errorLog());
    try { await fleet.front.stop(); } catch { /* summarized above */ }
    for (const [i, n] of fleet.nodes.entries()) {
        summarize(`node ${i + 1}`, n.errorLog());
        try { await n.stop(); } catch { /* summarized above */ }
    }
    fs.rmSync(fleet.dir, { recursive: true, force: true });
}

// --- measurements ---------------------------------------------------------------------

// Joined idle connections through the front: as many as asked (rooms of
// two), over enough loadgen processes; the front's and the nodes' memory
// growth per connection, and the front workers' descriptors meanwhile.
async function idle(fleet, total) {
    const { front, frontPids, nodePids } = fleet;
    await sleep(500);
    const before = sumStatus(frontPids), nodesBefore = sumStatus(nodePids);
    const n = Math.ceil(total / PER_LOADGEN);
    const totalRooms = Math.floor(total / 2);
    const runs = [];
    for (let i = 0; i < n; i++) {
        const rooms = Math.floor(totalRooms / n) + (i < totalRooms % n ? 1 : 0);
        const args = ['--mode', 'idle', '--port', front.port, '--conns', rooms * 2,
            '--concurrency', IDLE_CONCURRENCY, '--timeout', 10, '--stall', 10];
        if (n > 1) args.push('--source-base', 2 + i);
        runs.push(pinned(LOADGEN, args, { hold: true }));
    }
    const held = await holdAll(runs);
    await sleep(1000);
    const after = sumStatus(frontPids), nodesAfter = sumStatus(nodePids);
    const fds = frontPids.map(fdCount);
    const limits = frontPids.map(nofileOf);
    const upstream = upstreamSockets(fleet.nodes);
    const nodeFds = nodePids.map(fdCount);
    for (const h of held) await h.release();
    const conns = held.reduce((s, h) => s + h.result.connections, 0);
    return {
        asked: total, conns, fds, limits, nodeFds, upstream,
        failures: held.reduce((s, h) => s + h.result.failures, 0),
        firstError: held.map((h) => h.result.first_error).find(Boolean) ?? '',
        stopped: held.map((h) => h.result.stopped),
        seconds: Math.max(...held.map((h) => h.result.seconds)),
        frontPerConn: ((after.rss - before.rss) * 1024) / Math.max(1, conns),
        frontAnonPerConn: ((after.anon - before.anon) * 1024) / Math.max(1, conns),
        frontRssMiB: after.rss / 1024,
        nodePerConn: ((nodesAfter.rss - nodesBefore.rss) * 1024) / Math.max(1, conns),
    };
}

// CPU of each watched process over a loadgen window: time on CPU from
// schedstat (ns precision), falling back to utime+stime.
const cpuUs = (r, i) => (r.server_sched_us?.[i] >= 0 ? r.server_sched_us[i] : r.server_cpu_us[i]);

// watch: [front workers..., node workers...] (front may be empty)
function split(r, nFront, count, seconds) {
    const n = r.server_cpu_us.length;
    let front = 0, nodes = 0;
    for (let i = 0; i < n; i++) (i < nFront ? (front += cpuUs(r, i)) : (nodes += cpuUs(r, i)));
    return {
        frontUs: nFront ? front / Math.max(1, count) : undefined,
        nodesUs: nodes / Math.max(1, count),
        frontBusy: nFront ? front / (seconds * 1e6) : undefined,
        nodesBusy: nodes / (seconds * 1e6),
        clientBusy: r.client_cpu_us / (seconds * 1e6),
    };
}

async function storm(port, frontPids, nodePids) {
    const r = await pinned(LOADGEN, ['--mode', 'storm', '--port', port, '--seconds', STORM_SECONDS,
        '--concurrency', STORM_C, '--watch', [...frontPids, ...nodePids].join(',')]);
    return { ...r, ...split(r, frontPids.length, r.setups, r.seconds) };
}

async function relay(port, frontPids, nodePids) {
    const r = await pinned(LOADGEN, ['--mode', 'relay', '--port', port, '--pairs', PAIRS, '--rate', RATE,
        '--seconds', RELAY_SECONDS, '--warmup', WARMUP, '--watch', [...frontPids, ...nodePids].join(',')]);
    if (!r.phases.length) throw new Error(`relay at ${RATE}/s: no phase ran (${r.first_error})`);
    const p = r.phases[0];
    return { ...p, failures: r.failures, firstError: r.first_error, ...split(p, frontPids.length, p.arrived, p.seconds) };
}

// --- the run ------------------------------------------------------------------------------

// an error's text for a table note: one line, the HTML of nginx's error pages cut
const oneLine = (t) => t.replace(/<html>[\s\S]*$/, '').replace(/\s+/g, ' ').trim().slice(0, 200);
const median = (xs) => {
    const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
    if (!v.length) return undefined;
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const med = (runs, k) => median(runs.map((r) => r?.[k]));

const notes = [];
const loads = [`start ${loadavg()}`];
const R = { storms: { front: [], direct: [] }, relays: { front: [], direct: [] } };
const phase = phaseRunner('fleet.bench', notes);

// An idle run on a fresh fleet; once more on another if a loadgen dies
// (a crash of its own, not a measurement: noted).
async function idleRun(frontWorkers, total, label) {
    for (let attempt = 1; attempt <= 2; attempt++) {
        const fleet = await startFleet(frontWorkers);
        let r, crashed;
        try {
            r = await idle(fleet, total);
        } catch (e) {
            crashed = e;
        } finally {
            await stopFleet(fleet, notes, label);
        }
        if (r) return r;
        notes.push(`${label} (attempt ${attempt}) failed: ${oneLine(crashed.message)}`);
        console.error(`fleet.bench: ${label} failed:`, crashed);
    }
    return undefined;
}

// 1. idle, one front worker: ask for as many connections as its
// descriptors could hold with nothing else open (two per connection), so
// the run ends at the front's limit
if (PARTS.has('idle1')) {
    R.idle1 = await idleRun(1, Math.floor(NOFILE / 2), 'idle, one front worker');
    console.error('idle, one front worker:', JSON.stringify(R.idle1));
}
loads.push(`after idle ${loadavg()}`);

// 2, 3. set-ups and relay, alternating through the front and straight at
// node 1 (pinned to the front's core meanwhile)
if (PARTS.has('speed')) {
    const fleet = await startFleet(1);
    const { front, frontPids, nodePids, nodes } = fleet;
    const direct = async (fn) => {
        affinity(nodePids[0], String(FRONT_CPU));
        try { return await fn(); } finally { affinity(nodePids[0], ALL_CPUS); }
    };
    try {
        for (let i = 0; i < REPEATS; i++) {
            const sf = await phase(`storm through the front #${i + 1}`, () => storm(front.port, frontPids, nodePids));
            console.error(`storm, front #${i + 1}:`, JSON.stringify(sf));
            const sd = await phase(`storm straight at a node #${i + 1}`,
                () => direct(() => storm(nodes[0].port, [], [nodePids[0]])));
            console.error(`storm, direct #${i + 1}:`, JSON.stringify(sd));
            const rf = await phase(`relay through the front #${i + 1}`, () => relay(front.port, frontPids, nodePids));
            console.error(`relay, front #${i + 1}:`, JSON.stringify(rf));
            const rd = await phase(`relay straight at a node #${i + 1}`,
                () => direct(() => relay(nodes[0].port, [], [nodePids[0]])));
            console.error(`relay, direct #${i + 1}:`, JSON.stringify(rd));
            R.storms.front.push(sf); R.storms.direct.push(sd);
            R.relays.front.push(rf); R.relays.direct.push(rd);
            loads.push(`after round ${i + 1} ${loadavg()}`);
        }
        R.frontRssAfterSpeed = sumStatus(frontPids).rss / 1024;
    } finally {
        await stopFleet(fleet, notes, 'set-ups and relay');
    }
}

// 1b. idle, two front workers (not pinned): twice the descriptors
if (PARTS.has('idle2')) {
    R.idle2 = await idleRun(2, NOFILE, 'idle, two front workers');
    console.error('idle, two front workers:', JSON.stringify(R.idle2));
    loads.push(`after the two-worker idle run ${loadavg()}`);
}

// --- the table ------------------------------------------------------------------------------

const kib = (b) => `${fmt(b / 1024, 2)} KiB`;
const sf = R.storms.front, sd = R.storms.direct, rf = R.relays.front, rd = R.relays.direct;
const n = (xs) => xs.filter(Boolean).length;
const stormCell = (xs) => (n(xs) ? `${fmt(med(xs, 'setups_per_s'))}/s (p50 ${fmt(med(xs, 'setup_p50_ms'), 1)} ms, ` +
    `p99 ${fmt(med(xs, 'setup_p99_ms'), 1)} ms; ${xs.filter(Boolean).reduce((s, r) => s + r.failures, 0)} failed)` : 'n/a');
const relayCell = (xs) => (n(xs) ? `${fmt(med(xs, 'achieved'))}/s; lost ${xs.filter(Boolean).reduce((s, r) => s + r.lost, 0)}, ` +
    `reordered ${xs.filter(Boolean).reduce((s, r) => s + r.reordered, 0)}` : 'n/a');
const latCell = (xs) => (n(xs) ? `${fmt(med(xs, 'p99_us'))} µs (p50 ${fmt(med(xs, 'p50_us'))} µs)` : 'n/a');
const idleCell = (r) => (r ? `${fmt(r.conns)} (asked ${fmt(r.asked)}; stopped: ${[...new Set(r.stopped)].join(', ')}; ` +
    `front worker descriptors ${r.fds.map((x) => fmt(x)).join(' + ')} of ${r.limits.map((x) => fmt(x)).join(' + ')}; ` +
    `${fmt(r.upstream)} sockets open from the front to the nodes)` : 'n/a');
const frontCeiling = med(sf, 'frontUs') ? 1e6 / med(sf, 'frontUs') : undefined;
const frontRelayCeiling = med(rf, 'frontUs') ? 1e6 / med(rf, 'frontUs') : undefined;
const ratio = (a, b) => (a !== undefined && b ? `${fmt(a / b, 2)}x` : 'n/a');

const rows = [
    ['idle proxied WebSocket connections, one front worker', idleCell(R.idle1), '—'],
    ['front worker memory per proxied connection (VmRSS growth)',
        R.idle1 ? `${kib(R.idle1.frontPerConn)} (anon ${kib(R.idle1.frontAnonPerConn)}; worker at ${fmt(R.idle1.frontRssMiB, 1)} MiB)` : 'n/a',
        R.idle1 ? `${kib(R.idle1.nodePerConn)} (the nodes' workers, same connections)` : 'n/a'],
    ['idle proxied WebSocket connections, two front workers', PARTS.has('idle2') ? idleCell(R.idle2) : 'not run',
        R.idle2 ? `${kib(R.idle2.frontPerConn)} each at the front` : '—'],
    [`call set-ups per second, ${STORM_C} in flight`, stormCell(sf), stormCell(sd)],
    ['front worker CPU per set-up (its busy share of the window)',
        n(sf) ? `${fmt(med(sf, 'frontUs'), 1)} µs (${fmt(med(sf, 'frontBusy') * 100)}% busy): one front core ≈ ${fmt(frontCeiling)}/s` : 'n/a', '—'],
    ['node workers\' CPU per set-up (busy, both nodes together)',
        n(sf) ? `${fmt(med(sf, 'nodesUs'), 1)} µs (${fmt(med(sf, 'nodesBusy') * 100)}%)` : 'n/a',
        n(sd) ? `${fmt(med(sd, 'nodesUs'), 1)} µs (${fmt(med(sd, 'nodesBusy') * 100)}%)` : 'n/a'],
    ['load generator core busy during the storm',
        n(sf) ? `${fmt(med(sf, 'clientBusy') * 100)}%` : 'n/a', n(sd) ? `${fmt(med(sd, 'clientBusy') * 100)}%` : 'n/a'],
    [`relay at ${fmt(RATE)}/s over ${PAIRS} pairs: achieved, loss`, relayCell(rf), relayCell(rd)],
    ['front worker CPU per relayed message',
        n(rf) ? `${fmt(med(rf, 'frontUs'), 2)} µs (${fmt(med(rf, 'frontBusy') * 100)}% busy): one front core ≈ ${fmt(frontRelayCeiling)} msg/s` : 'n/a', '—'],
    ['node workers\' CPU per relayed message',
        n(rf) ? `${fmt(med(rf, 'nodesUs'), 2)} µs` : 'n/a', n(rd) ? `${fmt(med(rd, 'nodesUs'), 2)} µs` : 'n/a'],
    ['relay latency p99 (p50)', latCell(rf), latCell(rd)],
];

const perRun = [
    '',
    'Each repetition (through the front / straight at a node):',
    '',
    '| # | set-ups/s | front µs/set-up | nodes µs/set-up | relay p99 µs | front µs/msg | nodes µs/msg |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...sf.map((_, i) => `| ${i + 1} | ${fmt(sf[i]?.setups_per_s)} / ${fmt(sd[i]?.setups_per_s)} | ` +
        `${fmt(sf[i]?.frontUs, 1)} | ${fmt(sf[i]?.nodesUs, 1)} / ${fmt(sd[i]?.nodesUs, 1)} | ` +
        `${fmt(rf[i]?.p99_us)} / ${fmt(rd[i]?.p99_us)} | ${fmt(rf[i]?.frontUs, 2)} | ` +
        `${fmt(rf[i]?.nodesUs, 2)} / ${fmt(rd[i]?.nodesUs, 2)} |`),
];

for (const [k, xs] of [['storm through the front', sf], ['storm straight at a node', sd],
    ['relay through the front', rf], ['relay straight at a node', rd]]) {
    const err = xs.map((r) => r?.first_error || r?.firstError).find(Boolean);
    if (err) notes.push(`${k}: first error: ${oneLine(err)}`);
}
for (const [k, r] of [['one front worker', R.idle1], ['two front workers', R.idle2]]) {
    if (!r) continue;
    notes.push(`idle, ${k}: ${fmt(r.seconds, 1)} s to set up; node workers' descriptors ${r.nodeFds.map((x) => fmt(x)).join(', ')}` +
        (r.failures ? `; ${r.failures} failed set-ups, first: ${oneLine(r.firstError)}` : ''));
}
if (n(sf)) notes.push(`storm through the front: ratio to straight at a node ${ratio(med(sf, 'setups_per_s'), med(sd, 'setups_per_s'))}; ` +
    `on ${nproc} cores the front, both nodes and the load generator share the machine, so the rate through the front ` +
    'is the machine\'s, and the front worker\'s CPU per set-up is what says what one front core holds');
if (R.frontRssAfterSpeed) notes.push(`front worker RSS after the speed runs: ${fmt(R.frontRssAfterSpeed, 1)} MiB`);
notes.push(`load average (1, 5, 15 min): ${loads.join('; ')}`);
if (hardNofile < 100000) {
    notes.push(`RLIMIT_NOFILE hard limit here: ${fmt(hardNofile)} (no CAP_SYS_RESOURCE to raise it); the front's ` +
        `worker_rlimit_nofile is set to it, worker_connections to ${fmt(WORKER_CONNECTIONS)}`);
}

const lines = [
    `## Fleet: one front (make bench-fleet${QUICK ? ', BENCH_QUICK=1' : ''})`,
    '',
    `${new Date().toISOString().slice(0, 10)}; ${nproc} cores, ${cpuModel}; front (stock nginx, deploy/scale-out/front.conf) ` +
    `with one worker pinned to CPU ${FRONT_CPU}, loadgen pinned to CPU ${CLIENT_CPU}, two nodes of one worker each ` +
    `floating (straight at a node: node 1 pinned to CPU ${FRONT_CPU}). Medians of ${REPEATS} alternating ` +
    `repetition(s); storm windows ${STORM_SECONDS} s, relay windows ${RELAY_SECONDS} s, 200-byte frames.`,
    '',
    '| figure | through the front | straight at a node |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r[0]} | ${r[1]} | ${r[2]} |`),
    ...perRun,
    ...(notes.length ? ['', 'Notes:', '', ...notes.map((x) => `- ${x}`)] : []),
];
console.log(lines.join('\n'));
if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, lines.join('\n') + '\n');
process.exit(0);
