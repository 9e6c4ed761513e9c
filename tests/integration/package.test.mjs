// The Debian package, as a sysadmin meets it: `make deb`, then apt installs
// it into this machine's own nginx; Debian's stock nginx.conf and default
// site, with the two include lines added, run on a test port and carry a
// call between two Chromium pages; webcall-turn-setup writes coturn's
// configuration from the package's secret, and coturn accepts the TURN
// credential nginx hands out. Then remove (the stock nginx still passes
// `nginx -t` and serves), reinstall (the secret and a conffile edit are
// kept) and purge (all gone).
//
// Needs root (it installs packages); it fails rather than skips under root.
// Whatever happens, /etc/nginx, /etc/webcall, coturn's files and dpkg's
// state are put back as they were, and nothing it started keeps running.
//
//   node --test tests/integration/package.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { TOP, NGINX, freePort, request, sleep, tempDir } from '../lib/nginx.mjs';
import { Peer, createRoom } from '../lib/ws.mjs';
import { freeRelayRange, freeUdpTcpPort, mint, uclient } from '../e2e/turn_lib.mjs';

const execFileP = promisify(execFile);
const PKG = 'libnginx-mod-http-webcall';
const ROOT = process.getuid?.() === 0;
const NEEDED = ['dpkg-buildpackage', 'lintian', 'apt-get', 'turnutils_uclient', 'turnserver'];
const SAVED = ['/etc/nginx', '/etc/webcall', '/etc/turnserver.conf', '/etc/turnserver.conf.before-webcall',
    '/etc/default/coturn', '/etc/coturn'];
const POLICY = '/usr/sbin/policy-rc.d';

async function sh(cmd, args, { ok = true, env = {}, timeout = 180000 } = {}) {
    try {
        const r = await execFileP(cmd, args, { timeout, maxBuffer: 16 << 20,
            env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...env } });
        return { code: 0, output: `${r.stdout}${r.stderr}` };
    } catch (e) {
        const r = { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
        if (ok) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.output}`);
        return r;
    }
}

const installed = async () => (await sh('dpkg-query', ['-W', '-f=${Status}', PKG], { ok: false })).output.includes('ok installed');
const exists = (p) => fs.existsSync(p);

function connectable(port) {
    return new Promise((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

// Never skipped: without root, or without a tool `make deps` installs, it
// fails and says which.
describe('the Debian package in the machine\'s own nginx', () => {
    let dir, backup, deb, policyMade = false;
    const saved = new Map();       // path -> 'copied' | 'absent'
    const procs = new Set();

    before(async () => {
        assert.ok(ROOT, 'the package test installs packages: run make test as root (CI does)');
        for (const tool of NEEDED) {
            const r = await sh('sh', ['-c', `command -v ${tool}`], { ok: false });
            assert.equal(r.code, 0, `${tool} is missing: run make deps`);
        }
        assert.ok(!(await installed()), `${PKG} is already installed on this machine; this test installs and purges it: remove it first`);
        dir = await tempDir('webcall-pkg-');
        backup = path.join(dir, 'backup');
        await fsp.mkdir(backup);
        // What exists is copied; what does not is remembered as absent.
        // Only paths recorded here are put back (or removed) afterwards.
        for (const p of SAVED) {
            if (exists(p)) {
                await fsp.mkdir(path.join(backup, path.dirname(p)), { recursive: true });
                await sh('cp', ['-a', p, path.join(backup, path.dirname(p))]);
                saved.set(p, 'copied');
            } else {
                saved.set(p, 'absent');
            }
        }
        // Services must not start: Debian's invoke-rc.d asks policy-rc.d.
        if (!exists(POLICY)) {
            await fsp.writeFile(POLICY, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
            policyMade = true;
        }
        const r = await sh(path.join(TOP, 'tools/build-deb.sh'), [], { timeout: 600000 }).catch((e) => e);
        if (r instanceof Error) throw r;
        deb = /build-deb: (\S+\.deb)/.exec(r.output)?.[1];
        assert.ok(deb, `make deb named no package:\n${r.output}`);
        deb = path.resolve(TOP, deb);
    });

    after(async () => {
        for (const p of procs) {
            try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
            await Promise.race([p.exited, sleep(3000)]);
            try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
        }
        if (await installed() || (await sh('dpkg-query', ['-W', '-f=${Status}', PKG], { ok: false })).output.includes('config-files')) {
            await sh('dpkg', ['--purge', PKG], { ok: false });
        }
        for (const [p, how] of saved) {
            if (how === 'copied' && !exists(path.join(backup, p))) continue;     // never remove what has no copy
            await fsp.rm(p, { recursive: true, force: true });
            if (how === 'copied') await sh('cp', ['-a', path.join(backup, p), path.dirname(p)]);
        }
        if (policyMade) await fsp.rm(POLICY, { force: true });
        if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    // Starts `nginx -c conf` in the foreground, by pid; waits for port.
    async function startNginxConf(conf, port) {
        const child = spawn(NGINX, ['-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => { output += d; });
        child.stderr.on('data', (d) => { output += d; });
        child.exited = new Promise((resolve) => child.once('exit', resolve));
        procs.add(child);
        const deadline = Date.now() + 10000;
        while (!(await connectable(port))) {
            if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx -c ${conf} did not start:\n${output}`);
            await sleep(50);
        }
        return {
            output: () => output,
            stop: async () => {
                try { process.kill(child.pid, 'SIGQUIT'); } catch { /* gone */ }
                await Promise.race([child.exited, sleep(5000)]);
                try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
                procs.delete(child);
            },
        };
    }

    // Debian's stock nginx.conf and default site, copied into `into`, on a
    // test port, their logs and pid file there; with the two include lines
    // when `webcall` is set. Returns the nginx.conf path.
    async function stockCopy(into, port, { webcall }) {
        await fsp.mkdir(into, { recursive: true });
        let main = await fsp.readFile(path.join(backup, 'etc/nginx/nginx.conf'), 'utf8');
        let site = await fsp.readFile(path.join(backup, 'etc/nginx/sites-available/default'), 'utf8');
        main = main.replace(/^pid .*$/m, `pid ${into}/nginx.pid;`)
            .replaceAll('/var/log/nginx/', `${into}/`)
            .replace(/include \/etc\/nginx\/sites-enabled\/\*;/, `include ${into}/default;`);
        assert.match(main, new RegExp(`include ${into}/default;`), 'the stock nginx.conf includes sites-enabled');
        site = site.replace(/listen 80 default_server;/, `listen 127.0.0.1:${port} default_server;`)
            .replace(/listen \[::\]:80 default_server;/, '');
        assert.match(site, new RegExp(`listen 127.0.0.1:${port} default_server;`));
        if (webcall) {
            // The two lines README.Debian asks for, and nothing else.
            main = main.replace(/^http \{$/m, 'http {\n\tinclude /etc/nginx/snippets/webcall-http.conf;');
            site = site.replace(/^(\s*server_name _;)$/m, '$1\n\tinclude /etc/nginx/snippets/webcall-server.conf;');
            assert.match(main, /webcall-http\.conf/);
            assert.match(site, /webcall-server\.conf/);
        }
        await fsp.writeFile(path.join(into, 'nginx.conf'), main);
        await fsp.writeFile(path.join(into, 'default'), site);
        return path.join(into, 'nginx.conf');
    }

    const nginxT = (conf) => sh(NGINX, ['-t', ...(conf ? ['-c', conf] : [])], { ok: false });

    it('is built with the nginx ABI in Depends, and apt refuses it for another nginx, naming the ABI', { timeout: 120000 }, async () => {
        assert.match(path.basename(deb), /^libnginx-mod-http-webcall_[0-9][^_]*_[a-z0-9]+\.deb$/);
        const abi = /nginx:abi=(\S+)/.exec(fs.readFileSync('/usr/share/nginx/src/debian/libnginx-mod.abisubstvars', 'utf8'))[1];
        const depends = (await sh('dpkg-deb', ['-f', deb, 'Depends'])).output;
        assert.ok(depends.split(/,\s*/).includes(abi), `Depends "${depends.trim()}" lacks ${abi}`);
        const provides = (await sh('dpkg-query', ['-W', '-f=${Provides}', 'nginx'])).output;
        assert.ok(provides.includes(abi), `this nginx provides ${provides}`);

        // The same package, built for an nginx that is not this one.
        const tree = path.join(dir, 'other-abi');
        await sh('dpkg-deb', ['-R', deb, tree]);
        const control = path.join(tree, 'DEBIAN/control');
        await fsp.writeFile(control, (await fsp.readFile(control, 'utf8')).replace(abi, 'nginx-abi-9.9.9-1'));
        const other = path.join(dir, `${PKG}_0.0.0-otherabi_amd64.deb`);
        await sh('dpkg-deb', ['--root-owner-group', '-b', tree, other]);
        const r = await sh('apt-get', ['install', '-y', '--no-install-recommends', other], { ok: false });
        assert.notEqual(r.code, 0, `apt installed it:\n${r.output}`);
        assert.match(r.output, /nginx-abi-9\.9\.9-1/, r.output);
        assert.ok(!(await installed()), 'nothing was installed');
    });

    it('installs, serves a call from the stock config with two include lines, and sets coturn up from its secret', { timeout: 300000 }, async () => {
        await sh('apt-get', ['install', '-y', '--no-install-recommends', deb]);
        // Debian's layout, enabled by dh_nginx's scripts.
        assert.equal(fs.readlinkSync('/etc/nginx/modules-enabled/50-mod-http-webcall.conf'),
            '/usr/share/nginx/modules-available/mod-http-webcall.conf');
        assert.match(fs.readFileSync('/usr/share/nginx/modules-available/mod-http-webcall.conf', 'utf8'),
            /load_module modules\/ngx_http_webcall_module\.so;/);
        assert.ok(exists('/usr/lib/nginx/modules/ngx_http_webcall_module.so'));
        assert.ok(exists('/usr/share/webcall/web/index.html'));
        assert.ok(exists('/usr/share/webcall/turn/render.sh') && exists('/usr/share/webcall/turn/turnserver.conf.template'));
        for (const f of ['prometheus.yml', 'webcall.rules.yml', 'grafana-dashboard.json']) {
            assert.ok(exists(`/usr/share/webcall/prometheus/${f}`), f);
        }
        assert.ok(exists('/usr/share/doc/libnginx-mod-http-webcall/operations.md') ||
                  exists('/usr/share/doc/libnginx-mod-http-webcall/operations.md.gz'));
        const conffiles = (await sh('dpkg-query', ['-W', '-f=${Conffiles}', PKG])).output;
        for (const f of ['webcall-http.conf', 'webcall-server.conf']) assert.match(conffiles, new RegExp(`/etc/nginx/snippets/${f}`));
        const st = fs.statSync('/etc/webcall/secret');
        assert.equal(st.mode & 0o777, 0o600);
        assert.equal(st.uid, 0);
        assert.match(fs.readFileSync('/etc/webcall/secret', 'utf8'), /^[0-9a-f]{64}\n$/);
        assert.ok(exists('/usr/share/man/man8/webcall-turn-setup.8.gz'));

        // The machine's own (stock) config loads the module and still passes.
        const stock = await nginxT();
        assert.equal(stock.code, 0, stock.output);

        // The stock config with the include lines: nginx -t warns that TURN
        // is off until coturn is set up, and names the consequence.
        const port = await freePort();
        const conf = await stockCopy(path.join(dir, 'with-webcall'), port, { webcall: true });
        const before = await nginxT(conf);
        assert.equal(before.code, 0, before.output);
        assert.match(before.output, /\[warn\].*TURN.*will hang on "Connecting"/, before.output);

        // webcall-turn-setup renders coturn's config from the same secret.
        const turnPort = await freeUdpTcpPort();
        const [relayMin, relayMax] = await freeRelayRange();
        const setup = await sh('webcall-turn-setup', ['--no-tls', '--realm', 'call.example.org', '--listen-ip', '127.0.0.1',
            '--port', String(turnPort), '--relay-min', String(relayMin), '--relay-max', String(relayMax)]);
        assert.match(setup.output, /wrote \/etc\/turnserver\.conf/);
        assert.ok(exists('/etc/turnserver.conf.before-webcall'), 'the stock coturn config was kept');
        const tconf = fs.readFileSync('/etc/turnserver.conf', 'utf8');
        const secret = fs.readFileSync('/etc/webcall/secret', 'utf8').trim();
        assert.ok(tconf.includes(`static-auth-secret=${secret}\n`));
        const tst = fs.statSync('/etc/turnserver.conf');
        assert.equal(tst.mode & 0o777, 0o640);
        const group = (await sh('stat', ['-c', '%G', '/etc/turnserver.conf'])).output.trim();
        assert.equal(group, 'turnserver');
        assert.match(fs.readFileSync('/etc/default/coturn', 'utf8'), /^TURNSERVER_ENABLED=1$/m);
        const bad = await sh('webcall-turn-setup', ['--realm', 'x.example.org'], { ok: false });
        assert.equal(bad.code, 2);
        assert.match(bad.output, /--cert .*--no-tls/);

        const after = await nginxT(conf);
        assert.equal(after.code, 0, after.output);
        assert.doesNotMatch(after.output, /\[warn\]/, after.output);

        // coturn on that config (our own process: no service is started).
        const coturn = spawn('/usr/bin/turnserver', ['-c', '/etc/turnserver.conf', '--pidfile', path.join(dir, 'turn.pid'),
            '--log-file', path.join(dir, 'turn.log'), '--no-stdout-log'], { stdio: 'ignore' });
        coturn.exited = new Promise((resolve) => coturn.once('exit', resolve));
        procs.add(coturn);
        const ngx = await startNginxConf(conf, port);
        const base = `http://127.0.0.1:${port}`;
        try {
            const home = await request(base, '/');
            assert.equal(home.status, 200);
            assert.match(home.body, /webcall|Create link/i);
            assert.match(home.headers['content-security-policy'] ?? '', /script-src 'self'/);

            // The host ends a room: the packaged nginx keeps it in
            // /var/lib/webcall, in a file its workers (www-data) own.
            const made = await request(base, '/api/rooms', { method: 'POST' });
            assert.equal(made.status, 201, made.body);
            const ended = await request(base, `/api/rooms/${made.json.token}`,
                { method: 'DELETE', headers: { authorization: `Bearer ${made.json.ownerKey}` } });
            assert.equal(ended.status, 204, ended.body);
            assert.equal((await request(base, `/api/rooms/${made.json.token}`)).status, 410);
            const wwwData = Number((await sh('id', ['-u', 'www-data'])).output.trim());
            assert.equal(fs.statSync('/var/lib/webcall/ended-rooms').uid, wwwData);

            // A call in Chromium, through this nginx.
            const { launch } = await import('../e2e/browser.mjs');
            const { callOfTwo } = await import('../e2e/recovery_lib.mjs');
            const browser = await launch();
            try {
                const call = await callOfTwo(browser, base);
                await call.a.context.close();
                await call.b.context.close();
                // What a participant gets on joining, as the page got it.
                const room = await createRoom(base);
                const peer = await Peer.open(port, room.token);
                const welcome = await peer.join();
                peer.close();
                const e = welcome.iceServers.find((s) => s.username);
                assert.ok(e, `no TURN in welcome: ${JSON.stringify(welcome.iceServers)}`);
                // The shipped URLs, on the name the browser used ($host).
                assert.deepEqual(e.urls, ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp',
                    'turns:127.0.0.1:5349?transport=tcp']);
                assert.equal(e.credential, mint(secret, e.username));

                // coturn accepts that credential: the allocation succeeds (the
                // relay then refuses loopback peers: 403, by its config) ...
                const ok = await uclient({ port: turnPort }, { username: e.username, password: e.credential });
                assert.doesNotMatch(ok.output, /401|Cannot complete Allocation/i, ok.output);
                assert.match(ok.output, /error 403 \(Forbidden IP\)/, ok.output);
                // ... and refuses a wrong password.
                const nope = await uclient({ port: turnPort }, { username: e.username, password: 'nope' });
                assert.match(nope.output, /Cannot complete Allocation/, nope.output);
                assert.doesNotMatch(nope.output, /Forbidden IP/, nope.output);
            } finally {
                await browser.close();
            }
        } finally {
            await ngx.stop();
            try { process.kill(coturn.pid, 'SIGTERM'); } catch { /* gone */ }
            await Promise.race([coturn.exited, sleep(3000)]);
            procs.delete(coturn);
        }
    });

    it('remove: the module is off, the secret kept, and the stock nginx passes nginx -t and serves', { timeout: 120000 }, async () => {
        const secret = fs.readFileSync('/etc/webcall/secret', 'utf8');
        // The sysadmin's edit to a conffile, which must survive a reinstall.
        fs.appendFileSync('/etc/nginx/snippets/webcall-http.conf', '# edited by the sysadmin\n');
        const r = await sh('apt-get', ['remove', '-y', PKG]);
        assert.ok(!(await installed()));
        assert.ok(!exists('/etc/nginx/modules-enabled/50-mod-http-webcall.conf'));
        assert.ok(!exists('/usr/lib/nginx/modules/ngx_http_webcall_module.so'));
        assert.equal(fs.readFileSync('/etc/webcall/secret', 'utf8'), secret);
        assert.doesNotMatch(r.output, /still include/, 'the stock config includes no snippet');
        const t = await nginxT();
        assert.equal(t.code, 0, t.output);
        const port = await freePort();
        const ngx = await startNginxConf(await stockCopy(path.join(dir, 'stock'), port, { webcall: false }), port);
        try {
            const res = await request(`http://127.0.0.1:${port}`, '/');
            assert.equal(res.status, 200);
            assert.match(res.body, /Welcome to nginx/);
        } finally {
            await ngx.stop();
        }
    });

    it('reinstall and upgrade keep the secret and the edited conffile; purge removes everything', { timeout: 120000 }, async () => {
        const secret = fs.readFileSync('/etc/webcall/secret', 'utf8');
        await sh('apt-get', ['install', '-y', '--no-install-recommends', deb]);
        assert.equal(fs.readFileSync('/etc/webcall/secret', 'utf8'), secret);
        assert.match(fs.readFileSync('/etc/nginx/snippets/webcall-http.conf', 'utf8'), /# edited by the sysadmin/);
        assert.ok(exists('/etc/nginx/modules-enabled/50-mod-http-webcall.conf'));

        // An upgrade (the same package with a higher version) keeps them too.
        const tree = path.join(dir, 'upgrade');
        await sh('dpkg-deb', ['-R', deb, tree]);
        const control = path.join(tree, 'DEBIAN/control');
        await fsp.writeFile(control, (await fsp.readFile(control, 'utf8')).replace(/^Version: (.*)$/m, 'Version: $1+upgrade1'));
        const newer = path.join(dir, `${PKG}_upgrade_amd64.deb`);
        await sh('dpkg-deb', ['--root-owner-group', '-b', tree, newer]);
        await sh('apt-get', ['install', '-y', '--no-install-recommends', newer]);
        assert.match((await sh('dpkg-query', ['-W', '-f=${Version}', PKG])).output, /\+upgrade1$/);
        assert.equal(fs.readFileSync('/etc/webcall/secret', 'utf8'), secret);
        assert.match(fs.readFileSync('/etc/nginx/snippets/webcall-http.conf', 'utf8'), /# edited by the sysadmin/);
        assert.ok(exists('/etc/nginx/modules-enabled/50-mod-http-webcall.conf'));
        assert.equal((await nginxT()).code, 0);

        await sh('apt-get', ['purge', '-y', PKG]);
        for (const p of ['/etc/webcall/secret', '/etc/webcall', '/etc/nginx/snippets/webcall-http.conf',
            '/etc/nginx/snippets/webcall-server.conf', '/etc/nginx/modules-enabled/50-mod-http-webcall.conf',
            '/etc/nginx/modules-enabled/50-mod-http-webcall.conf.removed', '/usr/share/webcall', '/var/lib/webcall']) {
            assert.ok(!exists(p), `${p} is left after purge`);
        }
        const t = await nginxT();
        assert.equal(t.code, 0, t.output);
    });
});
