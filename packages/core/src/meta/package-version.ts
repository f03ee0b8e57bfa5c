import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Reads the `version` of the package named `packageName` from the nearest `package.json` above `moduleUrl`
 * (pass `import.meta.url`): the version a release stamped, in the source tree (`src/`) and in every build
 * (`dist/`, `dist/cli/`) alike. Returns `'0.0.0'` when none is found. CLIs print it for `--version`; backup
 * writes it into manifests.
 *
 * @example
 * ```ts
 * export const PACKAGE_VERSION = readPackageVersion(import.meta.url, '@ops/backup');
 * ```
 */
export function readPackageVersion(moduleUrl: string | URL, packageName: string): string {
  let directory = dirname(fileURLToPath(moduleUrl));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === packageName && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json at this level
    }
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return '0.0.0';
}
