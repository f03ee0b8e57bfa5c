import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackageVersion } from './package-version.js';

describe('readPackageVersion', () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-version-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds the named package above the module, from src/ and from dist/cli/ alike', () => {
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: '@ops/example', version: '1.2.3' }));
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'src', 'cli', 'nested', 'package'), { recursive: true });
    // a package.json of another package in between is skipped
    writeFileSync(
      join(root, 'src', 'cli', 'nested', 'package.json'),
      JSON.stringify({ name: 'other', version: '9.9.9' }),
    );
    expect(readPackageVersion(pathToFileURL(join(root, 'dist', 'cli', 'bin.js')), '@ops/example')).toBe('1.2.3');
    expect(
      readPackageVersion(pathToFileURL(join(root, 'src', 'cli', 'nested', 'package', 'x.ts')).href, '@ops/example'),
    ).toBe('1.2.3');
    expect(readPackageVersion(import.meta.url, '@ops/core')).toMatch(/^\d+\.\d+\.\d+/);
    expect(readPackageVersion(pathToFileURL(join(root, 'dist', 'index.js')), '@ops/missing')).toBe('0.0.0');
  });
});
