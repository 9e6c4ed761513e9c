// Call quality from real browsers: a call in Chromium sends one setup
// beacon per side, and the module's /metrics counts them (the setup-time
// histogram, calls by path and first try); a reload is a second setup,
// not at the first try, and the side that stayed reports a recovery.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, startNginx } from '../lib/nginx.mjs';
import { createLink, launch, participant, waitForMedia } from './browser.mjs';

// The sum of every sample of a metric whose labels include these.
function total(text, name, labels = {}) {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    let sum = 0;
    for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        const inside = (/\{(.*)\}/.exec(line)?.[1] ?? '').split(',');
        if (want.every((w) => inside.includes(w))) sum += Number(line.split(' ').pop());
    }
    return sum;
}

async function until(base, what, ok, timeoutMs = 15000) {
    const end = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < end) {
        text = (await request(base, '/metrics')).body;
        if (ok(text)) return text;
        await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`${what}; /metrics says:\n${text.split('\n').filter((l) => /call|beacon/.test(l)).join('\n')}`);
}

describe('beacons from a Chromium call', () => {
    let ngx, browser;

    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false });
        browser = await launch();
    });

    after(async () => {
        await browser?.close();
        await ngx?.stop();
    });

    it('count each side\'s setup, a reload as a setup not at the first try, and the recovery', { timeout: 90000 }, async () => {
        const a = await participant(browser);
        const b = await participant(browser);
        try {
            const link = await createLink(ngx.base, a.page);
            await a.page.click('#start');
            await b.page.goto(link);
            await waitForMedia(a.page, 1, 30000);
            await waitForMedia(b.page, 1, 30000);
            let m = await until(ngx.base, 'both sides report their setup',
                (t) => total(t, 'webcall_call_setup_seconds_count') === 2);
            // on one machine: a direct path over UDP, at the first try,
            // within the histogram's 10 s, and no sooner than a few ms
            assert.equal(total(m, 'webcall_calls_total', { path: 'direct', transport: 'udp', first_try: 'true' }), 2, m);
            assert.equal(total(m, 'webcall_call_setup_seconds_bucket', { path: 'direct', le: '10' }), 2);
            const sum = total(m, 'webcall_call_setup_seconds_sum');
            assert.ok(sum > 0.005 && sum < 20, `setup took ${sum} s in all`);
            assert.equal(total(m, 'webcall_beacons_total', { result: 'accepted' }), 2);

            await b.page.reload();
            await waitForMedia(b.page, 1, 30000);
            m = await until(ngx.base, 'the reloaded side sets up again and the other recovers',
                (t) => total(t, 'webcall_call_setup_seconds_count') === 3 &&
                       total(t, 'webcall_call_recovery_seconds_count') === 1);
            assert.equal(total(m, 'webcall_calls_total', { first_try: 'false' }), 1, m);
            assert.ok(total(m, 'webcall_call_reconnects_total') >= 1);
            assert.equal(total(m, 'webcall_beacons_total', { result: 'over-limit' }), 0);
            assert.equal(total(m, 'webcall_beacons_total', { result: 'malformed' }), 0);
            assert.equal(total(m, 'webcall_errors_sent_total', { error: 'bad-beacon' }), 0);
        } finally {
            await a.context.close();
            await b.context.close();
        }
    });
});
