import { describe, expect, it } from 'vitest';
import { BEACON_MS_MAX, pathOf, recoveryBeacon, setupBeacon } from '../../web/src/beacon.ts';

// Stats as Chromium reports them: a transport naming its selected pair.
function chromium(local: Record<string, unknown>, remoteType = 'host') {
    return [
        { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP2' },
        { id: 'CP1', type: 'candidate-pair', localCandidateId: 'L0', remoteCandidateId: 'R1', state: 'failed' },
        { id: 'CP2', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'succeeded', nominated: true },
        { id: 'L0', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' },
        { id: 'L1', type: 'local-candidate', ...local },
        { id: 'R1', type: 'remote-candidate', candidateType: remoteType, protocol: 'udp' },
    ];
}

describe('the path a beacon reports', () => {
    it('is direct over the selected pair\'s protocol', () => {
        expect(pathOf(chromium({ candidateType: 'srflx', protocol: 'udp' })))
            .toEqual({ path: 'direct', transport: 'udp' });
        expect(pathOf(chromium({ candidateType: 'host', protocol: 'tcp' })))
            .toEqual({ path: 'direct', transport: 'tcp' });
    });

    it('is relayed, over the way this side reaches its relay', () => {
        expect(pathOf(chromium({ candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' })))
            .toEqual({ path: 'relayed', transport: 'tls' });
        expect(pathOf(chromium({ candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' })))
            .toEqual({ path: 'relayed', transport: 'tcp' });
    });

    it('is relayed when only the other side uses the relay', () => {
        expect(pathOf(chromium({ candidateType: 'host', protocol: 'udp' }, 'relay')))
            .toEqual({ path: 'relayed', transport: 'udp' });
    });

    it('takes the selected pair when there is no transport report (Firefox)', () => {
        const stats = chromium({ candidateType: 'relay', protocol: 'udp', relayProtocol: 'udp' }).slice(1);
        stats[1] = { ...stats[1], selected: true };
        expect(pathOf(stats)).toEqual({ path: 'relayed', transport: 'udp' });
    });

    it('is unknown before a pair is selected', () => {
        expect(pathOf([{ id: 'T1', type: 'transport' }])).toBeNull();
        expect(pathOf([])).toBeNull();
    });
});

describe('beacons', () => {
    it('carry exactly the keys the server accepts', () => {
        expect(Object.keys(setupBeacon(1234.6, true, { path: 'direct', transport: 'udp' })).sort())
            .toEqual(['firstTry', 'ms', 'path', 'phase', 'transport', 'type']);
        expect(setupBeacon(1234.6, true, { path: 'direct', transport: 'udp' }).ms).toBe(1235);
        expect(Object.keys(recoveryBeacon(10, 1)).sort()).toEqual(['ms', 'phase', 'reconnects', 'type']);
    });

    it('stay within the server\'s limits', () => {
        expect(setupBeacon(BEACON_MS_MAX * 3, false, { path: 'relayed', transport: 'tls' }).ms).toBe(BEACON_MS_MAX);
        expect(setupBeacon(-5, false, { path: 'relayed', transport: 'tls' }).ms).toBe(0);
        expect(recoveryBeacon(100, 1000)).toMatchObject({ reconnects: 100 });
    });
});
