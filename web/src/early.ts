// Room page, first of all: opens the signaling WebSocket and sends the join
// while room.js is still on its way. Loaded with `async`, so it runs as
// soon as it arrives, before the page's main script; room.ts then adopts
// the socket with everything that happened on it so far (AdoptedSocket in
// signaling.ts). A call's setup waits on this socket, and on a slow line
// its TCP and TLS handshakes and the join take several round trips; this
// way they overlap with loading and starting the scripts.
//
// Imports nothing, so that it stays one small file of its own; the
// storage key is the one signaling.ts keeps (tests/web/early.test.ts
// checks that they agree). A browser that cannot make a call at all never
// joins from here: room.ts explains (cannotcall.ts; capability.ts holds
// the same test as canCall), and takes no seat.

import type { EarlyEvent, EarlySocket } from './signaling.js';

const TOKEN_PATH = /^\/r\/([A-Za-z0-9_-]{1,128})\/?$/;

// undefined: room.ts has not run yet; false: it has, and opened its own.
declare global {
    interface Window { webcallEarly?: EarlySocket | false }
}

function resumeOf(token: string): string | null {
    try {
        return sessionStorage.getItem(`webcall:${token}:resume`);
    } catch {
        return null;    // storage refused (private mode): join as new
    }
}

// The seat ticket that goes with the resume secret: a node of a fleet that
// never saw this seat gives it back from the ticket (signaling.ts).
function ticketOf(token: string): string | null {
    try {
        return sessionStorage.getItem(`webcall:${token}:ticket`);
    } catch {
        return null;
    }
}

// A PIN room's pass (api.ts passItem): without it the join is refused
// with pin-required, which room.ts answers with the PIN screen.
function passOf(token: string): string | null {
    try {
        return localStorage.getItem(`webcall:pass:${token}`);
    } catch {
        return null;
    }
}

function canCall(): boolean {
    return window.isSecureContext && typeof RTCPeerConnection === 'function' &&
        typeof navigator.mediaDevices?.getUserMedia === 'function' && typeof WebSocket === 'function';
}

const token = TOKEN_PATH.exec(location.pathname)?.[1];
if (token && canCall() && window.webcallEarly === undefined) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/${token}`;
    try {
        const socket = new WebSocket(url);
        const events: EarlyEvent[] = [];
        const early: EarlySocket = { url, socket, events, adopted: false };
        socket.addEventListener('open', () => {
            const resume = resumeOf(token);
            const ticket = resume ? ticketOf(token) : null;
            const pass = passOf(token);
            socket.send(JSON.stringify({
                type: 'join', ...(resume ? { resume } : {}), ...(ticket ? { ticket } : {}),
                ...(pass ? { pass } : {}),
            }));
            if (!early.adopted) events.push({ type: 'open' });
        });
        socket.addEventListener('message', (e) => {
            if (!early.adopted) events.push({ type: 'message', data: e.data });
        });
        // Gone before room.js took the socket and before any welcome (a
        // quick reload): free the seat the join is taking, which nobody
        // could resume (signaling.ts, pageGone).
        window.addEventListener('pagehide', () => {
            const welcomed = events.some((ev) => ev.type === 'message' && String(ev.data).includes('"welcome"'));
            if (!early.adopted && !welcomed && socket.readyState === 1) socket.send('{"type":"bye"}');
        });
        socket.addEventListener('close', (e) => {
            if (!early.adopted) events.push({ type: 'close', code: e.code, reason: e.reason });
        });
        window.webcallEarly = early;
    } catch {
        // room.ts opens its own
    }
}
