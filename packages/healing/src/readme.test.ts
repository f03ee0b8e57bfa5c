import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Runs every ```ts block of the README as a module (imports of @ops/healing point at this package's source).
const sourceDirectory = dirname(fileURLToPath(import.meta.url));
const examplesDirectory = join(sourceDirectory, '.readme-examples');
const readme = await readFile(join(sourceDirectory, '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);

describe('README', () => {
  afterAll(async () => {
    await rm(examplesDirectory, { recursive: true, force: true });
  });

  it('has runnable examples and absolute links only', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const relative = [...readme.matchAll(/\]\(([^)#][^)]*)\)/g)]
      .map((match) => match[1]!)
      .filter((link) => !/^https?:/.test(link));
    expect(relative).toEqual([]);
  });

  blocks.forEach((code, index) => {
    const firstLine = code.split('\n').find((line) => !line.startsWith('import')) ?? '';
    it(`example ${index + 1}: ${firstLine.slice(0, 60)}`, { timeout: 60_000 }, async () => {
      await mkdir(examplesDirectory, { recursive: true });
      const rewritten = code
        .replaceAll(
          "from '@ops/healing/testing'",
          `from ${JSON.stringify(pathToFileURL(join(sourceDirectory, 'testing', 'index.ts')).href)}`,
        )
        .replaceAll(
          "from '@ops/healing'",
          `from ${JSON.stringify(pathToFileURL(join(sourceDirectory, 'index.ts')).href)}`,
        );
      const file = join(examplesDirectory, `example-${index + 1}.ts`);
      await writeFile(file, `${rewritten}\nexport {};\n`);
      await import(pathToFileURL(file).href);
    });
  });
});
