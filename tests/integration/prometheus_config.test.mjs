// deploy/prometheus/: the scrape config and the rules pass promtool, the
// rules' figures and alerts come out right on series shaped like the
// module's (promtool test rules), and the Grafana dashboard asks only for
// metrics the module serves: every query of every panel runs on the real
// Prometheus scraping nginx with the module, with the shipped rules loaded.
//
// Needs: make module, prometheus (make deps).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TOP, startNginx, request } from '../lib/nginx.mjs';
import { PROMTOOL, run, startPrometheus } from '../lib/prometheus.mjs';
import { Peer, createRoom } from '../lib/ws.mjs';

const DIR = path.join(TOP, 'deploy/prometheus');
const dashboard = JSON.parse(fs.readFileSync(path.join(DIR, 'grafana-dashboard.json'), 'utf8'));
const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

describe('deploy/prometheus', () => {
    let ngx, prom;

    before(async () => {
        ngx = await startNginx({ workers: 2 });
        prom = await startPrometheus(`127.0.0.1:${ngx.port}`, { rules: [path.join(DIR, 'webcall.rules.yml')] });
    });

    after(async () => {
        await prom?.stop();
        await ngx?.stop();
    });

    it('the scrape config and its rules pass promtool', async () => {
        const config = await run(PROMTOOL, ['check', 'config', path.join(DIR, 'prometheus.yml')]);
        assert.equal(config.code, 0, config.output);
        assert.match(config.output, /1 rule files found/);
        const rules = await run(PROMTOOL, ['check', 'rules', path.join(DIR, 'webcall.rules.yml')]);
        assert.equal(rules.code, 0, rules.output);
    });

    it('the rules give the two requirement figures and alert on them (promtool test rules)', async () => {
        const r = await run(PROMTOOL, ['test', 'rules', path.join(TOP, 'tests/prometheus/webcall.rules.test.yml')]);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /SUCCESS/);
    });

    it('the dashboard covers what the operator asked for', () => {
        const titles = dashboard.panels.map((p) => p.title);
        for (const t of ['Rooms', 'Connections', 'Relay rate', 'Errors', 'Call setup time',
            'Calls connected at the first try', 'Relayed calls']) {
            assert.ok(titles.includes(t), `a panel "${t}" in ${titles}`);
        }
        const setup = dashboard.panels.find((p) => p.title === 'Call setup time').targets.map((t) => t.expr).join(' ');
        assert.match(setup, /histogram_quantile\(0\.5,/);
        assert.match(setup, /histogram_quantile\(0\.8,/);
        assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
    });

    it('every metric a dashboard query names is one the module serves', async () => {
        // something in every family: a room, a call with a beacon
        const { token } = await createRoom(ngx.base);
        const a = await Peer.open(ngx.port, token);
        try {
            await a.join();
            a.send({ type: 'beacon', phase: 'setup', ms: 900, firstTry: true, path: 'direct', transport: 'udp' });
            await new Promise((r) => setTimeout(r, 200));
        } finally {
            a.drop();
        }
        const text = (await request(ngx.base, '/metrics')).body;
        const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, kind]) =>
            kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]));
        for (const { panel, expr } of queries) {
            for (const [name] of expr.matchAll(/\bwebcall_[a-z_]+/g)) {
                assert.ok(families.has(name), `panel "${panel}" asks for ${name}, which /metrics does not serve`);
            }
        }
    });

    it('every dashboard query and recorded figure runs on the real Prometheus', { timeout: 60000 }, async () => {
        // two scrapes at least, so that rate() has something to work on
        await new Promise((r) => setTimeout(r, 2500));
        for (const { panel, expr } of queries) {
            const q = expr.replaceAll('$__rate_interval', '1m');
            await prom.api(q);   // throws with Prometheus's error when it does not parse or run
        }
        for (const record of ['webcall:call_setup_seconds:p80_1h', 'webcall:calls_first_try:ratio_1h']) {
            assert.ok(Array.isArray(await prom.api(record)), record);
        }
        // the first-try share is what the beacon said: 1 of 1
        assert.equal(await prom.value('webcall:calls_first_try:ratio_1h', 1, 10000), 1);
    });
});
