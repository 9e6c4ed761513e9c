// Accessibility: axe-core finds no WCAG 2.2 A/AA violation on the home page
// and the room page in its main states, at phone and desktop size.
//
// axe is injected with page.addScriptTag, which the shipped CSP
// (script-src 'self') would refuse; so these contexts, and only these, are
// made with bypassCSP: true. Every other e2e test runs under the real CSP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx } from '../lib/nginx.mjs';
import { axe, createLink, launch, participant, waitForMedia, waitForStatus } from './browser.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

let ngx;
let browser;

before(async () => {
    ngx = await startNginx({ workers: 1, rateLimit: false });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
});


describe('accessibility (axe-core)', () => {
    for (const [size, opts] of [['desktop', {}], ['phone', PHONE]]) {
        test(`home page, before and after creating a link (${size})`, async () => {
            const p = await participant(browser, { bypassCSP: true, ...opts });
            await p.page.goto(`${ngx.base}/`);
            await axe(p.page, 'home');
            // More options: the one-time box, the PIN field and the
            // sentence a malformed PIN gets
            await p.page.click('#options summary');
            await p.page.fill('#pin-new', '12');
            await p.page.click('#create');
            await p.page.waitForSelector('#pin-new[aria-invalid="true"]');
            await axe(p.page, 'home, more options, a malformed PIN');
            await p.page.fill('#pin-new', '');
            await p.page.click('#options summary');
            await p.page.click('#create');
            await p.page.waitForSelector('#qr svg');
            await axe(p.page, 'home with link');
            await p.context.close();
        });

        test(`room page: waiting, in a call, settings open, ended (${size})`, async () => {
            const a = await participant(browser, { bypassCSP: true, ...opts });
            const link = await createLink(ngx.base, a.page, { maxParticipants: 2 });
            await a.page.goto(link);
            await waitForStatus(a.page, /Waiting/);
            await a.page.waitForSelector('#qr svg');
            await axe(a.page, 'room waiting');
            const b = await participant(browser);
            await b.page.goto(link);
            await waitForMedia(a.page, 1);
            await axe(a.page, 'room in a call');
            await a.page.click('#mic');
            await a.page.click('#more-btn');
            await axe(a.page, 'room settings');
            // the picture quality choice with "Sound only" chosen, and the
            // tiles that then say so; B's beep puts the speaking ring on B
            await a.page.click('#quality input[value="audio"]');
            await a.page.waitForSelector('#self-state:not([hidden])');
            await a.page.waitForSelector('.tile.remote.speaking', { timeout: 15000 });
            await axe(a.page, 'room settings, sound only, a speaker');
            await a.page.click('#quality input[value="best"]');
            await a.page.click('#more-close');
            await a.page.click('#hangup');
            await waitForStatus(a.page, /ended/);
            await axe(a.page, 'room ended');
            await a.context.close();
            await b.context.close();
        });
    }

    for (const [size, opts] of [['desktop', {}], ['phone', PHONE]]) {
        test(`PIN screen: the keypad, a wrong PIN, Russian (${size})`, async () => {
            const res = await fetch(`${ngx.base}/api/rooms`, {
                method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pin: '4321' }),
            });
            const { url } = await res.json();
            for (const locale of ['en-US', 'ru-RU']) {
                const p = await participant(browser, { bypassCSP: true, locale, ...opts });
                await p.page.goto(`${ngx.base}${url}`);
                await p.page.waitForSelector('#pin:not([hidden])');
                await axe(p.page, `PIN screen (${locale})`);
                await p.page.fill('#pin-input', '0000');
                await p.page.click('#pin-ok');
                await p.page.waitForSelector('#pin-status.error');
                await p.page.waitForFunction(() => (document.querySelector('#pin-status')?.textContent ?? '').length > 0);
                await axe(p.page, `PIN screen after a wrong PIN (${locale})`);
                const small = await p.page.$$eval('#pin button, #pin input', (els) => els
                    .map((e) => e.getBoundingClientRect())
                    .filter((r) => r.width < 48 || r.height < 48).length);
                assert.equal(small, 0, 'every key is at least 48 px');
                await p.context.close();
            }
        });
    }

    // A browser without WebRTC (cannot_call.test.mjs, webkit.test.mjs): on
    // the phone inside a messenger (its name and the steps out), on the
    // desktop with the camera check's picture.
    const MESSENGER = 'Mozilla/5.0 (Linux; Android 13; SM-S908B Build/TP1A.220624.014; wv) AppleWebKit/537.36 ' +
        '(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/442.0.0.36.109;]';
    for (const [size, opts] of [['desktop', {}], ['phone', { ...PHONE, userAgent: MESSENGER }]]) {
        test(`a browser that cannot call (${size})`, async () => {
            const res = await fetch(`${ngx.base}/api/rooms`, { method: 'POST' });
            const { url } = await res.json();
            for (const locale of ['en-US', 'ru-RU']) {
                const p = await participant(browser, { bypassCSP: true, locale, ...opts });
                await p.context.addInitScript(() => { delete window.RTCPeerConnection; });
                await p.page.goto(`${ngx.base}${url}`);
                await p.page.waitForSelector('#cannot:not([hidden])');
                await axe(p.page, `cannot call (${locale})`);
                if (size === 'desktop') {
                    await p.page.click('#cannot-cam');
                    await p.page.waitForFunction(() => document.getElementById('cannot-video').videoWidth > 0);
                    await axe(p.page, `cannot call, the camera check (${locale})`);
                } else {
                    assert.equal(await p.page.isVisible('#cannot-steps'), true);
                }
                const small = await p.page.$$eval('#cannot button', (els) => els
                    .filter((e) => !e.hidden)
                    .map((e) => e.getBoundingClientRect())
                    .filter((r) => r.width < 48 || r.height < 48).length);
                assert.equal(small, 0, 'every button is at least 48 px');
                await p.context.close();
            }
        });
    }

    test('every control is reachable by keyboard and at least 48 px', async () => {
        const a = await participant(browser);
        const link = await createLink(ngx.base, a.page, { maxParticipants: 2 });
        await a.page.goto(link);
        await waitForStatus(a.page, /Waiting/);
        const small = await a.page.$$eval('button, a, select, input, textarea', (els) => els
            .filter((e) => e.getClientRects().length > 0)
            .map((e) => ({ id: e.id || e.textContent.trim(), ...e.getBoundingClientRect().toJSON() }))
            .filter((r) => r.width < 48 || r.height < 48)
            .map((r) => `${r.id} ${Math.round(r.width)}x${Math.round(r.height)}`));
        assert.deepEqual(small, []);
        const reached = new Set();
        for (let i = 0; i < 15; i++) {
            await a.page.keyboard.press('Tab');
            reached.add(await a.page.evaluate(() => document.activeElement?.id));
        }
        for (const id of ['copy', 'mic', 'cam', 'link-btn', 'more-btn', 'hangup']) {
            assert.ok(reached.has(id), `Tab reaches #${id}: ${[...reached]}`);
        }
        // the focus ring is visible
        await a.page.focus('#mic');
        await a.page.keyboard.press('Shift+Tab');
        await a.page.keyboard.press('Tab');
        const outline = await a.page.$eval('#mic', (e) => getComputedStyle(e).outlineStyle);
        assert.equal(outline, 'solid');
        await a.context.close();
    });
});
