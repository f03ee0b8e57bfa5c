import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error.js';
import { safeErrorMessage } from '../redaction/redact.js';
import { durationSchema } from '../time/duration.js';
import { loadConfig, parseConfigText } from './load-config.js';

const schema = z.object({
  database: z.object({ url: z.string(), password: z.string().optional() }),
  interval: durationSchema,
  jobs: z
    .array(z.object({ name: z.string(), retention: z.object({ keepDaily: z.number().int().min(0) }) }))
    .default([]),
});

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'ops-core-config-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads YAML, interpolates ${ENV} references and validates', async () => {
    const file = join(directory, 'ops.yaml');
    await writeFile(
      file,
      [
        'database:',
        '  url: postgres://app@${DB_HOST:-localhost}:5432/app',
        '  password: ${PGPASSWORD}',
        'interval: 30s',
        'jobs:',
        '  - name: nightly',
        '    retention: { keepDaily: 7 }',
      ].join('\n'),
    );
    const config = await loadConfig(file, schema, { env: { PGPASSWORD: 'from-env', DB_HOST: 'db.internal' } });
    expect(config).toEqual({
      database: { url: 'postgres://app@db.internal:5432/app', password: 'from-env' },
      interval: 30_000,
      jobs: [{ name: 'nightly', retention: { keepDaily: 7 } }],
    });
    const defaults = await loadConfig(file, schema, { env: { PGPASSWORD: 'x' } });
    expect(defaults.database.url).toBe('postgres://app@localhost:5432/app');
  });

  it('reads JSON by extension, and $$ escapes a dollar sign', async () => {
    const file = join(directory, 'ops.json');
    await writeFile(file, JSON.stringify({ database: { url: 'u', password: 'pa$$word-${SUFFIX}' }, interval: 1000 }));
    expect(await loadConfig(file, schema, { env: { SUFFIX: 'z' } })).toEqual({
      database: { url: 'u', password: 'pa$word-z' },
      interval: 1000,
      jobs: [],
    });
  });

  it('names the missing variable and where it is used, without printing other values', async () => {
    const file = join(directory, 'missing.yaml');
    await writeFile(file, 'database:\n  url: postgres://app:${PGPASSWORD}@db/app\ninterval: 1m\n');
    const error = await configError(loadConfig(file, schema, { env: {} }));
    expect(error.message).toBe(`invalid ${file}: database.url: environment variable PGPASSWORD is not set`);
    expect(error.issues).toEqual([{ path: 'database.url', message: 'environment variable PGPASSWORD is not set' }]);
    // An empty variable counts as unset.
    await expect(loadConfig(file, schema, { env: { PGPASSWORD: '' } })).rejects.toThrow(/PGPASSWORD is not set/);
  });

  it('an unset variable under a key that names a secret keeps its message through redaction', () => {
    const text = 'database:\n  url: postgres://db/app\n  password: ${NOPE_MISSING_VAR}\ninterval: 1m\n';
    let thrown: unknown;
    try {
      parseConfigText(text, schema, 'ops.yaml', { env: {} });
    } catch (error) {
      thrown = error;
    }
    expect(ConfigError.isInstance(thrown)).toBe(true);
    // Logs, CLI output and health results show errors through redaction; "password: environment" must not read as a secret.
    expect(safeErrorMessage(thrown)).toBe(
      'CONFIG_INVALID: invalid ops.yaml: database.password: environment variable NOPE_MISSING_VAR is not set',
    );
  });

  it('reports schema problems with the file name and path', async () => {
    const file = join(directory, 'bad.yaml');
    await writeFile(
      file,
      'database: { url: x }\ninterval: 5x\njobs:\n  - { name: a, retention: { keepDaily: 1 } }\n  - { name: b, retention: { keepDaily: -1 } }\n',
    );
    const error = await configError(loadConfig(file, schema, { env: {} }));
    expect(error.message).toContain(`invalid ${file}: `);
    expect(error.message).toContain('interval: invalid duration "5x"');
    expect(error.message).toContain('jobs[1].retention.keepDaily: expected integer >= 0');
  });

  it('reports unreadable files and unparsable text as ConfigError', async () => {
    const missing = await configError(loadConfig(join(directory, 'nope.yaml'), schema));
    expect(missing.message).toMatch(/cannot read config file .*nope\.yaml: ENOENT/);
    const file = join(directory, 'broken.json');
    await writeFile(file, '{ "database": ');
    const broken = await configError(loadConfig(file, schema));
    expect(broken.message).toMatch(/cannot parse JSON/);
    expect(() => parseConfigText('a: [1, 2', schema, 'inline.yaml', { env: {} })).toThrow(
      /invalid inline\.yaml: cannot parse YAML/,
    );
  });

  it('parseConfigText treats an empty document as an empty object', () => {
    expect(() => parseConfigText('', schema, 'empty.yaml', { env: {} })).toThrow(
      'database: required (expected object)',
    );
    expect(parseConfigText('', z.object({ a: z.number().default(1) }), 'empty.yaml')).toEqual({ a: 1 });
  });
});
