// RFC 6455 framing on the signaling WebSocket of a real nginx, with a raw
// TCP client that can send what no WebSocket library would: unmasked
// frames, RSV bits, reserved opcodes, bad close codes, bad UTF-8, huge
// announced lengths. webcall_ws_max_message is 8k here.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startNginx } from '../lib/nginx.mjs';
import { RawWs, Peer, createRoom, frame, closePayload, OP, B58, sleep } from '../lib/ws.mjs';

const MAX = 8192;

// {"type":"join","pad":"xxx..."} of exactly n bytes.
function joinOfSize(n) {
    const core = '{"type":"join","pad":""}';
    assert.ok(n >= core.length);
    return `{"type":"join","pad":"${'x'.repeat(n - core.length)}"}`;
}

describe('signaling frames', () => {
    let ngx;
    let open = [];
    before(async () => {
        ngx = await startNginx({ workers: 2, rateLimit: false, wsLocation: `webcall_ws_max_message ${MAX / 1024}k;` });
    });
    afterEach(() => {
        for (const c of open) (c instanceof Peer ? c.drop() : c.destroy());
        open = [];
    });
    after(() => ngx?.stop());

    // A fresh room and an upgraded raw connection to it.
    async function conn() {
        const { token } = await createRoom(ngx.base);
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        open.push(raw);
        assert.equal(raw.status, 101, `${raw.statusLine} ${raw.body}`);
        raw.token = token;
        return raw;
    }

    // Sends bytes on a fresh connection (joined first if join) and expects a close with code.
    async function expectCloseAfter(bytes, code, what, { join = false, timeout = 3000 } = {}) {
        const raw = await conn();
        if (join) await raw.join();
        raw.send(Array.isArray(bytes) ? Buffer.concat(bytes) : bytes);
        try {
            return await raw.expectClose(code, timeout);
        } catch (e) {
            e.message = `${what}: ${e.message}`;
            throw e;
        }
    }

    it('an unmasked client frame is closed with 1002', async () => {
        await Promise.all([
            expectCloseAfter(frame({ payload: '{"type":"join"}', mask: false }), 1002, 'unmasked join'),
            expectCloseAfter(frame({ op: OP.ping, payload: 'x', mask: false }), 1002, 'unmasked ping', { join: true }),
        ]);
    });

    it('a frame with an RSV bit set is closed with 1002', async () => {
        await Promise.all([4, 2, 1].map(
            (rsv) => expectCloseAfter(frame({ payload: '{"type":"join"}', rsv }), 1002, `RSV ${rsv}`)));
    });

    it('a reserved opcode is closed with 1002', async () => {
        await Promise.all([3, 7, 0xb, 0xf].map(
            (op) => expectCloseAfter(frame({ op, payload: 'x' }), 1002, `opcode ${op}`)));
    });

    it('a control frame longer than 125 bytes is closed with 1002', async () => {
        await Promise.all([
            expectCloseAfter(frame({ op: OP.ping, payload: Buffer.alloc(126, 0x61) }), 1002, 'ping of 126 bytes'),
            expectCloseAfter(frame({ op: OP.close, payload: closePayload(1000, 'r'.repeat(124)) }), 1002,
                'close of 126 bytes'),
        ]);
    });

    it('a fragmented control frame is closed with 1002', async () => {
        await expectCloseAfter(frame({ op: OP.ping, payload: 'a', fin: false }), 1002, 'ping with FIN clear');
    });

    it('a continuation frame without a message to continue is closed with 1002', async () => {
        await Promise.all([
            expectCloseAfter(frame({ op: OP.cont, payload: '{"type":"join"}' }), 1002, 'lone continuation'),
            expectCloseAfter(frame({ op: OP.cont, payload: '{"type":"bye"}' }), 1002,
                'lone continuation after join', { join: true }),
        ]);
    });

    it('a new text frame inside an unfinished fragmented message is closed with 1002', async () => {
        await expectCloseAfter([
            frame({ payload: '{"type":', fin: false }),
            frame({ payload: '"join"}' }),
        ], 1002, 'text frame where a continuation was due');
    });

    it('a text message in 3 fragments with a ping between them is reassembled: the join gets welcome', async () => {
        const raw = await conn();
        raw.send(Buffer.concat([
            frame({ payload: '{"type"', fin: false }),
            frame({ op: OP.ping, payload: 'between' }),
            frame({ op: OP.cont, payload: ':"jo', fin: false }),
            frame({ op: OP.cont, payload: 'in"}' }),
        ]));
        const pong = await raw.nextFrame(3000, { skipPings: false });
        assert.equal(pong.op, OP.pong, raw.describe());
        assert.equal(pong.payload.toString(), 'between');
        const w = await raw.nextText('welcome');
        assert.match(w.id, B58);
    });

    it('fragments sent one by one with pauses are reassembled', async () => {
        const raw = await conn();
        for (const [i, part] of ['{"ty', 'pe":"jo', 'in"', '}'].entries()) {
            raw.send(frame({ op: i === 0 ? OP.text : OP.cont, payload: part, fin: i === 3 }));
            await sleep(30);
        }
        await raw.nextText('welcome');
    });

    it('a UTF-8 character split across two fragments is accepted', async () => {
        const raw = await conn();
        const text = Buffer.from('{"type":"join","name":"caf\u00e9 \u{1F600}"}', 'utf8');
        const cut = text.indexOf(0xf0) + 2;     // inside the 4-byte emoji
        raw.send(Buffer.concat([
            frame({ payload: text.subarray(0, cut), fin: false }),
            frame({ op: OP.cont, payload: text.subarray(cut) }),
        ]));
        await raw.nextText('welcome');
    });

    it('invalid UTF-8 in a text message is closed with 1007', async () => {
        const cases = [
            ['0xFF', [0xff]],
            ['overlong /', [0xc0, 0xaf]],
            ['surrogate', [0xed, 0xa0, 0x80]],
            ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
            ['lone continuation byte', [0x80]],
        ];
        await Promise.all([
            ...cases.map(([what, bytes]) => {
                const payload = Buffer.concat([Buffer.from('{"type":"join","x":"'), Buffer.from(bytes), Buffer.from('"}')]);
                return expectCloseAfter(frame({ payload }), 1007, what);
            }),
            // A character cut off by the end of the message.
            expectCloseAfter([
                frame({ payload: Buffer.from('{"type":"join","x":"'), fin: false }),
                frame({ op: OP.cont, payload: Buffer.from([0xe2, 0x82]) }),
            ], 1007, 'truncated character at the end of a fragmented message'),
        ]);
    });

    it('a message of exactly the maximum size is accepted', async () => {
        const raw = await conn();
        const text = joinOfSize(MAX);
        assert.equal(Buffer.byteLength(text), MAX);
        raw.sendText(text);
        await raw.nextText('welcome');
    });

    it('a message one byte over the maximum is closed with 1009', async () => {
        const { before } = await expectCloseAfter(frame({ payload: joinOfSize(MAX + 1) }), 1009, 'max + 1');
        for (const m of before) assert.equal(m.code, 'too-large', JSON.stringify(m));
    });

    it('a fragmented message whose fragments add up to more than the maximum is closed with 1009', async () => {
        const text = joinOfSize(3 * 3000);
        await expectCloseAfter([
            frame({ payload: text.slice(0, 3000), fin: false }),
            frame({ op: OP.cont, payload: text.slice(3000, 6000), fin: false }),
            frame({ op: OP.cont, payload: text.slice(6000) }),
        ], 1009, '3 fragments of 3000 bytes');
    });

    it('a header announcing a huge message is closed with 1009 before any payload is sent', async () => {
        await Promise.all([1 << 30, 70000, MAX + 1].map(async (len) => {
            const raw = await conn();
            const t0 = Date.now();
            // Only the header and the mask key: the server must not wait for the payload.
            raw.send(frame({ payload: Buffer.alloc(0), len }));
            await raw.expectClose(1009, 3000).catch((e) => {
                throw new Error(`announced length ${len}: ${e.message}`);
            });
            const close = raw.frames.find((f) => f.op === OP.close);
            assert.ok(close.at - t0 < 1000, `close 1009 came ${close.at - t0} ms after the header of ${len} bytes`);
        }));
    });

    it('a ping is answered with a pong carrying the same payload, before and after join', async () => {
        const raw = await conn();
        const payloads = [Buffer.alloc(0), Buffer.from('hello'), crypto.randomBytes(125)];
        for (const [i, p] of payloads.entries()) {
            if (i === 2) await raw.join();
            raw.send(frame({ op: OP.ping, payload: p }));
            const f = await raw.nextFrame(3000, { skipPings: false });
            assert.equal(f.op, OP.pong, raw.describe());
            assert.ok(f.payload.equals(p), `pong payload ${f.payload.toString('hex')} for ${p.toString('hex')}`);
        }
    });

    it('an unsolicited pong is ignored and the connection stays', async () => {
        const raw = await conn();
        raw.send(frame({ op: OP.pong, payload: 'unasked' }));
        raw.send(frame({ op: OP.pong, payload: '' }));
        await raw.join();
        raw.send(frame({ op: OP.pong, payload: 'again' }));
        raw.send(frame({ op: OP.ping, payload: 'alive?' }));
        const f = await raw.nextFrame(3000, { skipPings: false });
        assert.equal(f.op, OP.pong, raw.describe());
        assert.equal(f.payload.toString(), 'alive?');
        assert.ok(!raw.ended);
    });

    it('a close with 1000 is echoed with 1000 and the TCP connection closed, before or after join', async () => {
        await Promise.all([false, true].map((join) => expectCloseAfter(
            frame({ op: OP.close, payload: closePayload(1000, 'done') }), 1000, `close 1000 (joined: ${join})`, { join })));
    });

    it('a close without a status code is answered with a normal close', async () => {
        await expectCloseAfter(frame({ op: OP.close }), [1000, 1005], 'empty close');
    });

    it('a close with an application code is answered with a normal close', async () => {
        await Promise.all([3000, 4000, 4999, 1001].map(
            (c) => expectCloseAfter(frame({ op: OP.close, payload: closePayload(c) }), [c, 1000], `close ${c}`)));
    });

    it('a close with a code not allowed on the wire is answered with 1002', async () => {
        await Promise.all([1005, 1006, 1004, 1015, 999, 0, 5000, 65535].map(
            (c) => expectCloseAfter(frame({ op: OP.close, payload: closePayload(c) }), 1002, `close ${c}`)));
    });

    it('a close with a 1-byte payload is answered with 1002', async () => {
        await expectCloseAfter(frame({ op: OP.close, payload: Buffer.from([0x03]) }), 1002, '1-byte close');
    });

    it('the server sends a single close frame even when the client keeps sending after its close', async () => {
        const raw = await conn();
        await raw.join();
        raw.answerClose = false;
        raw.send(Buffer.concat([
            frame({ op: OP.close, payload: closePayload(1000) }),
            frame({ payload: '{"type":"bye"}' }),
            frame({ op: OP.close, payload: closePayload(1000) }),
            frame({ payload: 'x', mask: false }),
            frame({ op: OP.ping, payload: 'p' }),
        ]));
        await raw.expectClose(1000);    // also fails on a second close frame or anything after it
        assert.equal(raw.frames.filter((f) => f.op === OP.close).length, 1, raw.describe());
    });

    it('after a protocol error the server closes once and ignores what follows', async () => {
        const raw = await conn();
        raw.send(Buffer.concat([
            frame({ op: 3, payload: 'x' }),
            frame({ payload: '{"type":"join"}' }),
            frame({ op: OP.ping, payload: 'p' }),
        ]));
        const { before } = await raw.expectClose(1002);
        assert.ok(!before.some((m) => m.type === 'welcome'), raw.describe());
        assert.ok(!raw.frames.some((f) => f.op === OP.pong), `answered a ping after the error: ${raw.describe()}`);
    });

    it('a binary message is refused with bad-message and 4400', async () => {
        const { before } = await expectCloseAfter(frame({ op: OP.binary, payload: '{"type":"join"}' }), 4400, 'binary join');
        assert.equal(before.length, 1, JSON.stringify(before));
        assert.equal(before[0].type, 'error');
        assert.equal(before[0].code, 'bad-message');
        // With the ws package, after join.
        const { token } = await createRoom(ngx.base);
        const p = await Peer.open(ngx.port, token);
        open.push(p);
        await p.join();
        p.ws.send(Buffer.from('{"type":"bye"}'), { binary: true });
        await p.expectError('bad-message', 4400);
    });

    it('empty fragments and a ping between fragments in separate reads are fine', async () => {
        const raw = await conn();
        const parts = [
            frame({ payload: '', fin: false }),
            frame({ op: OP.cont, payload: '{"type":', fin: false }),
            frame({ op: OP.ping, payload: 'mid' }),
            frame({ op: OP.cont, payload: '', fin: false }),
            frame({ op: OP.cont, payload: '"join"}' }),
        ];
        for (const p of parts) {
            raw.send(p);
            await sleep(20);
        }
        const pong = await raw.nextFrame(3000, { skipPings: false });
        assert.equal(pong.op, OP.pong, raw.describe());
        assert.equal(pong.payload.toString(), 'mid');
        await raw.nextText('welcome');
    });

    it('a whole message and the start of the next in one read, the rest later, are both handled', async () => {
        const raw = await conn();
        const second = frame({ op: OP.ping, payload: 'second' });
        const join = frame({ payload: '{"type":"join"}' });
        const bye = frame({ payload: '{"type":"bye"}' });
        raw.send(Buffer.concat([join, bye.subarray(0, 9)]));
        await sleep(50);
        raw.send(Buffer.concat([bye.subarray(9), second]));
        await raw.nextText('welcome');
        // bye: the server closes with 1000 and answers nothing after it
        const { code } = await raw.expectClose(1000);
        assert.equal(code, 1000);
    });

    it('a 64-bit length with the most significant bit set is refused', async () => {
        const raw = await conn();
        const head = Buffer.from([0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0x10, 1, 2, 3, 4]);
        raw.send(head);
        await raw.expectClose([1002, 1009]);
    });

    it('messages sent after bye in the same write are ignored', async () => {
        const { token } = await createRoom(ngx.base);
        const b = await Peer.open(ngx.port, token);
        open.push(b);
        await b.join();
        const raw = await RawWs.open(ngx.port, `/ws/${token}`);
        open.push(raw);
        await raw.join();
        await b.next('peer-joined');
        raw.send(Buffer.concat([
            frame({ payload: JSON.stringify({ type: 'offer', to: b.id, sdp: 'before' }) }),
            frame({ payload: '{"type":"bye"}' }),
            frame({ payload: JSON.stringify({ type: 'offer', to: b.id, sdp: 'after' }) }),
        ]));
        assert.equal((await b.next('offer')).sdp, 'before');
        assert.equal((await b.next('peer-left')).id, raw.id);
        await raw.expectClose(1000);
        await b.nothing(200);
    });

    it('frames split at every byte are parsed', async () => {
        const raw = await conn();
        const bytes = Buffer.concat([frame({ payload: '{"type":"join"}' }), frame({ op: OP.ping, payload: 'bytewise' })]);
        for (const b of bytes) {
            raw.send(Buffer.from([b]));
            await sleep(2);
        }
        await raw.nextText('welcome');
        const f = await raw.nextFrame(3000, { skipPings: false });
        assert.equal(f.op, OP.pong);
        assert.equal(f.payload.toString(), 'bytewise');
    });
});
