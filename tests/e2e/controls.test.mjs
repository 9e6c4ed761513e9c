// The caller's controls in Debian's Chromium (issue 14): the ring on
// whoever speaks, steady, and the larger tile on a phone; "Sound only",
// which stops video both ways and is remembered on the device.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, sleep } from '../lib/nginx.mjs';
import { createLink, launch, participant, perPeerFlow, screenshot, waitForMedia } from './browser.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let ngx;
let browser;
const everyone = [];

before(async () => {
    ngx = await startNginx({ workers: 1, rateLimit: false });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
});

async function join(link, opts = {}) {
    const p = await participant(browser, opts);
    everyone.push(p);
    // every camera and microphone track the page ever opened, to see that
    // "Sound only" really stops the camera (its light goes out)
    await p.context.addInitScript(() => {
        window.__tracks = [];
        const md = navigator.mediaDevices;
        const orig = md.getUserMedia.bind(md);
        md.getUserMedia = async (c) => {
            const s = await orig(c);
            window.__tracks.push(...s.getTracks());
            return s;
        };
    });
    await p.page.goto(link);
    return p;
}

async function waitFor(fn, what, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        last = await fn();
        if (last) return last;
        await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

const seatOf = (p) => p.page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':id'))?.[1]);

// Who has the ring on this page: our own tile, and each remote by peer id.
const rings = (p) => p.page.evaluate(() => ({
    self: document.querySelector('#self-tile').classList.contains('speaking'),
    remotes: Object.fromEntries([...document.querySelectorAll('.tile.remote')]
        .map((f) => [f.dataset.peer, f.classList.contains('speaking')])),
}));

async function micOff(p) {
    // the button means "off" only once the microphone is there
    await p.page.waitForSelector('#mic[aria-pressed="true"]', { timeout: 15000 });
    await p.page.click('#mic');
    assert.equal(await p.page.getAttribute('#mic', 'aria-pressed'), 'false');
}

// Video and audio counters of the page's one connection: what it sends and
// what it receives.
const counters = (p) => p.page.evaluate(async () => {
    const pc = window.__pcs.filter((x) => x.connectionState !== 'closed').at(-1);
    const out = { videoSent: 0, framesSent: 0, audioSent: 0, videoIn: 0, audioIn: 0, sendsTrack: false };
    if (!pc) return out;
    (await pc.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video') { out.videoSent += r.bytesSent ?? 0; out.framesSent += r.framesEncoded ?? 0; }
        if (r.type === 'outbound-rtp' && r.kind === 'audio') out.audioSent += r.packetsSent ?? 0;
        if (r.type === 'inbound-rtp' && r.kind === 'video') out.videoIn += r.framesDecoded ?? 0;
        if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioIn += r.packetsReceived ?? 0;
    });
    out.sendsTrack = pc.getSenders().some((s) => s.track?.kind === 'video');
    return out;
});

async function rates(p, ms = 1500) {
    const a = await counters(p);
    await sleep(ms);
    const b = await counters(p);
    return { videoSent: b.videoSent - a.videoSent, framesSent: b.framesSent - a.framesSent,
             audioSent: b.audioSent - a.audioSent, videoIn: b.videoIn - a.videoIn,
             audioIn: b.audioIn - a.audioIn, sendsTrack: b.sendsTrack };
}

const tileNote = (p, sel) => p.page.$eval(sel, (e) => (e.hidden ? '' : e.textContent));

describe('active speaker', () => {
    let a;
    let b;
    let c;
    let ids;

    test('the one with sound gets the ring on the others\' pages, steadily; the muted never', async () => {
        const home = await participant(browser);
        const link = await createLink(ngx.base, home.page, { maxParticipants: 3 });
        await home.context.close();
        a = await join(link);
        b = await join(link);
        c = await join(link, PHONE);
        await micOff(b);
        await micOff(c);
        for (const p of [a, b, c]) await waitForMedia(p.page, 2, 30000);
        ids = { a: await seatOf(a), b: await seatOf(b), c: await seatOf(c) };

        // Measured first: what A's fake microphone (a periodic beep) gives
        // on B, as the RMS over 250 ms windows from totalAudioEnergy.
        const level = await b.page.evaluate(async (peer) => {
            const pcs = window.__pcs.filter((x) => x.connectionState === 'connected');
            const read = async () => {
                const per = [];
                for (const pc of pcs) {
                    let e = 0; let d = 0;
                    (await pc.getStats()).forEach((r) => {
                        if (r.type === 'inbound-rtp' && r.kind === 'audio') { e = r.totalAudioEnergy; d = r.totalSamplesDuration; }
                    });
                    per.push([e, d]);
                }
                return per;
            };
            const out = [];
            let prev = await read();
            for (let i = 0; i < 12; i++) {
                await new Promise((r) => setTimeout(r, 250));
                const cur = await read();
                out.push(cur.map(([e, d], k) => Math.sqrt((e - prev[k][0]) / Math.max(1e-9, d - prev[k][1]))));
                prev = cur;
            }
            return out;
        }, ids.a);
        const loudest = level.map((row) => Math.max(...row));
        const quietest = level.map((row) => Math.min(...row));
        console.log(`fake microphone on B, RMS per 250 ms: loud ${loudest.map((x) => x.toFixed(3)).join(' ')}; ` +
            `muted ${quietest.map((x) => x.toFixed(4)).join(' ')}`);
        // The beep decays by a quarter every 100 ms and comes back about
        // every 500 ms: most windows are far above ON_LEVEL (0.03), and never
        // two in a row below OFF_LEVEL (0.015), let alone OFF_MS (1 s) of them.
        const above = loudest.filter((x) => x >= 0.03).length;
        assert.ok(above >= loudest.length / 2, `the beep is above ON_LEVEL in most windows (${above})`);
        assert.ok(loudest.every((x, i) => x >= 0.015 || (loudest[i + 1] ?? 1) >= 0.015), 'never two quiet windows in a row');
        assert.ok(Math.max(...quietest) < 0.015, 'a muted microphone is below OFF_LEVEL 0.015');

        await waitFor(async () => {
            const [rb, rc] = [await rings(b), await rings(c)];
            return rb.remotes[ids.a] && rc.remotes[ids.a] ? [rb, rc] : null;
        }, 'the ring on A at B and C');
        // It does not flicker: sampled 30 times over about 3 s, it stays
        // on A, and never on the muted ones.
        for (let i = 0; i < 30; i++) {
            const [ra, rb, rc] = [await rings(a), await rings(b), await rings(c)];
            assert.deepEqual(rb, { self: false, remotes: { [ids.a]: true, [ids.c]: false } }, `B at sample ${i}`);
            assert.deepEqual(rc, { self: false, remotes: { [ids.a]: true, [ids.b]: false } }, `C at sample ${i}`);
            // and A sees its own ring, with none on the muted
            assert.deepEqual(ra, { self: true, remotes: { [ids.b]: false, [ids.c]: false } }, `A at sample ${i}`);
            await sleep(100);
        }
        // no announcement per speaker change: the ring is not in a live region
        const live = await b.page.$$eval('.tile', (ts) => ts.filter((t) => t.closest('[aria-live]')).length);
        assert.equal(live, 0);
    });

    test('on a phone, in a group of 3, the speaker\'s tile is the large one', async () => {
        assert.ok(c, 'the call of the previous test');
        const boxes = await waitFor(async () => {
            const bx = await c.page.evaluate(() => {
                const r = (el) => el.getBoundingClientRect().toJSON();
                return {
                    featured: [...document.querySelectorAll('.tile.remote.featured')].map((f) => f.dataset.peer),
                    tiles: Object.fromEntries([...document.querySelectorAll('.tile.remote')].map((f) => [f.dataset.peer, r(f)])),
                    self: r(document.querySelector('#self-tile')),
                    stage: r(document.querySelector('#stage')),
                };
            });
            return bx.featured.length === 1 ? bx : null;
        }, 'a featured tile on the phone');
        assert.deepEqual(boxes.featured, [ids.a]);
        const area = (r) => r.width * r.height;
        const big = boxes.tiles[ids.a];
        const small = boxes.tiles[ids.b];
        assert.ok(area(big) > 2 * area(small), `A ${JSON.stringify(big)} vs B ${JSON.stringify(small)}`);
        assert.ok(area(big) > 2 * area(boxes.self), `A vs self ${JSON.stringify(boxes.self)}`);
        // across the whole width, above the others
        assert.ok(big.width > boxes.stage.width * 0.9, `full width: ${big.width} of ${boxes.stage.width}`);
        assert.ok(big.bottom <= small.top + 1 && big.bottom <= boxes.self.top + 1, 'on top');
        await screenshot(c.page, 'room-speaker-phone');
        // a desktop keeps its even grid
        const desk = await b.page.$$eval('.tile', (ts) => ts.filter((t) => t.getClientRects().length)
            .map((t) => Math.round(t.getBoundingClientRect().width)));
        assert.equal(new Set(desk).size, 1, `even grid on the desktop: ${desk}`);
        for (const p of [a, b, c]) await p.context.close();
    });
});

describe('Sound only', () => {
    test('stops video both ways, keeps the sound, is remembered, and Best picture brings video back', async () => {
        const home = await participant(browser);
        const link = await createLink(ngx.base, home.page, { maxParticipants: 2 });
        await home.context.close();
        const a = await join(link, PHONE);
        const b = await join(link);
        await waitForMedia(a.page, 1);
        await waitForMedia(b.page, 1);

        await a.page.click('#more-btn');
        await a.page.waitForSelector('#quality');
        assert.equal(await a.page.isChecked('#quality input[value="best"]'), true, 'Best picture by default');
        await screenshot(a.page, 'room-quality-phone');
        await a.page.click('#quality input[value="audio"]');
        assert.equal(await a.page.isChecked('#quality input[value="audio"]'), true);
        await a.page.click('#more-close');

        const stopped = async () => {
            const [ra, rb] = await Promise.all([rates(a, 1000), rates(b, 1000)]);
            return ra.framesSent === 0 && ra.videoSent === 0 && rb.framesSent === 0 && rb.videoSent === 0 &&
                !ra.sendsTrack && !rb.sendsTrack ? [ra, rb] : null;
        };
        await waitFor(stopped, 'video stopped both ways');
        // and it stays stopped, while the sound goes on both ways
        const [ra, rb] = await Promise.all([rates(a, 2000), rates(b, 2000)]);
        assert.equal(ra.videoSent, 0, `A sends no video: ${JSON.stringify(ra)}`);
        assert.equal(rb.videoSent, 0, `B sends A no video: ${JSON.stringify(rb)}`);
        assert.equal(ra.videoIn, 0);
        assert.equal(rb.videoIn, 0);
        assert.ok(ra.audioSent > 0 && ra.audioIn > 0, `A sends and hears: ${JSON.stringify(ra)}`);
        assert.ok(rb.audioSent > 0 && rb.audioIn > 0, `B sends and hears: ${JSON.stringify(rb)}`);
        // the camera itself is off (its light goes out)
        assert.equal(await a.page.evaluate(() => window.__tracks
            .filter((t) => t.kind === 'video' && t.readyState === 'live').length), 0);
        // in words, on both sides
        assert.equal(await tileNote(a, '#self-state'), 'Sound only');
        await waitFor(async () => /Sound only/.test(await tileNote(b, '.tile.remote .tile-state')), 'B says A is sound only');
        assert.match(await tileNote(a, '.tile.remote .tile-state'), /Sound only/);
        await screenshot(a.page, 'room-sound-only-phone');
        assert.equal(await a.page.evaluate(() => localStorage.getItem('webcall:quality')), 'audio');

        // The next call starts the same way: the camera is not even opened.
        await a.page.reload();
        await waitFor(async () => {
            const [x, y] = await Promise.all([rates(a, 1000), rates(b, 1000)]);
            return x.audioIn > 0 && y.audioIn > 0 && x.videoSent === 0 && y.videoSent === 0 ? [x, y] : null;
        }, 'after the reload: sound both ways, no video either way', 25000);
        assert.equal(await a.page.evaluate(() => window.__tracks.filter((t) => t.kind === 'video').length), 0);
        await a.page.click('#more-btn');
        assert.equal(await a.page.isChecked('#quality input[value="audio"]'), true, 'the choice survived the reload');

        // Best picture: video both ways again.
        await a.page.click('#quality input[value="best"]');
        await a.page.click('#more-close');
        await waitForMedia(a.page, 1);
        await waitForMedia(b.page, 1);
        assert.equal(await a.page.evaluate(() => localStorage.getItem('webcall:quality')), null);
        await waitFor(async () => (await tileNote(b, '.tile.remote .tile-state')) === '', 'B no longer says sound only');
        assert.equal(await tileNote(a, '#self-state'), '');
        for (const p of [a, b]) await p.context.close();
    });

    test('Save data caps the video low', async () => {
        const home = await participant(browser);
        const link = await createLink(ngx.base, home.page, { maxParticipants: 2 });
        await home.context.close();
        const a = await join(link);
        await a.context.addInitScript(() => localStorage.setItem('webcall:quality', 'save'));
        // the reload resumes A's seat once its welcome came; before, the
        // page frees the seat its join was taking (signaling.ts, pageGone)
        await a.page.reload();
        const b = await join(link);
        await waitForMedia(b.page, 1);
        const enc = await waitFor(() => a.page.evaluate(() => {
            const s = window.__pcs.at(-1)?.getSenders().find((x) => x.track?.kind === 'video');
            const e = s?.getParameters().encodings?.[0];
            return e?.maxBitrate ? { max: e.maxBitrate, scale: e.scaleResolutionDownBy, fps: e.maxFramerate } : null;
        }), 'the video encoding');
        assert.ok(enc.max <= 300000, JSON.stringify(enc));
        assert.ok(enc.scale > 1 && enc.fps <= 15, JSON.stringify(enc));
        const flow = await perPeerFlow(b.page, 1500);
        assert.ok(flow[0].frames > 0, 'the picture still comes');
        for (const p of [a, b]) await p.context.close();
    });
});

describe('no page error', () => {
    test('and no CSP violation on any page', () => {
        assert.deepEqual(everyone.flatMap((p) => p.errors), []);
    });
});
