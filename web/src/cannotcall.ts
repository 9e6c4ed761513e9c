// The room page of a browser that cannot make a call (capability.ts says
// what is missing), in place of the call: why, in one sentence; the link
// with a big Copy; the way out of a messenger's own browser; and, on
// request, the camera's picture. It takes no seat. To tell the people
// waiting in the room, it knocks: {"type":"cannot-call"} instead of a join,
// which the server passes on to everyone in the room (docs/web-client.md,
// "A browser that cannot call").
import { getRoom, passOf } from './api.js';
import { inAppBrowser, shouldKnock, type Missing } from './capability.js';
import { setupCopy } from './copy.js';
import { byId } from './dom.js';
import { t } from './i18n.js';
import { videoConstraints } from './media.js';
import { fill, type TextKey } from './texts.js';

const SENTENCE: Record<Missing, TextKey> = {
    insecure: 'cantInsecure',
    webrtc: 'cantWebrtc',
    media: 'cantMedia',
};

const POLL_MS = 4000;            // how often the room is looked at
const KNOCK_TIMEOUT_MS = 10000;  // a knock the server does not close gives up

// Whether this browser can build a peer connection after all: asked when
// building one failed in the call, to tell a browser without WebRTC (or with
// it switched off) from any other error.
export function peerConnectionWorks(): boolean {
    try {
        new RTCPeerConnection().close();
        return true;
    } catch {
        return false;
    }
}

// told: how many in the room know already (the page told them as it left
// the call).
export function showCannotCall(missing: Missing, token: string, roomUrl: string, wsUrl: string, told = 0): void {
    const screen = byId('cannot', HTMLElement);
    if (!screen.hidden) return;
    byId('call', HTMLDivElement).hidden = true;
    byId('pin', HTMLElement).hidden = true;
    screen.hidden = false;
    byId('cannot-title', HTMLHeadingElement).textContent = t[SENTENCE[missing]];
    const field = byId('cannot-link', HTMLTextAreaElement);
    field.value = roomUrl;
    setupCopy(byId('cannot-copy', HTMLButtonElement), field, byId('cannot-copy-status', HTMLParagraphElement));

    // On a plain-http address another browser would not help.
    const inApp = missing === 'insecure' ? null : inAppBrowser(navigator.userAgent);
    if (inApp) {
        const app = byId('cannot-app', HTMLParagraphElement);
        app.hidden = false;
        app.textContent = inApp.app ? fill(t.cantInApp, { app: inApp.app }) : t.cantInAppUnknown;
        const steps = byId('cannot-steps', HTMLParagraphElement);
        const how = inApp.os === 'ios' ? t.cantStepsIos : inApp.os === 'android' ? t.cantStepsAndroid : '';
        steps.hidden = how === '';
        steps.textContent = how;
        byId('cannot-copy-how', HTMLParagraphElement).textContent = t.cantStepsCopy;
    }
    // An ordinary browser without WebRTC may still have a camera: seeing it
    // work tells the person that only the browser is wrong. Never in a
    // messenger's browser (its permission prompt would stand between the
    // person and the way out) and never unasked.
    if (missing === 'webrtc' && !inApp && typeof navigator.mediaDevices?.getUserMedia === 'function') {
        setupCameraCheck();
    }
    new Knocker(token, wsUrl, told).start();
}

function setupCameraCheck(): void {
    const button = byId('cannot-cam', HTMLButtonElement);
    const status = byId('cannot-cam-status', HTMLParagraphElement);
    const figure = byId('cannot-self', HTMLElement);
    const video = byId('cannot-video', HTMLVideoElement);
    let track: MediaStreamTrack | null = null;
    let busy = false;
    button.hidden = false;
    button.addEventListener('click', async () => {
        if (busy) return;
        if (track) {
            track.stop();
            track = null;
            video.srcObject = null;
            figure.hidden = true;
            button.textContent = t.cantCheckCam;
            status.textContent = '';
            return;
        }
        busy = true;
        try {
            const stream = await navigator.mediaDevices.getUserMedia({ video: videoConstraints('user', null) });
            track = stream.getVideoTracks()[0] ?? null;
            if (!track) throw new DOMException('no video track', 'NotFoundError');
            video.srcObject = stream;
            figure.hidden = false;
            figure.scrollIntoView({ block: 'nearest' });
            void video.play().catch(() => undefined);
            button.textContent = t.cantCamOff;
            status.textContent = t.cantCamWorks;
        } catch {
            status.textContent = t.cantCamFailed;
        } finally {
            busy = false;
        }
    });
}

// Looks at the room every few seconds while the page is in front, and
// knocks when someone is there who has not been told.
class Knocker {
    private timer = 0;
    private busy = false;
    private stopped = false;

    constructor(private readonly token: string, private readonly url: string, private told: number) {}

    start(): void {
        // In the background (the person went to Safari): nobody to talk to.
        document.addEventListener('visibilitychange', () => this.schedule(0));
        this.schedule(0);
    }

    private schedule(ms: number): void {
        window.clearTimeout(this.timer);
        if (this.stopped || document.visibilityState === 'hidden') return;
        this.timer = window.setTimeout(() => void this.look(), ms);
    }

    private async look(): Promise<void> {
        if (this.busy) return;
        this.busy = true;
        try {
            const res = await getRoom(this.token);
            if (!res.ok) {
                if (res.status === 404 || res.status === 400 || res.status === 410) this.gone(res.status);
                return;
            }
            const room = { participants: res.data.participants, maxParticipants: res.data.maxParticipants,
                           pin: res.data.pin === true };
            this.told = Math.min(this.told, room.participants);
            const pass = passOf(this.token);
            if (shouldKnock(room, this.told, pass !== null)) {
                // Once per arrival, told or not: a knock refused (the
                // room filled up meanwhile) is not tried again and again.
                this.told = room.participants;
                await knock(this.url, pass);
            }
        } finally {
            this.busy = false;
            this.schedule(POLL_MS);
        }
    }

    // The link itself is dead: another browser would not help either.
    private gone(status: number): void {
        this.stopped = true;
        byId('cannot-title', HTMLHeadingElement).textContent = status === 410 ? t.stLinkEnded : t.stInvalid;
        byId('cannot-how', HTMLDivElement).hidden = true;
    }
}

// Tells everyone in the room, without taking a seat: {"type":"cannot-call"}
// instead of a join (docs/protocol.md); the server passes it on and closes.
// Resolves once the server closed (or gave no answer in time).
function knock(url: string, pass: string | null): Promise<void> {
    return new Promise((resolve) => {
        let ws: WebSocket;
        try {
            ws = new WebSocket(url);
        } catch {
            resolve();
            return;
        }
        const timer = window.setTimeout(() => ws.close(), KNOCK_TIMEOUT_MS);
        ws.addEventListener('open', () => {
            ws.send(JSON.stringify({ type: 'cannot-call', ...(pass ? { pass } : {}) }));
        });
        ws.addEventListener('close', () => {
            window.clearTimeout(timer);
            resolve();
        });
    });
}
