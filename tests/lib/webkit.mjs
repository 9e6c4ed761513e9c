// WebKit, the Safari engine, for the end-to-end tests: Debian's WebKitGTK
// MiniBrowser on its own Xvfb display, driven by WebKitWebDriver over plain
// W3C WebDriver (fetch, no client library). MiniBrowser has no headless
// mode, hence the X server.
//
//   const wk = await startWebKit();          // Xvfb + WebKitWebDriver
//   const s = await wk.session();            // a MiniBrowser
//   await s.go(url); await s.exec('return document.title');
//   await s.close(); await wk.stop();        // stop(): every process, by pid
//
// Debian's WebKitGTK is built without WebRTC (no RTCPeerConnection), so it
// shows how the pages behave in a browser that cannot call; its mock
// camera feeds getUserMedia.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TOP, freePort, sleep, tempDir } from './nginx.mjs';

export const MINIBROWSER = process.env.MINIBROWSER_BIN || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_BIN || '/usr/bin/WebKitWebDriver';
export const XVFB = process.env.XVFB_BIN || '/usr/bin/Xvfb';

// Why WebKit cannot run here, or null: startWebKit fails with it (the test
// never skips, so a missing install step shows).
export function webkitMissing() {
    const gone = [MINIBROWSER, WEBKIT_DRIVER, XVFB].filter((f) => !fs.existsSync(f));
    return gone.length ? `missing ${gone.join(', ')} (make deps)` : null;
}

// Every process started here, killed on exit whatever happens.
const live = new Set();
function killAll() {
    for (const child of live) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { killAll(); process.exit(130); });

// Its own process group, so that what it starts (MiniBrowser's web and
// network processes) goes with it.
function start(cmd, args, env = {}) {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'],
                                     env: { ...process.env, ...env } });
    child.stderrText = '';
    child.stderr.on('data', (d) => { child.stderrText = (child.stderrText + d).slice(-4000); });
    live.add(child);
    child.on('exit', () => live.delete(child));
    return child;
}

async function stopChild(child) {
    if (!live.has(child)) return;
    const exited = new Promise((r) => child.once('exit', r));
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    const timeout = sleep(3000).then(() => 'timeout');
    if (await Promise.race([exited, timeout]) === 'timeout') {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await exited;
    }
}

// A display number nobody uses: no socket and no lock file.
function freeDisplay() {
    for (let n = 90 + Math.floor(Math.random() * 100); n < 400; n++) {
        if (!fs.existsSync(`/tmp/.X11-unix/X${n}`) && !fs.existsSync(`/tmp/.X${n}-lock`)) return n;
    }
    throw new Error('no free X display number');
}

async function waitFor(what, fn, child, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`${what}: exited ${child.exitCode}: ${child.stderrText}`);
        if (await fn()) return;
        await sleep(100);
    }
    throw new Error(`${what}: not ready after ${timeoutMs} ms: ${child.stderrText}`);
}

export async function startWebKit({ width = 1280, height = 800 } = {}) {
    const why = webkitMissing();
    if (why) throw new Error(`WebKit: ${why}`);
    let xvfb;
    let display;
    // Two runs may pick the same number at once: the loser's Xvfb exits.
    for (let tries = 0; ; tries++) {
        display = freeDisplay();
        xvfb = start(XVFB, [`:${display}`, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp']);
        try {
            await waitFor('Xvfb', () => fs.existsSync(`/tmp/.X11-unix/X${display}`), xvfb);
            break;
        } catch (e) {
            await stopChild(xvfb);
            if (tries >= 3) throw e;
        }
    }
    const port = await freePort();
    const driver = start(WEBKIT_DRIVER, [`--port=${port}`], { DISPLAY: `:${display}` });
    const url = `http://127.0.0.1:${port}`;
    try {
        await waitFor('WebKitWebDriver', async () => {
            try {
                return (await fetch(`${url}/status`)).ok;
            } catch {
                return false;
            }
        }, driver);
    } catch (e) {
        await stopChild(driver);
        await stopChild(xvfb);
        throw e;
    }
    const sessions = new Set();
    return {
        url,
        display,
        // WebKitWebDriver drives one browser at a time: a session left
        // open by a failed test is closed first.
        async session() {
            for (const old of sessions) await old.close().catch(() => undefined);
            sessions.clear();
            const s = await newSession(url);
            sessions.add(s);
            return s;
        },
        // The browsers, then the driver, then the X server, by pid.
        async stop() {
            for (const s of sessions) await s.close().catch(() => undefined);
            await stopChild(driver);
            await stopChild(xvfb);
        },
    };
}

async function wd(base, method, path, body) {
    const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
        const v = json.value ?? {};
        throw new Error(`WebDriver ${method} ${path}: ${res.status} ${v.error ?? ''}: ${v.message ?? ''}`);
    }
    return json.value;
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

async function newSession(driverUrl) {
    const caps = {
        capabilities: {
            alwaysMatch: {
                'webkitgtk:browserOptions': {
                    binary: MINIBROWSER,
                    args: ['--automation', '--enable-media-stream=true', '--enable-mock-capture-devices=true'],
                },
            },
        },
    };
    const value = await wd(driverUrl, 'POST', '/session', caps);
    const base = `${driverUrl}/session/${value.sessionId}`;
    let closed = false;
    const s = {
        id: value.sessionId,
        capabilities: value.capabilities,
        go: (url) => wd(base, 'POST', '/url', { url }),
        url: () => wd(base, 'GET', '/url'),
        exec: (script, ...args) => wd(base, 'POST', '/execute/sync', { script, args }),
        execAsync: (script, ...args) => wd(base, 'POST', '/execute/async', { script, args }),
        async find(css) {
            const el = await wd(base, 'POST', '/element', { using: 'css selector', value: css });
            return el[ELEMENT];
        },
        click: (el) => wd(base, 'POST', `/element/${el}/click`, {}),
        text: (el) => wd(base, 'GET', `/element/${el}/text`),
        displayed: (el) => wd(base, 'GET', `/element/${el}/displayed`),
        async screenshot(file) {
            const png = await wd(base, 'GET', '/screenshot');
            fs.writeFileSync(file, Buffer.from(png, 'base64'));
            return file;
        },
        async close() {
            if (closed) return;
            closed = true;
            await wd(base, 'DELETE', '');
        },
        // Polls fn (a script returning a value) until it is truthy.
        async until(script, what, timeoutMs = 10000, ...args) {
            const deadline = Date.now() + timeoutMs;
            let last;
            while (Date.now() < deadline) {
                last = await s.exec(script, ...args);
                if (last) return last;
                await sleep(150);
            }
            throw new Error(`WebKit: timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
        },
    };
    return s;
}

// --- script errors -----------------------------------------------------------

// WebDriver has no init scripts: a listener installed after navigation
// would miss every error of the page's start. So the pages are served from
// a copy of web/dist whose HTML loads one classic script first of all,
// which records every script error, unhandled rejection, failed load, CSP
// violation and console.error in window.__testErrors. Nothing else in the
// pages changes.
const COLLECTOR = `(function () {
    var errors = window.__testErrors = [];
    window.addEventListener('error', function (e) {
        var el = e.target;
        if (el && el !== window && el.tagName) errors.push('failed to load ' + el.tagName + ' ' + (el.src || el.href || ''));
        else errors.push('error: ' + e.message + ' at ' + e.filename + ':' + e.lineno);
    }, true);
    window.addEventListener('unhandledrejection', function (e) {
        var r = e.reason;
        // JavaScriptCore's stack has no message line
        errors.push('unhandled rejection: ' + (r && r.message ? r.name + ': ' + r.message + ' ' + r.stack : String(r)));
    });
    document.addEventListener('securitypolicyviolation', function (e) {
        errors.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI);
    });
    var ce = console.error;
    console.error = function () {
        errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
        return ce.apply(console, arguments);
    };
})();
`;

export async function errorCollectingRoot() {
    const dist = path.join(TOP, 'web/dist');
    if (!fs.existsSync(path.join(dist, 'room.html'))) throw new Error('web/dist is missing: run `make web` first');
    const root = path.join(await tempDir('webcall-webkit-'), 'web');
    fs.cpSync(dist, root, { recursive: true });
    fs.writeFileSync(path.join(root, 'assets/test-errors.js'), COLLECTOR);
    for (const page of ['index.html', 'room.html']) {
        const file = path.join(root, page);
        const html = fs.readFileSync(file, 'utf8');
        if (!html.includes('<head>')) throw new Error(`${page}: no <head>`);
        fs.writeFileSync(file, html.replace('<head>', '<head>\n<script src="/assets/test-errors.js"></script>'));
        // gzip_static would serve the page as built
        fs.rmSync(`${file}.gz`, { force: true });
    }
    for (const dir of [root, path.join(root, 'assets')]) fs.chmodSync(dir, 0o755);
    process.once('exit', () => fs.rmSync(path.dirname(root), { recursive: true, force: true }));
    return root;
}

export function pageErrors(session) {
    return session.exec('return window.__testErrors || null');
}
