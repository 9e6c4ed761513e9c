// Calls across the simulated internet (tests/lib/internet.mjs), as real
// callers make them: A opens the home page, presses "Create link" and
// "Start the call"; B, in another network, opens the link. Used by
// tests/e2e/networks.test.mjs and the setup benchmark.
import { sleep } from '../lib/nginx.mjs';
import { createLink, waitForMedia } from './browser.mjs';
import { prober, selectedPair } from './recovery_lib.mjs';

export const NETWORKS = {
    home1: 'home', home2: 'home',
    sym1: 'symmetric', sym2: 'symmetric',
    office1: 'office', office2: 'office',
    mobile1: 'mobile', mobile2: 'mobile',
};
const FIRST = { home: 'home1', symmetric: 'sym1', office: 'office1', mobile: 'mobile1' };
const SECOND = { home: 'home2', symmetric: 'sym2', office: 'office2', mobile: 'mobile2' };

// Every unordered pair of kinds, each once, same kind included.
export function kindPairs(kinds = ['home', 'symmetric', 'office', 'mobile']) {
    const out = [];
    for (let i = 0; i < kinds.length; i++) {
        for (let j = i; j < kinds.length; j++) out.push([kinds[i], kinds[j]]);
    }
    return out;
}

export function percentile(xs, p) {
    const s = [...xs].sort((a, b) => a - b);
    if (s.length === 0) return NaN;
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// The kind of path a selected pair is: 'direct' or 'relayed', and over
// what (udp, tcp, tls: the relay's own transport to its TURN server).
export function pathOf(pair, other) {
    if (!pair) return 'none';
    const relayed = pair.local === 'relay' || pair.remote === 'relay';
    if (!relayed) return 'direct';
    // Which side relays, and over what it reaches its TURN server.
    const legs = [pair, other].filter((p) => p?.local === 'relay').map((p) => p.relayProtocol);
    return `relayed (${legs.length ? [...new Set(legs)].join(' + ') : 'remote relay'})`;
}

// One call from a caller in network kind x (its first network) to one in
// kind y (its second network). Returns B's time from navigation to its
// first decoded remote frame, the selected pairs, and whether it connected
// at the first try: each side's first RTCPeerConnection carried the call,
// with no reload and no new connection.
export async function callAcross(net, x, y, { timeoutMs = 30000 } = {}) {
    const browsers = [await net.launch(FIRST[x]), await net.launch(SECOND[y])];
    try {
        const a = await prober(browsers[0]);
        const b = await prober(browsers[1]);
        await b.context.addInitScript(installPhases);
        const link = await createLink(net.base, a.page);
        await a.page.click('#start');
        await a.page.waitForSelector('#status');
        // A is in the room, its camera live, waiting: as when a grandchild
        // has sent the link and waits for the grandparent.
        await a.page.waitForFunction(() => document.getElementById('self-video')?.readyState >= 2,
            null, { timeout: 15000 });
        await b.page.goto(link);
        await waitForMedia(b.page, 1, timeoutMs);
        await waitForMedia(a.page, 1, timeoutMs);
        const { first, origin, pcs } = await b.page.evaluate(() => ({
            first: window.__probe.frames[0]?.[0], origin: performance.timeOrigin, pcs: window.__pcs.length,
        }));
        const pcsA = await a.page.evaluate(() => window.__pcs.length);
        const pairs = [await selectedPair(a.page), await selectedPair(b.page)];
        return {
            setupMs: Math.round(first - origin),
            firstTry: pcs === 1 && pcsA === 1,
            pairs, path: pathOf(pairs[0], pairs[1]),
            statuses: [await a.page.textContent('#status'), await b.page.textContent('#status')],
            phases: await phasesOf(b.page),
        };
    } finally {
        for (const br of browsers) await br.close().catch(() => undefined);
        await sleep(100);
    }
}

// In the page, before its scripts: the time (ms since navigation start) of
// each phase of call setup, from the APIs the client uses: getUserMedia
// resolved, the signaling WebSocket open, its welcome, the first offer
// sent or received, the answer, ICE connected, DTLS done (connection
// state connected). Page load comes from Navigation Timing.
export function installPhases() {
    const ph = {};
    window.__phases = ph;
    const mark = (k) => { if (ph[k] === undefined) ph[k] = Math.round(performance.now()); };
    const md = navigator.mediaDevices;
    if (md?.getUserMedia) {
        const gum = md.getUserMedia.bind(md);
        md.getUserMedia = async (...a) => { mark('gumAsked'); const s = await gum(...a); mark('gum'); return s; };
    }
    const WS = window.WebSocket;
    window.WebSocket = function (...a) {
        mark('wsAsked');
        const ws = new WS(...a);
        ws.addEventListener('open', () => mark('wsOpen'));
        ws.addEventListener('message', (e) => {
            const t = typeof e.data === 'string' ? e.data : '';
            if (t.includes('"type":"welcome"')) mark('welcome');
            if (t.includes('"type":"offer"')) mark('offer');
            if (t.includes('"type":"answer"')) mark('answer');
        });
        const send = ws.send.bind(ws);
        ws.send = (d) => {
            if (typeof d === 'string' && d.includes('"type":"offer"')) mark('offer');
            if (typeof d === 'string' && d.includes('"type":"answer"')) mark('answer');
            return send(d);
        };
        return ws;
    };
    window.WebSocket.prototype = WS.prototype;
    Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    const PC = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...a) {
        const pc = new PC(...a);
        mark('pc');
        pc.addEventListener('iceconnectionstatechange', () => {
            if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') mark('ice');
        });
        pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'connected') mark('dtls'); });
        return pc;
    };
    window.RTCPeerConnection.prototype = PC.prototype;
    Object.setPrototypeOf(window.RTCPeerConnection, PC);
}

// The phases of a page, with page load (the document's responseEnd and
// the load of its last script) and the first remote frame (the probe's).
export async function phasesOf(page) {
    return page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const scripts = performance.getEntriesByType('resource').filter((r) => r.initiatorType === 'script' || r.name.endsWith('.js'));
        const first = window.__probe?.frames[0]?.[0];
        return {
            html: Math.round(nav?.responseEnd ?? 0),
            scripts: Math.round(Math.max(0, ...scripts.map((r) => r.responseEnd))),
            ...window.__phases,
            frame: first ? Math.round(first - performance.timeOrigin) : null,
        };
    });
}

// A calls B where no path exists: the statuses each page showed over
// waitMs after B opened the link, and how many connections each still has
// open at the end.
export async function blockedCall(net, na, nb, waitMs) {
    const { statusesSince } = await import('./recovery_lib.mjs');
    const browsers = [await net.launch(na), await net.launch(nb)];
    try {
        const a = await prober(browsers[0]);
        const b = await prober(browsers[1]);
        const link = await createLink(net.base, a.page);
        await a.page.click('#start');
        await a.page.waitForSelector('#status');
        const t0 = Date.now();
        await b.page.goto(link);
        await sleep(waitMs);
        const open = (p) => p.page.evaluate(() => window.__pcs.filter((pc) => pc.connectionState !== 'closed').length);
        return {
            statuses: [await statusesSince(a.page, t0), await statusesSince(b.page, t0)],
            open: [await open(a), await open(b)],
        };
    } finally {
        for (const br of browsers) await br.close().catch(() => undefined);
    }
}

// Inbound audio and video on a page, sampled every 200 ms for ms: audio
// packets received and lost (RTP), the longest time with no new audio
// packet, and the video bitrate (kbit/s) and frames decoded.
export async function inboundOver(page, ms) {
    return page.evaluate(async (ms) => {
        const read = async () => {
            const o = { audioRx: 0, audioLost: 0, videoBytes: 0, frames: 0, t: performance.now() };
            for (const pc of window.__pcs) {
                if (pc.connectionState === 'closed') continue;
                (await pc.getStats()).forEach((r) => {
                    if (r.type !== 'inbound-rtp') return;
                    if (r.kind === 'audio') { o.audioRx += r.packetsReceived || 0; o.audioLost += r.packetsLost || 0; }
                    if (r.kind === 'video') { o.videoBytes += r.bytesReceived || 0; o.frames += r.framesDecoded || 0; }
                });
            }
            return o;
        };
        const first = await read();
        let last = first;
        let lastRise = first.t;
        let gap = 0;
        while (performance.now() - first.t < ms) {
            await new Promise((r) => setTimeout(r, 200));
            const now = await read();
            if (now.audioRx > last.audioRx) lastRise = now.t;
            gap = Math.max(gap, now.t - lastRise);
            last = now;
        }
        const secs = (last.t - first.t) / 1000;
        const rx = last.audioRx - first.audioRx;
        const lost = last.audioLost - first.audioLost;
        return {
            audioPackets: rx, audioLost: lost, audioLossPct: rx + lost > 0 ? (100 * lost) / (rx + lost) : 100,
            longestAudioGapMs: Math.round(gap),
            videoKbps: Math.round((8 * (last.videoBytes - first.videoBytes)) / secs / 1000),
            fps: Math.round((last.frames - first.frames) / secs),
        };
    }, ms);
}

// What the sender's video encoder says limits it (getStats outbound-rtp).
export async function videoLimit(page) {
    return page.evaluate(async () => {
        const out = [];
        for (const pc of window.__pcs) {
            if (pc.connectionState === 'closed') continue;
            (await pc.getStats()).forEach((r) => {
                if (r.type === 'outbound-rtp' && r.kind === 'video') {
                    out.push({ reason: r.qualityLimitationReason, height: r.frameHeight ?? null, fps: r.framesPerSecond ?? null,
                        active: r.active !== false, targetKbps: r.targetBitrate ? Math.round(r.targetBitrate / 1000) : null });
                }
            });
        }
        return out;
    });
}

// A call from a caller on `from` to one on `to`, kept open: returns the two
// participants and a close().
export async function openCall(net, from, to) {
    const browsers = [await net.launch(from), await net.launch(to)];
    const a = await prober(browsers[0]);
    const b = await prober(browsers[1]);
    const link = await createLink(net.base, a.page);
    await a.page.click('#start');
    await b.page.goto(link);
    await waitForMedia(b.page, 1, 30000);
    await waitForMedia(a.page, 1, 30000);
    return { a, b, close: async () => { for (const br of browsers) await br.close().catch(() => undefined); } };
}
