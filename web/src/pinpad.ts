// The PIN screen of a PIN room: a big numeric keypad (typing on a keyboard
// works too) in front of the call, until the right PIN earns the room's
// pass (POST .../admit). Shown only when the server asks (pin-required), so
// a room without a PIN never sees it, nor does anyone holding the pass.
import { admit, savePass, type ApiError } from './api.js';
import { announce, byId } from './dom.js';
import { t } from './i18n.js';
import { fill } from './texts.js';

const PIN = /^[0-9]{4,6}$/;
const MAX = 6;

function refusal(e: ApiError): string {
    if (e.status === 0) return t.errNetwork;
    if (e.retryAfter && (e.error === 'too-many-tries' || e.error === 'rate-limited' || e.triesLeft === 0)) {
        const minutes = Math.max(1, Math.ceil(e.retryAfter / 60));
        return minutes === 1 ? t.pinLockedOne : fill(t.pinLocked, { n: minutes });
    }
    if (e.error === 'wrong-pin' && e.triesLeft !== undefined) {
        return e.triesLeft === 1 ? t.pinWrongOne : fill(t.pinWrong, { n: e.triesLeft });
    }
    if (e.status === 410) return t.stLinkEnded;
    if (e.status === 404 || (e.status === 400 && e.error === 'bad-token')) return t.stInvalid;
    if (e.error === 'bad-pin') return t.pinShort;
    return t.errCreate;
}

// The screen's elements and what a right PIN leads to; wired once.
interface Pad {
    screen: HTMLElement;
    call: HTMLElement;
    input: HTMLInputElement;
    status: HTMLParagraphElement;
    ok: HTMLButtonElement;
    token: string;
    admitted: () => void;
    busy: boolean;
}

let pad: Pad | null = null;

function type(p: Pad, digits: string): void {
    p.input.value = (p.input.value + digits).replace(/[^0-9]/g, '').slice(0, MAX);
}

async function submit(p: Pad): Promise<void> {
    type(p, '');
    if (p.busy) return;
    if (!PIN.test(p.input.value)) {
        announce(p.status, t.pinShort, true);
        p.input.focus();
        return;
    }
    p.busy = true;
    p.ok.setAttribute('aria-disabled', 'true');
    announce(p.status, t.pinChecking);
    const res = await admit(p.token, p.input.value);
    p.busy = false;
    p.ok.removeAttribute('aria-disabled');
    p.input.value = '';
    if (res.ok) {
        savePass(p.token, res.data.pass);
        p.status.textContent = '';
        p.screen.hidden = true;
        p.call.hidden = false;
        p.admitted();
        return;
    }
    announce(p.status, refusal(res), true);
    p.input.focus();
}

function wire(token: string, admitted: () => void): Pad {
    const p: Pad = {
        screen: byId('pin', HTMLElement),
        call: byId('call', HTMLDivElement),
        input: byId('pin-input', HTMLInputElement),
        status: byId('pin-status', HTMLParagraphElement),
        ok: byId('pin-ok', HTMLButtonElement),
        token, admitted, busy: false,
    };
    for (const key of p.screen.querySelectorAll<HTMLButtonElement>('button[data-digit]')) {
        key.addEventListener('click', () => type(p, key.dataset['digit'] ?? ''));
    }
    byId('pin-erase', HTMLButtonElement).addEventListener('click', () => {
        p.input.value = p.input.value.slice(0, -1);
    });
    p.input.addEventListener('input', () => type(p, ''));
    byId('pin-form', HTMLFormElement).addEventListener('submit', (e) => {
        e.preventDefault();
        void submit(p);
    });
    // Digits typed while a keypad button has the focus go in too.
    p.screen.addEventListener('keydown', (e) => {
        if (e.target === p.input || e.ctrlKey || e.metaKey || e.altKey) return;
        if (/^[0-9]$/.test(e.key)) {
            type(p, e.key);
            e.preventDefault();
        } else if (e.key === 'Backspace') {
            p.input.value = p.input.value.slice(0, -1);
            e.preventDefault();
        }
    });
    return p;
}

// Shows the PIN screen in place of the call; admitted runs once the pass is
// stored. Asking again while it is shown changes nothing.
export function askPin(token: string, admitted: () => void): void {
    pad ??= wire(token, admitted);
    pad.token = token;
    pad.admitted = admitted;
    if (!pad.screen.hidden) return;
    pad.call.hidden = true;
    pad.screen.hidden = false;
    pad.input.focus();
}
