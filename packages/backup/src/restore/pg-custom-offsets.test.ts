import { copyFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { patchCustomDumpOffsets, readCustomDumpToc, type CustomDumpToc } from './pg-custom-offsets.js';

// Real pg_dump 15–18 output (fixtures/pg-custom/make.sh): one small database dumped by each version into a pipe and
// straight to a file. Only pg_dump 15 is installed here, so the archive layouts of 16 (1.15: the compression
// algorithm byte, one BLOB entry per large object) and 17/18 (1.16: relkind in every TOC entry, BLOB METADATA) are
// checked against these files. Filling in the piped dump's offsets must give back the direct dump byte for byte,
// except the creation time in the header (the two runs may fall in different seconds).

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pg-custom');

const OFFSET_NOT_SET = 1;
const OFFSET_SET = 2;
const OFFSET_NO_DATA = 3;
/** The seven creation-time ints (a sign byte and 4 bytes each) follow the header's compression field. */
const CREATION_TIME_BYTES = 7 * 5;

const cases = [
  { name: 'pg15-gzip', version: '1.14', largeObjects: 'BLOB' },
  { name: 'pg16-gzip', version: '1.15', largeObjects: 'BLOB' },
  { name: 'pg16-none', version: '1.15', largeObjects: 'BLOB' },
  { name: 'pg17-gzip', version: '1.16', largeObjects: 'BLOB METADATA' },
  { name: 'pg17-lz4', version: '1.16', largeObjects: 'BLOB METADATA' },
  { name: 'pg17-zstd', version: '1.16', largeObjects: 'BLOB METADATA' },
  { name: 'pg18-gzip', version: '1.16', largeObjects: 'BLOB METADATA' },
] as const;

/** The tables whose rows the fixture holds, as TABLE DATA entries (the partition holds the partitioned table's rows). */
const TABLES_WITH_DATA = ['customers', 'empty_table', 'measurements_2026', 'orders'];

function dataEntries(toc: CustomDumpToc) {
  return toc.entries.filter((entry) => entry.offsetFlag !== OFFSET_NO_DATA);
}

function creationTimeStart(version: string): number {
  // "PGDMP", major, minor, revision, intSize, offSize, format; then the compression: one algorithm byte from 1.15
  // on, an int (sign byte + 4) before.
  return 5 + 6 + (version === '1.14' ? 5 : 1);
}

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir('pg-offsets-fixtures');
});
afterAll(async () => {
  await dir?.dispose();
});

describe.each(cases)('patchCustomDumpOffsets on real pg_dump output: $name', ({ name, version, largeObjects }) => {
  const piped = join(fixtures, `${name}.piped.dump`);
  const direct = join(fixtures, `${name}.direct.dump`);

  it(`reads archive ${version}: the piped dump has no data offsets, the direct one has them all`, async () => {
    const [pipedToc, directToc] = await Promise.all([readCustomDumpToc(piped), readCustomDumpToc(direct)]);
    expect(pipedToc.version).toBe(version);
    expect(directToc.version).toBe(version);
    const tables = dataEntries(pipedToc)
      .filter((entry) => entry.desc === 'TABLE DATA')
      .map((entry) => entry.tag)
      .sort();
    expect(tables).toEqual(TABLES_WITH_DATA);
    expect(dataEntries(pipedToc).map((entry) => entry.desc)).toContain('BLOBS');
    expect(pipedToc.entries.filter((entry) => entry.desc === largeObjects).length).toBeGreaterThan(0);
    for (const entry of dataEntries(pipedToc))
      expect([entry.tag, entry.offsetFlag]).toEqual([entry.tag, OFFSET_NOT_SET]);
    for (const entry of dataEntries(directToc)) expect([entry.tag, entry.offsetFlag]).toEqual([entry.tag, OFFSET_SET]);
  });

  it('fills them in: the result is the direct dump, but for the creation time', async () => {
    const copy = join(dir.path, `${name}.dump`);
    await copyFile(piped, copy);
    const result = await patchCustomDumpOffsets(copy);
    expect(result).toEqual({ patched: TABLES_WITH_DATA.length + 1 });

    const [patched, expected] = await Promise.all([readFile(copy), readFile(direct)]);
    expect(patched.length).toBe(expected.length);
    const start = creationTimeStart(version);
    const differing: number[] = [];
    for (let index = 0; index < patched.length; index += 1)
      if (patched[index] !== expected[index] && (index < start || index >= start + CREATION_TIME_BYTES))
        differing.push(index);
    expect(differing).toEqual([]);
  });
});
