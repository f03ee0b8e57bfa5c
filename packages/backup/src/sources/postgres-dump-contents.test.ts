import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PlainDumpTableCounter, watchCustomDump, watchPlainDump } from './postgres-dump-contents.js';

// Real pg_dump 15–18 custom-format output of one small database (../restore/fixtures/pg-custom/make.sh): five tables
// (customers, orders, empty_table, the partitioned measurements and its partition measurements_2026), a materialized
// view, a sequence and two large objects.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'restore', 'fixtures', 'pg-custom');
const FIXTURE_TABLES = 5;

function chunks(bytes: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) parts.push(bytes.subarray(offset, offset + size));
  return parts;
}

async function passThrough(watch: typeof watchCustomDump, parts: Buffer[]) {
  const { stream, contents } = watch(Readable.from(parts));
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(chunk as Buffer);
  return { out: Buffer.concat(out), contents: await contents };
}

describe('watchCustomDump', () => {
  for (const name of ['pg15-gzip', 'pg16-none', 'pg17-zstd', 'pg18-gzip']) {
    it(`counts the tables of ${name} from the dump's first bytes, and passes it through unchanged`, async () => {
      const dump = await readFile(join(fixtures, `${name}.piped.dump`));
      // Whole, in small chunks (the TOC spans many: read again as more arrives), and one byte at a time at the start.
      for (const size of [dump.length, 4096, 333]) {
        const { out, contents } = await passThrough(watchCustomDump, chunks(dump, size));
        expect(out.equals(dump)).toBe(true);
        expect(contents, `chunks of ${size}`).toEqual({ tables: FIXTURE_TABLES });
      }
    });
  }

  it('gives no count for bytes that are not a custom dump, or a dump cut inside its TOC', async () => {
    const dump = await readFile(join(fixtures, 'pg15-gzip.piped.dump'));
    expect((await passThrough(watchCustomDump, [Buffer.from('-- a plain dump\n')])).contents).toBeUndefined();
    expect((await passThrough(watchCustomDump, chunks(dump.subarray(0, 600), 100))).contents).toBeUndefined();
  });

  it('ends with the error of the stream it wraps', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('pg_dump output broke'));
      },
    });
    const { stream, contents } = watchCustomDump(failing);
    await expect(text(stream)).rejects.toThrow(/pg_dump output broke/);
    expect(await contents).toBeUndefined();
  });
});

const PLAIN = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '--',
  '-- Name: customers; Type: TABLE; Schema: public; Owner: app',
  '--',
  '',
  'CREATE TABLE public.customers (',
  '    id integer NOT NULL,',
  '    note text',
  ');',
  '',
  '--',
  '-- Name: first_customers; Type: MATERIALIZED VIEW; Schema: public; Owner: app',
  '--',
  '',
  '--',
  '-- Name: orders; Type: TABLE; Schema: sales; Owner: app',
  '--',
  '',
  '--',
  '-- Data for Name: customers; Type: TABLE DATA; Schema: public; Owner: app',
  '--',
  '',
  'COPY public.customers (id, note) FROM stdin;',
  // Data lines that look like pg_dump's own lines are data: they are inside COPY, which ends at "\.".
  '1\t-- Name: fake; Type: TABLE; Schema: public; Owner: app',
  '2\t\\\\.',
  '-- Name: fake2; Type: TABLE; Schema: public; Owner: app',
  'COPY x FROM stdin;',
  '\\.',
  '',
  '--',
  '-- Name: audit; Type: TABLE; Schema: public; Owner: -',
  '--',
  '',
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
].join('\n');

describe('PlainDumpTableCounter', () => {
  it('counts TABLE entries outside COPY data however the dump is cut into chunks', () => {
    const bytes = Buffer.from(PLAIN);
    const whole = new PlainDumpTableCounter();
    whole.write(bytes);
    expect(whole.result()).toEqual({ tables: 3 });
    // Every cut into two pieces, and every cut into pieces of 1–12 bytes.
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      const counter = new PlainDumpTableCounter();
      counter.write(bytes.subarray(0, cut));
      counter.write(bytes.subarray(cut));
      expect(counter.result(), `cut at ${cut}`).toEqual({ tables: 3 });
    }
    for (let size = 1; size <= 12; size += 1) {
      const counter = new PlainDumpTableCounter();
      for (const part of chunks(bytes, size)) counter.write(part);
      expect(counter.result(), `pieces of ${size}`).toEqual({ tables: 3 });
    }
  });

  it('gives no count for a dump that ends inside COPY data, or a header line too long to be pg_dump’s', () => {
    const unfinished = new PlainDumpTableCounter();
    unfinished.write(Buffer.from('COPY t (a) FROM stdin;\n1\n'));
    expect(unfinished.result()).toBeUndefined();
    const long = new PlainDumpTableCounter();
    long.write(Buffer.from(`-- Name: ${'x'.repeat(70 * 1024)}; Type: TABLE; Schema: public; Owner: app\n`));
    expect(long.result()).toBeUndefined();
  });

  it('watchPlainDump passes the dump through unchanged and counts it', async () => {
    const bytes = Buffer.from(PLAIN);
    const { out, contents } = await passThrough(watchPlainDump, chunks(bytes, 7));
    expect(out.equals(bytes)).toBe(true);
    expect(contents).toEqual({ tables: 3 });
  });
});
