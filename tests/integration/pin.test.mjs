// The PIN guard: a room created with a PIN admits a joiner only with the
// pass that the right PIN earns (POST .../admit); wrong PINs are counted per
// room and, once used up, every try is 429 until a cool-down that doubles
// on each further lock; the pass, the PIN and the token survive a restart
// because none of them is stored.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, request, sleep } from '../lib/nginx.mjs';
import { B58, Peer, createRoom } from '../lib/ws.mjs';

const admit = (base, token, json, headers = {}) => request(base, `/api/rooms/${token}/admit`, {
    method: 'POST', json, headers,
});

// Joins with exactly these fields; resolves with the welcome or the error.
async function joinWith(port, token, fields) {
    const p = await Peer.open(port, token);
    p.send({ type: 'join', ...fields });
    const msg = await p.next();
    if (msg.type === 'welcome') {
        p.id = msg.id;
        p.resume = msg.resume;
    }
    return { p, msg };
}

describe('the PIN guard', () => {
    let ngx;

    before(async () => {
        ngx = await startNginx({
            workers: 2,
            rateLimit: false,
            zoneArgs: 'webcall:1m pin_tries=3 pin_lock=2s pin_lock_max=4s',
            wsLocation: 'webcall_signal_grace 5s;',
        });
    });
    after(async () => { await ngx?.stop(); });

    it('refuses a malformed or out-of-range PIN at creation with 400 bad-pin', async () => {
        for (const pin of ['123', '1234567', 1234, '12a4', '', ' 1234', null, '١٢٣٤']) {
            const res = await request(ngx.base, '/api/rooms', { method: 'POST', json: { pin } });
            assert.equal(res.status, 400, `${JSON.stringify(pin)}: ${res.body}`);
            assert.equal(res.json.error, 'bad-pin');
            assert.match(res.json.message, /4 to 6 digits/);
        }
    });

    it('gives the creator a pass, says "pin": true, and keeps the link as long as any other', async () => {
        const plain = await createRoom(ngx.base);
        const room = await createRoom(ngx.base, { pin: '4821', oneTime: false, maxParticipants: 3 });
        assert.equal(room.token.length, plain.token.length);
        assert.equal(room.pin, true);
        assert.match(room.pass, B58);
        assert.equal(plain.pass, undefined);
        assert.equal(plain.pin, undefined);
        assert.notEqual(room.pass, room.ownerKey);

        const get = await request(ngx.base, `/api/rooms/${room.token}`);
        assert.equal(get.status, 200);
        assert.equal(get.json.pin, true);
        assert.equal(get.json.maxParticipants, 3);
        assert.equal((await request(ngx.base, `/api/rooms/${plain.token}`)).json.pin, undefined);
        assert.ok(!get.body.includes('4821'), 'the PIN is never said back');
    });

    it('admits the right PIN with the pass, refuses a wrong one with the tries left, then locks with 429', { timeout: 30000 }, async () => {
        const room = await createRoom(ngx.base, { pin: '0042' });

        const ok = await admit(ngx.base, room.token, { pin: '0042' });
        assert.equal(ok.status, 200, ok.body);
        assert.equal(ok.json.pass, room.pass, 'the pass is the same for everyone, nothing is stored');
        assert.equal(ok.headers['cache-control'], 'no-store');

        let res = await admit(ngx.base, room.token, { pin: '0043' });
        assert.equal(res.status, 403, res.body);
        assert.equal(res.json.error, 'wrong-pin');
        assert.equal(res.json.triesLeft, 2);
        assert.equal(res.json.pass, undefined);
        res = await admit(ngx.base, room.token, { pin: '42' });
        assert.equal(res.status, 400, 'a malformed PIN is no try');
        res = await admit(ngx.base, room.token, { pin: '9999' });
        assert.equal(res.json.triesLeft, 1);
        res = await admit(ngx.base, room.token, { pin: '1111' });
        assert.equal(res.status, 403);
        assert.equal(res.json.triesLeft, 0);
        assert.equal(res.json.retryAfter, 2);
        assert.equal(res.headers['retry-after'], '2');

        // locked: even the right PIN is refused unchecked
        for (const pin of ['0042', '5555']) {
            res = await admit(ngx.base, room.token, { pin });
            assert.equal(res.status, 429, `${pin}: ${res.body}`);
            assert.equal(res.json.error, 'too-many-tries');
            assert.ok(Number(res.headers['retry-after']) >= 1, res.headers['retry-after']);
            assert.equal(res.json.pass, undefined);
        }
        // another room is not locked by this one's tries
        const other = await createRoom(ngx.base, { pin: '0042' });
        assert.equal((await admit(ngx.base, other.token, { pin: '0042' })).status, 200);

        await sleep(2200);
        res = await admit(ngx.base, room.token, { pin: '0042' });
        assert.equal(res.status, 200, `after the cool-down the right PIN works: ${res.body}`);

        // the next lock lasts twice as long (pin_lock_max=4s)
        for (const pin of ['1', '2', '3']) res = await admit(ngx.base, room.token, { pin: `000${pin}` });
        assert.equal(res.json.retryAfter, 4);
        assert.equal((await admit(ngx.base, room.token, { pin: '0042' })).status, 429);
        await sleep(4200);
        assert.equal((await admit(ngx.base, room.token, { pin: '0042' })).status, 200);

        const metrics = (await request(ngx.base, '/metrics')).body;
        assert.match(metrics, /^webcall_pin_refused_total\{zone="webcall",reason="wrong-pin"\} [1-9]\d*$/m);
        assert.match(metrics, /^webcall_pin_refused_total\{zone="webcall",reason="locked"\} [1-9]\d*$/m);
        assert.match(metrics, /^webcall_pin_lockouts_total\{zone="webcall"\} [2-9]\d*$/m);
        assert.match(metrics, /^webcall_pin_admitted_total\{zone="webcall"\} [1-9]\d*$/m);
    });

    it('answers a bad /admit request sensibly', async () => {
        const room = await createRoom(ngx.base, { pin: '123456' });
        const plain = await createRoom(ngx.base);
        const cases = [
            ['no body', await request(ngx.base, `/api/rooms/${room.token}/admit`, { method: 'POST' }), 400, 'bad-json'],
            ['not JSON', await request(ngx.base, `/api/rooms/${room.token}/admit`, {
                method: 'POST', body: '{pin', headers: { 'content-type': 'application/json' } }), 400, 'bad-json'],
            ['another field', await admit(ngx.base, room.token, { pin: '123456', name: 'x' }), 400, 'bad-request'],
            ['a number', await admit(ngx.base, room.token, { pin: 123456 }), 400, 'bad-pin'],
            ['plain text', await request(ngx.base, `/api/rooms/${room.token}/admit`, {
                method: 'POST', body: '{"pin":"123456"}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported-media-type'],
            ['another site', await admit(ngx.base, room.token, { pin: '123456' }, { 'sec-fetch-site': 'cross-site' }), 403, 'cross-site'],
            ['a room without PIN', await admit(ngx.base, plain.token, { pin: '123456' }), 409, 'no-pin'],
            ['not a token', await admit(ngx.base, 'not-a-token', { pin: '123456' }), 400, 'bad-token'],
            ['a forged token', await admit(ngx.base, room.token.slice(0, -1) + (room.token.endsWith('z') ? 'y' : 'z'), { pin: '123456' }), 404, 'not-found'],
        ];
        for (const [what, res, status, error] of cases) {
            assert.equal(res.status, status, `${what}: ${res.status} ${res.body}`);
            assert.equal(res.json?.error, error, `${what}: ${res.body}`);
        }
        const get = await request(ngx.base, `/api/rooms/${room.token}/admit`);
        assert.equal(get.status, 405);
        assert.equal(get.headers.allow, 'POST');
        assert.equal((await request(ngx.base, `/api/rooms/${room.token}/admit/x`, { method: 'POST' })).status, 404);
        // none of these was a try
        const res = await admit(ngx.base, room.token, { pin: '000000' });
        assert.equal(res.json.triesLeft, 2);
        // and a trailing slash is the same address
        assert.equal((await request(ngx.base, `/api/rooms/${room.token}/admit/`, { method: 'POST', json: { pin: '123456' } })).status, 200);
    });

    it('seats nobody new without the pass; the pass and a resume get in', { timeout: 20000 }, async () => {
        const room = await createRoom(ngx.base, { pin: '2468' });

        for (const fields of [{}, { pass: 'z'.repeat(22) }, { pass: room.ownerKey }]) {
            const { p, msg } = await joinWith(ngx.port, room.token, fields);
            assert.equal(msg.type, 'error', `${JSON.stringify(fields)}: ${msg.raw}`);
            assert.equal(msg.code, 'pin-required');
            const info = await p.expectClose(4403);
            assert.equal(info.reason, 'pin-required');
        }
        assert.equal((await request(ngx.base, `/api/rooms/${room.token}`)).json.participants, 0);

        const a = (await joinWith(ngx.port, room.token, { pass: room.pass })).p;
        assert.ok(a.id, 'welcomed with the pass');
        const { pass } = (await admit(ngx.base, room.token, { pin: '2468' })).json;
        const b = (await joinWith(ngx.port, room.token, { pass })).p;
        assert.equal((await a.next('peer-joined')).id, b.id);

        // b reloads: its resume secret takes its seat back without the pass
        const resume = b.resume;
        b.drop();
        const back = await joinWith(ngx.port, room.token, { resume });
        assert.equal(back.msg.type, 'welcome', back.msg.raw);
        assert.equal(back.msg.id, b.id);
        // a made-up resume secret is no way in
        const fake = await joinWith(ngx.port, room.token, { resume: '1'.repeat(22) });
        assert.equal(fake.msg.code, 'pin-required');

        // a room without PIN takes a join with or without a pass
        const plain = await createRoom(ngx.base);
        assert.equal((await joinWith(ngx.port, plain.token, {})).msg.type, 'welcome');
        assert.equal((await joinWith(ngx.port, plain.token, { pass: room.pass })).msg.type, 'welcome');
        for (const p of [a, back.p]) p.close();
        assert.match((await request(ngx.base, '/metrics')).body,
            /^webcall_pin_refused_total\{zone="webcall",reason="no-pass"\} [1-9]\d*$/m);
    });

    it('answers 410 for an ended PIN room', async () => {
        const room = await createRoom(ngx.base, { pin: '1357' });
        const end = await request(ngx.base, `/api/rooms/${room.token}`, {
            method: 'DELETE', headers: { authorization: `Bearer ${room.ownerKey}` } });
        assert.equal(end.status, 204);
        const res = await admit(ngx.base, room.token, { pin: '1357' });
        assert.equal(res.status, 410);
        assert.equal(res.json.error, 'ended');
    });

    it('keeps the PIN and the pass across a restart (nothing is stored); the count starts again', { timeout: 30000 }, async () => {
        const room = await createRoom(ngx.base, { pin: '8080' });
        await admit(ngx.base, room.token, { pin: '0000' });
        await ngx.restart();
        assert.equal((await request(ngx.base, `/api/rooms/${room.token}`)).json.pin, true);
        const res = await admit(ngx.base, room.token, { pin: '0000' });
        assert.equal(res.json.triesLeft, 2, 'the zone is wiped by a restart, and its count with it');
        const ok = await admit(ngx.base, room.token, { pin: '8080' });
        assert.equal(ok.status, 200);
        assert.equal(ok.json.pass, room.pass);
        const { p, msg } = await joinWith(ngx.port, room.token, { pass: room.pass });
        assert.equal(msg.type, 'welcome', msg.raw);
        p.close();
    });
});

describe('the PIN guard with the shipped limits', () => {
    let ngx;

    before(async () => { ngx = await startNginx({ workers: 1 }); });
    after(async () => { await ngx?.stop(); });

    it('counts /admit against the per-client limit on POSTs (limit_req), as room creation', { timeout: 20000 }, async () => {
        const room = await createRoom(ngx.base, { pin: '1234' });
        const statuses = [];
        for (let i = 0; i < 25; i++) {
            statuses.push((await admit(ngx.base, room.token, { pin: '1234' })).status);
        }
        assert.ok(statuses.includes(200), statuses.join(' '));
        const limited = statuses.indexOf(429);
        assert.ok(limited > 0, `limit_req refused some: ${statuses.join(' ')}`);
        const res = await admit(ngx.base, room.token, { pin: '1234' });
        assert.equal(res.status, 429);
        assert.equal(res.json.error, 'rate-limited', 'nginx\'s own limit, not the room\'s lock');
    });
});
