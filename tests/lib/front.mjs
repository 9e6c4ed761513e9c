// A front nginx from deploy/scale-out/front.conf as shipped, with the
// example nodes replaced by the test's (the upstream's server lines). Every
// edit must hit, so a change to the shipped file that a test no longer
// exercises fails here.
//
//   const front = await startFront([{ host: '127.0.0.1', port: 8081 }, ...]);
//   front.base; await front.stop();
//
// netns: run it inside a network namespace (the simulated internet);
// listen: its listen line's arguments; tls: { cert, key } for https.
// For benchmarks (tests/bench/fleet.bench.mjs): workers (worker_processes,
// 1), workerConnections (events {}, 1024), extraMain (lines at the top
// level, e.g. worker_rlimit_nofile) and listenOptions (appended to the
// listen line, e.g. 'reuseport').
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NGINX, TOP, freePort, sleep, tempDir } from './nginx.mjs';

export function frontConf(nodes, { listen, serverName, tls } = {}) {
    let conf = fs.readFileSync(path.join(TOP, 'deploy/scale-out/front.conf'), 'utf8');
    const edit = (re, to) => {
        if (!re.test(conf)) throw new Error(`deploy/scale-out/front.conf has no ${re}`);
        conf = conf.replace(re, to);
    };
    const example = /^(\s*)server 192\.0\.2\.11:8443 (max_fails=\S+ fail_timeout=\S+);\n(?:\s*server 192\.0\.2\.\d+:8443 .*\n)*/m;
    const [, indent, health] = example.exec(conf) ?? [];
    edit(example, nodes.map((n) => `${indent}server ${n.host}:${n.port} ${health};\n`).join(''));
    edit(/proxy_pass https:\/\/webcall_nodes;/g, 'proxy_pass http://webcall_nodes;');
    edit(/^    listen 443 ssl http2;$/m, `    listen ${listen};`);
    if (serverName) edit(/server_name call\.example\.org;/, `server_name ${serverName};`);
    if (tls) {
        edit(/# ssl_certificate {5}\S+;/, `ssl_certificate ${tls.cert};`);
        edit(/# ssl_certificate_key \S+;/, `ssl_certificate_key ${tls.key};`);
    }
    return conf;
}

export async function startFront(nodes, {
    netns, tls, port, host = '127.0.0.1', serverName,
    workers = 1, workerConnections = 1024, extraMain = '', listenOptions = '',
} = {}) {
    const dir = await tempDir('webcall-front-');
    port ??= await freePort();
    const listen = `${host}:${port}${tls ? ' ssl' : ''}${listenOptions ? ` ${listenOptions}` : ''}`;
    fs.writeFileSync(path.join(dir, 'front.conf'), frontConf(nodes, { listen, serverName, tls }));
    fs.writeFileSync(path.join(dir, 'nginx.conf'), `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
worker_processes ${workers};
${extraMain}
events { worker_connections ${workerConnections}; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
    include ${dir}/front.conf;
}
`);
    const args = ['-p', dir, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'];
    const child = netns
        ? spawn('ip', ['netns', 'exec', netns, NGINX, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(NGINX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 100 && !fs.existsSync(`${dir}/nginx.pid`); i++) {
        if (child.exitCode !== null) break;
        await sleep(50);
    }
    if (child.exitCode !== null || !fs.existsSync(`${dir}/nginx.pid`)) {
        try { child.kill('SIGKILL'); } catch { /* gone */ }
        throw new Error(`the front did not start: ${out}\n${readOr(`${dir}/error.log`)}`);
    }
    await sleep(100);
    const scheme = tls ? 'https' : 'http';
    return {
        port, dir, child, base: `${scheme}://${host}:${port}`,
        errorLog: () => readOr(`${dir}/error.log`),
        accessLog: () => readOr(`${dir}/access.log`),
        async stop() {
            if (child.exitCode === null) {
                child.kill('SIGTERM');
                const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
                await exited;
                clearTimeout(t);
            }
            const log = readOr(`${dir}/error.log`);
            fs.rmSync(dir, { recursive: true, force: true });
            if (/\[(alert|emerg|crit)\]/.test(log)) throw new Error(`the front's error log:\n${log}`);
        },
    };
}

function readOr(file) {
    try { return fs.readFileSync(file, 'utf8'); } catch { return ''; }
}
