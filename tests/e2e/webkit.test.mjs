// The pages in WebKit, the Safari engine: Debian's WebKitGTK MiniBrowser on
// its own Xvfb display, over WebDriver (tests/lib/webkit.mjs). That build
// has no WebRTC at all, which makes it a browser that cannot call:
//
// - the home page makes a link;
// - the room page says so, plainly, at once, with the link and Copy link,
//   takes no seat, and on request shows the mock camera's picture;
// - a Chromium caller waiting in the room is told "The other person's
//   browser can't make video calls", whether it came first or second, and
//   the room of two stays free for a real call;
// - no script error on any WebKit page; screenshots of the home and room
//   pages in test-results/webkit/.
//
// Never skipped: a missing Xvfb, WebKitWebDriver or MiniBrowser fails the
// test and names the package step (`make deps` installs them).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TOP, request, sleep, startNginx } from '../lib/nginx.mjs';
import { errorCollectingRoot, pageErrors, startWebKit } from '../lib/webkit.mjs';
import { createLink, launch, participant, waitForStatus } from './browser.mjs';

const SHOTS = path.join(TOP, 'test-results/webkit');
const CANNOT = /^This browser can't make video calls\. Open the link in Safari or Chrome\.$/;
const TOLD = /The other person's browser can't make video calls/;

let ngx;
let wk;
let browser;
const chromiumPages = [];

async function chromium(link) {
    const p = await participant(browser);
    chromiumPages.push(p);
    await p.page.goto(link);
    return p;
}

async function participants(link) {
    const token = new URL(link).pathname.split('/')[2];
    const res = await request(ngx.base, `/api/rooms/${token}`);
    assert.equal(res.status, 200, res.body);
    return res.json.participants;
}

// The can't-call screen is shown, the call is not, and which sentence.
const SCREEN = `const c = document.getElementById('cannot');
    return c && !c.hidden && document.getElementById('call').hidden &&
        { title: document.getElementById('cannot-title').textContent,
          link: document.getElementById('cannot-link').value,
          copy: document.getElementById('cannot-copy').textContent,
          cam: !document.getElementById('cannot-cam').hidden,
          lang: document.documentElement.lang }`;

async function noErrors(s, what) {
    const errors = await pageErrors(s);
    assert.ok(Array.isArray(errors), `${what}: the error collector did not load`);
    assert.deepEqual(errors, [], `${what}: script errors in WebKit`);
}

describe('WebKit (the Safari engine)', () => {
    before(async () => {
        fs.mkdirSync(SHOTS, { recursive: true });
        ngx = await startNginx({ workers: 1, rateLimit: false, webRoot: await errorCollectingRoot() });
        wk = await startWebKit();
        browser = await launch();
    });

    after(async () => {
        await browser?.close();
        await wk?.stop();
        await ngx?.stop();
        for (const p of chromiumPages) assert.deepEqual(p.errors, [], 'errors in a Chromium page');
    });

    test('the error collector catches what it must: a thrown error and a rejection', async () => {
        const s = await wk.session();
        await s.go(`${ngx.base}/`);
        await s.exec(`setTimeout(() => { throw new Error('probe one'); }); Promise.reject(new Error('probe two'));`);
        const errors = await s.until('const e = window.__testErrors; return e && e.length >= 2 && e', 'the probes');
        assert.match(errors.join('\n'), /probe one/);
        assert.match(errors.join('\n'), /probe two/);
        await s.close();
    });

    test('home page: "Create link" makes a link', async () => {
        const s = await wk.session();
        await s.go(`${ngx.base}/`);
        await s.until(`return document.title === 'Video call by one link'`, 'the page localized');
        await s.click(await s.find('#create'));
        const link = await s.until(
            `const r = document.getElementById('result'); return r && !r.hidden && document.getElementById('link').value`,
            'the link');
        assert.match(link, new RegExp(`^${ngx.base}/r/[1-9A-HJ-NP-Za-km-z]{20,}$`));
        assert.equal(await participants(link), 0);
        await s.until(`return document.querySelector('#qr svg')`, 'the QR code');
        await s.screenshot(path.join(SHOTS, 'home.png'));
        await noErrors(s, 'home page');
        await s.close();
    });

    test('a Chromium caller waits, WebKit comes: WebKit says it cannot call and shows its camera; Chromium is told', async () => {
        const home = await participant(browser);
        chromiumPages.push(home);
        const link = await createLink(ngx.base, home.page);
        await home.context.close();
        const a = await chromium(link);
        await waitForStatus(a.page, /Waiting for the other person/);

        const s = await wk.session();
        await s.go(link);
        const shown = await s.until(SCREEN, 'the can\'t-call screen', 5000);
        assert.match(shown.title, CANNOT);
        assert.equal(shown.link, link);
        assert.equal(shown.copy, 'Copy link');
        assert.equal(shown.cam, true, 'an ordinary browser without WebRTC offers the camera check');
        await s.screenshot(path.join(SHOTS, 'room.png'));

        // The waiting caller is told in words, and keeps the link to send.
        await waitForStatus(a.page, TOLD, 10000);
        assert.equal(await a.page.isVisible('#share'), true);
        // WebKit held a seat only for the moment of telling.
        assert.equal(await participants(link), 1);

        // The camera check: the mock camera's picture, moving.
        await s.click(await s.find('#cannot-cam'));
        const v = await s.until(`const v = document.getElementById('cannot-video');
            return !document.getElementById('cannot-self').hidden && v.readyState >= 2 && v.videoWidth > 0 &&
                { w: v.videoWidth, h: v.videoHeight, t: v.currentTime }`, 'the self view', 10000);
        assert.ok(v.w >= 320 && v.h >= 240, JSON.stringify(v));
        await sleep(1000);
        const later = await s.exec(`return document.getElementById('cannot-video').currentTime`);
        assert.ok(later > v.t, `the picture does not move: ${v.t} then ${later}`);
        assert.equal(await s.exec(`return document.getElementById('cannot-cam-status').textContent`),
            'Your camera works. Only this browser can\'t make the call.');
        await s.screenshot(path.join(SHOTS, 'room-camera.png'));
        await a.page.screenshot({ path: path.join(SHOTS, 'room-chromium-told.png') });

        // Off again: the camera is released.
        await s.click(await s.find('#cannot-cam'));
        await s.until(`return document.getElementById('cannot-self').hidden &&
            document.getElementById('cannot-video').srcObject === null`, 'the camera off');
        await noErrors(s, 'room page');
        await s.close();
        await a.context.close();
    });

    test('WebKit first, then Chromium: told within seconds, and the room of two still makes a call', async () => {
        const res = await request(ngx.base, '/api/rooms', { method: 'POST', json: {} });
        const link = ngx.base + res.json.url;
        const s = await wk.session();
        await s.go(`${link}?lang=ru`);
        const shown = await s.until(SCREEN, 'the can\'t-call screen', 5000);
        assert.equal(shown.lang, 'ru');
        assert.equal(shown.title, 'Этот браузер не умеет делать видеозвонки. Откройте ссылку в Safari или Chrome.');
        await s.screenshot(path.join(SHOTS, 'room-ru.png'));
        await sleep(1000);
        assert.equal(await participants(link), 0, 'a browser that cannot call takes no seat');

        const a = await chromium(link);
        await waitForStatus(a.page, TOLD, 15000);
        const b = await chromium(link);
        await waitForStatus(a.page, /^Connected\.$/, 20000);
        await waitForStatus(b.page, /^Connected\.$/, 20000);
        await noErrors(s, 'room page, Russian');
        await s.close();
        await a.context.close();
        await b.context.close();
    });
});
