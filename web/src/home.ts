// Home page: creates a room and hands over its link.
import { createRoom, saveOwnerKey, savePass, type ApiError } from './api.js';
import { announce, byId } from './dom.js';
import { lang, localHref, localize, t } from './i18n.js';
import { setupPageShare } from './share.js';
import { fill } from './texts.js';

localize('homeTitle');

const createBtn = byId('create', HTMLButtonElement);
const familyBtn = byId('create-family', HTMLButtonElement);
const FAMILY = 4;               // "Family call": a room for up to 4
const options = byId('options', HTMLDetailsElement);
const oneTime = byId('one-time', HTMLInputElement);
const pin = byId('pin-new', HTMLInputElement);
const intro = byId('intro', HTMLParagraphElement);
const status = byId('status', HTMLParagraphElement);
const result = byId('result', HTMLElement);
const start = byId('start', HTMLAnchorElement);
const showLink = setupPageShare();

function errorText(e: ApiError): string {
    switch (e.error) {
        case 'network': return t.errNetwork;
        case 'rate-limited': return t.errRateLimited;
        case 'zone-full': return t.errZoneFull;
        case 'bad-pin': return t.pinBad;
    }
    // The server words its other errors in English only.
    return lang === 'en' && e.message ? e.message : t.errCreate;
}

let busy = false;

async function create(button: HTMLButtonElement, max?: number): Promise<void> {
    // aria-disabled rather than disabled: a disabled button drops keyboard
    // focus to the top of the page.
    if (busy) return;
    const code = pin.value.trim();
    if (code && !/^[0-9]{4,6}$/.test(code)) {
        options.open = true;
        announce(status, t.pinBad, true);
        pin.setAttribute('aria-invalid', 'true');
        pin.focus();
        return;
    }
    pin.removeAttribute('aria-invalid');
    busy = true;
    button.setAttribute('aria-disabled', 'true');
    announce(status, t.creating);

    const res = await createRoom(max, oneTime.checked, code);

    busy = false;
    button.removeAttribute('aria-disabled');
    if (!res.ok) {
        announce(status, errorText(res), true);
        return;
    }
    if (res.data.ownerKey) saveOwnerKey(res.data.token, res.data.ownerKey);
    // the creator is never asked for the PIN they chose
    if (res.data.pass) savePass(res.data.token, res.data.pass);
    showLink(location.origin + res.data.url);
    start.href = localHref(res.data.url);
    createBtn.hidden = true;
    familyBtn.hidden = true;
    options.hidden = true;
    intro.hidden = true;
    result.hidden = false;
    const ready = max ? fill(t.linkReadyFamily, { n: max }) : t.linkReady;
    const notes = [ready, oneTime.checked ? t.linkOneTime : '', res.data.pass ? t.linkPin : ''];
    announce(status, notes.filter(Boolean).join(' '));
    // The button that was pressed is gone; put focus on the next step.
    byId('copy', HTMLButtonElement).focus();
}

createBtn.addEventListener('click', () => void create(createBtn));
familyBtn.addEventListener('click', () => void create(familyBtn, FAMILY));
