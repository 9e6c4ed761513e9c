// Recovery from a coturn restart during a relayed call, in Chromium with
// the real client, on the simulated internet (tests/lib/internet.mjs): A
// and B each behind a symmetric NAT, where no direct path exists, so the
// call goes through coturn on the public host (production template,
// shipped nginx snippets, the TURN URLs of the welcome). coturn is stopped
// and started again on the same ports, losing every allocation. The
// impolite side restarts ICE with fresh TURN credentials
// ({"type":"ice-servers"}) once the connection has been disconnected for a
// few seconds; the test checks that remote video decodes again on both
// sides, still through the relay, and prints the time from coturn's return
// to the first remote frame.
//
//   node --test --test-concurrency=1 tests/e2e/recovery_turn.test.mjs   (root: ip netns, nft)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInternet } from '../lib/internet.mjs';
import { callOfTwo, relayFault, selectedPair } from './recovery_lib.mjs';


test('a coturn restart during a call between two symmetric NATs: the call comes back by itself, relayed', { timeout: 150000 }, async () => {
    const net = await startInternet({ sym1: 'symmetric', sym2: 'symmetric' });
    const browsers = [];
    try {
        browsers.push(await net.launch('sym1'), await net.launch('sym2'));
        const call = await callOfTwo(browsers, net.base, { link: await net.newRoom() });
        const relayed = (pair) => pair?.local === 'relay' || pair?.remote === 'relay';
        for (const p of [call.a, call.b]) {
            const pair = await selectedPair(p.page);
            assert.ok(relayed(pair), `relayed before the restart: ${JSON.stringify(pair)}`);
        }
        const r = await relayFault(call, () => net.restartTurn());
        console.log(`# coturn restart: first remote frame ${r.ms.join('/')} ms after coturn was back (A/B); ` +
            `picture gap ${r.gap.join('/')} ms; connections ${r.pcs.join('/')}; pairs ${JSON.stringify(r.pairs)}; ` +
            `statuses A ${JSON.stringify(r.statuses[0])} B ${JSON.stringify(r.statuses[1])}`);
        for (const pair of r.pairs) assert.ok(relayed(pair), `still through the relay: ${JSON.stringify(pair)}`);
        for (const s of r.statuses.flat()) assert.doesNotMatch(s, /left|ended|blocks/i, `status "${s}"`);
        // Fresh credentials were asked for before the restart.
        const asked = [call.a, call.b].some((p) => p.page.__log.some((l) => l.startsWith('> {"type":"ice-servers"}')));
        assert.ok(asked, 'a side asked the server for fresh TURN credentials');
    } finally {
        for (const b of browsers) await b.close().catch(() => undefined);
        await net.stop();
    }
});
