// Builds dist/ (the compiled client and its types) whenever npm prepares this package: on
// `npm install <this folder>`, `npm pack` and `npm publish`. A folder installed by its path
// is linked as it is, without its devDependencies, so on a fresh clone the compiler is not
// there yet: then they are installed first, from the lockfile. That is what makes
// `npm install ./clients/typescript` work in one step.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (command, args) => execFileSync(command, args, { cwd: here, stdio: 'inherit' });

if (!existsSync(join(here, 'node_modules', 'typescript', 'bin', 'tsc'))) {
  run(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
}
run(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
