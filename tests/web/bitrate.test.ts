import { describe, expect, it } from 'vitest';
import {
    CPU_FLOOR_KBPS, MAX_KBPS, MIN_KBPS, SAVE_KBPS, SHARE_FLOOR_KBPS, START_KBPS, classify, initialBitrate, limitsFor, nextBitrate,
    retarget, type BitrateState, type LinkSample,
} from '../../web/src/bitrate.ts';

const good = { loss: 0, rttMs: 40 };
const bad = { loss: 0.15, rttMs: 100 };
const slow = { loss: 0, rttMs: 900 };

function run(samples: LinkSample[], from = initialBitrate()): BitrateState {
    return samples.reduce(nextBitrate, from);
}

describe('bitrate policy', () => {
    it('starts video between 600 and 1000 kbps', () => {
        expect(START_KBPS).toBeGreaterThanOrEqual(600);
        expect(START_KBPS).toBeLessThanOrEqual(1000);
        expect(initialBitrate()).toMatchObject({ kbps: START_KBPS, paused: false });
    });

    it('lowers the rate on loss and on a long round trip', () => {
        expect(nextBitrate(initialBitrate(), bad).kbps).toBeLessThan(START_KBPS);
        expect(nextBitrate(initialBitrate(), slow).kbps).toBeLessThan(START_KBPS);
    });

    it('climbs back slowly on a good link, up to the ceiling', () => {
        const s = nextBitrate(initialBitrate(), good);
        expect(s.kbps).toBeGreaterThan(START_KBPS);
        expect(s.kbps).toBeLessThanOrEqual(START_KBPS * 1.1);
        expect(run(Array(40).fill(good)).kbps).toBe(MAX_KBPS);
    });

    it('holds on a fair link', () => {
        expect(nextBitrate(initialBitrate(), { loss: 0.05, rttMs: 100 }).kbps).toBe(START_KBPS);
    });

    it('pauses video when the link stays bad at the floor, never going below it', () => {
        let s = initialBitrate();
        const seen: number[] = [];
        for (let i = 0; i < 20 && !s.paused; i++) {
            s = nextBitrate(s, bad);
            seen.push(s.kbps);
        }
        expect(s.paused).toBe(true);
        expect(Math.min(...seen)).toBeGreaterThanOrEqual(MIN_KBPS);
    });

    it('pauses at once on very heavy loss', () => {
        expect(nextBitrate(initialBitrate(), { loss: 0.4, rttMs: 50 }).paused).toBe(true);
    });

    it('resumes only after several good samples, at a modest rate', () => {
        const paused: BitrateState = { kbps: MIN_KBPS, max: MAX_KBPS, paused: true, badStreak: 0, goodStreak: 0, cpuStreak: 0 };
        expect(run([good, good, good], paused).paused).toBe(true);
        expect(run([good, good, bad, good], paused).paused).toBe(true);
        const back = run([good, good, good, good], paused);
        expect(back.paused).toBe(false);
        expect(back.kbps).toBeLessThan(START_KBPS);
    });

    it('missing stats count as a good link', () => {
        expect(classify({ loss: null, rttMs: null })).toBe('good');
    });
});

describe('bitrate limits: a mesh shares the uplink; Save data; a busy CPU', () => {
    const cpu = { loss: 0, rttMs: 40, cpuLimited: true };

    it('a call of two keeps the usual start and ceiling', () => {
        expect(limitsFor(1)).toEqual({ start: START_KBPS, max: MAX_KBPS });
    });

    it('a mesh divides the uplink among the connections, never below a floor', () => {
        const two = limitsFor(2);
        const three = limitsFor(3);
        expect(two.start).toBeLessThan(START_KBPS);
        expect(three.start).toBeLessThan(two.start);
        expect(three.max).toBeLessThan(MAX_KBPS);
        // what we send to everyone at the start stays about one good stream
        expect(three.start * 3).toBeLessThanOrEqual(START_KBPS * 1.6);
        for (const n of [1, 2, 3, 10, 100]) {
            const l = limitsFor(n);
            expect(l.start).toBeGreaterThanOrEqual(SHARE_FLOOR_KBPS);
            expect(l.max).toBeGreaterThanOrEqual(l.start);
        }
        // a mesh connection climbs only to its share
        expect(run(Array(40).fill(good), initialBitrate(three)).kbps).toBe(three.max);
    });

    it('Save data caps every connection low', () => {
        for (const n of [1, 2, 3]) {
            const l = limitsFor(n, true);
            expect(l.max).toBeLessThanOrEqual(SAVE_KBPS);
            expect(run(Array(40).fill(good), initialBitrate(l)).kbps).toBeLessThanOrEqual(SAVE_KBPS);
        }
    });

    it('a new choice takes effect on a running connection', () => {
        const best = run(Array(10).fill(good));
        const saving = retarget(best, limitsFor(1, true));
        expect(saving.kbps).toBeLessThanOrEqual(SAVE_KBPS);
        const back = retarget(saving, limitsFor(1));
        expect(back.kbps).toBe(START_KBPS);
        expect(back.max).toBe(MAX_KBPS);
        // someone joined: the share shrinks
        expect(retarget(best, limitsFor(3)).kbps).toBe(limitsFor(3).max);
    });

    it('lowers the rate when the encoder is short of CPU, without pausing or climbing', () => {
        // one busy moment only holds the rate
        const once = nextBitrate(initialBitrate(), cpu);
        expect(once.kbps).toBe(START_KBPS);
        expect(nextBitrate(once, good).kbps).toBeGreaterThan(START_KBPS);
        // twice in a row: less, by a fifth each time, down to its floor
        const twice = run([cpu, cpu]);
        expect(twice.kbps).toBe(Math.round(START_KBPS * 4 / 5));
        const long = run(Array(30).fill(cpu));
        expect(long.paused).toBe(false);
        expect(long.kbps).toBe(CPU_FLOOR_KBPS);
        // never raised by it: Save data stays where it was
        expect(run(Array(5).fill(cpu), initialBitrate(limitsFor(1, true))).kbps).toBe(SAVE_KBPS);
        // the CPU recovers: the rate climbs again
        expect(nextBitrate(long, good).kbps).toBeGreaterThan(CPU_FLOOR_KBPS);
    });

    it('loss still wins over the CPU reason', () => {
        const s = nextBitrate(initialBitrate(), { ...bad, cpuLimited: true });
        expect(s.kbps).toBe(Math.round(START_KBPS * 2 / 3));
        expect(s.badStreak).toBe(1);
    });
});
