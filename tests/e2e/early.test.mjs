// The room page's early socket (web/src/early.ts): the signaling WebSocket
// and the join start while room.js is still loading, and room.js adopts
// them. Whichever script arrives first, the page joins exactly once, on one
// socket, and the call connects: early.js late (room.js opens its own and
// early.js must stay out), and room.js late (the welcome arrives before
// room.js runs and is replayed to it).
//
//   node --test tests/e2e/early.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../lib/nginx.mjs';
import { createLink, serverAndBrowser, participant, waitForMedia } from './browser.mjs';

const env = serverAndBrowser();

// B's page with one of its scripts held back by delayMs.
async function callWithLateScript(script, delayMs) {
    const a = await participant(env.browser);
    const b = await participant(env.browser);
    const sockets = [];
    b.page.on('websocket', (ws) => sockets.push(ws.url()));
    await b.page.route(`**/assets/${script}`, async (route) => {
        await sleep(delayMs);
        await route.continue();
    });
    try {
        const link = await createLink(env.ngx.base, a.page);
        await a.page.click('#start');
        await b.page.goto(link);
        await waitForMedia(b.page, 1, 20000);
        await waitForMedia(a.page, 1, 20000);
        const joins = b.page.__log.filter((l) => l.startsWith('> {"type":"join"'));
        return { sockets, joins, errors: b.errors, status: await b.page.textContent('#status') };
    } finally {
        await a.context.close();
        await b.context.close();
    }
}

describe('the early socket', () => {
    it('early.js arriving after room.js: room.js joins on its own socket, and only once', { timeout: 60000 }, async () => {
        const r = await callWithLateScript('early.js', 1500);
        assert.equal(r.sockets.length, 1, `one WebSocket: ${r.sockets}`);
        assert.equal(r.joins.length, 1, `one join: ${r.joins}`);
        assert.deepEqual(r.errors, []);
        assert.match(r.status, /Connected/);
    });

    it('room.js arriving late: the join went out early, its welcome is replayed, the call connects', { timeout: 60000 }, async () => {
        const r = await callWithLateScript('room.js', 1500);
        assert.equal(r.sockets.length, 1, `one WebSocket: ${r.sockets}`);
        assert.equal(r.joins.length, 1, `one join: ${r.joins}`);
        assert.deepEqual(r.errors, []);
        assert.match(r.status, /Connected/);
    });
});
