// A phone that puts the tab in the background (issue 18): the phone's page
// is frozen for 30 s (CDP Page.setWebLifecycleState "frozen", then
// "active", as Android does to a background tab) during a call with a
// desktop. The call goes on, or comes back by itself within 3 s of the
// thaw, with no tap: on both sides the remote video shows new frames and
// the status says connected.
//
// What Chromium 156 does to a page frozen this way while it is in a call:
// it fires "freeze" and hides the page (nothing is drawn, so the remote
// video shows no frame), closes its WebSocket as when a page enters the
// back-forward cache (the server still holds the TCP connection; the page
// hears the close, 1006, only after "resume"), and keeps its camera and
// its peer connection: the desktop keeps receiving the phone's picture.
// Two cases:
// - frozen, its network untouched: the seat is never given up (the server
//   sees its connection open), and on the thaw the client takes it back
//   with resume;
// - frozen while its network is gone (the phone's connections to the
//   server are cut as it freezes, as a phone's radio or a NAT may drop a
//   background app's): the seat's 20 s grace runs out during the freeze,
//   the desktop is told the other person left and closes its end; on the
//   thaw the phone joins again and the call must come back by itself.
//
// "active" thaws the page but leaves it hidden (headless Chromium has no
// window to show it in), where a phone shows the tab again as the person
// comes back to it: the test then turns on CDP focus emulation, which
// makes Chromium treat the page as shown.
//
// The phone is driven by puppeteer-core, not Playwright: Playwright turns on
// focus emulation in every page of its contexts, which keeps a page shown,
// and Chromium then ignores "frozen" altogether.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startNginx, sleep } from '../lib/nginx.mjs';
import { CHROMIUM, FLAGS, recordPeerConnections, waitForMedia } from './browser.mjs';
import { ANDROID, slowCpu, until } from './phone_lib.mjs';
import { newRoom } from './recovery_lib.mjs';

const FREEZE_MS = 30000;
const BACK_WITHIN_MS = 3000;

let ngx;
let browser;
let browserPid = null;
let line;

// The phone's network: a TCP relay to nginx that can go down (every
// connection through it reset, new ones refused) and come back.
function phoneLine(port) {
    const pairs = new Set();
    let down = false;
    const server = net.createServer((c) => {
        if (down) { c.resetAndDestroy(); return; }
        const s = net.connect(port, '127.0.0.1');
        const pair = { c, s };
        pairs.add(pair);
        const end = () => { c.destroy(); s.destroy(); pairs.delete(pair); };
        for (const x of [c, s]) { x.on('error', end); x.on('close', end); }
        c.pipe(s);
        s.pipe(c);
    });
    return {
        listen: () => new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${server.address().port}`))),
        cut() {
            down = true;
            const n = pairs.size;
            for (const { c, s } of pairs) { c.resetAndDestroy(); s.resetAndDestroy(); }
            pairs.clear();
            return n;
        },
        heal() { down = false; },
        close: () => new Promise((r) => server.close(() => r())),
    };
}

before(async () => {
    const { default: puppeteer } = await import('puppeteer-core');
    ngx = await startNginx({ workers: 2, rateLimit: false });
    line = phoneLine(Number(new URL(ngx.base).port));
    line.base = await line.listen();
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    browserPid = browser.process()?.pid ?? null;
});

after(async () => {
    await Promise.race([browser?.close(), sleep(10000)]).catch(() => undefined);
    if (browserPid) {
        try { process.kill(browserPid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await line?.close();
    await ngx?.stop();
});

async function person({ phone = false } = {}) {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.__log = [];
    page.on('console', (m) => page.__log.push(`console.${m.type()}: ${m.text()}`));
    await page.evaluateOnNewDocument(recordPeerConnections);
    // The page's own view of its lifecycle: the proof it was frozen.
    await page.evaluateOnNewDocument(() => {
        window.__life = [];
        for (const type of ['freeze', 'resume', 'visibilitychange']) {
            document.addEventListener(type, () => window.__life.push([type === 'visibilitychange'
                ? document.visibilityState : type, Date.now()]));
        }
    });
    let cdp = null;
    if (phone) {
        await page.emulate({ viewport: { ...ANDROID.viewport, deviceScaleFactor: ANDROID.deviceScaleFactor,
            isMobile: true, hasTouch: true, isLandscape: false }, userAgent: ANDROID.userAgent });
        cdp = await page.createCDPSession();
        await slowCpu(cdp);
    }
    return { context, page, cdp, errors };
}

const statusOf = (page) => page.evaluate(() => document.getElementById('status')?.textContent?.trim() ?? '');
const seatOf = (page) => page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':id'))?.[1] ?? null);

// In the page: video decoded on its open connections, and frames shown by
// its remote <video> elements (these stop while the page is frozen).
function readDecoding() {
    return (async () => {
        let frames = 0;
        let connected = 0;
        for (const pc of window.__pcs) {
            if (pc.connectionState !== 'connected') continue;
            connected++;
            (await pc.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
            });
        }
        let shown = 0;
        let width = 0;
        let paused = 0;
        for (const v of document.querySelectorAll('.tile.remote video')) {
            shown += v.getVideoPlaybackQuality().totalVideoFrames;
            width = Math.max(width, v.videoWidth);
            if (v.paused) paused++;
        }
        return { frames, shown, width, connected, paused, visible: document.visibilityState };
    })();
}

// ms from t0 until the page decodes and shows new remote frames (two
// samples 100 ms apart, both counters up, a connection connected).
async function decodingAgain(page, t0, timeoutMs) {
    let prev = null;
    let last = null;
    while (Date.now() < t0 + timeoutMs) {
        last = await page.evaluate(readDecoding);
        if (prev && last.connected > 0 && last.width > 0 && last.frames > prev.frames && last.shown > prev.shown) {
            return Date.now() - t0;
        }
        prev = last;
        await sleep(100);
    }
    throw new Error(`no new remote frames within ${timeoutMs} ms of the thaw: ${JSON.stringify(last)}; ` +
        `status "${await statusOf(page)}"\n${(page.__log ?? []).slice(-20).join('\n')}`);
}

// A call between a desktop and the phone (through its line when viaLine),
// the phone frozen for FREEZE_MS; during() runs as it freezes. Returns the
// desktop's statuses during the freeze and the times after the thaw; with
// settle, also checks the call is still on 22 s later.
async function freezeCall({ viaLine, during = () => undefined, settle = false }) {
    const link = await newRoom(ngx.base);
    const a = await person();
    const b = await person({ phone: true });
    try {
        await a.page.goto(link);
        await b.page.goto(viaLine ? link.replace(ngx.base, line.base) : link);
        await waitForMedia(b.page, 1, 30000);
        await waitForMedia(a.page, 1, 30000);
        const seat = await seatOf(b.page);

        await b.cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
        const tFrozen = Date.now();
        during();
        const seenByA = [];
        while (Date.now() - tFrozen < FREEZE_MS) {
            const s = await statusOf(a.page);
            if (seenByA[seenByA.length - 1] !== s) seenByA.push(s);
            await sleep(500);
        }
        line.heal();
        await b.cdp.send('Page.setWebLifecycleState', { state: 'active' });
        await b.cdp.send('Emulation.setFocusEmulationEnabled', { enabled: true });
        const tThaw = Date.now();
        const [msA, msB] = await Promise.all([
            decodingAgain(a.page, tThaw, BACK_WITHIN_MS),
            decodingAgain(b.page, tThaw, BACK_WITHIN_MS),
        ]);
        const statuses = await until('both saying connected', async () => {
            const s = [await statusOf(a.page), await statusOf(b.page)];
            return s.every((x) => /^Connected/.test(x)) ? s : null;
        }, Math.max(200, tThaw + BACK_WITHIN_MS - Date.now()), 100).catch(async () =>
            [await statusOf(a.page), await statusOf(b.page)]);
        const statusMs = Date.now() - tThaw;
        // and it stays a call: frames and sound both ways, over 1.5 s
        const flowA = await waitForMedia(a.page, 1, 10000);
        const flowB = await waitForMedia(b.page, 1, 10000);
        // Still a call once every timer of the recovery has run out (a
        // connection kept for a forgotten seat waits 20 s for its other end).
        if (settle) {
            await sleep(22000);
            for (const p of [a, b]) {
                const d = await p.page.evaluate(readDecoding);
                assert.ok(d.connected === 1 && d.width > 0 && d.paused === 0,
                    `22 s later the call is gone: ${JSON.stringify(d)}, "${await statusOf(p.page)}"`);
                assert.match(await statusOf(p.page), /^Connected/);
            }
            await waitForMedia(a.page, 1, 10000);
            await waitForMedia(b.page, 1, 10000);
        }
        const life = await b.page.evaluate(() => window.__life);
        const frozenAt = life.find(([e]) => e === 'freeze')?.[1];
        const resumedAt = life.find(([e]) => e === 'resume')?.[1];
        assert.ok(frozenAt && resumedAt && resumedAt - frozenAt >= FREEZE_MS - 1000 && life[0][0] === 'hidden',
            `the phone's page was not frozen for ${FREEZE_MS} ms: ${JSON.stringify(life)}`);
        return { msA, msB, statusMs, statuses, seenByA, flowA, flowB, seat, seatAfter: await seatOf(b.page),
            errors: [...a.errors, ...b.errors] };
    } finally {
        await a.context.close().catch(() => undefined);
        await b.context.close().catch(() => undefined);
    }
}

describe('a phone that puts the call in the background', () => {
    test('frozen for 30 s: the call goes on, or comes back by itself within 3 s of the thaw', { timeout: 180000 }, async () => {
        const r = await freezeCall({ viaLine: false });
        console.log(`# frozen 30 s: remote frames again ${r.msA} ms (desktop) / ${r.msB} ms (phone) after the thaw, ` +
            `both "Connected" by ${r.statusMs} ms; seat ${r.seat === r.seatAfter ? 'kept' : 'changed'}; ` +
            `the desktop said ${JSON.stringify(r.seenByA)}`);
        assert.deepEqual(r.statuses.map((s) => /^Connected/.test(s)), [true, true], `statuses 3 s after the thaw: ${r.statuses}`);
        assert.ok(r.flowA[0].frames > 0 && r.flowA[0].packets > 0, JSON.stringify(r.flowA));
        assert.ok(r.flowB[0].frames > 0 && r.flowB[0].packets > 0, JSON.stringify(r.flowB));
        assert.deepEqual(r.errors, []);
    });

    test('frozen for 30 s with its network gone: the seat is given up, and the call comes back by itself within 3 s of the thaw',
        { timeout: 180000 }, async () => {
            let cut = 0;
            const r = await freezeCall({ viaLine: true, during: () => { cut = line.cut(); }, settle: true });
            console.log(`# frozen 30 s, ${cut} connections cut: remote frames again ${r.msA} ms (desktop) / ${r.msB} ms (phone) ` +
                `after the thaw, both "Connected" by ${r.statusMs} ms; the desktop said ${JSON.stringify(r.seenByA)}`);
            assert.ok(cut > 0, 'the phone had connections to cut');
            // The grace did run out: this is the case of a seat given up.
            assert.ok(r.seenByA.some((s) => /left/.test(s)), `the desktop was told the phone left: ${JSON.stringify(r.seenByA)}`);
            assert.deepEqual(r.statuses.map((s) => /^Connected/.test(s)), [true, true], `statuses 3 s after the thaw: ${r.statuses}`);
            assert.ok(r.flowA[0].frames > 0 && r.flowA[0].packets > 0, JSON.stringify(r.flowA));
            assert.ok(r.flowB[0].frames > 0 && r.flowB[0].packets > 0, JSON.stringify(r.flowB));
            assert.deepEqual(r.errors, []);
        });
});
