import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Options } from 'tsup';

/**
 * The build every published @ops package shares: `src/index.ts` and `src/testing/index.ts` to ESM + CJS with
 * `.d.ts` / `.d.cts`, and, for packages with a command, `src/cli/bin.ts` to one ESM file with a shebang.
 *
 * No source maps: the output is unminified, keeps every name and reads like the source, so stack traces are
 * readable without them, while the maps (which embed the whole TypeScript source) were ~60 % of every tarball.
 *
 * The command imports the library by the package's own name (`import { backupCli } from '@ops/backup'`), which
 * stays external: the command then loads `dist/index.js` instead of carrying a second copy of the library (and of
 * its module state). A relative import (`./cli.js`) is still bundled into the command.
 */
export function packageBuild(options: { cli?: boolean } = {}): Options[] {
  // shims: import.meta.url works in the CJS build too (packages load optional peers with createRequire).
  const common = { sourcemap: false, target: 'node20', platform: 'node', shims: true } satisfies Options;
  const builds: Options[] = [
    {
      ...common,
      entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
      format: ['esm', 'cjs'],
      dts: true,
      clean: true,
      splitting: false,
    },
  ];
  if (options.cli) {
    const { name } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { name: string };
    builds.push({
      ...common,
      entry: { 'cli/bin': 'src/cli/bin.ts' },
      format: ['esm'],
      external: [name],
      banner: { js: '#!/usr/bin/env node' },
    });
  }
  return builds;
}
