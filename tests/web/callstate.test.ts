import { describe, expect, it } from 'vitest';
import { initialState, linkNote, mediaNote, statusOf, type CallState, type RemoteState } from '../../web/src/callstate.ts';

function joined(): CallState {
    const s = initialState();
    s.signal = 'joined';
    s.everJoined = true;
    return s;
}

function withPeer(s: CallState, p: Partial<RemoteState> = {}): CallState {
    const r: RemoteState = { id: 'P', n: s.remotes.size + 1, link: 'connected', weak: false, mic: true,
                             cam: true, paused: false, noVideo: false, cannotCall: false, stream: null, ...p };
    s.remotes.set(r.id + r.n, r);
    return s;
}

describe('status sentence', () => {
    it('connecting before welcome', () => {
        expect(statusOf(initialState()).key).toBe('stConnecting');
    });

    it('waiting, with the link right there, when alone', () => {
        const st = statusOf(joined());
        expect(st).toMatchObject({ key: 'stWaiting', share: true });
    });

    it('the other person left', () => {
        const s = joined();
        s.someoneLeft = true;
        expect(statusOf(s)).toMatchObject({ key: 'stOtherLeft', share: true });
    });

    it('someone whose browser cannot call came and went: said, with the link to send again', () => {
        const s = joined();
        s.cannotCallCame = true;
        s.someoneLeft = true;
        expect(statusOf(s)).toMatchObject({ key: 'stTheyCannotCall', tone: 'bad', share: true });
    });

    it('the other person\'s browser never answered: it cannot call, not "Connecting…" for ever', () => {
        expect(statusOf(withPeer(joined(), { link: 'connecting', cannotCall: true })).key).toBe('stTheyCannotCall');
        expect(statusOf(withPeer(joined(), { link: 'blocked', cannotCall: true })).key).toBe('stTheyCannotCall');
        // someone else in the call is connected: the call goes on
        const s = withPeer(withPeer(joined()), { link: 'connecting', cannotCall: true });
        expect(statusOf(s).key).toBe('stConnected');
    });

    it('connecting to the other person, then connected, then weak', () => {
        expect(statusOf(withPeer(joined(), { link: 'connecting' })).key).toBe('stConnectingPeer');
        expect(statusOf(withPeer(joined())).key).toBe('stConnected');
        expect(statusOf(withPeer(joined(), { link: 'weak' })).key).toBe('stWeak');
        expect(statusOf(withPeer(joined(), { weak: true })).key).toBe('stWeak');
    });

    it('a call that cannot get through says why, not "lost"', () => {
        expect(statusOf(withPeer(joined(), { link: 'blocked' }))).toMatchObject({ key: 'stBlocked', tone: 'bad', final: false });
    });

    it('says when our video is paused for a weak link', () => {
        const s = withPeer(joined());
        s.videoPaused = true;
        expect(statusOf(s).key).toBe('stVideoPaused');
    });

    it('signaling down with no media: reconnecting; with media flowing: still connected', () => {
        const s = joined();
        s.signal = 'reconnecting';
        expect(statusOf(s).key).toBe('stReconnecting');
        withPeer(s);
        expect(statusOf(s).key).toBe('stConnected');
    });

    it.each([
        ['left', false, 'stCallEnded'],
        ['left', true, 'stOtherHungUp'],
        ['room-full', false, 'stRoomFull'],
        ['not-found', false, 'stInvalid'],
        ['replaced', false, 'stReplaced'],
        ['ended', false, 'stEndedByHost'],
        ['link-ended', false, 'stLinkEnded'],
        ['ended-here', false, 'stEndedHere'],
    ] as const)('ended (%s, by them %s) says %s', (end, byThem, key) => {
        const s = joined();
        s.end = end;
        s.endedByThem = byThem;
        expect(statusOf(s)).toMatchObject({ key, final: true });
    });
});

describe('a tile\'s connection note', () => {
    const tile = (p: Partial<RemoteState>): RemoteState => ({ id: 'P', n: 1, link: 'connected', weak: false,
        mic: true, cam: true, paused: false, noVideo: false, cannotCall: false, stream: null, ...p });

    it('says nothing for a good connection, or while connecting', () => {
        expect(linkNote(tile({}))).toBeNull();
        expect(linkNote(tile({ link: 'connecting' }))).toBeNull();
        expect(linkNote(tile({ link: 'connecting', weak: true }))).toBeNull();
    });

    it('names a weak connection, by its state or by its stats', () => {
        expect(linkNote(tile({ link: 'weak' }))).toBe('tileWeak');
        expect(linkNote(tile({ weak: true }))).toBe('tileWeak');
    });

    it('says a lost one is being brought back', () => {
        expect(linkNote(tile({ link: 'failed' }))).toBe('tileLost');
        expect(linkNote(tile({ link: 'failed', weak: true }))).toBe('tileLost');
    });
});

describe('camera and microphone notes', () => {
    it('nothing while the prompt may be up or when all is well', () => {
        const s = initialState();
        s.mediaProblem = 'denied';
        expect(mediaNote(s)).toBeNull();
        s.askingMedia = false;
        s.mediaProblem = null;
        expect(mediaNote(s)).toBeNull();
    });

    it('denied, and no camera with a microphone (an audio-only call)', () => {
        const s = initialState();
        s.askingMedia = false;
        s.mediaProblem = 'denied';
        expect(mediaNote(s)).toBe('medDenied');
        s.mediaProblem = 'missing';
        s.hasAudio = true;
        expect(mediaNote(s)).toBe('medNoCamera');
        s.hasAudio = false;
        expect(mediaNote(s)).toBe('medMissing');
    });
});
