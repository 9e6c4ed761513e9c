// The picture quality a person chose under More: "Best picture", "Save
// data" or "Sound only". Remembered on the device, so the next call starts
// the same way (a grandmother on mobile data should not have to choose
// again every time).
import { limitsFor, type BitrateLimits } from './bitrate.js';

export type QualityChoice = 'best' | 'save' | 'audio';

export const QUALITY_KEY = 'webcall:quality';
// "Save data": about 360 lines, at most 15 frames a second.
export const SAVE_HEIGHT = 360;
export const SAVE_FPS = 15;

export function isQualityChoice(v: unknown): v is QualityChoice {
    return v === 'best' || v === 'save' || v === 'audio';
}

interface StoreLike {
    getItem(k: string): string | null;
    setItem(k: string, v: string): void;
    removeItem(k: string): void;
}

function store(): StoreLike | null {
    try {
        return window.localStorage;
    } catch {
        return null;   // storage disabled: the choice lasts for this page only
    }
}

export function loadQuality(s: StoreLike | null = store()): QualityChoice {
    try {
        const v = s?.getItem(QUALITY_KEY) ?? null;
        return isQualityChoice(v) ? v : 'best';
    } catch {
        return 'best';
    }
}

export function saveQuality(q: QualityChoice, s: StoreLike | null = store()): void {
    try {
        // the default is no entry at all
        if (q === 'best') s?.removeItem(QUALITY_KEY);
        else s?.setItem(QUALITY_KEY, q);
    } catch {
        // full or refused: the choice still holds for this call
    }
}

// The bitrate limits of one connection when we send to `peers` people.
export function qualityLimits(q: QualityChoice, peers: number): BitrateLimits {
    return limitsFor(peers, q === 'save');
}

// How much to scale a camera picture of `height` lines down to about
// SAVE_HEIGHT (1: not at all).
export function saveScale(height: number | undefined): number {
    return height && height > SAVE_HEIGHT ? height / SAVE_HEIGHT : 1;
}
