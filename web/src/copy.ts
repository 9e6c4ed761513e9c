// The "Copy link" button: clipboard first, selected text as the fallback.
import { announce } from './dom.js';
import { t } from './i18n.js';

async function toClipboard(text: string): Promise<boolean> {
    // navigator.clipboard exists only in secure contexts (https, localhost).
    if (!navigator.clipboard) return false;
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        return false;
    }
}

export function setupCopy(button: HTMLButtonElement, field: HTMLTextAreaElement,
                          status: HTMLElement): void {
    button.addEventListener('click', async () => {
        let ok = await toClipboard(field.value);
        if (!ok) {
            // Plain-http installs have no clipboard API; the old command still
            // works there, and the selection lets people copy by hand if not.
            field.focus();
            field.select();
            try {
                ok = document.execCommand('copy');
            } catch {
                ok = false;
            }
        }
        announce(status, ok ? t.copied : t.copySelected);
    });
}
