// WebSocket helpers for the signaling tests (tests/integration/signal_*).
//
//   const room = await createRoom(ngx.base);
//   const a = await Peer.open(ngx.port, room.token);      // the `ws` package
//   const welcome = await a.join();
//   const msg = await b.next('offer');                    // strict: the next message must be an offer
//
//   const raw = await RawWs.open(ngx.port, `/ws/${room.token}`);   // a bare TCP socket
//   raw.send(frame({ op: 1, payload: '{"type":"join"}' }));
//   await raw.nextText();  -> welcome
//   await raw.expectClose(1002);
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { request } from './nginx.mjs';

const execFileP = promisify(execFile);

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const B58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function createRoom(base, json) {
    const res = await request(base, '/api/rooms', { method: 'POST', json });
    assert.equal(res.status, 201, `POST /api/rooms: ${res.status} ${res.body}`);
    return res.json;
}

export function acceptFor(key) {
    return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

export function newKey() {
    return crypto.randomBytes(16).toString('base64');
}

// A value that resolves or rejects after ms with a useful message.
function withTimeout(promise, ms, what) {
    let timer;
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

// --- the `ws` package: a well-behaved client -----------------------------------

// A participant: a `ws` client with a queue of received messages (parsed
// JSON, the raw text in .raw). Pings are answered by `ws` itself (counted
// in .pings).
export class Peer {
    // localAddress: the client's own address (127.0.0.2: another caller).
    static open(port, token, { headers = {}, path, timeout = 3000, host = '127.0.0.1', localAddress } = {}) {
        const url = `ws://${host}:${port}${path ?? `/ws/${token}`}`;
        const peer = new Peer(new WebSocket(url, { headers, handshakeTimeout: timeout, localAddress }));
        return withTimeout(new Promise((resolve, reject) => {
            peer.ws.once('open', () => resolve(peer));
            peer.ws.once('unexpected-response', (req, res) => {
                reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { status: res.statusCode }));
                req.destroy();
            });
            peer.ws.once('error', reject);
        }), timeout + 500, `the handshake with ${url}`);
    }

    constructor(ws) {
        this.ws = ws;
        this.queue = [];        // received, not yet taken by next()
        this.all = [];          // every message received, for failure messages
        this.waiter = null;
        this.pings = [];        // times (ms) the server pinged
        this.closeInfo = null;  // { code, reason, at }
        this.id = null;
        this.resume = null;
        this.closed = new Promise((resolve) => {
            ws.on('close', (code, reason) => {
                this.closeInfo = { code, reason: reason.toString(), at: Date.now() };
                resolve(this.closeInfo);
                this.wake();
            });
        });
        ws.on('error', (e) => { this.error = e; });
        ws.on('ping', () => this.pings.push(Date.now()));
        ws.on('message', (data, isBinary) => {
            const raw = data.toString('utf8');
            let msg;
            try { msg = JSON.parse(raw); } catch { msg = { type: '(not JSON)' }; }
            Object.defineProperty(msg, 'raw', { value: raw, enumerable: false });
            msg.binary = isBinary || undefined;
            if (msg.binary === undefined) delete msg.binary;
            this.queue.push(msg);
            this.all.push(raw);
            this.wake();
        });
    }

    get localPort() { return this.ws._socket?.localPort; }

    wake() {
        const w = this.waiter;
        this.waiter = null;
        w?.();
    }

    describe() {
        return `received so far: ${this.all.join(' | ') || '(nothing)'}` +
            (this.closeInfo ? `; closed ${this.closeInfo.code} ${this.closeInfo.reason}` : '');
    }

    // The next message; if type is given it must be of that type (no
    // skipping: order matters in this protocol).
    async next(type, timeout = 3000) {
        const deadline = Date.now() + timeout;
        while (this.queue.length === 0) {
            if (this.closeInfo) {
                throw new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) ` +
                    `while waiting for ${type ?? 'a message'}; ${this.describe()}`);
            }
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no ${type ?? 'message'} within ${timeout} ms; ${this.describe()}`);
            await new Promise((resolve) => {
                const t = setTimeout(resolve, left);
                this.waiter = () => { clearTimeout(t); resolve(); };
            });
        }
        const msg = this.queue.shift();
        if (type !== undefined && msg.type !== type) {
            throw new Error(`expected ${type}, got ${msg.raw}; ${this.describe()}`);
        }
        return msg;
    }

    // Fails if any message arrives within ms.
    async nothing(ms) {
        await sleep(ms);
        assert.equal(this.queue.length, 0,
            `unexpected message(s): ${this.queue.map((m) => m.raw).join(' | ')}`);
    }

    send(obj) {
        this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
    }

    async join(resume, timeout = 3000) {
        this.send(resume ? { type: 'join', resume } : { type: 'join' });
        const w = await this.next('welcome', timeout);
        this.id = w.id;
        this.resume = w.resume;
        return w;
    }

    // An error message with this code, then a close with closeCode.
    async expectError(code, closeCode, timeout = 3000) {
        const msg = await this.next('error', timeout);
        assert.equal(msg.code, code, `error ${msg.raw}; ${this.describe()}`);
        if (closeCode !== undefined) {
            const info = await this.expectClose(closeCode, timeout);
            // docs/protocol.md: the close reason is the error code.
            assert.equal(info.reason, code, `close reason after error ${code}; ${this.describe()}`);
        }
        return msg;
    }

    async expectClose(code, timeout = 3000) {
        const info = await withTimeout(this.closed, timeout, `close ${code}; ${this.describe()}`);
        assert.equal(info.code, code, `closed with ${info.code} ${info.reason}, not ${code}; ${this.describe()}`);
        return info;
    }

    get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

    close(code = 1000) { try { this.ws.close(code); } catch { /* closed */ } }

    // Drops the TCP connection without a close frame.
    drop() { this.ws.terminate(); }
}

// Joins n participants into a room, in order; returns them (each with .id).
export async function joinAll(port, token, n) {
    const peers = [];
    for (let i = 0; i < n; i++) {
        const p = await Peer.open(port, token);
        await p.join();
        for (const q of peers) assert.equal((await q.next('peer-joined')).id, p.id);
        peers.push(p);
    }
    return peers;
}

// --- raw frames ------------------------------------------------------------------

// One client frame. payload: string or Buffer. mask: true (random key), a
// 4-byte Buffer, or false. len: the announced length if it must differ from
// the payload's (then only payload is sent). rsv: the 3 RSV bits (0-7).
export function frame({ op = OP.text, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, len } = {}) {
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    const n = len ?? data.length;
    const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (op & 0x0f))];
    const m = mask ? 0x80 : 0;
    if (n < 126) head.push(m | n);
    else if (n <= 0xffff) head.push(m | 126, n >> 8, n & 0xff);
    else {
        head.push(m | 127);
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(n));
        head.push(...b);
    }
    if (!mask) return Buffer.concat([Buffer.from(head), data]);
    const key = Buffer.isBuffer(mask) ? mask : crypto.randomBytes(4);
    const body = Buffer.alloc(data.length);
    for (let i = 0; i < data.length; i++) body[i] = data[i] ^ key[i & 3];
    return Buffer.concat([Buffer.from(head), key, body]);
}

export function closePayload(code, reason = '') {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return Buffer.concat([b, Buffer.from(reason, 'utf8')]);
}

export function handshakeRequest(path, { host = '127.0.0.1', key = newKey(), headers = {}, method = 'GET', version = 'HTTP/1.1', omit = [] } = {}) {
    const base = {
        Host: host,
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
    };
    for (const h of omit) delete base[h];
    const all = { ...base, ...headers };
    let text = `${method} ${path} ${version}\r\n`;
    for (const [k, v] of Object.entries(all)) {
        if (v === undefined || v === null) continue;
        text += `${k}: ${v}\r\n`;
    }
    return `${text}\r\n`;
}

function parseHead(text) {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    const headers = {};
    for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) {
            const k = l.slice(0, i).trim().toLowerCase();
            headers[k] = headers[k] === undefined ? l.slice(i + 1).trim() : `${headers[k]}, ${l.slice(i + 1).trim()}`;
        }
    }
    return { status: m ? Number(m[1]) : 0, statusLine: lines[0], headers };
}

// A raw TCP connection speaking WebSocket by hand: sends any bytes, parses
// server frames (unmasked) strictly, and records everything.
export class RawWs {
    // Connects, writes the handshake (plus `extra` bytes in the same write)
    // and reads the response head. Resolves with the RawWs whatever the
    // status (check .status).
    static open(port, path, { host = `127.0.0.1:${port}`, key = newKey(), headers = {}, omit = [], method, version,
        extra, request: req, timeout = 3000, localAddress, connectTo = '127.0.0.1' } = {}) {
        const text = req ?? handshakeRequest(path, { host, key, headers, omit, method, version });
        const raw = new RawWs(net.connect({ port, host: connectTo, localAddress }));
        raw.key = key;
        raw.sock.write(extra ? Buffer.concat([Buffer.from(text, 'latin1'), extra]) : Buffer.from(text, 'latin1'));
        return withTimeout(raw.head, timeout, `the handshake response to ${text.split('\r\n')[0]}`)
            .then(() => raw);
    }

    constructor(sock) {
        this.sock = sock;
        this.buf = Buffer.alloc(0);
        this.inHead = true;
        this.frames = [];       // every frame received, in order
        this.queue = [];        // frames not yet taken
        this.waiter = null;
        this.protocolError = null;
        this.autoPong = false;
        this.answerClose = true;
        this.body = '';
        this.ended = false;
        this.sock.setNoDelay(true);
        this.head = new Promise((resolve, reject) => {
            this.headResolve = resolve;
            this.headReject = reject;
        });
        this.head.catch(() => { /* reported by open() */ });
        this.end = new Promise((resolve) => {
            this.sock.on('close', () => {
                this.ended = true;
                this.endedAt = Date.now();
                if (this.inHead) this.headReject(new Error(`connection closed before a response: ${this.buf.toString('latin1')}`));
                resolve();
                this.wake();
            });
        });
        this.sock.on('error', (e) => { this.error = e; });
        this.sock.on('data', (d) => this.onData(d));
    }

    onData(d) {
        this.buf = Buffer.concat([this.buf, d]);
        if (this.inHead) {
            const i = this.buf.indexOf('\r\n\r\n');
            if (i < 0) return;
            const head = parseHead(this.buf.subarray(0, i).toString('latin1'));
            Object.assign(this, head);
            this.buf = this.buf.subarray(i + 4);
            this.inHead = false;
            if (this.status !== 101) {
                // An HTTP answer: keep its body as text; no frames.
                this.http = true;
            }
            this.headResolve(this);
        }
        if (this.http) {
            this.body += this.buf.toString('utf8');
            this.buf = Buffer.alloc(0);
            return;
        }
        this.parseFrames();
    }

    parseFrames() {
        for (;;) {
            const b = this.buf;
            if (b.length < 2) return;
            const fin = !!(b[0] & 0x80);
            const rsv = (b[0] >> 4) & 7;
            const op = b[0] & 0x0f;
            const masked = !!(b[1] & 0x80);
            let len = b[1] & 0x7f;
            let off = 2;
            if (len === 126) {
                if (b.length < 4) return;
                len = b.readUInt16BE(2);
                off = 4;
            } else if (len === 127) {
                if (b.length < 10) return;
                len = Number(b.readBigUInt64BE(2));
                off = 10;
            }
            if (masked) off += 4;
            if (b.length < off + len) return;
            const payload = Buffer.from(b.subarray(off, off + len));
            this.buf = b.subarray(off + len);
            const f = { fin, rsv, op, masked, payload, at: Date.now() };
            if (masked || rsv) this.protocolError ??= `server frame with mask=${masked} rsv=${rsv}`;
            if (op === OP.close) {
                f.code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
                f.reason = payload.subarray(2).toString('utf8');
                if (this.frames.some((x) => x.op === OP.close)) this.protocolError ??= 'a second close frame';
                if (this.answerClose && !this.sentClose) {
                    this.sentClose = true;
                    this.write(frame({ op: OP.close, payload: payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0) }));
                }
            } else if (this.frames.some((x) => x.op === OP.close)) {
                this.protocolError ??= `a frame (op ${op}) after the close frame`;
            }
            if (op === OP.ping && this.autoPong) this.write(frame({ op: OP.pong, payload }));
            this.frames.push(f);
            this.queue.push(f);
            this.wake();
        }
    }

    wake() {
        const w = this.waiter;
        this.waiter = null;
        w?.();
    }

    describe() {
        const fs_ = this.frames.map((f) => (f.op === OP.close ? `close ${f.code} ${f.reason}`
            : f.op === OP.text ? `text ${f.payload.toString('utf8').slice(0, 200)}` : `op${f.op}(${f.payload.length})`));
        return `frames: ${fs_.join(' | ') || '(none)'}${this.ended ? '; TCP closed' : ''}` +
            (this.error ? ` (${this.error.code ?? this.error.message})` : '');
    }

    write(buf) {
        if (this.sock.destroyed || this.sock.writableEnded) return;
        this.sock.write(buf, () => { /* errors land on 'error' */ });
    }

    send(buf) { this.write(buf); }

    sendText(text, opts = {}) { this.write(frame({ op: OP.text, payload: text, ...opts })); }

    sendJson(obj) { this.sendText(JSON.stringify(obj)); }

    // The next frame (any opcode unless skipPings).
    async nextFrame(timeout = 3000, { skipPings = true } = {}) {
        const deadline = Date.now() + timeout;
        for (;;) {
            while (this.queue.length) {
                const f = this.queue.shift();
                if (skipPings && (f.op === OP.ping || f.op === OP.pong)) continue;
                return f;
            }
            if (this.ended) throw new Error(`TCP closed while waiting for a frame; ${this.describe()}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no frame within ${timeout} ms; ${this.describe()}`);
            await new Promise((resolve) => {
                const t = setTimeout(resolve, left);
                this.waiter = () => { clearTimeout(t); resolve(); };
            });
        }
    }

    // The next text message, parsed (type checked if given).
    async nextText(type, timeout = 3000) {
        const f = await this.nextFrame(timeout);
        assert.equal(f.op, OP.text, `expected a text frame, got op ${f.op} ${f.op === OP.close ? `(close ${f.code} ${f.reason})` : ''}; ${this.describe()}`);
        assert.ok(f.fin, 'the server fragments its messages');
        const msg = JSON.parse(f.payload.toString('utf8'));
        if (type) assert.equal(msg.type, type, `expected ${type}: ${f.payload}; ${this.describe()}`);
        return msg;
    }

    // Reads until the close frame: it must carry code (or one of codes), the
    // TCP connection must then end, and nothing may follow the close frame.
    // Text messages before it are returned (e.g. the error message); other
    // data frames fail unless allowData.
    async expectClose(codes, timeout = 3000, { allowData = true } = {}) {
        const want = Array.isArray(codes) ? codes : [codes];
        const before = [];
        let f;
        for (;;) {
            f = await this.nextFrame(timeout).catch((e) => {
                throw new Error(`expected close ${want.join('/')}: ${e.message}`);
            });
            if (f.op === OP.close) break;
            assert.ok(allowData, `a frame before the close: op ${f.op}; ${this.describe()}`);
            before.push(f.op === OP.text ? JSON.parse(f.payload.toString('utf8')) : f);
        }
        assert.ok(want.includes(f.code), `closed with ${f.code} "${f.reason}", expected ${want.join(' or ')}; ${this.describe()}`);
        await withTimeout(this.end, timeout, `the TCP close after close ${f.code}; ${this.describe()}`);
        assert.equal(this.protocolError, null, `${this.protocolError}; ${this.describe()}`);
        return { code: f.code, reason: f.reason, before };
    }

    // Handshake, then {"type":"join"} and its welcome.
    async join(resume) {
        this.sendJson(resume ? { type: 'join', resume } : { type: 'join' });
        const w = await this.nextText('welcome');
        this.id = w.id;
        this.resume = w.resume;
        return w;
    }

    destroy() { this.sock.destroy(); }
}

// --- which worker owns a connection ---------------------------------------------

// The pid of the nginx process holding the server side of the TCP
// connection from the client's local port to serverPort (0 if none holds
// it, e.g. closed and orphaned), and the socket state.
export async function socketOwner(serverPort, clientPort) {
    const { stdout } = await execFileP('ss', ['-tanpH', `( sport = :${serverPort} and dport = :${clientPort} )`]);
    const line = stdout.split('\n').find((l) => l.trim());
    if (!line) return { pid: 0, state: 'gone' };
    const state = line.trim().split(/\s+/)[0];
    const m = /pid=(\d+)/.exec(line);
    return { pid: m ? Number(m[1]) : 0, state, line };
}

export async function ownerPid(serverPort, clientPort) {
    return (await socketOwner(serverPort, clientPort)).pid;
}

export function vmRssKb(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
}

export async function waitFor(cond, timeout, what, step = 50) {
    const deadline = Date.now() + timeout;
    for (;;) {
        const v = await cond();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${what}`);
        await sleep(step);
    }
}

// A Peer (not joined yet) through a reuseport listener on port, held by a
// worker that satisfies want(pid); p.pid is that worker. Tries 40
// connections (the kernel spreads them by source port).
export async function peerOnWorker(port, token, want = () => true, what = 'the wanted worker') {
    const seen = [];
    for (let i = 0; i < 40; i++) {
        const p = await Peer.open(port, token);
        const pid = await ownerPid(port, p.localPort);
        seen.push(pid);
        if (pid && want(pid)) { p.pid = pid; return p; }
        p.drop();
    }
    throw new Error(`no connection landed on ${what} in 40 tries (owners: ${seen})`);
}
