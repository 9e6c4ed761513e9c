// Client for the rooms REST API of the nginx module; its calls never throw.

export interface NewRoom {
    token: string;
    url: string;
    expiresAt: string;
    maxParticipants: number;
    // The creator's secret: it alone ends the room for everyone.
    ownerKey?: string;
    // A PIN room's pass, so that its creator is never asked for the PIN.
    pass?: string;
}

export interface RoomState {
    token: string;
    participants: number;
    maxParticipants: number;
    expiresAt: string;
    pin?: boolean;      // joiners need a PIN
    node?: string;      // which node of a fleet answered
}

// status 0 with error "network" means no HTTP answer at all.
export interface ApiError {
    ok: false;
    status: number;
    error: string;
    message: string;
    // A refused PIN: the tries left before a lock, and the seconds until
    // it ends (from the body, or the Retry-After header).
    triesLeft?: number;
    retryAfter?: number;
}

export type ApiResult<T> = { ok: true; data: T } | ApiError;

const TIMEOUT_MS = 15000;

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null;
}

async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string,
                       valid: (v: Record<string, unknown>) => boolean,
                       headers: Record<string, string> = {},
                       payload?: unknown): Promise<ApiResult<T>> {
    let res: Response;
    try {
        const json = payload === undefined ? {} : { 'Content-Type': 'application/json' };
        res = await fetch(path, {
            method,
            headers: { Accept: 'application/json', ...json, ...headers },
            body: payload === undefined ? null : JSON.stringify(payload),
            cache: 'no-store',
            // A hung connection must end in a message, not an endless wait.
            signal: AbortSignal.timeout(TIMEOUT_MS),
        });
    } catch {
        return { ok: false, status: 0, error: 'network', message: '' };
    }
    if (res.status === 204) return { ok: true, data: null as T };
    let body: unknown = null;
    try {
        body = await res.json();
    } catch {
        // A proxy in between may answer with HTML; the status still tells.
    }
    if (res.ok && isObject(body) && valid(body)) {
        return { ok: true, data: body as unknown as T };
    }
    const err = isObject(body) ? body : {};
    const failed: ApiError = {
        ok: false,
        status: res.status,
        error: typeof err['error'] === 'string' ? err['error'] : 'unexpected',
        message: typeof err['message'] === 'string' ? err['message'] : '',
    };
    if (typeof err['triesLeft'] === 'number') failed.triesLeft = err['triesLeft'];
    const retry = typeof err['retryAfter'] === 'number' ? err['retryAfter'] : Number(res.headers.get('Retry-After'));
    if (retry > 0) failed.retryAfter = retry;
    return failed;
}

// maxParticipants: omitted, the server's default (a call for 2). oneTime:
// the link stops admitting people once its first call has ended. pin: 4-6
// digits that joiners must type; empty, none.
export function createRoom(maxParticipants?: number, oneTime = false, pin = ''): Promise<ApiResult<NewRoom>> {
    const options: Record<string, unknown> = {};
    if (maxParticipants !== undefined) options['maxParticipants'] = maxParticipants;
    if (oneTime) options['oneTime'] = true;
    if (pin) options['pin'] = pin;
    // The url ends up in href and in the link people share, so only accept
    // a path on this site.
    return call<NewRoom>('POST', '/api/rooms',
        (b) => typeof b['token'] === 'string' && typeof b['url'] === 'string'
               && b['url'].startsWith('/r/'),
        {}, Object.keys(options).length ? options : undefined);
}

export function getRoom(token: string): Promise<ApiResult<RoomState>> {
    return call<RoomState>('GET', `/api/rooms/${encodeURIComponent(token)}`,
        (b) => typeof b['token'] === 'string');
}

// A PIN room's door: the right PIN earns the pass a join must carry; a
// wrong one says triesLeft (403), a locked room retryAfter (429).
export function admit(token: string, pin: string): Promise<ApiResult<{ pass: string }>> {
    return call<{ pass: string }>('POST', `/api/rooms/${encodeURIComponent(token)}/admit`,
        (b) => typeof b['pass'] === 'string', {}, { pin });
}

// DELETE with the owner key: ends the room for everyone (204), for good.
export function endRoom(token: string, ownerKey: string): Promise<ApiResult<null>> {
    return call<null>('DELETE', `/api/rooms/${encodeURIComponent(token)}`, () => false,
        { Authorization: `Bearer ${ownerKey}` });
}

// The owner keys of the rooms this browser created, so that the page of
// such a room offers "End the call for everyone". Storage may be off (a
// private window): then nobody can end the room by hand, and it expires.
const ownerItem = (token: string): string => `webcall:owner:${token}`;

export function saveOwnerKey(token: string, key: string): void {
    try { localStorage.setItem(ownerItem(token), key); } catch { /* storage off */ }
}

export function ownerKeyOf(token: string): string | null {
    try { return localStorage.getItem(ownerItem(token)); } catch { return null; }
}

export function forgetOwnerKey(token: string): void {
    try { localStorage.removeItem(ownerItem(token)); } catch { /* storage off */ }
}

// The passes of PIN rooms this browser got in to (or created), kept so that
// a reload or a reconnect never asks for the PIN again. early.ts reads the
// same key (tests/web/early.test.ts checks that they agree).
export const passItem = (token: string): string => `webcall:pass:${token}`;

// Kept in memory too: with storage off (a private window) the page still
// joins after the PIN, and is asked again only after a reload.
const passes = new Map<string, string>();

export function savePass(token: string, pass: string): void {
    passes.set(token, pass);
    try { localStorage.setItem(passItem(token), pass); } catch { /* storage off */ }
}

export function passOf(token: string): string | null {
    try { return passes.get(token) ?? localStorage.getItem(passItem(token)); } catch { return passes.get(token) ?? null; }
}

export function forgetPass(token: string): void {
    passes.delete(token);
    try { localStorage.removeItem(passItem(token)); } catch { /* storage off */ }
}
