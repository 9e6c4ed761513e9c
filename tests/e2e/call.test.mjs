// End to end in Debian's Chromium: the home page, calls of two, three and
// four, what each side sees of the other, and leaving. One browser, one
// context per participant (each its own storage and fake devices).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../lib/nginx.mjs';
import {
    createLink, foreignRequests, serverAndBrowser, participant, perPeerFlow, screenshot,
    statusText, waitForMedia, waitForStatus,
} from './browser.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const env = serverAndBrowser();
const everyone = [];     // every participant, to check requests and errors at the end

async function join(link, opts = {}) {
    const p = await participant(env.browser, opts);
    everyone.push(p);
    await p.page.goto(link);
    return p;
}

async function leave(...ps) {
    for (const p of ps) await p.context.close();
}

async function tileState(page) {
    return page.$$eval('.tile.remote .tile-state', (els) => els.map((e) => (e.hidden ? '' : e.textContent)));
}

async function waitFor(fn, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        last = await fn();
        if (last) return last;
        await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

describe('a call by one link in Chromium', () => {
    test('home page: one click makes a link with copy, QR, share and start', async () => {
        const home = await participant(env.browser);
        everyone.push(home);
        // Where the system share sheet exists (phones), "Send link" uses it.
        await home.context.addInitScript(() => {
            navigator.share = async (data) => { window.__shared = data; };
        });
        const link = await createLink(env.ngx.base, home.page);
        assert.match(link, new RegExp(`^${env.ngx.base}/r/[1-9A-HJ-NP-Za-km-z]{20,}$`));
        await home.page.waitForSelector('#qr svg.qr');
        const qrLabel = await home.page.getAttribute('#qr svg', 'aria-label');
        assert.match(qrLabel, /QR/);
        await home.page.click('#copy');
        await waitFor(async () => (await home.page.textContent('#copy-status')).length > 0, 'copy status');
        assert.equal(await home.page.getAttribute('#start', 'href'), new URL(link).pathname);
        await home.page.click('#send');
        assert.equal(await home.page.evaluate(() => window.__shared.url), link);
        await screenshot(home.page, 'home-desktop');
        await leave(home);
    });

    test('home and waiting room on a phone (screenshots)', async () => {
        const p = await participant(env.browser, PHONE);
        everyone.push(p);
        await p.page.goto(`${env.ngx.base}/`);
        await screenshot(p.page, 'home-phone');
        await p.page.click('#create');
        await p.page.waitForSelector('#qr svg');
        await screenshot(p.page, 'home-link-phone');
        await p.page.click('#start');
        await waitForStatus(p.page, /Waiting for the other person/);
        await p.page.waitForSelector('#qr svg');
        await screenshot(p.page, 'room-waiting-phone');
        await leave(p);
    });

    test('two people: both decode each other\'s video and receive audio', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page);
        await a.page.click('#start');
        await waitForStatus(a.page, /Waiting for the other person/);
        // "send them this link" with copy and QR, right there
        assert.equal(await a.page.inputValue('#link'), link);
        await a.page.waitForSelector('#qr svg.qr');
        await screenshot(a.page, 'room-waiting-desktop');

        const b = await join(link, PHONE);
        const flowB = await waitForMedia(b.page, 1);
        const flowA = await waitForMedia(a.page, 1);
        assert.ok(flowA[0].frames > 0 && flowA[0].packets > 0, JSON.stringify(flowA));
        assert.ok(flowB[0].frames > 0 && flowB[0].packets > 0, JSON.stringify(flowB));
        for (const p of [a, b]) {
            const w = await p.page.$eval('.tile.remote video', (v) => v.videoWidth);
            assert.ok(w > 0, 'remote video has a picture');
            assert.match(await statusText(p.page), /Connected/);
        }
        // Echo cancellation and friends were asked for explicitly.
        const settings = await a.page.evaluate(() => {
            const s = window.__pcs[0].getSenders().find((x) => x.track?.kind === 'audio').track.getSettings();
            return [s.echoCancellation, s.noiseSuppression, s.autoGainControl];
        });
        assert.deepEqual(settings, [true, true, true]);
        // Video starts capped between 600 and 1000 kbps.
        const maxBitrate = await a.page.evaluate(() => window.__pcs[0].getSenders()
            .find((x) => x.track?.kind === 'video').getParameters().encodings[0].maxBitrate);
        assert.ok(maxBitrate >= 600000 && maxBitrate <= 1000000, `maxBitrate ${maxBitrate}`);
        await sleep(500);
        await screenshot(a.page, 'room-call-desktop');
        await screenshot(b.page, 'room-call-phone');
        await leave(a, b);
    });

    test('microphone and camera toggles are seen on the other side; M and V work', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(a.page, 1);
        await waitForMedia(b.page, 1);

        await a.page.click('#mic');
        assert.equal(await a.page.getAttribute('#mic', 'aria-pressed'), 'false');
        await waitFor(async () => (await tileState(b.page))[0]?.includes('Microphone off'), 'mic off on B');

        await a.page.click('#cam');
        assert.equal(await a.page.getAttribute('#cam', 'aria-pressed'), 'false');
        await waitFor(async () => (await tileState(b.page))[0]?.includes('Camera off'), 'camera off on B');
        // Off means off: the camera track is stopped, not only hidden.
        const live = await a.page.evaluate(() => window.__pcs[0].getSenders()
            .filter((s) => s.track?.kind === 'video').length);
        assert.equal(live, 0);

        // Keyboard: M and V turn them back on.
        await a.page.locator('body').press('m');
        await a.page.locator('body').press('v');
        await waitFor(async () => (await tileState(b.page))[0] === '', 'both back on at B');
        const flow = await waitForMedia(b.page, 1);
        assert.ok(flow[0].frames > 0, 'video flows again after the camera came back');
        assert.equal(await a.page.evaluate(() => window.__pcs.length), 1, 'no new peer connection');
        await leave(a, b);
    });

    test('switching the microphone keeps the call (replaceTrack, same connection)', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(b.page, 1);
        await a.page.click('#more-btn');
        await a.page.waitForSelector('#more:not([hidden])');
        const before = await a.page.evaluate(() => window.__pcs[0].getSenders()
            .find((s) => s.track?.kind === 'audio').track.label);
        const options = await a.page.$$eval('#mic-select option', (os) => os.map((o) => [o.value, o.textContent]));
        const other = options.find(([, label]) => label !== before);
        assert.ok(other, `another microphone to switch to: ${JSON.stringify(options)}`);
        await a.page.selectOption('#mic-select', other[0]);
        await waitFor(() => a.page.evaluate((want) => window.__pcs[0].getSenders()
            .find((s) => s.track?.kind === 'audio')?.track.label === want, other[1]), 'new microphone sent');
        const flow = await perPeerFlow(b.page, 1500);
        assert.ok(flow[0].packets > 0, 'audio still arrives');
        assert.equal(await a.page.evaluate(() => window.__pcs.length), 1);
        assert.equal(await a.page.evaluate(() => window.__pcs[0].connectionState), 'connected');
        await a.page.click('#more-close');
        await leave(a, b);
    });

    test('simultaneous offers from both sides settle (perfect negotiation)', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(a.page, 1);
        // Both sides restart ICE at the same moment: two offers cross.
        for (let round = 0; round < 3; round++) {
            await Promise.all([a, b].map((p) => p.page.evaluate(() => window.__pcs[0].restartIce())));
            await sleep(300);
            await waitFor(async () => {
                const states = await Promise.all([a, b].map((p) => p.page.evaluate(() =>
                    `${window.__pcs[0].signalingState}/${window.__pcs[0].connectionState}`)));
                return states.every((x) => x === 'stable/connected') ? states : null;
            }, 'both stable and connected again');
        }
        const offers = (p) => p.page.__log.filter((l) => l.startsWith('> {"type":"offer"')).length;
        assert.ok(offers(a) + offers(b) >= 4, 'the restarts did make offers');
        const flow = await waitForMedia(a.page, 1);
        assert.ok(flow[0].frames > 0);
        assert.equal(await a.page.evaluate(() => window.__pcs.length), 1, 'no connection was replaced');
        await leave(a, b);
    });

    test('messages go over the data channel to the other side', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(b.page, 1);
        await a.page.click('#more-btn');
        await a.page.fill('#chat-input', 'Hello, Grandma');
        await a.page.click('#chat-send');
        await waitFor(async () => (await b.page.textContent('#chat-log')).includes('Hello, Grandma'), 'message at B');
        assert.match(await b.page.textContent('#notice'), /Hello, Grandma/);
        // the message is not lost when the notice fades: More counts it
        await a.page.fill('#chat-input', 'Can you hear me?');
        await a.page.click('#chat-send');
        await waitFor(async () => (await b.page.textContent('#unread')) === '2', 'two unread at B');
        assert.equal(await b.page.isVisible('#unread'), true);
        assert.equal(await b.page.getAttribute('#more-btn', 'aria-label'), 'More: 2 new chat messages');
        await b.page.click('#more-btn');
        assert.equal(await b.page.isHidden('#unread'), true);
        assert.equal(await b.page.getAttribute('#more-btn', 'aria-label'), null);
        // with More open, a new message is read there and not counted
        await a.page.fill('#chat-input', 'Good');
        await a.page.click('#chat-send');
        await waitFor(async () => (await b.page.textContent('#chat-log')).includes('Good'), 'third message at B');
        assert.equal(await b.page.isHidden('#unread'), true);
        await leave(a, b);
    });

    test('hang up ends the call for both', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(b.page, 1);
        await a.page.click('#hangup');
        await waitForStatus(a.page, /The call has ended/);
        await waitForStatus(b.page, /The other person hung up/);
        for (const p of [a, b]) {
            assert.equal(await p.page.isVisible('#rejoin'), true);
            assert.equal(await p.page.isVisible('.controls'), false);
            const open = await p.page.evaluate(() => window.__pcs.filter((pc) => pc.connectionState !== 'closed').length);
            assert.equal(open, 0, 'no connection left open');
            // the camera is released
            const tracks = await p.page.evaluate(() => window.__pcs.flatMap((pc) => pc.getSenders())
                .filter((s) => s.track && s.track.readyState === 'live').length);
            assert.equal(tracks, 0);
        }
        await screenshot(b.page, 'room-ended-desktop');
        await leave(a, b);
    });

    test('a third participant is refused at the limit of 2 with a clear sentence', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(b.page, 1);
        const c = await join(link, PHONE);
        await waitForStatus(c.page, /This call is full/);
        assert.equal(await c.page.isVisible('#new-link'), true);
        await screenshot(c.page, 'room-full-phone');
        // the two already there are not disturbed
        assert.ok((await perPeerFlow(a.page, 1000))[0].frames > 0);
        await leave(a, b, c);
    });

    test('three and four participants in a family room from the home page all see each other', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { family: true });
        assert.match(await a.page.textContent('#status'), /up to 4 people can join/);
        await a.page.click('#start');
        // once, in plain words, as the call starts
        await a.page.waitForFunction(() => /3 or 4 people, everyone needs a good connection/
            .test(document.querySelector('#notice:not([hidden])')?.textContent ?? ''), null, { timeout: 10000 });
        const b = await join(link);
        const c = await join(link, PHONE);
        for (const p of [a, b, c]) await waitForMedia(p.page, 2, 30000);
        for (const p of [a, b, c]) {
            assert.equal((await p.page.textContent('#room-size')).trim(), 'Up to 4 people can join this call.');
            assert.equal(await p.page.isVisible('#room-size'), true);
        }
        await screenshot(a.page, 'room-three-desktop');
        const d = await join(link);
        for (const p of [a, b, c, d]) await waitForMedia(p.page, 3, 30000);
        for (const p of [a, b, c, d]) {
            assert.equal(await p.page.$$eval('.tile.remote', (t) => t.length), 3);
        }
        await screenshot(a.page, 'room-four-desktop');
        await screenshot(c.page, 'room-four-phone');
        await leave(a, b, c, d);
    });

    test('a reload takes back the same seat, and the other side stays calm', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(a.page, 1);
        const seat = await b.page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':id'))[1]);
        const seen = new Set();
        const poll = setInterval(() => { statusText(a.page).then((t) => seen.add(t), () => undefined); }, 100);
        await b.page.reload();
        await waitForMedia(b.page, 1);
        await waitForMedia(a.page, 1);
        clearInterval(poll);
        const again = await b.page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':id'))[1]);
        assert.equal(again, seat, 'same seat after the reload');
        assert.ok(![...seen].some((t) => /left|ended/.test(t)), `A never thought B left: ${[...seen]}`);
        await leave(a, b);
    });

    test('an nginx reload (close 1001) does not interrupt the call', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        const b = await join(link);
        await waitForMedia(a.page, 1);
        await env.ngx.reload();
        // Media keeps flowing on the same connections while signaling resumes.
        const flow = await perPeerFlow(a.page, 1500);
        assert.ok(flow[0]?.frames > 0, `frames during the reload: ${JSON.stringify(flow)}`);
        await waitFor(async () => (await a.page.evaluate(() => window.__pcs.length)) === 1 &&
            /Connected/.test(await statusText(a.page)), 'A connected on its first connection');
        assert.equal(await b.page.evaluate(() => window.__pcs.length), 1);
        // Both rejoined their seats on new sockets (a second welcome each).
        for (const p of [a, b]) {
            await waitFor(() => p.page.__log.filter((l) => l.startsWith('< {"type":"welcome"')).length === 2,
                'a second welcome');
        }
        await leave(a, b);
    });

    test('a link that is not valid says so', async () => {
        const p = await join(`${env.ngx.base}/r/1111111111111111111111`);
        await waitForStatus(p.page, /not valid or has expired/);
        assert.equal(await p.page.isVisible('#new-link'), true);
        await leave(p);
    });

    test('camera and microphone denied: instructions and Try again, and the call still joins', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        const b = await participant(env.browser);
        everyone.push(b);
        // The first request is refused as a person pressing Block would.
        await b.context.addInitScript(() => {
            const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
            window.__deny = true;
            navigator.mediaDevices.getUserMedia = (c) => (window.__deny
                ? Promise.reject(new DOMException('denied', 'NotAllowedError')) : orig(c));
        });
        await a.page.goto(link);
        await b.page.goto(link);
        await b.page.waitForSelector('#media-help:not([hidden])');
        assert.match(await b.page.textContent('#media-text'), /blocked/);
        assert.match(await b.page.textContent('#media-how'), /address bar/);
        await screenshot(b.page, 'room-denied-desktop');
        // B still sees and hears A while blocked.
        await waitForMedia(b.page, 1);
        await b.page.evaluate(() => { window.__deny = false; });
        await b.page.click('#media-retry');
        await b.page.waitForSelector('#media-help', { state: 'hidden' });
        await waitForMedia(a.page, 1);
        await leave(a, b);
    });

    test('with no camera at all an audio-only call still works', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        const b = await participant(env.browser);
        everyone.push(b);
        await b.context.addInitScript(() => {
            const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
            navigator.mediaDevices.getUserMedia = (c) => (c && c.video
                ? Promise.reject(new DOMException('no camera', 'NotFoundError')) : orig(c));
        });
        await a.page.goto(link);
        await b.page.goto(link);
        await b.page.waitForSelector('#media-help:not([hidden])');
        assert.match(await b.page.textContent('#media-text'), /No camera found/);
        await waitForMedia(b.page, 1);
        // A hears B and is told B's camera is off.
        const flow = await waitFor(async () => {
            const f = await perPeerFlow(a.page, 1000);
            return f[0]?.packets > 0 ? f : null;
        }, 'audio from B');
        assert.ok(flow[0].packets > 0);
        await waitFor(async () => (await tileState(a.page))[0]?.includes('Camera off'), 'camera off at A');
        await leave(a, b);
    });

    test('sound blocked by the browser: a big "tap to turn on sound" button', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        const b = await participant(env.browser, PHONE);
        everyone.push(b);
        // As Safari does: unmuted playback without a tap is refused.
        await b.context.addInitScript(() => {
            const play = HTMLMediaElement.prototype.play;
            window.__tapped = false;
            HTMLMediaElement.prototype.play = function () {
                if (!this.muted && !window.__tapped) return Promise.reject(new DOMException('no', 'NotAllowedError'));
                return play.call(this);
            };
            document.addEventListener('click', () => { window.__tapped = true; }, true);
        });
        await a.page.goto(link);
        await b.page.goto(link);
        await b.page.waitForSelector('#unmute:not([hidden])');
        await screenshot(b.page, 'room-tap-sound-phone');
        assert.equal(await b.page.$eval('.tile.remote video', (v) => v.muted), true);
        await b.page.click('#unmute');
        await b.page.waitForSelector('#unmute', { state: 'hidden' });
        assert.equal(await b.page.$eval('.tile.remote video', (v) => v.muted), false);
        // the self view is always muted and inline
        assert.equal(await b.page.$eval('#self-video', (v) => v.muted && v.hasAttribute('playsinline')), true);
        assert.equal(await b.page.$eval('.tile.remote video', (v) => v.hasAttribute('playsinline')), true);
        await leave(a, b);
    });

    test('the screen stays awake and the lock is taken again after the tab returns', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        await a.context.addInitScript(() => {
            window.__locks = [];
            const fake = {
                request: async () => {
                    const target = new EventTarget();
                    target.released = false;
                    target.release = async () => { target.released = true; target.dispatchEvent(new Event('release')); };
                    window.__locks.push(target);
                    return target;
                },
            };
            Object.defineProperty(navigator, 'wakeLock', { value: fake, configurable: true });
        });
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        await waitFor(() => a.page.evaluate(() => window.__locks.length === 1), 'a wake lock');
        // The browser drops the lock when the tab is hidden...
        await a.page.evaluate(() => window.__locks[0].release());
        await a.page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
        await waitFor(() => a.page.evaluate(() => window.__locks.length === 2), 'the lock taken again');
        // ...and hanging up lets it go.
        await a.page.click('#hangup');
        await waitFor(() => a.page.evaluate(() => window.__locks[1].released), 'lock released');
        await leave(a);
    });

    test('fullscreen from the More panel; Esc leaves it; screen sharing only where it exists', async () => {
        const a = await participant(env.browser);
        everyone.push(a);
        const link = await createLink(env.ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        await a.page.click('#more-btn');
        assert.equal(await a.page.isVisible('#screen'), true, 'Chromium can share its screen');
        const ios = await participant(env.browser, PHONE);
        everyone.push(ios);
        // As on iOS: no getDisplayMedia, so no button that could only fail.
        await ios.context.addInitScript(() => { delete MediaDevices.prototype.getDisplayMedia; });
        await ios.page.goto(link);
        await ios.page.click('#more-btn');
        assert.equal(await ios.page.isVisible('#screen'), false);
        await screenshot(ios.page, 'room-settings-phone');
        await leave(ios);
        await a.page.click('#fullscreen');
        await waitFor(() => a.page.evaluate(() => document.fullscreenElement !== null), 'fullscreen');
        await a.page.keyboard.press('Escape');
        await waitFor(() => a.page.evaluate(() => document.fullscreenElement === null), 'left fullscreen');
        await leave(a);
    });

    test('Russian from the browser language, ?lang= and the server\'s meta tag', async () => {
        const ru = await participant(env.browser, { locale: 'ru-RU' });
        everyone.push(ru);
        await ru.page.goto(`${env.ngx.base}/`);
        assert.equal(await ru.page.textContent('#create'), 'Создать ссылку');
        await ru.page.goto(`${env.ngx.base}/?lang=en`);
        assert.equal(await ru.page.textContent('#create'), 'Create link');
        const en = await participant(env.browser, { locale: 'en-US' });
        everyone.push(en);
        // What a sysadmin adds with sub_filter: the page follows it.
        await en.page.route(`${env.ngx.base}/`, async (route) => {
            const res = await route.fetch();
            const body = (await res.text()).replace('<head>', '<head><meta name="webcall-lang" content="ru">');
            await route.fulfill({ response: res, body });
        });
        await en.page.goto(`${env.ngx.base}/`);
        assert.equal(await en.page.textContent('#create'), 'Создать ссылку');
        await screenshot(ru.page, 'home-desktop-en-from-ru');
        await leave(ru, en);
    });

    test('no request ever leaves the site, and no page error', () => {
        const all = everyone.flatMap((p) => p.requests);
        assert.ok(all.length > 20, `requests were recorded (${all.length})`);
        assert.deepEqual(foreignRequests(all, env.ngx.base), []);
        assert.deepEqual(everyone.flatMap((p) => p.errors), []);
    });
});
