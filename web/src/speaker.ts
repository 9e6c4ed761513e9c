// Who is speaking: a pure rule from audio levels to one active speaker,
// with hysteresis and hold times so the ring on a tile never flickers.
//
// Levels are linear, 0..1 of full scale, like WebRTC's audioLevel. They are
// the RMS over each sampling window (levelOf: from the cumulative
// totalAudioEnergy and totalSamplesDuration of getStats), not one
// instantaneous reading: speech and a beep both come and go within a
// window, and an instantaneous reading jumps between silence and full
// scale from one sample to the next.

// Someone starts speaking after ON_MS at ON_LEVEL or more, and stops after
// OFF_MS below OFF_LEVEL. Two levels and two times: a voice near the
// threshold, the gap between two words, or a cough never turn the ring
// off and on again. Speech through a phone's automatic gain control sits
// around 0.05-0.2; a quiet room after noise suppression below 0.005.
export const ON_LEVEL = 0.03;
export const OFF_LEVEL = 0.015;
export const ON_MS = 300;
export const OFF_MS = 1000;
// A sample covers the window before it; a longer gap (a tab in the
// background) counts for no more than this.
const MAX_WINDOW_MS = 500;

// The key of our own microphone among the remote peer ids (base58 ids
// cannot contain "l", so it never collides with one).
export const SELF = 'self';

export interface Energy {
    energy: number;        // totalAudioEnergy (cumulative)
    duration: number;      // totalSamplesDuration in seconds (cumulative)
}

// The RMS level between two cumulative readings, or null when nothing
// was measured in between (no new audio samples, or a counter reset).
export function levelOf(prev: Energy | null, cur: Energy): number | null {
    if (!prev) return null;
    const d = cur.duration - prev.duration;
    const e = cur.energy - prev.energy;
    if (!(d > 0) || e < 0) return null;
    return Math.min(1, Math.sqrt(e / d));
}

interface Voice {
    speaking: boolean;
    since: number | null;  // when the level crossed towards the other state
    level: number;         // the last sample, to pick among several speakers
    at: number;            // when that sample was taken
}

export interface SpeakerState {
    voices: Map<string, Voice>;
    // The one person shown as speaking (SELF for us), or null.
    active: string | null;
    // The remote person who spoke last: on a phone their tile stays the
    // large one until someone else speaks, even in a silence.
    featured: string | null;
}

export function initialSpeakers(): SpeakerState {
    return { voices: new Map(), active: null, featured: null };
}

// One round of samples at time `now`: a level for every participant whose
// audio we read (null or missing: nothing measured, silence). People not
// in `levels` are forgotten (they left).
export function nextSpeakers(prev: SpeakerState, now: number,
                             levels: ReadonlyMap<string, number | null>): SpeakerState {
    const voices = new Map<string, Voice>();
    for (const [id, raw] of levels) {
        const level = raw ?? 0;
        const old = prev.voices.get(id);
        // a newcomer's first sample counts no time: one loud reading alone
        // never turns the ring on
        const window = old ? Math.min(MAX_WINDOW_MS, now - old.at) : 0;
        const start = now - window;
        let speaking = old?.speaking ?? false;
        let since = old?.since ?? null;
        // Crossing towards the other state: counted from the start of the
        // window that crossed; falling back resets the count.
        const crossing = speaking ? level < OFF_LEVEL : level >= ON_LEVEL;
        if (!crossing) {
            since = null;
        } else {
            since ??= start;
            if (now - since >= (speaking ? OFF_MS : ON_MS)) {
                speaking = !speaking;
                since = null;
            }
        }
        voices.set(id, { speaking, since, level, at: now });
    }
    // One active speaker: whoever has it keeps it while still speaking, so
    // two people talking at once do not make the ring jump between them;
    // otherwise the loudest of those speaking.
    let active = prev.active !== null && voices.get(prev.active)?.speaking ? prev.active : null;
    if (active === null) {
        let best = -1;
        for (const [id, v] of voices) {
            if (v.speaking && v.level > best) {
                best = v.level;
                active = id;
            }
        }
    }
    let featured = prev.featured !== null && voices.has(prev.featured) ? prev.featured : null;
    if (active !== null && active !== SELF) {
        featured = active;
    } else if (featured === null || voices.get(featured)?.speaking !== true) {
        // We speak: the others' tiles stay as they were. But a remote who
        // speaks while we do may take the large tile.
        for (const [id, v] of voices) {
            if (id !== SELF && v.speaking) featured = id;
        }
    }
    return { voices, active, featured };
}
