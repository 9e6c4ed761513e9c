// The rooms REST API (/api/) of a real nginx with the webcall module, as
// configured by the shipped deploy/nginx/*.conf.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, request, freePort, sleep } from '../lib/nginx.mjs';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const TOKEN_RE = /^[1-9A-HJ-NP-Za-km-z]{44,48}$/;
const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const SECOND = 1000;
const DAY = 86400 * SECOND;

function show(res) {
    return `${res.status} ${res.headers['content-type']} ${res.body}`;
}

// A JSON reply of the API: status, media type, no caching, and for errors
// the code and a non-empty message. what: the request, for failure messages.
function assertApiReply(res, status, error, what = '') {
    const ctx = `${what ? `${what} -> ` : ''}${show(res)}`;
    assert.equal(res.status, status, ctx);
    assert.match(res.headers['content-type'] ?? '', /^application\/json\b/, ctx);
    assert.match(res.headers['cache-control'] ?? '', /\bno-store\b/, ctx);
    assert.ok(res.json && typeof res.json === 'object', `not JSON: ${ctx}`);
    if (error) {
        assert.equal(res.json.error, error, ctx);
        assert.equal(typeof res.json.message, 'string', ctx);
        assert.ok(res.json.message.length > 0, ctx);
    }
}

function assertExpiresAround(expiresAt, expected, slack) {
    assert.match(expiresAt, ISO_RE);
    const t = Date.parse(expiresAt);
    assert.ok(Math.abs(t - expected) <= slack,
        `expiresAt ${expiresAt} is not within ${slack} ms of ${new Date(expected).toISOString()}`);
}

// The token with the character at index replaced by its neighbour in the
// alphabet: still well-formed base58 of the same length, but not genuine.
function forge(token, index) {
    const i = ALPHABET.indexOf(token[index]);
    const c = ALPHABET[i > 0 ? i - 1 : i + 1];
    return token.slice(0, index) + c + token.slice(index + 1);
}

async function createRoom(base, opts = {}) {
    const res = await request(base, '/api/rooms', { method: 'POST', ...opts });
    assertApiReply(res, 201);
    return res.json;
}

describe('rooms API', () => {
    let ngx;
    let spread;     // a second listener with reuseport: connections spread over the workers
    before(async () => {
        const spreadPort = await freePort();
        ngx = await startNginx({
            workers: 2,
            rateLimit: false,
            extraServer: `listen 127.0.0.1:${spreadPort} reuseport;\n` +
                         'add_header X-Worker-Pid $pid always;',
        });
        spread = `http://127.0.0.1:${spreadPort}`;
    });
    after(() => ngx?.stop());

    it('POST /api/rooms without a body creates a room for 2 that lives 7 days', async () => {
        const t0 = Date.now();
        const room = await createRoom(ngx.base);
        assert.deepEqual(Object.keys(room).sort(), ['expiresAt', 'maxParticipants', 'ownerKey', 'token', 'url']);
        assert.match(room.token, TOKEN_RE);
        assert.equal(room.url, `/r/${room.token}`);
        assert.equal(room.maxParticipants, 2);
        assertExpiresAround(room.expiresAt, t0 + 7 * DAY, 60 * SECOND);
    });

    it('an empty JSON object creates a room with the zone default', async () => {
        const room = await createRoom(ngx.base, { json: {} });
        assert.equal(room.maxParticipants, 2);
    });

    it('maxParticipants from 2 to the zone maximum of 4 is honoured and reported by GET', async () => {
        for (const n of [2, 3, 4]) {
            const room = await createRoom(ngx.base, { json: { maxParticipants: n } });
            assert.equal(room.maxParticipants, n);
            const res = await request(ngx.base, `/api/rooms/${room.token}`);
            assertApiReply(res, 200);
            assert.equal(res.json.maxParticipants, n);
        }
    });

    it('a JSON Content-Type with a charset parameter is accepted', async () => {
        const room = await createRoom(ngx.base, {
            body: '{"maxParticipants":3}',
            headers: { 'Content-Type': 'application/json; charset=utf-8' },
        });
        assert.equal(room.maxParticipants, 3);
    });

    it('GET of a new room answers 200 with its token, no participants, its limit and expiry', async () => {
        const room = await createRoom(ngx.base, { json: { maxParticipants: 3 } });
        const res = await request(ngx.base, `/api/rooms/${room.token}`);
        assertApiReply(res, 200);
        assert.deepEqual(Object.keys(res.json).sort(),
            ['expiresAt', 'maxParticipants', 'node', 'participants', 'token']);
        // which node answers: the same for every request to one nginx
        assert.match(res.json.node, /^[1-9A-HJ-NP-Za-km-z]{8}$/);
        assert.equal((await request(ngx.base, `/api/rooms/${room.token}`)).json.node, res.json.node);
        assert.equal(res.json.token, room.token);
        assert.equal(res.json.participants, 0);
        assert.equal(res.json.maxParticipants, 3);
        assertExpiresAround(res.json.expiresAt, Date.now() + 7 * DAY, 60 * SECOND);
    });

    it('HEAD of a room answers like GET, without a body', async () => {
        const room = await createRoom(ngx.base);
        const get = await request(ngx.base, `/api/rooms/${room.token}`);
        const head = await request(ngx.base, `/api/rooms/${room.token}`, { method: 'HEAD' });
        assert.equal(head.status, 200, show(head));
        assert.equal(head.body, '');
        assert.match(head.headers['content-type'] ?? '', /^application\/json\b/);
        assert.match(head.headers['cache-control'] ?? '', /\bno-store\b/);
        if (head.headers['content-length'] !== undefined) {
            assert.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)));
        }
        const forged = await request(ngx.base, `/api/rooms/${forge(room.token, 20)}`, { method: 'HEAD' });
        assert.equal(forged.status, 404, show(forged));
        assert.equal(forged.body, '');
    });

    it('every room gets a different token', async () => {
        const tokens = new Set();
        for (let i = 0; i < 20; i++) tokens.add((await createRoom(ngx.base)).token);
        assert.equal(tokens.size, 20);
    });

    it('a body that is not JSON is refused with 400 bad-json', async () => {
        for (const body of ['hello', '{', '{"maxParticipants":}', '{"maxParticipants":3,}', "{'maxParticipants':3}"]) {
            const res = await request(ngx.base, '/api/rooms', {
                method: 'POST', body, headers: { 'Content-Type': 'application/json' },
            });
            assertApiReply(res, 400, 'bad-json', `POST body ${body}`);
        }
    });

    it('JSON that is not an object, or has an unknown key, is refused with 400 bad-request', async () => {
        for (const json of [[], [{ maxParticipants: 3 }], 42, 'room', null,
            { maxparticipants: 3 }, { maxParticipants: 3, name: 'x' }, { ttl: 60 }]) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST', json });
            assertApiReply(res, 400, 'bad-request', `POST body ${JSON.stringify(json)}`);
        }
    });

    it('maxParticipants that is not an integer from 2 to 4 is refused with 400 bad-participants', async () => {
        for (const n of [0, 1, 5, 100, -2, 2.5, '3', null, true, [3], { n: 3 }, 4294967298]) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST', json: { maxParticipants: n } });
            assertApiReply(res, 400, 'bad-participants', `maxParticipants ${JSON.stringify(n)}`);
        }
    });

    it('a body of 1 KiB is accepted and one byte more is refused with 413 too-large', async () => {
        const padded = (size) => {
            const core = '{"maxParticipants":3';
            return core + ' '.repeat(size - core.length - 1) + '}';
        };
        assert.equal(padded(1024).length, 1024);
        const ok = await request(ngx.base, '/api/rooms', {
            method: 'POST', body: padded(1024), headers: { 'Content-Type': 'application/json' },
        });
        assertApiReply(ok, 201);
        for (const size of [1025, 4096, 200000]) {
            const res = await request(ngx.base, '/api/rooms', {
                method: 'POST', body: padded(size), headers: { 'Content-Type': 'application/json' },
            });
            assertApiReply(res, 413, 'too-large', `body of ${size} bytes`);
        }
    });

    it('a body with a Content-Type other than application/json is refused with 415', async () => {
        for (const [type, body] of [
            ['text/plain', '{"maxParticipants":3}'],
            ['text/plain;charset=UTF-8', '{}'],
            ['application/x-www-form-urlencoded', 'maxParticipants=3'],
            ['application/jsonp', '{}'],
        ]) {
            const res = await request(ngx.base, '/api/rooms', {
                method: 'POST', body, headers: { 'Content-Type': type },
            });
            assertApiReply(res, 415, 'unsupported-media-type', `Content-Type ${type}`);
        }
    });

    it('a forged token (one character changed) is refused with 404 not-found', async () => {
        const room = await createRoom(ngx.base);
        const last = room.token.length - 1;
        // A well-formed text of the right length that was never a token, too.
        for (const forged of [...[5, 12, 20, 30, 40, last].map((i) => forge(room.token, i)),
            'z'.repeat(room.token.length)]) {
            assert.match(forged, TOKEN_RE);
            const res = await request(ngx.base, `/api/rooms/${forged}`);
            assertApiReply(res, 404, 'not-found', `GET /api/rooms/${forged} (real: ${room.token})`);
        }
        // The genuine token still works.
        assertApiReply(await request(ngx.base, `/api/rooms/${room.token}`), 200);
    });

    it('a malformed token (non-base58 characters or wrong length) is refused with 400 bad-token', async () => {
        const { token } = await createRoom(ngx.base);
        const cases = [
            ...['0', 'O', 'I', 'l'].map((c) => token.slice(0, 10) + c + token.slice(11)),
            token.slice(0, -1),
            token + '22',
            token.slice(0, 20),
            'abc',
            '1'.repeat(46),
            token.repeat(3),
            token.slice(0, 10) + '-' + token.slice(11),
        ];
        for (const bad of cases) {
            const res = await request(ngx.base, `/api/rooms/${bad}`);
            assertApiReply(res, 400, 'bad-token', `GET /api/rooms/${bad} (real: ${token})`);
        }
    });

    it('a wrong method is refused with 405, an Allow header and a JSON error', async () => {
        const { token } = await createRoom(ngx.base);
        const cases = [
            ['GET', '/api/rooms', 'POST'],
            ['HEAD', '/api/rooms', 'POST'],
            ['PUT', '/api/rooms', 'POST'],
            ['DELETE', '/api/rooms', 'POST'],
            ['PATCH', '/api/rooms', 'POST'],
            ['POST', `/api/rooms/${token}`, 'GET, HEAD, DELETE'],
            ['PUT', `/api/rooms/${token}`, 'GET, HEAD, DELETE'],
            ['PATCH', `/api/rooms/${token}`, 'GET, HEAD, DELETE'],
            ['POST', '/api/health', 'GET, HEAD'],
        ];
        for (const [method, path, allow] of cases) {
            const res = await request(ngx.base, path, { method });
            assert.equal(res.status, 405, `${method} ${path}: ${show(res)}`);
            assert.equal(res.headers.allow, allow, `${method} ${path}: ${show(res)}`);
            if (method !== 'HEAD') assertApiReply(res, 405, 'method-not-allowed', `${method} ${path}`);
        }
        // The room was not ended (DELETE without its owner key is 403:
        // tests/integration/end_room.test.mjs).
        assertApiReply(await request(ngx.base, `/api/rooms/${token}`), 200);
    });

    it('any other path under /api/ answers 404 JSON', async () => {
        const { token } = await createRoom(ngx.base);
        for (const path of ['/api/', '/api/room', '/api/roomsx', '/api/v1/rooms', '/api/rooms.json',
            '/api/nothing/here', `/api/v1/rooms/${token}`]) {
            const res = await request(ngx.base, path);
            assertApiReply(res, 404, undefined, `GET ${path}`);
            assert.equal(typeof res.json.error, 'string', `${path}: ${show(res)}`);
            assert.ok(res.json.message, `${path}: ${show(res)}`);
        }
    });

    it('50 rooms created at once are all found afterwards, through every worker', async () => {
        const posts = await Promise.all(Array.from({ length: 50 },
            () => request(spread, '/api/rooms', { method: 'POST' })));
        for (const res of posts) assertApiReply(res, 201);
        const tokens = posts.map((r) => r.json.token);
        assert.equal(new Set(tokens).size, 50);

        const gets = await Promise.all(tokens.map((t) => request(spread, `/api/rooms/${t}`)));
        const crossed = [];
        gets.forEach((res, i) => {
            assertApiReply(res, 200);
            assert.equal(res.json.token, tokens[i]);
            if (res.headers['x-worker-pid'] !== posts[i].headers['x-worker-pid']) crossed.push(tokens[i]);
        });
        const pids = new Set([...posts, ...gets].map((r) => r.headers['x-worker-pid']));
        assert.ok(pids.size >= 2, `all 100 requests were served by one worker: ${[...pids]}`);
        assert.ok(crossed.length > 0, 'no room was looked up by a worker other than its creator');
    });

    it('a room created by one worker is found by the other one', async () => {
        const created = await request(spread, '/api/rooms', { method: 'POST' });
        assertApiReply(created, 201);
        const creator = created.headers['x-worker-pid'];
        let other = 0;
        for (let i = 0; i < 40; i++) {
            const res = await request(spread, `/api/rooms/${created.json.token}`);
            assertApiReply(res, 200);
            if (res.headers['x-worker-pid'] !== creator) other++;
        }
        assert.ok(other > 0, `worker ${creator} served every one of 40 look-ups`);
    });
});

describe('shipped configuration, unchanged', () => {
    let ngx;
    before(async () => { ngx = await startNginx({ workers: 2 }); });
    after(() => ngx?.stop());

    it('the pages carry the security headers', async () => {
        for (const path of ['/', '/r/5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ']) {
            const res = await request(ngx.base, path);
            assert.equal(res.status, 200, `${path}: ${show(res)}`);
            assert.match(res.headers['content-type'] ?? '', /^text\/html\b/);
            const csp = res.headers['content-security-policy'] ?? '';
            assert.match(csp, /default-src 'none'/, path);
            assert.match(csp, /script-src 'self'/, path);
            assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
            assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
            assert.equal(res.headers['referrer-policy'], 'no-referrer', path);
            const pp = res.headers['permissions-policy'] ?? '';
            assert.match(pp, /(^|[ ,])camera=\(self\)/, path);
            assert.match(pp, /(^|[ ,])microphone=\(self\)/, path);
        }
    });

    it('a room link page is served for a real room token', async () => {
        const room = await createRoom(ngx.base);
        const res = await request(ngx.base, room.url);
        assert.equal(res.status, 200, show(res));
        assert.match(res.headers['content-type'] ?? '', /^text\/html\b/);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
    });

    it('room creation is limited per address with 429 rate-limited, and look-ups are not', async () => {
        const results = [];
        for (let i = 0; i < 30; i++) {
            results.push(await request(ngx.base, '/api/rooms', { method: 'POST' }));
        }
        const created = results.filter((r) => r.status === 201);
        const limited = results.filter((r) => r.status === 429);
        assert.equal(created.length + limited.length, 30,
            results.filter((r) => r.status !== 201 && r.status !== 429).map(show).join('\n'));
        // burst 20 plus the request itself (one test above created a room already).
        assert.ok(created.length >= 18 && created.length <= 22, `${created.length} rooms created`);
        assert.ok(limited.length >= 8, `${limited.length} refused`);
        for (const res of limited) {
            assertApiReply(res, 429, 'rate-limited');
            assert.match(res.headers['retry-after'] ?? '', /^\d+$/);
        }
        // Once limited, a new POST is still refused...
        assert.equal((await request(ngx.base, '/api/rooms', { method: 'POST' })).status, 429);
        // ...but GET and HEAD of rooms and pages pass freely.
        const token = created[0].json.token;
        for (let i = 0; i < 40; i++) {
            const res = await request(ngx.base, `/api/rooms/${token}`, { method: i % 2 ? 'HEAD' : 'GET' });
            assert.equal(res.status, 200, show(res));
        }
        assert.equal((await request(ngx.base, '/')).status, 200);
        assert.equal((await request(ngx.base, `/r/${token}`)).status, 200);
    });
});

describe('room expiry', () => {
    let ngx;
    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false, zoneArgs: 'webcall:1m ttl=2s empty_ttl=1s' });
    });
    after(() => ngx?.stop());

    it('a room answers 200 right away and 404 once ttl has passed since its last visit', async () => {
        const start = Date.now();
        const visited = await createRoom(ngx.base);
        const untouched = await createRoom(ngx.base);
        assertExpiresAround(visited.expiresAt, start + 2 * SECOND, 2 * SECOND);

        const now = await request(ngx.base, `/api/rooms/${visited.token}`);
        assertApiReply(now, 200);
        assertExpiresAround(now.json.expiresAt, Date.now() + 2 * SECOND, 2 * SECOND);

        await sleep(3200);
        for (const room of [visited, untouched]) {
            const res = await request(ngx.base, `/api/rooms/${room.token}`);
            assertApiReply(res, 404, 'not-found');
        }
        // The zone still creates rooms afterwards.
        await createRoom(ngx.base);
    });
});

describe('a full zone', () => {
    let ngx;
    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false, zoneArgs: 'webcall:64k' });
    });
    after(() => ngx?.stop());

    it('answers 503 zone-full with Retry-After, keeps serving existing rooms, and logs it once', async (t) => {
        const rooms = [];
        let full;
        for (let i = 0; i < 5000 && !full; i++) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST' });
            if (res.status === 503) full = res;
            else {
                assertApiReply(res, 201);
                rooms.push(res.json.token);
            }
        }
        assert.ok(full, `still no 503 after ${rooms.length} rooms in a 64k zone`);
        // /api/health says so, with the reason
        const health = await request(ngx.base, '/api/health');
        assert.equal(health.status, 503, show(health));
        assert.equal(health.json.status, 'unavailable');
        assert.equal(health.json.reason, 'zone-full');
        t.diagnostic(`${rooms.length} rooms fit in a 64k zone`);
        assert.ok(rooms.length >= 10, `only ${rooms.length} rooms fit in 64k`);
        assertApiReply(full, 503, 'zone-full');
        assert.match(full.headers['retry-after'] ?? '', /^\d+$/, show(full));

        // Still full for further requests, and each is answered properly.
        for (let i = 0; i < 30; i++) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST' });
            assertApiReply(res, 503, 'zone-full');
        }
        // Existing rooms, forged tokens and pages are answered as before:
        // a look-up of a forged token must not need a record in the zone.
        for (const token of [rooms[0], rooms[rooms.length >> 1], rooms[rooms.length - 1]]) {
            assertApiReply(await request(ngx.base, `/api/rooms/${token}`), 200);
            assertApiReply(await request(ngx.base, `/api/rooms/${forge(token, 20)}`), 404, 'not-found');
        }
        assert.equal((await request(ngx.base, '/')).status, 200);

        const fullLines = ngx.errorLog().split('\n').filter((l) => /full/i.test(l));
        assert.ok(fullLines.length >= 1, `no "full" line in the error log:\n${ngx.errorLog()}`);
        t.diagnostic(fullLines[0]);
        assert.ok(fullLines.length <= 2, `the error log has ${fullLines.length} "full" lines:\n${fullLines.join('\n')}`);
    });
});
