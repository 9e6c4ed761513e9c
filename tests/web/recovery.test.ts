import { describe, expect, it } from 'vitest';
import {
    DISCONNECTED_MS, MAX_RESTARTS, REPLACE_AFTER_MS, RETRY_MS, STUCK_MS,
    BLOCKED_MS, linkView, recoveryAction, replaceAfterFailedAnswer, type LinkFacts,
} from '../../web/src/recovery.ts';
import { isPolite } from '../../web/src/peers.ts';

const T = 100000;
const facts = (over: Partial<LinkFacts> = {}): LinkFacts => ({
    now: T, polite: false, ice: 'disconnected', conn: 'disconnected', everConnected: true,
    badSince: T - DISCONNECTED_MS, lastAction: null, restarts: 0, ...over,
});

describe('when a connection is restarted or replaced', () => {
    it('a working connection is left alone', () => {
        expect(recoveryAction(facts({ ice: 'connected', conn: 'connected', badSince: null }))).toBe('none');
        expect(recoveryAction(facts({ ice: 'completed', conn: 'connected', badSince: null }))).toBe('none');
    });

    it('only the impolite side acts, so the two never restart at once', () => {
        for (const [a, b] of [['Ab3dEf7h', 'Pq2Rs3Tu'], ['zzzzzzzz', '11111111']]) {
            const acts = [a!, b!].map((self, i) =>
                recoveryAction(facts({ polite: isPolite(self, [a!, b!][1 - i]!) })));
            expect(acts.filter((x) => x !== 'none')).toHaveLength(1);
        }
    });

    it('disconnected: an ICE restart after a few seconds, not before', () => {
        expect(recoveryAction(facts({ badSince: T - DISCONNECTED_MS + 1 }))).toBe('none');
        expect(recoveryAction(facts({ badSince: T - DISCONNECTED_MS }))).toBe('restart');
    });

    it('failed: an ICE restart at once', () => {
        expect(recoveryAction(facts({ ice: 'failed', conn: 'failed', badSince: T }))).toBe('restart');
    });

    it('silent (ICE says connected, nothing arrives) counts as disconnected', () => {
        const f = facts({ ice: 'connected', conn: 'connected', silent: true });
        expect(recoveryAction(f)).toBe('restart');
        expect(recoveryAction({ ...f, silent: false })).toBe('none');
    });

    it('a connection that never came up waits longer before a restart', () => {
        expect(recoveryAction(facts({ everConnected: false, ice: 'checking', conn: 'connecting', badSince: T - DISCONNECTED_MS }))).toBe('none');
        expect(recoveryAction(facts({ everConnected: false, ice: 'checking', conn: 'connecting', badSince: T - STUCK_MS }))).toBe('restart');
    });

    it('restarts are spaced out', () => {
        expect(recoveryAction(facts({ lastAction: T - RETRY_MS + 1, restarts: 1 }))).toBe('none');
        expect(recoveryAction(facts({ lastAction: T - RETRY_MS, restarts: 1 }))).toBe('restart');
    });

    it('a new connection only after restarts failed', () => {
        const tried = { lastAction: T - RETRY_MS, restarts: MAX_RESTARTS };
        expect(recoveryAction(facts({ ...tried, ice: 'failed', conn: 'failed' }))).toBe('replace');
        expect(recoveryAction(facts({ ...tried, ice: 'failed', conn: 'failed', restarts: MAX_RESTARTS - 1 }))).toBe('restart');
        // merely disconnected (a network drop): keep it, it comes back by itself
        expect(recoveryAction(facts({ ...tried, badSince: T - 15000 }))).toBe('restart');
        expect(recoveryAction(facts({ ...tried, badSince: T - REPLACE_AFTER_MS }))).toBe('replace');
    });

    it('a closed connection is never touched', () => {
        expect(recoveryAction(facts({ conn: 'closed', ice: 'closed' }))).toBe('none');
    });
});

describe('an answer to our offer that cannot be applied', () => {
    const sslRole = Object.assign(new Error('Failed to set SSL role for the transport.'), { name: 'InvalidAccessError' });
    const operation = Object.assign(new Error('Session error code: ERROR_CONTENT.'), { name: 'OperationError' });
    const late = Object.assign(new Error('Called in wrong state: stable'), { name: 'InvalidStateError' });

    it('replaces the connection at once on the impolite side (Chromium refusing Firefox\'s answer after an ICE restart)', () => {
        expect(replaceAfterFailedAnswer(false, 'have-local-offer', sslRole)).toBe(true);
        expect(replaceAfterFailedAnswer(false, 'have-local-offer', operation)).toBe(true);
    });

    it('leaves it to the impolite side, which made the offer', () => {
        expect(replaceAfterFailedAnswer(true, 'have-local-offer', sslRole)).toBe(false);
    });

    it('ignores a late or duplicate answer (an offer sent again was answered twice)', () => {
        expect(replaceAfterFailedAnswer(false, 'stable', late)).toBe(false);
        expect(replaceAfterFailedAnswer(false, 'have-local-offer', late)).toBe(false);
        expect(replaceAfterFailedAnswer(false, 'stable', sslRole)).toBe(false);
    });
});

describe('what the page says about a link', () => {
    const v = (over: Partial<LinkFacts>, remoteClosed = false) => linkView(facts(over), remoteClosed);
    it('connected, weak for a moment, then lost', () => {
        expect(v({ ice: 'connected', conn: 'connected', badSince: null })).toBe('connected');
        expect(v({ badSince: T - 1000 })).toBe('weak');
        expect(v({ badSince: T - DISCONNECTED_MS })).toBe('failed');
        expect(v({ ice: 'failed', conn: 'failed', badSince: T })).toBe('failed');
    });
    it('the other side closing its end (a reload) is lost at once, never "left"', () => {
        expect(v({ ice: 'connected', conn: 'connected', badSince: null }, true)).toBe('failed');
    });
    it('a new connection is connecting, not lost', () => {
        expect(v({ everConnected: false, ice: 'checking', conn: 'connecting', badSince: T - 5000 })).toBe('connecting');
    });
    it('a call that never came up is blocked, never lost or weak: once ICE failed, or after BLOCKED_MS of trying', () => {
        const never = { everConnected: false, ice: 'checking' as const, conn: 'connecting' as const, badSince: T - 60000 };
        expect(linkView({ ...facts(never), since: T - (BLOCKED_MS - 1) }, false)).toBe('connecting');
        expect(linkView({ ...facts(never), since: T - BLOCKED_MS }, false)).toBe('blocked');
        expect(linkView({ ...facts({ ...never, ice: 'failed', conn: 'failed' }), since: T - 1000 }, false)).toBe('blocked');
        expect(linkView({ ...facts({ ...never, ice: 'disconnected' }), since: T - 1000 }, false)).toBe('connecting');
        // the other side reloading before anything came up is not "lost" either
        expect(linkView({ ...facts(never), since: T - 1000 }, true)).toBe('connecting');
    });
});
