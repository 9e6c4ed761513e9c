// The room page's DOM: draws a CallState, never changes it. Tiles for the
// remote participants are made and dropped here as the state says.
import { linkNote, mediaNote, statusOf, type CallState, type RemoteState } from './callstate.js';
import { byId } from './dom.js';
import { t } from './i18n.js';
import { browserKind } from './media.js';
import { isQualityChoice, type QualityChoice } from './quality.js';
import { SELF } from './speaker.js';
import { fill, type TextKey } from './texts.js';

interface Tile {
    fig: HTMLElement;
    video: HTMLVideoElement;
    name: HTMLElement;
    state: HTMLElement;
}

const HELP: Record<ReturnType<typeof browserKind>, TextKey> = {
    chrome: 'medHelpChrome',
    android: 'medHelpAndroid',
    firefox: 'medHelpFirefox',
    safari: 'medHelpSafari',
    ios: 'medHelpIos',
};

export class RoomView {
    readonly status = byId('status', HTMLParagraphElement);
    readonly notice = byId('notice', HTMLParagraphElement);
    readonly roomSize = byId('room-size', HTMLParagraphElement);
    readonly stage = byId('stage', HTMLElement);
    readonly card = byId('card', HTMLElement);
    readonly cardTitle = byId('card-title', HTMLHeadingElement);
    readonly cardHint = byId('card-hint', HTMLParagraphElement);
    readonly share = byId('share', HTMLDivElement);
    readonly final = byId('final', HTMLDivElement);
    readonly rejoin = byId('rejoin', HTMLButtonElement);
    readonly newLink = byId('new-link', HTMLAnchorElement);
    readonly mediaHelp = byId('media-help', HTMLElement);
    readonly mediaText = byId('media-text', HTMLParagraphElement);
    readonly mediaHow = byId('media-how', HTMLParagraphElement);
    readonly mediaRetry = byId('media-retry', HTMLButtonElement);
    readonly selfTile = byId('self-tile', HTMLElement);
    readonly selfVideo = byId('self-video', HTMLVideoElement);
    readonly selfState = byId('self-state', HTMLParagraphElement);
    readonly unmute = byId('unmute', HTMLButtonElement);
    readonly mic = byId('mic', HTMLButtonElement);
    readonly cam = byId('cam', HTMLButtonElement);
    readonly linkBtn = byId('link-btn', HTMLButtonElement);
    readonly moreBtn = byId('more-btn', HTMLButtonElement);
    readonly hangup = byId('hangup', HTMLButtonElement);
    readonly controls = document.querySelector('.controls') as HTMLElement;
    readonly more = byId('more', HTMLElement);
    readonly moreTitle = byId('more-title', HTMLHeadingElement);
    readonly camSelect = byId('cam-select', HTMLSelectElement);
    readonly micSelect = byId('mic-select', HTMLSelectElement);
    readonly flip = byId('flip', HTMLButtonElement);
    readonly fullscreen = byId('fullscreen', HTMLButtonElement);
    readonly screen = byId('screen', HTMLButtonElement);
    readonly chatLog = byId('chat-log', HTMLOListElement);
    readonly chatForm = byId('chat-form', HTMLFormElement);
    readonly chatInput = byId('chat-input', HTMLInputElement);
    readonly moreClose = byId('more-close', HTMLButtonElement);
    readonly unread = byId('unread', HTMLSpanElement);
    readonly endRoom = byId('end-room', HTMLDivElement);
    readonly endAll = byId('end-all', HTMLButtonElement);
    readonly endConfirm = byId('end-confirm', HTMLDivElement);
    readonly endYes = byId('end-yes', HTMLButtonElement);
    readonly endNo = byId('end-no', HTMLButtonElement);
    readonly quality = byId('quality', HTMLFieldSetElement);
    private readonly qualityInputs = [...this.quality.querySelectorAll<HTMLInputElement>('input[name="quality"]')];

    private readonly tiles = new Map<string, Tile>();
    private lastStatus = '';
    // Called when a remote video cannot start with sound by itself.
    onSoundBlocked: () => void = () => undefined;

    render(s: CallState): void {
        const st = statusOf(s);
        const sentence = t[st.key];
        if (sentence !== this.lastStatus) {
            // Same text twice is not read again; status changes always are.
            this.status.textContent = sentence;
            this.lastStatus = sentence;
        }
        this.status.dataset['tone'] = st.tone;
        document.body.classList.toggle('ended', st.final);

        const notice = s.notice;
        this.notice.hidden = notice === null || st.final;
        // a group room says so on every device, for as long as the call lasts
        this.roomSize.hidden = s.maxParticipants <= 2 || st.final;
        this.roomSize.textContent = fill(t.roomSize, { n: s.maxParticipants });
        this.notice.textContent = notice ?? '';

        this.renderCard(s, st.share, st.final, sentence);
        this.renderMedia(s, st.final);
        this.renderTiles(s, st.final);
        this.renderControls(s, st.final);
    }

    private renderCard(s: CallState, share: boolean, final: boolean, sentence: string): void {
        const showShare = !final && (share || s.linkOpen);
        this.card.hidden = !(final || showShare);
        this.share.hidden = !showShare;
        this.final.hidden = !final;
        this.card.classList.toggle('floating', s.remotes.size > 0 && !final);
        this.cardTitle.textContent = share || final ? sentence : t.linkCard;
        this.cardHint.hidden = !share;
        this.cardHint.textContent = share ? t.stWaitingHint : '';
        // Only a call that ended normally can be joined again.
        this.rejoin.hidden = !(s.end === 'left' || s.end === 'replaced');
        // The host who ended a leaked link needs a new one, first of all.
        const fresh = s.end === 'ended-here';
        this.newLink.classList.toggle('btn-primary', fresh);
        this.newLink.classList.toggle('btn-huge', fresh);
        // The status line says the same as the card title; read it once.
        this.status.classList.toggle('sr-only', !this.card.hidden && (share || final));
    }

    private renderMedia(s: CallState, final: boolean): void {
        const note = mediaNote(s);
        this.mediaHelp.hidden = note === null || final;
        if (note === null) return;
        this.mediaText.textContent = s.askingMedia ? t.askingMedia : t[note];
        const how = note === 'medDenied' ? t[HELP[browserKind(navigator.userAgent)]] : '';
        this.mediaHow.hidden = how === '';
        this.mediaHow.textContent = how;
        // "No camera" with a working microphone is fine as it is.
        this.mediaRetry.hidden = note === 'medNoCamera' || note === 'medInsecure';
        this.mediaHelp.classList.toggle('quiet', note === 'medNoCamera');
    }

    private renderTiles(s: CallState, final: boolean): void {
        for (const [id, tile] of this.tiles) {
            if (!s.remotes.has(id) || final) {
                tile.video.srcObject = null;
                tile.fig.remove();
                this.tiles.delete(id);
            }
        }
        const remotes = final ? [] : [...s.remotes.values()];
        for (const r of remotes) this.renderTile(r, remotes.length === 1, s);
        const n = remotes.length;
        this.stage.dataset['count'] = String(n);
        this.stage.dataset['mode'] = final ? 'ended' : n === 0 ? 'solo' : n === 1 ? 'pair' : 'group';
        // a group on a phone gives the last speaker the large tile (CSS)
        if (n > 1 && s.featured !== null && s.remotes.has(s.featured)) this.stage.dataset['featured'] = '';
        else delete this.stage.dataset['featured'];

        this.selfTile.hidden = final;
        const camOff = !s.cam || !s.hasVideo;
        this.selfTile.classList.toggle('no-video', camOff);
        this.selfTile.classList.toggle('screen', s.sharingScreen);
        // No announcement: a ring that a screen reader spoke at every turn
        // of the conversation would drown out the call itself.
        this.selfTile.classList.toggle('speaking', s.speaker === SELF);
        const selfNote = !s.mic && s.hasAudio ? t.theirMicOff : s.quality === 'audio' ? t.tileSoundOnly
            : camOff ? t.theirCamOff : '';
        this.selfState.hidden = selfNote === '';
        this.selfState.textContent = selfNote;
    }

    private renderTile(r: RemoteState, only: boolean, s: CallState): void {
        let tile = this.tiles.get(r.id);
        if (!tile) {
            tile = this.makeTile(r.id);
            this.tiles.set(r.id, tile);
            this.stage.insertBefore(tile.fig, this.selfTile);
        }
        if (r.stream && tile.video.srcObject !== r.stream) {
            tile.video.srcObject = r.stream;
            this.play(tile.video);
        }
        tile.name.textContent = only ? t.person : fill(t.personN, { n: r.n });
        const notes: string[] = [];
        const link = linkNote(r);
        if (link) notes.push(t[link]);
        if (!r.mic) notes.push(t.theirMicOff);
        // Sound only, theirs or ours: no picture comes, and the tile says why.
        const soundOnly = r.noVideo || s.quality === 'audio';
        if (soundOnly) notes.push(t.tileSoundOnly);
        else if (r.paused) notes.push(t.theirVideoPaused);
        else if (!r.cam) notes.push(t.theirCamOff);
        tile.state.hidden = notes.length === 0;
        tile.state.textContent = notes.join('. ');
        tile.fig.classList.toggle('no-video', !r.cam || r.paused || soundOnly);
        tile.fig.classList.toggle('speaking', s.speaker === r.id);
        tile.fig.classList.toggle('featured', s.featured === r.id);
        tile.fig.dataset['link'] = r.link;
    }

    private makeTile(id: string): Tile {
        const fig = document.createElement('figure');
        fig.className = 'tile remote';
        fig.dataset['peer'] = id;
        const video = document.createElement('video');
        video.autoplay = true;
        video.playsInline = true;
        video.setAttribute('playsinline', '');
        const name = document.createElement('figcaption');
        name.className = 'tile-name';
        const state = document.createElement('p');
        state.className = 'tile-state';
        state.hidden = true;
        fig.append(video, name, state);
        return { fig, video, name, state };
    }

    // Browsers may refuse to start sound without a tap (Safari, iOS, and
    // Chrome before any interaction). Then play muted, so the picture is
    // there, and offer one big button for the sound.
    play(video: HTMLVideoElement): void {
        video.play().catch((e: unknown) => {
            if (e instanceof DOMException && e.name === 'NotAllowedError') {
                video.muted = true;
                void video.play().catch(() => undefined);
                this.onSoundBlocked();
            }
        });
    }

    // A page frozen in the background (a phone's tab, Android or iOS)
    // comes back with its videos paused: the picture would stay still and
    // the sound silent under "Connected". Play them again; where sound now
    // needs a tap, play() offers it as on arrival.
    resumeVideos(): void {
        for (const tile of this.tiles.values()) {
            if (tile.video.paused && tile.video.srcObject) this.play(tile.video);
        }
        if (this.selfVideo.paused && this.selfVideo.srcObject) void this.selfVideo.play().catch(() => undefined);
    }

    unmuteAll(): void {
        for (const tile of this.tiles.values()) {
            tile.video.muted = false;
            void tile.video.play().catch(() => undefined);
        }
    }

    private renderControls(s: CallState, final: boolean): void {
        this.controls.hidden = final;
        this.unmute.hidden = !s.soundBlocked || final;
        setToggle(this.mic, s.mic && s.hasAudio);
        setToggle(this.cam, s.cam && s.hasVideo);
        this.linkBtn.setAttribute('aria-expanded', String(s.linkOpen || this.share.hidden === false));
        this.moreBtn.setAttribute('aria-expanded', String(s.moreOpen));
        // a count on the button, and in its name for a screen reader
        this.unread.hidden = s.unread === 0;
        this.unread.textContent = s.unread > 9 ? '9+' : String(s.unread);
        if (s.unread > 0) {
            this.moreBtn.setAttribute('aria-label', fill(t.moreUnread, { n: s.unread }));
        } else {
            this.moreBtn.removeAttribute('aria-label');
        }
        this.more.hidden = !s.moreOpen || final;
        this.fullscreen.textContent = s.fullscreen ? t.exitFullscreen : t.fullscreen;
        this.screen.textContent = s.sharingScreen ? t.stopShare : t.shareScreen;
        this.endRoom.hidden = !s.isHost || final;
        this.endAll.hidden = s.confirmEnd;
        this.endConfirm.hidden = !s.confirmEnd;
        for (const input of this.qualityInputs) {
            input.checked = input.value === s.quality;
            input.closest('.choice-opt')?.classList.toggle('is-chosen', input.checked);
        }
    }

    // The radio the person picked, when one is.
    chosenQuality(): QualityChoice | null {
        const v = this.qualityInputs.find((i) => i.checked)?.value;
        return isQualityChoice(v) ? v : null;
    }

    addChat(who: string, text: string): void {
        const li = document.createElement('li');
        const b = document.createElement('strong');
        b.textContent = `${who}: `;
        li.append(b, document.createTextNode(text));
        this.chatLog.append(li);
        li.scrollIntoView({ block: 'nearest' });
    }

    fillSelect(sel: HTMLSelectElement, devices: MediaDeviceInfo[], current: string | null,
               fallback: string): void {
        sel.replaceChildren(...devices.map((d, i) => {
            const o = document.createElement('option');
            o.value = d.deviceId;
            o.textContent = d.label || `${fallback} ${i + 1}`;
            o.selected = d.deviceId === current;
            return o;
        }));
        sel.closest('.field')?.toggleAttribute('hidden', devices.length < 2);
    }
}

function setToggle(b: HTMLButtonElement, on: boolean): void {
    b.setAttribute('aria-pressed', String(on));
    b.classList.toggle('is-off', !on);
}
