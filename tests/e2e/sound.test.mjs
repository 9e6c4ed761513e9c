// Sound that needs a tap (issue 18): iOS refuses to play sound until the
// person has touched the page. No Chromium flag makes Chromium refuse
// (docs/web-client.md), so an init script plays iOS's rule in the phone's
// page: play() of an element with sound is refused with a NotAllowedError
// (and the element stays paused) until the first tap or click; muted
// inline playback is allowed, as on iOS. In a room of 3 the phone has two
// remote tiles: the page must show them muted, offer one big "Tap here to
// turn on the sound", and one tap must turn the sound on for both, after
// which the button goes. Again in Russian after a reload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, participant, screenshot, waitForMedia } from './browser.mjs';
import { IPHONE, reachProblems, until } from './phone_lib.mjs';
import { newRoom } from './recovery_lib.mjs';

const env = serverAndBrowser();

// In the phone's page, before its scripts: iOS's autoplay rule.
function iosAutoplayRule() {
    let touched = false;
    window.__refused = 0;
    for (const type of ['touchend', 'click', 'keydown']) {
        window.addEventListener(type, () => { touched = true; }, { capture: true });
    }
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function () {
        if (!touched && !this.muted) {
            window.__refused++;
            // not started by its autoplay attribute either
            this.pause();
            return Promise.reject(new DOMException(
                'The request is not allowed by the user agent or the platform in the current context, ' +
                'possibly because the user denied permission.', 'NotAllowedError'));
        }
        return play.call(this);
    };
}

// Every remote video of the page: muted, playing, and showing frames.
async function remoteVideos(page) {
    const read = () => page.$$eval('.tile.remote video', (vs) => vs.map((v) => ({
        muted: v.muted, paused: v.paused, width: v.videoWidth,
        shown: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime,
        audio: v.srcObject?.getAudioTracks().filter((t) => t.readyState === 'live' && t.enabled).length ?? 0,
    })));
    const a = await read();
    await new Promise((r) => setTimeout(r, 700));
    const b = await read();
    return b.map((v, i) => ({ ...v, advancing: a[i] !== undefined && v.shown > a[i].shown && v.time > a[i].time }));
}

// Waits for the one big button, checks it and the muted pictures, taps it
// and checks that both remote tiles now play with sound.
async function tapForSound(page, sentence, shot) {
    await page.waitForSelector('#unmute:not([hidden])', { timeout: 20000 });
    const buttons = await page.$$eval('button', (bs) => bs.filter((b) => b.getClientRects().length > 0 &&
        /sound|звук/i.test(b.textContent)).map((b) => {
        const r = b.getBoundingClientRect();
        return { id: b.id, text: b.textContent.trim(), w: r.width, h: r.height };
    }));
    assert.equal(buttons.length, 1, `one button for the sound: ${JSON.stringify(buttons)}`);
    assert.equal(buttons[0].id, 'unmute');
    assert.equal(buttons[0].text, sentence);
    assert.ok(buttons[0].h >= 64 && buttons[0].w >= 200, `a big button: ${JSON.stringify(buttons[0])}`);
    // on screen, nothing covered by it, nothing scrolls
    assert.deepEqual(await page.evaluate(reachProblems), []);
    assert.ok(await page.evaluate(() => window.__refused) >= 2, 'sound was refused for both tiles');
    // Meanwhile the pictures play, muted.
    const before = await until('both pictures playing muted', async () => {
        const vs = await remoteVideos(page);
        return vs.length === 2 && vs.every((v) => v.muted && !v.paused && v.advancing && v.width > 0) ? vs : null;
    }, 15000, 200);
    await screenshot(page, shot);

    await page.tap('#unmute');
    await page.waitForSelector('#unmute', { state: 'hidden', timeout: 5000 });
    const afterTap = await until('both tiles playing with sound', async () => {
        const vs = await remoteVideos(page);
        return vs.length === 2 && vs.every((v) => !v.muted && !v.paused && v.advancing && v.audio > 0) ? vs : null;
    }, 5000, 200);
    return { before, afterTap };
}

describe('sound that needs a tap, in a room of 3', () => {
    test('one big button; one tap turns the sound on for every tile; the button goes (English, then Russian)',
        { timeout: 120000 }, async () => {
            const link = await newRoom(env.ngx.base, 3);
            const a = await participant(env.browser);
            const b = await participant(env.browser);
            const c = await participant(env.browser, IPHONE);
            await c.context.addInitScript(iosAutoplayRule);
            try {
                await a.page.goto(link);
                await b.page.goto(link);
                await waitForMedia(a.page, 1, 30000);
                await c.page.goto(link);
                await waitForMedia(c.page, 2, 30000);

                const en = await tapForSound(c.page, 'Tap here to turn on the sound', 'room-tap-sound-iphone');
                console.log(`# before the tap: ${JSON.stringify(en.before)}; after: ${JSON.stringify(en.afterTap)}`);

                // A reload (a new page, not yet touched) in Russian.
                await c.page.goto(`${link}?lang=ru`);
                await waitForMedia(c.page, 2, 30000);
                await tapForSound(c.page, 'Нажмите здесь, чтобы включить звук', 'room-tap-sound-iphone-ru');
                assert.deepEqual([...a.errors, ...b.errors, ...c.errors], []);
            } finally {
                for (const p of [a, b, c]) await p.context.close();
            }
        });
});
