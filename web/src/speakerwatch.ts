// Reads everyone's audio level four times a second and feeds the pure
// active-speaker rule (speaker.ts); tells the page only when the active
// speaker or the large tile changes.
//
// Why getStats and not a Web Audio AnalyserNode on each remote stream: an
// AudioContext made without a tap starts suspended under the autoplay
// rules (Chrome, Safari, iOS), and Chromium's Web Audio hears a remote
// WebRTC stream only while a media element also plays it. getStats needs
// neither, costs no audio processing of its own, and works the same in
// Chromium and Firefox. Energy counters (totalAudioEnergy) give the level
// over the whole window; the instantaneous audioLevel of one packet jumps
// from silence to full scale between two samples of the same beep.
import type { PeerManager } from './peers.js';
import { SELF, initialSpeakers, levelOf, nextSpeakers, type Energy, type SpeakerState } from './speaker.js';

const EVERY_MS = 250;

export class SpeakerWatch {
    private state: SpeakerState = initialSpeakers();
    private last = new Map<string, Energy>();
    private timer = 0;
    private busy = false;

    constructor(private readonly peers: PeerManager,
                // our microphone is on (a muted one never counts as speaking)
                private readonly micOn: () => boolean,
                private readonly changed: (s: SpeakerState) => void) {}

    start(): void {
        if (this.timer) return;
        this.timer = window.setInterval(() => void this.round(), EVERY_MS);
    }

    stop(): void {
        window.clearInterval(this.timer);
        this.timer = 0;
    }

    private level(key: string, e: Energy | null): number | null {
        if (!e) {
            this.last.delete(key);
            return null;
        }
        const l = levelOf(this.last.get(key) ?? null, e);
        this.last.set(key, e);
        return l;
    }

    private async round(): Promise<void> {
        // a slow phone: never pile reads up
        if (this.busy) return;
        this.busy = true;
        try {
            const r = await this.peers.audioReadings();
            const levels = new Map<string, number | null>();
            for (const [id, a] of r.peers) {
                levels.set(id, a.inbound ? this.level(id, a.inbound) : a.inboundLevel);
            }
            for (const id of [...this.last.keys()]) {
                if (id !== SELF && !r.peers.has(id)) this.last.delete(id);
            }
            if (r.peers.size > 0) {
                const self = this.level(SELF, r.self);
                levels.set(SELF, this.micOn() ? self : 0);
            }
            const prev = this.state;
            this.state = nextSpeakers(prev, Date.now(), levels);
            if (prev.active !== this.state.active || prev.featured !== this.state.featured) this.changed(this.state);
        } finally {
            this.busy = false;
        }
    }
}
