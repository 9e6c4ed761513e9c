// Phones without a phone (issue 18): the emulated devices of
// phone.test.mjs, freeze.test.mjs and sound.test.mjs, and the checks they
// share. Chromium's device emulation gives a phone's viewport, touch,
// mobile layout and user agent; Emulation.setCPUThrottlingRate slows the
// page like a cheap phone.
import { sleep } from '../lib/nginx.mjs';

// A cheap Android phone: 360x740 CSS px, touch, Chrome's mobile agent.
export const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 ' +
    '(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';
export const ANDROID = {
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    userAgent: ANDROID_UA,
};

// An iPhone's size and agent (the sound test plays iOS's autoplay rule).
export const IPHONE = {
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 ' +
        '(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
};

// How much slower than the machine the phone's page runs.
export const CPU_SLOWDOWN = 4;

// cdp: a CDP session on the phone's page (Playwright's
// context.newCDPSession(page) or Puppeteer's page.createCDPSession()).
export async function slowCpu(cdp, rate = CPU_SLOWDOWN) {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
}

// Polls fn until it returns something truthy, at most timeoutMs.
export async function until(what, fn, timeoutMs, everyMs = 100) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        last = await fn();
        if (last) return last;
        await sleep(everyMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}

// In the page: what a finger can reach. Every visible control of the call
// (buttons, links, fields) must lie inside the viewport, be the topmost
// thing at its centre (nothing covers it), measure at least 48x48 CSS px
// and hold its label within its edges; the page must not scroll either way. Returns the problems found, as
// sentences (none: an empty list).
export function reachProblems() {
    const out = [];
    const w = window.innerWidth;
    const h = window.innerHeight;
    const doc = document.scrollingElement ?? document.documentElement;
    if (doc.scrollWidth > w) out.push(`the page scrolls sideways: scrollWidth ${doc.scrollWidth} > ${w}`);
    if (doc.scrollHeight > h) out.push(`the page scrolls down: scrollHeight ${doc.scrollHeight} > ${h}`);
    const controls = [...document.querySelectorAll('button, a[href], select, input, textarea, [role="button"]')]
        .filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
    if (controls.length === 0) out.push('no control on screen');
    for (const e of controls) {
        const r = e.getBoundingClientRect();
        const name = `#${e.id || e.className || e.tagName} "${(e.textContent ?? '').trim().slice(0, 20)}"`;
        if (r.left < 0 || r.top < 0 || r.right > w + 0.5 || r.bottom > h + 0.5) {
            out.push(`${name} is off screen: ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)} in ${w}x${h}`);
            continue;
        }
        if (r.width < 48 || r.height < 48) out.push(`${name} is ${Math.round(r.width)}x${Math.round(r.height)}, under 48x48`);
        // its words inside its own edges, not spilling over them
        if (e.scrollWidth > e.clientWidth + 1 && e.tagName !== 'TEXTAREA' && e.tagName !== 'INPUT') {
            out.push(`${name}: its label (${e.scrollWidth} px) is wider than the button (${e.clientWidth} px)`);
        }
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!hit || !(e === hit || e.contains(hit))) {
            out.push(`${name} is covered at its centre by ${hit ? `${hit.tagName}#${hit.id}.${hit.className}` : 'nothing'}`);
        }
    }
    return out;
}

// The controls of the call bar, for the report: which ones were checked.
export function controlIds() {
    return [...document.querySelectorAll('.controls button, #lang-switch')]
        .filter((e) => e.getClientRects().length > 0).map((e) => e.id);
}
