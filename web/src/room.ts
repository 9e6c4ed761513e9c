// Room page (/r/<token>): joins the call at once. This file is the
// controller: it owns the one CallState, turns events from signaling, the
// peer connections, the devices and the person into changes of it, and asks
// the view to draw it.
import { endRoom, forgetOwnerKey, forgetPass, getRoom, ownerKeyOf, passOf } from './api.js';
import { initialState, type CallState, type RemoteState } from './callstate.js';
import { browserFacts, cannotCallMessage, isCannotCall, missingPiece } from './capability.js';
import { peerConnectionWorks, showCannotCall } from './cannotcall.js';
import { localHref, localize, t } from './i18n.js';
import * as media from './media.js';
import { PeerManager, type PeerLink, type ServiceMessage } from './peers.js';
import { askPin } from './pinpad.js';
import { loadQuality, saveQuality, type QualityChoice } from './quality.js';
import { SpeakerWatch } from './speakerwatch.js';
import { RoomView } from './roomview.js';
import { setupPageShare } from './share.js';
import { AdoptedSocket, SignalingClient, type Relayed, type SocketLike, type StoreLike } from './signaling.js';
import { fill } from './texts.js';

localize('roomTitle');

const view = new RoomView();
const state: CallState = initialState();

// Every change of state goes through here, and the page follows.
function update(change: (s: CallState) => void): void {
    change(state);
    view.render(state);
}

// Tokens are base58; anything outside a URL-safe alphabet is not worth a
// connection (and must not be pasted into the WebSocket path).
const TOKEN_PATH = /^\/r\/([A-Za-z0-9_-]{1,128})\/?$/;
const token = TOKEN_PATH.exec(location.pathname)?.[1] ?? null;
const roomUrl = token ? `${location.origin}/r/${token}` : '';

const showLink = setupPageShare();
view.newLink.href = localHref('/');

// --- local media ---------------------------------------------------------

let audio: MediaStreamTrack | null = null;
let video: MediaStreamTrack | null = null;
let screen: MediaStreamTrack | null = null;
let facing: 'user' | 'environment' = 'user';

function sentVideo(): MediaStreamTrack | null {
    return screen ?? (state.cam && state.quality !== 'audio' ? video : null);
}

function publish(): void {
    peers.setLocal({ audio, video: sentVideo() });
    const shown = sentVideo();
    view.selfVideo.srcObject = shown ? new MediaStream([shown]) : null;
    view.selfTile.classList.toggle('mirror', !screen && facing === 'user');
    if (shown) void view.selfVideo.play().catch(() => undefined);
    sendState();
}

function adopt(kind: 'audio' | 'video', track: MediaStreamTrack | null): void {
    const old = kind === 'audio' ? audio : video;
    if (old && old !== track) old.stop();
    if (kind === 'audio') {
        audio = track;
        if (track) track.enabled = state.mic;
    } else {
        video = track;
    }
    if (track) {
        // A camera unplugged or taken by the system during the call.
        track.addEventListener('ended', () => {
            if ((kind === 'audio' ? audio : video) !== track) return;
            adopt(kind, null);
            update((s) => { s.mediaProblem = 'missing'; });
        });
    }
    update((s) => {
        s.hasAudio = audio !== null;
        s.hasVideo = video !== null;
    });
}

async function startMedia(): Promise<void> {
    update((s) => { s.askingMedia = true; s.mediaProblem = null; });
    // "Sound only" from the last call: the camera is not even opened.
    const got = await media.acquire(state.cam && state.quality !== 'audio');
    if (state.end) {
        got.audio?.stop();
        got.video?.stop();
        return;
    }
    adopt('audio', got.audio);
    adopt('video', got.video);
    update((s) => { s.askingMedia = false; s.mediaProblem = got.problem; });
    publish();
    void refreshDevices();
}

async function refreshDevices(): Promise<void> {
    const d = await media.listDevices();
    view.fillSelect(view.camSelect, d.cameras, video?.getSettings().deviceId ?? null, t.cameraSelect);
    view.fillSelect(view.micSelect, d.microphones, audio?.getSettings().deviceId ?? null, t.micSelect);
    // Front and back: phones report facingMode; two cameras are enough.
    view.flip.hidden = d.cameras.length < 2;
}

async function switchVideo(next: () => Promise<MediaStreamTrack>): Promise<void> {
    // Phones often cannot open two cameras at once: free the old one first.
    const old = video;
    old?.stop();
    // Picking a camera means wanting to be seen.
    update((s) => { s.cam = true; });
    try {
        adopt('video', await next());
    } catch {
        notice(t.deviceFailed);
        try {
            adopt('video', await media.newVideo(facing, null));
        } catch {
            adopt('video', null);
        }
    }
    // Picking a camera is wanting to be seen: that ends "Sound only".
    if (state.quality === 'audio' && video) {
        await setQuality('best');
        notice(t.soundOnlyOff);
    }
    publish();
    void refreshDevices();
}

async function switchAudio(deviceId: string): Promise<void> {
    try {
        const track = await media.newAudio(deviceId);
        adopt('audio', track);
        publish();
    } catch {
        notice(t.deviceFailed);
    }
}

function setMic(on: boolean): void {
    if (on && !audio) {
        // No microphone yet (blocked or missing): asking again is the only
        // way "on" can mean anything.
        void newMic();
        return;
    }
    if (audio) audio.enabled = on;
    update((s) => { s.mic = on; });
    sendState();
}

async function newMic(): Promise<void> {
    try {
        update((s) => { s.mic = true; });
        adopt('audio', await media.newAudio(null));
        update((s) => { s.mediaProblem = null; });
        publish();
    } catch (e) {
        update((s) => { s.mediaProblem = media.problemOf(e); });
    }
}

async function setCam(on: boolean): Promise<void> {
    if (on && state.quality === 'audio') {
        // Camera on is wanting to be seen: that ends "Sound only".
        update((s) => { s.cam = true; });
        await setQuality('best');
        notice(t.soundOnlyOff);
        return;
    }
    update((s) => { s.cam = on; });
    if (!on) {
        // Stop the camera itself, so its light goes off: "off" means off.
        adopt('video', null);
        publish();
        return;
    }
    if (!video) {
        try {
            adopt('video', await media.newVideo(facing, null));
        } catch (e) {
            update((s) => { s.mediaProblem = media.problemOf(e); s.cam = false; });
        }
    }
    publish();
}

// Best picture, Save data or Sound only (under More), remembered on this
// device. Sound only stops the camera (its light goes out) and asks the
// others, in our state message, to send us no video either.
async function setQuality(q: QualityChoice): Promise<void> {
    if (q === state.quality) return;
    const was = state.quality;
    saveQuality(q);
    peers.setQuality(q);
    update((s) => { s.quality = q; });
    if (q === 'audio') {
        adopt('video', null);
    } else if (was === 'audio' && state.cam && !video) {
        try {
            adopt('video', await media.newVideo(facing, null));
        } catch (e) {
            update((s) => { s.mediaProblem = media.problemOf(e); s.cam = false; });
        }
    }
    publish();
}

async function toggleScreen(): Promise<void> {
    if (screen) {
        screen.stop();
        screen = null;
    } else {
        try {
            screen = await media.screenTrack();
            const mine = screen;
            mine.addEventListener('ended', () => {
                if (screen !== mine) return;
                screen = null;
                update((s) => { s.sharingScreen = false; });
                publish();
            });
        } catch {
            return;
        }
    }
    update((s) => { s.sharingScreen = screen !== null; });
    publish();
}

// --- peers -----------------------------------------------------------------

let arrivals = 0;

function remote(id: string): RemoteState {
    let r = state.remotes.get(id);
    if (!r) {
        r = { id, n: ++arrivals, link: 'connecting', weak: false, mic: true, cam: true, paused: false, noVideo: false,
              cannotCall: false, stream: null };
        state.remotes.set(id, r);
    }
    return r;
}

const peers = new PeerManager((m) => signal.send(m), {
    stream: (id, stream) => update(() => { remote(id).stream = stream; }),
    link: (id, link: PeerLink) => update((s) => {
        remote(id).link = link;
        if (link === 'connected') s.cannotCallCame = false;
    }),
    quality: (id, q) => {
        const r = state.remotes.get(id);
        if (r && r.weak !== (q === 'bad')) update(() => { r.weak = q === 'bad'; });
    },
    videoPaused: (_id, paused) => {
        // Paused towards anyone counts: say it, and tell the others.
        update((s) => { s.videoPaused = paused; });
        sendState();
    },
    channelOpen: () => sendState(),
    message: (id, m) => onService(id, m),
    renamed: (old, id) => update((s) => {
        const r = s.remotes.get(old);
        if (!r) return;
        s.remotes.delete(old);
        r.id = id;
        s.remotes.set(id, r);
    }),
}, (id) => update((s) => {
    if (s.remotes.delete(id) && s.remotes.size === 0) s.someoneLeft = true;
}), () => signal.freshIceServers());

// The ring on whoever speaks, and the large tile on a phone (speaker.ts).
const speakers = new SpeakerWatch(peers, () => state.mic && audio !== null, (sp) => update((s) => {
    s.speaker = sp.active;
    s.featured = sp.featured;
}));

// ?relay=1: every path through the TURN server (iceTransportPolicy
// 'relay'). A relay self-test for sysadmins: if the call works with it, TURN
// works for the people who need it.
if (new URLSearchParams(location.search).get('relay') === '1') peers.policy = 'relay';

function sendState(): void {
    peers.broadcast({ t: 'state', mic: state.mic && audio !== null, cam: sentVideo() !== null,
                      paused: state.videoPaused, noVideo: state.quality === 'audio' });
}

function onService(id: string, m: ServiceMessage): void {
    switch (m.t) {
        case 'state':
            update(() => {
                const r = remote(id);
                r.mic = m.mic;
                r.cam = m.cam;
                r.paused = m.paused;
                r.noVideo = m.noVideo;
            });
            peers.setNoVideo(id, m.noVideo);
            return;
        case 'bye':
            // The other person hung up: in a two-person call that ends the
            // call for us too; in a group, only their tile goes.
            if (state.remotes.size <= 1) {
                void hangUp(true);
            } else {
                peers.remove(id);
            }
            return;
        case 'chat':
            view.addChat(t.chatThem, m.text);
            notice(fill(t.chatNew, { text: m.text }));
            if (!state.moreOpen) update((s) => { s.unread++; });
            return;
    }
}

// --- a browser that cannot call -------------------------------------------------

// A browser that cannot call says so before it leaves (cannotcall.ts). One
// that joined without a word (an old page, cached) is known by its
// silence: a call's first offer or answer comes within a second or two.
const SILENT_PEER_MS = 15000;
const heard = new Set<string>();

function expectFrom(id: string): void {
    window.setTimeout(() => {
        const r = state.remotes.get(id);
        if (r && !heard.has(id) && (r.link === 'connecting' || r.link === 'blocked')) {
            update(() => { r.cannotCall = true; });
        }
    }, SILENT_PEER_MS);
}

function onRelayed(m: Relayed): void {
    if (isCannotCall(m)) {
        peers.remove(m.from);
        update((s) => { s.remotes.delete(m.from); });
        someoneCannotCall();
        return;
    }
    heard.add(m.from);
    const r = state.remotes.get(m.from);
    if (r?.cannotCall) update(() => { r.cannotCall = false; });
    withPeers(() => peers.relayed(m));
}

// Somebody's browser cannot make calls: alone, the page says so in its
// status; in a call, a notice.
function someoneCannotCall(): void {
    update((s) => { if (s.remotes.size === 0) s.cannotCallCame = true; });
    if (state.remotes.size > 0) notice(t.joinerCannotCall);
}

// Building a peer connection failed: if this browser cannot build one at
// all, tell the others, free the seat, and say so.
function withPeers(job: () => void): void {
    try {
        job();
    } catch (e) {
        if (peerConnectionWorks() || !token) throw e;
        const told = state.remotes.size;
        for (const id of state.remotes.keys()) signal.send(cannotCallMessage(id));
        signal.leave();
        stopEverything();
        showCannotCall('webrtc', token, roomUrl, wsUrl, told);
    }
}

// --- signaling ---------------------------------------------------------------

function sessionStore(): StoreLike | null {
    try {
        return window.sessionStorage;
    } catch {
        return null;  // storage disabled: no resume after a reload
    }
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/${token ?? ''}`;

// The socket early.ts opened (and joined on) for this room, once. If this
// script ran first (early.js arrived later), `false` tells early.ts not to
// open one at all: a second socket would join as a second participant.
function takeEarlySocket(url: string): SocketLike | null {
    const early = window.webcallEarly;
    window.webcallEarly = false;
    if (!early) return null;
    if (early.url === url) return new AdoptedSocket(early);
    early.socket.close();
    return null;
}

const signal = new SignalingClient({
    url: wsUrl,
    room: token ?? '',
    // Structurally the same; the interface is narrower for the tests' fakes.
    // The first one may be already open: early.ts opened it while this
    // script was loading.
    socket: (url) => takeEarlySocket(url) ?? new WebSocket(url) as unknown as SocketLike,
    store: sessionStore(),
    // a PIN room: the pass its PIN earned (pinpad.ts), or the creator's
    pass: () => (token ? passOf(token) : null),
    probe: async () => {
        const res = await getRoom(token ?? '');
        if (res.ok) return 'there';
        if (res.status === 410) return 'ended';
        return res.status === 404 || res.status === 400 ? 'gone' : 'unknown';
    },
    // a call that moved to another node of a fleet goes home when it can
    home: async () => {
        const res = await getRoom(token ?? '');
        return res.ok && typeof res.data.node === 'string' ? res.data.node : null;
    },
    alone: () => state.remotes.size === 0,
    events: {
        pinRequired: () => {
            if (!token) return;
            forgetPass(token);
            askPin(token, () => signal.rejoin());
        },
        state: (sig) => update((s) => { s.signal = sig; }),
        welcome: (w) => {
            const first = !state.everJoined;
            update((s) => {
                s.everJoined = true;
                s.maxParticipants = w.maxParticipants;
                for (const id of w.peers) remote(id);
            });
            for (const id of w.peers) expectFrom(id);
            // once per page, in plain words: a mesh of 3-4 needs bandwidth
            if (first && w.maxParticipants > 2) notice(t.groupWarning);
            withPeers(() => peers.welcome(w.id, w.iceServers, w.peers, w.resumed));
            void keepAwake();
        },
        peerJoined: (id, resumed) => {
            peers.joined(id, resumed);
            update((s) => { remote(id); s.someoneLeft = false; });
            expectFrom(id);
        },
        peerLeft: (id) => {
            peers.remove(id);
            // one who left before any connection to them was made
            update((s) => { if (s.remotes.delete(id) && s.remotes.size === 0) s.someoneLeft = true; });
        },
        relayed: (m) => onRelayed(m),
        cannotCall: () => someoneCannotCall(),
        ended: (reason) => {
            if (state.end) return;
            if ((reason === 'ended' || reason === 'link-ended') && token) forgetOwnerKey(token);
            stopEverything();
            update((s) => { s.end = reason; });
        },
    },
});

// --- ending ------------------------------------------------------------------

function stopEverything(): void {
    speakers.stop();
    peers.closeAll();
    for (const tr of [audio, video, screen]) tr?.stop();
    audio = video = screen = null;
    view.selfVideo.srcObject = null;
    void wake?.release().catch(() => undefined);
    wake = null;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
}

async function hangUp(byThem: boolean): Promise<void> {
    if (state.end) return;
    update((s) => { s.endedByThem = byThem; });
    if (!byThem) {
        peers.broadcast({ t: 'bye' });
        // Let the goodbye leave before the connections close.
        await new Promise((r) => setTimeout(r, 150));
    }
    signal.leave();
}

// The host ends the room for everyone: the server closes every connection
// (theirs say "The call was ended by its host") and the link is dead for
// good. Asked once more in the More panel before it happens.
async function endForEveryone(): Promise<void> {
    const key = token ? ownerKeyOf(token) : null;
    if (state.end || !key || !token) return;
    view.endYes.setAttribute('aria-disabled', 'true');
    const res = await endRoom(token, key);
    view.endYes.removeAttribute('aria-disabled');
    if (!res.ok) {
        notice(res.status === 0 ? t.errNetwork : t.endFailed);
        return;
    }
    forgetOwnerKey(token);
    update((s) => { s.end = 'ended-here'; s.confirmEnd = false; s.moreOpen = false; });
    stopEverything();
    view.newLink.focus();
}

// --- screen wake lock ----------------------------------------------------------

let wake: WakeLockSentinel | null = null;

async function keepAwake(): Promise<void> {
    if (state.end || wake || !('wakeLock' in navigator) || document.visibilityState !== 'visible') return;
    try {
        wake = await navigator.wakeLock.request('screen');
        wake.addEventListener('release', () => { wake = null; });
    } catch {
        // Refused (battery saver, no permission): the call goes on.
    }
}

// The lock is dropped whenever the tab is hidden; take it again on return.
document.addEventListener('visibilitychange', () => void keepAwake());
// A tab frozen in the background comes back with its videos paused, and
// without its signaling socket (Chromium drops it on the freeze and says
// so on the thaw): play them again, and join again now, not after the
// backoff (the seat is resumed; connections that work are kept).
document.addEventListener('resume', () => {
    view.resumeVideos();
    signal.reconnectNow();
    signal.retryNow();
});
document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') view.resumeVideos();
});
// The network is back (Wi-Fi rejoined, a tunnel left): reconnect now, not
// at the end of the backoff.
window.addEventListener('online', () => signal.retryNow());

// --- the person's actions ------------------------------------------------------

let noticeTimer = 0;
function notice(text: string): void {
    window.clearTimeout(noticeTimer);
    update((s) => { s.notice = text; });
    noticeTimer = window.setTimeout(() => update((s) => { s.notice = null; }), 8000);
}

function toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void document.documentElement.requestFullscreen().catch(() => undefined);
}

function wireControls(): void {
    view.mic.addEventListener('click', () => setMic(!(state.mic && audio !== null)));
    view.cam.addEventListener('click', () => void setCam(!state.cam || !video));
    view.hangup.addEventListener('click', () => void hangUp(false));
    view.linkBtn.addEventListener('click', () => update((s) => {
        s.linkOpen = !s.linkOpen;
        s.moreOpen = false;
    }));
    view.moreBtn.addEventListener('click', () => {
        update((s) => { s.moreOpen = !s.moreOpen; s.linkOpen = false; if (s.moreOpen) s.unread = 0; });
        if (state.moreOpen) view.moreTitle.focus();
    });
    view.endAll.addEventListener('click', () => {
        update((s) => { s.confirmEnd = true; });
        view.endNo.focus();
    });
    view.endNo.addEventListener('click', () => {
        update((s) => { s.confirmEnd = false; });
        view.endAll.focus();
    });
    view.endYes.addEventListener('click', () => void endForEveryone());
    view.moreClose.addEventListener('click', () => {
        update((s) => { s.moreOpen = false; });
        view.moreBtn.focus();
    });
    view.rejoin.addEventListener('click', () => location.reload());
    view.mediaRetry.addEventListener('click', () => void startMedia());
    view.unmute.addEventListener('click', () => {
        view.unmuteAll();
        update((s) => { s.soundBlocked = false; });
    });
    view.onSoundBlocked = () => update((s) => { s.soundBlocked = true; });
    view.camSelect.addEventListener('change', () => {
        const id = view.camSelect.value;
        void switchVideo(() => media.newVideo(null, id));
    });
    view.micSelect.addEventListener('change', () => void switchAudio(view.micSelect.value));
    view.quality.addEventListener('change', () => {
        const q = view.chosenQuality();
        if (q) void setQuality(q);
    });
    view.flip.addEventListener('click', () => {
        facing = facing === 'user' ? 'environment' : 'user';
        void switchVideo(() => media.newVideo(facing, null));
    });
    view.fullscreen.hidden = !document.fullscreenEnabled;
    view.fullscreen.addEventListener('click', toggleFullscreen);
    document.addEventListener('fullscreenchange', () => update((s) => {
        s.fullscreen = document.fullscreenElement !== null;
    }));
    view.screen.hidden = !media.canShareScreen();
    view.screen.addEventListener('click', () => void toggleScreen());
    view.chatForm.addEventListener('submit', (e) => {
        e.preventDefault();
        const text = view.chatInput.value.trim();
        if (!text) return;
        peers.broadcast({ t: 'chat', text });
        view.addChat(t.chatMe, text);
        view.chatInput.value = '';
    });
    document.addEventListener('keydown', onKey);
}

function onKey(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey || state.end) return;
    const target = e.target as HTMLElement | null;
    const typing = Boolean(target?.closest('input, textarea, select'));
    if (e.key === 'Escape') {
        // Browsers often leave fullscreen on Esc by themselves; where they
        // pass the key on, do it here. Otherwise Esc closes our panels.
        if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
        else if (state.moreOpen || state.linkOpen) update((s) => { s.moreOpen = false; s.linkOpen = false; });
        return;
    }
    if (typing) return;
    const k = e.key.toLowerCase();
    if (k === 'm' || k === 'ь') {
        setMic(!(state.mic && audio !== null));
        notice(state.mic ? t.micIsOn : t.micIsOff);
    } else if (k === 'v' || k === 'м') {
        void setCam(!state.cam || !video).then(() => notice(state.cam ? t.camIsOn : t.camIsOff));
    }
}

// --- start ---------------------------------------------------------------------

function main(): void {
    // A browser that cannot call says so at once, and takes no seat.
    const missing = token ? missingPiece(browserFacts()) : null;
    if (token && missing) {
        showCannotCall(missing, token, roomUrl, wsUrl);
        return;
    }
    wireControls();
    if (!token) {
        update((s) => { s.end = 'not-found'; });
        return;
    }
    showLink(roomUrl);
    const quality = loadQuality();
    peers.setQuality(quality);
    update((s) => { s.isHost = ownerKeyOf(token) !== null; s.quality = quality; });
    // Camera prompt and signaling at the same time: neither waits.
    signal.start();
    window.addEventListener('pagehide', () => signal.pageGone());
    void startMedia();
    speakers.start();
    navigator.mediaDevices?.addEventListener?.('devicechange', () => void refreshDevices());
    view.render(state);
}

main();
