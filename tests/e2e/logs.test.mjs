// No room link in any log: a whole call in Chromium (home page, "Create
// link", the second person opens it, a reload that resumes the seat, a
// hang-up) through nginx from the shipped snippets; then neither the
// access log nor the error log (at info, the most a production server
// logs) holds the token or a long piece of it, while the room's
// fingerprint ($webcall_room) and the peer ids name what happened. A
// second error log at debug level tells the story of the call in the
// module's lines, by fingerprint too; nginx's own debug lines print every
// request line as it arrives, before any module runs, so a debug log is
// never free of links (docs/operations.md says so).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { request, startNginx, tempDir } from '../lib/nginx.mjs';
import { createLink, launch, participant, waitForMedia } from './browser.mjs';

describe('logs after a full call', () => {
    let ngx, browser, dir;

    before(async () => {
        dir = await tempDir('webcall-logs-');
        ngx = await startNginx({ workers: 2, rateLimit: false, errorLogLevel: 'info',
            extraMain: `error_log ${dir}/debug.log debug;` });
        browser = await launch();
    });

    after(async () => {
        await browser?.close();
        await ngx?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('hold no room token; they name the room by its fingerprint', { timeout: 90000 }, async () => {
        const a = await participant(browser);
        const b = await participant(browser);
        const link = await createLink(ngx.base, a.page);
        await a.page.click('#start');
        await b.page.goto(link);
        await waitForMedia(a.page, 1, 30000);
        await waitForMedia(b.page, 1, 30000);
        await b.page.reload();
        await waitForMedia(b.page, 1, 30000);
        await b.page.click('#hangup');
        await a.context.close();
        await b.context.close();
        // and the API's look-up of the room, as a monitor would make it
        const token0 = new URL(link).pathname.split('/').pop();
        assert.equal((await request(ngx.base, `/api/rooms/${token0}`)).status, 200);
        await new Promise((r) => setTimeout(r, 500));

        const token = new URL(link).pathname.split('/').pop();
        const fp = crypto.createHash('sha256').update(token).digest('hex').slice(0, 6);
        const access = fs.readFileSync(path.join(ngx.dir, 'access.log'), 'utf8');
        const errors = ngx.errorLog();
        const debug = fs.readFileSync(path.join(dir, 'debug.log'), 'utf8');
        const ours = debug.split('\n').filter((l) => l.includes('webcall:')).join('\n');
        assert.ok(errors.length > 0 && !errors.includes('[debug]'), 'the error log is at info');
        for (const [name, text] of [['access log', access], ['error log', errors], ["module's debug lines", ours]]) {
            // the whole token, and any 12 characters of it in a row
            for (let i = 0; i + 12 <= token.length; i++) {
                const piece = token.slice(i, i + 12);
                assert.ok(!text.includes(piece), `the ${name} holds "${piece}" of the room token:\n` +
                    text.split("\n").filter((l) => l.includes(piece)).slice(0, 3).map((l) => l.slice(0, 300)).join("\n"));
            }
        }
        // the room page and the signaling connections,
        // each with the room's fingerprint; the signaling lines with the peer
        for (const re of [
            new RegExp(`"GET /r/~${fp} HTTP/[0-9.]+" 200 .* room=${fp} peer=-`),
            new RegExp(`"GET /api/rooms/~${fp} HTTP/1.1" 200 .* room=${fp} peer=-`),
            new RegExp(`"GET /ws/~${fp} HTTP/1.1" 101 .* room=${fp} peer=[1-9A-HJ-NP-Za-km-z]{8}`),
        ]) {
            assert.match(access, re);
        }
        for (const re of [`webcall: WebSocket open, room ${fp}`, `webcall: join room ${fp}: peer [1-9A-HJ-NP-Za-km-z]{8}, seat \\d, new`,
            `webcall: join room ${fp}: peer [1-9A-HJ-NP-Za-km-z]{8}, seat \\d, resumed`, `webcall: relay offer, room ${fp}`,
            `webcall: relay answer, room ${fp}`, `webcall: bye, room ${fp}`, `webcall: WebSocket closed, room ${fp}`,
            `webcall: room ${fp} created for 2`]) {
            assert.match(ours, new RegExp(re), `the debug log tells: ${re}`);
        }
        const ws = access.split('\n').filter((l) => l.includes('/ws/'));
        assert.ok(ws.length >= 3, `three signaling connections (A, B, B after its reload): ${ws.join('\n')}`);
    });
});
