// TURN: coturn (our own, on free loopback ports, configured by
// turn/render.sh) accepts the credentials the module hands out in `welcome`
// and refuses wrong, altered, expired and foreign ones; nobody who has not
// joined gets credentials; nginx -t refuses bad TURN directives; the
// production template parses in coturn and keeps the relay off loopback.
//
// Needs: make module, coturn (turnserver, turnutils_uclient), openssl.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { startNginx, nginxTest, request, writeSecret, tempDir } from '../lib/nginx.mjs';
import { Peer, createRoom } from '../lib/ws.mjs';
import {
    startCoturn, uclient, mint, readSecret, run, RENDER, TOP, testCertificate, freeRelayRange,
} from '../e2e/turn_lib.mjs';
import { allocate } from '../lib/turn_client.mjs';

const now = () => Math.floor(Date.now() / 1000);

function turnDirectives(secretFile, turn) {
    const p = turn.port;
    return `webcall_turn_secret_file ${secretFile};\n` +
        `webcall_turn_urls stun:127.0.0.1:${p} turn:127.0.0.1:${p}?transport=udp ` +
        `turn:127.0.0.1:${p}?transport=tcp turns:127.0.0.1:${turn.tlsPort}?transport=tcp;`;
}

// The TURN entry of welcome.iceServers.
function turnEntry(welcome) {
    const e = welcome.iceServers.find((s) => s.username !== undefined);
    assert.ok(e, `no TURN entry in ${JSON.stringify(welcome.iceServers)}`);
    return e;
}

// coturn logged a refused authentication for this username.
function refusedInLog(turn, username) {
    const lines = turn.log().split('\n').filter((l) => l.includes(username));
    return lines.some((l) => /Cannot find credentials|401|Unauthorized|wrong|expired/i.test(l));
}

describe('TURN: coturn and the credentials the module mints', () => {
    let dir, secretFile, secret, turn, ngx;

    before(async () => {
        dir = await tempDir('webcall-turn-it-');
        // ONE secret file for everything: room links, TURN credentials, coturn.
        secretFile = await writeSecret(dir, 'secret');
        secret = readSecret(secretFile);
        turn = await startCoturn({ secretFile, tls: true });
        ngx = await startNginx({ secretFile, extraHttp: turnDirectives(secretFile, turn) });
    });

    after(async () => {
        await ngx?.stop();
        await turn?.stop();
        if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    async function joined() {
        const room = await createRoom(ngx.base);
        const peer = await Peer.open(ngx.port, room.token);
        const welcome = await peer.join();
        return { room, peer, welcome };
    }

    it('welcome carries STUN and TURN servers with a REST API credential for this peer', { timeout: 60000 }, async () => {
        const { peer, welcome } = await joined();
        try {
            const p = turn.port;
            assert.deepEqual(welcome.iceServers[0], { urls: [`stun:127.0.0.1:${p}`] });
            const e = turnEntry(welcome);
            assert.deepEqual(e.urls, [`turn:127.0.0.1:${p}?transport=udp`,
                `turn:127.0.0.1:${p}?transport=tcp`, `turns:127.0.0.1:${turn.tlsPort}?transport=tcp`]);
            const [expiry, who] = e.username.split(':');
            assert.equal(who, welcome.id);
            // default webcall_turn_ttl: 1 h, rounded up to a quarter of it
            assert.ok(Number(expiry) >= now() + 3600 - 5 && Number(expiry) <= now() + 4500 + 5, `expiry ${expiry}`);
            assert.equal(Number(expiry) % 900, 0, `expiry ${expiry}`);
            assert.equal(e.credential, mint(secret, e.username));
        } finally {
            peer.close();
        }
    });

    it('coturn relays with the module\'s credential over UDP, TCP and TLS', { timeout: 60000 }, async () => {
        const { peer, welcome } = await joined();
        try {
            const e = turnEntry(welcome);
            const results = await Promise.all(['udp', 'tcp', 'tls'].map((transport) =>
                uclient(turn, { username: e.username, password: e.credential, transport })));
            for (const r of results) {
                assert.equal(r.code, 0, `uclient ${r.args.join(' ')}:\n${r.output}\n--- coturn:\n${turn.log().slice(-3000)}`);
                assert.ok(r.relayed, `nothing came back through the relay:\n${r.output}`);
            }
        } finally {
            peer.close();
        }
    });

    it('a resumed seat gets a credential for the same peer id, and it works', { timeout: 60000 }, async () => {
        const { room, peer, welcome } = await joined();
        peer.drop();
        await new Promise((r) => setTimeout(r, 1100));      // a later second
        const again = await Peer.open(ngx.port, room.token);
        try {
            const w2 = await again.join(welcome.resume);
            assert.equal(w2.id, welcome.id);
            const e1 = turnEntry(welcome);
            const e2 = turnEntry(w2);
            assert.equal(e2.username.split(':')[1], welcome.id);
            // the same quarter hour: the same username and credential (a
            // seat holds few usernames; coturn's user-quota binds per seat)
            assert.ok(Number(e2.username.split(':')[0]) >= Number(e1.username.split(':')[0]));
            if (e2.username === e1.username) assert.equal(e2.credential, e1.credential);
            const r = await uclient(turn, { username: e2.username, password: e2.credential });
            assert.ok(r.code === 0 && r.relayed, r.output);
        } finally {
            again.close();
        }
    });

    it('coturn refuses a wrong password, an altered expiry, an expired username and another secret', { timeout: 60000 }, async () => {
        const { peer, welcome } = await joined();
        try {
            const e = turnEntry(welcome);
            const [expiry, who] = e.username.split(':');
            const past = `${now() - 120}:${who}`;
            const cases = {
                // the module's username with somebody else's password
                'wrong password': { username: e.username, password: mint('x'.repeat(32), e.username) },
                // the module's credential once its expiry has passed: the
                // expiry moved into the past no longer matches the HMAC
                'module credential, expiry moved to the past': { username: past, password: e.credential },
                // ... and moving it further into the future fails the same way
                'module credential, expiry extended': { username: `${Number(expiry) + 86400}:${who}`, password: e.credential },
                // a correctly signed username whose time is up (the expiry check itself)
                'expired, correctly signed': { username: `${now() - 60}:expired1`, password: mint(secret, `${now() - 60}:expired1`) },
                // a stranger's own minting with a guessed secret
                'another secret': { username: `${now() + 3600}:stranger`, password: mint('guessed-secret-0123456789', `${now() + 3600}:stranger`) },
                // no expiry at all: not a REST API username
                'no expiry': { username: who, password: mint(secret, who) },
            };
            const names = Object.keys(cases);
            const results = await Promise.all(names.map((n) => uclient(turn, { ...cases[n], timeout: 15000 })));
            names.forEach((n, i) => {
                const r = results[i];
                assert.notEqual(r.code, 0, `${n}: uclient succeeded:\n${r.output}`);
                assert.equal(r.received, 0, `${n}: data went through the relay`);
                assert.match(r.output, /Cannot complete Allocation|error 401|Unauthorized/i, `${n}:\n${r.output}`);
            });
            // coturn itself said why, for the ones it can name
            for (const n of ['wrong password', 'module credential, expiry moved to the past',
                'expired, correctly signed', 'another secret']) {
                assert.ok(refusedInLog(turn, cases[n].username),
                    `${n}: coturn did not log a refusal for ${cases[n].username}:\n${turn.log().slice(-3000)}`);
            }
        } finally {
            peer.close();
        }
    });

    it('a stranger gets no credential: not from the API, not before join, not from a full or unknown room', { timeout: 60000 }, async () => {
        const room = await createRoom(ngx.base);
        const leak = /iceServers|credential|turns?:/;

        const created = await request(ngx.base, '/api/rooms', { method: 'POST' });
        assert.equal(created.status, 201);
        assert.doesNotMatch(created.body, leak);
        for (const method of ['GET', 'HEAD']) {
            const r = await request(ngx.base, `/api/rooms/${room.token}`, { method });
            assert.equal(r.status, 200);
            assert.doesNotMatch(r.body, leak);
            assert.doesNotMatch(JSON.stringify(r.headers), leak);
        }

        // Anything before join is refused, without credentials.
        const early = await Peer.open(ngx.port, room.token);
        early.send({ type: 'candidate', to: 'Ab3dEf7h', candidate: null });
        const err = await early.expectError('bad-message', 4400);
        assert.doesNotMatch(err.raw, leak);

        // A full room refuses the third one, without credentials.
        const a = await Peer.open(ngx.port, room.token);
        const b = await Peer.open(ngx.port, room.token);
        await a.join();
        await b.join();
        const c = await Peer.open(ngx.port, room.token);
        c.send({ type: 'join' });
        const full = await c.expectError('room-full', 4409);
        assert.doesNotMatch(full.raw, leak);
        a.close();
        b.close();

        // An unknown room (a genuine-looking token of another secret).
        const other = await startNginx({ secretFile: await writeSecret(dir, 'other-secret') });
        try {
            const foreign = await createRoom(other.base);
            const d = await Peer.open(ngx.port, foreign.token).catch((e) => e);
            if (d instanceof Peer) {
                d.send({ type: 'join' });
                const nf = await d.expectError('not-found', 4404);
                assert.doesNotMatch(nf.raw, leak);
            } else {
                assert.ok(d.status >= 400, String(d));
            }
        } finally {
            await other.stop();
        }
    });

    it('the one secret file also works as webcall_turn_coturn_conf (coturn\'s rendered config)', { timeout: 60000 }, async () => {
        const conf = fs.readFileSync(turn.confFile, 'utf8');
        assert.match(conf, /^static-auth-secret=/m);
        const r = await nginxTest({ secretFile, extraHttp: `webcall_turn_coturn_conf ${turn.confFile};\n` +
            `webcall_turn_urls turn:127.0.0.1:${turn.port}?transport=udp;` });
        assert.equal(r.code, 0, r.output);
    });
});

describe('TURN: nginx -t refuses bad TURN directives', () => {
    let dir, good;
    before(async () => {
        dir = await tempDir('webcall-turn-t-');
        good = await writeSecret(dir, 'good');
    });
    after(async () => { if (dir) await fsp.rm(dir, { recursive: true, force: true }); });

    async function refused(extraHttp, mentions) {
        const r = await nginxTest({ secretFile: good, extraHttp });
        assert.notEqual(r.code, 0, `nginx -t accepted:\n${extraHttp}\n${r.output}`);
        const emerg = r.output.split('\n').filter((l) => l.includes('[emerg]')).join('\n');
        assert.ok(emerg, `no [emerg] line:\n${r.output}`);
        for (const m of mentions) {
            assert.ok(typeof m === 'string' ? emerg.includes(m) : m.test(emerg),
                `"${m}" not in:\n${emerg}`);
        }
    }

    it('accepts the intended setup: one secret file, STUN, TURN and TURNS URLs, a TTL', { timeout: 60000 }, async () => {
        const r = await nginxTest({ secretFile: good, extraHttp: `webcall_turn_secret_file ${good};\n` +
            'webcall_turn_urls stun:turn.example.org:3478 turn:turn.example.org:3478?transport=udp ' +
            'turn:turn.example.org:3478?transport=tcp turns:turn.example.org:443?transport=tcp;\n' +
            'webcall_turn_ttl 2h;' });
        assert.equal(r.code, 0, r.output);
    });

    it('a missing secret file', { timeout: 60000 }, async () => {
        const missing = path.join(dir, 'nope');
        await refused(`webcall_turn_secret_file ${missing};`, ['webcall_turn_secret_file', missing]);
    });

    it('an unreadable secret file (a folder)', { timeout: 60000 }, async () => {
        await refused(`webcall_turn_secret_file ${dir};`, ['webcall_turn_secret_file', dir]);
    });

    it('a short secret', { timeout: 60000 }, async () => {
        const short = path.join(dir, 'short');
        await fsp.writeFile(short, 'only-15-bytes!!\n', { mode: 0o600 });
        await refused(`webcall_turn_secret_file ${short};`, ['webcall_turn_secret_file', /15 bytes/, /at least 16/]);
    });


    it('a TURN secret file the turnserver group can read (mode 640): refused like the room secret', { timeout: 60000 }, async () => {
        const shared = path.join(dir, 'shared');
        await fsp.writeFile(shared, 'e'.repeat(64) + '\n', { mode: 0o640 });
        await fsp.chmod(shared, 0o640);
        await refused(`webcall_turn_secret_file ${shared};`, ['webcall_turn_secret_file', 'mode 640', `chmod 600 ${shared}`]);
    });

    it('coturn\'s own file may be group-readable (it is 640 root:turnserver by design)', { timeout: 60000 }, async () => {
        const conf = path.join(dir, 'coturn-640.conf');
        await fsp.writeFile(conf, `use-auth-secret\nstatic-auth-secret=${'f'.repeat(64)}\n`);
        await fsp.chmod(conf, 0o640);
        const r = await nginxTest({ secretFile: good, extraHttp: `webcall_turn_coturn_conf ${conf};\n` +
            'webcall_turn_urls turn:turn.example.org:3478?transport=udp;' });
        assert.equal(r.code, 0, r.output);
    });

    it('both secret directives', { timeout: 60000 }, async () => {
        const conf = path.join(dir, 'both.conf');
        await fsp.writeFile(conf, `static-auth-secret=${'b'.repeat(40)}\n`);
        await refused(`webcall_turn_secret_file ${good};\nwebcall_turn_coturn_conf ${conf};`,
            ['webcall_turn_coturn_conf', 'already set']);
    });

    for (const url of ['http://x', 'turns:turn.example.org:5349?transport=udp', 'turn:',
        'turn:turn.example.org:3478?transport=sctp', 'stun:turn.example.org:99999',
        'turn:user@turn.example.org', 'turn:turn.example.org/x']) {
        it(`a bad URL: ${url}`, { timeout: 60000 }, async () => {
            await refused(`webcall_turn_secret_file ${good};\nwebcall_turn_urls ${url};`,
                ['webcall_turn_urls', url]);
        });
    }

    it('a turn: URL without any secret', { timeout: 60000 }, async () => {
        await refused('webcall_turn_urls stun:turn.example.org turn:turn.example.org:3478?transport=udp;',
            ['webcall_turn_urls', 'turn:turn.example.org:3478?transport=udp', /secret/]);
    });

    it('a TTL under one minute', { timeout: 60000 }, async () => {
        await refused(`webcall_turn_secret_file ${good};\nwebcall_turn_ttl 30s;`, ['webcall_turn_ttl']);
    });
});

// The shipped snippet turns TURN on (webcall_turn_coturn_conf
// /etc/turnserver.conf, URLs on $host); nginx -t says when it cannot work.
describe('TURN by default: the shipped lines, and nginx -t warnings', () => {
    let dir, good;
    before(async () => {
        dir = await tempDir('webcall-turn-d-');
        good = await writeSecret(dir, 'good');
    });
    after(async () => { if (dir) await fsp.rm(dir, { recursive: true, force: true }); });

    const warnings = (out) => out.split('\n').filter((l) => l.includes('[warn]'));
    const consequence = /calls between two networks .* will hang on "Connecting"/;

    async function warned(opts, mentions) {
        const r = await nginxTest({ secretFile: good, ...opts });
        assert.equal(r.code, 0, `nginx -t refused:\n${r.output}`);
        const warn = warnings(r.output).join('\n');
        for (const m of mentions) {
            assert.ok(typeof m === 'string' ? warn.includes(m) : m.test(warn), `"${m}" not in the warnings:\n${r.output}`);
        }
    }

    it('coturn not set up (no /etc/turnserver.conf): nginx -t passes and warns, naming the consequence and the fix', { timeout: 60000 }, async () => {
        await warned({}, ['webcall_turn_coturn_conf', /does not exist|no such file/i, 'no TURN server',
            consequence, 'webcall-turn-setup']);
    });

    it('coturn config without static-auth-secret: a warning, TURN off', { timeout: 60000 }, async () => {
        const conf = path.join(dir, 'turnserver.conf');
        await fsp.writeFile(conf, 'use-auth-secret\nrealm=example.org\n# static-auth-secret=commented-out-1234567890\n');
        await warned({ turnCoturnConf: conf }, ['webcall_turn_coturn_conf', conf, 'static-auth-secret', consequence]);
    });

    it('no TURN directive at all: a warning that names the consequence', { timeout: 60000 }, async () => {
        // webcall_turn_* lines in extraHttp replace the shipped ones; a TTL alone sets no server.
        await warned({ extraHttp: 'webcall_turn_ttl 1h;' }, ['no TURN server', consequence]);
    });

    it('TURN configured (coturn config with its secret): nginx -t is silent', { timeout: 60000 }, async () => {
        const conf = path.join(dir, 'coturn-ok.conf');
        await fsp.writeFile(conf, `use-auth-secret\nstatic-auth-secret=${'c'.repeat(64)}\nrealm=example.org\n`);
        const r = await nginxTest({ secretFile: good, turnCoturnConf: conf });
        assert.equal(r.code, 0, r.output);
        assert.deepEqual(warnings(r.output), [], r.output);
        const r2 = await nginxTest({ secretFile: good, extraHttp: `webcall_turn_secret_file ${good};\n` +
            'webcall_turn_urls turn:turn.example.org:3478?transport=udp;' });
        assert.equal(r2.code, 0, r2.output);
        assert.deepEqual(warnings(r2.output), [], r2.output);
    });

    it('the shipped URLs name the host the browser asked for ($host)', { timeout: 60000 }, async () => {
        const conf = path.join(dir, 'coturn-host.conf');
        const secret = 'd'.repeat(64);
        await fsp.writeFile(conf, `use-auth-secret\nstatic-auth-secret=${secret}\nrealm=example.org\n`);
        const ngx = await startNginx({ secretFile: good, turnCoturnConf: conf });
        try {
            for (const host of ['call.example.org', 'other.example.net']) {
                const room = await createRoom(ngx.base);
                const peer = await Peer.open(ngx.port, room.token, { headers: { Host: `${host}:${ngx.port}` } });
                try {
                    const welcome = await peer.join();
                    assert.deepEqual(welcome.iceServers[0], { urls: [`stun:${host}:3478`] });
                    const e = turnEntry(welcome);
                    assert.deepEqual(e.urls, [`turn:${host}:3478?transport=udp`,
                        `turn:${host}:3478?transport=tcp`, `turns:${host}:5349?transport=tcp`]);
                    assert.equal(e.credential, mint(secret, e.username));
                } finally {
                    peer.close();
                }
            }
        } finally {
            await ngx.stop();
        }
    });

    it('a URL template whose variable makes it invalid is left out, the rest still served', { timeout: 60000 }, async () => {
        const ngx = await startNginx({ secretFile: good, extraHttp: `webcall_turn_secret_file ${good};\n` +
            'webcall_turn_urls turn:$http_x_turn_host:3478?transport=udp turn:$host:3478?transport=tcp;' });
        try {
            const room = await createRoom(ngx.base);
            const peer = await Peer.open(ngx.port, room.token, { headers: { 'X-Turn-Host': 'bad host/x' } });
            try {
                const welcome = await peer.join();
                assert.deepEqual(turnEntry(welcome).urls, ['turn:127.0.0.1:3478?transport=tcp']);
            } finally {
                peer.close();
            }
        } finally {
            await ngx.stop({ allowAlerts: [/webcall_turn_urls/] });
        }
    });
});

describe('TURN: turn/render.sh and the production template', () => {
    let dir, secretFile, cert;
    before(async () => {
        dir = await tempDir('webcall-turn-r-');
        secretFile = await writeSecret(dir, 'secret');
        cert = await testCertificate(dir);
    });
    after(async () => { if (dir) await fsp.rm(dir, { recursive: true, force: true }); });

    const render = (args) => run('bash', [RENDER, ...args], { timeout: 10000 });

    it('refuses a missing or short secret and a production config without a certificate, saying why', { timeout: 60000 }, async () => {
        const short = path.join(dir, 'short');
        await fsp.writeFile(short, 'too-short\n');
        const spaced = path.join(dir, 'spaced');
        await fsp.writeFile(spaced, 'a secret with spaces inside it\n');
        const prod = ['--realm', 'call.example.org', '--cert', cert.cert, '--key', cert.key];
        const cases = [
            [['--realm', 'x', ...prod.slice(2)], /--secret-file is required/],
            [['--secret-file', path.join(dir, 'nope'), ...prod], /does not exist/],
            [['--secret-file', short, ...prod], /has 9 bytes; it needs at least 16/],
            [['--secret-file', spaced, ...prod], /whitespace or control characters/],
            [['--secret-file', secretFile, '--realm', 'call.example.org'], /--cert is required/],
            [['--secret-file', secretFile, '--realm', 'call.example.org', '--cert', cert.cert], /--key is required/],
            [['--secret-file', secretFile, '--realm', 'call.example.org', '--cert', path.join(dir, 'nope.pem'), '--key', cert.key], /certificate .* not readable/],
            [['--secret-file', secretFile, ...prod.slice(2)], /--realm is required/],
            [['--secret-file', secretFile, ...prod, '--port', '70000'], /not a port/],
            [['--dev', '--secret-file', secretFile, '--realm', 'localhost'], /--run-dir/],
        ];
        for (const [args, re] of cases) {
            const r = await render(args);
            assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.output}`);
            assert.equal(r.stdout, '', 'nothing on stdout when refused');
            assert.match(r.stderr, re);
            assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
            assert.ok(!r.stderr.includes(readSecret(secretFile)), 'the secret leaked to stderr');
        }
    });

    it('renders the production config: the one secret, no placeholder left, every safety line', { timeout: 60000 }, async () => {
        const r = await render(['--secret-file', secretFile, '--realm', 'call.example.org',
            '--cert', cert.cert, '--key', cert.key, '--external-ip', '203.0.113.7']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        const conf = r.stdout;
        const lines = new Set(conf.split('\n'));
        assert.doesNotMatch(conf, /@[A-Z_]+@/);
        for (const l of ['use-auth-secret', `static-auth-secret=${readSecret(secretFile)}`,
            'realm=call.example.org', 'listening-port=3478', 'tls-listening-port=5349',
            `cert=${cert.cert}`, `pkey=${cert.key}`, 'external-ip=203.0.113.7',
            'min-port=49152', 'max-port=65535', 'fingerprint', 'no-cli', 'no-multicast-peers',
            'no-tcp-relay', 'user-quota=12', 'total-quota=1200', 'max-bps=375000', 'bps-capacity=0',
            'denied-peer-ip=10.0.0.0-10.255.255.255', 'denied-peer-ip=172.16.0.0-172.31.255.255',
            'denied-peer-ip=192.168.0.0-192.168.255.255', 'denied-peer-ip=127.0.0.0-127.255.255.255',
            'denied-peer-ip=169.254.0.0-169.254.255.255', 'denied-peer-ip=100.64.0.0-100.127.255.255',
            'denied-peer-ip=224.0.0.0-239.255.255.255', 'denied-peer-ip=0.0.0.0-0.255.255.255',
            'denied-peer-ip=::1-::ffff:ffff', 'denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
            'denied-peer-ip=fec0::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'denied-peer-ip=203.0.113.7',
            'denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
            'denied-peer-ip=ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
            'denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255']) {
            assert.ok(lines.has(l), `missing line: ${l}`);
        }
        assert.doesNotMatch(conf, /^\s*allow-loopback-peers/m);
        // coturn takes "::" or "0.0.0.0" as the lower bound of a range to
        // mean none, and every IPv4 address as below every IPv6 one: such a
        // range with an IPv6 upper bound denies every IPv4 peer.
        assert.doesNotMatch(conf, /^denied-peer-ip=(::|0\.0\.0\.0)-[0-9a-f]*:/m,
            'a denied range with no lower bound and an IPv6 upper bound denies all of IPv4');
        assert.doesNotMatch(conf, /^\s*(listening-ip|relay-ip)=127/m);
        assert.equal(conf.split(readSecret(secretFile)).length - 1, 1, 'the secret appears once');
        assert.doesNotMatch(conf, /^listening-ip=/m, 'a public address alone: every address of the host');
    });

    it('behind NAT (--external-ip PUBLIC/PRIVATE): listens on the private address, denies the public one as a peer', { timeout: 60000 }, async () => {
        const r = await render(['--secret-file', secretFile, '--realm', 'call.example.org', '--no-tls',
            '--external-ip', '203.0.113.7/198.18.0.5']);
        assert.equal(r.code, 0, r.stderr);
        const lines = new Set(r.stdout.split('\n'));
        for (const l of ['listening-ip=198.18.0.5', 'external-ip=203.0.113.7/198.18.0.5', 'denied-peer-ip=203.0.113.7', 'no-tls']) {
            assert.ok(lines.has(l), `missing line: ${l}`);
        }
        assert.doesNotMatch(r.stdout, /^(tls-listening-port|cert|pkey)=/m);
        const both = await render(['--secret-file', secretFile, '--realm', 'call.example.org', '--no-tls',
            '--external-ip', '203.0.113.7/198.18.0.5', '--listen-ip', '198.18.0.9']);
        assert.match(both.stdout, /^listening-ip=198\.18\.0\.9$/m, 'an explicit --listen-ip wins');
    });

    it('the dev config is marked unsafe and keeps everything in its run folder', { timeout: 60000 }, async () => {
        const r = await render(['--dev', '--secret-file', secretFile, '--realm', 'localhost', '--run-dir', dir]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout.split('\n').slice(0, 3).join('\n'), /UNSAFE FOR PRODUCTION/);
        for (const l of ['listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', 'allow-loopback-peers',
            `userdb=${dir}/turndb`, `pidfile=${dir}/turnserver.pid`, `log-file=${dir}/turnserver.log`,
            'no-tls', 'use-auth-secret']) {
            assert.ok(r.stdout.split('\n').includes(l), `missing line: ${l}`);
        }
    });

    it('coturn takes the production config without complaint and its relay refuses loopback peers', { timeout: 60000 }, async () => {
        // The production file as rendered, moved onto loopback for the test:
        // listening/relay address, and a log, pid and database in the folder.
        const prodSecret = secretFile;
        const turn = await startCoturn({
            secretFile: prodSecret, tls: true,
            renderArgs: ['--realm', 'call.example.org'],
            conf: (text, d) => {
                assert.match(text, /^syslog$/m);
                return text.replace(/^syslog$/m, '') +
                    `\n# test only\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nuserdb=${d}/turndb\n` +
                    `pidfile=${d}/turnserver.pid\nlog-file=${d}/turnserver.log\nsimple-log\nno-stdout-log\n`;
            },
        });
        try {
            const log = turn.log();
            assert.doesNotMatch(log, /Bad configuration format|CONFIG ERROR|Cannot|cannot/, log);
            const denied = fs.readFileSync(turn.confFile, 'utf8').split('\n').filter((l) => l.startsWith('denied-peer-ip=')).length;
            assert.equal((log.match(/Black listing:/g) ?? []).length, denied, log);
            assert.match(log, /TLS1\.2: Certificate file found/);
            assert.doesNotMatch(log, /allow_loopback_peers/);

            const secret = readSecret(prodSecret);
            const username = `${now() + 600}:prodtest`;
            const r = await uclient(turn, { username, password: mint(secret, username), timeout: 15000 });
            // Allocation worked (the credential is good) but the peers are
            // on 127.0.0.1, which the production relay must refuse.
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /403 \(Forbidden IP\)/, r.output);
            assert.doesNotMatch(r.output, /Cannot complete Allocation/, r.output);
        } finally {
            await turn.stop();
        }
    });

    // Every caller's browser allocates once per TURN URL (three in the
    // shipped list) for every call, direct ones too, and holds it for the
    // call. coturn counts max-bps against bps-capacity for each allocation
    // from the start: the old default (100 Mbit/s at 3 Mbit/s each) refused
    // the 34th with 486, so the 6th concurrent call could not be relayed
    // (the simulated internet's matrix failed every relayed call after its
    // first twenty-odd calls).
    it('the production relay grants the allocations of 8 calls at once (2 callers, 3 TURN URLs each)', { timeout: 60000 }, async () => {
        const turn = await startCoturn({
            secretFile, relay: await freeRelayRange(100), renderArgs: ['--realm', 'call.example.org', '--no-tls'],
            conf: (text, d) => text.replace(/^syslog$/m, '') +
                `\n# test only\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nuserdb=${d}/turndb\n` +
                `pidfile=${d}/turnserver.pid\nlog-file=${d}/turnserver.log\nsimple-log\nno-stdout-log\n`,
        });
        const held = [];
        try {
            const secret = readSecret(secretFile);
            for (let caller = 0; caller < 16; caller++) {
                const username = `${now() + 600}:caller${caller}`;
                for (let url = 0; url < 3; url++) {
                    held.push(await allocate({ host: '127.0.0.1', port: turn.port, username, password: mint(secret, username) }));
                }
            }
            const refused = held.map((a, i) => [i, a]).filter(([, a]) => !a.ok);
            assert.deepEqual(refused.map(([i, a]) => `#${i + 1}: ${a.code} ${a.reason}`), [], 'every allocation granted');
            assert.equal(new Set(held.map((a) => a.relayed)).size, held.length, 'each on its own relay port');
            // what does still bound the relay: 12 allocations per caller
            const username = `${now() + 600}:caller0`;
            const more = [];
            for (let i = 0; i < 10; i++) more.push(await allocate({ host: '127.0.0.1', port: turn.port, username, password: mint(secret, username) }));
            held.push(...more);
            assert.deepEqual(more.map((a) => a.code), [...Array(9).fill(200), 486], 'the per-caller quota of 12');
        } finally {
            for (const a of held) await a.close();
            await turn.stop();
        }
    });

    it('the templates say how they are rendered and which one is unsafe', { timeout: 60000 }, async () => {
        const tpl = await fsp.readFile(path.join(TOP, 'turn/turnserver.conf.template'), 'utf8');
        assert.match(tpl, /turn\/render\.sh --secret-file \/etc\/webcall\/secret/);
        const dev = await fsp.readFile(path.join(TOP, 'turn/turnserver-dev.conf.template'), 'utf8');
        assert.match(dev.split('\n').slice(0, 3).join('\n'), /UNSAFE FOR PRODUCTION/);
    });
});
