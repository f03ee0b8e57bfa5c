import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = await readFile(join(packageDirectory, 'README.md'), 'utf8');

/** The ```ts blocks the consumer stage runs (marked `<!-- consumer: run -->`), as it extracts them. */
function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/<!-- consumer: run -->\n```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

/** Runs a README block as an ES module against dist/ (types stripped, as the consumer stage compiles it). */
async function runBlock(code: string): Promise<string> {
  const dist = join(packageDirectory, 'dist');
  if (!existsSync(join(dist, 'index.js'))) throw new Error('build @ops/core first: pnpm --filter @ops/core build');
  const javascript = ts
    .transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    })
    .outputText.replace(
      "from '@ops/core/testing'",
      `from ${JSON.stringify(pathToFileURL(join(dist, 'testing/index.js')).href)}`,
    )
    .replace("from '@ops/core'", `from ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)}`);
  const directory = await mkdtemp(join(tmpdir(), 'ops-core-readme-'));
  try {
    const file = join(directory, 'example.mjs');
    await writeFile(file, javascript);
    const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 60_000 });
    return stdout;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

describe('README', () => {
  it('runs the example against the built package and prints what it claims', async () => {
    const example = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const stdout = await runBlock(example as string);
    const expected = [...(example as string).matchAll(/console\.log\(.*?\); \/\/ (.*)$/gm)].map((match) => match[1]);
    expect(
      stdout
        .trim()
        .split('\n')
        .map((line) => line.trim()),
    ).toEqual(expected);
  });

  it('every block marked to run runs to completion against the built package', async () => {
    const blocks = runnableBlocks(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) await expect(runBlock(block)).resolves.toBeTypeOf('string');
  });

  it('links are absolute, so they work on the npm page too', () => {
    const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^(https:\/\/|#)/.test(target));
    expect(relative).toEqual([]);
  });
});
