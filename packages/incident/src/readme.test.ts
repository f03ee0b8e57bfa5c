import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { embeddedExample } from '../examples/embedded.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function example(file: string): string | undefined {
  const escaped = file.replaceAll('/', '\\/').replaceAll('.', '\\.');
  return new RegExp(`<!-- example: ${escaped} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
}

describe('README', () => {
  it('includes examples/embedded.ts verbatim, and it runs', async () => {
    expect(example('examples/embedded.ts')).toBe(readFileSync(new URL('../examples/embedded.ts', import.meta.url), 'utf8'));
    await embeddedExample();
  });
});
