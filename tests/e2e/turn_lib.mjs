// coturn for the TURN tests (tests/integration/turn_*.test.mjs,
// tests/e2e/turn_relay.test.mjs): our own turnserver on free 127.0.0.1 ports,
// configured by turn/render.sh --dev from a secret file (the one nginx reads),
// in a folder of its own. Never the system service.
//
//   const turn = await startCoturn({ secretFile, tls: true });
//   turn.port, turn.tlsPort, turn.relay = [min, max], turn.log()
//   await turn.stop();
//
// Every coturn started here is killed when the test process exits.
import { spawn, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RENDER = path.join(TOP, 'turn/render.sh');
export const TURNSERVER = process.env.TURNSERVER_BIN || '/usr/bin/turnserver';
export const UCLIENT = process.env.TURN_UCLIENT_BIN || '/usr/bin/turnutils_uclient';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RUN_SH = path.join(TOP, 'tools/run.sh');

const live = new Set();     // child processes
process.on('exit', () => {
    for (const child of live) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
});

export function run(cmd, args, { timeout = 20000, env } = {}) {
    return new Promise((resolve) => {
        const child = execFile(cmd, args, { timeout, env, maxBuffer: 16 << 20 },
            (err, stdout, stderr) => {
                live.delete(child);
                resolve({
                    code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
                    signal: err?.signal ?? null,
                    stdout, stderr, output: `${stdout}${stderr}`,
                });
            });
        live.add(child);
    });
}

// A port free on 127.0.0.1 for both TCP and UDP.
export async function freeUdpTcpPort() {
    for (let i = 0; i < 50; i++) {
        const port = await new Promise((resolve, reject) => {
            const srv = net.createServer();
            srv.on('error', reject);
            srv.listen(0, '127.0.0.1', () => {
                const p = srv.address().port;
                srv.close(() => resolve(p));
            });
        });
        const ok = await new Promise((resolve) => {
            const s = dgram.createSocket('udp4');
            s.once('error', () => { s.close(); resolve(false); });
            s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
        });
        if (ok) return port;
    }
    throw new Error('no port free for both TCP and UDP on 127.0.0.1');
}

async function udpFree(port) {
    return new Promise((resolve) => {
        const s = dgram.createSocket('udp4');
        s.once('error', () => { try { s.close(); } catch { /* */ } resolve(false); });
        s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
}

// A small UDP range for relay endpoints, outside the kernel's ephemeral
// range (32768-60999 on Linux) so that nothing else grabs it by chance.
export async function freeRelayRange(size = 20) {
    for (let i = 0; i < 50; i++) {
        const min = 61000 + Math.floor(Math.random() * ((65000 - 61000) / size)) * size;
        let ok = true;
        for (let p = min; p < min + size && ok; p++) ok = await udpFree(p);
        if (ok) return [min, min + size - 1];
    }
    throw new Error('no free UDP relay range in 61000-65000');
}

function connectable(port) {
    return new Promise((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

// A TCP port listened on inside a network namespace.
async function listeningIn(ns, port) {
    const r = await run('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`]);
    return r.code === 0 && r.stdout.trim() !== '';
}

// A folder that coturn and the nginx workers (user nobody when we are root)
// can enter.
export async function tempDir(prefix = 'webcall-turn-') {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
    await fsp.chmod(dir, 0o755);
    return dir;
}

// A self-signed certificate for 127.0.0.1 / localhost (ECDSA P-256), or for
// the DNS names given, and the base64 SHA-256 of its SubjectPublicKeyInfo,
// for Chromium's --ignore-certificate-errors-spki-list.
export async function testCertificate(dir, names = null) {
    const cert = path.join(dir, 'turn-cert.pem');
    const key = path.join(dir, 'turn-key.pem');
    const r = await run('openssl', ['req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
        '-days', '2', '-subj', `/CN=${names ? names[0] : 'localhost'}`,
        '-addext', `subjectAltName=${names ? names.map((n) => `DNS:${n}`).join(',') : 'DNS:localhost,IP:127.0.0.1'}`]);
    if (r.code !== 0) throw new Error(`openssl req failed: ${r.output}`);
    const pem = await fsp.readFile(cert, 'utf8');
    const spki = new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    return { cert, key, spki: crypto.createHash('sha256').update(spki).digest('base64') };
}

// TURN REST API credentials, as the module mints them.
export function mint(secret, username) {
    return crypto.createHmac('sha1', secret).update(username).digest('base64');
}

// The secret as nginx and turn/render.sh read it (trailing whitespace off).
export function readSecret(file) {
    return fs.readFileSync(file, 'utf8').replace(/[ \t\r\n]+$/, '');
}

// Renders the dev configuration and starts coturn on it.
// opts: secretFile (required), realm ('localhost'), tls (false: a test
// certificate is made in its folder), cert/key (use these instead),
// conf (text => text: a last change to the rendered configuration, e.g. to
// test the production template), renderArgs (instead of the --dev ones),
// tlsPort (a fixed one), netns (run coturn inside this network namespace;
// its ports are then checked there, with ss).
export async function startCoturn(opts) {
    const dir = await tempDir();
    const port = opts.port ?? await freeUdpTcpPort();
    let tlsPort = null;
    let cert = null;
    if (opts.tls) {
        tlsPort = opts.tlsPort ?? await freeUdpTcpPort();
        cert = opts.cert ? { cert: opts.cert, key: opts.key, spki: opts.spki } : await testCertificate(dir);
    }
    const relay = opts.relay ?? await freeRelayRange();
    const args = opts.renderArgs ?? ['--dev', '--run-dir', dir];
    args.push('--secret-file', opts.secretFile, '--realm', opts.realm ?? 'localhost',
        '--port', String(port), '--relay-min', String(relay[0]), '--relay-max', String(relay[1]));
    if (cert) args.push('--tls-port', String(tlsPort), '--cert', cert.cert, '--key', cert.key);
    const r = await run('bash', [RENDER, ...args]);
    if (r.code !== 0) throw new Error(`turn/render.sh failed (${r.code}): ${r.stderr}`);
    let text = r.stdout;
    if (opts.conf) text = opts.conf(text, dir);
    const confFile = path.join(dir, 'turnserver.conf');
    await fsp.writeFile(confFile, text, { mode: 0o600 });
    const logFile = path.join(dir, 'turnserver.log');

    const child = opts.netns
        ? spawn('ip', ['netns', 'exec', opts.netns, TURNSERVER, '-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(TURNSERVER, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.exited = new Promise((resolve) => child.once('exit', (code, sig) => {
        child.exitStatus = { code, sig };
        live.delete(child);
        resolve(child.exitStatus);
    }));
    live.add(child);

    const inst = {
        dir, port, tlsPort, relay, cert, confFile, pid: child.pid,
        log: () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } },
        output: () => output,
        stop,
    };

    async function stop() {
        if (!child.exitStatus) {
            try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
            const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* */ } }, 3000);
            await child.exited;
            clearTimeout(timer);
        }
        if (!opts.keep) await fsp.rm(dir, { recursive: true, force: true });
    }

    const deadline = Date.now() + 10000;
    for (;;) {
        if (child.exitStatus) {
            const log = inst.log();
            await stop();
            throw new Error(`turnserver exited at start (${JSON.stringify(child.exitStatus)}):\n${output}\n--- log:\n${log}`);
        }
        const listening = opts.netns
            ? (p) => listeningIn(opts.netns, p)
            : connectable;
        const up = await listening(port) && (!tlsPort || await listening(tlsPort)) &&
            /Relay ports initialization done/.test(inst.log());
        if (up) break;
        if (Date.now() > deadline) {
            const log = inst.log();
            await stop();
            throw new Error(`turnserver did not listen within 10 s:\n${output}\n--- log:\n${log}`);
        }
        await sleep(50);
    }
    return inst;
}

// turnutils_uclient in client-to-client mode (-y: two allocations on the
// relay send to each other, so the relay must carry the data), without
// RTCP allocations (-c). transport: 'udp' | 'tcp' | 'tls'.
// Returns { code, output, sent, received, relayed }: relayed is true when
// at least half of the messages sent came back through the relay (UDP on a
// busy 2-core machine may drop one).
export async function uclient(turn, { username, password, transport = 'udp', messages = 3, timeout = 20000 }) {
    const args = ['-y', '-c', '-n', String(messages), '-m', '1', '-l', '120', '-z', '10',
        '-u', username, '-w', password];
    if (transport === 'tcp') args.push('-t');
    if (transport === 'tls') args.push('-t', '-S');
    args.push('-p', String(transport === 'tls' ? turn.tlsPort : turn.port), '127.0.0.1');
    const r = await run(UCLIENT, args, { timeout });
    const m = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(
        r.output.split('\n').filter((l) => /start_mclient: tot_send_msgs=/.test(l)).pop() ?? '');
    const sent = m ? Number(m[1]) : 0;
    const received = m ? Number(m[2]) : 0;
    const relayed = sent > 0 && received * 2 >= sent;
    return { ...r, sent, received, relayed, args };
}

// `make run` (tools/run.sh) in a temp run folder on free ports, in its own
// process group like a terminal job; env: more variables (EXTRA_SERVER...).
// Returns { child, dir, port, turnPort, output(), killAll() }.
export async function startRun(env = {}) {
    const dir = await tempDir('webcall-run-');
    const port = await freeUdpTcpPort();
    const turnPort = await freeUdpTcpPort();
    const [relayMin, relayMax] = await freeRelayRange();
    const child = spawn('bash', [RUN_SH], {
        env: { ...process.env, RUN_DIR: dir, PORT: String(port), TURN_PORT: String(turnPort),
            TURN_RELAY_MIN: String(relayMin), TURN_RELAY_MAX: String(relayMax), ...env },
        detached: true,             // its own process group, like a terminal's job
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.exited = new Promise((resolve) => child.once('exit', (code, sig) => {
        child.exitStatus = { code, sig };
        resolve(child.exitStatus);
    }));
    const killAll = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
    process.once('exit', killAll);
    const deadline = Date.now() + 15000;
    while (!/webcall is running/.test(output)) {
        if (child.exitStatus) {
            await fsp.rm(dir, { recursive: true, force: true });
            throw new Error(`tools/run.sh exited (${JSON.stringify(child.exitStatus)}):\n${output}`);
        }
        if (Date.now() > deadline) {
            killAll();
            throw new Error(`tools/run.sh did not come up within 15 s:\n${output}`);
        }
        await sleep(50);
    }
    const stop = async () => {
        try { process.kill(-child.pid, 'SIGINT'); } catch { /* gone */ }
        const t = setTimeout(killAll, 10000);
        await child.exited;
        clearTimeout(t);
        await fsp.rm(dir, { recursive: true, force: true });
    };
    return { child, dir, port, turnPort, relay: [relayMin, relayMax], output: () => output, killAll, stop };
}
