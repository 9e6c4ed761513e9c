// Room page, first of all: opens the signaling WebSocket while room.js is
// still on its way. Loaded with `async`, so it runs as soon as it arrives,
// before the page's main script; room.ts then adopts the open socket
// (takeEarlySocket) and sends its join on it. A call's setup waits on this
// socket, and on a slow line its TCP and TLS handshakes cost several round
// trips; this way they overlap with loading the scripts. Imports nothing,
// so that it is one small file of its own.

const TOKEN_PATH = /^\/r\/([A-Za-z0-9_-]{1,128})\/?$/;

declare global {
    interface Window { webcallEarly?: { url: string; socket: WebSocket } }
}

const token = TOKEN_PATH.exec(location.pathname)?.[1];
if (token && typeof WebSocket === 'function' && !window.webcallEarly) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/${token}`;
    try {
        window.webcallEarly = { url, socket: new WebSocket(url) };
    } catch {
        // room.ts opens its own
    }
}

export {};
