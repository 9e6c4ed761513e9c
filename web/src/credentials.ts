// TURN credentials from the server expire (their username is
// "<expiry unix time>:<peer id>", the TURN REST API scheme). The relay
// keeps an allocation it granted, but every new one (a new connection, an
// ICE restart) needs a valid credential: a page that waited alone for an
// hour must not offer its first caller expired ones. These pure helpers say
// when to renew; peers.ts does it.

// The earliest expiry (ms since the epoch) among the TURN entries, or null
// when there is none (no TURN configured, or a username of another form).
export function turnExpiry(ice: RTCIceServer[]): number | null {
    let earliest: number | null = null;
    for (const s of ice) {
        const m = typeof s.username === 'string' ? /^(\d{9,12}):/.exec(s.username) : null;
        if (!m) continue;
        const ms = Number(m[1]) * 1000;
        if (earliest === null || ms < earliest) earliest = ms;
    }
    return earliest;
}

export const RENEW_BEFORE_MS = 5 * 60 * 1000;

// When to ask for new credentials, for ones received at receivedMs that
// expire at expiryMs: 5 minutes before they expire, or after three
// quarters of their life if that is later (short lifetimes), and never
// sooner than 10 s after they came.
export function renewAt(receivedMs: number, expiryMs: number): number {
    const life = Math.max(0, expiryMs - receivedMs);
    return receivedMs + Math.max(10000, life - RENEW_BEFORE_MS, Math.floor(life * 0.75));
}
