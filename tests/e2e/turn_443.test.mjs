// TURN over TLS on the site's own HTTPS port, through the shipped
// deploy/nginx/webcall-stream.conf: nginx's stream module reads the TLS
// name (ssl_preread) and sends the TURN name to coturn's TLS port, the rest
// to the HTTPS server with the PROXY protocol. Here "443" is a free port on
// 127.0.0.1 and the TURN name is "localhost" (the test certificate's);
// otherwise the file is used as shipped, and the HTTPS server is set up as
// its comments say.
//
// Shown: HTTPS through the multiplexer reaches the site, which logs the
// caller's own address (127.0.0.2 here), not the proxy's; and a relay-only
// call (?relay=1) whose only ICE server is turns:localhost:<443> connects
// through coturn over TLS and decodes video on both sides.
//
//   node --test --test-concurrency=1 tests/e2e/turn_443.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { TOP, freePort, startNginx, tempDir, writeSecret } from '../lib/nginx.mjs';
import { startCoturn } from './turn_lib.mjs';
import { launch } from './browser.mjs';
import { callOfTwo, selectedPair } from './recovery_lib.mjs';

const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

// The shipped file with this test's ports and name; every change must hit.
function streamConf(ports) {
    let text = fs.readFileSync(path.join(TOP, 'deploy/nginx/webcall-stream.conf'), 'utf8');
    const edits = [
        [/^(\s*)listen 443;$/m, `$1listen 127.0.0.1:${ports.mux};`],
        [/^\s*listen \[::\]:443;\n/m, ''],
        [/^(\s*)turn\.example\.org(\s+webcall_turn_tls;)$/m, '$1localhost$2'],
        [/server 127\.0\.0\.1:8443;/, `server 127.0.0.1:${ports.https};`],
        [/server 127\.0\.0\.1:5350;/, `server 127.0.0.1:${ports.inner};`],
        [/listen 127\.0\.0\.1:5350 proxy_protocol;/, `listen 127.0.0.1:${ports.inner} proxy_protocol;`],
        [/\]:5349;/, `]:${ports.turnTls};`],
        [/(default\s+\$proxy_protocol_server_addr):5349;/, `$1:${ports.turnTls};`],
    ];
    for (const [re, to] of edits) {
        assert.match(text, re, `deploy/nginx/webcall-stream.conf has no ${re}`);
        text = text.replace(re, to);
    }
    return text;
}

function httpsGet(port, { servername, localAddress }) {
    return new Promise((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port, path: '/', servername, localAddress,
            rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('timeout', () => req.destroy(new Error('https GET timed out')));
        req.on('error', reject);
    });
}

describe('TURN over TLS on port 443 through webcall-stream.conf', () => {
    let dir, turn, ngx, browser, ports;

    before(async () => {
        dir = await tempDir('webcall-443-');
        const secretFile = await writeSecret(dir, 'secret');
        turn = await startCoturn({ secretFile, tls: true });
        ports = { mux: await freePort(), https: await freePort(), inner: await freePort(), turnTls: turn.tlsPort };
        ngx = await startNginx({
            secretFile, rateLimit: false,
            extraMain: `load_module ${STREAM_MODULE};\n${streamConf(ports)}`,
            extraHttp: `webcall_turn_secret_file ${secretFile};\n` +
                `webcall_turn_urls turns:localhost:${ports.mux}?transport=tcp;`,
            // The HTTPS server behind the multiplexer, as the file's step 3 says.
            extraServer: `listen 127.0.0.1:${ports.https} ssl proxy_protocol;\n` +
                `ssl_certificate ${turn.cert.cert};\nssl_certificate_key ${turn.cert.key};\n` +
                'set_real_ip_from 127.0.0.1;\nreal_ip_header proxy_protocol;',
        });
        browser = await launch({ args: [`--ignore-certificate-errors-spki-list=${turn.cert.spki}`] });
    });

    after(async () => {
        await browser?.close().catch(() => {});
        await ngx?.stop();
        await turn?.stop();
        if (dir) await fsp.rm(dir, { recursive: true, force: true });
    });

    it('HTTPS on the shared port reaches the site, which sees the caller\'s address', { timeout: 30000 }, async () => {
        const res = await httpsGet(ports.mux, { servername: 'call.example.org', localAddress: '127.0.0.2' });
        assert.equal(res.status, 200);
        assert.match(res.body, /<html/i);
        const log = fs.readFileSync(path.join(ngx.dir, 'access.log'), 'utf8').trim().split('\n');
        assert.match(log[log.length - 1], /^127\.0\.0\.2 .*"GET \/ HTTP\/1\.1" 200/, log.slice(-3).join('\n'));
    });

    it('a relay-only call whose one ICE server is turns: on the shared port connects over TLS and shows video', { timeout: 90000 }, async () => {
        const t0 = Date.now();
        const call = await callOfTwo(browser, ngx.base, { query: '?relay=1' });
        try {
            console.log(`# turns: via the 443 multiplexer: both decoding ${Date.now() - t0} ms after the first page opened`);
            for (const p of [call.a, call.b]) {
                const pair = await selectedPair(p.page);
                assert.deepEqual([pair?.local, pair?.remote, pair?.relayProtocol], ['relay', 'relay', 'tls'],
                    `relay over TLS: ${JSON.stringify(pair)}`);
            }
            // The one TURN server the pages had is the multiplexer's port.
            const servers = await call.a.page.evaluate(() => window.__pcs[0].getConfiguration().iceServers);
            assert.deepEqual(servers.flatMap((x) => x.urls), [`turns:localhost:${ports.mux}?transport=tcp`]);
        } finally {
            await call.a.context.close();
            await call.b.context.close();
        }
    });
});
