import { describe, expect, it } from 'vitest';
import { isPolite, parseService, shouldIgnoreOffer } from '../../web/src/peers.ts';

const ids = ['Ab3dEf7h', 'Pq2Rs3Tu', 'Vw4Xy5Za', '11111111', 'zzzzzzzz'];

describe('negotiation roles', () => {
    it('exactly one side of every pair is polite', () => {
        for (const a of ids) {
            for (const b of ids) {
                if (a === b) continue;
                expect(isPolite(a, b)).not.toBe(isPolite(b, a));
            }
        }
    });

    it('in a collision of two offers exactly one side ignores the other', () => {
        for (const [a, b] of [['Ab3dEf7h', 'Pq2Rs3Tu'], ['zzzzzzzz', '11111111']]) {
            // Both just sent an offer: each is in have-local-offer, making one.
            const ignoreA = shouldIgnoreOffer(isPolite(a!, b!), true, 'have-local-offer');
            const ignoreB = shouldIgnoreOffer(isPolite(b!, a!), true, 'have-local-offer');
            expect(ignoreA !== ignoreB).toBe(true);
        }
    });

    it('without a collision nobody ignores an offer', () => {
        expect(shouldIgnoreOffer(false, false, 'stable')).toBe(false);
        expect(shouldIgnoreOffer(true, false, 'stable')).toBe(false);
    });

    it('the polite side always accepts, rolling back its own offer', () => {
        expect(shouldIgnoreOffer(true, true, 'have-local-offer')).toBe(false);
        expect(shouldIgnoreOffer(true, false, 'have-local-offer')).toBe(false);
    });
});

describe('service messages', () => {
    it('parses state, bye and chat, and nothing else', () => {
        // an older client's state has no noVideo: it means false
        expect(parseService('{"t":"state","mic":false,"cam":true,"paused":false}'))
            .toEqual({ t: 'state', mic: false, cam: true, paused: false, noVideo: false });
        expect(parseService('{"t":"state","mic":true,"cam":false,"paused":false,"noVideo":true}'))
            .toEqual({ t: 'state', mic: true, cam: false, paused: false, noVideo: true });
        expect(parseService('{"t":"state","mic":true,"cam":false,"paused":false,"noVideo":"yes"}'))
            .toMatchObject({ noVideo: false });
        expect(parseService('{"t":"bye"}')).toEqual({ t: 'bye' });
        expect(parseService('{"t":"chat","text":"hi"}')).toEqual({ t: 'chat', text: 'hi' });
        expect(parseService('{"t":"chat","text":5}')).toBeNull();
        expect(parseService('{"t":"other"}')).toBeNull();
        expect(parseService('nope')).toBeNull();
        expect(parseService(new ArrayBuffer(2))).toBeNull();
    });
});
