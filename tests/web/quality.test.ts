import { describe, expect, it } from 'vitest';
import { MAX_KBPS, SAVE_KBPS } from '../../web/src/bitrate.ts';
import { QUALITY_KEY, loadQuality, qualityLimits, saveQuality, saveScale } from '../../web/src/quality.ts';

function memory() {
    const m = new Map<string, string>();
    return {
        m,
        getItem: (k: string) => m.get(k) ?? null,
        setItem: (k: string, v: string) => { m.set(k, v); },
        removeItem: (k: string) => { m.delete(k); },
    };
}

describe('quality choice', () => {
    it('is remembered on the device, Best picture by default', () => {
        const s = memory();
        expect(loadQuality(s)).toBe('best');
        saveQuality('audio', s);
        expect(s.m.get(QUALITY_KEY)).toBe('audio');
        expect(loadQuality(s)).toBe('audio');
        saveQuality('best', s);
        expect(s.m.has(QUALITY_KEY)).toBe(false);
        s.m.set(QUALITY_KEY, 'ultra');
        expect(loadQuality(s)).toBe('best');
        expect(loadQuality(null)).toBe('best');
    });

    it('survives a storage that refuses', () => {
        const broken = { getItem: () => { throw new Error('no'); }, setItem: () => { throw new Error('no'); },
                         removeItem: () => { throw new Error('no'); } };
        expect(loadQuality(broken)).toBe('best');
        expect(() => saveQuality('save', broken)).not.toThrow();
    });

    it('Save data means a low cap and a picture of about 360 lines', () => {
        expect(qualityLimits('save', 1).max).toBeLessThanOrEqual(SAVE_KBPS);
        expect(qualityLimits('best', 1).max).toBe(MAX_KBPS);
        expect(480 / saveScale(480)).toBeCloseTo(360);
        expect(saveScale(240)).toBe(1);
        expect(saveScale(undefined)).toBe(1);
    });
});
