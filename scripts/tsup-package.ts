import type { Options } from 'tsup';

/**
 * The build every published @ops package shares: `src/index.ts` and `src/testing/index.ts` to ESM + CJS with
 * `.d.ts` / `.d.cts`, and, for packages with a command, `src/cli/bin.ts` to one ESM file with a shebang.
 */
export function packageBuild(options: { cli?: boolean } = {}): Options[] {
  // shims: import.meta.url works in the CJS build too (packages load optional peers with createRequire).
  const common = { sourcemap: true, target: 'node20', platform: 'node', shims: true } satisfies Options;
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
    builds.push({ ...common, entry: { 'cli/bin': 'src/cli/bin.ts' }, format: ['esm'], banner: { js: '#!/usr/bin/env node' } });
  }
  return builds;
}
