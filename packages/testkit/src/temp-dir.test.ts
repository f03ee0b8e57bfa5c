import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { tempDir } from './temp-dir.js';

describe('tempDir', () => {
  it('creates a fresh prefixed directory under the OS temp dir and removes it with its contents', async () => {
    const directory = await tempDir('backup files');
    expect(dirname(directory.path)).toBe(process.env['OPS_TEST_TMPDIR'] ?? tmpdir());
    expect(basename(directory.path)).toMatch(/^ops-backup-files-\w{6}$/);
    await mkdir(join(directory.path, 'nested'));
    await writeFile(join(directory.path, 'nested', 'file.txt'), 'content');

    await directory.dispose();
    await directory.dispose();
    expect(existsSync(directory.path)).toBe(false);
  });

  it('never returns the same directory twice', async () => {
    const [first, second] = await Promise.all([tempDir('same'), tempDir('same')]);
    expect(first.path).not.toBe(second.path);
    await Promise.all([first.dispose(), second.dispose()]);
  });
});
