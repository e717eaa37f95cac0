// Serverpod's end-to-end client scenarios (docs/PROTOCOL.md §5) against the conformance server, on both
// wires: every method shape, values and models, exceptions both ways, cancel, errors of
// opens, auth, revocation, connection loss and a new socket on the next call.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationFailedError,
  AuthorizationDeclinedError,
  ConnectionClosedError,
  EndpointNotFoundError,
  InvalidArgumentsError,
  ProtocolError,
  RevokedError,
  SerializableExceptionError,
  wrap,
} from '../dist/index.js';
import { client, collect, fromArray, key, startExample, waitUntil } from './support.mjs';

const M = 'methodStreaming';
let server;
before(async () => {
  server = await startExample('conformance_server');
});
after(() => server.stop());

for (const wire of ['msgpack', 'json']) {
  describe(`on the ${wire} wire`, () => {
    let c;
    before(() => {
      c = client(server.url, wire);
    });
    after(() => c.close());

    it('streams a method’s values in order, then ends', async () => {
      assert.deepEqual(await collect(c.stream(M, 'simpleStream')), { values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
      const five = await collect(c.stream(M, 'intStreamFromValue', { value: 5 }));
      assert.deepEqual(five, { values: [0, 1, 2, 3, 4] });
    });

    it('runs ten calls of a thousand values on one socket', async () => {
      const all = await Promise.all(
        Array.from({ length: 10 }, () => collect(c.stream(M, 'intStreamFromValue', { value: 1000 }))),
      );
      for (const { values, error } of all) {
        assert.equal(error, undefined);
        assert.deepEqual(values, Array.from({ length: 1000 }, (_, i) => i));
      }
    });

    it('echoes an input stream, from an async or a plain iterable', async () => {
      const numbers = Array.from({ length: 10 }, (_, i) => i);
      assert.deepEqual(await collect(c.stream(M, 'intEchoStream', {}, { stream: fromArray(numbers) })), {
        values: numbers,
      });
      const nullable = [1, null, 2, null];
      assert.deepEqual(await collect(c.stream(M, 'nullableIntEchoStream', {}, { stream: nullable })), {
        values: nullable,
      });
    });

    it('keeps the types of dynamic values and models', async () => {
      const values = [
        1,
        'two',
        2.5,
        true,
        null,
        new Date('1976-09-10T02:10:00.000Z'),
        new Uint8Array([1, 2, 3, 255]),
        12345678901234567890n,
        { __className__: 'SimpleData', num: 42 },
        [1, 'x'],
        { a: 1, b: 'c' },
        wrap('List<int>', [4, 5]),
      ];
      const { values: echoed, error } = await collect(c.stream(M, 'dynamicEchoStream', {}, { stream: values }));
      assert.equal(error, undefined);
      assert.deepEqual(echoed, [...values.slice(0, 11), [4, 5]]);
    });

    it('returns a future’s value; a void one ends with nothing', async () => {
      assert.equal(await c.call(M, 'intReturnFromStream', {}, { stream: [1, 2, 3] }), 1);
      assert.equal(await c.callVoid(M, 'voidReturnAfterStream', {}, { stream: [1, 2, 3] }), undefined);
      // `call` promises a value: a method that ends without one is an error, not `undefined`.
      await assert.rejects(c.call(M, 'voidReturnAfterStream', {}, { stream: [1] }), ProtocolError);
    });

    it('reports a method’s exceptions', async () => {
      const plain = await collect(c.stream(M, 'outStreamThrowsException'));
      assert.ok(plain.error instanceof ConnectionClosedError, String(plain.error));
      const thrown = await collect(c.stream(M, 'outStreamThrowsSerializableException'));
      assert.ok(thrown.error instanceof SerializableExceptionError);
      assert.equal(thrown.error.className, 'ExceptionWithData');
      assert.equal(thrown.error.data.message, 'Throwing an exception');
      await assert.rejects(c.call(M, 'throwsSerializableException'), (e) => e.className === 'ExceptionWithData');
      await assert.rejects(c.call(M, 'throwsException'), ConnectionClosedError);
    });

    it('sends an input stream’s errors to the method', async () => {
      async function* failing(error) {
        yield 1;
        throw error;
      }
      const plain = await c.call(M, 'didInputStreamHaveError', {}, { stream: failing(new Error('boom')) });
      assert.equal(plain, true);
      const ex = new SerializableExceptionError('ExceptionWithData', {
        message: 'from the client',
        creationDate: new Date(),
        errorFields: ['a'],
      });
      const serializable = await c.call(M, 'didInputStreamHaveSerializableExceptionError', {}, { stream: failing(ex) });
      assert.equal(serializable, true);
    });

    it('cancels a call when the loop is left, or its signal aborts', async () => {
      const before = await c.call(M, 'cancelledCalls');
      for await (const v of c.stream(M, 'neverEndingStreamWithDelay', { millisecondsDelay: 1 })) {
        if (v === 2) break;
      }
      const abort = new AbortController();
      const aborted = collect(c.stream(M, 'neverEndingStreamWithDelay', { millisecondsDelay: 1 }, {}, { signal: abort.signal }));
      setTimeout(() => abort.abort(new Error('enough')), 20);
      assert.equal((await aborted).error.message, 'enough');
      await waitUntil('both calls cancelled on the server', async () => (await c.call(M, 'cancelledCalls')) >= before + 2);
    });

    it('flow control: a call its consumer stops reading stops alone, and resumes intact', async () => {
      const stalled = c.stream(M, 'intStreamFromValue', { value: 5000 })[Symbol.asyncIterator]();
      assert.deepEqual(await stalled.next(), { value: 0, done: false });
      // The server stops at the window; another call on the same socket runs meanwhile.
      const numbers = Array.from({ length: 2000 }, (_, i) => i);
      assert.deepEqual(await collect(c.stream(M, 'intEchoStream', {}, { stream: numbers })), { values: numbers });
      let next = 1;
      for (let item = await stalled.next(); !item.done; item = await stalled.next()) {
        assert.equal(item.value, next++);
      }
      assert.equal(next, 5000);
    });

    it('flow control: an end or an error that arrives at zero credit is delivered', async () => {
      for (const window of [1, 2]) {
        const w = client(server.url, wire, { window });
        // Other than the one asking.
        const ended = async () => (await c.call(M, 'openCalls')) === 0;
        // Values, then the end: it arrives while the consumer takes nothing.
        const values = w.stream(M, 'intStreamFromValue', { value: window + 1 })[Symbol.asyncIterator]();
        assert.deepEqual(await values.next(), { value: 0, done: false });
        await waitUntil('the server ended the call', ended);
        const rest = [];
        for (let item = await values.next(); !item.done; item = await values.next()) rest.push(item.value);
        assert.deepEqual(rest, Array.from({ length: window }, (_, i) => i + 1));
        // Values, then an error: an echo of an input that fails after them.
        async function* failing() {
          for (let i = 0; i <= window; i++) yield i;
          throw new Error('the input failed');
        }
        const echo = w.stream(M, 'intEchoStream', {}, { stream: failing() })[Symbol.asyncIterator]();
        assert.deepEqual(await echo.next(), { value: 0, done: false });
        await waitUntil('the server ended the echo', ended);
        const after = await collect({ [Symbol.asyncIterator]: () => echo });
        assert.deepEqual(after.values, Array.from({ length: window }, (_, i) => i + 1));
        assert.ok(after.error instanceof ConnectionClosedError, String(after.error));
        w.close();
      }
    });

    it('flow control: an input is pulled only as far as the server grants', async () => {
      let pulled = 0;
      function* endless() {
        for (;;) yield pulled++;
      }
      const abort = new AbortController();
      const held = collect(
        c.stream(M, 'delayedNeverListenedInputStream', { delay: 30 }, { stream: endless() }, { signal: abort.signal }),
      );
      // The server's input window (256) is all the client sends of a stream it never reads.
      // (and one value ahead, held until credit comes, so that the stream's end needs none).
      await waitUntil('the window is pulled', () => pulled === 257);
      assert.equal(await c.call(M, 'intReturnFromStream', {}, { stream: [3] }), 3);
      assert.equal(pulled, 257);
      abort.abort(new Error('done waiting'));
      assert.equal((await held).error.message, 'done waiting');
    });

    it('maps refused opens to their errors and codes', async () => {
      await assert.rejects(c.call(M, 'noSuchMethod'), (e) => e instanceof EndpointNotFoundError && e.statusCode === 404);
      await assert.rejects(
        c.call(M, 'intStreamFromValue', { value: 'five' }),
        (e) =>
          e instanceof InvalidArgumentsError &&
          e.statusCode === 400 &&
          // streampod says why on its own wire; Serverpod's JSON has no place for it.
          (wire === 'msgpack'
            ? e.message.startsWith(`${M}.intStreamFromValue: invalid arguments: `) && /value/.test(e.message)
            : e.message === `${M}.intStreamFromValue: invalid arguments`),
      );
    });

    it('authenticates per call, refreshes once, and closes revoked calls', async () => {
      const A = 'authenticatedMethodStreaming';
      await assert.rejects(c.call(A, 'simpleStream'), (e) => e instanceof AuthenticationFailedError && e.statusCode === 401);
      const reader = client(server.url, wire, { authKey: () => key('1', 'reader') });
      await assert.rejects(reader.call(A, 'simpleStream'), (e) => e instanceof AuthorizationDeclinedError && e.statusCode === 403);
      reader.close();
      let current = 'not-a-key';
      let refreshed = 0;
      const admin = client(server.url, wire, {
        authKey: () => current,
        refreshAuthKey: () => {
          refreshed += 1;
          current = key('7', `admin-${wire}`, ['admin']);
          return true;
        },
      });
      assert.deepEqual(await collect(admin.stream(A, 'simpleStream')), { values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
      assert.equal(refreshed, 1);
      // Revocation of the user's key closes the call.
      const inputs = [];
      let push;
      const input = (async function* () {
        for (;;) {
          if (inputs.length) yield inputs.shift();
          else await new Promise((r) => (push = r));
        }
      })();
      const echo = admin.stream(A, 'intEchoStream', {}, { stream: input })[Symbol.asyncIterator]();
      const first = echo.next();
      inputs.push(5);
      push?.();
      assert.deepEqual(await first, { value: 5, done: false });
      await c.call('authControl', 'revokeAuthId', { userId: '7', authId: `admin-${wire}` });
      // streampod says it was a revocation on its own wire; Serverpod's JSON cannot.
      await assert.rejects(echo.next(), (e) =>
        e instanceof ConnectionClosedError && (e instanceof RevokedError) === (wire === 'msgpack'),
      );
      admin.close();
    });

    it('fails open calls when the socket goes, and opens a new one for the next call', async () => {
      const other = client(server.url, wire);
      const never = other.stream(M, 'neverEndingStreamWithDelay', { millisecondsDelay: 10 })[Symbol.asyncIterator]();
      assert.equal((await never.next()).value, 0);
      other.close();
      await assert.rejects(
        (async () => {
          for (;;) if ((await never.next()).done) return;
        })(),
        ConnectionClosedError,
      );
      assert.equal(await other.call(M, 'intReturnFromStream', {}, { stream: [9] }), 9);
      other.close();
    });
  });
}
