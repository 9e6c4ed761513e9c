// Recovery from a page reload by one participant, in Chromium with the real
// client: the tab keeps its seat (sessionStorage: peer id and resume
// secret), the call comes back without the other person doing anything, and
// the other side says the connection is being recovered, never that the
// person left. Prints the time from the reload to the first remote frame of
// the new connection on each side (target: under 2 s).
//
//   node --test --test-concurrency=1 tests/e2e/recovery_reload.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx } from '../lib/nginx.mjs';
import { launch } from './browser.mjs';
import { callOfTwo, reloadFault } from './recovery_lib.mjs';

let ngx;
let browser;

before(async () => {
    ngx = await startNginx({ workers: 2, rateLimit: false, webRoot: process.env.WEBCALL_WEB_ROOT || undefined });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
});

test('a reload comes back to video by itself, on the same seat, and the other side never says "left"', { timeout: 120000 }, async () => {
    const call = await callOfTwo(browser, ngx.base);
    try {
        const runs = [];
        // Twice: the second reload resumes a seat that was itself resumed.
        for (let i = 0; i < 2; i++) {
            const r = await reloadFault(call);
            runs.push(r);
            console.log(`# reload ${i + 1}: first frame of the new connection ${r.ms.join('/')} ms after the reload (A/B); ` +
                `A's status: ${JSON.stringify(r.statusesA)}`);
            assert.equal(r.seatAfter, r.seat, 'B has the same seat after the reload');
            assert.equal(r.pcsA, 1, 'A has exactly one open connection (the old one was replaced)');
            for (const st of r.statusesA) assert.doesNotMatch(st, /left|ended|waiting/i, `A's status "${st}"`);
            assert.ok(r.statusesA.some((st) => /Connection lost\. Trying to reconnect/.test(st)),
                'A said the connection is being recovered while B was away');
            for (const ms of r.ms) assert.ok(ms < 10000, `back to video in ${ms} ms`);
        }
        // The server saw a resume, not a new participant: peer-joined with
        // "resumed":true, and no peer-left.
        assert.ok(call.a.page.__log.some((l) => /"peer-joined".*"resumed":true/.test(l)), 'A was told B resumed');
        assert.ok(!call.a.page.__log.some((l) => l.includes('"peer-left"')), 'A was never told B left');
    } finally {
        await call.a.context.close();
        await call.b.context.close();
    }
});
