import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import {
  createLocalStorage,
  createPostgresSource,
  generateAgeIdentity,
  runBackup,
  type CompressionOptions,
} from '@ops/backup';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { databaseUrl, ensureBenchDatabase } from './support/bench-databases.js';

const DATABASE = 'ops_bench_backup_1g';
const ROWS = 7_000_000; // about 1.27 GB on disk
const SAMPLES = Number(process.env.OPS_BENCH_BACKUP_SAMPLES ?? 2);

async function peerDump(directory: string, level: number): Promise<{ seconds: number; bytes: number }> {
  const file = join(directory, `peer-${level}-${Date.now()}.dump`);
  const started = performance.now();
  const child = spawn('pg_dump', ['-Fc', `-Z${level}`, '--no-password', databaseUrl(DATABASE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await pipeline(child.stdout, createWriteStream(file));
  const code = await exited;
  if (code !== 0) throw new Error(`pg_dump exited ${code}`);
  const seconds = (performance.now() - started) / 1000;
  const bytes = (await stat(file)).size;
  await rm(file);
  return { seconds, bytes };
}

async function ours(
  directory: string,
  compression: CompressionOptions,
  recipient?: string,
): Promise<{ seconds: number; bytes: number; plainBytes: number }> {
  const storageDirectory = await mkdtemp(join(directory, 'ours-'));
  const started = performance.now();
  const manifest = await runBackup({
    job: 'bench',
    storage: createLocalStorage({ directory: storageDirectory }),
    sources: [createPostgresSource({ connectionString: databaseUrl(DATABASE) })],
    compression,
    ...(recipient ? { encryption: { recipients: [recipient] } } : {}),
    verifyStored: false,
    lock: false,
  });
  const seconds = (performance.now() - started) / 1000;
  if (manifest.state !== 'completed') throw new Error(`backup ${manifest.state}: ${manifest.error}`);
  await rm(storageDirectory, { recursive: true, force: true });
  return { seconds, bytes: manifest.storedBytes, plainBytes: manifest.plainBytes };
}

const suite: BenchSuite = {
  name: 'backup-pg-throughput',
  description: `@ops/backup runBackup (pg_dump -Fc -Z0 → [gzip] → [age] → sha256 → local file, verifyStored off) against pg_dump -Fc > file on the same ${ROWS.toLocaleString('en')}-row (~1.27 GB) database, alternating in one run; throughput = database bytes / wall seconds; ${SAMPLES} samples each.`,
  async run(): Promise<BenchRow[]> {
    const databaseBytes = await ensureBenchDatabase(DATABASE, ROWS, (line) => process.stderr.write(`${line}\n`));
    const directory = await mkdtemp(join(tmpdir(), 'ops-bench-backup-'));
    const { recipient } = generateAgeIdentity();
    const mbps = (seconds: number) => databaseBytes / 1e6 / seconds;
    const cases: {
      metric: string;
      compression: CompressionOptions;
      recipient?: string;
      peerLevel: number;
      peerName: string;
      target?: string;
      atLeast?: number;
    }[] = [
      {
        metric: 'compression off',
        compression: { algorithm: 'none' },
        peerLevel: 0,
        peerName: 'pg_dump -Fc -Z0 > file',
        target: '≥ 0.9× pg_dump -Fc > file',
        atLeast: 0.9,
      },
      {
        metric: 'gzip level 1',
        compression: { algorithm: 'gzip', level: 1 },
        peerLevel: 1,
        peerName: 'pg_dump -Fc -Z1 > file',
      },
      {
        metric: 'age encryption, compression off',
        compression: { algorithm: 'none' },
        recipient,
        peerLevel: 0,
        peerName: 'pg_dump -Fc -Z0 > file',
      },
      {
        metric: 'age encryption + gzip 1',
        compression: { algorithm: 'gzip', level: 1 },
        recipient,
        peerLevel: 1,
        peerName: 'pg_dump -Fc -Z1 > file',
      },
    ];
    const rows: BenchRow[] = [];
    try {
      for (const item of cases) {
        const oursSamples: number[] = [];
        const peerSamples: number[] = [];
        let storedBytes = 0;
        let peerBytes = 0;
        for (let sample = 0; sample < SAMPLES; sample++) {
          const peer = await peerDump(directory, item.peerLevel);
          peerSamples.push(mbps(peer.seconds));
          peerBytes = peer.bytes;
          const result = await ours(directory, item.compression, item.recipient);
          oursSamples.push(mbps(result.seconds));
          storedBytes = result.bytes;
        }
        rows.push(
          compareRow(
            {
              group: 'PostgreSQL backup throughput (1.27 GB database)',
              metric: item.metric,
              unit: 'MB/s',
              ours: stats(oursSamples),
              peer: { ...stats(peerSamples), name: item.peerName },
              higherIsBetter: true,
              ...(item.target ? { target: item.target } : {}),
              notes: `stored ${(storedBytes / 1e6).toFixed(0)} MB (peer file ${(peerBytes / 1e6).toFixed(0)} MB)`,
            },
            item.atLeast === undefined ? undefined : { atLeast: item.atLeast },
          ),
        );
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    return rows;
  },
};

export default suite;
