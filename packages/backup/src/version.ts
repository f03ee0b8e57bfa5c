import { createRequire } from 'node:module';

function readVersion(): string {
  // The package.json next to the source (src/) or the bundle (dist/, dist/cli/): the version a release stamped.
  // createRequire works in both builds (tsup shims import.meta.url in CJS); a bare `require` would become a
  // throwing shim in the ESM build.
  const load = createRequire(import.meta.url);
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const manifest = load(candidate) as { name?: string; version?: string };
      if (manifest.name === '@ops/backup' && manifest.version) return manifest.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
}

/** Version written into manifests (`tool.version`), read from this package's package.json. */
export const PACKAGE_VERSION = readVersion();
