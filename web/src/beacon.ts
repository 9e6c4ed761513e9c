// Call-quality beacons: one small message per call phase, sent over the
// signaling socket and folded by the server into its metrics (histograms
// and counters, nothing kept per person). They carry only what the
// operator's two figures need: how long setup took and whether it worked
// at the first try, how a call recovered, and over which path.
//
// The exact keys are what the server accepts (docs/protocol.md); anything
// else makes it answer "bad-beacon".

export type Beacon =
    | { type: 'beacon'; phase: 'setup'; ms: number; firstTry: boolean;
        path: 'direct' | 'relayed'; transport: 'udp' | 'tcp' | 'tls' }
    | { type: 'beacon'; phase: 'recovery'; ms: number; reconnects: number };

// What the server takes at most (module/core/signal_msg.h).
export const BEACON_MS_MAX = 600000;
export const RECONNECTS_MAX = 100;
// A page sends no more than this (the server counts the same per seat).
export const BEACONS_PER_PAGE = 8;

export interface PathInfo {
    path: 'direct' | 'relayed';
    transport: 'udp' | 'tcp' | 'tls';
}

type Report = Record<string, unknown>;

// The selected candidate pair of a connection's stats: relayed when
// either end is a TURN relay; the transport is how this side reaches its
// relay (udp, tcp or tls), or the pair's own protocol when direct.
export function pathOf(reports: Iterable<Report>): PathInfo | null {
    const byId = new Map<string, Report>();
    for (const r of reports) if (typeof r['id'] === 'string') byId.set(r['id'], r);
    let pair: Report | undefined;
    for (const r of byId.values()) {
        if (r['type'] === 'transport' && typeof r['selectedCandidatePairId'] === 'string') {
            pair = byId.get(r['selectedCandidatePairId']);
            if (pair) break;
        }
    }
    if (!pair) {
        // Firefox has no transport report: its selected pair says so itself.
        for (const r of byId.values()) {
            if (r['type'] === 'candidate-pair' && r['state'] === 'succeeded' &&
                (r['selected'] === true || r['nominated'] === true)) {
                pair = r;
                break;
            }
        }
    }
    if (!pair) return null;
    const local = byId.get(String(pair['localCandidateId']));
    const remote = byId.get(String(pair['remoteCandidateId']));
    if (!local) return null;
    const localRelay = local['candidateType'] === 'relay';
    const relayed = localRelay || remote?.['candidateType'] === 'relay';
    return { path: relayed ? 'relayed' : 'direct', transport: transportOf(local, localRelay) };
}

function transportOf(local: Report, relay: boolean): PathInfo['transport'] {
    const p = String((relay ? local['relayProtocol'] : undefined) ?? local['protocol'] ?? 'udp').toLowerCase();
    return p === 'tcp' || p === 'tls' ? p : 'udp';
}

function clampMs(ms: number): number {
    return Math.min(BEACON_MS_MAX, Math.max(0, Math.round(ms)));
}

export function setupBeacon(ms: number, firstTry: boolean, p: PathInfo): Beacon {
    return { type: 'beacon', phase: 'setup', ms: clampMs(ms), firstTry, path: p.path, transport: p.transport };
}

export function recoveryBeacon(ms: number, reconnects: number): Beacon {
    return {
        type: 'beacon', phase: 'recovery', ms: clampMs(ms),
        reconnects: Math.min(RECONNECTS_MAX, Math.max(0, Math.round(reconnects))),
    };
}

// This page was reloaded by hand: whatever it sets up now is not a call
// that worked at the first try (the person reloaded because it did not,
// or the call dropped).
export function pageReloaded(): boolean {
    try {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return nav?.type === 'reload';
    } catch {
        return false;
    }
}
