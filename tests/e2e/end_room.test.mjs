// "End the call for everyone" in Chromium: the person who created the link
// (its owner key in that browser's storage) ends the call from "More",
// after one confirmation; the other person sees "The call was ended by its
// host", the host a big "Create a new link", and the link stays dead for a
// newcomer, after nginx -s reload and after a full restart. axe finds
// nothing on the new screens, in English and in Russian.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, startNginx } from '../lib/nginx.mjs';
import { axe, createLink, launch, participant, waitForMedia, waitForStatus } from './browser.mjs';



describe('ending the call for everyone', () => {
    let ngx, browser;

    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false });
        browser = await launch();
    });

    after(async () => {
        await browser?.close();
        await ngx?.stop();
    });

    it('ends it for both, and the link stays dead after a reload and a restart', { timeout: 120000 }, async () => {
        // axe is injected, which the shipped CSP would refuse (a11y.test.mjs)
        const host = await participant(browser, { bypassCSP: true });
        const guest = await participant(browser, { bypassCSP: true, locale: 'ru-RU' });
        const late = await participant(browser, { bypassCSP: true });
        try {
            const link = await createLink(ngx.base, host.page);
            await host.page.click('#start');
            await guest.page.goto(link);
            await waitForMedia(host.page, 1, 30000);
            await waitForMedia(guest.page, 1, 30000);

            // only the host is offered the button
            await guest.page.click('#more-btn');
            assert.equal(await guest.page.isHidden('#end-room'), true, 'a guest cannot end the room');
            await guest.page.click('#more-close');
            await host.page.click('#more-btn');
            assert.equal(await host.page.isVisible('#end-all'), true);
            await host.page.click('#end-all');
            // one confirmation, in words; "No" keeps the call
            assert.match(await host.page.textContent('#end-question'), /End the call for everyone\? Nobody/);
            await axe(host.page, 'the confirmation');
            await host.page.click('#end-no');
            assert.equal(await host.page.isVisible('#end-all'), true);
            await host.page.click('#end-all');
            await host.page.click('#end-yes');

            await waitForStatus(host.page, /You ended the call for everyone/);
            await waitForStatus(guest.page, /Звонок завершён тем, кто его создал/);
            assert.match(await host.page.getAttribute('#new-link', 'class'), /btn-primary.*btn-huge|btn-huge.*btn-primary/);
            assert.equal(await host.page.isVisible('#new-link'), true);
            assert.equal(await host.page.evaluate(() => document.activeElement?.id), 'new-link');
            assert.equal(await guest.page.isHidden('#rejoin'), true, 'no "join again" into an ended call');
            await axe(host.page, 'the host\'s ended screen');
            await axe(guest.page, 'the guest\'s ended screen (ru)');
            // the owner key is gone from the host's browser
            assert.equal(await host.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('webcall:owner:')).length), 0);

            const token = new URL(link).pathname.split('/').pop();
            assert.equal((await request(ngx.base, `/api/rooms/${token}`)).status, 410);
            for (const when of ['now', 'after nginx -s reload', 'after a restart']) {
                if (when === 'after nginx -s reload') await ngx.reload();
                if (when === 'after a restart') await ngx.restart();
                await late.page.goto(link);
                await waitForStatus(late.page, /This link was ended/, 15000).catch((e) => {
                    throw new Error(`${when}: ${e.message}`);
                });
            }
            await axe(late.page, 'an ended link');
            // the create-a-new-link way out works: the home page makes one
            await late.page.click('#new-link');
            await late.page.waitForSelector('#create');
            for (const p of [host, guest, late]) assert.deepEqual(p.errors, []);
        } finally {
            for (const p of [host, guest, late]) await p.context.close();
        }
    });

    it('a one-time link from the home page refuses a newcomer after the first call', { timeout: 90000 }, async () => {
        const host = await participant(browser, { bypassCSP: true });
        const guest = await participant(browser);
        const late = await participant(browser);
        try {
            await host.page.goto(`${ngx.base}/`);
            await host.page.click('#options summary');
            await axe(host.page, 'the home page with its options open');
            await host.page.check('#one-time');
            await host.page.click('#create');
            await host.page.waitForSelector('#result:not([hidden])');
            // the status is announced a moment after the result shows (dom.ts announce)
            await host.page.waitForFunction(() => /It works for one call only/.test(document.querySelector('#status')?.textContent ?? ''));
            const link = await host.page.inputValue('#link');
            await host.page.click('#start');
            await guest.page.goto(link);
            await waitForMedia(host.page, 1, 30000);
            await waitForMedia(guest.page, 1, 30000);
            await host.page.click('#hangup');
            await waitForStatus(guest.page, /The other person hung up/);
            // The guest leaves at once on the host's goodbye; the host
            // itself leaves 150 ms later (room.ts hangUp), and only then
            // was the call over. A newcomer in between would join the host.
            const token = new URL(link).pathname.split('/').pop();
            const deadline = Date.now() + 10000;
            let status = 0;
            while ((status = (await request(ngx.base, `/api/rooms/${token}`)).status) !== 410
                   && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 50));
            }
            assert.equal(status, 410, 'the one-time link ends once the last caller left');
            await late.page.goto(link);
            await waitForStatus(late.page, /This link was ended/);
        } finally {
            for (const p of [host, guest, late]) await p.context.close();
        }
    });
});
