import { fileURLToPath } from 'node:url';
import { findPeerImportsInDeclarations } from '@ops/testkit';
import { describe, expect, it } from 'vitest';

describe('published declarations', () => {
  it('import no optional peer dependency (pg, ioredis, dockerode, prom-client)', () => {
    const { files, offending } = findPeerImportsInDeclarations(fileURLToPath(new URL('..', import.meta.url)));
    expect(files.length, 'build @ops/healing first: pnpm --filter @ops/healing build').toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });
});
