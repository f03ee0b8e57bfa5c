import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '@ops/core';
import { createPostgresDatabase, createRedisNamespace, type PostgresDatabase, type RedisNamespace } from '@ops/testkit';
import { backupConfigSchema } from './config/config-schema.js';

// Runs every ```ts block of the README as a module (imports of @ops/backup point at this package's source), against
// a fresh PostgreSQL database and Redis namespaces; checks the YAML config example against the schema.
const sourceDirectory = dirname(fileURLToPath(import.meta.url));
const examplesDirectory = join(sourceDirectory, '.readme-examples');
const readme = await readFile(join(sourceDirectory, '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
const yamlBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] as string);

let database: PostgresDatabase;
let redis: RedisNamespace;
let restoreTarget: RedisNamespace;
const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  REDIS_URL: process.env.REDIS_URL,
  REDIS_RESTORE_URL: process.env.REDIS_RESTORE_URL,
};

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'backup_readme' });
  [redis, restoreTarget] = await Promise.all([createRedisNamespace(), createRedisNamespace()]);
  await redis.client().set('readme:key', 'value');
  process.env.DATABASE_URL = database.connectionString;
  process.env.REDIS_URL = redis.url;
  process.env.REDIS_RESTORE_URL = restoreTarget.url;
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(examplesDirectory, { recursive: true, force: true });
  await Promise.all([database?.dispose(), redis?.dispose(), restoreTarget?.dispose()]);
});

describe('README examples', () => {
  it('has runnable examples and a valid config example', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    expect(yamlBlocks).toHaveLength(1);
    const config = parseConfigText(yamlBlocks[0] as string, backupConfigSchema, 'README config', {
      env: { PGPASSWORD: 'from-the-environment' },
    });
    expect(config.jobs.map((job) => job.name)).toEqual(['pg-main', 'cache', 'config']);
  });

  blocks.forEach((code, index) => {
    const firstLine = code.split('\n').find((line) => line && !line.startsWith('import')) ?? '';
    it(`example ${index + 1}: ${firstLine.slice(0, 60)}`, async () => {
      await mkdir(examplesDirectory, { recursive: true });
      const rewritten = code
        .replaceAll(
          "from '@ops/backup/testing'",
          `from ${JSON.stringify(pathToFileURL(join(sourceDirectory, 'testing', 'index.ts')).href)}`,
        )
        .replaceAll(
          "from '@ops/backup'",
          `from ${JSON.stringify(pathToFileURL(join(sourceDirectory, 'index.ts')).href)}`,
        );
      const file = join(examplesDirectory, `example-${index + 1}.ts`);
      await writeFile(file, `${rewritten}\nexport {};\n`);
      await import(pathToFileURL(file).href);
    });
  });
});
