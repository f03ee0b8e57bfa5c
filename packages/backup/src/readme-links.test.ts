import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

// What a user reads on the npm page: links that work there, and an install line that installs what the examples
// import (npm hoisting hides a missing one; pnpm does not).
const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);

describe('README for the npm page', () => {
  it('links are absolute, so they work on the npm page too', () => {
    const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^(https:\/\/|#)/.test(target));
    expect(relative).toEqual([]);
  });

  it('the install line adds every package the examples import', () => {
    const install = /```sh\nnpm install ([^\n]+)\n```/.exec(readme)?.[1]?.split(/\s+/) ?? [];
    const imported = new Set(
      blocks.flatMap((code) =>
        // Import statements only: a comment may mention a test runner's import.
        [...code.matchAll(/^import [^\n]*from '((?:@[^/']+\/)?[^/']+)[^']*'/gm)].map((match) => match[1] as string),
      ),
    );
    const missing = [...imported].filter((name) => !name.startsWith('node:') && !install.includes(name));
    expect(missing).toEqual([]);
  });

  it('every example is complete (run or type-checked by the consumer test), none a bare fragment', () => {
    expect(readme).not.toContain('<!-- consumer: fragment -->');
    expect(readme.match(/<!-- consumer: run -->\n```ts\n/g)?.length).toBeGreaterThanOrEqual(10);
  });
});
