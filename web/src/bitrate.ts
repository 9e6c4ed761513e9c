// Video bitrate policy: a pure function from one stats sample to a decision.
// Audio is never touched; video gives way first, down to a pause.

export const START_KBPS = 800;
export const MAX_KBPS = 1200;
export const MIN_KBPS = 150;
// In a mesh every connection sends its own copy of our video, so the
// uplink is shared: at the start, and for the ceiling it may climb to. A
// phone on mobile data sends about 1-2 Mbit/s; each copy keeps a floor, so
// that 4 people still see a picture rather than mush.
export const START_UPLINK_KBPS = 1200;
export const MAX_UPLINK_KBPS = 2400;
export const SHARE_FLOOR_KBPS = 250;
// "Save data": a small picture (about 360 lines) at a low rate, for
// mobile data plans.
export const SAVE_KBPS = 300;
// A busy CPU lowers the cap only down to here: the link is fine, and the
// browser already makes the picture smaller by itself.
export const CPU_FLOOR_KBPS = 300;

export interface LinkSample {
    // Fraction of our video packets the other side reports lost (0..1), or
    // null when the report is not there yet.
    loss: number | null;
    // Round-trip time in milliseconds, or null when unknown.
    rttMs: number | null;
    // Our encoder says it is held back by the CPU (outbound-rtp
    // qualityLimitationReason "cpu"): an old phone cannot encode this much.
    cpuLimited?: boolean;
}

export interface BitrateLimits {
    start: number;         // the cap a connection starts with
    max: number;           // the ceiling good samples may climb to
}

export interface BitrateState {
    kbps: number;          // current cap for the video encoder
    max: number;           // ceiling for this connection (limitsFor)
    paused: boolean;       // video sending paused because the link is bad
    badStreak: number;     // consecutive bad samples
    goodStreak: number;    // consecutive good samples
    cpuStreak: number;     // consecutive samples held back by the CPU
}

export type Quality = 'good' | 'fair' | 'bad';

// The limits of one connection when we send to `peers` people at once,
// with or without "Save data". A call of two gets START_KBPS and MAX_KBPS.
export function limitsFor(peers: number, saveData = false): BitrateLimits {
    const n = Math.max(1, Math.floor(peers));
    const start = Math.max(SHARE_FLOOR_KBPS, Math.min(START_KBPS, Math.round(START_UPLINK_KBPS / n)));
    const max = Math.max(start, Math.min(MAX_KBPS, Math.round(MAX_UPLINK_KBPS / n)));
    if (saveData) return { start: Math.min(SAVE_KBPS, start), max: Math.min(SAVE_KBPS, max) };
    return { start, max };
}

export function initialBitrate(limits: BitrateLimits = limitsFor(1)): BitrateState {
    return { kbps: limits.start, max: limits.max, paused: false, badStreak: 0, goodStreak: 0, cpuStreak: 0 };
}

// New limits for a running connection (someone joined or left, or the
// person chose another picture quality): never above the new ceiling, and
// raised to the new start when the ceiling went up (Save data to Best).
export function retarget(prev: BitrateState, limits: BitrateLimits): BitrateState {
    const kbps = limits.max > prev.max ? Math.max(prev.kbps, limits.start) : prev.kbps;
    return { ...prev, max: limits.max, kbps: Math.min(limits.max, kbps) };
}

export function classify(s: LinkSample): Quality {
    const loss = s.loss ?? 0;
    const rtt = s.rttMs ?? 0;
    if (loss >= 0.1 || rtt >= 700) return 'bad';
    if (loss >= 0.03 || rtt >= 350) return 'fair';
    return 'good';
}

// Samples arrive every couple of seconds. Bad: cut by a third at once.
// Fair: hold. Good: climb by a tenth. At the floor and still bad twice, or
// with very heavy loss, pause video; resume after several good samples in a
// row, at a modest rate, so a recovering link is not flooded again. An
// encoder short of CPU twice in a row (one busy moment is not an old phone)
// is a reason to ask for less, down to CPU_FLOOR_KBPS, and never to pause:
// the link itself is fine.
export function nextBitrate(prev: BitrateState, s: LinkSample): BitrateState {
    const q = classify(s);
    const badStreak = q === 'bad' ? prev.badStreak + 1 : 0;
    const goodStreak = q === 'good' ? prev.goodStreak + 1 : 0;
    const cpuStreak = s.cpuLimited === true ? prev.cpuStreak + 1 : 0;
    const next: BitrateState = { ...prev, badStreak, goodStreak, cpuStreak };
    const reset = { max: prev.max, badStreak: 0, goodStreak: 0, cpuStreak: 0 };

    if (prev.paused) {
        if (goodStreak >= 4) return { ...reset, kbps: Math.min(prev.max, MIN_KBPS * 2), paused: false };
        return next;
    }
    if (q === 'bad') {
        const heavy = (s.loss ?? 0) >= 0.3;
        const atFloor = prev.kbps <= MIN_KBPS;
        if (heavy || (atFloor && badStreak >= 2)) return { ...reset, kbps: MIN_KBPS, paused: true };
        next.kbps = Math.max(MIN_KBPS, Math.round(prev.kbps * 2 / 3));
        return next;
    }
    if (cpuStreak > 0) {
        // a fifth less each time from the second on, and no climbing while
        // it lasts
        if (cpuStreak >= 2) {
            next.kbps = Math.min(prev.kbps, Math.max(CPU_FLOOR_KBPS, Math.round(prev.kbps * 4 / 5)));
        }
        return next;
    }
    if (q === 'good') {
        next.kbps = Math.min(prev.max, Math.round(prev.kbps * 1.1));
    }
    return next;
}
