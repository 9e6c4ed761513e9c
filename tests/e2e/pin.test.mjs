// The PIN guard in Chromium: a room created from the home page's "More
// options" with a PIN; its creator goes straight in (the pass the creation
// returned is in that browser's storage), a second person gets the keypad,
// a wrong PIN is refused with a sentence, the right one admits and the call
// connects. A reload never asks again, and a room without a PIN never
// shows the keypad.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx } from '../lib/nginx.mjs';
import { axe, createLink, launch, participant, waitForMedia, waitForStatus } from './browser.mjs';

describe('a room with a PIN', () => {
    let ngx, browser;

    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false });
        browser = await launch();
    });

    after(async () => {
        await browser?.close();
        await ngx?.stop();
    });

    it('admits the right PIN and refuses the wrong one', { timeout: 120000 }, async () => {
        const host = await participant(browser, { bypassCSP: true });
        const guest = await participant(browser, { bypassCSP: true });
        try {
            await host.page.goto(`${ngx.base}/`);
            await host.page.click('#options summary');
            // a PIN that is not 4-6 digits is caught before any request
            await host.page.fill('#pin-new', '12');
            await host.page.click('#create');
            await host.page.waitForFunction(() => /4 to 6 digits/.test(document.querySelector('#status')?.textContent ?? ''));
            assert.equal(await host.page.isHidden('#result'), true);
            await host.page.fill('#pin-new', '2580');
            await host.page.click('#create');
            await host.page.waitForSelector('#result:not([hidden])');
            // announced a moment after the result shows (dom.ts announce)
            await host.page.waitForFunction(() => /must type the PIN/.test(document.querySelector('#status')?.textContent ?? ''));
            const link = await host.page.inputValue('#link');
            assert.ok(!link.includes('2580'), 'the PIN is not in the link');

            // the creator is never asked for their own PIN
            await host.page.click('#start');
            await waitForStatus(host.page, /Waiting/);
            assert.equal(await host.page.isHidden('#pin'), true);

            // the guest gets the keypad, in plain words
            await guest.page.goto(link);
            await guest.page.waitForSelector('#pin:not([hidden])');
            assert.equal(await guest.page.isHidden('#call'), true);
            assert.match(await guest.page.textContent('#pin'), /Type the PIN you were given/);
            await axe(guest.page, 'the PIN screen');
            assert.equal(await guest.page.evaluate(() => document.activeElement?.id), 'pin-input');

            // a wrong PIN on the keypad: refused with the tries left
            for (const d of '1111') await guest.page.click(`#pin button[data-digit="${d}"]`);
            await guest.page.click('#pin-erase');
            await guest.page.click('#pin button[data-digit="2"]');
            assert.equal(await guest.page.inputValue('#pin-input'), '1112');
            await guest.page.click('#pin-ok');
            await guest.page.waitForFunction(() => /Wrong PIN\. 4 tries left\./.test(document.querySelector('#pin-status')?.textContent ?? ''));
            assert.equal(await guest.page.inputValue('#pin-input'), '');
            await axe(guest.page, 'the PIN screen after a wrong PIN');

            // the right one, typed on the keyboard: in, and the call connects
            await guest.page.keyboard.type('2580');
            await guest.page.keyboard.press('Enter');
            await guest.page.waitForSelector('#pin', { state: 'hidden' });
            await waitForMedia(host.page, 1, 30000);
            await waitForMedia(guest.page, 1, 30000);

            // a reload resumes without asking again
            await guest.page.reload();
            await waitForMedia(guest.page, 1, 30000);
            assert.equal(await guest.page.isHidden('#pin'), true);
            for (const p of [host, guest]) assert.deepEqual(p.errors, []);
        } finally {
            for (const p of [host, guest]) await p.context.close();
        }
    });

    it('shows no PIN screen in a room without a PIN', { timeout: 60000 }, async () => {
        const a = await participant(browser);
        try {
            const link = await createLink(ngx.base, a.page);
            await a.page.goto(link);
            await waitForStatus(a.page, /Waiting/);
            assert.equal(await a.page.isHidden('#pin'), true);
            assert.deepEqual(a.errors, []);
        } finally {
            await a.context.close();
        }
    });

    it('says how long to wait once the wrong PINs are used up (Russian)', { timeout: 60000 }, async () => {
        const res = await fetch(`${ngx.base}/api/rooms`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pin: '999999' }),
        });
        const room = await res.json();
        const b = await participant(browser, { locale: 'ru-RU' });
        try {
            await b.page.goto(`${ngx.base}${room.url}`);
            await b.page.waitForSelector('#pin:not([hidden])');
            assert.match(await b.page.textContent('#pin'), /Введите PIN-код/);
            for (let i = 0; i < 5; i++) {
                await b.page.fill('#pin-input', `00000${i}`);
                await b.page.click('#pin-ok');
                await b.page.waitForFunction((n) => (document.querySelector('#pin-status')?.textContent ?? '').includes(n), i < 4 ? 'Неверный' : 'Подождите');
                await b.page.waitForFunction(() => document.querySelector('#pin-ok')?.getAttribute('aria-disabled') === null);
            }
            assert.match(await b.page.textContent('#pin-status'), /Слишком много неверных попыток\. Подождите 1 минуту\./);
            assert.deepEqual(b.errors, []);
        } finally {
            await b.context.close();
        }
    });
});
