// Every user-visible text of the client, in English and Russian, and the choice between them.

const en = {
    homeTitle: 'Video call by one link',
    heading: 'Video call by one link',
    intro: 'Create a link and send it to the people you want to talk to. Anyone with the link can join.',
    create: 'Create link',
    creating: 'Creating a link…',
    linkLabel: 'Link to the call',
    linkReady: 'Your link is ready. Send it to the people you want to call.',
    copy: 'Copy link',
    copied: 'Link copied. Paste it into a message.',
    copySelected: 'The link is selected. Copy it yourself: press Ctrl+C, or touch and hold it.',
    start: 'Start the call',
    errRateLimited: 'Too many new links from your address. Wait a minute and try again.',
    errZoneFull: 'The server is full right now. Try again in a few minutes.',
    errCreate: 'Could not create a link. Try again in a minute.',
    errNetwork: 'Cannot reach the server. Check your connection.',
    roomTitle: 'Video call',
    roomChecking: 'Checking the link…',
    // The one sentence to replace once signaling exists.
    roomComingSoon: 'This call link works. The video call itself is coming soon.',
    roomInvalid: 'This link is not valid or has expired.',
    roomServerError: 'The server could not check this link. Try again in a minute.',
    newLink: 'Create a new link',
    otherLang: 'Русский',
};

export type TextKey = keyof typeof en;

// Typed against en so a missing or extra key fails the build.
const ru: Record<TextKey, string> = {
    homeTitle: 'Видеозвонок по ссылке',
    heading: 'Видеозвонок по ссылке',
    intro: 'Создайте ссылку и отправьте её тем, с кем хотите поговорить. Присоединиться может любой, у кого есть ссылка.',
    create: 'Создать ссылку',
    creating: 'Создаём ссылку…',
    linkLabel: 'Ссылка на звонок',
    linkReady: 'Ссылка готова. Отправьте её тем, кому хотите позвонить.',
    copy: 'Скопировать ссылку',
    copied: 'Ссылка скопирована. Вставьте её в сообщение.',
    copySelected: 'Ссылка выделена. Скопируйте её сами: нажмите Ctrl+C или удерживайте палец на ссылке.',
    start: 'Начать звонок',
    errRateLimited: 'С вашего адреса создано слишком много ссылок. Подождите минуту и попробуйте снова.',
    errZoneFull: 'Сервер сейчас перегружен. Попробуйте снова через несколько минут.',
    errCreate: 'Не удалось создать ссылку. Попробуйте снова через минуту.',
    errNetwork: 'Нет связи с сервером. Проверьте подключение к интернету.',
    roomTitle: 'Видеозвонок',
    roomChecking: 'Проверяем ссылку…',
    roomComingSoon: 'Ссылка на звонок работает. Сам видеозвонок скоро появится.',
    roomInvalid: 'Эта ссылка недействительна или срок её действия истёк.',
    roomServerError: 'Сервер не смог проверить ссылку. Попробуйте снова через минуту.',
    newLink: 'Создать новую ссылку',
    otherLang: 'English',
};

export type Lang = 'en' | 'ru';
const tables: Record<Lang, Record<TextKey, string>> = { en, ru };

function isLang(s: string | null | undefined): s is Lang {
    return s === 'en' || s === 'ru';
}

const forced = new URLSearchParams(location.search).get('lang');

function pickLang(): Lang {
    if (isLang(forced)) return forced;
    // The first of the user's languages that we have wins, so a German who
    // also reads Russian gets Russian rather than our English default.
    const prefs = navigator.languages?.length ? navigator.languages : [navigator.language];
    for (const p of prefs) {
        const base = p.toLowerCase().split('-')[0];
        if (isLang(base)) return base;
    }
    return 'en';
}

export const lang: Lang = pickLang();
export const t: Record<TextKey, string> = tables[lang];

// Links inside the site keep an explicit ?lang choice; links meant for other
// people never carry it, so each of them gets their own language.
export function localHref(path: string): string {
    return isLang(forced) ? `${path}?lang=${forced}` : path;
}

function isTextKey(k: string): k is TextKey {
    return Object.prototype.hasOwnProperty.call(en, k);
}

// The pages carry data-i18n keys instead of text so every sentence lives in
// the tables above; a key the HTML gets wrong shows up in the console.
export function localize(titleKey: TextKey): void {
    document.documentElement.lang = lang;
    document.title = t[titleKey];
    for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
        const key = el.dataset['i18n'] ?? '';
        if (isTextKey(key)) el.textContent = t[key];
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
