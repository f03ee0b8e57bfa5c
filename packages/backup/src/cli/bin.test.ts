import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir, type TempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built command, as a user runs it: what a user sees is its exit code and its stderr.
const packageDir = resolve(fileURLToPath(import.meta.url), '../../..');
const binPath = join(packageDir, 'dist', 'cli', 'bin.js');

let directory: TempDir;
let configPath: string;

async function runBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(binPath))
    throw new Error(`build the package first (pnpm --filter @ops/backup build): ${binPath} is missing`);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [binPath, ...args], { cwd: directory.path });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  directory = await tempDir('backup-bin');
  await mkdir(join(directory.path, 'store'));
  configPath = join(directory.path, 'ops-backup.yaml');
  await writeFile(
    configPath,
    `storage: { type: local, directory: ${join(directory.path, 'store')} }\njobs:\n  - name: files\n    sources: [{ type: files, directory: ${directory.path} }]\n`,
  );
  await writeFile(join(directory.path, 'not-a-key.txt'), 'hello\n', { mode: 0o600 });
});

afterAll(async () => {
  await directory?.dispose();
});

describe('ops-backup (built command)', () => {
  it('exits 2 (usage) naming --identity-file when the identity file cannot be read (it exited 1)', async () => {
    const missing = join(directory.path, 'missing.key');
    const result = await runBin(['verify', 'latest', '--job', 'files', '--identity-file', missing, '-c', configPath]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toBe(`ops-backup verify: --identity-file ${missing}: cannot read it (ENOENT)\n`);
  });

  it('exits 2 when the identity file holds no age identity, before reading the storage', async () => {
    const notKey = join(directory.path, 'not-a-key.txt');
    const result = await runBin([
      'restore',
      'latest',
      '--job',
      'files',
      '--to-directory',
      join(directory.path, 'out'),
      '--identity-file',
      notKey,
      '-c',
      configPath,
    ]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`--identity-file ${notKey}: no AGE-SECRET-KEY-1… line in it`);
  });

  it('loads the library by its package name instead of carrying a second copy of it', async () => {
    const source = readFileSync(binPath, 'utf8');
    expect(source).toMatch(/from ["']@ops\/backup["']/);
    expect(source.length).toBeLessThan(4_000);
    const result = await runBin(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
