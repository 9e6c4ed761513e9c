import { describe, expect, it } from 'vitest';
import {
    OFF_LEVEL, OFF_MS, ON_LEVEL, ON_MS, SELF, initialSpeakers, levelOf, nextSpeakers, type SpeakerState,
} from '../../web/src/speaker.ts';

const STEP = 250;           // the page samples every 250 ms
const LOUD = 0.3;
const QUIET = 0.001;

// Feeds rounds of levels, one every STEP ms after the last round of `from`;
// returns every state.
function feed(rounds: Record<string, number | null>[], from: SpeakerState = initialSpeakers()) {
    const states: SpeakerState[] = [];
    const t0 = Math.max(1000 - STEP, ...[...from.voices.values()].map((v) => v.at)) + STEP;
    let s = from;
    rounds.forEach((r, i) => {
        s = nextSpeakers(s, t0 + i * STEP, new Map(Object.entries(r)));
        states.push(s);
    });
    return states;
}

const times = (n: number, r: Record<string, number | null>) => Array.from({ length: n }, () => r);
const last = <T>(xs: T[]): T => xs[xs.length - 1] as T;

describe('audio level from cumulative energy', () => {
    it('is the RMS over the window', () => {
        expect(levelOf({ energy: 1, duration: 10 }, { energy: 1 + 0.25 * 0.04, duration: 10.25 })).toBeCloseTo(0.2);
        expect(levelOf(null, { energy: 1, duration: 1 })).toBeNull();
        // nothing new measured, or a counter that went back (a new receiver)
        expect(levelOf({ energy: 1, duration: 1 }, { energy: 1, duration: 1 })).toBeNull();
        expect(levelOf({ energy: 5, duration: 1 }, { energy: 1, duration: 2 })).toBeNull();
    });

    it('thresholds have a gap between on and off', () => {
        expect(OFF_LEVEL).toBeLessThan(ON_LEVEL);
        expect(ON_MS).toBeLessThan(OFF_MS);
    });
});

describe('active speaker', () => {
    it('turns on after about 300 ms of sound, not at the first loud sample', () => {
        const s = feed([{ a: QUIET }, { a: LOUD }, { a: LOUD }, { a: LOUD }]);
        expect(s[1]?.active).toBeNull();
        // the second loud sample closes 500 ms of sound (the window of each)
        expect(s[2]?.active).toBe('a');
        // a newcomer's very first reading, however loud, is not enough
        expect(feed([{ a: LOUD }])[0]?.active).toBeNull();
        expect(feed([{ a: LOUD }, { a: LOUD }])[1]?.active).toBeNull();
        expect(feed(times(3, { a: LOUD }))[2]?.active).toBe('a');
    });

    it('stays on through short pauses and turns off after about a second of quiet', () => {
        const on = last(feed(times(4, { a: LOUD })));
        expect(on.active).toBe('a');
        // pauses between words: 500 ms of quiet, then sound again
        const words = feed([{ a: QUIET }, { a: QUIET }, { a: LOUD }, { a: QUIET }, { a: QUIET }, { a: LOUD }], on);
        expect(words.every((x) => x.active === 'a')).toBe(true);
        const quiet = feed(times(8, { a: QUIET }), last(words));
        const offAt = quiet.findIndex((x) => x.active === null);
        // off once the quiet windows cover OFF_MS: the 4th sample (1000 ms)
        expect(offAt).toBe(3);
        expect(quiet.slice(offAt).every((x) => x.active === null)).toBe(true);
    });

    it('does not flicker on alternating samples, whatever the state', () => {
        const alternating = Array.from({ length: 40 }, (_, i) => ({ a: i % 2 ? LOUD : QUIET }));
        // from silence: a click every other sample never turns it on
        expect(feed(alternating).every((x) => x.active === null)).toBe(true);
        // while speaking: never turns it off
        const on = last(feed(times(4, { a: LOUD })));
        expect(feed(alternating, on).every((x) => x.active === 'a')).toBe(true);
        // a level between the two thresholds holds the current state
        const mid = (OFF_LEVEL + ON_LEVEL) / 2;
        expect(feed(times(20, { a: mid }), on).every((x) => x.active === 'a')).toBe(true);
        expect(feed(times(20, { a: mid })).every((x) => x.active === null)).toBe(true);
    });

    it('counts the ring once per change: a steady speaker gives one on and no more', () => {
        const rounds = [...times(3, { a: QUIET }), ...times(40, { a: LOUD }), ...times(10, { a: QUIET })];
        const s = feed(rounds);
        let changes = 0;
        for (let i = 1; i < s.length; i++) if (s[i]?.active !== s[i - 1]?.active) changes++;
        expect(changes).toBe(2);
    });

    it('chooses one speaker among several, and keeps them while they speak', () => {
        // b speaks first, then a joins in louder: b keeps the ring
        const s = feed([
            ...times(3, { a: QUIET, b: 0.1, c: QUIET }),
            ...times(10, { a: 0.5, b: 0.1, c: QUIET }),
        ]);
        expect(last(s).active).toBe('b');
        // b stops: the ring goes to a, after b's second of quiet
        const next = feed(times(6, { a: 0.5, b: QUIET, c: QUIET }), last(s));
        expect(next.map((x) => x.active)).toEqual(['b', 'b', 'b', 'a', 'a', 'a']);
        // two start together: the louder one
        expect(last(feed(times(4, { a: 0.05, b: 0.4, c: QUIET }))).active).toBe('b');
    });

    it('missing readings count as silence, and a person who left is forgotten', () => {
        const on = last(feed(times(4, { a: LOUD, b: QUIET })));
        expect(on.active).toBe('a');
        const gone = feed([{ b: QUIET }], on);
        expect(last(gone).active).toBeNull();
        expect(last(gone).featured).toBeNull();
        expect(last(feed(times(8, { a: null }), on)).active).toBeNull();
    });

    it('we can be the active speaker, but the large tile stays with the last remote speaker', () => {
        const them = last(feed(times(4, { [SELF]: QUIET, a: LOUD, b: QUIET })));
        expect(them.featured).toBe('a');
        const quiet = last(feed(times(8, { [SELF]: QUIET, a: QUIET, b: QUIET }), them));
        expect(quiet.active).toBeNull();
        expect(quiet.featured).toBe('a');       // no jump in a silence
        const us = last(feed(times(4, { [SELF]: LOUD, a: QUIET, b: QUIET }), quiet));
        expect(us.active).toBe(SELF);
        expect(us.featured).toBe('a');
        const b = last(feed(times(8, { [SELF]: QUIET, a: QUIET, b: LOUD }), us));
        expect(b.active).toBe('b');
        expect(b.featured).toBe('b');
    });
});
