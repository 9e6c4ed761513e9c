import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { AdoptedSocket, SignalingClient, type EarlyEvent, type EarlySocket, type EndReason, type Welcome } from '../../web/src/signaling.ts';

// The socket early.ts opened: listeners, what it sent, and the server side.
class FakeEarly {
    readyState = 0;
    sent: string[] = [];
    closedWith: number | null = null;
    private listeners: Record<string, ((ev: never) => void)[]> = { open: [], message: [], close: [] };
    addEventListener(type: 'open' | 'message' | 'close', fn: (ev: never) => void) { this.listeners[type]!.push(fn); }
    send(d: string) { this.sent.push(d); }
    close(code = 1000) { this.closedWith = code; this.readyState = 3; }
    private emit(type: string, ev: unknown) { for (const fn of this.listeners[type]!) (fn as (e: unknown) => void)(ev); }
    open() { this.readyState = 1; this.emit('open', {}); }
    receive(m: unknown) { this.emit('message', { data: JSON.stringify(m) }); }
    drop(code: number) { this.readyState = 3; this.emit('close', { code, reason: '' }); }
}

// early.ts's recording, as it does it: join on open, every event kept
// until adoption.
function early(): { fake: FakeEarly; rec: EarlySocket } {
    const fake = new FakeEarly();
    const events: EarlyEvent[] = [];
    const rec: EarlySocket = { url: 'ws://test/ws/ROOM', socket: fake, events, adopted: false };
    fake.addEventListener('open', () => { fake.send('{"type":"join"}'); if (!rec.adopted) events.push({ type: 'open' }); });
    fake.addEventListener('message', (e: { data: unknown }) => { if (!rec.adopted) events.push({ type: 'message', data: e.data }); });
    fake.addEventListener('close', (e: { code: number; reason: string }) => {
        if (!rec.adopted) events.push({ type: 'close', code: e.code, reason: e.reason });
    });
    return { fake, rec };
}

function client(rec: EarlySocket) {
    const welcomes: Welcome[] = [];
    const ended: EndReason[] = [];
    const c = new SignalingClient({
        url: rec.url, room: 'ROOM', store: null,
        socket: () => new AdoptedSocket(rec),
        setTimer: () => 0, clearTimer: () => undefined, random: () => 0.5,
        events: { welcome: (w) => welcomes.push(w), ended: (r) => ended.push(r) },
    });
    return { c, welcomes, ended };
}

const welcome = { type: 'welcome', id: 'Ab3dEf7h', peers: ['Zz9yXw8v'], resume: 'r', iceServers: [], maxParticipants: 2 };
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('the socket early.ts opened, adopted by the signaling client', () => {
    it('a welcome that came before room.js ran is handled, and the join is not sent twice', async () => {
        const { fake, rec } = early();
        fake.open();
        fake.receive(welcome);
        const h = client(rec);
        h.c.start();
        await tick();
        expect(h.welcomes.map((w) => w.id)).toEqual(['Ab3dEf7h']);
        expect(h.c.state).toBe('joined');
        expect(fake.sent).toEqual(['{"type":"join"}']);
        // then it is the client's socket like any other
        expect(h.c.send({ type: 'offer', to: 'Zz9yXw8v', sdp: 'x' })).toBe(true);
        fake.receive({ type: 'peer-left', id: 'Zz9yXw8v' });
        expect(fake.sent.length).toBe(2);
    });

    it('adopted before it opened: opens, joins once, then works', async () => {
        const { fake, rec } = early();
        const h = client(rec);
        h.c.start();
        await tick();
        fake.open();
        fake.receive(welcome);
        expect(fake.sent).toEqual(['{"type":"join"}']);
        expect(h.c.state).toBe('joined');
    });

    it('a refusal that came before room.js ran keeps its close code', async () => {
        const { fake, rec } = early();
        fake.open();
        fake.drop(4409);
        const h = client(rec);
        h.c.start();
        await tick();
        expect(h.ended).toEqual(['room-full']);
    });

    it('early.ts reads the resume secret under the key the client keeps it', () => {
        const early = fs.readFileSync(new URL('../../web/src/early.ts', import.meta.url), 'utf8');
        const sig = fs.readFileSync(new URL('../../web/src/signaling.ts', import.meta.url), 'utf8');
        expect(early).toContain('`webcall:${token}:resume`');
        expect(sig).toContain('`webcall:${opt.room}:resume`');
    });

    it('early.ts reads a PIN room\'s pass under the key api.ts keeps it', () => {
        const early = fs.readFileSync(new URL('../../web/src/early.ts', import.meta.url), 'utf8');
        const api = fs.readFileSync(new URL('../../web/src/api.ts', import.meta.url), 'utf8');
        expect(early).toContain('`webcall:pass:${token}`');
        expect(api).toContain('`webcall:pass:${token}`');
    });
});
