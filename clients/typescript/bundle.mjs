// The committed JavaScript the browser loads, built from TypeScript sources:
// - browser/streampod.js: the client for pages without a bundler, one ES module with its
//   MessagePack codec inside (`cargo run --example canvas` serves it);
// - examples/canvas/static/pixorama.js: the canvas page's generated `pixorama` client
//   (static/pixorama.ts, from the endpoint's Rust trait), compiled as it is.
// Committed so that the example needs no npm step. `node bundle.mjs --check` fails when a
// committed file is not what its sources build (CI runs it).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const canvas = join(here, '..', '..', 'examples', 'canvas', 'static');
const outputs = [
  { source: join(here, 'src', 'index.ts'), target: join(here, 'browser', 'streampod.js'), bundle: true },
  // Imports `/streampod.js`, which the page serves: left as it is.
  { source: join(canvas, 'pixorama.ts'), target: join(canvas, 'pixorama.js'), bundle: false },
];

let stale = false;
for (const { source, target, bundle } of outputs) {
  const result = await build({
    entryPoints: [source],
    bundle,
    format: 'esm',
    target: 'es2020',
    legalComments: 'none',
    write: false,
  });
  const built = result.outputFiles[0].text;
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(target, 'utf8');
    } catch {
      // Missing: stale.
    }
    if (committed !== built) {
      console.error(`${target} is not what ${source} builds: run \`npm run bundle\` and commit it`);
      stale = true;
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, built);
    console.log(`wrote ${target}`);
  }
}
if (stale) process.exit(1);
if (process.argv.includes('--check')) console.log('the committed builds match their sources');
