// Whether this browser can make a call at all, which messenger's built-in
// browser it is, and how a browser that cannot call tells the people in the
// room: pure rules over plain facts, so that the unit tests can play any
// browser (tests/web/capability.test.ts). The screen itself is cannotcall.ts.

// What is missing, in the order it is told: on a plain-http address the
// browser hides the camera (and often more), so that comes first.
export type Missing = 'insecure' | 'webrtc' | 'media';

export interface BrowserFacts {
    secure: boolean;            // window.isSecureContext
    peerConnection: boolean;    // RTCPeerConnection is a constructor
    getUserMedia: boolean;      // navigator.mediaDevices.getUserMedia
    webSocket: boolean;         // the signaling socket
}

export function missingPiece(f: BrowserFacts): Missing | null {
    if (!f.secure) return 'insecure';
    if (!f.peerConnection || !f.webSocket) return 'webrtc';
    if (!f.getUserMedia) return 'media';
    return null;
}

export function browserFacts(): BrowserFacts {
    return {
        secure: window.isSecureContext,
        peerConnection: typeof window.RTCPeerConnection === 'function',
        getUserMedia: typeof navigator.mediaDevices?.getUserMedia === 'function',
        webSocket: typeof window.WebSocket === 'function',
    };
}

// A messenger's own browser, by its user agent: the app's name (null for a
// web view of an app we cannot name) and the system, whose menu differs.
export interface InApp {
    app: string | null;
    os: 'ios' | 'android' | 'other';
}

// Most specific first: Messenger's agent also says FBAN, Instagram's may say
// FB_IAB.
const APPS: readonly (readonly [RegExp, string])[] = [
    [/WhatsApp/i, 'WhatsApp'],
    [/Telegram/i, 'Telegram'],
    [/FBAN\/Messenger|FB_IAB\/MESSENGER|MessengerForiOS|MessengerLite|Orca-Android/i, 'Messenger'],
    [/Instagram/i, 'Instagram'],
    [/FBAN\/|FBAV\/|FB_IAB\/|FBIOS|FB4A/, 'Facebook'],
    [/Viber/i, 'Viber'],
    [/VKAndroidApp|com\.vkontakte|vkclient|com\.vk\.|VKontakte/i, 'VK'],
    [/OKApp|OdnoklassnikiApp|ru\.ok\.android/i, 'OK'],
    [/MicroMessenger/i, 'WeChat'],
    [/\bLine\/\d/, 'LINE'],
    [/Snapchat/i, 'Snapchat'],
    [/musical_ly|BytedanceWebview|TikTok/i, 'TikTok'],
];

export function inAppBrowser(ua: string): InApp | null {
    const ios = /iPhone|iPad|iPod/.test(ua);
    const os = ios ? 'ios' : /Android/.test(ua) ? 'android' : 'other';
    for (const [re, app] of APPS) {
        if (re.test(ua)) return { app, os };
    }
    // An app's web view we cannot name: Android marks it "wv"; on iOS every
    // real browser (Safari, Chrome, Firefox, Edge) says "Safari/", a web
    // view does not.
    if (os === 'android' && /; wv\)/.test(ua)) return { app: null, os };
    if (ios && /AppleWebKit/.test(ua) && !/Safari\//.test(ua)) return { app: null, os };
    return null;
}

// --- telling the room ----------------------------------------------------------

// The word a browser that cannot call sends to each person in the room: a
// null candidate (the end of candidates, which every client takes without
// harm) with one key more, relayed untouched by the server
// (docs/protocol.md). Older clients drop it: they have no connection it
// could belong to.
export const CANNOT_CALL_KEY = 'cannotCall';

export function cannotCallMessage(to: string): Record<string, unknown> {
    return { type: 'candidate', to, candidate: null, [CANNOT_CALL_KEY]: true };
}

export function isCannotCall(m: Record<string, unknown>): boolean {
    return m['type'] === 'candidate' && m['candidate'] === null && m[CANNOT_CALL_KEY] === true;
}

// What GET /api/rooms/<token> says of the room.
export interface RoomSeen {
    participants: number;
    maxParticipants: number;
    pin: boolean;
}

// Whether to knock now ({"type":"cannot-call"} instead of a join: the
// server tells everyone in the room and seats nobody): someone is there who
// has not been told (told: how many were there at the last knock, no more
// than are there now), and a PIN room would let us in.
export function shouldKnock(r: RoomSeen, told: number, hasPass: boolean): boolean {
    if (r.pin && !hasPass) return false;
    return r.participants > 0 && r.participants > told;
}
