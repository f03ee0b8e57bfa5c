import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPostgresDatabase, createRedisNamespace } from '@ops/testkit';
import { describe, expect, it } from 'vitest';
import { createHealth } from './registry/health.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/basic-service.ts', import.meta.url), 'utf8');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the quick start as a user does (`node --import tsx`), against the built package, with `env` only. */
function runExample(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const environment = { PATH: process.env['PATH'] ?? '', ...env };
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/basic-service.ts'],
      { cwd: packageDirectory, env: environment, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** The ```ts blocks the consumer stage runs (marked `<!-- consumer: run -->`), but the quick start. */
function runnableBlocks(): string[] {
  return [...readme.matchAll(/<!-- consumer: run -->\n```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .filter((code) => code !== example);
}

describe('README', () => {
  it('lists every public member of the Health object', () => {
    const paragraph = /The `Health` object:([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
    const health = createHealth({ shutdown: { signals: [] } });
    const members = new Set([...Object.keys(health), ...Object.getOwnPropertyNames(Object.getPrototypeOf(health))]);
    members.delete('constructor');
    health.close();
    const missing = [...members].filter((member) => !new RegExp(`\`${member}[\`(]`).test(paragraph));
    expect(missing).toEqual([]);
  });

  it('includes examples/basic-service.ts verbatim, as a program the consumer stage runs', () => {
    const match = /<!-- example: examples\/basic-service\.ts -->\n<!-- consumer: run -->\n```ts\n([\s\S]*?)```/.exec(
      readme,
    );
    expect(
      match,
      'README must include the example under <!-- example: examples/basic-service.ts --> and <!-- consumer: run -->',
    ).not.toBeNull();
    expect(match?.[1]).toBe(example);
  });

  it('installs everything the quick start imports with its own install lines', () => {
    const install = /## Install\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const installed = new Set(
      install.split(/\s+/).filter((word) => /^@?[a-z]/.test(word) && !['npm', 'install'].includes(word)),
    );
    const imported = [...example.matchAll(/^import (?!type )[\s\S]*? from '([^']+)';$/gm)].map(
      (match) => match[1] as string,
    );
    const packages = imported.filter((name) => !name.startsWith('node:') && !builtinModules.includes(name));
    expect(packages.filter((name) => !installed.has(name))).toEqual([]);
    // pg ships no types of its own
    expect(installed.has('@types/pg')).toBe(true);
  });

  it('never defaults the bearer token: without HEALTH_TOKEN the quick start stops and says what to set', async () => {
    expect(example).not.toMatch(/change-me|HEALTH_TOKEN'\]\s*\?\?/);
    const run = await runExample({ DATABASE_URL: 'postgres://127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('HEALTH_TOKEN is not set');
    expect(run.stdout).toBe('');
  });

  it('the quick start runs against real PostgreSQL and Redis: answers its endpoints, then shuts down and exits 0', async () => {
    const database = await createPostgresDatabase();
    const namespace = await createRedisNamespace();
    try {
      const run = await runExample({
        DATABASE_URL: database.connectionString,
        REDIS_URL: namespace.url,
        HEALTH_TOKEN: 'readme-test-token',
        PORT: '0',
      });
      expect(run, run.stderr).toMatchObject({ code: 0 });
      // What the README says it prints, read from the README.
      const printed = /It prints:\n\n```text\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(printed, 'README must show the output under "It prints:"').toBeDefined();
      expect(run.stdout).toBe(printed);
    } finally {
      await namespace.dispose();
      await database.dispose();
    }
  }, 60_000);

  it('every other block marked to run runs to completion against the built package', async () => {
    const blocks = runnableBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    // Inside the package, so `@ops/health` resolves to itself (dist) as it does for a user.
    const directory = await mkdtemp(join(packageDirectory, '.readme-'));
    try {
      for (const [index, code] of blocks.entries()) {
        const file = join(directory, `block-${index}.mts`);
        await writeFile(file, code);
        await expect(
          promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: packageDirectory, timeout: 60_000 }),
        ).resolves.toBeDefined();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('links are absolute, so they work on the npm page too', () => {
    const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^(https:\/\/|#)/.test(target));
    expect(relative).toEqual([]);
  });
});
