// Recovery from faults of the signaling server, in Chromium with the real
// client: the WebSocket cut under the page (network up), `nginx -s reload`,
// `kill -9` of the worker that holds a participant's WebSocket, and a full
// nginx restart (the shared zone is wiped; the signed link still admits the
// room). None may interrupt the media: no gap of inbound framesDecoded over
// 1 s on either side (sampled every 200 ms), the same RTCPeerConnection
// throughout, no status saying "lost" or "left", and the signaling rejoined
// (resumed; after the restart, from the seat tickets, the same seats; without
// tickets the connections are adopted on new seats
// by their pc ids). Prints the longest stall and the time from the fault's
// end to the first remote frame.
//
//   node --test --test-concurrency=1 tests/e2e/recovery_server.test.mjs   (root: ss -K)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx } from '../lib/nginx.mjs';
import { launch } from './browser.mjs';
import {
    callOfTwo, killTcp, nginxSockets, signalingFault, statusesSince,
} from './recovery_lib.mjs';

const root = process.getuid?.() === 0;
const STALL_MS = 1000;

let ngx;
let browser;

before(async () => {
    ngx = await startNginx({
        workers: 2, rateLimit: false, webRoot: process.env.WEBCALL_WEB_ROOT || undefined,
        allowAlerts: [/exited on signal 9/, /recv\(\) failed \(103: Software caused connection abort\)/],
        // No idle HTTP keep-alive connections from the page loads: then
        // every established connection is a WebSocket, and the worker the
        // kill -9 case picks does hold one. With keep-alive, 6 of the 8
        // connections were idle page loads, and a worker holding only those
        // could be killed: nobody had to rejoin, and the wait for a rejoin
        // timed out (once in four runs).
        extraServer: 'keepalive_timeout 0;',
    });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
});

function report(name, r) {
    console.log(`# ${name}: rejoined ${r.rejoinMs} ms after the fault; longest video stall ${r.stall.join('/')} ms; ` +
        `first frame after the fault ${r.firstFrame.join('/')} ms (A/B)`);
}

// The media never noticed: same connection, no stall, both seats kept.
function assertUntouched(r) {
    assert.deepEqual(r.after.seats, r.seats, 'both kept their seats (resume)');
    assert.deepEqual(r.after.pcs, r.pcsBefore, 'no new RTCPeerConnection on either side');
    assert.deepEqual(r.after.open, [1, 1], 'the connections are still open');
    for (const [i, s] of r.stall.entries()) {
        assert.ok(s <= STALL_MS, `${'AB'[i]}: video stalled ${s} ms during the fault`);
    }
    for (const st of r.statuses.flat()) assert.doesNotMatch(st, /left|ended|lost/i, `status "${st}"`);
}

describe('recovery from server-side faults', () => {
    test('the WebSocket cut from the server (ss -K) never interrupts the media', { skip: !root && 'needs root (ss -K)', timeout: 90000 }, async () => {
        const call = await callOfTwo(browser, ngx.base);
        try {
            const r = await signalingFault(call, async () => {
                const n = await killTcp(ngx.port);
                assert.ok(n >= 2, `cut ${n} connections (both WebSockets)`);
            });
            report('WebSocket cut', r);
            assertUntouched(r);
            // Whoever rejoined first was told the other is back on its seat.
            assert.ok([call.a, call.b].some((p) => p.page.__log.some((l) => /"peer-joined".*"resumed":true/.test(l))),
                'a peer-joined with "resumed":true');
        } finally {
            await call.a.context.close();
            await call.b.context.close();
        }
    });

    test('nginx -s reload (close 1001) never interrupts the media', { timeout: 90000 }, async () => {
        const call = await callOfTwo(browser, ngx.base);
        try {
            const r = await signalingFault(call, () => ngx.reload());
            report('nginx reload', r);
            assertUntouched(r);
        } finally {
            await call.a.context.close();
            await call.b.context.close();
        }
    });

    test('kill -9 of the worker holding a WebSocket never interrupts the media', { skip: !root && 'needs root (ss -p)', timeout: 90000 }, async () => {
        const call = await callOfTwo(browser, ngx.base);
        try {
            const r = await signalingFault(call, async () => {
                const socks = (await nginxSockets(ngx.port)).filter((s) => s.pid);
                assert.equal(socks.length, 2, `the two WebSockets, and nothing else: ${JSON.stringify(socks)}`);
                const victim = socks[0].pid;
                process.kill(victim, 'SIGKILL');
                // The pages served by the victim lost their socket (both,
                // when one worker held both); which page that is does not
                // matter: wait for whoever rejoins.
                return 'any';
            });
            report('kill -9 worker', r);
            assertUntouched(r);
        } finally {
            await call.a.context.close();
            await call.b.context.close();
        }
    });

    test('a full nginx restart (zone wiped, seats given back from their tickets) never interrupts the media', { timeout: 90000 }, async () => {
        const call = await callOfTwo(browser, ngx.base);
        try {
            const r = await signalingFault(call, () => ngx.restart());
            report('nginx restart', r);
            // The zone is gone, and with it the seats; each page's seat
            // ticket gives its seat and id back (as on another node of a
            // fleet), so nothing is renegotiated and nobody "left".
            assertUntouched(r);
        } finally {
            await call.a.context.close();
            await call.b.context.close();
        }
    });
});
