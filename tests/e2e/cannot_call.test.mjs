// A browser that cannot call, played by Chromium with one piece taken away
// (webkit.test.mjs has a real one): the sentence that fits the missing
// piece, at once, never a blank page, a raw error or an endless
// "Connecting…"; and the people waiting in the room are told, also when the
// browser found out only after it joined, or is an old page that says
// nothing at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, sleep, startNginx } from '../lib/nginx.mjs';
import { Peer } from '../lib/ws.mjs';
import { launch, participant, waitForStatus } from './browser.mjs';

const TOLD = /^The other person's browser can't make video calls\. Ask them to open the link in Safari or Chrome\.$/;

let ngx;
let browser;
const pages = [];

before(async () => {
    ngx = await startNginx({ workers: 1, rateLimit: false });
    browser = await launch({ args: ['--host-resolver-rules=MAP webcall.test 127.0.0.1'] });
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
});

async function newRoom() {
    const res = await request(ngx.base, '/api/rooms', { method: 'POST', json: {} });
    assert.equal(res.status, 201, res.body);
    return { link: ngx.base + res.json.url, token: res.json.token };
}

async function participants(token) {
    return (await request(ngx.base, `/api/rooms/${token}`)).json.participants;
}

async function person(link, { init, ...opts } = {}) {
    const p = await participant(browser, opts);
    pages.push(p);
    if (init) await p.context.addInitScript(init);
    await p.page.goto(link);
    return p;
}

async function screenOf(page) {
    await page.waitForSelector('#cannot:not([hidden])', { timeout: 5000 });
    return {
        title: await page.textContent('#cannot-title'),
        app: await page.isVisible('#cannot-app') ? await page.textContent('#cannot-app') : null,
        steps: await page.isVisible('#cannot-steps') ? await page.textContent('#cannot-steps') : null,
        link: await page.inputValue('#cannot-link'),
        cam: await page.isVisible('#cannot-cam'),
        call: await page.isVisible('#call'),
    };
}

describe('a browser that cannot call', () => {
    test('no getUserMedia: the camera sentence, the link, no seat, no camera check', async () => {
        const { link, token } = await newRoom();
        const p = await person(link, { init: () => { delete MediaDevices.prototype.getUserMedia; } });
        const s = await screenOf(p.page);
        assert.equal(s.title, 'This browser can\'t use a camera or microphone, so it can\'t make video calls. ' +
            'Open the link in Safari or Chrome.');
        assert.equal(s.link, link);
        assert.equal(s.call, false);
        assert.equal(s.cam, false);
        await p.page.click('#cannot-copy');
        await p.page.waitForFunction(() => document.getElementById('cannot-copy-status').textContent !== '');
        await sleep(500);
        assert.equal(await participants(token), 0);
        assert.deepEqual(p.errors, []);
        await p.context.close();
    });

    test('a plain-http address that is not this machine: the https sentence', async () => {
        const { link } = await newRoom();
        const insecure = link.replace('127.0.0.1', 'webcall.test');
        const p = await person(insecure);
        assert.equal(await p.page.evaluate(() => window.isSecureContext), false);
        const s = await screenOf(p.page);
        assert.equal(s.title, 'Video calls only work at an address that starts with https://. ' +
            'Ask the person who sent you this link for the right one.');
        assert.equal(s.app, null);
        assert.deepEqual(p.errors, []);
        await p.context.close();
    });

    test('inside a messenger on a phone: the app is named, and the steps out of it', async () => {
        const { link } = await newRoom();
        const p = await person(link, {
            viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
            userAgent: 'Mozilla/5.0 (Linux; Android 13; SM-S908B Build/TP1A.220624.014; wv) AppleWebKit/537.36 ' +
                '(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 ' +
                '[FB_IAB/FB4A;FBAV/442.0.0.36.109;]',
            init: () => { delete window.RTCPeerConnection; },
        });
        const s = await screenOf(p.page);
        assert.equal(s.title, 'This browser can\'t make video calls. Open the link in Safari or Chrome.');
        assert.equal(s.app, 'You opened the link inside Facebook. Its own browser can\'t make video calls.');
        assert.equal(s.steps, 'Tap ⋮ at the top right, then choose Open in Chrome or Open in browser.');
        assert.equal(s.cam, false, 'no camera prompt from inside a messenger');
        assert.deepEqual(p.errors, []);
        await p.context.close();
    });

    test('RTCPeerConnection throws once the call starts: it leaves, says so, and the other person is told', async () => {
        const { link, token } = await newRoom();
        const a = await person(link);
        await waitForStatus(a.page, /Waiting for the other person/);
        const b = await person(link, {
            init: () => {
                window.RTCPeerConnection = function () { throw new DOMException('WebRTC is off', 'NotSupportedError'); };
            },
        });
        const s = await screenOf(b.page);
        assert.equal(s.title, 'This browser can\'t make video calls. Open the link in Safari or Chrome.');
        await waitForStatus(a.page, TOLD, 10000);
        assert.equal(await participants(token), 1, 'its seat is free again');
        assert.deepEqual(a.errors, []);
        assert.deepEqual(b.errors, []);
        await a.context.close();
        await b.context.close();
    });

    test('an old page that joined and never says a word: the other person is told, not "Connecting…" for ever', async () => {
        const { link, token } = await newRoom();
        const a = await person(link);
        await waitForStatus(a.page, /Waiting for the other person/);
        const silent = await Peer.open(ngx.port, token);
        await silent.join();
        await waitForStatus(a.page, /The other person is here/);
        await waitForStatus(a.page, TOLD, 20000);
        silent.ws.close();
        assert.deepEqual(a.errors, []);
        await a.context.close();
    });
});
