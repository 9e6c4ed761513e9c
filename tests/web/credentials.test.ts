import { describe, expect, it } from 'vitest';
import { renewAt, turnExpiry } from '../../web/src/credentials.js';

describe('TURN credential expiry', () => {
    it('takes the earliest expiry of the TURN entries from their usernames', () => {
        expect(turnExpiry([
            { urls: ['stun:turn.example.org:3478'] },
            { urls: ['turn:turn.example.org:3478?transport=udp'], username: '1795329331:Ab3dEf7h', credential: 'x' },
            { urls: ['turns:turn.example.org:5349?transport=tcp'], username: '1795329000:Ab3dEf7h', credential: 'y' },
        ])).toBe(1795329000 * 1000);
    });

    it('has none without TURN entries or with usernames of another form', () => {
        expect(turnExpiry([])).toBeNull();
        expect(turnExpiry([{ urls: ['stun:x'] }])).toBeNull();
        expect(turnExpiry([{ urls: ['turn:x'], username: 'alice', credential: 'p' }])).toBeNull();
        expect(turnExpiry([{ urls: ['turn:x'], username: ':Ab3', credential: 'p' }])).toBeNull();
    });
});

describe('when to renew them', () => {
    const t0 = 1_800_000_000_000;
    it('5 minutes before a long credential expires', () => {
        expect(renewAt(t0, t0 + 3600_000)).toBe(t0 + 3300_000);
        expect(renewAt(t0, t0 + 86400_000)).toBe(t0 + 86100_000);
    });
    it('after three quarters of a short one', () => {
        expect(renewAt(t0, t0 + 60_000)).toBe(t0 + 45_000);
        expect(renewAt(t0, t0 + 600_000)).toBe(t0 + 450_000);
    });
    it('never sooner than 10 s after they came, even if already expired', () => {
        expect(renewAt(t0, t0 + 4_000)).toBe(t0 + 10_000);
        expect(renewAt(t0, t0 - 60_000)).toBe(t0 + 10_000);
    });
});
