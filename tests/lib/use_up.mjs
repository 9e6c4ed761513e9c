// Uses up a one-time link on a node: two participants join its room, meet,
// and both hang up (bye), so the room's first call is over.
//   node tests/lib/use_up.mjs HOST PORT TOKEN
// For tests that run it inside a network namespace (ip netns exec), where
// the node is reachable and the test process is not.
import { Peer } from './ws.mjs';

const [host, port, token] = process.argv.slice(2);
if (!token) {
    console.error('usage: use_up.mjs HOST PORT TOKEN');
    process.exit(2);
}
const a = await Peer.open(Number(port), token, { host });
await a.join();
const b = await Peer.open(Number(port), token, { host });
await b.join();
await a.next('peer-joined');
for (const p of [a, b]) p.send({ type: 'bye' });
await Promise.all([a.closed, b.closed]);
