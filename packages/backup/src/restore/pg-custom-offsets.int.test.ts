import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresDatabase,
  queryPostgres as sql,
  tempDir,
  type PostgresDatabase,
  type TempDir,
} from '@ops/testkit';
import { patchCustomDumpOffsets, readCustomDumpToc, type CustomDumpToc } from './pg-custom-offsets.js';

// pg_dump -Fc writing to a pipe cannot go back to fill in the TOC's data offsets; written straight to a file, it does.
// patchCustomDumpOffsets must turn the first into the second, and refuse (untouched) anything it does not understand.

const run = promisify(execFile);

const OFFSET_NOT_SET = 1;
const OFFSET_SET = 2;
const OFFSET_NO_DATA = 3;

let source: PostgresDatabase;
let target: PostgresDatabase;
let dir: TempDir;
let piped: string;
let pristine: string;
let direct: string;
let directToc: CustomDumpToc;

const expectedRows: Record<string, number> = { customers: 4000, orders: 6000, events: 2500, empty_table: 0 };

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Data offsets by dump ID, for the entries that have data. */
function offsets(toc: CustomDumpToc): Map<number, { flag: number; offset: number }> {
  return new Map(
    toc.entries
      .filter((entry) => entry.offsetFlag !== OFFSET_NO_DATA)
      .map((entry) => [entry.dumpId, { flag: entry.offsetFlag, offset: entry.offset }]),
  );
}

function dataEntry(toc: CustomDumpToc, tag: string) {
  const entry = toc.entries.find((candidate) => candidate.desc === 'TABLE DATA' && candidate.tag === tag);
  if (!entry) throw new Error(`no TABLE DATA entry for ${tag}`);
  return entry;
}

beforeAll(async () => {
  [source, target, dir] = await Promise.all([
    createPostgresDatabase({ prefix: 'offsets_src' }),
    createPostgresDatabase({ prefix: 'offsets_dst' }),
    tempDir('pg-offsets'),
  ]);
  await sql(
    source.connectionString,
    `CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
     INSERT INTO customers SELECT g, 'customer ' || g, md5(g::text) || '@example.com' FROM generate_series(1, 4000) g;
     CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, amount numeric, note text);
     INSERT INTO orders SELECT g, 1 + g % 4000, g * 1.5, repeat(md5(g::text), 3) FROM generate_series(1, 6000) g;
     CREATE INDEX orders_customer_idx ON orders (customer_id);
     CREATE TABLE events (at timestamptz, payload jsonb);
     INSERT INTO events SELECT now() - g * interval '1 minute', jsonb_build_object('n', g) FROM generate_series(1, 2500) g;
     CREATE INDEX events_at_idx ON events (at);
     CREATE TABLE empty_table (id int);
     SELECT lo_from_bytea(0, 'hello');`,
  );
  piped = join(dir.path, 'piped.dump');
  pristine = join(dir.path, 'pristine.dump');
  direct = join(dir.path, 'direct.dump');
  await run('bash', [
    '-o',
    'pipefail',
    '-c',
    'pg_dump -Fc -d "$1" | cat > "$2"',
    'bash',
    source.connectionString,
    piped,
  ]);
  await run('pg_dump', ['-Fc', '-d', source.connectionString, '-f', direct]);
  await copyFile(piped, pristine);
  directToc = await readCustomDumpToc(direct);
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.dispose(), target?.dispose(), dir?.dispose()]);
});

describe('patchCustomDumpOffsets on a dump pg_dump wrote to a pipe', () => {
  it('starts from a piped dump whose data offsets are all "not set" (and a direct dump whose are all set)', async () => {
    const before = offsets(await readCustomDumpToc(piped));
    expect(before.size).toBeGreaterThanOrEqual(5); // four tables and the large objects
    for (const { flag } of before.values()) expect(flag).toBe(OFFSET_NOT_SET);
    const expected = offsets(directToc);
    expect([...expected.keys()].sort()).toEqual([...before.keys()].sort());
    for (const { flag } of expected.values()) expect(flag).toBe(OFFSET_SET);
    expect(directToc.entries.some((entry) => entry.desc === 'BLOBS')).toBe(true);
  });

  it('writes the offsets pg_dump writes to a file, and changes nothing but the offset fields', async () => {
    const before = await readFile(piped);
    const result = await patchCustomDumpOffsets(piped);
    expect(result).toEqual({ patched: offsets(directToc).size });
    expect(result.patched).toBeGreaterThan(0);

    const patchedToc = await readCustomDumpToc(piped);
    expect(offsets(patchedToc)).toEqual(offsets(directToc));

    const after = await readFile(piped);
    expect(after.length).toBe(before.length);
    const fieldBytes = new Set<number>();
    for (const entry of patchedToc.entries)
      if (entry.offsetFlag === OFFSET_SET)
        for (let index = 0; index <= patchedToc.offSize; index += 1) fieldBytes.add(entry.fieldPosition + index);
    const changed: number[] = [];
    for (let index = 0; index < after.length; index += 1) if (after[index] !== before[index]) changed.push(index);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((index) => !fieldBytes.has(index))).toEqual([]);
  });

  it('leaves an already patched dump alone', async () => {
    const hash = await sha256(piped);
    const result = await patchCustomDumpOffsets(piped);
    expect(result.patched).toBe(0);
    expect(result.reason).toMatch(/lacks its data offset/);
    expect(await sha256(piped)).toBe(hash);
  });

  it('leaves a dump pg_restore lists and restores in parallel: every row and the large object', async () => {
    expect(
      offsets(await readCustomDumpToc(piped))
        .values()
        .next().value?.flag,
    ).toBe(OFFSET_SET);
    const { stdout: listing } = await run('pg_restore', ['-l', piped]);
    expect(listing).toMatch(/TABLE DATA public orders/);
    expect(listing).toMatch(/BLOBS/);

    await run('pg_restore', ['-j', '2', '-d', target.connectionString, piped], { timeout: 60_000 });
    for (const [table, rows] of Object.entries(expectedRows)) {
      const [row] = await sql<{ count: string }>(target.connectionString, `SELECT count(*) FROM ${table}`);
      expect([table, Number(row?.count)]).toEqual([table, rows]);
    }
    const objects = await sql<{ content: string }>(
      target.connectionString,
      "SELECT convert_from(lo_get(oid), 'UTF8') AS content FROM pg_largeobject_metadata",
    );
    expect(objects).toEqual([{ content: 'hello' }]);
  }, 60_000);
});

describe('patchCustomDumpOffsets refuses what it does not understand and leaves it byte-identical', () => {
  async function expectRefused(path: string, reason: RegExp): Promise<void> {
    const hash = await sha256(path);
    const result = await patchCustomDumpOffsets(path);
    expect(result.patched).toBe(0);
    expect(result.reason).toMatch(reason);
    expect(await sha256(path)).toBe(hash);
  }

  it('a plain SQL dump', async () => {
    const plain = join(dir.path, 'plain.sql');
    await run('pg_dump', ['-Fp', '-d', source.connectionString, '-f', plain]);
    await expectRefused(plain, /no PGDMP magic/);
  });

  it('a piped dump cut in the middle of the data section', async () => {
    const truncated = join(dir.path, 'truncated.dump');
    await copyFile(pristine, truncated);
    // Inside the orders table's data block: well past its header, well before the next block.
    const orders = dataEntry(directToc, 'orders');
    const next = Math.min(...directToc.entries.filter((e) => e.offset > orders.offset).map((e) => e.offset));
    expect(next - orders.offset).toBeGreaterThan(200);
    await truncate(truncated, orders.offset + 100);
    await expectRefused(truncated, /ends early|runs past the end/);
  });

  it('a piped dump whose data section has a garbled block type', async () => {
    const garbled = join(dir.path, 'garbled.dump');
    const bytes = await readFile(pristine);
    const events = dataEntry(directToc, 'events');
    expect(bytes[events.offset]).toBe(1); // BLK_DATA
    bytes[events.offset] = 7;
    await writeFile(garbled, bytes);
    await expectRefused(garbled, /unknown data block type 7/);
  });

  it('an aborted scan is ABORTED and writes nothing', async () => {
    const copy = join(dir.path, 'aborted.dump');
    await copyFile(pristine, copy);
    const hash = await sha256(copy);
    await expect(
      patchCustomDumpOffsets(copy, { signal: AbortSignal.abort(new Error('operator cancelled')) }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await sha256(copy)).toBe(hash);
  });

  it('a file that is too short to hold a header', async () => {
    const tiny = join(dir.path, 'tiny.dump');
    await writeFile(tiny, Buffer.from('PGDMP\x01'));
    await expectRefused(tiny, /ends early/);
  });
});
