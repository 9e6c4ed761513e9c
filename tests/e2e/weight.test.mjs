// Page weight: the room page with everything it loads (HTML, CSS, scripts,
// the QR chunk, the icon) stays at or under 60 KB gzipped; the home page too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { TOP, startNginx } from '../lib/nginx.mjs';
import { createLink, launch, participant, waitForStatus } from './browser.mjs';

const LIMIT = 60 * 1024;

let ngx;
let browser;

before(async () => {
    ngx = await startNginx({ workers: 1, rateLimit: false });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    await ngx?.stop();
});

async function weigh(p, url, ready) {
    const bodies = new Map();
    const encodings = new Map();
    p.page.on('response', async (res) => {
        if (!res.url().startsWith(ngx.base) || res.url().includes('/api/')) return;
        try {
            bodies.set(res.url(), await res.body());
            encodings.set(res.url(), (await res.allHeaders())['content-encoding'] ?? null);
        } catch { /* redirects have none */ }
    });
    await p.page.goto(url);
    await ready();
    await p.page.waitForLoadState('networkidle');
    let raw = 0;
    let gz = 0;
    const files = [];
    for (const [u, b] of bodies) {
        const z = zlib.gzipSync(b, { level: 9 }).length;
        raw += b.length;
        gz += z;
        files.push(`${new URL(u).pathname} ${b.length} B, ${z} B gzipped`);
    }
    // What goes on the wire is compressed: nginx's gzip_static sends the
    // .gz files that tools/build-web.sh makes.
    const plain = [...bodies.keys()].filter((u) => /\.(js|css|svg)$|\/$|\/r\//.test(new URL(u).pathname) &&
        encodings.get(u) !== 'gzip');
    return { raw, gz, files, plain };
}

describe('page weight', () => {
    test('the room page with everything it loads is at most 60 KB gzipped', async () => {
        const p = await participant(browser);
        const link = await createLink(ngx.base, p.page, { maxParticipants: 2 });
        const w = await weigh(p, link, async () => {
            await waitForStatus(p.page, /Waiting/);
            await p.page.waitForSelector('#qr svg');
        });
        const report = `room page: ${w.raw} B, ${w.gz} B gzipped\n  ${w.files.join('\n  ')}`;
        console.log(report);
        fs.mkdirSync(path.join(TOP, 'test-results'), { recursive: true });
        fs.writeFileSync(path.join(TOP, 'test-results/page-weight.txt'), report + '\n');
        assert.ok(w.files.some((f) => f.includes('room.js')));
        assert.deepEqual(w.plain, [], 'sent without gzip');
        assert.ok(w.gz <= LIMIT, report);
        await p.context.close();
    });

    test('the home page is at most 60 KB gzipped', async () => {
        const p = await participant(browser);
        const w = await weigh(p, `${ngx.base}/`, async () => {
            await p.page.click('#create');
            await p.page.waitForSelector('#qr svg');
        });
        const report = `home page: ${w.raw} B, ${w.gz} B gzipped\n  ${w.files.join('\n  ')}`;
        console.log(report);
        fs.appendFileSync(path.join(TOP, 'test-results/page-weight.txt'), report + '\n');
        assert.deepEqual(w.plain, [], 'sent without gzip');
        assert.ok(w.gz <= LIMIT, report);
        await p.context.close();
    });
});
