// The client's socket against a scripted server (the `ws` package's), for what a real
// server cannot be made to do: one lazily opened socket for concurrent first calls, its
// close when idle, the client's pings, the idle timeout, a value the client cannot decode,
// a value for a call it does not know.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { ConnectionClosedError, ProtocolError } from '../dist/index.js';
import { client, collect, waitUntil } from './support.mjs';

/** A server speaking the JSON wire by script: `answer(frame, send)` for each frame. */
async function scripted(answer) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/websocket' });
  await new Promise((resolve) => server.once('listening', resolve));
  const state = { connections: 0, closed: 0, frames: [], silent: false };
  server.on('connection', (ws) => {
    state.connections += 1;
    ws.on('close', () => (state.closed += 1));
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw));
      state.frames.push(frame);
      if (state.silent) return;
      const send = (f) => ws.send(JSON.stringify(f));
      if (frame.type === 'ping') return send({ type: 'pong' });
      answer(frame, send);
    });
  });
  return {
    state,
    url: () => `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Opens every call; `values(cid)` are what a call gets before its end. */
function opensWith(values) {
  return (frame, send) => {
    if (frame.type !== 'omsc') return;
    const { en, m, cid } = frame.data;
    send({ type: 'omsr', data: { cid, res: 'success', en, m } });
    for (const o of values(frame.data)) send({ type: 'msm', data: { en, m, cid, o } });
    if (m !== 'endless' && m !== 'bad') send({ type: 'cmsc', data: { en, m, cid, cr: 'done' } });
  };
}

const int = (data) => ({ className: 'int', data });

describe('the client’s socket', () => {
  let server;
  before(async () => {
    server = await scripted(
      opensWith((data) =>
        data.m === 'bad' ? [int(1), { className: 'DateTime', data: 'not a date' }, int(2)] : [int(1), int(2)],
      ),
    );
  });
  after(() => server.close());

  it('opens one socket for concurrent first calls, and closes it when idle', async () => {
    const c = client(server.url(), 'json', { lingerMs: 0 });
    const before = server.state.connections;
    const pings = server.state.frames.filter((f) => f.type === 'ping').length;
    const all = await Promise.all(Array.from({ length: 5 }, () => collect(c.stream('e', 'two'))));
    assert.deepEqual(all, Array(5).fill({ values: [1, 2] }));
    assert.equal(server.state.connections, before + 1);
    assert.equal(server.state.frames.filter((f) => f.type === 'ping').length, pings + 1);
    await waitUntil('the idle socket closed', () => server.state.closed === server.state.connections);
  });

  it('keeps an idle socket for a while, for calls made one after another', async () => {
    const c = client(server.url(), 'json', { lingerMs: 200 });
    const before = server.state.connections;
    for (let i = 0; i < 3; i++) assert.deepEqual(await collect(c.stream('e', 'two')), { values: [1, 2] });
    assert.equal(server.state.connections, before + 1, 'one socket for three sequential calls');
    await waitUntil('the socket closed after lingering', () => server.state.closed === server.state.connections);
  });

  it('fails only the call whose value it cannot decode', async () => {
    const c = client(server.url(), 'json');
    const [bad, good] = await Promise.all([collect(c.stream('e', 'bad')), collect(c.stream('e', 'two'))]);
    assert.deepEqual(bad.values, [1]);
    assert.ok(bad.error instanceof ProtocolError, String(bad.error));
    assert.deepEqual(good, { values: [1, 2] });
    // The failed call was cancelled.
    await waitUntil('the cancel', () =>
      server.state.frames.some((f) => f.type === 'cmsc' && f.data.m === 'bad' && !f.data.p),
    );
    c.close();
  });

  it('answers a value for a call it does not know with cmsc(error)', async () => {
    const stray = await scripted((frame, send) => {
      if (frame.type !== 'omsc') return;
      const { en, m, cid } = frame.data;
      send({ type: 'omsr', data: { cid, res: 'success', en, m } });
      send({ type: 'msm', data: { en, m, cid: '00000000-0000-4000-8000-000000000000', o: int(9) } });
      send({ type: 'msm', data: { en, m, cid, o: int(1) } });
      send({ type: 'cmsc', data: { en, m, cid, cr: 'done' } });
    });
    const c = client(stray.url(), 'json');
    assert.deepEqual(await collect(c.stream('e', 'm')), { values: [1] });
    const reply = () => stray.state.frames.find((f) => f.type === 'cmsc' && f.data.cid.startsWith('00000000'));
    await waitUntil('the answer to the stray value', () => reply() !== undefined);
    assert.deepEqual(reply().data, { en: 'e', m: 'm', cid: '00000000-0000-4000-8000-000000000000', cr: 'error' });
    await stray.close();
  });

  it('fails a flow-controlled call the server sends beyond its credit', async () => {
    const greedy = await scripted((frame, send) => {
      if (frame.type !== 'omsc') return;
      const { en, m, cid, fc } = frame.data;
      send({ type: 'omsr', data: { cid, res: 'success', en, m, fc: 8 } });
      for (let i = 0; i <= fc; i++) send({ type: 'msm', data: { en, m, cid, o: int(i) } });
    });
    const c = client(greedy.url(), 'json', { window: 2 });
    const { values, error } = await collect(c.stream('e', 'm'));
    assert.deepEqual(values, [0, 1]);
    assert.ok(error instanceof ProtocolError && /credit/.test(error.message), String(error));
    await waitUntil('the cancel', () => greedy.state.frames.some((f) => f.type === 'cmsc' && f.data.cr === 'error'));
    await greedy.close();
  });

  it('pings while calls are open, and fails them when the server goes silent', async () => {
    const quiet = await scripted(opensWith(() => [int(1)]));
    const c = client(quiet.url(), 'json', { pingIntervalMs: 30, idleTimeoutMs: 200 });
    const endless = c.stream('e', 'endless')[Symbol.asyncIterator]();
    assert.deepEqual(await endless.next(), { value: 1, done: false });
    const pings = () => quiet.state.frames.filter((f) => f.type === 'ping').length;
    await waitUntil('three more pings', () => pings() >= 4);
    // Answered pings keep the call alive past the idle timeout; silence ends it.
    quiet.state.silent = true;
    await assert.rejects(endless.next(), (e) => e instanceof ConnectionClosedError && /idle/.test(e.message));
    await quiet.close();
  });
});
