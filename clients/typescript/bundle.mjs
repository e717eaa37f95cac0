// Bundles the client for pages without a bundler: browser/streampod.js, one ES module with
// its MessagePack codec inside, committed so that a page can load it as it is (and
// `cargo run --example canvas`, which serves it, needs no npm step). `node bundle.mjs
// --check` fails when the committed bundle is not what the sources build (CI runs it).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, 'browser', 'streampod.js');
const result = await build({
  entryPoints: [join(here, 'src', 'index.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  legalComments: 'none',
  write: false,
});
const built = result.outputFiles[0].text;
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== built) {
    console.error(`${target} is not what the sources build: run \`npm run bundle\` and commit it`);
    process.exit(1);
  }
  console.log('the committed bundle matches the sources');
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, built);
  console.log(`wrote ${target}`);
}
