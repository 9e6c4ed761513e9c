// A simulated internet for browser tests and benchmarks (root only): network
// namespaces joined by veth pairs, with addresses from 198.18.0.0/15 only,
// built from inside the namespaces so the machine's own interfaces, routes
// and firewall are never touched.
//
//   core        a router with forwarding on; every link below ends here
//   pub         the "public" host 198.18.0.2: nginx with the module and
//               coturn, configured from deploy/ and turn/ as a sysadmin
//               installs them (webcall-stream.conf on 443, coturn from the
//               production template), with a test certificate for
//               call.test and turn.call.test
//   r<i>, h<i>  per caller network i: a NAT router (WAN 198.18.i.2/24, LAN
//               198.19.i.1/24) and the caller's host behind it
//               (198.19.i.2/24), where its Chromium runs
//
// Network kinds (the router's nft rules):
//   home       masquerade: Linux keeps the source port, so the mapping is
//              endpoint-independent and hole punching works
//   symmetric  masquerade random,fully-random: a new port for every
//              destination, so hole punching fails
//   office     home NAT, and a forward chain with policy drop that lets out
//              only TCP 443 (plus the answers to it)
//   mobile     home NAT with 100 ms of RTT, 2% loss each way and 1 Mbit/s
//              each way. This kernel has no sch_netem (no `tc netem`), so
//              delay and loss are tests/lib/delayline.c, fed by an iptables
//              NFQUEUE rule in the router; the rate is the kernel's tc tbf.
//
//   const net = await startInternet({ home1: 'home', sym1: 'symmetric' });
//   const browser = await net.launch('home1');       // Chromium in h<i>
//   await page.goto(`${net.base}/`);                  // https://call.test
//   await net.natCheck('sym1');    // { udp: 'differs', ... }
//   await net.shape('mobile1', { up: '400kbit' });
//   await net.cut('home1'); await net.heal('home1');  // the line drops
//   await net.stop();              // also on exit, whatever happens
//
// A fleet instead of one public host (startInternet(nets, { fleet: { nodes:
// 3, turns: 2 } })): pub runs the front nginx of deploy/scale-out/front.conf
// (stock nginx, TLS for call.test, no module); node<k> (198.18.10k.2) runs
// nginx with the module on :8080 from the shipped snippets, every node with
// the one secret; turn<k> (198.18.11k.2, turn<k>.call.test) runs coturn
// from the production template with that secret; every node's welcome lists
// every coturn. net.killNode(k) kills every process of a node (kill -9),
// net.startNode(k) starts it again, net.stopTurn(k) stops a coturn.
//
// Namespaces are named wi<pid>-<role>; leftovers of a test process that
// died are removed at the next start.
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOP, sleep, startNginx, tempDir, writeSecret } from './nginx.mjs';
import { startCoturn, testCertificate } from '../e2e/turn_lib.mjs';
import { startFront } from './front.mjs';

const SELF = fileURLToPath(import.meta.url);
export const PUBLIC_ADDR = '198.18.0.2';
export const SITE = 'call.test';
export const TURN_NAME = 'turn.call.test';
export const DELAYLINE = path.join(TOP, 'build/delayline');
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PROBE_PORTS = [40001, 40002];     // the NAT check's UDP echo on pub

export const KINDS = ['home', 'symmetric', 'office', 'mobile'];
export const MOBILE = { delayMs: 50, lossPermille: 20, up: '1mbit', down: '1mbit' };

// Whether namespaces are possible here (root). The tests do not skip on
// it: startInternet fails with this reason, and as root (CI) a missing tool
// is a failure of `make deps` that the test shows.
export function canUseInternet() {
    if (process.getuid?.() !== 0) return 'needs root';
    return true;
}

function sh(cmd, args, input) {
    try {
        return execFileSync(cmd, args, { input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] }).toString();
    } catch (e) {
        throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.toString().trim() || e.message}`);
    }
}
const ipn = (ns, ...args) => sh('ip', ['-n', ns, ...args]);
const nsExec = (ns, cmd, args, input) => sh('ip', ['netns', 'exec', ns, cmd, ...args], input);

// --- cleanup: by name, on exit, and of earlier dead runs -------------------

const live = new Set();
function cleanupSync() {
    for (const f of live) { try { f(); } catch { /* best effort */ } }
    live.clear();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { cleanupSync(); process.exit(130); });

function alive(pid) {
    try { process.kill(pid, 0); return true; } catch { return false; }
}

function namespaces() {
    return sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function sweepStale() {
    for (const name of namespaces()) {
        const m = /^wi(\d+)-/.exec(name);
        if (m && !alive(Number(m[1]))) {
            try { sh('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)
                .forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* */ } }); } catch { /* */ }
            try { sh('ip', ['netns', 'del', name]); } catch { /* gone */ }
        }
    }
}

// --- the topology -----------------------------------------------------------

function router(ns, kind) {
    // NAT: Linux's masquerade keeps the source port where it can
    // (endpoint-independent mapping); fully-random takes a new one for each
    // new flow (address- and port-dependent mapping).
    const nat = kind === 'symmetric' ? 'masquerade random,fully-random' : 'masquerade';
    let rules = `table ip webcall_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" ${nat}
    }
}
`;
    // As every home router does, nothing unasked-for from the internet
    // reaches the router itself. Dropped here, such a packet never commits
    // a conntrack entry; delivered to the router, it would, and the entry
    // would hold the very port the caller's own outgoing packet then needs
    // (a hole punch in both directions at once), so masquerade would give
    // that one a new port and no hole would ever open.
    rules += `table inet webcall_router {
    chain input {
        type filter hook input priority filter; policy accept;
        iifname "wan" ct state established,related accept
        iifname "wan" drop
    }
}
`;
    if (kind === 'office') {
        rules += `table inet webcall_office {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname "lan" oifname "wan" tcp dport 443 accept
    }
}
`;
    }
    nsExec(ns, 'nft', ['-f', '-'], rules);
}

// The line's rate: tbf on the router's egress to the internet (up) and to
// the caller (down); a queue of 300 ms, as a 3G link buffers.
function setRate(ns, dev, rate, change = false) {
    sh('tc', ['-n', ns, 'qdisc', change ? 'replace' : 'add', 'dev', dev, 'root', 'tbf',
        'rate', rate, 'burst', '16kb', 'latency', '300ms']);
}

function dataOf(kind) {
    return kind === 'mobile' ? { ...MOBILE } : null;
}

// Starts the simulated internet with the caller networks given
// ({ name: kind }); returns the handle described at the top.
export async function startInternet(networks, { turn = true, fleet = null } = {}) {
    const why = canUseInternet();
    if (why !== true) throw new Error(`the simulated internet ${why}`);
    if (!fs.existsSync(DELAYLINE) && Object.values(networks).includes('mobile')) {
        throw new Error(`${DELAYLINE} is missing: run \`make build/delayline\` (make e2e builds it)`);
    }
    sweepStale();
    const tag = `wi${process.pid}`;
    const dir = await tempDir('webcall-internet-');
    const core = `${tag}-core`;
    const pub = `${tag}-pub`;
    const made = [];
    const procs = [];
    const hosts = {};
    let ngx = null;
    let coturn = null;
    let cert = null;
    let coturnOpts = null;
    let stopped = false;
    const nodes = [];
    const turns = [];
    let front = null;

    const destroySync = () => {
        for (const p of procs) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
        for (const ns of made) {
            // Whatever still runs inside (a browser, nginx) goes first.
            try { sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean)
                .forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* */ } }); } catch { /* */ }
            try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    live.add(destroySync);

    const addNs = (name, { ipv6 = false, forward = false } = {}) => {
        sh('ip', ['netns', 'add', name]);
        made.push(name);
        ipn(name, 'link', 'set', 'lo', 'up');
        if (!ipv6) nsExec(name, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
        if (forward) nsExec(name, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    };
    const link = (a, ifa, addrA, b, ifb, addrB) => {
        ipn(a, 'link', 'add', ifa, 'type', 'veth', 'peer', 'name', ifb, 'netns', b);
        ipn(a, 'addr', 'add', addrA, 'dev', ifa);
        ipn(b, 'addr', 'add', addrB, 'dev', ifb);
        ipn(a, 'link', 'set', ifa, 'up');
        ipn(b, 'link', 'set', ifb, 'up');
    };

    const spawnIn = (ns, cmd, args) => {
        const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.output = () => out;
        procs.push(child);
        return child;
    };
    const ready = (child, what) => new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${what} did not start in 5 s: ${child.output()}`)), 5000);
        const check = () => { if (/ready/.test(child.output())) { clearTimeout(t); resolve(); } };
        child.stdout.on('data', check);
        child.once('exit', (code) => { clearTimeout(t); reject(new Error(`${what} exited ${code}: ${child.output()}`)); });
        check();
    });

    try {
        addNs(core, { forward: true });
        addNs(pub, { ipv6: true });     // the shipped stream conf listens on [::]:443 too
        link(core, 'pub', '198.18.0.1/24', pub, 'eth0', `${PUBLIC_ADDR}/24`);
        ipn(pub, 'route', 'add', 'default', 'via', '198.18.0.1');

        let i = 0;
        for (const [name, kind] of Object.entries(networks)) {
            if (!KINDS.includes(kind)) throw new Error(`unknown network kind "${kind}" for ${name}`);
            i++;
            const r = `${tag}-r${i}`;
            const h = `${tag}-h${i}`;
            addNs(r, { forward: true });
            addNs(h);
            link(core, `n${i}`, `198.18.${i}.1/24`, r, 'wan', `198.18.${i}.2/24`);
            link(r, 'lan', `198.19.${i}.1/24`, h, 'eth0', `198.19.${i}.2/24`);
            ipn(r, 'route', 'add', 'default', 'via', `198.18.${i}.1`);
            ipn(h, 'route', 'add', 'default', 'via', `198.19.${i}.1`);
            router(r, kind);
            const host = { name, kind, index: i, ns: h, router: r, wan: `198.18.${i}.2`,
                addr: `198.19.${i}.2`, shape: dataOf(kind), delayline: null };
            if (kind === 'mobile') {
                setRate(r, 'wan', host.shape.up);
                setRate(r, 'lan', host.shape.down);
                nsExec(r, 'iptables', ['-A', 'FORWARD', '-j', 'NFQUEUE', '--queue-num', '0']);
                host.delayline = spawnIn(r, DELAYLINE, ['0', String(host.shape.delayMs), String(host.shape.lossPermille)]);
                await ready(host.delayline, `delayline in ${name}`);
            }
            fs.writeFileSync(path.join(dir, `chromium-${name}`),
                `#!/bin/sh\nexec ip netns exec ${h} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
            hosts[name] = host;
        }

        if (fleet) {
            cert = await testCertificate(dir, [SITE, TURN_NAME, ...turnNames(fleet.turns)]);
            const secretFile = await writeSecret(dir, 'secret');
            await startFleet({ fleet, dir, cert, secretFile, addNs, link, nodes, turns });
            front = await startFront(nodes.map((n) => ({ host: n.addr, port: 8080 })), {
                netns: pub, host: PUBLIC_ADDR, port: 443, serverName: SITE, tls: cert,
            });
        }

        // The public host: coturn from the production template, nginx from
        // the shipped snippets, one certificate for both names. (A fleet
        // keeps the secret its nodes read: a node started again reads it
        // again.)
        if (!fleet) cert = await testCertificate(dir, [SITE, TURN_NAME]);
        const secretFile = fleet ? path.join(dir, 'secret') : await writeSecret(dir, 'secret');
        coturnOpts = {
            secretFile, netns: pub, tls: true, cert: cert.cert, key: cert.key, spki: cert.spki,
            realm: SITE, port: 3478, tlsPort: 5349, relay: [49152, 65535],
            renderArgs: [],
            conf: (text, cdir) => productionForTests(text, cdir),
        };
        if (turn && !fleet) coturn = await startCoturn(coturnOpts);
        if (!fleet) ngx = await startNginx({
            netns: pub, secretFile, rateLimit: true, workers: 2,
            port: 8443, base: `https://${SITE}`,
            // as webcall-stream.conf's step 3 says, HTTP/2 included: one
            // connection for the page and its scripts (on a 3G line every
            // new TLS connection costs two round trips)
            listen: '127.0.0.1:8443 ssl http2 proxy_protocol', serverName: SITE,
            extraMain: `load_module ${STREAM_MODULE};\n${streamConf()}`,
            extraHttp: turn ? turnLines(coturn.confFile) : '',
            turnCoturnConf: turn ? coturn.confFile : '',
            // The HTTPS server behind the multiplexer, as the file's step 3 says.
            extraServer: `ssl_certificate ${cert.cert};\nssl_certificate_key ${cert.key};\n` +
                'set_real_ip_from 127.0.0.1;\nreal_ip_header proxy_protocol;',
            ready: () => httpsUp(pub),
        });

        // The NAT check's UDP echo: each datagram comes back with the
        // address and port it came from, as the public host saw them.
        const echo = spawnIn(pub, process.execPath, [SELF, 'udp-echo', ...PROBE_PORTS.map(String)]);
        await ready(echo, 'the UDP echo');
    } catch (e) {
        await ngx?.stop().catch(() => {});
        await coturn?.stop().catch(() => {});
        await front?.stop().catch(() => {});
        for (const n of nodes) await n.nginx?.stop().catch(() => {});
        for (const t of turns) await t.coturn?.stop().catch(() => {});
        destroySync();
        live.delete(destroySync);
        throw e;
    }

    const hostOf = (name) => {
        const h = hosts[name];
        if (!h) throw new Error(`no network "${name}" in this internet`);
        return h;
    };

    const self = {
        base: `https://${SITE}`,
        dir, hosts, core, pub, nginx: ngx, coturn, nodes, turns, front,
        // Chromium flags for a caller: the site's names resolve to the
        // public host (there is no DNS here) and its test certificate is
        // trusted. WebRTC looks ICE server names up as absolute names
        // ("call.test."), which a rule for "call.test" does not match.
        chromiumArgs: () => [
            `--host-resolver-rules=${[
                ...[SITE, TURN_NAME, `${SITE}.`, `${TURN_NAME}.`].map((n) => `MAP ${n} ${PUBLIC_ADDR}`),
                ...turns.flatMap((t) => [`MAP ${t.name} ${t.addr}`, `MAP ${t.name}. ${t.addr}`]),
            ].join(',')}`,
            `--ignore-certificate-errors-spki-list=${cert.spki}`,
        ],
        // The path of a Chromium that runs in the caller's host.
        chromium: (name) => path.join(dir, `chromium-${hostOf(name).name}`),
        async launch(name, extra = []) {
            const { launchAt } = await import('../e2e/recovery_lib.mjs');
            return launchAt(self.chromium(name), [...self.chromiumArgs(), ...extra]);
        },
        natCheck: (name) => natCheck(hostOf(name)),
        // Every process of fleet node k (1-based) dies at once, as when its
        // machine loses power: its kernel then resets its connections.
        async killNode(k) {
            const n = nodes[k - 1];
            for (const pid of sh('ip', ['netns', 'pids', n.ns]).split('\n').filter(Boolean)) {
                try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
            }
            await n.nginx.child?.exited;
        },
        // Node k starts again, with an empty zone (its files kept).
        async startNode(k) {
            await nodes[k - 1].nginx.restart();
        },
        async stopTurn(k) {
            await turns[k - 1].coturn.stop();
        },
        // A room made through the API, as a sysadmin's tool would (from
        // the public host itself); returns its link.
        async newRoom(body = {}) {
            const out = nsExec(pub, 'curl', ['-sk', '--max-time', '5', '--resolve', `${SITE}:443:${PUBLIC_ADDR}`,
                '-H', 'Content-Type: application/json', '-d', JSON.stringify(body), `https://${SITE}/api/rooms`]);
            const url = JSON.parse(out).url;
            if (!url) throw new Error(`POST /api/rooms: ${out}`);
            return `https://${SITE}${url}`;
        },
        // coturn stops (every allocation is lost) and starts again on the
        // same ports and configuration.
        async restartTurn() {
            await self.coturn?.stop();
            self.coturn = coturn = await startCoturn(coturnOpts);
        },
        // Changes a network's line: up/down rates (tbf), delay and loss.
        async shape(name, { up, down, delayMs, lossPermille } = {}) {
            const h = hostOf(name);
            if (h.kind !== 'mobile') throw new Error(`${name} is not a mobile network`);
            if (up) { setRate(h.router, 'wan', up, true); h.shape.up = up; }
            if (down) { setRate(h.router, 'lan', down, true); h.shape.down = down; }
            if (delayMs !== undefined || lossPermille !== undefined) {
                h.shape.delayMs = delayMs ?? h.shape.delayMs;
                h.shape.lossPermille = lossPermille ?? h.shape.lossPermille;
                const old = h.delayline;
                // The new line binds the queue only once the old one let
                // go: packets wait in the kernel meanwhile (a few ms).
                try { process.kill(old.pid, 'SIGTERM'); } catch { /* gone */ }
                await new Promise((resolve) => (old.exitCode !== null ? resolve() : old.once('exit', resolve)));
                h.delayline = spawnIn(h.router, DELAYLINE, ['0', String(h.shape.delayMs), String(h.shape.lossPermille)]);
                await ready(h.delayline, `delayline in ${name}`);
            }
        },
        // The network's line drops: the router's WAN link goes down, which
        // also drops its NAT mappings (masquerade forgets them when its
        // interface goes down), so the caller comes back through new ones.
        async cut(name) {
            ipn(hostOf(name).router, 'link', 'set', 'wan', 'down');
        },
        async heal(name) {
            const h = hostOf(name);
            ipn(h.router, 'link', 'set', 'wan', 'up');
            ipn(h.router, 'route', 'replace', 'default', 'via', `198.18.${h.index}.1`);
        },
        async stop() {
            if (stopped) return;
            stopped = true;
            let err = null;
            try { await ngx?.stop(); } catch (e) { err = e; }
            try { await coturn?.stop(); } catch (e) { err ??= e; }
            try { await front?.stop(); } catch (e) { err ??= e; }
            for (const n of nodes) {
                try { await n.nginx.stop({ allowAlerts: [/exited on signal 9/] }); } catch (e) { err ??= e; }
            }
            for (const t of turns) { try { await t.coturn.stop(); } catch (e) { err ??= e; } }
            for (const h of Object.values(hosts)) {
                if (h.delayline) { try { process.kill(h.delayline.pid, 'SIGTERM'); } catch { /* */ } }
            }
            await sleep(100);
            destroySync();
            live.delete(destroySync);
            if (err) throw err;
        },
    };
    return self;
}

const turnNames = (n) => Array.from({ length: n }, (_, i) => `turn${i + 1}.${SITE}`);

// The fleet's hosts: coturn servers first (the nodes list them all), then
// the nodes, each on a link of its own to the core router.
async function startFleet({ fleet, dir, cert, secretFile, addNs, link, nodes, turns }) {
    const tag = `wi${process.pid}`;
    for (let k = 1; k <= fleet.turns; k++) {
        const ns = `${tag}-t${k}`;
        const addr = `198.18.${110 + k}.2`;
        addNs(ns);
        link(`${tag}-core`, `t${k}`, `198.18.${110 + k}.1/24`, ns, 'eth0', `${addr}/24`);
        ipn(ns, 'route', 'add', 'default', 'via', `198.18.${110 + k}.1`);
        const coturn = await startCoturn({
            secretFile, netns: ns, tls: true, cert: cert.cert, key: cert.key, spki: cert.spki,
            realm: SITE, port: 3478, tlsPort: 5349, relay: [49152, 65535], renderArgs: [],
            conf: (text, cdir) => productionForTests(text, cdir),
        });
        turns.push({ ns, addr, name: turnNames(fleet.turns)[k - 1], coturn });
    }
    const urls = turns.flatMap((t) => [`turn:${t.name}:3478?transport=udp`, `turn:${t.name}:3478?transport=tcp`]);
    // every node is told when a one-time link ends on another
    const fleetNodes = Array.from({ length: fleet.nodes },
        (_, i) => `http://198.18.${101 + i}.2:8080/api/rooms/`).join(' ');
    for (let k = 1; k <= fleet.nodes; k++) {
        const ns = `${tag}-n${k}`;
        const addr = `198.18.${100 + k}.2`;
        addNs(ns);
        link(`${tag}-core`, `n${100 + k}`, `198.18.${100 + k}.1/24`, ns, 'eth0', `${addr}/24`);
        ipn(ns, 'route', 'add', 'default', 'via', `198.18.${100 + k}.1`);
        const nginx = await startNginx({
            netns: ns, secretFile, rateLimit: false, workers: 2, port: 8080,
            base: `http://${addr}:8080`, listen: `${addr}:8080`, serverName: SITE,
            endedFile: path.join(dir, `ended-rooms-${k}`),
            // the front ends TLS and speaks http to the nodes (as
            // deploy/scale-out/README.md says to set then)
            extraHttp: `webcall_allowed_origins https://${SITE};\n` +
                `webcall_fleet_nodes ${fleetNodes};\n` +
                `webcall_turn_coturn_conf ${turns[0].coturn.confFile};\n` +
                `webcall_turn_urls stun:${turns[0].name}:3478\n    ${urls.join('\n    ')};`,
            turnCoturnConf: turns[0].coturn.confFile,
            ready: () => healthUp(ns, addr),
        });
        nodes.push({ ns, addr, nginx });
    }
}

async function healthUp(ns, addr) {
    try {
        const out = execFileSync('ip', ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
            '--max-time', '2', `http://${addr}:8080/api/health`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
        return out === '200';
    } catch {
        return false;
    }
}

// coturn's production configuration with the two changes this world needs,
// each of which must hit: the 198.18.0.0/15 block is a peer like any other
// here (production rightly refuses it), and the log goes to a file instead
// of syslog.
function productionForTests(text, cdir) {
    const edits = [
        [/^denied-peer-ip=198\.18\.0\.0-198\.19\.255\.255\n/m, ''],
        [/^syslog$/m, `log-file=${cdir}/turnserver.log\nsimple-log\nno-stdout-log`],
    ];
    for (const [re, to] of edits) {
        if (!re.test(text)) throw new Error(`coturn's production template has no ${re}`);
        text = text.replace(re, to);
    }
    return text;
}

// deploy/nginx/webcall-stream.conf as shipped, with its TURN name set to
// this world's (step 2 of its comments).
function streamConf() {
    const text = fs.readFileSync(path.join(TOP, 'deploy/nginx/webcall-stream.conf'), 'utf8');
    const re = /^(\s*)turn\.example\.org(\s+webcall_turn_tls;)$/m;
    if (!re.test(text)) throw new Error(`deploy/nginx/webcall-stream.conf has no ${re}`);
    return text.replace(re, `$1${TURN_NAME}$2`);
}

// The shipped TURN lines of webcall-http.conf, with turns: on 443 added as
// webcall-stream.conf's step 4 says.
function turnLines(coturnConf) {
    const text = fs.readFileSync(path.join(TOP, 'deploy/nginx/webcall-http.conf'), 'utf8');
    const urls = /^webcall_turn_urls [^;]*;/m.exec(text)?.[0];
    if (!urls) throw new Error('deploy/nginx/webcall-http.conf has no webcall_turn_urls');
    return `webcall_turn_coturn_conf ${coturnConf};\n` +
        urls.replace(/;$/, `\n                  turns:${TURN_NAME}:443?transport=tcp;`);
}

// The site answers on https://call.test:443 of the public host.
async function httpsUp(ns) {
    try {
        const out = execFileSync('ip', ['netns', 'exec', ns, 'curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}',
            '--max-time', '2', '--resolve', `${SITE}:443:${PUBLIC_ADDR}`, `https://${SITE}/`],
        { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
        return out === '200';
    } catch {
        return false;
    }
}

// --- the NAT check -----------------------------------------------------------

// From the caller's host: one UDP socket sends to two ports of the public
// host, which says which address and port it saw each time; and TCP to
// 443 and to 3478. udp: 'same' (one mapping for every destination:
// endpoint-independent), 'differs' (symmetric), or 'blocked'.
async function natCheck(h) {
    const out = sh('ip', ['netns', 'exec', h.ns, process.execPath, SELF, 'probe', PUBLIC_ADDR,
        ...PROBE_PORTS.map(String)]);
    const r = JSON.parse(out);
    const seen = r.seen.filter(Boolean);
    const udp = seen.length < PROBE_PORTS.length ? 'blocked'
        : new Set(seen.map((s) => s.port)).size === 1 ? 'same' : 'differs';
    return { ...r, udp, mapped: seen[0]?.address ?? null };
}

// --- helpers run inside a namespace (node internet.mjs <cmd> ...) -------------

async function udpEcho(ports) {
    for (const port of ports) {
        const s = dgram.createSocket('udp4');
        s.on('message', (msg, rinfo) => {
            s.send(JSON.stringify({ address: rinfo.address, port: rinfo.port }), rinfo.port, rinfo.address);
        });
        await new Promise((resolve) => s.bind(port, PUBLIC_ADDR, resolve));
    }
    process.stdout.write('ready\n');
}

function tcpOpen(host, port) {
    return new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 1500 });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('timeout', () => { s.destroy(); resolve(false); });
        s.once('error', () => resolve(false));
    });
}

async function probe(host, ports) {
    const s = dgram.createSocket('udp4');
    await new Promise((resolve) => s.bind(0, resolve));
    const local = s.address().port;
    const seen = ports.map(() => null);
    // The echo answers from the port it was asked on.
    s.on('message', (msg, rinfo) => {
        const k = ports.indexOf(rinfo.port);
        if (k >= 0 && !seen[k]) { try { seen[k] = JSON.parse(msg); } catch { /* not ours */ } }
    });
    for (let round = 0; round < 3 && seen.some((x) => x === null); round++) {
        for (let k = 0; k < ports.length; k++) if (!seen[k]) s.send('?', ports[k], host);
        await sleep(500);
    }
    s.close();
    const tcp443 = await tcpOpen(host, 443);
    const tcp3478 = await tcpOpen(host, 3478);
    process.stdout.write(JSON.stringify({ local, seen, tcp443, tcp3478 }));
}

if (process.argv[1] === SELF) {
    const [cmd, ...rest] = process.argv.slice(2);
    if (cmd === 'udp-echo') {
        await udpEcho(rest.map(Number));
    } else if (cmd === 'probe') {
        await probe(rest[0], rest.slice(1).map(Number));
        process.exit(0);
    }
}
