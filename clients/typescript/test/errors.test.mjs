// Each kind of error a call can end with, provoked for real and told apart by its class and
// its `kind` (what an app acts on); plain objects on a model's input; a key per call.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import {
  AuthenticationFailedError,
  CallFailedError,
  ClientClosedError,
  ConnectFailedError,
  ConnectionClosedError,
  ConnectionLostError,
  ConnectTimeoutError,
  IdleTimeoutError,
  RejectedError,
  SerializableExceptionError,
} from '../dist/index.js';
import { client, collect, key, startExample } from './support.mjs';

const M = 'methodStreaming';
let server;
before(async () => {
  server = await startExample('conformance_server');
});
after(() => server.stop());

/** Asserts that `promise` rejects with an instance of `Class` of kind `kind`; returns it. */
async function failsWith(promise, Class, kind) {
  let error;
  await assert.rejects(promise, (e) => {
    error = e;
    return e instanceof Class && e.kind === kind;
  });
  return error;
}

/** A port with nothing listening on it. */
async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

describe('errors of the connection', () => {
  it('connectFailed: nothing listens', async () => {
    const c = client(`http://127.0.0.1:${await freePort()}`, 'msgpack');
    const e = await failsWith(c.call(M, 'simpleStream'), ConnectFailedError, 'connectFailed');
    assert.ok(e instanceof ConnectionClosedError);
  });

  it('connectTimeout: the socket opens and the server says nothing', async () => {
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/websocket' });
    await new Promise((r) => silent.once('listening', r));
    const c = client(`http://127.0.0.1:${silent.address().port}`, 'json', { connectTimeoutMs: 200 });
    await failsWith(c.call(M, 'simpleStream'), ConnectTimeoutError, 'connectTimeout');
    await new Promise((r) => silent.close(r));
  });

  it('connectionLost and idleTimeout: a server that closes, one that goes quiet', async () => {
    const scripted = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/websocket' });
    await new Promise((r) => scripted.once('listening', r));
    let mode = 'close';
    scripted.on('connection', (ws) => {
      let opened = false;
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw));
        // Quiet: the connection's first ping is answered, nothing after the call opens.
        if (frame.type === 'ping') return (mode === 'close' || !opened) && ws.send('{"type":"pong"}');
        if (frame.type !== 'omsc') return;
        opened = true;
        const { en, m, cid } = frame.data;
        ws.send(JSON.stringify({ type: 'omsr', data: { cid, res: 'success', en, m } }));
        if (mode === 'close') ws.close(1011, 'scripted');
      });
    });
    const url = `http://127.0.0.1:${scripted.address().port}`;
    const lost = client(url, 'json', { resume: false });
    const e = await failsWith(collect(lost.stream(M, 'simpleStream')).then((r) => Promise.reject(r.error)), ConnectionLostError, 'connectionLost');
    assert.match(e.message, /1011 scripted/);
    lost.close();
    mode = 'quiet';
    const quiet = client(url, 'json', { resume: false, idleTimeoutMs: 300, pingIntervalMs: 100 });
    await failsWith(collect(quiet.stream(M, 'simpleStream')).then((r) => Promise.reject(r.error)), IdleTimeoutError, 'idleTimeout');
    quiet.close();
    for (const ws of scripted.clients) ws.terminate();
    await new Promise((r) => scripted.close(r));
  });

  it('clientClosed: the app closed the client during the call', async () => {
    const c = client(server.url, 'msgpack');
    const never = c.stream(M, 'neverEndingStreamWithDelay', { millisecondsDelay: 10 })[Symbol.asyncIterator]();
    await never.next();
    c.close();
    const drained = (async () => {
      for (;;) if ((await never.next()).done) return;
    })();
    await failsWith(drained, ClientClosedError, 'clientClosed');
  });
});

for (const wire of ['msgpack', 'json']) {
  describe(`errors of a call, on the ${wire} wire`, () => {
    let c;
    before(() => {
      c = client(server.url, wire);
    });
    after(() => c.close());

    it('exception, callFailed: what the method threw', async () => {
      const ex = await failsWith(c.call(M, 'throwsSerializableException'), SerializableExceptionError, 'exception');
      assert.equal(ex.className, 'ExceptionWithData');
      await failsWith(c.call(M, 'throwsException'), CallFailedError, 'callFailed');
    });

    it('rejected: a value the input cannot hold says why (on the MessagePack wire)', async () => {
      const sent = c.call(M, 'intReturnFromStream', {}, { stream: ['not an int'] });
      if (wire === 'msgpack') {
        const e = await failsWith(sent, RejectedError, 'rejected');
        assert.match(e.reason, /^input `stream`: expected a value of class `int`, got `String`/);
      } else {
        // Serverpod's JSON has no place for the reason.
        await failsWith(sent, CallFailedError, 'callFailed');
      }
    });

    it('authenticationFailed: no key and a refused key say different things', async () => {
      const A = 'authenticatedMethodStreaming';
      const none = await failsWith(c.call(A, 'simpleStream'), AuthenticationFailedError, 'authenticationFailed');
      const wrong = client(server.url, wire, { authKey: () => 'not-a-key' });
      const refused = await failsWith(wrong.call(A, 'simpleStream'), AuthenticationFailedError, 'authenticationFailed');
      wrong.close();
      if (wire === 'msgpack') {
        assert.match(none.reason, /carries no key/);
        assert.match(refused.reason, /not accepted/);
      } else {
        assert.equal(none.reason, undefined);
      }
    });

    it('takes a key per call, over the client’s', async () => {
      const A = 'authenticatedMethodStreaming';
      const values = await collect(c.stream(A, 'simpleStream', {}, {}, { authKey: key('3', `own-${wire}`, ['admin']) }));
      assert.deepEqual(values, { values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
      const fromFunction = await collect(c.stream(A, 'simpleStream', {}, {}, { authKey: async () => 'not-a-key' }));
      assert.ok(fromFunction.error instanceof AuthenticationFailedError, String(fromFunction.error));
    });

    it('reads a plain object on a model’s input as that model', async () => {
      const echoed = await collect(c.stream(M, 'simpleInOutDataStream', {}, { stream: [{ num: 7 }, { num: 8 }] }));
      assert.deepEqual(echoed, {
        values: [
          { __className__: 'SimpleData', num: 7 },
          { __className__: 'SimpleData', num: 8 },
        ],
      });
    });
  });
}
