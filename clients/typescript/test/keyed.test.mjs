// Keyed value frames (docs/PROTOCOL.md §12): on the MessagePack wire the client asks each
// open for a key, and once the server takes it the call's values travel as
// `[k, i, className, data]` both ways; with `keyedFrames: false`, on the JSON wire, or
// against a server that does not echo the key, they stay `msm`. The frames are watched on
// the wire through a WebSocket that records what passes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { WebSocket, WebSocketServer } from 'ws';
import { Client, ProtocolError } from '../dist/index.js';
import { collect, startExample } from './support.mjs';

const M = 'methodStreaming';

/** A `ws` WebSocket class that records every frame sent and received, decoded. */
function recording() {
  const sent = [];
  const received = [];
  const read = (data) => (typeof data === 'string' ? JSON.parse(data) : decode(new Uint8Array(data)));
  class Recording extends WebSocket {
    send(data) {
      sent.push(read(data));
      super.send(data);
    }
    set onmessage(handler) {
      super.onmessage = handler && ((event) => {
        received.push(read(event.data));
        handler(event);
      });
    }
    get onmessage() {
      return super.onmessage;
    }
  }
  return { Recording, sent, received };
}

const isKeyed = (frame) => Array.isArray(frame);
const ofType = (frames, type) => frames.filter((f) => !isKeyed(f) && f.type === type);

describe('keyed value frames', () => {
  let server;
  before(async () => {
    server = await startExample('conformance_server');
  });
  after(() => server.stop());

  it('carry a keyed call’s values both ways, with the same values as msm', async () => {
    const numbers = Array.from({ length: 50 }, (_, i) => i);
    for (const keyedFrames of [true, false]) {
      const { Recording, sent, received } = recording();
      const c = new Client(server.url, { WebSocket: Recording, keyedFrames });
      for (let round = 0; round < 2; round++) {
        const echoed = await collect(c.stream(M, 'intEchoStream', {}, { stream: numbers }));
        assert.deepEqual(echoed, { values: numbers });
      }
      const opens = ofType(sent, 'omsc');
      const answers = ofType(received, 'omsr');
      if (keyedFrames) {
        // Keys grow: 1, then 2 for the second call on the same socket.
        assert.deepEqual(opens.map((o) => o.data.k), [1, 2]);
        assert.deepEqual(answers.map((a) => a.data.k), [1, 2]);
        const inputs = sent.filter(isKeyed);
        assert.equal(inputs.length, 100);
        assert.deepEqual(inputs[0], [1, 0, 'int', 0]);
        assert.deepEqual(received.filter(isKeyed).at(-1), [2, null, 'int', 49]);
        assert.equal(ofType(sent, 'msm').length + ofType(received, 'msm').length, 0);
      } else {
        assert.ok(opens.every((o) => o.data.k === undefined));
        assert.equal(sent.filter(isKeyed).length + received.filter(isKeyed).length, 0);
        assert.equal(ofType(received, 'msm').length, 100);
      }
      c.close();
    }
  });

  it('are not asked for on the JSON wire', async () => {
    const { Recording, sent, received } = recording();
    const c = new Client(server.url, { WebSocket: Recording, encoding: 'json' });
    assert.deepEqual(await collect(c.stream(M, 'intEchoStream', {}, { stream: [1, 2] })), { values: [1, 2] });
    assert.ok(ofType(sent, 'omsc').every((o) => o.data.k === undefined));
    assert.equal(ofType(received, 'msm').length, 2);
    c.close();
  });

  describe('against a scripted server', () => {
    let scripted;
    let url;
    /** What the server does with an open: `echo` its key or `ignore` it; then send `extra`. */
    let script;
    before(async () => {
      scripted = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/websocket' });
      await new Promise((r) => scripted.once('listening', r));
      url = `http://127.0.0.1:${scripted.address().port}`;
      scripted.on('connection', (ws) => {
        ws.on('message', (raw) => {
          const frame = decode(raw);
          if (isKeyed(frame)) return ws.send(encode([frame[0], null, frame[2], frame[3] * 10]));
          if (frame.type === 'ping') return ws.send(encode({ type: 'pong' }));
          if (frame.type === 'msm') {
            const { en, m, cid, o } = frame.data;
            return ws.send(encode({ type: 'msm', data: { en, m, cid, o: { ...o, data: o.data * 10 } } }));
          }
          if (frame.type === 'cmsc') {
            const { en, m, cid } = frame.data;
            return ws.send(encode({ type: 'cmsc', data: { en, m, cid, cr: 'done' } }));
          }
          if (frame.type !== 'omsc') return;
          const { en, m, cid, k } = frame.data;
          ws.send(encode({ type: 'omsr', data: { cid, res: 'success', en, m, ...(script.echo ? { k } : {}) } }));
          if (script.extra) ws.send(encode(script.extra(k)));
        });
      });
    });
    after(async () => {
      for (const ws of scripted.clients) ws.terminate();
      await new Promise((r) => scripted.close(r));
    });

    it('a server that does not echo the key gets msm, and answers with msm', async () => {
      script = { echo: false };
      const { Recording, sent } = recording();
      const c = new Client(url, { WebSocket: Recording, resume: false });
      const echoed = await collect(c.stream(M, 'intEchoStream', {}, { stream: [1, 2, 3] }));
      assert.deepEqual(echoed, { values: [10, 20, 30] });
      assert.equal(sent.filter(isKeyed).length, 0);
      assert.equal(ofType(sent, 'msm').length, 3);
      c.close();
    });

    it('a keyed frame for a key never asked for is a protocol error', async () => {
      script = { echo: true, extra: (k) => [k + 7, null, 'int', 1] };
      const c = new Client(url, { WebSocket, resume: false });
      const { error } = await collect(c.stream(M, 'intEchoStream', {}, { stream: [] }));
      assert.ok(error instanceof ProtocolError, String(error));
      assert.match(error.message, /keyed value frame for key 8/);
      c.close();
    });
  });
});
