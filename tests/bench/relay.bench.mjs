// make bench: the signaling relay's speed and memory (issue 16), measured
// with our own load generator (build/bench/loadgen, tests/bench/loadgen.cpp)
// against the real nginx with the module, and set against the machine's
// floor (build/bench/floor: one loopback write + read of 200 bytes).
//
// One worker pinned to one core (BENCH_SERVER_CPU, 0), the client pinned to
// another (BENCH_CLIENT_CPU, 1); then two workers. Prints a Markdown table
// of each figure next to the issue's target (BENCH_OUT: also into a file).
//
//   BENCH_QUICK=1      a short run (about 2 minutes)
//   BENCH_P99_MS=20    the p99 a step of the rising run may reach and still
//                      count as sustained
//   BENCH_IDLE=10000, BENCH_IDLE2=38000   idle connections for one / two workers
//   BENCH_STORM_CONCURRENCY=100           set-ups in flight in the storm
import fs from 'node:fs';
import path from 'node:path';
import { startNginx, freePort, sleep, TOP } from '../lib/nginx.mjs';
import {
    NOFILE, cpuModel, fmt, hardNofile, holdAll, nproc, phaseRunner, pinnedOn, sumStatus, yes,
} from './bench_lib.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const LOADGEN = path.join(TOP, 'build/bench/loadgen');
const FLOOR = path.join(TOP, 'build/bench/floor');
const SERVER_CPU = Number(process.env.BENCH_SERVER_CPU ?? 0);
const CLIENT_CPU = Number(process.env.BENCH_CLIENT_CPU ?? 1);
const pinned = pinnedOn(CLIENT_CPU);
const P99_BOUND_US = Number(process.env.BENCH_P99_MS ?? 20) * 1000;
const IDLE1 = Number(process.env.BENCH_IDLE ?? 10000);
// Two workers: 38,000 fit under a hard RLIMIT_NOFILE of 20,000 per worker
// (this machine's) with the HTTP connections that create the rooms.
const IDLE2 = Number(process.env.BENCH_IDLE2 ?? 38000);
const STORM_C = Number(process.env.BENCH_STORM_CONCURRENCY ?? 100);
const RELAY_SECONDS = QUICK ? 3 : 10;
const WARMUP = QUICK ? 0.5 : 1;
const STEP_SECONDS = QUICK ? 1.5 : 3;
const STORM_SECONDS = QUICK ? 3 : 10;
const FLOOR_ITERATIONS = QUICK ? 50000 : 200000;
// One loadgen process holds at most this many connections: its descriptors
// are capped by the hard RLIMIT_NOFILE (raising it needs CAP_SYS_RESOURCE),
// so the two-worker idle run is spread over several processes, each from an
// address of its own (127.0.0.2, .3, ...: each has its own ephemeral ports).
const PER_LOADGEN = 18000;

for (const f of [LOADGEN, FLOOR]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run \`make bench\` (it builds it)`);
}

// --- the server's processes -----------------------------------------------------------

// The shipped configuration minus what would throttle or cap a benchmark:
// no per-client limits (rateLimit: false), a per-connection signaling rate
// far above what the run sends, a zone for hundreds of thousands of rooms
// (a storm creates thousands a second, and rooms outlive their calls), and
// as many connections per worker as its descriptors allow (the hard limit
// here, since raising it needs CAP_SYS_RESOURCE).
async function startBenchNginx(workers, extraServer = '') {
    const affinity = workers === 1 ? `\nworker_cpu_affinity 1${'0'.repeat(SERVER_CPU)};` : '';
    return startNginx({
        workers,
        rateLimit: false,
        zoneArgs: 'webcall:256m inbox=32m',
        extraMain: `worker_rlimit_nofile ${NOFILE};${affinity}`,
        // above the descriptors: nginx starts closing idle keep-alive
        // connections once 15/16 of worker_connections are in use, which
        // would cap the idle run below what the descriptors allow
        workerConnections: Math.ceil((NOFILE * 16) / 15) + 64,
        wsLocation: 'webcall_signal_rate 100000 64m;',
        extraServer,
    });
}

// Stops nginx; a bad error log (crash, alert) becomes a note, not a throw,
// so the figures already measured are still printed.
async function stopNginx(ngx, notes, label) {
    // the module's own warnings (a message dropped between workers, a
    // connection closed for reading too slowly), TURN's and the descriptor
    // limit's (worker_connections is set above it on purpose) aside
    const warns = ngx.errorLog().split('\n')
        .filter((l) => /\[(warn|error)\]/.test(l) && !/TURN|exceed open file resource limit/.test(l))
        .map((l) => l.replace(/^\S+ \S+ /, '').replace(/\d+#\d+: (\*\d+ )?/, '').replace(/, client: .*$/, ''));
    const distinct = [...new Set(warns)];
    for (const w of distinct.slice(0, 5)) {
        notes.push(`${label}: nginx's error log: \`${w.slice(0, 300)}\`` +
            ` (${warns.filter((x) => x === w).length}x)`);
    }
    try {
        await ngx.stop();
    } catch (e) {
        const lines = e.message.split('\n');
        notes.push(`${label}: nginx's error log has ${lines.length - 1} bad line(s), e.g. ` +
            `\`${(lines[1] ?? lines[0]).slice(0, 240)}\``);
    }
}

// --- measurements -------------------------------------------------------------------

// Worker memory per idle joined connection: RSS before and while the
// loadgens hold `total` joined connections (spread over enough processes).
async function idleMemory(ngx, port, total, pids) {
    await sleep(500);
    const before = sumStatus(pids);
    const n = Math.ceil(total / PER_LOADGEN);
    const totalRooms = Math.floor(total / 2);     // rooms of two
    const runs = [];
    for (let i = 0; i < n; i++) {
        const rooms = Math.floor(totalRooms / n) + (i < totalRooms % n ? 1 : 0);
        const conns = rooms * 2;
        const args = ['--mode', 'idle', '--port', port, '--conns', conns, '--concurrency', n > 1 ? 100 : 200,
            '--timeout', 10, '--stall', 10];
        // several processes: each from its own address (one has ~28k ports)
        if (n > 1) args.push('--source-base', 2 + i);
        runs.push(pinned(LOADGEN, args, { hold: true }));
    }
    const held = await holdAll(runs);
    await sleep(1000);
    const after = sumStatus(pids);
    const fds = pids.map((pid) => fs.readdirSync(`/proc/${pid}/fd`).length);
    for (const h of held) await h.release();
    const conns = held.reduce((s, h) => s + h.result.connections, 0);
    const failures = held.reduce((s, h) => s + h.result.failures, 0);
    const firstError = held.map((h) => h.result.first_error).find(Boolean) ?? '';
    const stopped = held.map((h) => h.result.stopped).filter((s) => s !== 'done');
    return {
        conns, failures, firstError, asked: total, stopped, fds,
        seconds: Math.max(...held.map((h) => h.result.seconds)),
        bytesPerConn: ((after.rss - before.rss) * 1024) / Math.max(1, conns),
        anonPerConn: ((after.anon - before.anon) * 1024) / Math.max(1, conns),
        shmemPerConn: ((after.shmem - before.shmem) * 1024) / Math.max(1, conns),
    };
}

// Adds CPU per relayed message (the workers' utime+stime over the window,
// from /proc/PID/stat, divided by the messages relayed in it) to a phase.
function withCpu(phase, floorUs) {
    const serverUs = phase.server_cpu_us.reduce((a, b) => a + b, 0);
    const cpuPerMsg = serverUs / Math.max(1, phase.arrived);
    return { ...phase, cpuPerMsg, floorRatio: cpuPerMsg / floorUs,
        clientShare: phase.client_cpu_us / (phase.seconds * 1e6) };
}

async function relay(port, pids, rate, floorUs, pairs = 8) {
    const r = await pinned(LOADGEN, ['--mode', 'relay', '--port', port, '--pairs', pairs, '--rate', rate,
        '--seconds', RELAY_SECONDS, '--warmup', WARMUP, '--watch', pids.join(',')]);
    if (!r.phases.length) throw new Error(`relay at ${rate}/s: no phase ran (${r.first_error})`);
    return { ...withCpu(r.phases[0], floorUs), failures: r.failures, firstError: r.first_error };
}

const sustained = (p) => p.lost === 0 && p.reordered === 0 && p.achieved >= 0.98 * p.rate &&
    p.p99_us <= P99_BOUND_US;

async function rising(port, pids, floorUs, pairs) {
    const r = await pinned(LOADGEN, ['--mode', 'rising', '--port', port, '--pairs', pairs,
        '--step-seconds', STEP_SECONDS, '--warmup', WARMUP / 2, '--watch', pids.join(',')]);
    const steps = r.phases.map((p) => withCpu(p, floorUs));
    let max = 0;
    for (const p of steps) if (sustained(p)) max = Math.max(max, p.achieved);
    return { steps, max, failures: r.failures, firstError: r.first_error };
}

async function storm(port, pids) {
    return pinned(LOADGEN, ['--mode', 'storm', '--port', port, '--seconds', STORM_SECONDS,
        '--concurrency', STORM_C, '--watch', pids.join(',')]);
}

// --- the run --------------------------------------------------------------------------

const notes = [];
const R = {};
const phase = phaseRunner('relay.bench', notes);

R.floor = await pinned(FLOOR, ['--iterations', FLOOR_ITERATIONS]);
const floorUs = R.floor.cpu_us_per_pair;
console.error(`floor: ${floorUs.toFixed(2)} µs CPU per 200-byte write + read`);

// one worker, pinned
{
    const ngx = await startBenchNginx(1);
    try {
        let [pid] = await ngx.workerPids();
        R.idle1 = await phase('idle, one worker', () => idleMemory(ngx, ngx.port, IDLE1, [pid]));
        console.error('idle, one worker:', JSON.stringify(R.idle1));
        // the idle seats wait out their grace period: start clean
        await ngx.restart();
        [pid] = await ngx.workerPids();
        R.r10 = await phase('relay 10,000/s', () => relay(ngx.port, [pid], 10000, floorUs));
        console.error('relay 10k:', JSON.stringify({ ...R.r10 }));
        R.r40 = await phase('relay 40,000/s', () => relay(ngx.port, [pid], 40000, floorUs));
        console.error('relay 40k:', JSON.stringify({ ...R.r40 }));
        // Spread over many pairs, a connection gets one frame per wake-up:
        // nothing to write together, the cost of a message alone.
        R.r10s = await phase('relay 10,000/s, 500 pairs', () => relay(ngx.port, [pid], 10000, floorUs, 500));
        console.error('relay 10k, 500 pairs:', JSON.stringify({ ...R.r10s }));
        R.r40s = await phase('relay 40,000/s, 1000 pairs', () => relay(ngx.port, [pid], 40000, floorUs, 1000));
        console.error('relay 40k, 1000 pairs:', JSON.stringify({ ...R.r40s }));
        R.rise1 = await phase('rising, one worker', () => rising(ngx.port, [pid], floorUs, 8));
        console.error('rising, one worker: max', R.rise1?.max);
        R.storm = await phase('storm', () => storm(ngx.port, [pid]));
        console.error('storm:', JSON.stringify(R.storm));
    } finally {
        await stopNginx(ngx, notes, 'one worker');
    }
}

// two workers: a second listener with reuseport spreads the connections
// over both (the kernel hashes each connection to one worker's socket)
{
    const spread = await freePort();
    const ngx = await startBenchNginx(2, `listen 127.0.0.1:${spread} reuseport;`);
    try {
        let pids = await ngx.workerPids();
        R.idle2 = await phase('idle, two workers', () => idleMemory(ngx, spread, IDLE2, pids));
        console.error('idle, two workers:', JSON.stringify(R.idle2));
        await ngx.restart();
        pids = await ngx.workerPids();
        R.rise2 = await phase('rising, two workers', () => rising(spread, pids, floorUs, 16));
        console.error('rising, two workers: max', R.rise2?.max);
    } finally {
        await stopNginx(ngx, notes, 'two workers');
    }
}

// --- the table --------------------------------------------------------------------------

const kib = (b) => `${fmt(b / 1024, 2)} KiB`;
const cpuCell = (r) => (r ? `${fmt(r.cpuPerMsg, 2)} µs (${fmt(r.floorRatio, 2)}x floor)` : 'n/a');
const lossCell = (r) => (r ? `lost ${r.lost}, reordered ${r.reordered} of ${fmt(r.sent)}` : 'n/a');
const latCell = (r) => (r ? `${fmt(r.p99_us)} µs (p50 ${fmt(r.p50_us)} µs, max ${fmt(r.max_us)} µs)` : 'n/a');
const ratio2 = R.rise1?.max > 0 && R.rise2 ? R.rise2.max / R.rise1.max : undefined;

const rows = [
    ['memory per idle joined connection (one worker, VmRSS)',
        R.idle1 ? `${kib(R.idle1.bytesPerConn)} (${fmt(R.idle1.conns)} connections; anon ${kib(R.idle1.anonPerConn)}, shared zone ${kib(R.idle1.shmemPerConn)})` : 'n/a',
        '≤ 4 KiB', R.idle1 && yes(R.idle1.bytesPerConn <= 4096)],
    ['CPU per relayed message at 40,000/s', cpuCell(R.r40), '≤ 1.5x floor', R.r40 && yes(R.r40.floorRatio <= 1.5)],
    ['CPU per relayed message at 10,000/s', cpuCell(R.r10), '≤ 2x floor', R.r10 && yes(R.r10.floorRatio <= 2)],
    ['the same at 40,000/s over 1000 pairs (one frame per wake-up)', cpuCell(R.r40s), '≤ 1.5x floor', R.r40s && yes(R.r40s.floorRatio <= 1.5)],
    ['the same at 10,000/s over 500 pairs (one frame per wake-up)', cpuCell(R.r10s), '≤ 2x floor', R.r10s && yes(R.r10s.floorRatio <= 2)],
    ['relay p99 at 40,000/s over 1000 pairs', latCell(R.r40s), '≤ 1 ms', R.r40s && yes(R.r40s.p99_us <= 1000)],
    ['loss and order at 40,000/s', lossCell(R.r40), 'none', R.r40 && yes(R.r40.lost === 0 && R.r40.reordered === 0)],
    ['loss and order at 10,000/s', lossCell(R.r10), 'none', R.r10 && yes(R.r10.lost === 0 && R.r10.reordered === 0)],
    ['relay p99 at 40,000/s', latCell(R.r40), '≤ 1 ms', R.r40 && yes(R.r40.p99_us <= 1000)],
    ['relay p99 at 10,000/s', latCell(R.r10), '< 1 ms', R.r10 && yes(R.r10.p99_us < 1000)],
    ['max sustained relay rate, one worker on one core', R.rise1 ? `${fmt(R.rise1.max)} msg/s` : 'n/a',
        '≥ 100,000 msg/s', R.rise1 && yes(R.rise1.max >= 100000)],
    ['full call set-ups per second', R.storm ? `${fmt(R.storm.setups_per_s)}/s (p50 ${fmt(R.storm.setup_p50_ms, 1)} ms, ` +
        `p99 ${fmt(R.storm.setup_p99_ms, 1)} ms, ${R.storm.failures} failed)` : 'n/a',
        '≥ 5,000/s', R.storm && yes(R.storm.setups_per_s >= 5000)],
    ['idle joined connections held by two workers', R.idle2 ? `${fmt(R.idle2.conns)} of ${fmt(R.idle2.asked)} asked` +
        ` (${kib(R.idle2.bytesPerConn)} each)` : 'n/a', '≥ 36,000', R.idle2 && yes(R.idle2.conns >= 36000)],
    ['two workers relaying vs one', R.rise2 ? `${fmt(R.rise2.max)} msg/s (${ratio2 === undefined ? 'n/a' : `${fmt(ratio2, 2)}x`})` : 'n/a',
        '≥ 1.7x', ratio2 === undefined ? undefined : yes(ratio2 >= 1.7)],
];

const stepTable = (title, rise) => (rise ? [
    '',
    `${title} (steps of ${STEP_SECONDS} s; sustained: no loss or reordering, ≥ 98% of the asked rate, p99 ≤ ${P99_BOUND_US / 1000} ms):`,
    '',
    '| asked msg/s | achieved | lost | reordered | p50 µs | p99 µs | server CPU µs/msg | client core busy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rise.steps.map((p) => `| ${fmt(p.rate)} | ${fmt(p.achieved)}${sustained(p) ? '' : ' ✗'} | ${p.lost} | ${p.reordered} | ` +
        `${fmt(p.p50_us)} | ${fmt(p.p99_us)} | ${fmt(p.cpuPerMsg, 2)} | ${fmt(p.clientShare * 100)}% |`),
] : []);

if (R.storm) {
    const serverUs = R.storm.server_cpu_us.reduce((a, b) => a + b, 0);
    notes.push(`storm: ${STORM_C} set-ups in flight; the worker was busy ${fmt(serverUs / (R.storm.seconds * 1e4))}% ` +
        `and the client's core ${fmt(R.storm.client_cpu_us / (R.storm.seconds * 1e4))}% of the window ` +
        `(${fmt(serverUs / Math.max(1, R.storm.setups), 1)} µs of worker CPU per set-up)` +
        (R.storm.first_error ? `; first error: ${R.storm.first_error}` : ''));
}
for (const [k, r] of [['one worker', R.rise1], ['two workers', R.rise2]]) {
    if (r?.failures) notes.push(`rising, ${k}: ${r.failures} failure(s), first: ${r.firstError}`);
}
for (const [k, r] of [['10,000/s', R.r10], ['40,000/s', R.r40]]) {
    if (r) notes.push(`relay ${k}: client core busy ${fmt(r.clientShare * 100)}%` +
        (r.firstError ? `; first error: ${r.firstError}` : ''));
}
for (const [k, r] of [['one worker', R.idle1], ['two workers', R.idle2]]) {
    if (r) notes.push(`idle, ${k}: descriptors open in the worker(s) while held: ${r.fds.join(', ')}`);
    if (r?.firstError) {
        notes.push(`idle, ${k}: ${r.failures} failed set-ups` +
            (r.stopped.length ? ` (a loadgen stopped: ${r.stopped.join(', ')})` : '') +
            `, first error: ${r.firstError}`);
    }
}
if (Number(nproc) <= 2) {
    notes.push(`two workers: not pinned, on ${nproc} cores shared with the loadgen (CPU ${CLIENT_CPU}), ` +
        'so their ratio to one worker says more about the machine than about the module');
}
if (hardNofile < 100000) {
    notes.push(`RLIMIT_NOFILE hard limit here: ${hardNofile} (no CAP_SYS_RESOURCE to raise it), so a worker ` +
        `holds at most about ${fmt(hardNofile)} connections and the loadgen runs as several processes`);
}

const lines = [
    `## Signaling relay (make bench${QUICK ? ', BENCH_QUICK=1' : ''})`,
    '',
    `${new Date().toISOString().slice(0, 10)}; ${nproc} cores, ${cpuModel}; worker pinned to CPU ${SERVER_CPU}, ` +
    `loadgen to CPU ${CLIENT_CPU}; 200-byte frames, 8 pairs (16 with two workers).`,
    `Floor: ${fmt(floorUs, 2)} µs CPU per 200-byte loopback write + read (wall ${fmt(R.floor.wall_us_per_pair, 2)} µs).`,
    '',
    '| figure | measured | target | met |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3] ?? 'n/a'} |`),
    ...stepTable('Rising rate, one worker', R.rise1),
    ...stepTable('Rising rate, two workers', R.rise2),
    ...(notes.length ? ['', 'Notes:', '', ...notes.map((n) => `- ${n}`)] : []),
];
console.log(lines.join('\n'));
if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, lines.join('\n') + '\n');
process.exit(0);
