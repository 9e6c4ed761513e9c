// A Chromium to Firefox call: both sides decode each other's video.
//
// Firefox never gathers 127.0.0.1 candidates, so the test runs inside a
// network namespace of its own with a veth pair (both ends inside, default
// route into it): nginx stays on 127.0.0.1, and both browsers find each
// other on the veth addresses. The namespace is made here, the test re-runs
// itself inside it, and the namespace is deleted at the end (root only;
// skipped otherwise). Firefox is firefox-esr driven by puppeteer-core over
// WebDriver BiDi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startNginx, sleep } from '../lib/nginx.mjs';
import { createLink, launch, participant, recordPeerConnections, waitForMedia, screenshot } from './browser.mjs';

const SELF = fileURLToPath(import.meta.url);
const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';
const inside = process.env.WEBCALL_NETNS === '1';
const canRun = process.getuid?.() === 0 && fs.existsSync(FIREFOX);

function ip(...args) {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

if (!inside) {
    test('Chromium to Firefox call (in a network namespace of its own)', { skip: !canRun && 'needs root and firefox-esr', timeout: 180000 }, async () => {
        const ns = `webcall-ff-${process.pid}`;
        ip('netns', 'add', ns);
        try {
            ip('-n', ns, 'link', 'set', 'lo', 'up');
            ip('link', 'add', 'wcv0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'wcv1', 'netns', ns);
            ip('-n', ns, 'addr', 'add', '198.19.254.1/24', 'dev', 'wcv0');
            ip('-n', ns, 'addr', 'add', '198.19.254.2/24', 'dev', 'wcv1');
            ip('-n', ns, 'link', 'set', 'wcv0', 'up');
            ip('-n', ns, 'link', 'set', 'wcv1', 'up');
            ip('-n', ns, 'route', 'add', 'default', 'dev', 'wcv0');
            // A fresh test run, not a child of this one (node:test would skip it).
            const env = { ...process.env, WEBCALL_NETNS: '1' };
            delete env.NODE_TEST_CONTEXT;
            const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--test', SELF], {
                env, stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            child.stdout.on('data', (d) => { out += d; });
            child.stderr.on('data', (d) => { out += d; });
            const code = await new Promise((r) => child.on('exit', r));
            // Its own report, indented, so the outer TAP stays readable.
            console.log(out.split('\n').filter((l) => !/^TAP version/.test(l)).map((l) => `    ${l}`).join('\n'));
            assert.equal(code, 0, 'the call inside the namespace failed');
            assert.match(out, /^# pass 1$/m, 'the call inside the namespace ran');
        } finally {
            ip('netns', 'del', ns);
        }
    });
} else {
    test('Chromium calls Firefox; both decode each other\'s video', { timeout: 150000 }, async () => {
        const { default: puppeteer } = await import('puppeteer-core');
        const ngx = await startNginx({ workers: 1, rateLimit: false });
        const chrome = await launch();
        let firefox;
        try {
            const a = await participant(chrome);
            const link = await createLink(ngx.base, a.page, { maxParticipants: 2 });
            await a.page.goto(link);

            firefox = await puppeteer.launch({
                browser: 'firefox',
                executablePath: FIREFOX,
                headless: true,
                protocol: 'webDriverBiDi',
                extraPrefsFirefox: {
                    'media.navigator.streams.fake': true,
                    'media.navigator.permission.disabled': true,
                    'media.peerconnection.ice.obfuscate_host_addresses': false,
                    'media.autoplay.default': 0,
                },
            });
            const fx = await firefox.newPage();
            await fx.evaluateOnNewDocument(recordPeerConnections);
            await fx.goto(link);

            // Chromium decodes Firefox's video and receives its audio.
            const flow = await waitForMedia(a.page, 1, 30000);
            assert.ok(flow[0].frames > 0 && flow[0].packets > 0, JSON.stringify(flow));

            // Firefox decodes Chromium's video.
            const read = () => fx.evaluate(async () => {
                let frames = 0;
                let packets = 0;
                let width = 0;
                for (const pc of window.__pcs) {
                    (await pc.getStats()).forEach((r) => {
                        if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
                        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived || 0;
                    });
                }
                const v = document.querySelector('.tile.remote video');
                if (v) width = v.videoWidth;
                return { frames, packets, width, status: document.getElementById('status').textContent };
            });
            let first = await read();
            const deadline = Date.now() + 30000;
            let second = first;
            while (Date.now() < deadline) {
                await sleep(1500);
                second = await read();
                if (second.frames > first.frames && second.packets > first.packets && second.width > 0) break;
                first = second;
            }
            assert.ok(second.frames > first.frames, `Firefox decodes video: ${JSON.stringify([first, second])}`);
            assert.ok(second.packets > first.packets, 'Firefox receives audio');
            assert.ok(second.width > 0, 'Firefox shows a picture');
            assert.match(second.status, /Connected/);
            await screenshot(a.page, 'firefox-call-chromium-side');
        } finally {
            await firefox?.close().catch(() => undefined);
            await chrome.close();
            await ngx.stop();
        }
    });
}
