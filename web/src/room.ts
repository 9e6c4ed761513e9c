// Room page (/r/<token>): checks that the link is alive and offers to share it.
import { getRoom } from './api.js';
import { setupCopy } from './copy.js';
import { announce, byId } from './dom.js';
import { localHref, localize, t } from './i18n.js';

localize('roomTitle');

const status = byId('status', HTMLParagraphElement);
const share = byId('share', HTMLElement);
const field = byId('link', HTMLTextAreaElement);
const copyBtn = byId('copy', HTMLButtonElement);
const copyStatus = byId('copy-status', HTMLParagraphElement);
const newLink = byId('new-link', HTMLAnchorElement);

setupCopy(copyBtn, field, copyStatus);
newLink.href = localHref('/');

// Tokens are base58; anything outside a URL-safe alphabet is not worth a
// request (and must not be pasted into the API path).
const TOKEN_PATH = /^\/r\/([A-Za-z0-9_-]{1,128})\/?$/;

function showLink(token: string): void {
    field.value = `${location.origin}/r/${token}`;
    share.hidden = false;
}

function showInvalid(): void {
    announce(status, t.roomInvalid, true);
    newLink.hidden = false;
}

async function main(): Promise<void> {
    const token = TOKEN_PATH.exec(location.pathname)?.[1];
    if (!token) {
        showInvalid();
        return;
    }
    const res = await getRoom(token);
    if (res.ok) {
        announce(status, t.roomComingSoon);
        showLink(token);
    } else if (res.status === 404 || res.status === 400) {
        showInvalid();
    } else if (res.status === 0) {
        // The link itself may be fine; let people still pass it on.
        announce(status, t.errNetwork, true);
        showLink(token);
    } else {
        announce(status, t.roomServerError, true);
        showLink(token);
    }
}

void main();
