import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What {@link findPeerImportsInDeclarations} found in a package's built declarations. */
export interface PeerImportScan {
  /** Every `.d.ts` / `.d.cts` file under `dist/` (empty when the package is not built). */
  files: string[];
  /** One line per declaration file that imports a peer dependency: `dist/index.d.ts imports prom-client`. */
  offending: string[];
}

function declarationFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return /\.d\.c?ts$/.test(entry.name) ? [path] : [];
  });
}

/**
 * Scans a package's built declarations for imports of its peer dependencies. A user who installs the package
 * without an optional peer type-checks against these files with `skipLibCheck: false`: a declaration that imports
 * the peer fails with TS2307 for them. Comments are ignored (a TSDoc example may show the import).
 */
export function findPeerImportsInDeclarations(packageDirectory: string): PeerImportScan {
  const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as {
    peerDependencies?: Record<string, string>;
  };
  const peers = Object.keys(manifest.peerDependencies ?? {});
  const files = declarationFiles(join(packageDirectory, 'dist'));
  const offending = files.flatMap((file) => {
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    return peers
      .filter((peer) =>
        new RegExp(`(from|import)\\s*\\(?\\s*['"]${peer.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(text),
      )
      .map((peer) => `${file.slice(packageDirectory.length)} imports ${peer}`);
  });
  return { files, offending };
}
