// make bench-setup: how long a call takes to start, in the product and in
// the floor, measured in one run with the same Chromium and flags.
//
// - product: A opens the home page, presses "Create link" and "Start the
//   call", and waits with its camera live; B opens the link.
// - floor: a bare WebRTC page (tests/bench/bare-page/) served by the same
//   nginx: getUserMedia and the module's WebSocket at once, join, offer,
//   answer and trickle ICE; nothing else. A waits on it with its camera
//   live; B opens it.
//
// Timed on B: navigation start to its first decoded remote frame
// (requestVideoFrameCallback), SETUP_RUNS calls of each (default 20),
// interleaved so that the machine's noise falls on both alike; with a
// breakdown by phase (tests/e2e/internet_lib.mjs installPhases). Twice:
// with A's camera live when B arrives, and with B arriving while A's page
// is still starting; each notes whether any host candidate was an mDNS
// .local name. Prints the medians, p80s and the ratios,
// and writes them as the "## Call setup" section of docs/benchmarks.md.
//
//   SETUP_RUNS=20 node tests/bench/setup.bench.mjs
//   SETUP_NO_DOCS=1 ...     (print only)
import path from 'node:path';
import { TOP, request, sleep, startNginx } from '../lib/nginx.mjs';
import { createLink, waitForMedia } from '../e2e/browser.mjs';
import { installPhases, percentile, phasesOf } from '../e2e/internet_lib.mjs';
import { launchAt, prober } from '../e2e/recovery_lib.mjs';
import { writeDocSection } from './doc_section.mjs';

const RUNS = Number(process.env.SETUP_RUNS ?? 20);
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const BARE_DIR = path.join(TOP, 'tests/bench/bare-page/');
const PHASES = ['html', 'scripts', 'wsAsked', 'gumAsked', 'gum', 'wsOpen', 'welcome', 'offer', 'answer', 'ice', 'dtls', 'frame'];
// Chromium hides host addresses behind .local names (mDNS) only from pages
// without camera permission; a caller has it, so both modes show whether
// any .local candidate appeared. The second mode is the other real-world
// case: B opens the link before A's camera is live.
const MODES = [
    { key: 'camera-live', name: "A's camera live when B arrives", waitA: true, args: [] },
    { key: 'camera-starting', name: "B arrives while A's page is still starting", waitA: false, args: [] },
];

async function selfLive(page) {
    await page.waitForFunction(() => document.getElementById('self-video')?.readyState >= 2, null, { timeout: 15000 });
}

async function firstFrame(page, timeoutMs = 20000) {
    await page.waitForFunction(() => window.__probe?.frames.length > 0, null, { timeout: timeoutMs, polling: 20 });
}

// B's .local host candidates: whether mDNS was in effect.
async function mdnsUsed(page) {
    return page.evaluate(() => window.__pcs.some((pc) => /\.local /.test(pc.remoteDescription?.sdp ?? '') ||
        /\.local /.test(pc.localDescription?.sdp ?? '')));
}

// One call: start(a) brings A to where B may arrive and returns the
// address B opens; B's phases are timed.
async function timedCall([browserA, browserB], start) {
    const a = await prober(browserA);
    const b = await prober(browserB);
    await b.context.addInitScript(installPhases);
    try {
        await b.page.goto(await start(a));
        await firstFrame(b.page);
        const ph = await phasesOf(b.page);
        ph.mdns = await mdnsUsed(b.page);
        await waitForMedia(b.page, 1, 20000);
        return ph;
    } finally {
        await a.context.close();
        await b.context.close();
    }
}

function productCall(browser, base, waitA) {
    return timedCall(browser, async (a) => {
        const link = await createLink(base, a.page);
        await a.page.click('#start');
        if (waitA) await selfLive(a.page);
        return link;
    });
}

async function bareCall(browser, base, waitA) {
    const res = await request(base, '/api/rooms', { method: 'POST', json: {} });
    if (res.status !== 201 && res.status !== 200) throw new Error(`POST /api/rooms: ${res.status}`);
    const url = `${base}/bench-bare/?room=${res.json.url.split('/').pop()}`;
    return timedCall(browser, async (a) => {
        if (waitA) {
            await a.page.goto(url, { waitUntil: 'load' });
            await selfLive(a.page);
        } else {
            // As in the product: A's page is there, A starts, B arrives.
            await a.page.goto(`${url}&wait=1`, { waitUntil: 'load' });
            await a.page.evaluate(() => window.begin());
        }
        return url;
    });
}

function stats(runs) {
    const col = (k) => runs.map((r) => r[k]).filter((x) => typeof x === 'number');
    const out = { median: percentile(col('frame'), 50), p80: percentile(col('frame'), 80), phases: {} };
    for (const k of PHASES) out.phases[k] = percentile(col(k), 50);
    out.mdns = runs.filter((r) => r.mdns).length;
    return out;
}

async function main() {
    const ngx = await startNginx({ workers: 2, rateLimit: false, extraServer: `location /bench-bare/ { alias ${BARE_DIR}; }` });
    const results = [];
    try {
        for (const mode of MODES) {
            // One Chromium per caller, as two callers have two devices: in
            // one browser A's camera start and B's page load share the
            // browser process, which no two real callers do.
            const browser = [await launchAt(CHROMIUM, mode.args), await launchAt(CHROMIUM, mode.args)];
            try {
                // One of each first, untimed: caches and the fake devices warm.
                await productCall(browser, ngx.base, mode.waitA);
                await bareCall(browser, ngx.base, mode.waitA);
                const product = [];
                const bare = [];
                for (let i = 0; i < RUNS; i++) {
                    product.push(await productCall(browser, ngx.base, mode.waitA));
                    bare.push(await bareCall(browser, ngx.base, mode.waitA));
                    await sleep(100);
                }
                results.push({ mode, product: stats(product), bare: stats(bare) });
                const r = results[results.length - 1];
                console.log(`# ${mode.name}: product ${r.product.median}/${r.product.p80} ms, bare ${r.bare.median}/${r.bare.p80} ms ` +
                    `(median/p80), ratio ${(r.product.median / r.bare.median).toFixed(2)}/${(r.product.p80 / r.bare.p80).toFixed(2)}`);
            } finally {
                for (const br of browser) await br.close();
            }
        }
    } finally {
        await ngx.stop();
    }

    const lines = [
        '| Chromium | page | median | p80 | product / floor (median, p80) |',
        '| --- | --- | --- | --- | --- |',
    ];
    for (const r of results) {
        lines.push(`| ${r.mode.name} | product | ${r.product.median} ms | ${r.product.p80} ms | ` +
            `${(r.product.median / r.bare.median).toFixed(2)}x, ${(r.product.p80 / r.bare.p80).toFixed(2)}x |`);
        lines.push(`| | bare WebRTC (floor) | ${r.bare.median} ms | ${r.bare.p80} ms | |`);
    }
    const phaseLines = [
        `| Chromium | page | ${PHASES.join(' | ')} |`,
        `| --- | --- | ${PHASES.map(() => '---').join(' | ')} |`,
    ];
    for (const r of results) {
        for (const [name, s] of [['product', r.product], ['bare', r.bare]]) {
            phaseLines.push(`| ${r.mode.key} | ${name} | ${PHASES.map((k) => s.phases[k] ?? '-').join(' | ')} |`);
        }
    }
    const mdnsNote = `mDNS .local host candidates: ${results.map((r) => `${r.mode.key}: ${r.product.mdns}/${RUNS} product and ` +
        `${r.bare.mdns}/${RUNS} bare calls`).join('; ')} (Chromium gives a page that has camera permission real addresses)`;
    const table = `${lines.join('\n')}\n\nMedian time of each phase on B, ms from navigation start:\n\n${phaseLines.join('\n')}`;
    console.log(`\n${table}\n\n${mdnsNote}\n`);
    if (process.env.SETUP_NO_DOCS) return;

    const section = `## Call setup

Command: \`make bench-setup\` (tests/bench/setup.bench.mjs; \`SETUP_RUNS\`
calls of each page per mode, here ${RUNS}), on ${new Date().toISOString().slice(0, 10)}.
One Chromium per caller (Debian's Chromium, the test flags of
docs/web-client.md, fake camera and microphone) on 127.0.0.1, nginx with the
module (2 workers). The product: A opens the home page, presses "Create
link" and "Start the call" and waits with its camera live; B opens the
link (in the second mode, as soon as A pressed "Start the call"; A's
bare page then starts at the same point). The floor: a bare WebRTC page served by the same nginx
(tests/bench/bare-page/: getUserMedia and the module's WebSocket at once,
join, offer, answer, trickle ICE, nothing else). Timed on B, from its
navigation start to its first decoded remote frame
(\`requestVideoFrameCallback\`); the two kinds of call alternate. Target:
the product within 1.1x of the floor at the median and 1.15x at p80.

The first version of this benchmark ran both callers in one Chromium and
started the floor's A from a blank page in the second mode: the product
came out at 1.27x there. In one browser, A's camera start and B's page
load share the browser process (every phase of B moved by 100-200 ms),
which two callers on two devices never do; and a floor whose A still had
to load its page when B arrived gave B a head start the product's A,
already on its page, cannot give. Now each caller has its own Chromium,
and the floor's A loads its page and starts (\`window.begin()\`) at the
point where the product's A presses "Start the call".

${table}

Phases: html (document received), scripts (last script received), gum
(getUserMedia resolved), wsOpen, welcome, offer (first sent or received),
answer, ice (ICE connected), dtls (connection state connected), frame
(first remote frame). ${mdnsNote}.
`;
    writeDocSection('Call setup', section);
}

await main();
