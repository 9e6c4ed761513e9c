// End-to-end helpers: Debian's Chromium through playwright-core, contexts
// that act as participants, proof that media flows (getStats), and a log of
// every request the pages make.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { TOP, request, sleep, startNginx } from '../lib/nginx.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SHOTS = path.join(TOP, 'test-results/screenshots');

export const FLAGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
];

// args: more Chromium flags (e.g. a certificate to trust for turns:).
export async function launch({ args = [] } = {}) {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...args] });
}

// A test file's nginx (two workers, no per-client limits) and Chromium,
// started before its tests and stopped after them, pass or fail: env.ngx
// and env.browser.
export function serverAndBrowser() {
    const env = { ngx: null, browser: null };
    before(async () => {
        env.ngx = await startNginx({ workers: 2, rateLimit: false });
        env.browser = await launch();
    });
    after(async () => {
        await env.browser?.close();
        await env.ngx?.stop();
    });
    return env;
}

// Keeps every RTCPeerConnection the page makes, so tests can read getStats
// without any hook in the client itself.
export function recordPeerConnections() {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function (...args) {
        const pc = new Orig(...args);
        window.__pcs.push(pc);
        return pc;
    };
    window.RTCPeerConnection.prototype = Orig.prototype;
    Object.setPrototypeOf(window.RTCPeerConnection, Orig);
}

// A participant: its own context (own storage, own fake devices), a page,
// and the list of every URL it requested.
export async function participant(browser, { viewport = { width: 1280, height: 800 }, locale = 'en-US',
                                              permissions = ['camera', 'microphone'], ...rest } = {}) {
    const context = await browser.newContext({ viewport, locale, permissions, ...rest });
    await context.addInitScript(recordPeerConnections);
    const requests = [];
    context.on('request', (r) => requests.push(r.url()));
    // WebSockets are not "requests" to Playwright; record them as well.
    const page = await context.newPage();
    page.on('websocket', (ws) => requests.push(ws.url()));
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // What the page said and signaled, for the message of a failed wait.
    const log = [];
    page.__log = log;
    page.on('console', (m) => {
        log.push(`console.${m.type()}: ${m.text()}`);
        // The pages must work under the shipped CSP: any violation fails.
        if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
    });
    page.on('websocket', (ws) => {
        ws.on('framesent', (f) => log.push(`> ${String(f.payload).slice(0, 60)}`));
        ws.on('framereceived', (f) => log.push(`< ${String(f.payload).slice(0, 60)}`));
        ws.on('close', () => log.push('ws closed'));
    });
    return { context, page, requests, errors };
}

// family: the home page's second button, "Family call (up to 4)".
export async function createLink(base, page, { maxParticipants, family = false } = {}) {
    if (maxParticipants) {
        // The home page always makes the default room; other sizes come
        // from the API, as a sysadmin's tool would make them.
        const res = await request(base, '/api/rooms', { method: 'POST', json: { maxParticipants } });
        if (res.status !== 201 && res.status !== 200) throw new Error(`POST /api/rooms: ${res.status} ${res.body}`);
        return base + res.json.url;
    }
    await page.goto(`${base}/`);
    await page.click(family ? '#create-family' : '#create');
    await page.waitForSelector('#result:not([hidden])');
    return page.inputValue('#link');
}

// Media counters of every open peer connection of a page, summed.
export async function mediaCounters(page) {
    return page.evaluate(async () => {
        const out = { framesDecoded: 0, audioPackets: 0, videoWidth: 0, connections: 0 };
        for (const pc of window.__pcs) {
            if (pc.connectionState === 'closed') continue;
            out.connections++;
            const stats = await pc.getStats();
            stats.forEach((r) => {
                if (r.type !== 'inbound-rtp') return;
                if (r.kind === 'video') out.framesDecoded += r.framesDecoded || 0;
                if (r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
            });
        }
        for (const v of document.querySelectorAll('.tile.remote video')) {
            out.videoWidth = Math.max(out.videoWidth, v.videoWidth);
        }
        return out;
    });
}

// Per remote participant: is its video being decoded and its audio received?
export async function perPeerFlow(page, ms = 2000) {
    const read = () => page.evaluate(async () => {
        const res = [];
        for (const pc of window.__pcs) {
            if (pc.connectionState !== 'connected') continue;
            let frames = 0;
            let packets = 0;
            (await pc.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
                if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived || 0;
            });
            res.push({ frames, packets });
        }
        return res;
    });
    const a = await read();
    await sleep(ms);
    const b = await read();
    return b.map((x, i) => ({
        frames: x.frames - (a[i]?.frames ?? 0),
        packets: x.packets - (a[i]?.packets ?? 0),
    }));
}

// Waits until the page decodes video and receives audio from `peers`
// participants, with the counters rising over 2 s.
export async function waitForMedia(page, peers = 1, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last = [];
    while (Date.now() < deadline) {
        last = await perPeerFlow(page, 1500);
        const flowing = last.filter((p) => p.frames > 0 && p.packets > 0);
        if (flowing.length >= peers) return last;
    }
    const pcs = await page.evaluate(() => window.__pcs.map((pc) => [pc.connectionState,
        pc.iceConnectionState, pc.signalingState, pc.getTransceivers().length]));
    // (evaluate, not textContent: freeze.test.mjs passes Puppeteer pages)
    const status = await page.evaluate(() => document.getElementById('status')?.textContent ?? '?').catch(() => '?');
    throw new Error(`media from ${peers} peer(s) not flowing: ${JSON.stringify(last)}; ` +
        `connections ${JSON.stringify(pcs)}; status "${status}"\n` +
        (page.__log ?? []).filter((l) => !l.includes('"candidate"')).join('\n'));
}

export async function statusText(page) {
    return (await page.textContent('#status'))?.trim() ?? '';
}

export async function waitForStatus(page, re, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
        text = await statusText(page);
        if (re.test(text)) return text;
        await sleep(100);
    }
    throw new Error(`status never matched ${re}; last: "${text}"`);
}

export async function screenshot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file });
    return file;
}

// Every request must go to the server under test and nowhere else.
export function foreignRequests(requests, base) {
    const origin = new URL(base);
    return requests.filter((u) => {
        let url;
        try { url = new URL(u); } catch { return true; }
        if (url.protocol === 'data:' || url.protocol === 'blob:') return false;
        return url.hostname !== origin.hostname || url.port !== origin.port;
    });
}

// axe-core on the page: no WCAG 2.2 A/AA violation and no best-practice
// one. It is injected with addScriptTag, which the shipped CSP (script-src
// 'self') refuses: only contexts made with bypassCSP: true can use it.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export async function axe(page, what) {
    await page.addScriptTag({ path: AXE });
    const res = await page.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    }));
    const bad = res.violations.map((v) => `${what}: ${v.id} (${v.impact}): ${v.help}\n    ` +
        v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    '));
    assert.deepEqual(bad, [], bad.join('\n'));
}
