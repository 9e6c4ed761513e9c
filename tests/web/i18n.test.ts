import { describe, expect, it } from 'vitest';
import { chooseLang, en, fill, ru, tables } from '../../web/src/texts.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('texts', () => {
    it('both tables have the same keys', () => {
        expect(Object.keys(ru).sort()).toEqual(Object.keys(en).sort());
    });

    it('no text is empty, and each translation keeps its placeholders', () => {
        for (const table of Object.values(tables)) {
            for (const [k, v] of Object.entries(table)) {
                expect(v.trim(), k).not.toBe('');
            }
        }
        for (const k of Object.keys(en) as (keyof typeof en)[]) {
            expect(placeholders(ru[k]), k).toEqual(placeholders(en[k]));
        }
    });

    it('every data-i18n key in the pages exists', async () => {
        const fs = await import('node:fs');
        for (const page of ['web/public/index.html', 'web/public/room.html']) {
            const html = fs.readFileSync(page, 'utf8');
            for (const m of html.matchAll(/data-i18n(?:-label)?="([^"]+)"/g)) {
                expect(Object.keys(en), `${page}: ${m[1]}`).toContain(m[1]);
            }
        }
    });

    it('fills placeholders', () => {
        expect(fill('Person {n}', { n: 3 })).toBe('Person 3');
        expect(fill('{x} stays', {})).toBe('{x} stays');
    });
});

describe('language choice', () => {
    it('follows the browser', () => {
        expect(chooseLang(null, null, ['ru-RU', 'en'])).toBe('ru');
        expect(chooseLang(null, null, ['de-DE', 'ru'])).toBe('ru');
        expect(chooseLang(null, null, ['de-DE', 'fr'])).toBe('en');
        expect(chooseLang(null, null, [])).toBe('en');
    });

    it('the server configuration overrides the browser', () => {
        expect(chooseLang(null, 'ru', ['en-US'])).toBe('ru');
        expect(chooseLang(null, ' EN ', ['ru-RU'])).toBe('en');
        expect(chooseLang(null, 'de', ['ru-RU'])).toBe('ru');
    });

    it('?lang= overrides everything', () => {
        expect(chooseLang('en', 'ru', ['ru-RU'])).toBe('en');
        expect(chooseLang('ru', null, ['en-US'])).toBe('ru');
        expect(chooseLang('xx', null, ['ru'])).toBe('ru');
    });
});
