// Peer connection manager: one RTCPeerConnection per remote participant,
// perfect negotiation (polite and impolite roles), a negotiated DataChannel
// for service messages, and the video bitrate policy per connection.
//
// Every offer, answer and candidate carries "pc", a random id of the
// sender's RTCPeerConnection (the protocol relays extra keys untouched): an
// offer with a new id means the other side started afresh (a reload), so
// our old connection to it is replaced; a stale candidate is dropped.
import { initialBitrate, nextBitrate, classify, retarget, type BitrateLimits, type BitrateState, type Quality } from './bitrate.js';
import { SAVE_FPS, qualityLimits, saveScale, type QualityChoice } from './quality.js';
import type { Energy } from './speaker.js';
import { DISCONNECTED_MS, SILENT_MS, isUp, linkView, recoveryAction, replaceAfterFailedAnswer, type LinkView } from './recovery.js';
import { renewAt, turnExpiry } from './credentials.js';
import { BEACONS_PER_PAGE, pageReloaded, pathOf, recoveryBeacon, setupBeacon, type Beacon, type PathInfo } from './beacon.js';

export type PeerLink = LinkView;

export type ServiceMessage =
    // noVideo: the sender chose "Sound only" and asks not to be sent video
    // (older clients neither send nor read it: absent means false).
    | { t: 'state'; mic: boolean; cam: boolean; paused: boolean; noVideo: boolean }
    | { t: 'bye' }
    | { t: 'chat'; text: string };

export interface PeerEvents {
    stream(peer: string, stream: MediaStream): void;
    link(peer: string, link: PeerLink): void;
    message(peer: string, msg: ServiceMessage): void;
    channelOpen(peer: string): void;
    videoPaused(peer: string, paused: boolean): void;
    quality(peer: string, q: Quality): void;
    // A kept connection now belongs to a new peer id (after the server
    // forgot every seat).
    renamed(old: string, id: string): void;
}

export interface LocalTracks {
    audio: MediaStreamTrack | null;
    video: MediaStreamTrack | null;
}

// Deterministic roles: exactly one side of every pair is polite.
export function isPolite(self: string, other: string): boolean {
    return self < other;
}

// The core rule of perfect negotiation: the impolite side ignores an offer
// that collides with its own; the polite side rolls back and accepts it.
export function shouldIgnoreOffer(polite: boolean, makingOffer: boolean,
                                  signalingState: RTCSignalingState): boolean {
    const collision = makingOffer || signalingState !== 'stable';
    return !polite && collision;
}

export function parseService(data: unknown): ServiceMessage | null {
    if (typeof data !== 'string' || data.length > 8192) return null;
    let m: unknown;
    try { m = JSON.parse(data); } catch { return null; }
    if (typeof m !== 'object' || m === null) return null;
    const o = m as Record<string, unknown>;
    switch (o['t']) {
        case 'state':
            return { t: 'state', mic: o['mic'] === true, cam: o['cam'] === true, paused: o['paused'] === true,
                     noVideo: o['noVideo'] === true };
        case 'bye':
            return { t: 'bye' };
        case 'chat':
            return typeof o['text'] === 'string' ? { t: 'chat', text: o['text'].slice(0, 2000) } : null;
    }
    return null;
}

function randomId(): string {
    const b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

type Send = (msg: Record<string, unknown>) => boolean;

// What a Peer needs from its manager to recover on its own.
export interface PeerHooks {
    // Fresh TURN credentials from the server, or null (none in time).
    freshIce(): Promise<RTCIceServer[] | null>;
    // Give up this connection: a brand-new one takes its place.
    replace(p: Peer): void;
    // 'relay' forces every path through TURN (?relay=1, the relay self-test).
    policy: RTCIceTransportPolicy;
    // How a call phase went, for the operator's metrics (beacon.ts).
    beacon(b: Beacon): void;
    // The bitrate limits this connection starts with (its share of the
    // uplink, and the person's quality choice), and whether to send a
    // small picture ("Save data").
    limits: BitrateLimits;
    saveData: boolean;
}

// What the speaker detector reads of one connection: the other person's
// audio (their energy, or where a browser has no energy counters, the
// level of their last packet), and our own microphone's.
export interface AudioReading {
    inbound: Energy | null;
    inboundLevel: number | null;
    source: Energy | null;
}

function energyOf(r: Record<string, unknown>): Energy | null {
    const e = r['totalAudioEnergy'];
    const d = r['totalSamplesDuration'];
    return typeof e === 'number' && typeof d === 'number' ? { energy: e, duration: d } : null;
}

const TICK_MS = 1000;
const STATS_EVERY = 2;          // ticks between two stats samples
const RESEND_FIRST_MS = 3000;   // an offer unanswered this long is sent again
const RESEND_MAX_MS = 12000;
const QUIET_AFTER_OUTAGE_MS = 5000;
const ORPHAN_MS = 20000;        // a kept connection waits this long for its new id
const HELLO_MS = 1500;          // then a new offer to a peer that knew none
// Back on our seat, a peer the server does not list yet keeps its working
// connection this long: in a fleet, a room whose node died comes back on
// another node one caller at a time (each with its seat ticket).
const AWAY_MS = 20000;
// Sent on the service channel every second. ICE takes about 7 s to call a
// dead path "disconnected"; SILENT_MS without a heartbeat (from a peer that
// sends them) and without a byte on the transport says so sooner.
const HEARTBEAT = '{"t":"hb"}';
const GAP_MS = 2000;            // heartbeats resumed after this long: an outage

export class Peer {
    id: string;
    readonly pc: RTCPeerConnection;
    readonly pcId = randomId();
    remotePcId: string | null = null;
    readonly stream = new MediaStream();
    private polite: boolean;
    private readonly send: Send;
    private readonly ev: PeerEvents;
    private makingOffer = false;
    private ignoreOffer = false;
    private channel: RTCDataChannel | null = null;
    private bitrate: BitrateState = initialBitrate();
    private timer = 0;
    private ticks = 0;
    private offerSentAt = 0;
    private resendAfter = RESEND_FIRST_MS;
    private closed = false;
    private link: PeerLink = 'connecting';
    private readonly hooks: PeerHooks;
    private saveData: boolean;
    // The other person chose "Sound only": no video is sent to them, on
    // this connection only.
    private noVideo = false;
    // Recovery (recovery.ts): when the media stopped, what was tried.
    private everConnected = false;
    private badSince: number | null = Date.now();
    private lastAction: number | null = null;
    private restarts = 0;
    private quietUntil = 0;          // no bitrate decisions before this
    private heartbeats = false;      // the other side sends heartbeats
    private lastHeard = 0;           // the last message on the service channel
    private silent = false;          // heartbeats and bytes stopped: dead path
    private silentBytes = -1;        // transport bytes at the last silence check
    private restarting = false;
    private refreshed = false;       // fresh credentials taken in this outage
    private remoteClosed = false;    // the other end closed its side (reload)
    // Shown as a connection being recovered, not a new one, from the start:
    // this one replaces a connection that worked.
    wasConnected = false;
    // When we first tried to reach this person, over every connection
    // since (a replacement keeps it): "blocked" counts from here.
    connectingSince = Date.now();
    // For the beacons: this connection replaces one that never came up
    // (so the call did not work at the first try); or, replacing one that
    // worked, when that one was lost and how many restarts it had tried.
    retried = false;
    outageSince: number | null = null;
    priorRestarts = 0;
    private remoteClosedAt: number | null = null;

    constructor(id: string, self: string, ice: RTCIceServer[], initiator: boolean,
                local: LocalTracks, send: Send, ev: PeerEvents, hooks: PeerHooks) {
        this.id = id;
        this.polite = isPolite(self, id);
        this.send = send;
        this.ev = ev;
        this.hooks = hooks;
        this.bitrate = initialBitrate(hooks.limits);
        this.saveData = hooks.saveData;
        this.pc = new RTCPeerConnection({ iceServers: ice, iceTransportPolicy: hooks.policy });
        this.wire();
        if (initiator) {
            // Fixed transceivers from the start: tracks come and go with
            // replaceTrack, so a late camera or a device switch never
            // needs another offer.
            this.pc.addTransceiver('audio', { direction: 'sendrecv', streams: [] });
            this.pc.addTransceiver('video', { direction: 'sendrecv', streams: [] });
            this.openChannel();
            void this.setTracks(local);
        }
        this.timer = window.setInterval(() => this.tick(), TICK_MS);
    }

    // A relayed message can be lost (the server answers not-found when the
    // other side's connection is briefly down, and says nothing about which
    // message). So an offer left unanswered is sent again (its SDP carries
    // every candidate gathered so far), and a connection that never comes
    // up gets an ICE restart from the impolite side.
    private tick(): void {
        if (this.closed) return;
        const now = Date.now();
        const pc = this.pc;
        if (pc.signalingState === 'have-local-offer' && !this.makingOffer &&
            now - this.offerSentAt >= this.resendAfter) {
            this.sendDescription();
            this.resendAfter = Math.min(RESEND_MAX_MS, this.resendAfter * 2);
        }
        if (this.channel?.readyState === 'open') {
            try { this.channel.send(HEARTBEAT); } catch { /* closing */ }
        }
        void this.checkSilence(now).then(() => {
            if (!this.closed) this.recover(Date.now());
        });
        if (++this.ticks % STATS_EVERY === 0) void this.sample();
    }

    // Silent: the other side sends heartbeats, none came for SILENT_MS, and
    // not one byte arrived on the transport since the last check (a tab in
    // the background may send its heartbeats late, but its media flows).
    private async checkSilence(now: number): Promise<void> {
        if (!this.heartbeats || now - this.lastHeard < SILENT_MS) {
            this.silent = false;
            this.silentBytes = -1;
            return;
        }
        let bytes = 0;
        try {
            (await this.pc.getStats()).forEach((r: Record<string, unknown>) => {
                if (r['type'] === 'transport' && typeof r['bytesReceived'] === 'number') bytes += r['bytesReceived'];
            });
        } catch {
            return;
        }
        this.silent = this.silentBytes >= 0 && bytes === this.silentBytes;
        this.silentBytes = bytes;
    }

    // The server forgot the seats (a restart wiped its zone): the same
    // connection now links two new peer ids.
    rekey(self: string, id: string): void {
        this.id = id;
        this.polite = isPolite(self, id);
    }

    // ICE restart when the connection is disconnected for a few seconds or
    // failed, by the impolite side only, with fresh TURN credentials; a new
    // connection only after restarts failed (recovery.ts).
    private recover(now: number): void {
        const pc = this.pc;
        const up = isUp(pc.iceConnectionState, pc.connectionState) && !this.silent;
        if (up) {
            if (!this.everConnected) {
                this.firstUp(now);
            } else if (this.badSince !== null && now - this.badSince >= DISCONNECTED_MS) {
                this.afterOutage(now);
                this.hooks.beacon(recoveryBeacon(now - this.badSince, this.restarts));
            }
            this.everConnected = true;
            this.wasConnected = true;
            this.badSince = null;
            this.restarts = 0;
            this.refreshed = false;
        } else if (this.badSince === null) {
            this.badSince = this.silent ? this.lastHeard : now;
        }
        this.updateLink(now);
        if (up || this.restarting) return;
        const facts = {
            now, polite: this.polite, ice: pc.iceConnectionState, conn: pc.connectionState, silent: this.silent,
            everConnected: this.everConnected, badSince: this.badSince,
            lastAction: this.lastAction, restarts: this.restarts,
        };
        const action = recoveryAction(facts);
        if (action === 'replace') {
            this.lastAction = now;
            console.info(`webcall: connection to ${this.id} did not come back after ${this.restarts} ICE restarts: a new one`);
            this.hooks.replace(this);
        } else if (action === 'restart') {
            this.lastAction = now;
            this.restarts++;
            void this.restartIce();
        } else if (this.polite && this.everConnected && !this.refreshed &&
                   recoveryAction({ ...facts, polite: false, lastAction: null }) !== 'none') {
            // The other side restarts; have fresh credentials ready for our
            // answer's candidates.
            this.refreshed = true;
            void this.refreshIce();
        }
    }

    // The first media on this connection: a call set up (how long since we
    // first tried to reach this person, at the first try or not, over which
    // path), or, on a connection that replaces one that worked, a call
    // recovered.
    private firstUp(now: number): void {
        if (this.wasConnected) {
            this.hooks.beacon(recoveryBeacon(now - (this.outageSince ?? this.connectingSince), this.priorRestarts + 1));
            return;
        }
        const ms = now - this.connectingSince;
        const firstTry = !this.retried && this.restarts === 0 && !pageReloaded();
        void this.pathInfo().then((p) => {
            if (p) this.hooks.beacon(setupBeacon(ms, firstTry, p));
        });
    }

    // The selected path; right after the connection comes up the stats
    // may not name it yet, so once more a little later.
    private async pathInfo(): Promise<PathInfo | null> {
        for (let i = 0; i < 3 && !this.closed; i++) {
            try {
                const stats: Record<string, unknown>[] = [];
                (await this.pc.getStats()).forEach((r: Record<string, unknown>) => stats.push(r));
                const p = pathOf(stats);
                if (p) return p;
            } catch {
                return null;
            }
            await new Promise((r) => window.setTimeout(r, 500));
        }
        return null;
    }

    // When this connection was lost (for the beacon of the one replacing
    // it), and how many ICE restarts it had tried.
    lostAt(now: number): number {
        return this.badSince ?? this.remoteClosedAt ?? now;
    }

    restartCount(): number {
        return this.restarts;
    }

    // The path is back after an outage (seen by either side: ours came back,
    // or the other side's heartbeats resumed after a gap). The other side's
    // decoder lost its reference frames and would wait about 3 s before
    // asking for a new key frame: send one at once. And the first reports
    // count the whole outage as loss: not a reason to cut or pause video.
    private afterOutage(now: number): void {
        if (now < this.quietUntil - QUIET_AFTER_OUTAGE_MS + 1000) return;   // once per outage
        this.quietUntil = now + QUIET_AFTER_OUTAGE_MS;
        void this.keyFrame();
        // Once more a second later: the first may leave before the path
        // carries media both ways again (an ICE restart still settling).
        window.setTimeout(() => { if (!this.closed) void this.keyFrame(); }, 1000);
    }

    // Restarting the video encoder (encoding off, then on again) makes it
    // start over with a key frame.
    private keyFrame(): Promise<void> {
        return this.withParams(() => this.keyFrameNow());
    }

    // setParameters calls must not interleave (each needs its own
    // getParameters before it): one at a time.
    private paramsChain: Promise<void> = Promise.resolve();
    private withParams(job: () => Promise<void>): Promise<void> {
        const next = this.paramsChain.then(job, job);
        this.paramsChain = next.catch(() => undefined);
        return next;
    }

    private async keyFrameNow(): Promise<void> {
        const sender = this.videoSender();
        if (!sender?.track || this.bitrate.paused) return;
        try {
            const p = sender.getParameters();
            const enc = p.encodings?.[0];
            if (!enc || enc.active === false) return;
            enc.active = false;
            await sender.setParameters(p);
            const q = sender.getParameters();
            const again = q.encodings?.[0];
            if (!again) return;
            again.active = !this.bitrate.paused;
            await sender.setParameters(q);
        } catch (e) {
            console.warn('webcall: key frame', e);
        }
    }

    private async refreshIce(): Promise<void> {
        const ice = await this.hooks.freshIce();
        if (!ice || this.closed) return;
        try {
            this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: ice });
        } catch (e) {
            console.warn('webcall: setConfiguration', e);
        }
    }

    // New TURN credentials before the old ones expire, for what this
    // connection gathers next (an ICE restart). What it has keeps working:
    // the relay keeps the allocations it granted.
    renewCredentials(ice: RTCIceServer[]): void {
        if (this.closed) return;
        try {
            this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: ice });
        } catch (e) {
            console.warn('webcall: setConfiguration', e);
        }
    }

    private async restartIce(): Promise<void> {
        this.restarting = true;
        try {
            await this.refreshIce();
        } finally {
            this.restarting = false;
        }
        if (this.closed) return;
        console.info(`webcall: ICE restart towards ${this.id} (${this.pc.iceConnectionState})`);
        this.pc.restartIce();
    }

    // This person's call was up at some time, on this connection or the
    // one it replaced.
    hasConnected(): boolean {
        return this.everConnected || this.wasConnected;
    }

    private updateLink(now: number): void {
        const pc = this.pc;
        const view = linkView({
            now, ice: pc.iceConnectionState, conn: pc.connectionState, silent: this.silent,
            everConnected: this.everConnected || this.wasConnected, badSince: this.badSince,
            since: this.connectingSince,
        }, this.remoteClosed);
        this.setLink(view);
    }

    private wire(): void {
        const pc = this.pc;
        pc.onnegotiationneeded = async () => {
            try {
                this.makingOffer = true;
                await pc.setLocalDescription();
                this.sendDescription();
            } catch (e) {
                console.warn('webcall: offer failed', e);
            } finally {
                this.makingOffer = false;
            }
        };
        pc.onicecandidate = ({ candidate }) => {
            if (candidate) this.send({ type: 'candidate', to: this.id, candidate: candidate.toJSON(), pc: this.pcId });
        };
        pc.ontrack = ({ track }) => {
            for (const old of this.stream.getTracks()) {
                if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
            }
            if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
            this.ev.stream(this.id, this.stream);
        };
        pc.onconnectionstatechange = () => this.onConnState();
        pc.oniceconnectionstatechange = () => this.onConnState();
    }

    private onConnState(): void {
        if (this.closed) return;
        // At once, not at the next tick: a failure restarts without delay.
        this.recover(Date.now());
    }

    private setLink(link: PeerLink): void {
        if (link === this.link) return;
        this.link = link;
        this.ev.link(this.id, link);
    }

    private sendDescription(): void {
        const d = this.pc.localDescription;
        if (!d) return;
        if (d.type === 'offer') this.offerSentAt = Date.now();
        this.send({ type: d.type, to: this.id, sdp: d.sdp, pc: this.pcId });
    }

    private openChannel(): void {
        // Negotiated on both sides with the same id: symmetric, no
        // ondatachannel race, and the SCTP m-line is in the first offer.
        const ch = this.pc.createDataChannel('service', { negotiated: true, id: 0 });
        this.channel = ch;
        ch.onopen = () => {
            this.remoteClosed = false;
            this.remoteClosedAt = null;
            this.ev.channelOpen(this.id);
        };
        // The other side closed its end (a reload, a closed tab): say
        // "reconnecting" at once; its new offer or the server's peer-left
        // decides what happens next.
        ch.onclose = () => {
            if (this.closed) return;
            this.remoteClosed = true;
            this.remoteClosedAt ??= Date.now();
            this.updateLink(Date.now());
        };
        ch.onmessage = (e) => {
            const now = Date.now();
            if (this.heartbeats && now - this.lastHeard >= GAP_MS) this.afterOutage(now);
            this.lastHeard = now;
            if (e.data === HEARTBEAT) {
                this.heartbeats = true;
                return;
            }
            const m = parseService(e.data);
            if (m) this.ev.message(this.id, m);
        };
    }

    async onDescription(type: 'offer' | 'answer', sdp: string): Promise<void> {
        const pc = this.pc;
        const ignore = type === 'offer' && shouldIgnoreOffer(this.polite, this.makingOffer, pc.signalingState);
        this.ignoreOffer = ignore;
        if (ignore) return;
        try {
            const fresh = type === 'offer' && pc.getTransceivers().length === 0;
            await pc.setRemoteDescription({ type, sdp });
            if (type !== 'offer') {
                this.resendAfter = RESEND_FIRST_MS;
                return;
            }
            if (fresh) {
                // Answerer: take the offered transceivers and send on them.
                for (const tr of pc.getTransceivers()) tr.direction = 'sendrecv';
                this.openChannel();
            }
            await pc.setLocalDescription();
            this.sendDescription();
            // The tracks (and their bitrate) after the answer has gone, not
            // before: replaceTrack needs no negotiation, and the other side
            // starts its ICE checks one step sooner. The media starts once
            // ICE and DTLS are done, long after this.
            if (fresh) await this.setTracks(this.pendingLocal);
        } catch (e) {
            console.warn('webcall: description failed', e);
            if (type === 'answer' && !this.closed &&
                replaceAfterFailedAnswer(this.polite, pc.signalingState, e)) {
                this.lastAction = Date.now();
                console.info(`webcall: the answer of ${this.id} cannot be applied: a new connection`);
                this.hooks.replace(this);
            }
        }
    }

    async onCandidate(c: RTCIceCandidateInit | null): Promise<void> {
        if (!c) return;
        try {
            await this.pc.addIceCandidate(c);
        } catch (e) {
            if (!this.ignoreOffer) console.warn('webcall: candidate failed', e);
        }
    }

    // What to send once an answerer's transceivers exist.
    pendingLocal: LocalTracks = { audio: null, video: null };

    async setTracks(local: LocalTracks): Promise<void> {
        this.pendingLocal = local;
        const jobs: Promise<void>[] = [];
        for (const tr of this.pc.getTransceivers()) {
            const kind = tr.receiver.track.kind;
            const track = kind === 'audio' ? local.audio : kind === 'video' && !this.noVideo ? local.video : null;
            if (tr.sender.track !== track && tr.currentDirection !== 'stopped') {
                jobs.push(tr.sender.replaceTrack(track).catch((e) => console.warn('webcall: replaceTrack', e)));
            }
        }
        await Promise.all(jobs);
        await this.applyBitrate();
    }

    // The other person asks for no video ("Sound only") or for video again.
    // replaceTrack(null) stops the encoder for this connection alone;
    // the others still get our picture.
    setNoVideo(on: boolean): void {
        if (on === this.noVideo) return;
        this.noVideo = on;
        void this.setTracks(this.pendingLocal);
    }

    // Someone joined or left (the uplink is shared anew), or the person
    // chose another quality.
    setLimits(limits: BitrateLimits, saveData: boolean): void {
        this.bitrate = retarget(this.bitrate, limits);
        this.saveData = saveData;
        void this.applyBitrate();
    }

    // Read for the speaker detector (speakerwatch.ts) several times a
    // second: only the audio receiver's and sender's stats, not the whole
    // connection's, which cost more on an old phone.
    async audioReading(withSource: boolean): Promise<AudioReading> {
        const out: AudioReading = { inbound: null, inboundLevel: null, source: null };
        if (this.closed) return out;
        const tr = this.pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio');
        if (!tr) return out;
        try {
            (await tr.receiver.getStats()).forEach((r: Record<string, unknown>) => {
                if (r['type'] === 'inbound-rtp') out.inbound = energyOf(r);
            });
            if (!out.inbound) {
                const level = tr.receiver.getSynchronizationSources?.()[0]?.audioLevel;
                out.inboundLevel = typeof level === 'number' ? level : null;
            }
            if (withSource && tr.sender.track) {
                (await tr.sender.getStats()).forEach((r: Record<string, unknown>) => {
                    if (r['type'] === 'media-source' && r['kind'] === 'audio') out.source = energyOf(r);
                });
            }
        } catch {
            // closing: nothing measured this time
        }
        return out;
    }

    sendService(m: ServiceMessage): void {
        if (this.channel?.readyState === 'open') this.channel.send(JSON.stringify(m));
    }

    private videoSender(): RTCRtpSender | null {
        const tr = this.pc.getTransceivers().find((t) => t.receiver.track.kind === 'video');
        return tr?.sender ?? null;
    }

    private applyBitrate(): Promise<void> {
        return this.withParams(() => this.applyBitrateNow());
    }

    private async applyBitrateNow(): Promise<void> {
        const sender = this.videoSender();
        if (!sender || !sender.track) return;
        const p = sender.getParameters();
        if (!p.encodings || p.encodings.length === 0) return;
        const enc = p.encodings[0];
        if (!enc) return;
        const want = this.bitrate.kbps * 1000;
        const active = !this.bitrate.paused;
        // "Save data": a smaller picture at fewer frames, not only fewer bits.
        const scale = this.saveData ? saveScale(sender.track.getSettings().height) : 1;
        const fps = this.saveData ? SAVE_FPS : undefined;
        if (enc.maxBitrate === want && enc.active === active && (enc.scaleResolutionDownBy ?? 1) === scale &&
            enc.maxFramerate === fps) return;
        enc.maxBitrate = want;
        enc.active = active;
        enc.scaleResolutionDownBy = scale;
        if (fps === undefined) delete enc.maxFramerate;
        else enc.maxFramerate = fps;
        try {
            await sender.setParameters(p);
        } catch (e) {
            console.warn('webcall: setParameters', e);
        }
    }

    private async sample(): Promise<void> {
        if (this.closed || this.pc.connectionState !== 'connected' || Date.now() < this.quietUntil) return;
        const sender = this.videoSender();
        let loss: number | null = null;
        let rtt: number | null = null;
        let cpuLimited = false;
        try {
            const stats = await this.pc.getStats();
            stats.forEach((r: Record<string, unknown>) => {
                if (r['type'] === 'outbound-rtp' && r['kind'] === 'video' && r['qualityLimitationReason'] === 'cpu') {
                    cpuLimited = true;
                }
                if (r['type'] === 'remote-inbound-rtp' && r['kind'] === 'video') {
                    if (typeof r['fractionLost'] === 'number') loss = r['fractionLost'];
                    if (typeof r['roundTripTime'] === 'number') rtt = r['roundTripTime'] * 1000;
                }
                if (r['type'] === 'candidate-pair' && r['nominated'] === true && rtt === null &&
                    typeof r['currentRoundTripTime'] === 'number') {
                    rtt = r['currentRoundTripTime'] * 1000;
                }
            });
        } catch {
            return;
        }
        // An outage may have been noticed while the stats were read.
        if (this.closed || Date.now() < this.quietUntil) return;
        const sample = { loss, rttMs: rtt, cpuLimited };
        this.ev.quality(this.id, classify(sample));
        if (!sender?.track) return;
        const wasPaused = this.bitrate.paused;
        this.bitrate = nextBitrate(this.bitrate, sample);
        await this.applyBitrate();
        if (wasPaused !== this.bitrate.paused) this.ev.videoPaused(this.id, this.bitrate.paused);
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        window.clearInterval(this.timer);
        this.channel?.close();
        this.pc.close();
        for (const t of this.stream.getTracks()) this.stream.removeTrack(t);
    }
}

// Holds the Peer of every remote participant and routes signaling to it.
export class PeerManager {
    readonly peers = new Map<string, Peer>();
    self = '';
    ice: RTCIceServer[] = [];
    local: LocalTracks = { audio: null, video: null };
    private readonly send: Send;
    private readonly ev: PeerEvents;
    private readonly onGone: (id: string) => void;
    private readonly freshIce: () => Promise<RTCIceServer[] | null>;
    policy: RTCIceTransportPolicy = 'all';
    // The person's picture quality (quality.ts): every connection's limits.
    quality: QualityChoice = 'best';
    private renewTimer = 0;
    private beacons = 0;             // sent by this page (BEACONS_PER_PAGE)

    constructor(send: Send, ev: PeerEvents, onGone: (id: string) => void,
                freshIce: () => Promise<RTCIceServer[] | null> = async () => null) {
        this.send = send;
        this.ev = ev;
        this.onGone = onGone;
        this.freshIce = freshIce;
    }

    // After welcome: offer to everyone already there; keep a connection
    // that survived a signaling reconnect; drop peers that left meanwhile.
    // sameSeat false with a seat before: the server forgot it (a restart
    // wiped its zone, or our grace ran out), and every id may have changed.
    welcome(self: string, ice: RTCIceServer[], peers: string[], sameSeat = true): void {
        const lostSeat = !sameSeat && this.self !== '' && this.self !== self;
        this.self = self;
        this.setIce(ice);
        if (lostSeat && this.peers.size > 0) {
            this.orphan(peers);
            return;
        }
        for (const [id, p] of [...this.peers]) {
            if (peers.includes(id)) continue;
            const state = p.pc.connectionState;
            if (sameSeat && state !== 'failed' && state !== 'closed') this.keepAway(id);
            else this.remove(id);
        }
        for (const id of peers) {
            if (!this.peers.has(id)) this.create(id, true);
        }
    }

    // A newcomer offers to us; a participant back on its seat keeps its
    // connection (an offer with a new pc id replaces it if it reloaded).
    joined(id: string, resumed: boolean): void {
        this.clearAway(id);
        if (!resumed) this.remove(id);
        // Back on a seat whose grace ran out here (a phone frozen in the
        // background lost its socket; our end closed on its peer-left): its
        // own connection leads nowhere now and it will not offer, so we do,
        // and our new pc id makes it replace its end (issue 18).
        else if (!this.peers.has(id) && this.orphans.size === 0) this.create(id, true);
    }

    // A peer missing from the welcome of our own seat: gone for good
    // unless the server names it again (peer-joined, resumed) in time.
    private away = new Map<string, number>();

    private keepAway(id: string): void {
        if (this.away.has(id)) return;
        this.away.set(id, window.setTimeout(() => {
            this.away.delete(id);
            this.remove(id);
        }, AWAY_MS));
    }

    private clearAway(id: string): void {
        const timer = this.away.get(id);
        if (timer === undefined) return;
        window.clearTimeout(timer);
        this.away.delete(id);
    }

    remove(id: string): void {
        this.clearAway(id);
        const p = this.peers.get(id);
        if (!p) return;
        p.close();
        this.peers.delete(id);
        this.onGone(id);
        this.relimit();
    }

    setQuality(q: QualityChoice): void {
        this.quality = q;
        this.relimit();
    }

    // Each connection's share of the uplink follows the number of people
    // we send to, and the person's choice.
    private relimit(): void {
        const limits = qualityLimits(this.quality, this.peers.size);
        for (const p of this.peers.values()) p.setLimits(limits, this.quality === 'save');
    }

    // The other person chose "Sound only" (or left it): send them no video.
    setNoVideo(id: string, on: boolean): void {
        this.peers.get(id)?.setNoVideo(on);
    }

    // Audio readings of every connection, and of our microphone (read on
    // one connection: it is the same track on all).
    async audioReadings(): Promise<{ peers: Map<string, AudioReading>; self: Energy | null }> {
        const ids = [...this.peers.keys()];
        const readings = await Promise.all(ids.map((id, i) => this.peers.get(id)?.audioReading(i === 0)));
        const peers = new Map<string, AudioReading>();
        let self: Energy | null = null;
        ids.forEach((id, i) => {
            const r = readings[i];
            if (!r) return;
            peers.set(id, r);
            if (i === 0) self = r.source;
        });
        return { peers, self };
    }

    // Connections that still work are kept when the server forgot the
    // seats: each waits (ORPHAN_MS at most) for its other end to show up
    // under a new id. Both ends know the connection by its pc ids, so a
    // hello (a null candidate with "adopt", relayed untouched by the
    // server) carrying our pc id finds it on the other side, which answers
    // the same way. Whoever got the peer list says hello; a peer that knows
    // no such connection (it reloaded meanwhile) gets a new offer after
    // HELLO_MS.
    private orphans = new Map<string, Peer>();
    private orphanTimer = 0;

    private orphan(peers: string[]): void {
        for (const [id, p] of this.peers) this.orphans.set(id, p);
        this.peers.clear();
        window.clearTimeout(this.orphanTimer);
        this.orphanTimer = window.setTimeout(() => this.dropOrphans(), ORPHAN_MS);
        for (const id of peers) {
            for (const o of this.orphans.values()) {
                this.send({ type: 'candidate', to: id, candidate: null, pc: o.pcId, adopt: 1 });
            }
        }
        window.setTimeout(() => {
            for (const id of peers) if (!this.peers.has(id)) this.create(id, true);
        }, HELLO_MS);
    }

    private dropOrphans(): void {
        for (const [id, p] of [...this.orphans]) {
            this.orphans.delete(id);
            p.close();
            // (a new connection under the same id is that person, still here)
            if (!this.peers.has(id)) this.onGone(id);
        }
    }

    private adopt(from: string, pcId: string, m: Record<string, unknown>): void {
        const entry = [...this.orphans].find(([, o]) => o.remotePcId === pcId);
        if (!entry) return;
        const [old, p] = entry;
        this.orphans.delete(old);
        p.rekey(this.self, from);
        this.peers.set(from, p);
        this.ev.renamed(old, from);
        if (m['adopt'] === 1) this.send({ type: 'candidate', to: from, candidate: null, pc: p.pcId, adopt: 2 });
    }

    relayed(m: Record<string, unknown>): void {
        const from = m['from'];
        if (typeof from !== 'string') return;
        const pcId = typeof m['pc'] === 'string' ? m['pc'] : null;
        if (!this.peers.has(from) && pcId && this.orphans.size > 0) this.adopt(from, pcId, m);
        let p = this.peers.get(from);
        if (m['type'] === 'offer') {
            let old: Peer | undefined;
            if (p && p.remotePcId !== null && pcId !== null && p.remotePcId !== pcId) {
                // The other side started afresh (a reload, or it gave up the
                // old connection): ours is replaced without a word of "left".
                old = p;
                p.close();
                this.peers.delete(from);
                p = undefined;
            }
            if (!p) p = old ? this.succeed(old, false) : this.create(from, false);
            if (pcId) p.remotePcId = pcId;
            if (typeof m['sdp'] === 'string') void p.onDescription('offer', m['sdp']);
        } else if (m['type'] === 'answer') {
            if (!p) return;
            if (pcId && p.remotePcId !== null && p.remotePcId !== pcId) {
                // Answered by a connection other than the one ours knew: the
                // other side closed that one (our peer-left there) and made a
                // new one for our offer, which can never share this one's
                // DTLS and channel. Start afresh: our new pc id makes it
                // replace its end too (issue 18).
                this.replace(p);
                return;
            }
            if (pcId) p.remotePcId = pcId;
            if (typeof m['sdp'] === 'string') void p.onDescription('answer', m['sdp']);
        } else if (m['type'] === 'candidate') {
            if (!p && m['adopt'] === 1 && this.orphans.size === 0) {
                // A hello from someone whose seat the server forgot, for a
                // connection we no longer have (we closed it on their
                // peer-left: a phone frozen past its grace): offer now
                // rather than have them wait HELLO_MS to offer (issue 18).
                this.create(from, true);
                return;
            }
            if (!p || (pcId && p.remotePcId && pcId !== p.remotePcId)) return;
            const c = m['candidate'];
            void p.onCandidate(typeof c === 'object' && c !== null ? c as RTCIceCandidateInit : null);
        }
    }

    setLocal(local: LocalTracks): void {
        this.local = local;
        for (const p of this.peers.values()) void p.setTracks(local);
    }

    broadcast(m: ServiceMessage): void {
        for (const p of this.peers.values()) p.sendService(m);
    }

    // The ICE servers for new connections, and a timer to renew their TURN
    // credentials before they expire (credentials.ts), for every
    // connection at once: someone who waits alone for longer than their
    // lifetime still offers the first caller valid ones.
    private setIce(ice: RTCIceServer[]): void {
        this.ice = ice;
        window.clearTimeout(this.renewTimer);
        const expiry = turnExpiry(ice);
        if (expiry === null) return;
        const now = Date.now();
        this.renewTimer = window.setTimeout(() => void this.renew(), Math.max(0, renewAt(now, expiry) - now));
    }

    private async renew(): Promise<void> {
        const ice = await this.freshIce();
        if (!ice) {
            // signaling is down: a new welcome brings new credentials anyway
            this.renewTimer = window.setTimeout(() => void this.renew(), 30000);
            return;
        }
        this.setIce(ice);
        for (const p of this.peers.values()) p.renewCredentials(ice);
    }

    closeAll(): void {
        window.clearTimeout(this.renewTimer);
        window.clearTimeout(this.orphanTimer);
        this.dropOrphans();
        for (const id of [...this.peers.keys()]) this.remove(id);
    }

    private create(id: string, initiator: boolean, wasConnected = false, since?: number): Peer {
        // Only our seat was forgotten (theirs kept its id) and nobody adopted
        // our old connection to them: this one takes its place, so the old
        // one stops at once, before its ICE restarts send them stale offers
        // (issue 18: a phone frozen past its grace).
        const orphan = this.orphans.get(id);
        if (orphan) {
            this.orphans.delete(id);
            orphan.close();
        }
        const hooks: PeerHooks = {
            freshIce: async () => {
                const ice = await this.freshIce();
                if (ice) this.setIce(ice);
                return ice;
            },
            replace: (old) => this.replace(old),
            policy: this.policy,
            beacon: (b) => {
                if (this.beacons >= BEACONS_PER_PAGE) return;
                if (this.send(b)) this.beacons++;
            },
            // this one, and everyone already here (a replaced connection
            // is already out of the map)
            limits: qualityLimits(this.quality, this.peers.size + (this.peers.has(id) ? 0 : 1)),
            saveData: this.quality === 'save',
        };
        const p = new Peer(id, this.self, this.ice, initiator, this.local, this.send, this.ev, hooks);
        p.wasConnected = wasConnected;
        if (since !== undefined) p.connectingSince = since;
        p.pendingLocal = this.local;
        this.peers.set(id, p);
        this.relimit();
        return p;
    }

    // A connection that ICE restarts could not bring back: close it and
    // offer a new one (its new pc id tells the other side to replace its
    // end too). The participant stays; only the connection is new.
    private replace(old: Peer): void {
        if (this.peers.get(old.id) !== old) return;
        old.close();
        this.peers.delete(old.id);
        this.succeed(old, true);
    }

    // The connection that takes a closed one's place. Shown as "lost" (and
    // counted as a recovery) only if the old one ever carried the call;
    // otherwise the setup goes on, no longer at the first try.
    private succeed(old: Peer, initiator: boolean): Peer {
        const now = Date.now();
        const was = old.hasConnected();
        const p = this.create(old.id, initiator, was, was ? undefined : old.connectingSince);
        if (was) {
            p.outageSince = old.lostAt(now);
            p.priorRestarts = old.restartCount();
        } else {
            p.retried = true;
        }
        return p;
    }
}
