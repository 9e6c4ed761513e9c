import { describe, expect, it } from 'vitest';
import {
    SignalingClient, retryDelay, type EndReason, type SignalOptions, type SignalState, type SocketLike, type Welcome,
} from '../../web/src/signaling.ts';

class FakeSocket implements SocketLike {
    readyState = 0;
    sent: string[] = [];
    closedWith: number | null = null;
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    constructor(readonly url: string) {}
    send(data: string) { this.sent.push(data); }
    close(code = 1000) { this.closedWith = code; this.readyState = 3; }
    // server side
    open() { this.readyState = 1; this.onopen?.({}); }
    receive(m: unknown) { this.onmessage?.({ data: typeof m === 'string' ? m : JSON.stringify(m) }); }
    drop(code: number) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
}

class MemoryStore {
    map = new Map<string, string>();
    getItem(k: string) { return this.map.get(k) ?? null; }
    setItem(k: string, v: string) { this.map.set(k, v); }
    removeItem(k: string) { this.map.delete(k); }
}

// A client on fake sockets and timers; `extra` adds options (home, alone).
function harness(store = new MemoryStore(), extra: Partial<SignalOptions> = {}) {
    const sockets: FakeSocket[] = [];
    const timers: { fn: () => void; ms: number; cancelled?: boolean }[] = [];
    const states: SignalState[] = [];
    const welcomes: Welcome[] = [];
    const ended: EndReason[] = [];
    const relayed: unknown[] = [];
    const joined: [string, boolean][] = [];
    const left: string[] = [];
    const client = new SignalingClient({
        url: 'ws://test/ws/ROOM', room: 'ROOM', store,
        socket: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; },
        setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
        clearTimer: (t) => { timers[(t as number) - 1]!.cancelled = true; },
        random: () => 0.5,
        events: {
            state: (s) => states.push(s),
            welcome: (w) => welcomes.push(w),
            ended: (r) => ended.push(r),
            relayed: (m) => relayed.push(m),
            peerJoined: (id, r) => joined.push([id, r]),
            peerLeft: (id) => left.push(id),
        },
        ...extra,
    });
    const last = () => sockets[sockets.length - 1]!;
    return { client, sockets, timers, states, welcomes, ended, relayed, joined, left, store, last };
}

const welcome = (id = 'Ab3dEf7h', peers: string[] = [], resume = '4kTq9XzLmNpR2sUvWxYz1a') =>
    ({ type: 'welcome', id, peers, resume, iceServers: [{ urls: 'stun:x' }], maxParticipants: 2 });

describe('signaling client', () => {
    it('joins on open and is joined after welcome', () => {
        const h = harness();
        h.client.start();
        expect(h.client.state).toBe('connecting');
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toEqual({ type: 'join' });
        h.last().receive(welcome('Ab3dEf7h', ['Pq2Rs3Tu']));
        expect(h.client.state).toBe('joined');
        expect(h.states).toEqual(['connecting', 'joined']);
        expect(h.welcomes[0]).toMatchObject({ id: 'Ab3dEf7h', peers: ['Pq2Rs3Tu'], maxParticipants: 2, resumed: false });
        expect(h.welcomes[0]!.iceServers).toEqual([{ urls: 'stun:x' }]);
    });

    it('keeps the resume secret and peer id per room in storage', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        expect(h.store.getItem('webcall:ROOM:resume')).toBe('4kTq9XzLmNpR2sUvWxYz1a');
        expect(h.store.getItem('webcall:ROOM:id')).toBe('Ab3dEf7h');
    });

    it('a reload joins with the stored resume secret and sees the same seat as resumed', () => {
        const store = new MemoryStore();
        store.setItem('webcall:ROOM:resume', '4kTq9XzLmNpR2sUvWxYz1a');
        store.setItem('webcall:ROOM:id', 'Ab3dEf7h');
        const h = harness(store);
        h.client.start();
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toEqual({ type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a' });
        h.last().receive(welcome());
        expect(h.welcomes[0]!.resumed).toBe(true);
    });

    it('reconnects with resume after a dropped connection, without ending the call', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.last().drop(1006);
        expect(h.client.state).toBe('reconnecting');
        expect(h.ended).toEqual([]);
        expect(h.timers).toHaveLength(1);
        h.timers[0]!.fn();
        expect(h.sockets).toHaveLength(2);
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toEqual({ type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a' });
        h.last().receive(welcome());
        expect(h.client.state).toBe('joined');
        expect(h.welcomes[1]!.resumed).toBe(true);
    });

    it('server going away (1001) is retried too', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.last().drop(1001);
        expect(h.client.state).toBe('reconnecting');
    });

    it.each([
        [4409, 'room-full'],
        [4404, 'not-found'],
        [4410, 'link-ended'],
        [4001, 'replaced'],
        [4400, 'rejected'],
        [4429, 'rejected'],
        [1009, 'rejected'],
    ] as const)('close %i ends with %s and never retries', (code, reason) => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().drop(code);
        expect(h.client.state).toBe('closed');
        expect(h.ended).toEqual([reason]);
        expect(h.timers).toHaveLength(0);
    });

    it('4410 after a welcome ends the call we were in as ended (by its host)', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.last().drop(4410);
        expect(h.ended).toEqual(['ended']);
        expect(h.store.map.size).toBe(0);
    });

    it('4410 on a rejoin after a drop, in the call we were in, is still ended by its host', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.last().drop(1006);
        h.timers[0]!.fn();
        h.last().open();
        h.last().drop(4410);
        expect(h.ended).toEqual(['ended']);
    });

    it('a PIN room without a pass waits for the PIN, then joins again with the pass', () => {
        let pass: string | null = null;
        let asked = 0;
        const sockets: FakeSocket[] = [];
        const timers: unknown[] = [];
        const ended: EndReason[] = [];
        const c = new SignalingClient({
            url: 'ws://test/ws/ROOM', room: 'ROOM', store: new MemoryStore(),
            socket: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; },
            setTimer: (fn) => { timers.push(fn); return timers.length; },
            clearTimer: () => undefined,
            pass: () => pass,
            events: { pinRequired: () => { asked++; }, ended: (r) => ended.push(r) },
        });
        c.start();
        sockets[0]!.open();
        expect(JSON.parse(sockets[0]!.sent[0]!)).toEqual({ type: 'join' });
        sockets[0]!.receive({ type: 'error', code: 'pin-required', message: 'this room asks for a PIN' });
        sockets[0]!.drop(4403);
        expect(asked).toBe(1);
        expect(timers).toHaveLength(0);
        expect(ended).toEqual([]);
        pass = 'Pass58Pass58Pass58Pass';
        c.rejoin();
        c.rejoin();
        expect(sockets).toHaveLength(2);
        sockets[1]!.open();
        expect(JSON.parse(sockets[1]!.sent[0]!)).toEqual({ type: 'join', pass: 'Pass58Pass58Pass58Pass' });
        sockets[1]!.receive(welcome());
        expect(c.state).toBe('joined');
        // a reconnect later carries both
        sockets[1]!.drop(1006);
        (timers[0] as () => void)();
        sockets[2]!.open();
        expect(JSON.parse(sockets[2]!.sent[0]!)).toEqual({ type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a', pass: 'Pass58Pass58Pass58Pass' });
    });

    it('4403 without anyone to ask for the PIN is a rejection', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().drop(4403);
        expect(h.ended).toEqual(['rejected']);
    });

    it('a refused join forgets the seat; a replaced one keeps it for its newer tab', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.last().drop(4001);
        expect(h.store.getItem('webcall:ROOM:resume')).not.toBeNull();
        const g = harness();
        g.client.start();
        g.last().open();
        g.last().receive(welcome());
        g.last().drop(4409);
        expect(g.store.getItem('webcall:ROOM:resume')).toBeNull();
    });

    it('adopts a socket that opened before it was handed over (early.ts): joins on it at once', () => {
        const sockets: FakeSocket[] = [];
        const client = new SignalingClient({
            url: 'ws://test/ws/ROOM', room: 'ROOM', store: new MemoryStore(),
            socket: (url) => { const s = new FakeSocket(url); s.readyState = 1; sockets.push(s); return s; },
            setTimer: () => 0, clearTimer: () => undefined, random: () => 0.5, events: {},
        });
        client.start();
        expect(sockets.length).toBe(1);
        expect(sockets[0]!.sent).toEqual(['{"type":"join"}']);
    });

    it('a socket that had already failed before it was handed over is retried like any dropped one', () => {
        const sockets: FakeSocket[] = [];
        const timers: (() => void)[] = [];
        const states: SignalState[] = [];
        const client = new SignalingClient({
            url: 'ws://test/ws/ROOM', room: 'ROOM', store: new MemoryStore(),
            socket: (url) => { const s = new FakeSocket(url); s.readyState = sockets.length === 0 ? 3 : 0; sockets.push(s); return s; },
            setTimer: (fn) => { timers.push(fn); return timers.length; }, clearTimer: () => undefined, random: () => 0.5,
            events: { state: (st) => states.push(st) },
        });
        client.start();
        expect(client.state).toBe('reconnecting');
        timers[0]!();
        expect(sockets.length).toBe(2);
        sockets[1]!.open();
        expect(sockets[1]!.sent).toEqual(['{"type":"join"}']);
    });

    it('never gives up: after 200 failed reconnects it still tries, every 8 s at most', () => {
        const h = harness();
        h.client.start();
        for (let i = 0; i < 200; i++) {
            h.last().drop(1006);
            expect(h.client.state).toBe('reconnecting');
            h.timers[h.timers.length - 1]!.fn();
        }
        expect(h.ended).toEqual([]);
        expect(h.sockets.length).toBe(201);
        expect(Math.max(...h.timers.map((t) => t.ms))).toBeLessThanOrEqual(8000);
        expect(h.timers[h.timers.length - 1]!.ms).toBe(6000);   // 8 s cap, jitter 0.5
        // and it rejoins with its seat when the server answers again
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toEqual({ type: 'join' });
    });

    it('retries at once when the browser says it is online again', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        for (let i = 0; i < 6; i++) {
            h.last().drop(1006);
            h.timers[h.timers.length - 1]!.fn();
        }
        h.last().drop(1006);
        const before = h.sockets.length;
        h.client.retryNow();
        expect(h.sockets.length).toBe(before + 1);
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toMatchObject({ type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a' });
        // the pending backoff timer is cancelled: no second socket
        expect(h.timers[h.timers.length - 1]!.cancelled).toBe(true);
        // and online while joined does nothing
        h.last().receive(welcome());
        h.client.retryNow();
        expect(h.sockets.length).toBe(before + 1);
    });

    it('leave sends bye, forgets the seat and ends', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.client.leave();
        expect(h.last().sent[1]).toBe('{"type":"bye"}');
        expect(h.ended).toEqual(['left']);
        expect(h.store.getItem('webcall:ROOM:resume')).toBeNull();
        expect(h.last().closedWith).toBe(1000);
    });

    it('routes peer events and relayed messages; ignores junk and unknown types', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.last().receive({ type: 'peer-joined', id: 'Vw4Xy5Za' });
        h.last().receive({ type: 'peer-joined', id: 'Vw4Xy5Za', resumed: true });
        h.last().receive({ from: 'Vw4Xy5Za', type: 'offer', to: 'Ab3dEf7h', sdp: 'v=0' });
        h.last().receive({ type: 'peer-left', id: 'Vw4Xy5Za' });
        h.last().receive('not json');
        h.last().receive({ type: 'something-new' });
        h.last().receive({ type: 'offer', sdp: 'no from' });
        expect(h.joined).toEqual([['Vw4Xy5Za', false], ['Vw4Xy5Za', true]]);
        expect(h.left).toEqual(['Vw4Xy5Za']);
        expect(h.relayed).toEqual([{ from: 'Vw4Xy5Za', type: 'offer', to: 'Ab3dEf7h', sdp: 'v=0' }]);
        expect(h.client.state).toBe('joined');
    });

    it('send works only while joined', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        expect(h.client.send({ type: 'offer', to: 'x', sdp: 'v=0' })).toBe(false);
        h.last().receive(welcome());
        expect(h.client.send({ type: 'offer', to: 'x', sdp: 'v=0' })).toBe(true);
        h.last().drop(1006);
        expect(h.client.send({ type: 'offer', to: 'x', sdp: 'v=0' })).toBe(false);
    });
});

describe('retry delay', () => {
    it('grows, is jittered and capped', () => {
        expect(retryDelay(0, () => 0)).toBe(250);
        expect(retryDelay(0, () => 1)).toBe(500);
        expect(retryDelay(3, () => 1)).toBe(4000);
        expect(retryDelay(20, () => 1)).toBe(8000);
        expect(retryDelay(20, () => 0)).toBe(4000);
    });
});

describe('a room that does not exist', () => {
    it('a handshake refused before open is probed, and a gone room ends as not-found', async () => {
        const sockets: FakeSocket[] = [];
        const ended: EndReason[] = [];
        const client = new SignalingClient({
            url: 'ws://x', room: 'R', store: null,
            socket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; },
            setTimer: () => 0, clearTimer: () => undefined,
            probe: async () => 'gone',
            events: { ended: (r) => ended.push(r) },
        });
        client.start();
        sockets[0]!.drop(1006);
        await Promise.resolve();
        await Promise.resolve();
        expect(ended).toEqual(['not-found']);
        expect(client.state).toBe('closed');
    });

    it('a handshake refused because the host ended the room ends as link-ended', async () => {
        const sockets: FakeSocket[] = [];
        const ended: EndReason[] = [];
        const client = new SignalingClient({
            url: 'ws://x', room: 'R', store: null,
            socket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; },
            setTimer: () => 0, clearTimer: () => undefined,
            probe: async () => 'ended',
            events: { ended: (r) => ended.push(r) },
        });
        client.start();
        sockets[0]!.drop(1006);
        await Promise.resolve();
        await Promise.resolve();
        expect(ended).toEqual(['link-ended']);
        expect(client.state).toBe('closed');
    });

    it('a room that is there is retried', async () => {
        const sockets: FakeSocket[] = [];
        const timers: (() => void)[] = [];
        const client = new SignalingClient({
            url: 'ws://x', room: 'R', store: null,
            socket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; },
            setTimer: (fn) => { timers.push(fn); return 0; }, clearTimer: () => undefined,
            probe: async () => 'there',
            events: {},
        });
        client.start();
        sockets[0]!.drop(1006);
        await Promise.resolve();
        await Promise.resolve();
        expect(client.state).toBe('reconnecting');
        expect(timers).toHaveLength(1);
    });
});

describe('fresh TURN credentials', () => {
    it('asks with {"type":"ice-servers"} and resolves with the answer', async () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        const p = h.client.freshIceServers(1000);
        expect(JSON.parse(h.last().sent[h.last().sent.length - 1]!)).toEqual({ type: 'ice-servers' });
        h.last().receive({ type: 'ice-servers', iceServers: [{ urls: ['turn:x'], username: 'u', credential: 'c' }] });
        await expect(p).resolves.toEqual([{ urls: ['turn:x'], username: 'u', credential: 'c' }]);
    });

    it('resolves null when the socket is down or nobody answers in time', async () => {
        const h = harness();
        h.client.start();
        await expect(h.client.freshIceServers()).resolves.toBeNull();   // not joined yet
        h.last().open();
        h.last().receive(welcome());
        const p = h.client.freshIceServers(1000);
        const timer = h.timers[h.timers.length - 1]!;
        expect(timer.ms).toBe(1000);
        timer.fn();
        await expect(p).resolves.toBeNull();
    });
});

describe('a fleet: seat tickets and going home', () => {
    const TICKET = 'T'.repeat(53);

    it('keeps the seat ticket of the welcome and sends it with the resume secret', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive({ ...welcome(), ticket: TICKET, node: 'NodeAaaa' });
        expect(h.store.getItem('webcall:ROOM:ticket')).toBe(TICKET);
        expect(h.welcomes[0]).toMatchObject({ node: 'NodeAaaa', moved: false });
        h.last().drop(1006);
        h.timers[h.timers.length - 1]!.fn();
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toEqual(
            { type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a', ticket: TICKET });
    });

    it('never sends a ticket without its resume secret, and forgets it on leaving', () => {
        const store = new MemoryStore();
        store.setItem('webcall:ROOM:ticket', TICKET);
        const h = harness(store);
        h.client.start();
        h.last().open();
        expect(JSON.parse(h.last().sent[0]!)).toEqual({ type: 'join' });
        h.last().receive({ ...welcome(), ticket: TICKET });
        h.client.leave();
        expect(store.getItem('webcall:ROOM:ticket')).toBeNull();
    });

    it('takes the fresh ticket that comes with fresh TURN credentials', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive({ ...welcome(), ticket: TICKET });
        h.last().receive({ type: 'ice-servers', iceServers: [], ticket: 'U'.repeat(53) });
        expect(h.store.getItem('webcall:ROOM:ticket')).toBe('U'.repeat(53));
    });

    function movedHarness(answers: (string | null)[], alone = () => false) {
        let asked = 0;
        const h = harness(new MemoryStore(), {
            home: async () => { asked++; return answers.shift() ?? null; },
            alone,
        });
        const pending = () => h.timers.filter((t) => !t.cancelled && t.ms >= 5000);
        return { ...h, pending, asked: () => asked };
    }

    it('on a node the room moved to, asks every few seconds and goes home when another node answers', async () => {
        const h = movedHarness(['NodeBbbb', 'NodeAaaa']);
        h.client.start();
        h.sockets[0]!.open();
        h.sockets[0]!.receive({ ...welcome(), ticket: TICKET, node: 'NodeBbbb', moved: true });
        expect(h.pending()).toHaveLength(1);
        expect(h.pending()[0]!.ms).toBeGreaterThanOrEqual(5000);
        h.pending()[0]!.fn();
        await Promise.resolve(); await Promise.resolve();
        expect(h.asked()).toBe(1);
        expect(h.sockets).toHaveLength(1);          // still home
        const second = h.timers[h.timers.length - 1]!;
        second.fn();
        await Promise.resolve(); await Promise.resolve();
        expect(h.asked()).toBe(2);
        // another node answers for the room: leave this connection without
        // bye (the seat stays) and join again at once, with resume and ticket
        expect(h.sockets).toHaveLength(2);
        expect(h.sockets[0]!.closedWith).toBe(4000);
        expect(h.sockets[0]!.sent).not.toContain('{"type":"bye"}');
        h.sockets[1]!.open();
        expect(JSON.parse(h.sockets[1]!.sent[0]!)).toEqual(
            { type: 'join', resume: '4kTq9XzLmNpR2sUvWxYz1a', ticket: TICKET });
        expect(h.ended).toEqual([]);
        // home again: no more asking
        h.sockets[1]!.receive({ ...welcome(), ticket: TICKET, node: 'NodeAaaa' });
        h.timers[h.timers.length - 1]!.fn();
        await Promise.resolve(); await Promise.resolve();
        expect(h.asked()).toBe(2);
        expect(h.sockets).toHaveLength(2);
    });

    it('does not ask where the room lives when it never moved and others are there', async () => {
        const h = movedHarness(['NodeBbbb']);
        h.client.start();
        h.sockets[0]!.open();
        h.sockets[0]!.receive({ ...welcome(), ticket: TICKET, node: 'NodeAaaa' });
        for (let i = 0; i < 3; i++) {
            h.timers[h.timers.length - 1]!.fn();
            await Promise.resolve();
        }
        expect(h.asked()).toBe(0);
        expect(h.sockets).toHaveLength(1);
    });

    it('asks while alone in the room, and joins the others on their node', async () => {
        const h = movedHarness(['NodeBbbb'], () => true);
        h.client.start();
        h.sockets[0]!.open();
        h.sockets[0]!.receive({ ...welcome(), ticket: TICKET, node: 'NodeAaaa' });
        h.timers[h.timers.length - 1]!.fn();
        await Promise.resolve(); await Promise.resolve();
        expect(h.asked()).toBe(1);
        expect(h.sockets).toHaveLength(2);
    });
});

describe('a page that goes away before its welcome', () => {
    it('says bye after its join, so the seat it was taking is freed at once', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.client.pageGone();
        expect(h.last().sent).toEqual(['{"type":"join"}', '{"type":"bye"}']);
    });

    it('says nothing once welcomed: the reload resumes that seat', () => {
        const h = harness();
        h.client.start();
        h.last().open();
        h.last().receive(welcome());
        h.client.pageGone();
        expect(h.last().sent).toEqual(['{"type":"join"}']);
    });

    it('nor before its socket is open', () => {
        const h = harness();
        h.client.start();
        h.client.pageGone();
        expect(h.last().sent).toEqual([]);
    });
});
