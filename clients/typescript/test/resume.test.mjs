// Resume (PROTOCOL.md §11) in Node: the ticker example behind a proxy that cuts every
// connection; calls go on across cuts with every value exactly once and in order, an
// outage longer than the server's window fails them with ResumeFailedError, and a client
// that does not resume fails them at the cut as before.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ConnectionClosedError, ResumeFailedError } from '../dist/index.js';
import { startProxy } from './proxy.mjs';
import { client, collect, startExample, waitUntil } from './support.mjs';

/** The ints 0..n, one every `ms`, for an input stream. */
async function* paced(n, ms) {
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, ms));
    yield i;
  }
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

describe('resume', () => {
  let ticker;
  let shortWindow;
  before(async () => {
    [ticker, shortWindow] = await Promise.all([
      startExample('ticker', [], 'serve'),
      startExample('ticker', ['--resume-window-ms', '1000'], 'serve'),
    ]);
  });
  after(() => {
    ticker?.stop();
    shortWindow?.stop();
  });

  for (const wire of ['msgpack', 'json']) {
    it(`keeps a stream and an echo going across cuts, every value once and in order (${wire})`, async () => {
      const proxy = await startProxy(ticker.url);
      const c = client(proxy.url, wire);
      const states = [];
      c.onStateChange((s) => states.push(s.state));
      let received = 0;
      const counting = (async () => {
        const values = [];
        for await (const v of c.stream('ticker', 'count', { from: 0, to: 300, intervalMs: 5 })) {
          values.push(v);
          received += 1;
        }
        return values;
      })();
      const echoing = collect(c.stream('ticker', 'echo', {}, { stream: paced(300, 5) }));
      // Three cuts while the values flow.
      for (const at of [50, 120, 200]) {
        await waitUntil(`${at} values`, () => received >= at);
        proxy.cutAll();
      }
      const [counted, echoed] = await Promise.all([counting, echoing]);
      assert.deepEqual(counted, range(300));
      assert.equal(echoed.error, undefined);
      assert.deepEqual(echoed.values, range(300));
      assert.ok(proxy.accepted >= 4, `${proxy.accepted} connections: the calls resumed on new ones`);
      assert.ok(states.includes('reconnecting'), states.join(' '));
      assert.equal(states.at(-1), 'connected');
      c.close();
      proxy.close();
    });
  }

  it('fails every call with ResumeFailedError when the outage outlasts the window', async () => {
    const proxy = await startProxy(shortWindow.url);
    const c = client(proxy.url, 'msgpack');
    const calls = [0, 1, 2].map(() => collect(c.stream('ticker', 'count', { from: 0, to: 1_000_000, intervalMs: 5 })));
    await waitUntil('connected', () => c.state.state === 'connected');
    await new Promise((r) => setTimeout(r, 50));
    proxy.setDown(true);
    proxy.cutAll();
    for (const { error } of await Promise.all(calls)) {
      assert.ok(error instanceof ResumeFailedError, String(error));
      assert.equal(error.reason, 'expired');
      // Code that handles any lost call alike still sees a closed connection.
      assert.ok(error instanceof ConnectionClosedError);
    }
    assert.equal(c.state.state, 'disconnected');
    // Back: the next call connects afresh.
    proxy.setDown(false);
    assert.deepEqual((await collect(c.stream('ticker', 'count', { from: 0, to: 3, intervalMs: 0 }))).values, [0, 1, 2]);
    c.close();
    proxy.close();
  });

  it('without resume, a cut fails the calls at once, as before', async () => {
    const proxy = await startProxy(ticker.url);
    const c = client(proxy.url, 'msgpack', { resume: false });
    let received = 0;
    const call = (async () => {
      try {
        for await (const v of c.stream('ticker', 'count', { from: 0, to: 1_000_000, intervalMs: 5 })) received = v + 1;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    await waitUntil('values flow', () => received > 3);
    proxy.cutAll();
    const error = await call;
    assert.ok(error instanceof ConnectionClosedError && !(error instanceof ResumeFailedError), String(error));
    c.close();
    proxy.close();
  });

  it('examples/ticker.mjs prints each int, then done, or the error', async () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'ticker.mjs');
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [script, ticker.url, '3', '7', '10']);
    assert.equal(stdout, '3\n4\n5\n6\ndone\n');
    const failed = await run(process.execPath, [script, 'http://127.0.0.1:1', '0', '3', '10', '--no-resume']);
    assert.match(failed.stdout, /^error: cannot connect/);
  });
});
