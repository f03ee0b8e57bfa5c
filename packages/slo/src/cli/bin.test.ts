import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const packageDir = resolve(fileURLToPath(import.meta.url), '../../..');
const binPath = join(packageDir, 'dist', 'cli', 'bin.js');

describe('ops-slo (built command)', () => {
  it('loads the library by its package name instead of carrying a second copy of it (it carried 126 KB)', async () => {
    if (!existsSync(binPath))
      throw new Error(`build the package first (pnpm --filter @ops/slo build): ${binPath} is missing`);
    const source = readFileSync(binPath, 'utf8');
    expect(source).toMatch(/from ["']@ops\/slo["']/);
    expect(source.length).toBeLessThan(4_000);
    const { stdout } = await promisify(execFile)(process.execPath, [binPath, '--help'], { cwd: packageDir });
    expect(stdout).toContain('ops-slo');
  });
});
