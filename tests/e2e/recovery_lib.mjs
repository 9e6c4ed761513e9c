// Recovery tests and benchmark (tests/e2e/recovery_*.test.mjs,
// tests/bench/recovery.bench.mjs): a call of two in the real client, a probe
// in each page that records every remote video frame and every status line,
// and the faults themselves.
//
// Measures, per page:
// - frames: requestVideoFrameCallback on every remote <video>, with the wall
//   clock (performance.timeOrigin + performance.now()) inside the callback,
//   tagged with the MediaStream it came from (a new connection is a new
//   stream);
// - decoded: inbound-rtp framesDecoded of every open connection, summed,
//   sampled every 200 ms (a stall is a gap between two rises);
// - status: every sentence the status line showed, with its time.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request, sleep } from '../lib/nginx.mjs';
import { participant, perPeerFlow, waitForMedia } from './browser.mjs';

const execFileP = promisify(execFile);

// In the page, before any of its scripts. Without frames (a test that
// reads only `decoded` and the status), no requestVideoFrameCallback: each
// one makes the page render a frame of its own for every video frame,
// which with many pages on two cores costs more than the call itself.
function installProbe({ frames = true } = {}) {
    const probe = { frames: [], decoded: [], status: [], streams: [], ice: [] };
    window.__probe = probe;
    const now = () => performance.timeOrigin + performance.now();
    const keep = (arr, item, max = 4000) => {
        arr.push(item);
        if (arr.length > max) arr.splice(0, arr.length - max);
    };
    const watched = new WeakSet();
    const streamIndex = (s) => {
        if (!s) return -1;
        let i = probe.streams.indexOf(s);
        if (i < 0) { probe.streams.push(s); i = probe.streams.length - 1; }
        return i;
    };
    const watch = (v) => {
        if (watched.has(v) || typeof v.requestVideoFrameCallback !== 'function') return;
        watched.add(v);
        const cb = () => {
            keep(probe.frames, [now(), streamIndex(v.srcObject)]);
            if (v.isConnected) v.requestVideoFrameCallback(cb);
        };
        v.requestVideoFrameCallback(cb);
    };
    let lastStatus = null;
    let lastIce = null;
    setInterval(() => {
        if (frames) for (const v of document.querySelectorAll('.tile.remote video')) watch(v);
        const st = document.getElementById('status')?.textContent?.trim() ?? '';
        if (st !== lastStatus) { lastStatus = st; keep(probe.status, [now(), st]); }
        const ice = (window.__pcs ?? []).map((pc) => `${pc.iceConnectionState}/${pc.signalingState}`).join(',');
        if (ice !== lastIce) { lastIce = ice; keep(probe.ice, [now(), ice]); }
    }, frames ? 50 : 200);
    setInterval(async () => {
        let n = 0;
        for (const pc of window.__pcs ?? []) {
            if (pc.connectionState === 'closed') continue;
            for (const rc of pc.getReceivers()) {
                if (rc.track?.kind !== 'video') continue;
                try {
                    (await rc.getStats()).forEach((r) => {
                        if (r.type === 'inbound-rtp') n += r.framesDecoded || 0;
                    });
                } catch { /* closed meanwhile */ }
            }
        }
        keep(probe.decoded, [now(), n]);
    }, 200);
}

// A participant with the probe, in `browser` (one context each); with
// frames: false, a probe that does not watch the video elements.
export async function prober(browser, { frames = true, ...opts } = {}) {
    const p = await participant(browser, opts);
    await p.context.addInitScript(installProbe, { frames });
    return p;
}

export async function newRoom(base, maxParticipants = 2) {
    const res = await request(base, '/api/rooms', { method: 'POST', json: { maxParticipants } });
    if (res.status !== 201 && res.status !== 200) throw new Error(`POST /api/rooms: ${res.status} ${res.body}`);
    return base + res.json.url;
}

// Two people in a call, both decoding each other's video. `browsers` is one
// browser for both, or one each; `query` is added to the link (?relay=1).
export async function callOfTwo(browsers, base, { query = '', link } = {}) {
    const [ba, bb] = Array.isArray(browsers) ? browsers : [browsers, browsers];
    link ??= await newRoom(base);
    const a = await prober(ba);
    const b = await prober(bb);
    await a.page.goto(link + query);
    await b.page.goto(link + query);
    await waitForMedia(a.page, 1, 30000);
    await waitForMedia(b.page, 1, 30000);
    return { a, b, link };
}

export async function probe(page) {
    return page.evaluate(() => window.__probe);
}

// The first remote frame after time t (ms, wall clock) on page; with
// fresh: only from a stream other than the one shown at t (a connection
// made anew). Returns its delay after t, or throws after timeoutMs.
export async function firstFrameAfter(page, t, { fresh = false, timeoutMs = 20000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last = null;
    while (Date.now() < deadline) {
        const pr = await probe(page).catch(() => null);
        if (pr) {
            last = pr;
            const before = pr.frames.filter(([ft]) => ft <= t).pop();
            const old = fresh && before ? before[1] : null;
            const hit = pr.frames.find(([ft, s]) => ft > t && (old === null || s !== old));
            if (hit) return Math.round(hit[0] - t);
        }
        await sleep(50);
    }
    const tail = last ? JSON.stringify(last.frames.slice(-5).map(([ft, s]) => [Math.round(ft - t), s])) : 'no probe';
    throw new Error(`no new remote frame within ${timeoutMs} ms after the fault ended (last frames, ms after: ${tail}); ` +
        `status: ${JSON.stringify(last?.status.slice(-6).map(([st, x]) => [Math.round(st - t), x]))}`);
}

// The longest time, within [from, to], between two rises of framesDecoded
// (and between the edges of the window and the nearest rise).
export async function longestStall(page, from, to) {
    const pr = await probe(page);
    const rises = [];
    for (let i = 1; i < pr.decoded.length; i++) {
        const [tt, n] = pr.decoded[i];
        if (n > pr.decoded[i - 1][1] && tt >= from && tt <= to) rises.push(tt);
    }
    if (rises.length === 0) return to - from;
    let worst = Math.max(rises[0] - from, to - rises[rises.length - 1]);
    for (let i = 1; i < rises.length; i++) worst = Math.max(worst, rises[i] - rises[i - 1]);
    return Math.round(worst);
}

// Time from the fault's end (tEnd) to the first remote frame of the
// recovered call, from the frames shown on page between t0 (the fault began)
// and tStop: the first frame of a new stream if the connection was made
// anew, else the end of the longest gap between two frames if that gap
// reaches past tEnd (the picture froze and came back), else the first frame
// after tEnd (it never stopped). Also returns that longest gap.
export async function recoveryOf(page, t0, tEnd, tStop) {
    const pr = await probe(page);
    const times = pr.frames.map(([ft]) => ft).filter((ft) => ft > t0 && ft <= tStop);
    let gap = 0;
    let gapEnd = null;
    let prev = t0;
    for (const ft of times) {
        if (ft - prev > gap) { gap = ft - prev; gapEnd = ft; }
        prev = ft;
    }
    if (times.length === 0 || tStop - prev > gap) {
        throw new Error(`no remote frame on this page since ${Math.round(tStop - prev)} ms before the end; ` +
            `statuses ${JSON.stringify(pr.status.filter(([st]) => st > t0).map(([st, x]) => [Math.round(st - t0), x]))}; ` +
            `ice ${JSON.stringify(pr.ice.filter(([st]) => st > t0).map(([st, x]) => [Math.round(st - t0), x]))}`);
    }
    // A connection made anew shows a new stream: its first frame is the
    // recovery, however short the gap before it.
    const inWindow = pr.frames.filter(([ft]) => ft > t0 && ft <= tStop);
    const atStart = pr.frames.filter(([ft]) => ft <= t0).pop()?.[1];
    const final = inWindow[inWindow.length - 1][1];
    let ms;
    if (atStart !== undefined && final !== atStart) {
        ms = inWindow.find(([, st]) => st === final)[0] - tEnd;
    } else {
        const first = times.find((ft) => ft > tEnd);
        ms = gap > 300 && gapEnd > tEnd ? gapEnd - tEnd : (first ?? tStop) - tEnd;
    }
    return { ms: Math.max(0, Math.round(ms)), gap: Math.round(gap) };
}

// Every sentence the status line showed since t.
export async function statusesSince(page, t) {
    const pr = await probe(page);
    const before = pr.status.filter(([st]) => st <= t).pop();
    return [...(before ? [before[1]] : []), ...pr.status.filter(([st]) => st > t).map(([, x]) => x)];
}

// Both sides decode each other's video again (counters rising), then report.
export async function bothFlowing(a, b, timeoutMs = 20000) {
    await waitForMedia(a.page, 1, timeoutMs);
    await waitForMedia(b.page, 1, timeoutMs);
}

// Both pages flowing in one round (A, then B, then A again), so that a
// second short renegotiation after the first recovery (the other side's
// ICE restart landing late) is waited out rather than taken for the end
// state; gives up at the deadline with waitForMedia's explanation.
export async function bothSettled(a, b, timeoutMs = 40000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const left = () => Math.max(1500, deadline - Date.now());
        await waitForMedia(a.page, 1, left());
        await waitForMedia(b.page, 1, left());
        const again = await perPeerFlow(a.page, 1500);
        if (again.some((p) => p.frames > 0 && p.packets > 0)) return;
        if (Date.now() > deadline) await waitForMedia(a.page, 1, 1500);
    }
}

// How many welcomes a page got (each (re)join of the signaling).
export function welcomes(page) {
    return (page.__log ?? []).filter((l) => l.startsWith('< {"type":"welcome"')).length;
}

// --- faults on the server side ---------------------------------------------------

// The local ports of the established TCP connections to nginx's port, with
// the pid of the worker that holds each.
export async function nginxSockets(port) {
    const { stdout } = await execFileP('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`]);
    return stdout.split('\n').filter(Boolean).map((l) => {
        const cols = l.trim().split(/\s+/);
        const peer = cols[cols.length - 2] ?? cols[3];
        const pid = /pid=(\d+)/.exec(l)?.[1];
        return { peer, peerPort: Number(peer.split(':').pop()), pid: pid ? Number(pid) : null };
    });
}

// Kills, from the server side (ss -K, root), every established TCP
// connection to nginx's port: each page's WebSocket drops with no close
// frame (1006), as on a NAT timeout or a broken path between people and
// the server, while the network itself stays up. Returns how many it cut.
export async function killTcp(port) {
    const n = (await nginxSockets(port)).length;
    await execFileP('ss', ['-K', 'state', 'established', `( sport = :${port} )`]);
    return n;
}

export function median(xs) {
    const s = [...xs].sort((x, y) => x - y);
    if (s.length === 0) return NaN;
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

// --- the faults, each a scenario the tests assert on and the benchmark times --

async function seatOf(page) {
    return page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':id'))?.[1] ?? null);
}

async function openPcs(page) {
    return page.evaluate(() => window.__pcs.filter((pc) => pc.connectionState !== 'closed').length);
}

async function waitUntil(what, fn, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        last = await fn();
        if (last) return last;
        await sleep(50);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}

// Signaling goes away while the network stays: the media must not notice.
// fault(): drops the signaling; returns when it is done. Reports the longest
// stall of framesDecoded on each side from the fault until 1.5 s after both
// rejoined, and the time from the fault's end to both rejoining.
export async function signalingFault({ a, b }, fault, { sameSeat = true, timeoutMs = 15000 } = {}) {
    const seats = [await seatOf(a.page), await seatOf(b.page)];
    const pcsBefore = [await a.page.evaluate(() => window.__pcs.length), await b.page.evaluate(() => window.__pcs.length)];
    const n = [welcomes(a.page), welcomes(b.page)];
    const t0 = Date.now();
    const which = await fault();
    const tEnd = Date.now();
    // Every page whose socket went down has rejoined (a new welcome).
    // 'any': the fault hit one side or both, which is not known here.
    const any = which === 'any';
    const hit = Array.isArray(which) ? which : [true, true];
    await waitUntil('the signaling rejoined', async () => {
        const back = [a, b].map((p, i) => welcomes(p.page) > n[i]);
        return any ? back.some(Boolean) : back.every((x, i) => x || !hit[i]);
    }, timeoutMs);
    const rejoinMs = Date.now() - tEnd;
    await sleep(1500);
    const tStop = Date.now();
    const stall = [await longestStall(a.page, t0, tStop), await longestStall(b.page, t0, tStop)];
    const rec = [await recoveryOf(a.page, t0, tEnd, tStop), await recoveryOf(b.page, t0, tEnd, tStop)];
    const firstFrame = rec.map((x) => x.ms);
    const after = {
        seats: [await seatOf(a.page), await seatOf(b.page)],
        pcs: [await a.page.evaluate(() => window.__pcs.length), await b.page.evaluate(() => window.__pcs.length)],
        open: [await openPcs(a.page), await openPcs(b.page)],
    };
    return { seats, pcsBefore, after, stall, rejoinMs, firstFrame, sameSeat, t0, tEnd,
        statuses: [await statusesSince(a.page, t0), await statusesSince(b.page, t0)] };
}

// B reloads its page. The fault ends when the reload starts (a reload is
// over as soon as it is asked for); returns the time from then to the first
// frame of the new connection on each side, and what A's status line said.
export async function reloadFault({ a, b }) {
    const seat = await seatOf(b.page);
    const t0 = Date.now();
    await b.page.reload();
    await bothFlowing(a, b);
    await sleep(1000);
    const tStop = Date.now();
    const ms = [(await recoveryOf(a.page, t0, t0, tStop)).ms, (await recoveryOf(b.page, t0, t0, tStop)).ms];
    return {
        ms, seat, seatAfter: await seatOf(b.page),
        statusesA: await statusesSince(a.page, t0),
        pcsA: await openPcs(a.page),
    };
}

// --- network cuts -----------------------------------------------------------------

const FLAGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
];

// Chromium at executablePath (e.g. netPair's wrapper that runs it inside a
// network namespace), with the flags of browser.mjs.
export async function launchAt(executablePath, extra = []) {
    const { chromium } = await import('playwright-core');
    return chromium.launch({ executablePath, headless: true, args: [...FLAGS, ...extra], timeout: 30000 });
}

// A's network is cut for cutMs (cut() and heal() do it), then comes back.
// Returns, per side, the time from the network's return to the first remote
// frame, the longest gap of frames during the cut (proof that the cut did
// stop the media), and every status sentence shown.
export async function networkFault({ a, b }, { cut, heal, cutMs = 15000, during } = {}) {
    const t0 = Date.now();
    await cut();
    await sleep(cutMs);
    const seenDuring = [await statusesSince(a.page, t0), await statusesSince(b.page, t0)];
    await during?.();
    const tEnd = Date.now();
    await heal();
    let ms;
    try {
        ms = [await firstFrameAfter(a.page, tEnd, { timeoutMs: 30000 }),
            await firstFrameAfter(b.page, tEnd, { timeoutMs: 30000 })];
        await bothFlowing(a, b, 30000);
    } finally {
        if (!ms) console.log(`# during the cut: A ${JSON.stringify(seenDuring[0])} B ${JSON.stringify(seenDuring[1])}`);
    }
    await sleep(1000);
    const tStop = Date.now();
    const rec = [await recoveryOf(a.page, t0, tEnd, tStop), await recoveryOf(b.page, t0, tEnd, tStop)];
    return {
        ms: rec.map((r) => r.ms), gap: rec.map((r) => r.gap), seenDuring,
        statuses: [await statusesSince(a.page, t0), await statusesSince(b.page, t0)],
        pcs: [await a.page.evaluate(() => window.__pcs.length), await b.page.evaluate(() => window.__pcs.length)],
    };
}

// The selected candidate pair of a page's open connection: local and
// remote candidate types ('relay' when through TURN).
export async function selectedPair(page) {
    return page.evaluate(async () => {
        const pc = window.__pcs.filter((x) => x.connectionState !== 'closed').pop();
        if (!pc) return null;
        const stats = await pc.getStats();
        let pair = null;
        stats.forEach((r) => {
            if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
        });
        if (!pair) return null;
        const l = stats.get(pair.localCandidateId);
        const rr = stats.get(pair.remoteCandidateId);
        return { local: l?.candidateType, remote: rr?.candidateType, relayProtocol: l?.relayProtocol ?? null };
    });
}

// The TURN server goes away and comes back (restart() does both) during a
// relay-only call. Returns the time from its return to the first remote
// frame on each side, and the gap the pictures had.
export async function relayFault({ a, b }, restart) {
    const t0 = Date.now();
    await restart();
    const tEnd = Date.now();
    await bothSettled(a, b, 40000);
    await sleep(1000);
    const tStop = Date.now();
    const rec = [await recoveryOf(a.page, t0, tEnd, tStop), await recoveryOf(b.page, t0, tEnd, tStop)];
    return {
        ms: rec.map((r) => r.ms), gap: rec.map((r) => r.gap),
        statuses: [await statusesSince(a.page, t0), await statusesSince(b.page, t0)],
        pairs: [await selectedPair(a.page), await selectedPair(b.page)],
        pcs: [await a.page.evaluate(() => window.__pcs.length), await b.page.evaluate(() => window.__pcs.length)],
    };
}
