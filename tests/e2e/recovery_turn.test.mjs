// Recovery from a coturn restart during a relay-only call, in Chromium with
// the real client: both pages open the room with ?relay=1
// (iceTransportPolicy 'relay', the relay self-test), so every packet crosses
// coturn; coturn is stopped and started again on the same port, losing
// every allocation. The impolite side restarts ICE with fresh TURN
// credentials ({"type":"ice-servers"}) once the connection has been
// disconnected for a few seconds; the test checks that remote video decodes
// again on both sides, still through the relay, and prints the time from
// coturn's return to the first remote frame.
//
// The stack is `make run`'s: nginx with the module configured from
// deploy/nginx by tools/render-conf.sh, coturn by turn/render.sh --dev, one
// secret file for both.
//
//   node --test --test-concurrency=1 tests/e2e/recovery_turn.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { startNginx, tempDir, writeSecret } from '../lib/nginx.mjs';
import { startCoturn } from './turn_lib.mjs';
import { launch } from './browser.mjs';
import { callOfTwo, relayFault, selectedPair } from './recovery_lib.mjs';

let dir;
let secretFile;
let turn;
let ngx;
let browser;

before(async () => {
    dir = await tempDir('webcall-recovery-turn-');
    secretFile = await writeSecret(dir, 'secret');
    turn = await startCoturn({ secretFile });
    ngx = await startNginx({
        workers: 2, rateLimit: false, secretFile,
        extraHttp: `webcall_turn_secret_file ${secretFile};\n` +
            `webcall_turn_urls turn:127.0.0.1:${turn.port}?transport=udp turn:127.0.0.1:${turn.port}?transport=tcp;`,
    });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
    await turn?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

test('a coturn restart during a relay-only call (?relay=1): the call comes back by itself', { timeout: 120000 }, async () => {
    const call = await callOfTwo(browser, ngx.base, { query: '?relay=1' });
    try {
        for (const p of [call.a, call.b]) {
            const pair = await selectedPair(p.page);
            assert.deepEqual([pair?.local, pair?.remote], ['relay', 'relay'], `relay-only: ${JSON.stringify(pair)}`);
        }
        const port = turn.port;
        const r = await relayFault(call, async () => {
            await turn.stop();
            turn = await startCoturn({ secretFile, port });
        });
        console.log(`# coturn restart: first remote frame ${r.ms.join('/')} ms after coturn was back (A/B); ` +
            `picture gap ${r.gap.join('/')} ms; connections ${r.pcs.join('/')}; statuses A ${JSON.stringify(r.statuses[0])} ` +
            `B ${JSON.stringify(r.statuses[1])}`);
        for (const pair of r.pairs) assert.deepEqual([pair?.local, pair?.remote], ['relay', 'relay'], 'still through the relay');
        for (const s of r.statuses.flat()) assert.doesNotMatch(s, /left|ended/i, `status "${s}"`);
        // Fresh credentials were asked for before the restart.
        const asked = [call.a, call.b].some((p) => p.page.__log.some((l) => l.startsWith('> {"type":"ice-servers"}')));
        assert.ok(asked, 'a side asked the server for fresh TURN credentials');
    } finally {
        await call.a.context.close();
        await call.b.context.close();
    }
});
