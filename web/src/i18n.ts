// The language of this page: chosen once from ?lang=, the server's
// <meta name="webcall-lang">, and the browser; and filling the page's
// data-i18n elements from the tables in texts.ts.
import { chooseLang, isLang, tables, en, type Lang, type TextKey, type Texts } from './texts.js';

export type { Lang, TextKey };

const forced = new URLSearchParams(location.search).get('lang');
const meta = document.querySelector<HTMLMetaElement>('meta[name="webcall-lang"]')?.content ?? null;
const prefs = navigator.languages?.length ? navigator.languages : [navigator.language];

export const lang: Lang = chooseLang(forced, meta, prefs);
export const t: Texts = tables[lang];

// Links inside the site keep an explicit ?lang choice; links meant for other
// people never carry it, so each of them gets their own language.
export function localHref(path: string): string {
    return isLang(forced) ? `${path}?lang=${forced}` : path;
}

function isTextKey(k: string): k is TextKey {
    return Object.prototype.hasOwnProperty.call(en, k);
}

// The pages carry data-i18n (text) and data-i18n-label (aria-label) keys
// instead of text, so every sentence lives in the tables.
export function localize(titleKey: TextKey): void {
    document.documentElement.lang = lang;
    document.title = t[titleKey];
    for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
        const key = el.dataset['i18n'] ?? '';
        if (isTextKey(key)) el.textContent = t[key];
        else console.error(`i18n: unknown key "${key}"`);
    }
    for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-label]')) {
        const key = el.dataset['i18nLabel'] ?? '';
        if (isTextKey(key)) el.setAttribute('aria-label', t[key]);
        else console.error(`i18n: unknown key "${key}"`);
    }
    const other: Lang = lang === 'en' ? 'ru' : 'en';
    const sw = document.getElementById('lang-switch');
    if (sw instanceof HTMLAnchorElement) {
        sw.href = `${location.pathname}?lang=${other}`;
        sw.lang = other;
        sw.hreflang = other;
    }
}
