// What make bench (relay.bench.mjs) and make bench-fleet (fleet.bench.mjs)
// share: the load generator run pinned to a core, process memory, the
// descriptor limit, and the table's number formats.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// --- child processes: every one is killed at exit, whatever happens ----------

const children = new Set();
process.on('exit', () => {
    for (const c of children) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
});

// A runner of programs pinned to core `cpu`. Each run resolves with the
// program's stdout parsed as JSON (the first line when hold: the loadgen
// then keeps its connections until release() closes its stdin).
export function pinnedOn(cpu) {
    return (prog, args, opts) => pinned(cpu, prog, args, opts);
}

function pinned(cpu, prog, args, { hold = false, timeoutMs = 300000 } = {}) {
    const child = spawn('taskset', ['-c', String(cpu), prog, ...args.map(String)],
        { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let out = '', err = '';
    const exited = new Promise((resolve) => child.once('exit', (code, sig) => {
        children.delete(child);
        resolve({ code, sig });
    }));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    exited.then(() => clearTimeout(timer));
    child.stderr.on('data', (d) => { err += d; });
    const what = `${path.basename(prog)} ${args.join(' ')}`;
    const parse = (text) => {
        try { return JSON.parse(text); } catch {
            throw new Error(`${what}: no JSON result (stdout: ${text.slice(0, 300)}; stderr: ${err.slice(0, 500)})`);
        }
    };
    return new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => {
            out += d;
            const nl = out.indexOf('\n');
            if (hold && nl >= 0 && !child.resolved) {
                child.resolved = true;
                try {
                    resolve({
                        result: parse(out.slice(0, nl)),
                        release: async () => { child.stdin.end(); await exited; },
                    });
                } catch (e) { reject(e); }
            }
        });
        exited.then(({ code, sig }) => {
            if (child.resolved) return;
            child.resolved = true;
            if (code !== 0) {
                reject(new Error(`${what} exited with ${code ?? sig}: ${err.slice(0, 500)}`));
                return;
            }
            try { resolve(parse(out.trim())); } catch (e) { reject(e); }
        });
    });
}

// Waits for every held run (pinned(..., { hold: true })); if one fails,
// releases the others and throws its error.
export async function holdAll(runs) {
    const settled = await Promise.allSettled(runs);
    const held = settled.filter((x) => x.status === 'fulfilled').map((x) => x.value);
    const failed = settled.find((x) => x.status === 'rejected');
    if (failed) {
        for (const h of held) await h.release();
        throw failed.reason;
    }
    return held;
}

// --- processes: memory and descriptors --------------------------------------------

export function procStatus(pid) {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0);
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), shmem: kb('RssShmem') };
}

// The memory of several processes, summed (kB).
export function sumStatus(pids) {
    return pids.map(procStatus).reduce((a, b) => ({
        rss: a.rss + b.rss, anon: a.anon + b.anon, shmem: a.shmem + b.shmem,
    }));
}

// The hard RLIMIT_NOFILE (raising it needs CAP_SYS_RESOURCE), and what a
// benchmark's workers may open under it.
export const hardNofile = Number(execFileSync('bash', ['-c', 'ulimit -Hn']).toString().trim());
export const NOFILE = Math.min(100000, hardNofile);

// --- the tables --------------------------------------------------------------------

export const fmt = (x, d = 0) => (x === undefined || x === null || Number.isNaN(x) ? 'n/a'
    : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
export const yes = (ok) => (ok ? 'yes' : '**no**');
export const cpuModel = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
export const nproc = execFileSync('nproc').toString().trim();

// A phase of a benchmark: a failure becomes a note under the table (and
// the phase's figures n/a), not the end of the run.
export function phaseRunner(bench, notes) {
    return async (name, fn) => {
        try {
            return await fn();
        } catch (e) {
            notes.push(`${name} failed: ${e.message.split('\n')[0].slice(0, 300)}`);
            console.error(`${bench}: ${name} failed:`, e);
            return undefined;
        }
    };
}
