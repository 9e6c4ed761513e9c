import { describe, expect, it } from 'vitest';
import { MAX_KBPS, MIN_KBPS, START_KBPS, classify, initialBitrate, nextBitrate, type BitrateState } from '../../web/src/bitrate.ts';

const good = { loss: 0, rttMs: 40 };
const bad = { loss: 0.15, rttMs: 100 };
const slow = { loss: 0, rttMs: 900 };

function run(samples: { loss: number | null; rttMs: number | null }[], from = initialBitrate()): BitrateState {
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
        const paused: BitrateState = { kbps: MIN_KBPS, paused: true, badStreak: 0, goodStreak: 0 };
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
