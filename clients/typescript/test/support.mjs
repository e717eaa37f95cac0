// Starts the conformance server (`cargo build --example conformance_server` first; the
// repository's test script does) and hands out clients of it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Client } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The path of a built example of this repository. */
export function example(name) {
  const path =
    process.env[`STREAMPOD_${name.toUpperCase()}`] ?? join(root, 'target', 'debug', 'examples', name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`cargo build --all-features --example ${name}\` first`);
  }
  return path;
}

/**
 * Runs example `name` (its `command` first, for one that has commands) with `args` until
 * `stop()`; resolves with its http address.
 */
export async function startExample(name, args = [], command = undefined) {
  const child = spawn(example(name), [...(command ? [command] : []), '--bind', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const addr = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
  });
  return {
    url: `http://${addr}`,
    stop: () => child.kill(),
  };
}

/** A client of `url` on `wire`, with the `ws` package as its WebSocket (Node 20 has none). */
export function client(url, wire, options = {}) {
  return new Client(url, { encoding: wire, WebSocket, ...options });
}

/** The `auth` key the conformance server's fixture handler accepts. */
export function key(user, authId, scopes = []) {
  return `user:${user}:${authId}:${scopes.join(',')}`;
}

/** Collects a call's values, or the error it ended with. */
export async function collect(stream) {
  const values = [];
  try {
    for await (const v of stream) values.push(v);
  } catch (error) {
    return { values, error };
  }
  return { values };
}

/** Waits until `cond()` holds, polling; fails after five seconds. */
export async function waitUntil(what, cond) {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function* fromArray(values) {
  for (const v of values) yield v;
}
