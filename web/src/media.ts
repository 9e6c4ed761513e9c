// Camera and microphone: the first request, fallbacks when a device is
// missing, and switching devices without touching the peer connections.

export type MediaProblem = 'denied' | 'missing' | 'busy' | 'insecure' | 'error';

export interface Acquired {
    audio: MediaStreamTrack | null;
    video: MediaStreamTrack | null;
    problem: MediaProblem | null;  // set when we got less than asked
}

// Explicit processing: many people call without headphones.
export const AUDIO: MediaTrackConstraints = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
};

export function videoConstraints(facing: 'user' | 'environment' | null,
                                 deviceId: string | null): MediaTrackConstraints {
    const c: MediaTrackConstraints = {
        width: { ideal: 640 },
        height: { ideal: 480 },
        frameRate: { ideal: 24, max: 30 },
    };
    if (deviceId) c.deviceId = { exact: deviceId };
    else if (facing) c.facingMode = facing;
    return c;
}

export function problemOf(e: unknown): MediaProblem {
    const name = e instanceof Error || e instanceof DOMException ? e.name : '';
    switch (name) {
        case 'NotAllowedError':
        case 'SecurityError':
            return 'denied';
        case 'NotFoundError':
        case 'OverconstrainedError':
            return 'missing';
        case 'NotReadableError':
        case 'AbortError':
            return 'busy';
    }
    return 'error';
}

async function get(c: MediaStreamConstraints): Promise<MediaStream> {
    return navigator.mediaDevices.getUserMedia(c);
}

// Asks for both at once; when that fails because something is missing or
// busy, takes what is there, so a computer without a camera still talks.
export async function acquire(wantVideo: boolean): Promise<Acquired> {
    if (!navigator.mediaDevices?.getUserMedia) {
        return { audio: null, video: null, problem: window.isSecureContext ? 'error' : 'insecure' };
    }
    try {
        const s = await get({ audio: AUDIO, video: wantVideo ? videoConstraints('user', null) : false });
        return { audio: s.getAudioTracks()[0] ?? null, video: s.getVideoTracks()[0] ?? null, problem: null };
    } catch (e) {
        const first = problemOf(e);
        if (first === 'denied') return { audio: null, video: null, problem: 'denied' };
        let audio: MediaStreamTrack | null = null;
        let video: MediaStreamTrack | null = null;
        let problem: MediaProblem | null = first;
        try {
            audio = (await get({ audio: AUDIO })).getAudioTracks()[0] ?? null;
        } catch (e2) {
            problem = problemOf(e2);
        }
        if (wantVideo) {
            try {
                video = (await get({ video: videoConstraints('user', null) })).getVideoTracks()[0] ?? null;
            } catch {
                // no camera: an audio-only call is fine
            }
        }
        if (audio && video) problem = null;
        else if (audio && wantVideo) problem = first === 'busy' ? 'busy' : 'missing';
        return { audio, video, problem };
    }
}

export async function newVideo(facing: 'user' | 'environment' | null,
                               deviceId: string | null): Promise<MediaStreamTrack> {
    const s = await get({ video: videoConstraints(facing, deviceId) });
    const t = s.getVideoTracks()[0];
    if (!t) throw new DOMException('no video track', 'NotFoundError');
    return t;
}

export async function newAudio(deviceId: string | null): Promise<MediaStreamTrack> {
    const c: MediaTrackConstraints = { ...AUDIO };
    if (deviceId) c.deviceId = { exact: deviceId };
    const s = await get({ audio: c });
    const t = s.getAudioTracks()[0];
    if (!t) throw new DOMException('no audio track', 'NotFoundError');
    return t;
}

export interface DeviceLists {
    cameras: MediaDeviceInfo[];
    microphones: MediaDeviceInfo[];
}

export async function listDevices(): Promise<DeviceLists> {
    try {
        const all = await navigator.mediaDevices.enumerateDevices();
        return {
            cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
            microphones: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
        };
    } catch {
        return { cameras: [], microphones: [] };
    }
}

export function canShareScreen(): boolean {
    // iOS has no getDisplayMedia; offering it there would only fail.
    return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

export async function screenTrack(): Promise<MediaStreamTrack> {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const t = s.getVideoTracks()[0];
    if (!t) throw new DOMException('no screen track', 'NotFoundError');
    return t;
}

// Which browser's instructions to show when access is denied.
export type BrowserKind = 'ios' | 'safari' | 'firefox' | 'android' | 'chrome';

export function browserKind(ua: string): BrowserKind {
    if (/iPhone|iPad|iPod/.test(ua)) return 'ios';
    if (/Firefox\//.test(ua)) return 'firefox';
    if (/Android/.test(ua)) return 'android';
    if (/Safari\//.test(ua) && !/Chrom(e|ium)\//.test(ua)) return 'safari';
    return 'chrome';
}
