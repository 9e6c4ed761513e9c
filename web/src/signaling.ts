// Signaling client (docs/protocol.md): one WebSocket per room, a small state
// machine, no DOM. The WebSocket, storage and timers are injected so the
// unit tests drive it without a browser.

export type SignalState =
    | 'idle'          // not started
    | 'connecting'    // first connection, before welcome
    | 'joined'        // welcome received
    | 'reconnecting'  // lost after (or before) welcome; will retry with resume
    | 'closed';       // final: see the end reason

// Why the client stopped for good; each maps to one sentence in the UI.
export type EndReason =
    | 'left'          // we sent bye
    | 'replaced'      // 4001: this seat was taken by a newer tab
    | 'room-full'     // 4409
    | 'not-found'     // 4404: unknown or expired link
    | 'ended'         // 4410: the host ended the call for everyone
    | 'link-ended'    // the handshake was refused with 410: an ended link
    | 'ended-here'    // this page's host ended it (set by the page)
    | 'rejected';     // 4400, 1009, 4429: the server will not take us
// There is no "gave up": while the page is open it keeps trying, because
// media may flow without signaling, and a network that comes back after
// an hour should find the call waiting for it.

export interface Welcome {
    id: string;
    peers: string[];
    iceServers: RTCIceServer[];
    maxParticipants: number;
    resumed: boolean;   // same seat as before (id unchanged)
    node: string | null;    // which node of a fleet seated us
    moved: boolean;         // the room moved to this node from another
}

// A relayed offer, answer or candidate, as the other side sent it plus "from".
export interface Relayed {
    type: 'offer' | 'answer' | 'candidate';
    from: string;
    [key: string]: unknown;
}

export interface SignalEvents {
    state(s: SignalState): void;
    welcome(w: Welcome): void;
    peerJoined(id: string, resumed: boolean): void;
    peerLeft(id: string): void;
    relayed(m: Relayed): void;
    ended(reason: EndReason): void;
    // Fresh TURN credentials, the answer to {"type":"ice-servers"}.
    iceServers(servers: RTCIceServer[]): void;
    // Somebody opened the link in a browser that cannot make calls, and
    // told the room instead of joining ({"type":"cannot-call"}).
    cannotCall(): void;
    // 4403: a PIN room, and this join had no valid pass. The client waits
    // (no retries) until rejoin(); without this handler it is 'rejected'.
    pinRequired(): void;
}

// The subset of the browser's WebSocket the client uses.
export interface SocketLike {
    readonly readyState: number;
    onopen: ((ev: unknown) => void) | null;
    onmessage: ((ev: { data: unknown }) => void) | null;
    onclose: ((ev: { code: number; reason: string }) => void) | null;
    onerror: ((ev: unknown) => void) | null;
    send(data: string): void;
    close(code?: number, reason?: string): void;
}

// A socket early.ts opened, and joined on, before room.js ran: what it has
// seen so far, in order, until it is adopted.
export type EarlyEvent =
    | { type: 'open' }
    | { type: 'message'; data: unknown }
    | { type: 'close'; code: number; reason: string };

export interface EarlySocket {
    url: string;
    socket: {
        readonly readyState: number;
        send(data: string): void;
        close(code?: number, reason?: string): void;
        addEventListener(type: 'open', fn: () => void): void;
        addEventListener(type: 'message', fn: (ev: { data: unknown }) => void): void;
        addEventListener(type: 'close', fn: (ev: { code: number; reason: string }) => void): void;
    };
    events: EarlyEvent[];
    adopted: boolean;
}

// The early socket as the client's socket. Once the client has set its
// handlers, what happened before is replayed to them in order (in a
// microtask, so before any later event), then events pass through. The
// join early.ts sent on opening is the one the client's own open handler
// sends: that first join is not sent twice.
export class AdoptedSocket implements SocketLike {
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    private replayed = false;
    private joinSent = true;

    constructor(private readonly early: EarlySocket) {
        early.adopted = true;
        const s = early.socket;
        s.addEventListener('open', () => { if (this.replayed) this.onopen?.({}); });
        s.addEventListener('message', (e: { data: unknown }) => { if (this.replayed) this.onmessage?.({ data: e.data }); });
        s.addEventListener('close', (e: { code: number; reason: string }) => {
            if (this.replayed) this.onclose?.({ code: e.code, reason: e.reason });
        });
        queueMicrotask(() => {
            this.replayed = true;
            for (const ev of early.events.splice(0)) {
                if (ev.type === 'open') this.onopen?.({});
                else if (ev.type === 'message') this.onmessage?.({ data: ev.data });
                else this.onclose?.({ code: ev.code, reason: ev.reason });
            }
        });
    }

    // CONNECTING until the replay: the client then learns the state from
    // the events themselves, in order.
    get readyState(): number {
        return this.replayed ? this.early.socket.readyState : 0;
    }

    send(data: string): void {
        if (this.joinSent && data.startsWith('{"type":"join"')) {
            this.joinSent = false;
            return;
        }
        this.joinSent = false;
        this.early.socket.send(data);
    }

    close(code?: number, reason?: string): void {
        this.early.socket.close(code, reason);
    }
}

export interface StoreLike {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
}

export interface SignalOptions {
    url: string;
    room: string;
    socket: (url: string) => SocketLike;
    store: StoreLike | null;
    events: Partial<SignalEvents>;
    setTimer?: (fn: () => void, ms: number) => unknown;
    clearTimer?: (t: unknown) => void;
    random?: () => number;
    // Asked when a connection closes before it ever opened: the server
    // refuses the handshake itself (HTTP 404) for an unknown or expired
    // room, and a browser shows that only as close 1006.
    probe?: () => Promise<'gone' | 'ended' | 'there' | 'unknown'>;
    // A PIN room's pass, sent with every join (docs/protocol.md).
    pass?: () => string | null;
    // Which node answers for the room now (GET /api/rooms/<token>'s
    // "node"), or null when that is not known. Asked every few seconds
    // while the call is on a node it moved to, to go home when its own
    // node is back (docs/architecture.md, "A fleet of nodes").
    home?: () => Promise<string | null>;
    // Whether we are alone in the room: then the check runs too, so that
    // somebody who joined a room on the wrong node (its own was out for a
    // moment) finds the others there.
    alone?: () => boolean;
}

// How often a moved call asks where its room lives now, plus jitter.
export const HOME_CHECK_MS = 5000;

const OPEN = 1;

// Close codes after which retrying cannot help (docs/protocol.md).
const FINAL_CLOSE: Record<number, EndReason> = {
    4001: 'replaced',
    4404: 'not-found',
    4410: 'ended',
    4409: 'room-full',
    4400: 'rejected',
    1009: 'rejected',
    4429: 'rejected',
    4403: 'rejected',   // pin-required, when nobody can ask for the PIN
};
const PIN_REQUIRED = 4403;

// Exponential backoff with full jitter, capped at 8 s for as long as it
// takes; attempt counts from 0. Stays inside the server's 20 s grace for
// the first few tries.
export function retryDelay(attempt: number, random: () => number): number {
    const base = 500;
    const cap = 8000;
    const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 10));
    return Math.round(ceiling / 2 + random() * ceiling / 2);
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown): string[] {
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export class SignalingClient {
    state: SignalState = 'idle';
    id: string | null = null;
    private sock: SocketLike | null = null;
    private attempt = 0;
    private timer: unknown = null;
    private readonly opt: SignalOptions;
    private readonly keyId: string;
    private readonly keyResume: string;
    private readonly keyTicket: string;
    private node: string | null = null;
    private moved = false;
    private homeTimer: unknown = null;
    private iceWaiters: ((s: RTCIceServer[] | null) => void)[] = [];
    // A welcome came on this page: a 4410 then ends the call we were in;
    // before one, it refuses a newcomer at a link that just ended.
    private welcomed = false;

    constructor(opt: SignalOptions) {
        this.opt = opt;
        // Per room, so two rooms in two tabs never share a seat.
        this.keyId = `webcall:${opt.room}:id`;
        this.keyResume = `webcall:${opt.room}:resume`;
        this.keyTicket = `webcall:${opt.room}:ticket`;
        this.id = opt.store?.getItem(this.keyId) ?? null;
    }

    start(): void {
        if (this.state !== 'idle') return;
        this.setState('connecting');
        this.open();
    }

    // Sends an offer, answer or candidate; false when the socket is down
    // (perfect negotiation resends what matters after a reconnect).
    send(msg: Record<string, unknown>): boolean {
        if (this.state !== 'joined' || !this.sock || this.sock.readyState !== OPEN) return false;
        this.sock.send(JSON.stringify(msg));
        return true;
    }

    // Asks the server for fresh TURN credentials (before an ICE restart late
    // in a call, when those of the welcome may have expired). Resolves with
    // null when the socket is down or no answer came within timeoutMs: the
    // caller then restarts with what it has.
    freshIceServers(timeoutMs = 1500): Promise<RTCIceServer[] | null> {
        if (!this.send({ type: 'ice-servers' })) return Promise.resolve(null);
        return new Promise((resolve) => {
            let done = false;
            const finish = (s: RTCIceServer[] | null) => {
                if (done) return;
                done = true;
                this.iceWaiters = this.iceWaiters.filter((w) => w !== finish);
                resolve(s);
            };
            this.iceWaiters.push(finish);
            const set = this.opt.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
            set(() => finish(null), timeoutMs);
        });
    }

    // The browser says the network is back (`online`): try at once rather
    // than at the end of the backoff, which may be 8 s away.
    retryNow(): void {
        if (this.state !== 'reconnecting' || this.timer === null) return;
        (this.opt.clearTimer ?? ((t) => clearTimeout(t as number)))(this.timer);
        this.timer = null;
        this.open();
    }

    // Leaves this connection without leaving the seat, and joins again at
    // once (with resume and ticket): the front sends the new one to the
    // node that holds the room now. The old connection's seat waits out
    // its grace there and is freed; the others see us come back.
    reconnectNow(): void {
        if (this.state !== 'joined' || !this.sock) return;
        const old = this.sock;
        this.sock = null;
        old.onclose = null;
        old.onmessage = null;
        if (old.readyState <= OPEN) old.close(4000, 'moving');
        this.setState('reconnecting');
        this.open();
    }

    // After pinRequired, once the PIN screen got the pass: joins again.
    rejoin(): void {
        if (this.state === 'closed' || this.sock || this.timer !== null) return;
        this.open();
    }

    // The page goes away (a reload, a closed tab) before its welcome came:
    // the seat its join is taking could never be resumed (the page has no
    // secret for it), and would hold a room of two for the whole grace
    // period. bye after the join frees it at once. After a welcome nothing
    // is sent: the reload resumes that seat.
    pageGone(): void {
        if (this.welcomed || this.state !== 'connecting') return;
        if (this.sock && this.sock.readyState === OPEN) this.sock.send('{"type":"bye"}');
    }

    // Leaves for good: bye frees the seat at once.
    leave(): void {
        if (this.state === 'closed') return;
        if (this.sock && this.sock.readyState === OPEN) {
            this.sock.send('{"type":"bye"}');
        }
        this.forget();
        this.finish('left');
    }

    private open(): void {
        const sock = this.opt.socket(this.opt.url);
        this.sock = sock;
        let opened = false;
        const onOpen = () => {
            opened = true;
            const resume = this.opt.store?.getItem(this.keyResume);
            // the seat ticket goes with its resume secret, never alone
            const ticket = resume ? this.opt.store?.getItem(this.keyTicket) : null;
            const pass = this.opt.pass?.();
            sock.send(JSON.stringify({
                type: 'join', ...(resume ? { resume } : {}), ...(ticket ? { ticket } : {}),
                ...(pass ? { pass } : {}),
            }));
        };
        const onClose = (ev: { code: number }) => {
            if (this.sock !== sock) return;
            this.sock = null;
            if (!opened && this.opt.probe && !FINAL_CLOSE[ev.code]) {
                void this.opt.probe().then((r) => {
                    if (this.state === 'closed') return;
                    if (r === 'gone' || r === 'ended') {
                        this.forget();
                        this.finish(r === 'gone' ? 'not-found' : 'link-ended');
                    } else {
                        this.onClose(ev.code);
                    }
                }, () => this.onClose(ev.code));
                return;
            }
            this.onClose(ev.code);
        };
        sock.onopen = onOpen;
        sock.onmessage = (ev) => this.onMessage(ev.data);
        sock.onclose = onClose;
        // An error is always followed by close; act there.
        sock.onerror = () => undefined;
        // A socket opened before we took it (early.ts) may have opened, or
        // failed, already: its event is gone, so act on its state now.
        if (sock.readyState === OPEN) onOpen();
        else if (sock.readyState > OPEN) onClose({ code: 1006 });
    }

    private onMessage(data: unknown): void {
        if (typeof data !== 'string') return;
        let m: unknown;
        try {
            m = JSON.parse(data);
        } catch {
            return;
        }
        if (!isObject(m) || typeof m['type'] !== 'string') return;
        const ev = this.opt.events;
        switch (m['type']) {
            case 'welcome':
                this.onWelcome(m);
                return;
            case 'peer-joined':
                if (typeof m['id'] === 'string') ev.peerJoined?.(m['id'], m['resumed'] === true);
                return;
            case 'peer-left':
                if (typeof m['id'] === 'string') ev.peerLeft?.(m['id']);
                return;
            case 'offer':
            case 'answer':
            case 'candidate':
                if (typeof m['from'] === 'string') ev.relayed?.(m as Relayed);
                return;
            case 'cannot-call':
                ev.cannotCall?.();
                return;
            case 'ice-servers': {
                if (!Array.isArray(m['iceServers'])) return;
                const servers = m['iceServers'].filter(isObject) as unknown as RTCIceServer[];
                if (typeof m['ticket'] === 'string') this.opt.store?.setItem(this.keyTicket, m['ticket']);
                for (const w of [...this.iceWaiters]) w(servers);
                ev.iceServers?.(servers);
                return;
            }
        }
        // 'error' is followed by a close whose code says what to do;
        // unknown types are ignored as the protocol asks.
    }

    private onWelcome(m: Record<string, unknown>): void {
        if (typeof m['id'] !== 'string') return;
        const id = m['id'];
        const resumed = this.id === id;
        this.id = id;
        this.attempt = 0;
        this.welcomed = true;
        const store = this.opt.store;
        store?.setItem(this.keyId, id);
        if (typeof m['resume'] === 'string') store?.setItem(this.keyResume, m['resume']);
        if (typeof m['ticket'] === 'string') store?.setItem(this.keyTicket, m['ticket']);
        else store?.removeItem(this.keyTicket);
        const node = typeof m['node'] === 'string' ? m['node'] : null;
        const moved = m['moved'] === true;
        this.node = node;
        this.moved = moved;
        this.checkHome(node !== null);
        const max = typeof m['maxParticipants'] === 'number' ? m['maxParticipants'] : 2;
        const ice = Array.isArray(m['iceServers']) ? m['iceServers'].filter(isObject) : [];
        this.setState('joined');
        this.opt.events.welcome?.({
            id,
            peers: stringArray(m['peers']),
            iceServers: ice as unknown as RTCIceServer[],
            maxParticipants: max,
            resumed,
            node,
            moved,
        });
    }

    // While the room lives on a node it moved to (or we are alone in it),
    // asks every few seconds which node answers for it now; another one
    // means its own node is back.
    private checkHome(on: boolean): void {
        const clear = this.opt.clearTimer ?? ((t) => clearTimeout(t as number));
        if (this.homeTimer !== null) clear(this.homeTimer);
        this.homeTimer = null;
        if (!on || !this.opt.home) return;
        const set = this.opt.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
        const random = this.opt.random ?? Math.random;
        const tick = () => {
            this.homeTimer = set(() => {
                if (this.state !== 'joined' || !(this.moved || this.opt.alone?.())) {
                    tick();
                    return;
                }
                const here = this.node;
                void this.opt.home?.().then((now) => {
                    if (this.homeTimer === null) return;
                    if (now !== null && here !== null && now !== here && this.node === here) {
                        this.reconnectNow();
                    } else {
                        tick();
                    }
                }, () => { if (this.homeTimer !== null) tick(); });
            }, HOME_CHECK_MS + Math.round(random() * HOME_CHECK_MS / 2));
        };
        tick();
    }

    private onClose(code: number): void {
        if (this.state === 'closed') return;
        if (code === PIN_REQUIRED && this.opt.events.pinRequired) {
            this.opt.events.pinRequired();
            return;
        }
        let final = FINAL_CLOSE[code];
        // The handshake got through just before the room ended (a one-time
        // link whose call was over, a host ending it): the join is refused
        // with 4410. This page was never in that call, so it says what a
        // refused handshake (410) says.
        if (final === 'ended' && !this.welcomed) final = 'link-ended';
        if (final) {
            // A refused or replaced seat must not be resumed by a reload.
            if (final !== 'replaced') this.forget();
            this.finish(final);
            return;
        }
        if (code === 1000) {
            this.forget();
            this.finish('left');
            return;
        }
        // 1001 going away, 1006 dropped, anything else: retry with resume,
        // for as long as the page is open. Peer connections live on
        // meanwhile; only signaling is down.
        const delay = retryDelay(this.attempt++, this.opt.random ?? Math.random);
        this.setState('reconnecting');
        const set = this.opt.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
        this.timer = set(() => {
            this.timer = null;
            if (this.state === 'reconnecting') this.open();
        }, delay);
    }

    private forget(): void {
        this.opt.store?.removeItem(this.keyResume);
        this.opt.store?.removeItem(this.keyTicket);
        this.opt.store?.removeItem(this.keyId);
    }

    private finish(reason: EndReason): void {
        this.checkHome(false);
        if (this.timer !== null) {
            (this.opt.clearTimer ?? ((t) => clearTimeout(t as number)))(this.timer);
            this.timer = null;
        }
        const sock = this.sock;
        this.sock = null;
        if (sock && sock.readyState <= OPEN) sock.close(1000);
        this.setState('closed');
        this.opt.events.ended?.(reason);
    }

    private setState(s: SignalState): void {
        if (this.state === s) return;
        this.state = s;
        this.opt.events.state?.(s);
    }
}
