// When a peer connection that stopped carrying media gets an ICE restart,
// and when it is given up for a brand-new RTCPeerConnection: a pure rule,
// evaluated every second by each Peer (peers.ts), unit-tested without a
// browser (tests/web/recovery.test.ts).
//
// - Only the impolite side acts (isPolite in peers.ts), so the two ends of a
//   connection never restart at the same moment.
// - `silent` (peers.ts: ICE still says connected, but neither the other
//   side's heartbeats nor any byte arrived for SILENT_MS) counts as
//   `disconnected`: ICE itself takes about 7 s to notice a dead path.
// - `failed`: restart at once. `disconnected` (or a connection that never
//   came up): restart once it has lasted DISCONNECTED_MS (STUCK_MS).
// - Restarts are at least RETRY_MS apart; after MAX_RESTARTS that did not
//   bring the connection back, and only once it is `failed` (or bad for
//   REPLACE_AFTER_MS), a new RTCPeerConnection replaces it. A connection that
//   is merely `disconnected` during a network drop comes back by itself when
//   the network does, faster than any new one could be negotiated, so it is
//   kept as long as that is plausible.

export const DISCONNECTED_MS = 2500;
export const STUCK_MS = 10000;
export const RETRY_MS = 5000;
export const MAX_RESTARTS = 2;
export const REPLACE_AFTER_MS = 30000;
// A connection that has not come up this long after the first attempt to
// reach that person (or whose ICE failed before it ever came up) is shown
// as blocked: every setup on the networks we test takes under 3 s.
export const BLOCKED_MS = 15000;

export interface LinkFacts {
    now: number;
    polite: boolean;
    ice: RTCIceConnectionState;
    conn: RTCPeerConnectionState;
    everConnected: boolean;
    badSince: number | null;      // when it stopped being connected (null: it is)
    lastAction: number | null;    // the last restart or replacement
    restarts: number;             // restarts since it was last connected
    silent?: boolean;             // ICE says connected, but nothing arrives
}

export type RecoveryAction = 'none' | 'restart' | 'replace';

export const SILENT_MS = 2000;

export function isUp(ice: RTCIceConnectionState, conn: RTCPeerConnectionState, silent = false): boolean {
    return !silent && conn === 'connected' && (ice === 'connected' || ice === 'completed');
}

export function isFailed(ice: RTCIceConnectionState, conn: RTCPeerConnectionState): boolean {
    return ice === 'failed' || conn === 'failed';
}

// The answer to our own offer could not be applied (the description
// failed while we were in have-local-offer). Chromium, answered by Firefox
// after an ICE restart on a connection whose DTLS never finished, refuses
// every such answer ("Failed to set SSL role"): that connection can never
// be renegotiated again, so the impolite side replaces it at once instead
// of restarting into the same wall until REPLACE_AFTER_MS. A late or
// duplicate answer (InvalidStateError: we are no longer waiting for one)
// is harmless and changes nothing.
export function replaceAfterFailedAnswer(polite: boolean, state: RTCSignalingState,
                                         error: unknown): boolean {
    const name = (error as { name?: unknown } | null)?.name;
    return !polite && state === 'have-local-offer' && name !== 'InvalidStateError';
}

// How long a connection that is not up waits before anyone acts.
export function patience(f: Pick<LinkFacts, 'ice' | 'conn' | 'everConnected'>): number {
    if (isFailed(f.ice, f.conn)) return 0;
    if (!f.everConnected) return STUCK_MS;
    return DISCONNECTED_MS;
}

export function recoveryAction(f: LinkFacts): RecoveryAction {
    if (f.polite || f.conn === 'closed') return 'none';
    if (isUp(f.ice, f.conn, f.silent) || f.badSince === null) return 'none';
    const bad = f.now - f.badSince;
    if (bad < patience(f)) return 'none';
    if (f.lastAction !== null && f.now - f.lastAction < RETRY_MS) return 'none';
    if (f.restarts < MAX_RESTARTS) return 'restart';
    if (isFailed(f.ice, f.conn) || bad >= REPLACE_AFTER_MS) return 'replace';
    return 'restart';
}

// The link as the page shows it: a short `disconnected` is a weak link; one
// that lasts, a failure, or the other side's end of the connection closing
// (a reload, a closed tab) is a lost one ("Connection lost, trying to
// reconnect"), never "left": that only comes from the server after the
// grace period. A connection that never came up is never "lost" or
// "weak": it is connecting, or, once ICE failed or BLOCKED_MS passed since
// the first try (`since`, kept across new connections), blocked (the
// network lets no call through; the page keeps trying quietly).
export type LinkView = 'connecting' | 'connected' | 'weak' | 'failed' | 'blocked';

export function linkView(f: Pick<LinkFacts, 'now' | 'ice' | 'conn' | 'everConnected' | 'badSince' | 'silent'> &
                            { since?: number },
                         remoteClosed: boolean): LinkView {
    if (isUp(f.ice, f.conn, f.silent) && !remoteClosed) return 'connected';
    if (!f.everConnected) {
        const long = f.since !== undefined && f.now - f.since >= BLOCKED_MS;
        return isFailed(f.ice, f.conn) || long ? 'blocked' : 'connecting';
    }
    if (remoteClosed || isFailed(f.ice, f.conn)) return 'failed';
    if (f.badSince !== null && f.now - f.badSince >= DISCONNECTED_MS) return 'failed';
    return 'weak';
}
