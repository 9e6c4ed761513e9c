// Integration test harness: a real nginx with the built webcall module, on
// 127.0.0.1, configured by tools/render-conf.sh from the shipped
// deploy/nginx/*.conf (so the tests exercise what a sysadmin installs).
//
//   const ngx = await startNginx({ workers: 2, zoneArgs: 'webcall:1m ttl=2s' });
//   after(() => ngx.stop());          // stop() also checks the error log
//   const res = await request(ngx.base, '/api/rooms', { method: 'POST' });
//
// Every nginx started here is killed when the test process exits, whatever
// happens, so no process is left behind.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const execFileP = promisify(execFile);

export const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';
export const MODULE = path.resolve(
    process.env.WEBCALL_MODULE || path.join(TOP, 'build/ngx_http_webcall_module.so'));
const RENDER = path.join(TOP, 'tools/render-conf.sh');

// Lines in the error log that mean something went wrong, whatever the test.
const BAD_LOG = /\[alert\]|\[emerg\]|\[crit\]|exited on signal|open socket|ngx_slab_alloc\(\) failed/;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- processes we started: killed on exit, whatever happens ----------------

const live = new Set();         // { masterPid(), workerPids }

function killAll() {
    for (const inst of live) {
        for (const pid of [inst.pid, ...inst.lastWorkers]) {
            try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
    }
    live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => { killAll(); process.exit(130); });
}

// --- helpers -----------------------------------------------------------------

export async function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

// A temp folder the nginx workers (user nobody when we are root) can enter.
export async function tempDir(prefix = 'webcall-it-') {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
    await fsp.chmod(dir, 0o755);
    return dir;
}

export function moduleBuilt() {
    return fs.existsSync(MODULE);
}

function requireModule() {
    if (!moduleBuilt()) {
        throw new Error(`${MODULE} is missing: run \`make module\` first`);
    }
}

// web/dist if it has been built, else a minimal stand-in inside dir.
async function webRoot(dir) {
    const dist = path.join(TOP, 'web/dist');
    if (fs.existsSync(path.join(dist, 'index.html')) &&
        fs.existsSync(path.join(dist, 'room.html'))) {
        return dist;
    }
    const root = path.join(dir, 'web');
    await fsp.mkdir(path.join(root, 'assets'), { recursive: true });
    for (const page of ['index', 'room']) {
        await fsp.writeFile(path.join(root, `${page}.html`),
            `<!doctype html><title>webcall ${page}</title><p>${page}</p>\n`);
    }
    await fsp.chmod(root, 0o755);
    return root;
}

// A fresh random secret (hex, 64 bytes of text) in a file of its own.
export async function writeSecret(dir, name = 'other-secret') {
    const file = path.join(dir, name);
    const { randomBytes } = await import('node:crypto');
    await fsp.writeFile(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    return file;
}

// Renders nginx.conf and its includes into dir with tools/render-conf.sh.
async function render(dir, opts) {
    const env = {
        ...process.env,
        PORT: String(opts.port ?? 8080),
        WORKERS: String(opts.workers ?? 2),
        MODULE,
        WEB_ROOT: opts.webRoot ?? await webRoot(dir),
        SECRET_FILE: opts.secretFile ?? path.join(dir, 'secret'),
        ENDED_FILE: opts.endedFile ?? path.join(dir, 'ended-rooms'),
        ZONE_ARGS: opts.zoneArgs ?? '',
        EXTRA_MAIN: opts.extraMain ?? '',
        EXTRA_HTTP: opts.extraHttp ?? '',
        // coturn's config for the shipped webcall_turn_coturn_conf line
        // (default: RUN_DIR/turnserver.conf, which does not exist: TURN off).
        TURN_COTURN_CONF: opts.turnCoturnConf ?? '',
        EXTRA_SERVER: opts.extraServer ?? '',
        ERROR_LOG_LEVEL: opts.errorLogLevel ?? 'notice',
        LOG_TO_STDERR: '0',
        LISTEN: opts.listen ?? '',
        SERVER_NAME: opts.serverName ?? '',
        WORKER_CONNECTIONS: String(opts.workerConnections ?? 4096),
    };
    await execFileP('bash', [RENDER, dir], { env });
    if (opts.rateLimit === false) {
        // The tests that need many rooms or connections drop the shipped
        // per-client limits (limit_req on creation, limit_conn on /ws/).
        const file = path.join(dir, 'webcall-server.conf');
        const text = await fsp.readFile(file, 'utf8');
        const kept = text.split('\n').filter(
            (l) => !/^\s*(limit_req\s|limit_req_status\s|error_page\s+429\s|limit_conn(_status|_log_level)?\s)/.test(l));
        await fsp.writeFile(file, kept.join('\n'));
    }
    if (opts.wsLocation) {
        // Directives for the signaling location (location /ws/ {...}).
        const file = path.join(dir, 'webcall-server.conf');
        const text = await fsp.readFile(file, 'utf8');
        const head = /^(\s*location \/ws\/ \{)$/m;
        if (!head.test(text)) throw new Error(`no "location /ws/ {" line in ${file}`);
        await fsp.writeFile(file, text.replace(head, (m) => `${m}\n    ${opts.wsLocation}`));
    }
    return path.join(dir, 'nginx.conf');
}

function alive(pid) {
    try { process.kill(pid, 0); return true; } catch { return false; }
}

export async function workerPids(masterPid) {
    try {
        const { stdout } = await execFileP('ps', ['-o', 'pid=', '--ppid', String(masterPid)]);
        return stdout.split('\n').map((s) => Number(s.trim())).filter(Boolean);
    } catch {
        return [];      // ps exits 1 when there is no such process
    }
}

function connectable(port) {
    return new Promise((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

// --- nginx -t ----------------------------------------------------------------

// Runs `nginx -t` on a configuration: either its text (a string, or a
// function dir => text for confs that need their folder), or the options of
// startNginx to test the rendered shipped configuration.
// Returns { code, output } (output: nginx's stderr and stdout together).
export async function nginxTest(conf) {
    requireModule();
    const dir = await tempDir('webcall-t-');
    try {
        let confFile = path.join(dir, 'nginx.conf');
        if (typeof conf === 'string' || typeof conf === 'function') {
            const text = typeof conf === 'function' ? await conf(dir) : conf;
            await fsp.writeFile(confFile, text);
        } else {
            confFile = await render(dir, { port: await freePort(), ...conf });
        }
        const r = await new Promise((resolve) => {
            execFile(NGINX, ['-t', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', confFile],
                { timeout: 10000 },
                (err, stdout, stderr) => resolve({
                    code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
                    output: `${stderr}${stdout}`,
                }));
        });
        return r;
    } finally {
        await fsp.rm(dir, { recursive: true, force: true });
    }
}

// --- a running nginx -----------------------------------------------------------

// Starts nginx (master + `workers` worker processes) on a free port.
// Options: workers (2), zoneArgs, extraHttp, extraServer, secretFile, port,
// turnCoturnConf (coturn's config for the shipped TURN lines), extraMain
// (top-level lines, e.g. a stream {} block),
// rateLimit (true: the shipped limit_req on POST /api/rooms), errorLogLevel,
// wsLocation (lines added inside the shipped `location /ws/ {}`, e.g.
// 'webcall_ws_ping_interval 1s;'), workerConnections (events {}; 4096),
// allowAlerts (regexes: error log lines matching one of them do not fail
// stop(), e.g. an expected
// /worker process \d+ exited on signal 9/; stop({ allowAlerts }) adds more),
// netns (run nginx inside this network namespace: `ip netns exec`), with
// listen and serverName (the server's listen parameters and name), base
// (the address pages use) and ready (async () => true once it answers,
// since 127.0.0.1:port of the namespace is not reachable from here).
export async function startNginx(opts = {}) {
    requireModule();
    const port = opts.port ?? await freePort();
    const dir = await tempDir();
    const confFile = await render(dir, { ...opts, port });
    const errorLogFile = path.join(dir, 'error.log');

    const inst = {
        port,
        dir,
        base: opts.base ?? `http://127.0.0.1:${port}`,
        pid: 0,
        child: null,
        lastWorkers: [],
        output: '',
        errorLog: () => {
            try { return fs.readFileSync(errorLogFile, 'utf8'); } catch { return ''; }
        },
        workerPids: async () => (inst.lastWorkers = await workerPids(inst.pid)),
        reload,
        stop,
        restart,
    };

    async function launch() {
        try { fs.unlinkSync(path.join(dir, 'nginx.pid')); } catch { /* none */ }
        const args = ['-p', dir, '-e', errorLogFile, '-c', confFile, '-g', 'daemon off;'];
        // ip netns exec execs nginx in place: the pid is the master's.
        const child = opts.netns
            ? spawn('ip', ['netns', 'exec', opts.netns, NGINX, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
            : spawn(NGINX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        inst.child = child;
        inst.pid = child.pid;
        child.exited = new Promise((resolve) => child.once('exit', (code, sig) => {
            child.exitStatus = { code, sig };
            resolve(child.exitStatus);
        }));
        child.stdout.on('data', (d) => { inst.output += d; });
        child.stderr.on('data', (d) => { inst.output += d; });
        live.add(inst);

        const deadline = Date.now() + 10000;
        for (;;) {
            if (child.exitStatus) {
                live.delete(inst);
                throw new Error(`nginx exited at start (${JSON.stringify(child.exitStatus)}):\n` +
                    `${inst.output}\n--- error.log:\n${inst.errorLog()}`);
            }
            let pidOk = false;
            try {
                pidOk = Number(fs.readFileSync(path.join(dir, 'nginx.pid'), 'utf8').trim()) === child.pid;
            } catch { /* not yet */ }
            if (pidOk && await (opts.ready ? opts.ready() : connectable(port))) break;
            if (Date.now() > deadline) {
                await halt();
                throw new Error(`nginx did not start within 10 s:\n${inst.output}\n` +
                    `--- error.log:\n${inst.errorLog()}`);
            }
            await sleep(50);
        }
        await inst.workerPids();
    }

    // Stops the master (SIGTERM, SIGKILL after 5 s) and waits for its exit.
    async function halt() {
        const child = inst.child;
        if (!child) return;
        inst.child = null;
        const workers = await workerPids(child.pid);
        if (!child.exitStatus) {
            try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
            const timer = setTimeout(() => {
                for (const pid of [child.pid, ...workers]) {
                    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
                }
            }, 5000);
            await child.exited;
            clearTimeout(timer);
        }
        // The master waits for its workers; make sure, though.
        for (const pid of workers) {
            for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
            if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
        }
        live.delete(inst);
    }

    function checkLog(allowAlerts = []) {
        const allowed = [...(opts.allowAlerts ?? []), ...allowAlerts];
        const bad = inst.errorLog().split('\n').filter(
            (l) => BAD_LOG.test(l) && !allowed.some((re) => re.test(l)));
        if (bad.length) {
            throw new Error(`nginx error log (${errorLogFile}) has problems:\n${bad.join('\n')}`);
        }
    }

    // Stops nginx, then fails if the error log shows alerts, crashes or
    // leaks. The run folder is removed unless the log check failed.
    async function stop({ allowAlerts = [] } = {}) {
        await halt();
        checkLog(allowAlerts);
        await fsp.rm(dir, { recursive: true, force: true });
    }

    // A full restart: the shared zone is wiped; folder, port and secret stay.
    async function restart() {
        await halt();
        checkLog();
        await launch();
    }

    // SIGHUP: nginx re-reads its configuration and replaces its workers.
    async function reload() {
        const old = await workerPids(inst.pid);
        process.kill(inst.pid, 'SIGHUP');
        const deadline = Date.now() + 10000;
        for (;;) {
            const now = await workerPids(inst.pid);
            if (!old.some((pid) => alive(pid)) && now.length > 0 &&
                !now.some((pid) => old.includes(pid))) {
                break;
            }
            if (Date.now() > deadline) {
                throw new Error(`reload: old workers ${old} still running or no new ones ` +
                    `(${now}):\n${inst.errorLog()}`);
            }
            await sleep(50);
        }
        await inst.workerPids();
    }

    try {
        await launch();
    } catch (e) {
        await fsp.rm(dir, { recursive: true, force: true });
        throw e;
    }
    return inst;
}

// --- HTTP ----------------------------------------------------------------------

// One request on a fresh connection (no keep-alive: it may reach any worker).
// An https base is a test node's: its self-signed certificate is taken;
// servername: the TLS server name to send (none for an address).
// body: string/Buffer sent as is; json: a value sent as JSON with
// Content-Type: application/json. Returns { status, headers, body, json }
// (json: the parsed body, or undefined when it is not JSON).
export function request(base, pathname, { method = 'GET', headers = {}, body, json, timeout = 5000, servername } = {}) {
    return new Promise((resolve, reject) => {
        const hdrs = { ...headers };
        let payload = body;
        if (json !== undefined) {
            payload = JSON.stringify(json);
            if (!Object.keys(hdrs).some((h) => h.toLowerCase() === 'content-type')) {
                hdrs['Content-Type'] = 'application/json';
            }
        }
        if (payload !== undefined) hdrs['Content-Length'] = Buffer.byteLength(payload);
        else if (method === 'POST' || method === 'PUT') hdrs['Content-Length'] = 0;
        const url = new URL(pathname, base);
        const tls = url.protocol === 'https:';
        const req = (tls ? https : http).request(url,
            { method, headers: hdrs, agent: false, timeout, ...(tls ? { rejectUnauthorized: false, servername } : {}) },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('error', reject);
                res.on('end', () => {
                    const text = Buffer.concat(chunks).toString('utf8');
                    let parsed;
                    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
                    resolve({ status: res.statusCode, headers: res.headers, body: text, json: parsed });
                });
            });
        req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: timed out`)));
        req.on('error', reject);
        req.end(payload);
    });
}
