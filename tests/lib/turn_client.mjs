// A minimal TURN client over UDP (RFC 5766 Allocate with the long-term
// credential mechanism), for tests that must hold many allocations at
// once as browsers do: turnutils_uclient shares one username between its
// clients and stops at the first refusal, which hides how many a relay
// would grant.
//
//   const a = await allocate({ host, port, username, password });
//   a.ok / a.code / a.reason / a.relayed ('ip:port'); a.close()
import crypto from 'node:crypto';
import dgram from 'node:dgram';

const COOKIE = 0x2112a442;
const ALLOCATE = 0x0003;
const ALLOCATE_OK = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const ATTR = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, REALM: 0x0014,
    NONCE: 0x0015, XOR_RELAYED_ADDRESS: 0x0016, REQUESTED_TRANSPORT: 0x0019 };

function attribute(type, value) {
    const pad = (4 - (value.length % 4)) % 4;
    const head = Buffer.alloc(4);
    head.writeUInt16BE(type, 0);
    head.writeUInt16BE(value.length, 2);
    return Buffer.concat([head, value, Buffer.alloc(pad)]);
}

function message(type, id, attrs, key) {
    let body = Buffer.concat(attrs);
    const header = (len) => {
        const h = Buffer.alloc(20);
        h.writeUInt16BE(type, 0);
        h.writeUInt16BE(len, 2);
        h.writeUInt32BE(COOKIE, 4);
        id.copy(h, 8);
        return h;
    };
    if (key) {
        // The length covers MESSAGE-INTEGRITY itself while it is computed.
        const mac = crypto.createHmac('sha1', key).update(Buffer.concat([header(body.length + 24), body])).digest();
        body = Buffer.concat([body, attribute(ATTR.MESSAGE_INTEGRITY, mac)]);
    }
    return Buffer.concat([header(body.length), body]);
}

function parse(buf) {
    const type = buf.readUInt16BE(0);
    const attrs = new Map();
    for (let at = 20; at + 4 <= buf.length;) {
        const t = buf.readUInt16BE(at);
        const len = buf.readUInt16BE(at + 2);
        attrs.set(t, buf.subarray(at + 4, at + 4 + len));
        at += 4 + len + ((4 - (len % 4)) % 4);
    }
    return { type, id: buf.subarray(8, 20), attrs };
}

function xorAddress(v) {
    const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
    const ip = [0, 1, 2, 3].map((i) => v[4 + i] ^ ((COOKIE >>> (24 - 8 * i)) & 0xff)).join('.');
    return `${ip}:${port}`;
}

// One allocation on its own socket, kept until close(); never rejects.
export async function allocate({ host, port, username, password, timeout = 5000 }) {
    const sock = dgram.createSocket('udp4');
    await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const ask = (msg) => new Promise((resolve) => {
        const timer = setTimeout(() => { sock.off('message', on); resolve(null); }, timeout);
        const on = (buf) => {
            const m = parse(buf);
            if (!m.id.equals(msg.subarray(8, 20))) return;
            clearTimeout(timer);
            sock.off('message', on);
            resolve(m);
        };
        sock.on('message', on);
        sock.send(msg, port, host);
    });
    const transport = attribute(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const result = (fields) => ({ ...fields, close: () => new Promise((r) => sock.close(r)) });

    const first = await ask(message(ALLOCATE, crypto.randomBytes(12), [transport]));
    if (!first) return result({ ok: false, code: 0, reason: 'no answer' });
    const realm = first.attrs.get(ATTR.REALM);
    const nonce = first.attrs.get(ATTR.NONCE);
    if (!realm || !nonce) return result({ ok: false, code: 0, reason: 'no realm or nonce in the challenge' });
    const key = crypto.createHash('md5').update(`${username}:${realm}:${password}`).digest();
    const r = await ask(message(ALLOCATE, crypto.randomBytes(12), [transport,
        attribute(ATTR.USERNAME, Buffer.from(username)), attribute(ATTR.REALM, realm),
        attribute(ATTR.NONCE, nonce)], key));
    if (!r) return result({ ok: false, code: 0, reason: 'no answer' });
    if (r.type === ALLOCATE_OK) {
        const relayed = r.attrs.get(ATTR.XOR_RELAYED_ADDRESS);
        return result({ ok: true, code: 200, relayed: relayed ? xorAddress(relayed) : null });
    }
    if (r.type !== ALLOCATE_ERROR) return result({ ok: false, code: 0, reason: `message type ${r.type}` });
    const e = r.attrs.get(ATTR.ERROR_CODE);
    return result({ ok: false, code: e ? e[2] * 100 + e[3] : 0, reason: e ? e.subarray(4).toString() : '' });
}
