// Recovery from a network drop of 15 s on one side, in Chromium with the
// real client.
//
// The real cut, on the simulated internet (tests/lib/internet.mjs): A and
// B each behind a home NAT router, their call direct (no TURN), the site
// on the public host. A's line drops for 15 s: its router's WAN link goes
// down, which also drops the router's NAT mappings, so when the line comes
// back every flow goes out through new ones (NAT rebinding, as after a DSL
// reconnect): the WebSocket has to be made anew and ICE has to find the
// new mapping. The test checks that the cut did stop A's and B's pictures
// (a gap of frames of 10 s or more), that both sides said "Connection
// lost. Trying to reconnect…" and never that someone left, and that remote
// video decodes again on both sides afterwards, on its own; it prints the
// time from the network's return to the first remote frame (target: under
// 3 s).
//
// Also the Playwright way, context.setOffline(true): in Chromium it cuts
// neither WebRTC media nor an open WebSocket (docs/web-client.md), so that
// test only shows the call is unharmed by it; it proves nothing about a cut.
//
//   node --test --test-concurrency=1 tests/e2e/recovery_network.test.mjs   (root: ip netns, nft)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, sleep } from '../lib/nginx.mjs';
import { startInternet } from '../lib/internet.mjs';
import { launch } from './browser.mjs';
import { bothFlowing, callOfTwo, longestStall, networkFault, selectedPair, statusesSince } from './recovery_lib.mjs';

const CUT_MS = 15000;

let ngx;

before(async () => {
    ngx = await startNginx({ workers: 2, rateLimit: false, webRoot: process.env.WEBCALL_WEB_ROOT || undefined });
});

after(async () => {
    await ngx?.stop();
});

test('a real 15 s cut of one caller\'s line behind a home NAT: both say so, and the call comes back by itself', { timeout: 150000 }, async () => {
    const net = await startInternet({ home1: 'home', home2: 'home' });
    const browsers = [];
    try {
        browsers.push(await net.launch('home1'), await net.launch('home2'));
        const call = await callOfTwo(browsers, net.base, { link: await net.newRoom() });
        const before = await selectedPair(call.a.page);
        assert.notEqual(before?.local, 'relay', `a direct call before the cut: ${JSON.stringify(before)}`);
        const r = await networkFault(call, { cut: () => net.cut('home1'), heal: () => net.heal('home1'), cutMs: CUT_MS });
        console.log(`# network cut ${CUT_MS / 1000} s behind a home NAT: first remote frame ${r.ms.join('/')} ms after the network came back (A/B); ` +
            `longest picture gap ${r.gap.join('/')} ms; path after ${JSON.stringify(await selectedPair(call.a.page))}; ` +
            `statuses A ${JSON.stringify(r.statuses[0])} B ${JSON.stringify(r.statuses[1])}`);
        // The cut was real: neither side saw a picture for most of it.
        for (const [i, g] of r.gap.entries()) assert.ok(g >= CUT_MS - 5000, `${'AB'[i]}: the picture stopped (${g} ms)`);
        // Both said what is happening, in a plain sentence, during the cut.
        for (const [i, seen] of r.seenDuring.entries()) {
            assert.ok(seen.some((st) => /Connection lost\. Trying to reconnect/.test(st)), `${'AB'[i]} said: ${JSON.stringify(seen)}`);
        }
        for (const st of r.statuses.flat()) assert.doesNotMatch(st, /left|ended|paused|blocks/i, `status "${st}"`);
        // Back on its own, on both sides; generous bound here, the target is
        // the benchmark's (docs/benchmarks.md).
        for (const [i, ms] of r.ms.entries()) assert.ok(ms < 10000, `${'AB'[i]}: back after ${ms} ms`);
        for (const p of [call.a, call.b]) assert.match(await p.page.textContent('#status'), /Connected/);
    } finally {
        for (const b of browsers) await b.close().catch(() => undefined);
        await net.stop();
    }
});

test('context.setOffline for 5 s (no real cut in Chromium): the call is unharmed', { timeout: 90000 }, async () => {
    const browser = await launch();
    try {
        const call = await callOfTwo(browser, ngx.base);
        const t0 = Date.now();
        await call.a.context.setOffline(true);
        await sleep(5000);
        await call.a.context.setOffline(false);
        await bothFlowing(call.a, call.b);
        const stall = [await longestStall(call.a.page, t0, Date.now()), await longestStall(call.b.page, t0, Date.now())];
        const statuses = [await statusesSince(call.a.page, t0), await statusesSince(call.b.page, t0)];
        console.log(`# setOffline 5 s: longest stall ${stall.join('/')} ms (A/B); statuses ${JSON.stringify(statuses)}`);
        for (const s of statuses.flat()) assert.doesNotMatch(s, /left|ended/i, `status "${s}"`);
    } finally {
        await browser.close();
    }
});
