// The client generated from the conformance server's Rust trait (test/generated/, by
// `cargo run --features typescript --example typescript`), compiled by `npm run build:tests`:
// typed calls, plain objects on a model's input, typed containers, exceptions, on both wires.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MethodStreamingClient, isExceptionWithData } from '../test-output/generated/methodStreaming.js';
import { client, collect, startExample } from './support.mjs';

let server;
before(async () => {
  server = await startExample('conformance_server');
});
after(() => server.stop());

for (const wire of ['msgpack', 'json']) {
  describe(`the generated client, on the ${wire} wire`, () => {
    let c;
    let methods;
    before(() => {
      c = client(server.url, wire);
      methods = new MethodStreamingClient(c);
    });
    after(() => c.close());

    it('calls streams and futures by their typed methods', async () => {
      assert.deepEqual(await collect(methods.intStreamFromValue(3)), { values: [0, 1, 2] });
      assert.equal(await methods.intReturnFromStream([41]), 41);
      assert.deepEqual(await collect(methods.intEchoStream([1, 2, 3])), { values: [1, 2, 3] });
      await methods.voidReturnAfterStream([1, 2]);
    });

    it('sends plain objects on a model’s input, and typed containers as their class', async () => {
      const echoed = await collect(methods.simpleInOutDataStream([{ num: 1 }, { num: 2 }]));
      assert.deepEqual(echoed.values, [
        { __className__: 'SimpleData', num: 1 },
        { __className__: 'SimpleData', num: 2 },
      ]);
      // Arrays go as `List<int>`, which the method declares (an untyped array is a `List`).
      assert.deepEqual(await collect(methods.simpleListInOutIntStream([[1, 2], [3]])), { values: [[1, 2], [3]] });
      // Nulls on a nullable input go as `null`.
      assert.deepEqual(await collect(methods.nullableIntEchoStream([1, null])), { values: [1, null] });
    });

    it('leaves out an optional input, and tells the exception by its guard', async () => {
      // Without the stream the method answers -1; with it, it echoes.
      assert.deepEqual(await collect(methods.optionalEchoStream()), { values: [-1] });
      assert.deepEqual(await collect(methods.optionalEchoStream([5])), { values: [5] });
      const thrown = await methods.throwsSerializableException().catch((e) => e);
      assert.ok(isExceptionWithData(thrown), String(thrown));
      assert.equal(thrown.data.message, 'Throwing an exception');
      assert.ok(!isExceptionWithData(new Error('plain')));
    });
  });
}
