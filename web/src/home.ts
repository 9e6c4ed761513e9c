// Home page: creates a room and hands over its link.
import { createRoom, type ApiError } from './api.js';
import { announce, byId } from './dom.js';
import { lang, localHref, localize, t } from './i18n.js';
import { setupPageShare } from './share.js';

localize('homeTitle');

const createBtn = byId('create', HTMLButtonElement);
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
    }
    // The server words its other errors in English only.
    return lang === 'en' && e.message ? e.message : t.errCreate;
}

let busy = false;

createBtn.addEventListener('click', async () => {
    // aria-disabled rather than disabled: a disabled button drops keyboard
    // focus to the top of the page.
    if (busy) return;
    busy = true;
    createBtn.setAttribute('aria-disabled', 'true');
    announce(status, t.creating);

    const res = await createRoom();

    busy = false;
    createBtn.removeAttribute('aria-disabled');
    if (!res.ok) {
        announce(status, errorText(res), true);
        return;
    }
    showLink(location.origin + res.data.url);
    start.href = localHref(res.data.url);
    createBtn.hidden = true;
    intro.hidden = true;
    result.hidden = false;
    announce(status, t.linkReady);
    // The button that was pressed is gone; put focus on the next step.
    byId('copy', HTMLButtonElement).focus();
});
