// `nginx -t` with the webcall module: the shipped configuration passes, and
// each mistake a sysadmin can make is refused with a message that names the
// directive and what is wrong.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { nginxTest, freePort, MODULE } from '../lib/nginx.mjs';

const GOOD_SECRET = 'a'.repeat(32);     // exactly the minimum

// A minimal nginx.conf using the module, as a function of its folder (which
// also holds the secret file). zones: the webcall_zone arguments; secret:
// the secret file's content (null: no webcall_secret_file directive;
// {path}: a given path); api/signal: the zones the locations name (null: no
// such location); http: more lines in http {}, a function of the folder.
function conf({ zones = ['webcall:1m'], secret = GOOD_SECRET + '\n', api = 'webcall',
    signal = 'webcall', http = () => '' } = {}) {
    return async (dir) => {
        let secretLine = '';
        if (secret !== null && typeof secret === 'object') {
            secretLine = `webcall_secret_file ${secret.path};`;
        } else if (secret !== null) {
            const file = path.join(dir, 'secret');
            await fsp.writeFile(file, secret, { mode: 0o600 });
            secretLine = `webcall_secret_file ${file};`;
        }
        const port = await freePort();
        return `load_module ${MODULE};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
${zones.map((z) => `    webcall_zone ${z};`).join('\n')}
    ${secretLine}
    ${http(dir)}
    server {
        listen 127.0.0.1:${port};
${api === null ? '' : `        location /api/ { webcall_api ${api}; }`}
${signal === null ? '' : `        location /ws/ { webcall_signal ${signal}; }`}
    }
}
`;
    };
}

async function assertAccepted(c) {
    const r = await nginxTest(c);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /test is successful/, r.output);
    assert.doesNotMatch(r.output, /\[emerg\]|\[alert\]|\[crit\]/, r.output);
    return r;
}

// Refused, with an [emerg] line holding every one of `mentions` (strings
// or regular expressions).
async function assertRefused(c, mentions) {
    const r = await nginxTest(c);
    assert.notEqual(r.code, 0, `nginx -t accepted it:\n${r.output}`);
    const emerg = r.output.split('\n').filter((l) => l.includes('[emerg]'));
    assert.equal(emerg.length >= 1, true, `no [emerg] line:\n${r.output}`);
    const line = emerg.join('\n');
    for (const m of mentions) {
        if (m instanceof RegExp) assert.match(line, m, r.output);
        else assert.ok(line.includes(m), `"${m}" is not mentioned:\n${r.output}`);
    }
    return r;
}

describe('nginx -t accepts', () => {
    it('the shipped configuration as rendered by tools/render-conf.sh', async () => {
        await assertAccepted({});
    });

    it('the shipped configuration with the smallest zone and short times', async () => {
        await assertAccepted({ zoneArgs: 'webcall:64k ttl=2s empty_ttl=1s' });
    });

    it('a zone with every parameter at its limits', async () => {
        await assertAccepted(conf({
            zones: ['webcall:64k ttl=30s empty_ttl=5m inbox=64k participants=4 max_participants=4'],
        }));
        await assertAccepted(conf({
            zones: ['webcall:1m ttl=7d empty_ttl=1h participants=2 max_participants=2'],
        }));
        await assertAccepted(conf({ zones: ['webcall:1m pin_tries=1 pin_lock=1s pin_lock_max=1s'] }));
        await assertAccepted(conf({ zones: ['webcall:1m pin_tries=100 pin_lock=1h pin_lock_max=1d'] }));
    });

    it('two zones, one for the API and one for signaling', async () => {
        await assertAccepted(conf({ zones: ['rooms:1m', 'other:1m participants=3'], api: 'rooms', signal: 'other' }));
    });

    it('a secret of exactly 32 bytes followed by a newline', async () => {
        await assertAccepted(conf({ secret: GOOD_SECRET + '\n' }));
        await assertAccepted(conf({ secret: GOOD_SECRET }));
    });

    it('a zone that no location uses, without a secret', async () => {
        await assertAccepted(conf({ secret: null, api: null, signal: null }));
    });
});

// webcall_turn_urls with n URLs, each `len` characters long or more, half
// of them turn: (the room secret is the TURN secret too).
function turnUrls(n, len = 0) {
    const urls = [];
    for (let i = 0; i < n; i++) {
        const scheme = i % 2 ? 'turn' : 'stun';
        const pad = 'x'.repeat(Math.max(0, len - 30));
        urls.push(`${scheme}:t${i}${pad}.example.org:3478`);
    }
    return (dir) => `webcall_turn_secret_file ${dir}/secret;\n    webcall_turn_urls ${urls.join(' ')};`;
}

describe('nginx -t, the ICE servers a participant is given', () => {
    it('accepts 16 URLs that fit a participant\'s messages', async () => {
        await assertAccepted(conf({ http: turnUrls(16) }));
    });

    it('refuses 17 URLs, naming the directive', async () => {
        await assertRefused(conf({ http: turnUrls(17) }), ['webcall_turn_urls', 'at most 16']);
    });

    it('refuses a list too long for a participant\'s messages, naming the directive', async () => {
        await assertRefused(conf({ http: turnUrls(12, 100) }),
            ['webcall_turn_urls', /ICE server list of \d+ bytes/, 'more than the 1024']);
    });

    it('refuses a list whose fixed part alone is too long, with variables counted short', async () => {
        const long = 'x'.repeat(120);
        const urls = Array.from({ length: 8 },
            (_, i) => `turn:$host.${long}${i}.example.org:3478?transport=udp`);
        await assertRefused(conf({ http: (dir) => `webcall_turn_secret_file ${dir}/secret;\n    webcall_turn_urls ${urls.join(' ')};` }),
            ['webcall_turn_urls', 'more than the 1024']);
    });
});

describe('nginx -t refuses a plain number out of its range, naming the directive', () => {
    for (const [line, mentions] of [
        ['webcall_ws_max_message 512', ['webcall_ws_max_message', 'between 1k and 16m']],
        ['webcall_ws_max_message 17m', ['webcall_ws_max_message', 'between 1k and 16m']],
        ['webcall_ws_join_timeout 2m', ['webcall_ws_join_timeout', 'between 100ms and 1m']],
        ['webcall_ws_ping_interval 50ms', ['webcall_ws_ping_interval', 'at least 100ms']],
        ['webcall_signal_grace 2h', ['webcall_signal_grace', 'at most 1h']],
        ['webcall_turn_ttl 30s', ['webcall_turn_ttl', 'at least 1m']],
    ]) {
        it(line, async () => {
            await assertRefused(conf({ http: () => `${line};` }), mentions);
        });
    }

    it('but takes the limits themselves', async () => {
        await assertAccepted(conf({ http: () => 'webcall_ws_max_message 1k; webcall_ws_join_timeout 1m; '
            + 'webcall_ws_ping_interval 100ms; webcall_signal_grace 1h; webcall_turn_ttl 1m;' }));
    });
});

describe('nginx -t refuses', () => {
    it('webcall_api naming an unknown zone', async () => {
        await assertRefused(conf({ api: 'nosuchzone' }), ['webcall_api', 'nosuchzone']);
    });

    it('webcall_api_refuse with an answer it does not know', async () => {
        await assertRefused(conf({ api: 'webcall; } location @refused { webcall_api_refuse webcall slow-down' }),
            ['webcall_api_refuse', '"rate-limited" (429) or "too-large" (413)', 'slow-down']);
    });

    it('webcall_api_refuse naming an unknown zone', async () => {
        await assertRefused(conf({ api: 'webcall; } location @refused { webcall_api_refuse nosuchzone rate-limited' }),
            ['webcall_api_refuse', 'nosuchzone']);
    });

    it('webcall_metrics in a location that already has a content handler', async () => {
        await assertRefused(conf({ api: 'webcall; } location = /metrics { webcall_signal webcall; webcall_metrics' }),
            ['webcall_metrics', 'cannot share a location with another content handler']);
    });

    it('webcall_metrics with a parameter', async () => {
        await assertRefused(conf({ api: 'webcall; } location = /metrics { webcall_metrics on' }),
            ['invalid number of arguments', 'webcall_metrics']);
    });

    it('webcall_signal naming an unknown zone', async () => {
        await assertRefused(conf({ signal: 'nosuchzone' }), ['webcall_signal', 'nosuchzone']);
    });

    it('a zone without a size', async () => {
        await assertRefused(conf({ zones: ['webcall'] }), ['webcall_zone']);
    });

    it('a zone with a size that is not a size', async () => {
        await assertRefused(conf({ zones: ['webcall:lots'] }), ['webcall_zone', /size/i]);
    });

    it('a zone smaller than 64k', async () => {
        await assertRefused(conf({ zones: ['webcall:63k'] }), ['webcall_zone', /size|small/i]);
    });

    it('a ttl that is not a time', async () => {
        await assertRefused(conf({ zones: ['webcall:1m ttl=forever'] }), ['webcall_zone', 'ttl']);
    });

    it('an empty_ttl that is not a time', async () => {
        await assertRefused(conf({ zones: ['webcall:1m empty_ttl=soon'] }), ['webcall_zone', 'empty_ttl']);
    });

    it('participants=5', async () => {
        await assertRefused(conf({ zones: ['webcall:1m participants=5'] }), ['webcall_zone', 'participants']);
    });

    it('participants=1', async () => {
        await assertRefused(conf({ zones: ['webcall:1m participants=1'] }), ['webcall_zone', 'participants']);
    });

    it('max_participants=5', async () => {
        await assertRefused(conf({ zones: ['webcall:1m max_participants=5'] }),
            ['webcall_zone', 'max_participants']);
    });

    it('participants above max_participants', async () => {
        await assertRefused(conf({ zones: ['webcall:1m participants=3 max_participants=2'] }),
            ['webcall_zone', 'participants']);
    });

    it('PIN tries out of 1-100, a PIN lock that is not a time, or longer than its maximum', async () => {
        for (const bad of ['pin_tries=0', 'pin_tries=101', 'pin_tries=many']) {
            await assertRefused(conf({ zones: [`webcall:1m ${bad}`] }), ['webcall_zone', bad, 'from 1 to 100']);
        }
        for (const bad of ['pin_lock=soon', 'pin_lock_max=0']) {
            await assertRefused(conf({ zones: [`webcall:1m ${bad}`] }), ['webcall_zone', bad]);
        }
        await assertRefused(conf({ zones: ['webcall:1m pin_lock=2h'] }), ['webcall_zone', 'pin_lock=7200', 'pin_lock_max=3600']);
    });

    it('an inbox under 64k, or not a size', async () => {
        for (const bad of ['inbox=32k', 'inbox=lots', 'inbox=']) {
            await assertRefused(conf({ zones: [`webcall:1m ${bad}`] }), ['webcall_zone', bad, 'at least 64k']);
        }
    });

    it('a zone whose NAME_inbox is already another zone\'s name', async () => {
        // of another size nginx itself refuses it; of the same size, webcall does
        await assertRefused(conf({ zones: ['webcall:1m', 'webcall_inbox:1m'] }), ['webcall_inbox']);
        await assertRefused(conf({ zones: ['webcall:1m', 'webcall_inbox:4m'] }), ['webcall_inbox', /already|twice/]);
    });

    it('an unknown zone parameter', async () => {
        await assertRefused(conf({ zones: ['webcall:1m colour=blue'] }), ['webcall_zone', 'colour']);
    });

    it('two zones with the same name', async () => {
        await assertRefused(conf({ zones: ['webcall:1m', 'webcall:2m'] }),
            ['webcall_zone', 'webcall', /twice|duplicate|already/i]);
    });

    it('a secret file that does not exist', async () => {
        await assertRefused(conf({ secret: { path: '/nonexistent/webcall-secret' } }),
            ['webcall_secret_file', '/nonexistent/webcall-secret']);
    });

    it('a secret file that is a directory', async () => {
        await assertRefused(conf({ secret: { path: '/tmp' } }), ['webcall_secret_file', '/tmp', 'is not a file']);
    });

    it('a secret shorter than 32 bytes', async () => {
        await assertRefused(conf({ secret: 'a'.repeat(31) }), ['webcall_secret_file', /32/]);
    });

    it('a secret of 31 bytes padded with trailing whitespace', async () => {
        await assertRefused(conf({ secret: 'a'.repeat(31) + ' \t\r\n\n' }), ['webcall_secret_file', /32/]);
    });

    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
        it(`a secret file other users can read or change (mode ${mode.toString(8)}): refused, with the chmod that fixes it`, async () => {
            await assertRefused(async (dir) => {
                const text = await conf()(dir);
                await fsp.chmod(path.join(dir, 'secret'), mode);
                return text;
            }, ['webcall_secret_file', `mode ${mode.toString(8)}`, /chmod 600 \S+secret/]);
        });
    }

    it('a missing secret file names the package that makes it and the command', async () => {
        await assertRefused(conf({ secret: { path: '/nonexistent/webcall/secret' } }),
            ['/nonexistent/webcall/secret', 'libnginx-mod-http-webcall', 'openssl rand -hex 32']);
    });

    it('an empty secret file', async () => {
        await assertRefused(conf({ secret: '' }), ['webcall_secret_file']);
    });

    it('webcall_api without webcall_secret_file', async () => {
        await assertRefused(conf({ secret: null, signal: null }), ['webcall_secret_file', 'webcall_api']);
    });

    it('webcall_signal without webcall_secret_file', async () => {
        await assertRefused(conf({ secret: null, api: null }), ['webcall_secret_file', 'webcall_signal']);
    });
});

describe('webcall_fleet_nodes', () => {
    const nodes = (line) => conf({ http: () => `webcall_fleet_nodes ${line};` });

    it('takes http and https nodes, with or without the rooms API path', async () => {
        await assertAccepted(nodes('http://127.0.0.1:8081/api/rooms/ https://127.0.0.1:8443 '
            + 'http://localhost:8082/webcall/api/rooms/ https://[::1]:8444/'));
    });

    for (const [line, mentions] of [
        ['ftp://127.0.0.1/api/rooms/', ['webcall_fleet_nodes', '"ftp://127.0.0.1/api/rooms/" is not an http:// or https:// URL']],
        ['127.0.0.1:8081', ['webcall_fleet_nodes', 'is not an http:// or https:// URL']],
        ['http://no-such-node.invalid:8081/api/rooms/', ['webcall_fleet_nodes', 'host not found', 'no-such-node.invalid']],
        ['http://127.0.0.1:99999/api/rooms/', ['webcall_fleet_nodes', 'invalid port']],
        ['http://127.0.0.1:8081/api/rooms', ['webcall_fleet_nodes', 'must end with "/"', '/api/rooms/<token>']],
        ['http://127.0.0.1:8081/api/rooms/ http://127.0.0.1:8081/api/rooms/', ['webcall_fleet_nodes', 'twice']],
        ['http://127.0.0.1:8081/ http://127.0.0.1:8081/api/rooms/', ['webcall_fleet_nodes', 'twice']],
        [Array.from({ length: 17 }, (_, i) => `http://127.0.0.1:${8000 + i}/`).join(' '),
            ['webcall_fleet_nodes', 'lists 17 nodes', 'at most 16']],
    ]) {
        it(`refuses ${line.length > 60 ? `${line.slice(0, 60)}...` : line}`, async () => {
            await assertRefused(nodes(line), mentions);
        });
    }

    it('refuses a second webcall_fleet_nodes line', async () => {
        await assertRefused(conf({ http: () => 'webcall_fleet_nodes http://127.0.0.1:8081/; '
            + 'webcall_fleet_nodes http://127.0.0.1:8082/;' }), ['webcall_fleet_nodes', 'is duplicate']);
    });
});
