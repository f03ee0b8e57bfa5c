import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('README', () => {
  it('runs the example against the built package and prints what it claims', async () => {
    const readme = await readFile(join(packageDirectory, 'README.md'), 'utf8');
    const example = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const dist = join(packageDirectory, 'dist');
    if (!existsSync(join(dist, 'index.js'))) throw new Error('build @ops/core first: pnpm --filter @ops/core build');
    // The example is written as plain JavaScript-compatible TypeScript; run it as an ES module against dist/.
    const script = (example as string)
      .replace("from '@ops/core/testing'", `from ${JSON.stringify(pathToFileURL(join(dist, 'testing/index.js')).href)}`)
      .replace("from '@ops/core'", `from ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)}`);
    const directory = await mkdtemp(join(tmpdir(), 'ops-core-readme-'));
    try {
      const file = join(directory, 'example.mjs');
      await writeFile(file, script);
      const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 60_000 });
      const expected = [...(example as string).matchAll(/console\.log\(.*?\); \/\/ (.*)$/gm)].map((match) => match[1]);
      expect(stdout.trim().split('\n').map((line) => line.trim())).toEqual(expected);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
