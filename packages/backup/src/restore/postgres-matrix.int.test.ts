import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresDatabase,
  queryPostgres as query,
  tempDir,
  type PostgresDatabase,
  type TempDir,
} from '@ops/testkit';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { runBackup } from '../jobs/run-backup.js';
import type { CompressionOptions } from '../pipeline/compression.js';
import { createPostgresSource, type PostgresSourceOptions } from '../sources/postgres-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import { verifyBackup } from '../verify/verify-backup.js';
import { restorePostgres, type RestorePostgresOptions } from './postgres-restore.js';

// Every dump format with each way of compressing and encrypting, each restored every way the format allows: the
// restored database must hold the same rows, whatever the combination.

let database: PostgresDatabase;
let directory: TempDir;
const identity = generateAgeIdentity();
const passphrase = 'matrix-test-passphrase';

const FINGERPRINT = `SELECT (SELECT count(*) FROM items) AS items, (SELECT sum(price) FROM items) AS total,
  (SELECT count(*) FROM events) AS events, (SELECT string_agg(label, ',' ORDER BY id) FROM labels) AS labels,
  (SELECT last_value FROM items_id_seq) AS sequence`;

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'backup_matrix' });
  directory = await tempDir('backup-matrix');
  await query(
    database.connectionString,
    `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), blob bytea);
     INSERT INTO items (name, price, blob)
       SELECT 'item ' || g || E'\\twith tab', g / 7.0, decode(md5(g::text), 'hex') FROM generate_series(1, 3000) g;
     CREATE TABLE events (at timestamptz, kind text) PARTITION BY RANGE (at);
     CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
     INSERT INTO events SELECT timestamptz '2026-01-01' + g * interval '1 hour', 'kind ' || (g % 5)
       FROM generate_series(0, 999) g;
     CREATE TABLE labels (id int PRIMARY KEY, label text);
     INSERT INTO labels VALUES (1, 'plain'), (2, E'back\\\\slash'), (3, E'line\\nbreak'), (4, '\\.');
     CREATE INDEX items_name ON items (name);
     CREATE VIEW cheap_items AS SELECT * FROM items WHERE price < 10;
     ANALYZE;`,
  );
});

afterAll(async () => {
  await database?.dispose();
  await directory?.dispose();
});

interface Packing {
  name: string;
  compression: CompressionOptions;
  source?: Partial<PostgresSourceOptions>;
  encryption?: { recipients: string[] } | { passphrase: string; scryptWorkFactor: number };
  decryption?: { identities: string[] } | { passphrase: string };
}

const packings: Packing[] = [
  { name: 'no compression, no encryption', compression: { algorithm: 'none' } },
  {
    name: 'the default: gzip 1 (inside pg_dump where it can), age to a recipient',
    compression: { algorithm: 'gzip', level: 1 },
    encryption: { recipients: [identity.recipient] },
    decryption: { identities: [identity.identity] },
  },
  {
    name: 'gzip 6 in Node (compressInsideDump: false), age with a passphrase',
    compression: { algorithm: 'gzip', level: 6 },
    source: { compressInsideDump: false },
    encryption: { passphrase, scryptWorkFactor: 10 },
    decryption: { passphrase },
  },
];

const restoreModes: Record<'custom' | 'plain' | 'directory', Partial<RestorePostgresOptions>[]> = {
  custom: [{}, { loadFrom: 'local-copy' }, { parallelJobs: 2 }],
  plain: [{}, { loadFrom: 'local-copy' }],
  directory: [{}, { parallelJobs: 2 }],
};

describe.each(['custom', 'plain', 'directory'] as const)('PostgreSQL %s dumps, every packing and restore', (format) => {
  it.each(packings)('$name', async (packing) => {
    const original = await query(database.connectionString, FINGERPRINT);
    const storage = createLocalStorage({ directory: join(directory.path, `${format}-${packings.indexOf(packing)}`) });
    const manifest = await runBackup({
      job: 'matrix',
      storage,
      sources: [
        createPostgresSource({
          connectionString: database.connectionString,
          format,
          ...(format === 'directory' ? { parallelJobs: 2 } : {}),
          ...packing.source,
        }),
      ],
      compression: packing.compression,
      ...(packing.encryption ? { encryption: packing.encryption } : {}),
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    expect(manifest.sources[0]?.details).toMatchObject({ tableCount: 4, dumpedTables: 4 });
    const decryption = packing.decryption ? { decryption: packing.decryption } : {};

    const fullRead = await verifyBackup({ storage, backup: manifest, level: 'full-read', ...decryption });
    expect(fullRead.ok, fullRead.detail).toBe(true);

    for (const [index, mode] of restoreModes[format].entries()) {
      const { database: target, connectionString: targetUrl } = database.sibling(
        `m${format[0]}${packings.indexOf(packing)}${index}`,
      );
      await restorePostgres({
        storage,
        backup: manifest,
        ...decryption,
        target: { connectionString: database.adminConnectionString, database: target },
        create: true,
        ...mode,
      });
      expect(await query(targetUrl, FINGERPRINT), `${format}, ${packing.name}, ${JSON.stringify(mode)}`).toEqual(
        original,
      );
    }
  });
});
