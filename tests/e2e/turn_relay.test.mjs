// Browser: two Chromium pages call each other with iceTransportPolicy
// 'relay', so media must cross coturn, over TURN/UDP, TURN/TCP and TURN/TLS.
// The stack is what `make run` runs: nginx with the module configured by
// tools/render-conf.sh from deploy/nginx/, coturn by turn/render.sh --dev,
// one secret file for both. The page (tests/e2e/turn-page/) is test-only and
// served by that nginx under the shipped CSP.
//
//   node --test tests/e2e/turn_relay.test.mjs        (needs make module, coturn, chromium)
//
// Asserts: the selected candidate pair is relay on both ends, over the
// transport under test, and inbound video framesDecoded rises on both sides.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startNginx, writeSecret, tempDir, request } from '../lib/nginx.mjs';
import { startCoturn, startRun, TOP } from './turn_lib.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PAGE_DIR = path.join(TOP, 'tests/e2e/turn-page/');
const PAGE_LOCATION = `location /turn-test/ { alias ${PAGE_DIR}; }`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value; fails after ms with describe().
async function waitFor(what, fn, ms, describe) {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${ms} ms waiting for ${what}\n${await describe()}`);
        }
        await sleep(200);
    }
}

describe('TURN relay in the browser', () => {
    let dir, secretFile, turn, browser;
    const variants = {
        udp: (t) => `turn:127.0.0.1:${t.port}?transport=udp`,
        tcp: (t) => `turn:127.0.0.1:${t.port}?transport=tcp`,
        tls: (t) => `turns:127.0.0.1:${t.tlsPort}?transport=tcp`,
    };

    before(async () => {
        dir = await tempDir('webcall-turn-e2e-');
        secretFile = await writeSecret(dir, 'secret');
        turn = await startCoturn({ secretFile, tls: true });
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            timeout: 20000,
            args: [
                '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
                '--allow-loopback-in-peer-connection',
                // Trust the test certificate of coturn's TLS port (turns:), and nothing else.
                `--ignore-certificate-errors-spki-list=${turn.cert.spki}`,
            ],
        });
    });

    after(async () => {
        // Each by its own handle: the browser, then coturn; nginx stops per variant.
        await browser?.close().catch(() => {});
        await turn?.stop();
        if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    // Two pages in two contexts call each other in a fresh room of the nginx
    // at base; expect: the iceServers the pages must get, the relay protocol
    // the selected pair must use, and coturn's relay range.
    async function relayCall(label, base, { iceUrls, relayProtocol, relay, log }) {
        const t0 = Date.now();
        const contexts = [];
        try {
            const room = (await request(base, '/api/rooms', { method: 'POST' })).json;
            assert.ok(room?.token, 'room created');
            const pages = [];
            for (let i = 0; i < 2; i++) {
                const ctx = await browser.newContext();
                contexts.push(ctx);
                const page = await ctx.newPage();
                page.setDefaultTimeout(20000);
                const problems = [];
                page.on('pageerror', (e) => problems.push(String(e)));
                page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
                page.problems = problems;
                const res = await page.goto(`${base}/turn-test/index.html`);
                assert.equal(res.status(), 200);
                // the shipped CSP applies to the test page too
                assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/);
                await page.waitForFunction(() => window.turnTest !== undefined, null, { timeout: 10000 });
                await page.evaluate((token) => window.turnTest.call(token, 'relay'), room.token);
                pages.push(page);
            }
            const describeAll = async () => {
                const out = [];
                for (const [i, p] of pages.entries()) {
                    out.push(`page ${i}: ${JSON.stringify(await p.evaluate(() => window.turnTest.state))}`);
                    out.push(`  stats: ${JSON.stringify(await p.evaluate(() => window.turnTest.stats()))}`);
                    out.push(`  problems: ${p.problems.join(' | ')}`);
                }
                out.push(`coturn log tail:\n${log().split('\n').slice(-20).join('\n')}`);
                return out.join('\n');
            };

            // Both connected, through a relay pair.
            await waitFor('both peer connections connected', async () => {
                const s = await Promise.all(pages.map((p) => p.evaluate(() => window.turnTest.state.pcState)));
                return s.every((x) => x === 'connected');
            }, 20000, describeAll);
            const connectedMs = Date.now() - t0;

            for (const p of pages) {
                const st = await p.evaluate(() => window.turnTest.state);
                const turnEntry = st.iceServers.find((e) => e.username);
                assert.deepEqual(st.iceServers.flatMap((e) => e.urls), iceUrls);
                assert.equal(turnEntry.username.split(':')[1], st.id);
                // relay-only: no host or srflx candidate was even gathered
                assert.ok(st.localCandidates.length > 0);
                for (const c of st.localCandidates) assert.match(c, / typ relay /, c);
            }

            const first = await Promise.all(pages.map((p) => p.evaluate(() => window.turnTest.stats())));
            for (const [i, s] of first.entries()) {
                assert.ok(s.pair, `page ${i}: no selected pair\n${await describeAll()}`);
                assert.equal(s.pair.local.candidateType, 'relay', `page ${i} local ${JSON.stringify(s.pair)}`);
                assert.equal(s.pair.remote.candidateType, 'relay', `page ${i} remote ${JSON.stringify(s.pair)}`);
                // The browser reached coturn over the transport under test.
                assert.equal(s.pair.local.relayProtocol, relayProtocol, `page ${i}: ${JSON.stringify(s.pair.local)}`);
                // The relayed addresses are coturn's relay range.
                for (const c of [s.pair.local, s.pair.remote]) {
                    assert.equal(c.address, '127.0.0.1');
                    assert.ok(c.port >= relay[0] && c.port <= relay[1], JSON.stringify(c));
                }
            }

            // Video decodes on both sides and keeps decoding.
            await waitFor('frames decoded on both pages', async () => {
                const s = await Promise.all(pages.map((p) => p.evaluate(() => window.turnTest.stats())));
                return s.every((x) => x.framesDecoded > 0 && x.videoWidth > 0);
            }, 15000, describeAll);
            const firstFrameMs = Date.now() - t0;
            const a = await Promise.all(pages.map((p) => p.evaluate(() => window.turnTest.stats())));
            await sleep(2000);
            const b = await Promise.all(pages.map((p) => p.evaluate(() => window.turnTest.stats())));
            for (let i = 0; i < 2; i++) {
                assert.ok(b[i].framesDecoded >= a[i].framesDecoded + 10,
                    `page ${i}: framesDecoded ${a[i].framesDecoded} -> ${b[i].framesDecoded} in 2 s`);
                assert.ok(b[i].pair.bytesReceived > a[i].pair.bytesReceived);
            }
            for (const p of pages) assert.deepEqual(p.problems, []);
            console.log(`# ${label}: connected ${connectedMs} ms, frames on both ${firstFrameMs} ms ` +
                `after the first page opened; ${b.map((x) => x.framesDecoded).join('/')} frames decoded`);
            for (const p of pages) await p.evaluate(() => window.turnTest.hangUp());
        } finally {
            for (const ctx of contexts) await ctx.close().catch(() => {});
        }
    }

    for (const [name, url] of Object.entries(variants)) {
        it(`relay-only call over TURN/${name.toUpperCase()}: relay pair, frames decoded on both sides`, { timeout: 60000 }, async () => {
            const ngx = await startNginx({
                secretFile,
                // Only the URL under test, so the browser cannot pick another way.
                extraHttp: `webcall_turn_secret_file ${secretFile};\nwebcall_turn_urls ${url(turn)};`,
                extraServer: PAGE_LOCATION,
            });
            try {
                await relayCall(`TURN/${name}`, ngx.base, {
                    iceUrls: [url(turn)], relayProtocol: name, relay: turn.relay, log: turn.log,
                });
            } finally {
                await ngx.stop();
            }
        });
    }

    it('relay-only call through `make run` itself (tools/run.sh: nginx + dev coturn, one secret)', { timeout: 60000 }, async () => {
        const run = await startRun({ EXTRA_SERVER: PAGE_LOCATION });
        try {
            const p = run.turnPort;
            await relayCall('make run', `http://127.0.0.1:${run.port}`, {
                iceUrls: [`stun:127.0.0.1:${p}`, `turn:127.0.0.1:${p}?transport=udp`, `turn:127.0.0.1:${p}?transport=tcp`],
                relayProtocol: 'udp', relay: run.relay,
                log: () => { try { return fs.readFileSync(path.join(run.dir, 'turnserver.log'), 'utf8'); } catch { return ''; } },
            });
        } finally {
            await run.stop();
        }
    });

    it('a wrong secret in nginx: coturn says 401 and the relay-only call never connects', { timeout: 60000 }, async () => {
        const wrong = await writeSecret(dir, 'wrong-secret');
        const ngx = await startNginx({
            secretFile,
            extraHttp: `webcall_turn_secret_file ${wrong};\nwebcall_turn_urls ${variants.udp(turn)};`,
            extraServer: PAGE_LOCATION,
        });
        const ctx = await browser.newContext();
        try {
            const room = (await request(ngx.base, '/api/rooms', { method: 'POST' })).json;
            const page = await ctx.newPage();
            await page.goto(`${ngx.base}/turn-test/index.html`);
            await page.waitForFunction(() => window.turnTest !== undefined, null, { timeout: 10000 });
            await page.evaluate((token) => window.turnTest.call(token, 'relay'), room.token);
            // One page is enough: gathering a relay candidate needs an
            // allocation, which coturn refuses.
            await page.evaluate(() => {
                const s = window.turnTest.state;
                return new Promise((resolve) => {
                    const t = setInterval(() => { if (s.iceServers) { clearInterval(t); resolve(); } }, 50);
                });
            });
            await page.evaluate(async () => {
                const pc = new RTCPeerConnection({ iceServers: window.turnTest.state.iceServers, iceTransportPolicy: 'relay' });
                pc.addTransceiver('video');
                window.probe = { errors: [], candidates: [] };
                pc.onicecandidate = (e) => { if (e.candidate) window.probe.candidates.push(e.candidate.candidate); };
                pc.onicecandidateerror = (e) => window.probe.errors.push(e.errorCode);
                await pc.setLocalDescription(await pc.createOffer());
            });
            const probe = await waitFor('a 401 candidate error', async () => {
                const p = await page.evaluate(() => window.probe);
                return p.errors.length > 0 && p;
            }, 10000, async () => JSON.stringify(await page.evaluate(() => window.probe)));
            assert.ok(probe.errors.includes(401), JSON.stringify(probe));
            assert.deepEqual(probe.candidates, []);
        } finally {
            await ctx.close().catch(() => {});
            await ngx.stop();
        }
    });
});
