// The link hand-over block used on both pages: the link in large type, Copy,
// Send (navigator.share where there is one) and a QR code.
import { setupCopy } from './copy.js';
import { announce, byId } from './dom.js';
import { t } from './i18n.js';

export interface ShareParts {
    field: HTMLTextAreaElement;
    copy: HTMLButtonElement;
    send: HTMLButtonElement;
    status: HTMLElement;
    qr: HTMLElement;
}

// Both pages use the same element ids for the block.
export function setupPageShare(): (url: string) => void {
    return setupShare({
        field: byId('link', HTMLTextAreaElement),
        copy: byId('copy', HTMLButtonElement),
        send: byId('send', HTMLButtonElement),
        status: byId('copy-status', HTMLParagraphElement),
        qr: byId('qr', HTMLDivElement),
    });
}

export function setupShare(p: ShareParts): (url: string) => void {
    setupCopy(p.copy, p.field, p.status);
    // Only where the system share sheet exists (phones, some desktops).
    p.send.hidden = typeof navigator.share !== 'function';
    p.send.addEventListener('click', async () => {
        try {
            await navigator.share({ title: t.roomTitle, text: t.shareText, url: p.field.value });
        } catch (e) {
            // AbortError: the person closed the sheet; nothing to say.
            if (!(e instanceof DOMException && e.name === 'AbortError')) {
                announce(p.status, t.copySelected);
                p.field.focus();
                p.field.select();
            }
        }
    });
    let shown = '';
    return (url: string) => {
        p.field.value = url;
        if (shown === url) return;
        shown = url;
        void import('./qr.js').then(({ qrSvg }) => {
            p.qr.replaceChildren(qrSvg(url, t.qrLabel));
        });
    };
}
