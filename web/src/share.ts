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
    let watch: IntersectionObserver | null = null;
    const draw = (url: string) => {
        void import('./qr.js').then(({ qrSvg }) => {
            if (shown === url) p.qr.replaceChildren(qrSvg(url, t.qrLabel));
        });
    };
    return (url: string) => {
        p.field.value = url;
        if (shown === url) return;
        shown = url;
        // The QR code (a chunk to load and a drawing to make) only once it
        // is on screen: someone who joins a call in progress never sees it
        // at first, and then it costs nothing while their call sets up.
        watch?.disconnect();
        watch = null;
        if (typeof IntersectionObserver !== 'function') {
            draw(url);
            return;
        }
        const io = new IntersectionObserver((entries) => {
            if (!entries.some((e) => e.isIntersecting)) return;
            io.disconnect();
            if (watch === io) watch = null;
            draw(url);
        });
        watch = io;
        // The link field: the QR box itself has no size while empty.
        io.observe(p.field);
    };
}
