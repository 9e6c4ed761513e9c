// Client for the rooms REST API of the nginx module; its calls never throw.

export interface NewRoom {
    token: string;
    url: string;
    expiresAt: string;
    maxParticipants: number;
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

async function call<T>(method: 'GET' | 'POST', path: string,
                       valid: (v: Record<string, unknown>) => boolean): Promise<ApiResult<T>> {
    let res: Response;
    try {
        res = await fetch(path, {
            method,
            headers: { Accept: 'application/json' },
            cache: 'no-store',
            // A hung connection must end in a message, not an endless wait.
            signal: AbortSignal.timeout(TIMEOUT_MS),
        });
    } catch {
        return { ok: false, status: 0, error: 'network', message: '' };
    }
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

export function createRoom(): Promise<ApiResult<NewRoom>> {
    // The url ends up in href and in the link people share, so only accept
    // a path on this site.
    return call<NewRoom>('POST', '/api/rooms',
        (b) => typeof b['token'] === 'string' && typeof b['url'] === 'string'
               && b['url'].startsWith('/r/'));
}

export function getRoom(token: string): Promise<ApiResult<RoomState>> {
    return call<RoomState>('GET', `/api/rooms/${encodeURIComponent(token)}`,
        (b) => typeof b['token'] === 'string');
}
