import { readFile } from 'node:fs/promises';
import { ExitCode, runCli } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { backupCli } from './cli/cli.js';
import { PACKAGE_VERSION } from './version.js';

describe('version', () => {
  it('manifests record the version in package.json, and ops-backup --version prints it', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(PACKAGE_VERSION).toBe(manifest.version);
    expect(backupCli.version).toBe(manifest.version);
    let stdout = '';
    const code = await runCli(backupCli, ['--version'], {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      env: {},
    });
    expect(code).toBe(ExitCode.ok);
    expect(stdout).toBe(`${manifest.version}\n`);
  });
});
