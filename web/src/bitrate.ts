// Video bitrate policy: a pure function from one stats sample to a decision.
// Audio is never touched; video gives way first, down to a pause.

export const START_KBPS = 800;
export const MAX_KBPS = 1200;
export const MIN_KBPS = 150;

export interface LinkSample {
    // Fraction of our video packets the other side reports lost (0..1), or
    // null when the report is not there yet.
    loss: number | null;
    // Round-trip time in milliseconds, or null when unknown.
    rttMs: number | null;
}

export interface BitrateState {
    kbps: number;          // current cap for the video encoder
    paused: boolean;       // video sending paused because the link is bad
    badStreak: number;     // consecutive bad samples
    goodStreak: number;    // consecutive good samples
}

export type Quality = 'good' | 'fair' | 'bad';

export function initialBitrate(): BitrateState {
    return { kbps: START_KBPS, paused: false, badStreak: 0, goodStreak: 0 };
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
// row, at a modest rate, so a recovering link is not flooded again.
export function nextBitrate(prev: BitrateState, s: LinkSample): BitrateState {
    const q = classify(s);
    const badStreak = q === 'bad' ? prev.badStreak + 1 : 0;
    const goodStreak = q === 'good' ? prev.goodStreak + 1 : 0;
    const next: BitrateState = { ...prev, badStreak, goodStreak };

    if (prev.paused) {
        if (goodStreak >= 4) {
            return { kbps: MIN_KBPS * 2, paused: false, badStreak: 0, goodStreak: 0 };
        }
        return next;
    }
    if (q === 'bad') {
        const heavy = (s.loss ?? 0) >= 0.3;
        const atFloor = prev.kbps <= MIN_KBPS;
        if (heavy || (atFloor && badStreak >= 2)) {
            return { kbps: MIN_KBPS, paused: true, badStreak: 0, goodStreak: 0 };
        }
        next.kbps = Math.max(MIN_KBPS, Math.round(prev.kbps * 2 / 3));
        return next;
    }
    if (q === 'good') {
        next.kbps = Math.min(MAX_KBPS, Math.round(prev.kbps * 1.1));
    }
    return next;
}
