// The package as an app gets it, from an empty folder: the tarball of `npm pack`, and this
// folder installed by its path from a fresh copy (no dist/, no node_modules/, as a fresh
// clone has it). Each is imported from Node, with its types and its browser build.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const scratch = mkdtempSync(join(tmpdir(), 'streampod-package-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
const run = (cwd, command, args) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** An empty app folder with `spec` installed in it. */
function appWith(name, spec) {
  const app = join(scratch, name);
  mkdirSync(app);
  run(app, npm, ['init', '-y']);
  run(app, npm, ['install', ...quiet, spec]);
  return app;
}

/** Imports the package in a Node process of its own, from `app`. */
function importsIn(app) {
  const script = `
    const m = await import('streampod');
    const browser = await import('streampod/browser');
    const c = new m.Client('http://127.0.0.1:1');
    const e = new m.RejectedError('why');
    console.log(JSON.stringify({
      client: typeof c.stream, kind: e.kind, closed: e instanceof m.ConnectionClosedError,
      browser: typeof browser.Client,
    }));`;
  return JSON.parse(run(app, process.execPath, ['--input-type=module', '-e', script]));
}

const expected = { client: 'function', kind: 'rejected', closed: true, browser: 'function' };

describe('the npm package', () => {
  it('installs from the tarball npm pack makes', () => {
    run(here, npm, ['pack', '--pack-destination', scratch, '--loglevel=error']);
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    const app = appWith('from-tarball', join(scratch, tarball));
    const installed = join(app, 'node_modules', 'streampod');
    assert.ok(existsSync(join(installed, 'dist', 'index.d.ts')), 'types are in the package');
    assert.ok(!existsSync(join(installed, 'test')), 'tests are not');
    assert.deepEqual(importsIn(app), expected);
  });

  it('installs in one step from a fresh clone’s folder', () => {
    const fresh = join(scratch, 'fresh');
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'prepare.mjs', 'src', 'browser']) {
      cpSync(join(here, entry), join(fresh, entry), { recursive: true });
    }
    const app = appWith('from-folder', fresh);
    assert.ok(existsSync(join(fresh, 'dist', 'index.js')), 'installing built it');
    assert.deepEqual(importsIn(app), expected);
  });
});
