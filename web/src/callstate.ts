// The state of a call in one place, and the pure rule that turns it into the
// one sentence the status line shows.
import type { EndReason, SignalState } from './signaling.js';
import type { PeerLink } from './peers.js';
import type { MediaProblem } from './media.js';
import type { TextKey } from './texts.js';
import type { QualityChoice } from './quality.js';

export interface RemoteState {
    id: string;
    n: number;              // 1, 2, 3 in order of arrival, for labels
    link: PeerLink;
    weak: boolean;          // the stats say the link is bad
    mic: boolean;
    cam: boolean;
    paused: boolean;        // their video is paused by their policy
    noVideo: boolean;       // they chose "Sound only"
    cannotCall: boolean;    // their browser cannot call: it sent nothing
    stream: MediaStream | null;
}

export interface CallState {
    signal: SignalState;
    end: EndReason | null;
    endedByThem: boolean;
    everJoined: boolean;
    someoneLeft: boolean;     // a participant left and we are alone again
    cannotCallCame: boolean;  // someone whose browser cannot call came and went
    maxParticipants: number;
    remotes: Map<string, RemoteState>;
    mic: boolean;             // our microphone switched on
    cam: boolean;             // our camera switched on
    hasAudio: boolean;        // we have a microphone track
    hasVideo: boolean;        // we have a camera track
    askingMedia: boolean;     // the permission prompt may be up
    mediaProblem: MediaProblem | null;
    videoPaused: boolean;     // our video paused by the bitrate policy
    sharingScreen: boolean;
    quality: QualityChoice;   // Best picture, Save data or Sound only
    speaker: string | null;   // who has the speaking ring (speaker.ts SELF: us)
    featured: string | null;  // the remote with the large tile on a phone
    // The page around the call.
    linkOpen: boolean;        // the Link card is open during a call
    moreOpen: boolean;        // the settings sheet is open
    isHost: boolean;          // this browser created the link (owner key)
    confirmEnd: boolean;      // "End the call for everyone?" is asked
    unread: number;           // chat messages that came while More was shut
    soundBlocked: boolean;    // the browser refused to play sound on its own
    fullscreen: boolean;
    notice: string | null;    // a passing sentence (new message, device error)
}

export function initialState(): CallState {
    return {
        signal: 'idle',
        end: null,
        endedByThem: false,
        everJoined: false,
        someoneLeft: false,
        cannotCallCame: false,
        maxParticipants: 2,
        remotes: new Map(),
        mic: true,
        cam: true,
        hasAudio: false,
        hasVideo: false,
        askingMedia: true,
        mediaProblem: null,
        videoPaused: false,
        sharingScreen: false,
        quality: 'best',
        speaker: null,
        featured: null,
        linkOpen: false,
        moreOpen: false,
        isHost: false,
        confirmEnd: false,
        unread: 0,
        soundBlocked: false,
        fullscreen: false,
        notice: null,
    };
}

export type Tone = 'info' | 'good' | 'warn' | 'bad';

export interface Status {
    key: TextKey;
    tone: Tone;
    share: boolean;    // show the link, Copy and QR right under it
    final: boolean;    // the call is over; show the way out
}

const END: Record<EndReason, TextKey> = {
    'left': 'stCallEnded',
    'replaced': 'stReplaced',
    'room-full': 'stRoomFull',
    'not-found': 'stInvalid',
    'ended': 'stEndedByHost',
    'link-ended': 'stLinkEnded',
    'ended-here': 'stEndedHere',
    'rejected': 'stRejected',
};

export function statusOf(s: CallState): Status {
    if (s.end) {
        const key = s.end === 'left' && s.endedByThem ? 'stOtherHungUp' : END[s.end];
        const tone = s.end === 'left' || s.end === 'ended-here' ? 'info' : 'bad';
        return { key, tone, share: false, final: true };
    }
    const remotes = [...s.remotes.values()];
    const anyUp = remotes.some((r) => r.link === 'connected' || r.link === 'weak');
    if (!s.everJoined) return { key: 'stConnecting', tone: 'info', share: false, final: false };
    if (s.signal === 'reconnecting' && !anyUp) {
        return { key: 'stReconnecting', tone: 'warn', share: false, final: false };
    }
    if (remotes.length === 0) {
        // the link again, for the person to open in another browser
        if (s.cannotCallCame) return { key: 'stTheyCannotCall', tone: 'bad', share: true, final: false };
        return s.someoneLeft
            ? { key: 'stOtherLeft', tone: 'warn', share: true, final: false }
            : { key: 'stWaiting', tone: 'info', share: true, final: false };
    }
    if (remotes.some((r) => r.link === 'failed')) {
        return { key: 'stReconnecting', tone: 'warn', share: false, final: false };
    }
    if (!anyUp) {
        if (remotes.some((r) => r.cannotCall)) {
            return { key: 'stTheyCannotCall', tone: 'bad', share: false, final: false };
        }
        // Never up, and it should have been long ago: the network is in
        // the way. Said plainly, while the page keeps trying.
        return remotes.some((r) => r.link === 'blocked')
            ? { key: 'stBlocked', tone: 'bad', share: false, final: false }
            : { key: 'stConnectingPeer', tone: 'info', share: false, final: false };
    }
    if (remotes.some((r) => r.link === 'weak' || r.weak)) {
        return { key: 'stWeak', tone: 'warn', share: false, final: false };
    }
    if (s.videoPaused) return { key: 'stVideoPaused', tone: 'warn', share: false, final: false };
    return { key: 'stConnected', tone: 'good', share: false, final: false };
}

// Which sentence explains a camera or microphone problem, if any.
export function mediaNote(s: CallState): TextKey | null {
    if (s.askingMedia) return null;
    switch (s.mediaProblem) {
        case null: return null;
        case 'denied': return 'medDenied';
        case 'busy': return 'medBusy';
        case 'insecure': return 'medInsecure';
        case 'error': return 'medError';
        case 'missing':
            if (s.hasAudio && !s.hasVideo) return 'medNoCamera';
            if (!s.hasAudio && s.hasVideo) return 'medNoMic';
            return 'medMissing';
    }
}

// What one person's tile says about their connection, in words, so that in
// a group the weak link is known by name (the status line speaks for the
// whole call). null: nothing to say.
export function linkNote(r: RemoteState): TextKey | null {
    if (r.link === 'failed') return 'tileLost';
    if (r.link === 'weak' || (r.weak && r.link === 'connected')) return 'tileWeak';
    return null;
}
