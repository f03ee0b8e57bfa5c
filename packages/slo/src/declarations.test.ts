import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A user who installs @ops/slo without an optional peer (no prom-client) type-checks against these
// files with `skipLibCheck: false`: a declaration that imports the peer fails with TS2307 for them.
const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as {
  peerDependencies?: Record<string, string>;
};

function declarationFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return /\.d\.c?ts$/.test(entry.name) ? [path] : [];
  });
}

describe('published declarations', () => {
  it('import no optional peer dependency', () => {
    const files = declarationFiles(join(packageDirectory, 'dist'));
    expect(files.length, 'build @ops/slo first: pnpm --filter @ops/slo build').toBeGreaterThan(0);
    const peers = Object.keys(manifest.peerDependencies ?? {});
    const offending = files.flatMap((file) => {
      // Code only: a TSDoc example may show `import { Registry } from 'prom-client'`.
      const text = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      return peers
        .filter((peer) =>
          new RegExp(`(from|import)\\s*\\(?\\s*['"]${peer.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(text),
        )
        .map((peer) => `${file.slice(packageDirectory.length)} imports ${peer}`);
    });
    expect(offending).toEqual([]);
  });
});
