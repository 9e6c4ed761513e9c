// Peer connection manager: one RTCPeerConnection per remote participant,
// perfect negotiation (polite and impolite roles), a negotiated DataChannel
// for service messages, and the video bitrate policy per connection.
//
// Every offer, answer and candidate carries "pc", a random id of the
// sender's RTCPeerConnection (the protocol relays extra keys untouched): an
// offer with a new id means the other side started afresh (a reload), so
// our old connection to it is replaced; a stale candidate is dropped.
import { initialBitrate, nextBitrate, classify, type BitrateState, type Quality } from './bitrate.js';

export type PeerLink = 'connecting' | 'connected' | 'weak' | 'failed';

export type ServiceMessage =
    | { t: 'state'; mic: boolean; cam: boolean; paused: boolean }
    | { t: 'bye' }
    | { t: 'chat'; text: string };

export interface PeerEvents {
    stream(peer: string, stream: MediaStream): void;
    link(peer: string, link: PeerLink): void;
    message(peer: string, msg: ServiceMessage): void;
    channelOpen(peer: string): void;
    videoPaused(peer: string, paused: boolean): void;
    quality(peer: string, q: Quality): void;
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
            return { t: 'state', mic: o['mic'] === true, cam: o['cam'] === true, paused: o['paused'] === true };
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

const TICK_MS = 1000;
const STATS_EVERY = 2;          // ticks between two stats samples
const RESEND_FIRST_MS = 3000;   // an offer unanswered this long is sent again
const RESEND_MAX_MS = 12000;
const STUCK_MS = 10000;         // not connected this long: restart ICE

export class Peer {
    readonly id: string;
    readonly pc: RTCPeerConnection;
    readonly pcId = randomId();
    remotePcId: string | null = null;
    readonly stream = new MediaStream();
    private readonly polite: boolean;
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
    private stuckSince = Date.now();
    private closed = false;
    private link: PeerLink = 'connecting';

    constructor(id: string, self: string, ice: RTCIceServer[], initiator: boolean,
                local: LocalTracks, send: Send, ev: PeerEvents) {
        this.id = id;
        this.polite = isPolite(self, id);
        this.send = send;
        this.ev = ev;
        this.pc = new RTCPeerConnection({ iceServers: ice });
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
        if (pc.connectionState === 'connected') {
            this.stuckSince = now;
        } else if (now - this.stuckSince >= STUCK_MS && pc.signalingState === 'stable') {
            this.stuckSince = now;
            if (!this.polite) pc.restartIce();
        }
        if (++this.ticks % STATS_EVERY === 0) void this.sample();
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
        const s = this.pc.connectionState;
        const ice = this.pc.iceConnectionState;
        let link: PeerLink;
        if (s === 'connected' && ice !== 'disconnected') link = 'connected';
        else if (s === 'failed' || ice === 'failed') link = 'failed';
        else if (ice === 'disconnected' || s === 'disconnected') link = 'weak';
        else link = this.link === 'connected' ? 'weak' : 'connecting';
        if (link === 'failed' && !this.polite) {
            // One side restarts ICE so the two never race each other.
            this.pc.restartIce();
        }
        this.setLink(link);
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
        ch.onopen = () => this.ev.channelOpen(this.id);
        ch.onmessage = (e) => {
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
                await this.setTracks(this.pendingLocal);
            }
            await pc.setLocalDescription();
            this.sendDescription();
        } catch (e) {
            console.warn('webcall: description failed', e);
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
            const track = kind === 'audio' ? local.audio : kind === 'video' ? local.video : null;
            if (tr.sender.track !== track && tr.currentDirection !== 'stopped') {
                jobs.push(tr.sender.replaceTrack(track).catch((e) => console.warn('webcall: replaceTrack', e)));
            }
        }
        await Promise.all(jobs);
        await this.applyBitrate();
    }

    sendService(m: ServiceMessage): void {
        if (this.channel?.readyState === 'open') this.channel.send(JSON.stringify(m));
    }

    private videoSender(): RTCRtpSender | null {
        const tr = this.pc.getTransceivers().find((t) => t.receiver.track.kind === 'video');
        return tr?.sender ?? null;
    }

    private async applyBitrate(): Promise<void> {
        const sender = this.videoSender();
        if (!sender || !sender.track) return;
        const p = sender.getParameters();
        if (!p.encodings || p.encodings.length === 0) return;
        const enc = p.encodings[0];
        if (!enc) return;
        const want = this.bitrate.kbps * 1000;
        const active = !this.bitrate.paused;
        if (enc.maxBitrate === want && enc.active === active) return;
        enc.maxBitrate = want;
        enc.active = active;
        try {
            await sender.setParameters(p);
        } catch (e) {
            console.warn('webcall: setParameters', e);
        }
    }

    private async sample(): Promise<void> {
        if (this.closed || this.pc.connectionState !== 'connected') return;
        const sender = this.videoSender();
        let loss: number | null = null;
        let rtt: number | null = null;
        try {
            const stats = await this.pc.getStats();
            stats.forEach((r: Record<string, unknown>) => {
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
        const sample = { loss, rttMs: rtt };
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

    constructor(send: Send, ev: PeerEvents, onGone: (id: string) => void) {
        this.send = send;
        this.ev = ev;
        this.onGone = onGone;
    }

    // After welcome: offer to everyone already there; keep a connection
    // that survived a signaling reconnect; drop peers that left meanwhile.
    welcome(self: string, ice: RTCIceServer[], peers: string[]): void {
        this.self = self;
        this.ice = ice;
        for (const id of [...this.peers.keys()]) {
            if (!peers.includes(id)) this.remove(id);
        }
        for (const id of peers) {
            if (!this.peers.has(id)) this.create(id, true);
        }
    }

    // A newcomer offers to us; a participant back on its seat keeps its
    // connection (an offer with a new pc id replaces it if it reloaded).
    joined(id: string, resumed: boolean): void {
        if (!resumed) this.remove(id);
    }

    remove(id: string): void {
        const p = this.peers.get(id);
        if (!p) return;
        p.close();
        this.peers.delete(id);
        this.onGone(id);
    }

    relayed(m: Record<string, unknown>): void {
        const from = m['from'];
        if (typeof from !== 'string') return;
        const pcId = typeof m['pc'] === 'string' ? m['pc'] : null;
        let p = this.peers.get(from);
        if (m['type'] === 'offer') {
            if (p && p.remotePcId !== null && pcId !== null && p.remotePcId !== pcId) {
                this.remove(from);
                p = undefined;
            }
            if (!p) p = this.create(from, false);
            if (pcId) p.remotePcId = pcId;
            if (typeof m['sdp'] === 'string') void p.onDescription('offer', m['sdp']);
        } else if (m['type'] === 'answer') {
            if (!p) return;
            if (pcId) p.remotePcId = pcId;
            if (typeof m['sdp'] === 'string') void p.onDescription('answer', m['sdp']);
        } else if (m['type'] === 'candidate') {
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

    closeAll(): void {
        for (const id of [...this.peers.keys()]) this.remove(id);
    }

    private create(id: string, initiator: boolean): Peer {
        const p = new Peer(id, this.self, this.ice, initiator, this.local, this.send, this.ev);
        p.pendingLocal = this.local;
        this.peers.set(id, p);
        return p;
    }
}
