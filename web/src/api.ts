// Client for the rooms REST API of the nginx module; its calls never throw.

export interface NewRoom {
    token: string;
    url: string;
    expiresAt: string;
    maxParticipants: number;
    // The creator's secret: it alone ends the room for everyone.
    ownerKey?: string;
}

export interface RoomState {
    token: string;
    participants: number;
    maxParticipants: number;
    expiresAt: string;
}

// status 0 with error "network" means no HTTP answer at all.
export interface ApiError {
    ok: false;
    status: number;
    error: string;
    message: string;
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
    return {
        ok: false,
        status: res.status,
        error: typeof err['error'] === 'string' ? err['error'] : 'unexpected',
        message: typeof err['message'] === 'string' ? err['message'] : '',
    };
}

// maxParticipants: omitted, the server's default (a call for 2). oneTime:
// the link stops admitting people once its first call has ended.
export function createRoom(maxParticipants?: number, oneTime = false): Promise<ApiResult<NewRoom>> {
    const options: Record<string, unknown> = {};
    if (maxParticipants !== undefined) options['maxParticipants'] = maxParticipants;
    if (oneTime) options['oneTime'] = true;
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
