// A TCP proxy for the tests, in front of a server: it cuts every connection through it
// (a reset, both ways: a lost network, not a close) and refuses new ones while down. The
// Rust tests use streampod::testing's FaultProxy; this is its Node counterpart.
import { createConnection, createServer } from 'node:net';

export async function startProxy(upstream) {
  const { hostname, port } = new URL(upstream);
  const open = new Set();
  let down = false;
  let accepted = 0;
  const server = createServer((client) => {
    accepted += 1;
    if (down) return client.resetAndDestroy();
    const target = createConnection({ host: hostname, port: Number(port) });
    const pair = { client, target };
    open.add(pair);
    const end = () => {
      open.delete(pair);
      client.destroy();
      target.destroy();
    };
    client.on('error', end).on('close', end);
    target.on('error', end).on('close', end);
    client.pipe(target);
    target.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Resets every connection open now. */
    cutAll() {
      for (const { client, target } of open) {
        client.resetAndDestroy();
        target.resetAndDestroy();
      }
      open.clear();
    },
    /** While down, new connections are reset as they arrive. */
    setDown(value) {
      down = value;
    },
    get accepted() {
      return accepted;
    },
    close() {
      this.cutAll();
      server.close();
    },
  };
}
