// TURN credentials are renewed while a page waits (web/src/credentials.ts):
// someone who sits alone in a room for longer than the credentials live
// must still offer the first caller valid ones, or a call that needs the
// relay cannot start until recovery restarts it with fresh ones.
// Credentials live 1 minute here (webcall_turn_ttl 1m, the least nginx
// takes, and rounded up to the next minute, so they last 60 to 120 s); A waits
// 125 s alone, past any credential of its welcome, then B joins a relay-only
// call (?relay=1).
//
//   node --test --test-concurrency=1 tests/e2e/turn_renew.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { startNginx, sleep, tempDir, writeSecret } from '../lib/nginx.mjs';
import { startCoturn } from './turn_lib.mjs';
import { launch, waitForMedia } from './browser.mjs';
import { newRoom, prober, selectedPair } from './recovery_lib.mjs';

let dir;
let turn;
let ngx;
let browser;

before(async () => {
    dir = await tempDir('webcall-renew-');
    const secretFile = await writeSecret(dir, 'secret');
    turn = await startCoturn({ secretFile });
    ngx = await startNginx({
        workers: 2, rateLimit: false, secretFile,
        extraHttp: `webcall_turn_secret_file ${secretFile};\n` +
            `webcall_turn_urls turn:127.0.0.1:${turn.port}?transport=udp;\nwebcall_turn_ttl 1m;`,
    });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
    await turn?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

test('after 125 s alone with 1-minute credentials, the first caller is through the relay at once', { timeout: 240000 }, async () => {
    const link = await newRoom(ngx.base);
    const a = await prober(browser);
    const b = await prober(browser);
    try {
        await a.page.goto(`${link}?relay=1`);
        await sleep(125000);
        const renewed = a.page.__log.filter((l) => l.startsWith('> {"type":"ice-servers"}')).length;
        const t0 = Date.now();
        await b.page.goto(`${link}?relay=1`);
        await waitForMedia(a.page, 1, 30000);
        await waitForMedia(b.page, 1, 30000);
        const ms = Date.now() - t0;
        const pcs = await a.page.evaluate(() => window.__pcs.length);
        console.log(`# after 125 s alone (credentials of 1 min): renewals ${renewed}; media both ways ${ms} ms after B opened; A's connections ${pcs}`);
        assert.ok(renewed >= 1, 'A renewed its credentials while it waited');
        const pair = await selectedPair(a.page);
        assert.deepEqual([pair?.local, pair?.remote], ['relay', 'relay']);
        // Set-up as fast as a fresh call; recovery (an ICE restart after 10 s
        // stuck, or a new connection) would take far longer.
        assert.ok(ms < 8000, `the call took ${ms} ms to start`);
        assert.equal(pcs, 1, 'no connection had to be replaced');
    } finally {
        await a.context.close();
        await b.context.close();
    }
});
