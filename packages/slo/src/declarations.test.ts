import { fileURLToPath } from 'node:url';
import { findPeerImportsInDeclarations } from '@ops/testkit';
import { describe, expect, it } from 'vitest';

describe('published declarations', () => {
  it('import no optional peer dependency, in the main and the ./testing entry (and the chunks they share)', () => {
    const { files, offending } = findPeerImportsInDeclarations(fileURLToPath(new URL('..', import.meta.url)));
    expect(files.length, 'build @ops/slo first: pnpm --filter @ops/slo build').toBeGreaterThan(0);
    // dist/testing/index.d.ts once had a bare `import 'prom-client'`: the testing entry must be among the files read.
    const entries = files.map((file) => file.replaceAll('\\', '/').replace(/^.*\/dist\//, 'dist/'));
    expect(entries).toEqual(
      expect.arrayContaining([
        'dist/index.d.ts',
        'dist/index.d.cts',
        'dist/testing/index.d.ts',
        'dist/testing/index.d.cts',
      ]),
    );
    expect(offending).toEqual([]);
  });
});
