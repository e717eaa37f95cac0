// The ticker's watcher in Node: counts from A to B through `ticker.count` of a server
// started with `cargo run --example ticker -- serve`, printing each int on a line of its
// own, then `done` or `error: <the error>`. The call resumes across dropped connections;
// `--no-resume` turns that off, to show the difference.
//
//   node clients/typescript/examples/ticker.mjs URL A B M [--no-resume]
//
// (After `npm install && npm run build` in clients/typescript.)
import { WebSocket } from 'ws';
import { Client } from '../dist/index.js';

const args = process.argv.slice(2);
const resume = !args.includes('--no-resume');
const [url, from, to, intervalMs] = args.filter((a) => a !== '--no-resume');
if (!url || [from, to, intervalMs].some((n) => n === undefined || Number.isNaN(Number(n)))) {
  console.error('usage: node ticker.mjs URL A B M [--no-resume]');
  process.exit(2);
}
// Node ≥ 22 has a WebSocket of its own; Node 20 takes the ws package's.
const client = new Client(url, { resume, WebSocket: globalThis.WebSocket ?? WebSocket });
client.onStateChange((s) => {
  if (s.state === 'reconnecting') console.error(`(reconnecting, attempt ${s.attempt})`);
});
try {
  const args = { from: Number(from), to: Number(to), intervalMs: Number(intervalMs) };
  for await (const n of client.stream('ticker', 'count', args)) console.log(n);
  console.log('done');
} catch (e) {
  console.log(`error: ${e.message}`);
} finally {
  client.close();
}
