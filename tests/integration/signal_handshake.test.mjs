// The signaling WebSocket's opening handshake (RFC 6455 section 4) at
// /ws/<token> of a real nginx: what is upgraded, what is refused and how,
// before any frame is exchanged.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startNginx, freePort, sleep } from '../lib/nginx.mjs';
import { RawWs, Peer, createRoom, acceptFor, newKey, frame, OP, B58 } from '../lib/ws.mjs';

const ALLOWED = 'https://app.example.org';

// Forged: one character replaced by its base58 neighbour.
function forge(token, i) {
    const A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    const k = A.indexOf(token[i]);
    return token.slice(0, i) + A[k > 0 ? k - 1 : k + 1] + token.slice(i + 1);
}

describe('signaling handshake', () => {
    let ngx;
    let open = [];
    before(async () => {
        ngx = await startNginx({
            workers: 2,
            rateLimit: false,
            wsLocation: `webcall_allowed_origins ${ALLOWED};`,
        });
    });
    afterEach(() => {
        for (const c of open) (c instanceof Peer ? c.drop() : c.destroy());
        open = [];
    });
    after(() => ngx?.stop());

    async function hs(path, opts) {
        const raw = await RawWs.open(ngx.port, path, opts);
        open.push(raw);
        return raw;
    }

    function show(raw) {
        return `${raw.statusLine} ${JSON.stringify(raw.headers)} ${raw.body ?? ''}`;
    }

    async function expectRefused(status, path, opts, what) {
        const raw = await hs(path, opts);
        assert.equal(raw.status, status, `${what}: ${show(raw)}`);
        assert.equal(raw.headers['sec-websocket-accept'], undefined, `${what}: ${show(raw)}`);
        return raw;
    }

    it('a valid handshake is answered 101 with the right Sec-WebSocket-Accept', async () => {
        const { token } = await createRoom(ngx.base);
        const key = newKey();
        const raw = await hs(`/ws/${token}`, { key });
        assert.equal(raw.status, 101, show(raw));
        assert.match(raw.headers.upgrade ?? '', /^websocket$/i, show(raw));
        assert.match(raw.headers.connection ?? '', /(^|,)\s*upgrade\s*(,|$)/i, show(raw));
        assert.equal(raw.headers['sec-websocket-accept'], acceptFor(key), show(raw));
        assert.equal(raw.headers['sec-websocket-extensions'], undefined, 'no extension was asked for');
        // The connection is a WebSocket now: a join is answered.
        const w = await raw.join();
        assert.match(w.id, B58);
    });

    it('Connection and Upgrade are matched as case-insensitive tokens, Connection in a list', async () => {
        const { token } = await createRoom(ngx.base);
        for (const headers of [
            { Connection: 'keep-alive, Upgrade' },
            { Connection: 'upgrade' },
            { Connection: 'UPGRADE,keep-alive' },
            { Upgrade: 'WebSocket' },
            { Upgrade: 'websocket', Connection: 'Keep-Alive ,  upgrade' },
        ]) {
            const key = newKey();
            const raw = await hs(`/ws/${token}`, { key, headers });
            assert.equal(raw.status, 101, `${JSON.stringify(headers)}: ${show(raw)}`);
            assert.equal(raw.headers['sec-websocket-accept'], acceptFor(key));
            raw.destroy();
        }
    });

    it('the ws package connects and joins (no Origin header at all is allowed)', async () => {
        const { token } = await createRoom(ngx.base);
        const p = await Peer.open(ngx.port, token);
        open.push(p);
        const w = await p.join();
        assert.match(w.id, B58);
    });

    it('a Sec-WebSocket-Version other than 13 is refused with 426 and Sec-WebSocket-Version: 13', async () => {
        const { token } = await createRoom(ngx.base);
        for (const v of ['8', '12', '14', '7, 8']) {
            const raw = await expectRefused(426, `/ws/${token}`,
                { headers: { 'Sec-WebSocket-Version': v } }, `version ${v}`);
            assert.equal(raw.headers['sec-websocket-version'], '13', show(raw));
        }
    });

    it('a missing or malformed Sec-WebSocket-Key is refused with 400', async () => {
        const { token } = await createRoom(ngx.base);
        const cases = [
            ['missing', { omit: ['Sec-WebSocket-Key'] }],
            ['empty', { key: '' }],
            ['not base64', { key: '!!!!!!!!!!!!!!!!!!!!!!==' }],
            ['15 bytes', { key: crypto.randomBytes(15).toString('base64') }],
            ['17 bytes', { key: crypto.randomBytes(17).toString('base64') }],
            ['32 bytes', { key: crypto.randomBytes(32).toString('base64') }],
            ['no padding', { key: crypto.randomBytes(16).toString('base64').replace(/=+$/, '') }],
        ];
        for (const [what, opts] of cases) {
            await expectRefused(400, `/ws/${token}`, opts, `key ${what}`);
        }
    });

    it('a request without Upgrade: websocket or Connection: Upgrade is refused with 400', async () => {
        const { token } = await createRoom(ngx.base);
        const cases = [
            ['no Upgrade', { omit: ['Upgrade'] }],
            ['no Connection', { omit: ['Connection'] }],
            ['Connection: keep-alive', { headers: { Connection: 'keep-alive' } }],
            ['Connection: upgraded', { headers: { Connection: 'upgraded' } }],
            ['Upgrade: h2c', { headers: { Upgrade: 'h2c' } }],
            ['Upgrade: websocket2', { headers: { Upgrade: 'websocket2' } }],
        ];
        for (const [what, opts] of cases) {
            await expectRefused(400, `/ws/${token}`, opts, what);
        }
    });

    it('a POST handshake is refused with 400', async () => {
        const { token } = await createRoom(ngx.base);
        await expectRefused(400, `/ws/${token}`,
            { method: 'POST', headers: { 'Content-Length': '0' } }, 'POST');
    });

    it('an HTTP/1.0 handshake is refused with 400', async () => {
        const { token } = await createRoom(ngx.base);
        await expectRefused(400, `/ws/${token}`, { version: 'HTTP/1.0' }, 'HTTP/1.0');
    });

    it('a malformed token is refused with 400 before any upgrade', async () => {
        const { token } = await createRoom(ngx.base);
        const cases = [
            ...['0', 'O', 'I', 'l'].map((c) => token.slice(0, 10) + c + token.slice(11)),
            token.slice(0, -1),
            `${token}22`,
            'abc',
            '',
            token.slice(0, 10) + '-' + token.slice(11),
            token.repeat(2),
        ];
        for (const bad of cases) {
            await expectRefused(400, `/ws/${bad}`, {}, `token "${bad}" (real ${token})`);
        }
    });

    it('an unknown or forged room is refused with 404 before any upgrade', async () => {
        const { token } = await createRoom(ngx.base);
        for (const bad of [forge(token, 7), forge(token, 25), forge(token, token.length - 1),
            'z'.repeat(token.length)]) {
            await expectRefused(404, `/ws/${bad}`, {}, `token ${bad} (real ${token})`);
        }
        // The genuine one still upgrades.
        assert.equal((await hs(`/ws/${token}`)).status, 101);
    });

    it('a cross-site Origin is refused with 403', async () => {
        const { token } = await createRoom(ngx.base);
        const other = await freePort();
        for (const origin of ['http://evil.example', `http://127.0.0.1:${other}`, `http://localhost:${ngx.port}`,
            'https://app.example.org.evil.example', 'https://app.example.org:8443', 'http://app.example.org',
            'null', 'http://127.0.0.1', `http://127.0.0.1:${ngx.port}.evil.example`, `http://127.0.0.1:${ngx.port}0`,
            `http://evil.example/http://127.0.0.1:${ngx.port}`,
            // the right host with another scheme than this (plain) server's
            `https://127.0.0.1:${ngx.port}`, `chrome-extension://127.0.0.1:${ngx.port}`]) {
            await expectRefused(403, `/ws/${token}`, { headers: { Origin: origin } }, `Origin ${origin}`);
        }
    });

    it('an Origin of the same scheme, host and port, or one listed in webcall_allowed_origins, is accepted', async () => {
        const { token } = await createRoom(ngx.base);
        for (const [origin, host] of [
            [`http://127.0.0.1:${ngx.port}`, `127.0.0.1:${ngx.port}`],
            [`http://localhost:${ngx.port}`, `localhost:${ngx.port}`],
            [ALLOWED, `127.0.0.1:${ngx.port}`],
        ]) {
            const raw = await hs(`/ws/${token}`, { host, headers: { Origin: origin } });
            assert.equal(raw.status, 101, `Origin ${origin}, Host ${host}: ${show(raw)}`);
            raw.destroy();
        }
    });

    it('a join pipelined in the same write as the handshake is not lost: welcome comes', async () => {
        const { token } = await createRoom(ngx.base);
        const raw = await hs(`/ws/${token}`, { extra: frame({ payload: '{"type":"join"}' }) });
        assert.equal(raw.status, 101, show(raw));
        const w = await raw.nextText('welcome');
        assert.match(w.id, B58);
        assert.deepEqual(w.peers, []);
    });

    it('a join and a ping pipelined after the handshake are both answered', async () => {
        const { token } = await createRoom(ngx.base);
        const extra = Buffer.concat([frame({ payload: '{"type":"join"}' }), frame({ op: OP.ping, payload: 'p1' })]);
        const raw = await hs(`/ws/${token}`, { extra });
        assert.equal(raw.status, 101, show(raw));
        await raw.nextText('welcome');
        const pong = await raw.nextFrame(3000, { skipPings: false });
        assert.equal(pong.op, OP.pong, raw.describe());
        assert.equal(pong.payload.toString(), 'p1');
    });
});

describe('signaling handshake to an expired room', () => {
    let ngx;
    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false, zoneArgs: 'webcall:1m ttl=2s empty_ttl=1s' });
    });
    after(() => ngx?.stop());

    it('is refused with 404 before any upgrade', async () => {
        const { token } = await createRoom(ngx.base);
        await sleep(3200);
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        try {
            assert.equal(raw.status, 404, `${raw.statusLine} ${raw.body}`);
        } finally {
            raw.destroy();
        }
    });
});
