// The real Prometheus (Debian's prometheus, make deps) for the tests: one
// on a loopback port scraping one target every second, with optional rule
// files, and promtool.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { freePort, tempDir } from './nginx.mjs';
import { sleep, waitFor } from './ws.mjs';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export function run(cmd, args, input) {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => { output += d; });
        child.stderr.on('data', (d) => { output += d; });
        child.on('close', (code) => resolve({ code, output }));
        child.stdin.end(input ?? '');
    });
}

export async function startPrometheus(target, { rules = [] } = {}) {
    const dir = await tempDir('webcall-prom-');
    const port = await freePort();
    const conf = path.join(dir, 'prometheus.yml');
    const ruleFiles = rules.length ? `rule_files:\n${rules.map((r) => `  - ${r}\n`).join('')}` : '';
    await fsp.writeFile(conf, `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n` + ruleFiles +
        `scrape_configs:\n  - job_name: webcall\n    metrics_path: /metrics\n` +
        `    static_configs:\n      - targets: ['${target}']\n`);
    const check = await run(PROMTOOL, ['check', 'config', conf]);
    assert.equal(check.code, 0, check.output);
    const child = spawn(PROMETHEUS, [`--config.file=${conf}`, `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const base = `http://127.0.0.1:${port}`;
    const api = async (q) => {
        const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
        const j = await r.json();
        if (j.status !== 'success') throw new Error(`${q}: ${JSON.stringify(j)}`);
        return j.data.result;
    };
    await waitFor(async () => {
        try { return (await api('up{job="webcall"}')).some((s) => s.value[1] === '1'); } catch { return false; }
    }, 20000, `Prometheus scraping webcall (${output})`, 200);
    return {
        api,
        // The value of a query once Prometheus has it (a scrape after the
        // last action), or the last one seen.
        async value(q, want, timeout = 8000) {
            let seen;
            const deadline = Date.now() + timeout;
            do {
                const r = await api(q);
                seen = r.length ? Number(r[0].value[1]) : undefined;
                if (seen === want) return seen;
                await sleep(250);
            } while (Date.now() < deadline);
            return seen;
        },
        async stop() {
            child.kill('SIGTERM');
            await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
            await fsp.rm(dir, { recursive: true, force: true });
        },
    };
}
