import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { createLocalStorage } from '../storages/local/local-storage.js';
import { listLocks } from './storage-lock.js';

const packageRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const distPath = join(packageRoot, 'dist', 'index.js');

// One racer process: in each round it waits for the shared start time, takes the job's lock with the default
// options, and while holding it creates a marker file exclusively — a second holder at the same time finds the
// marker (EEXIST) and reports an overlap. Prints one JSON line.
const RACER = `
import { open, unlink } from 'node:fs/promises';
const [distPath, storageDirectory, marker, startAt, rounds, roundMs] = process.argv.slice(2);
const { acquireStorageLock, createLocalStorage } = await import(distPath);
const storage = createLocalStorage({ directory: storageDirectory });
const result = { wins: [], overlaps: 0, errors: [] };
for (let round = 0; round < Number(rounds); round++) {
  const at = Number(startAt) + round * Number(roundMs);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
  let lock;
  try {
    lock = await acquireStorageLock({ storage, job: 'race' });
  } catch (error) {
    if (error.code !== 'BACKUP_LOCKED') result.errors.push(String(error.message));
    continue;
  }
  result.wins.push(round);
  try {
    const handle = await open(marker, 'wx');
    await handle.close();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await unlink(marker);
  } catch (error) {
    if (error.code === 'EEXIST') result.overlaps += 1;
    else result.errors.push(String(error.message));
  }
  await lock.release();
}
process.stdout.write(JSON.stringify(result) + '\\n');
`;

let directory: TempDir;

beforeAll(async () => {
  if (!existsSync(distPath))
    throw new Error(`build the package first (pnpm --filter @ops/backup build): ${distPath} is missing`);
  directory = await tempDir('backup-lock-race');
});

afterAll(async () => {
  await directory?.dispose();
});

function runRacer(script: string, args: string[]): Promise<{ wins: number[]; overlaps: number; errors: string[] }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`racer exited ${code}: ${stderr}`));
      else resolvePromise(JSON.parse(stdout) as { wins: number[]; overlaps: number; errors: string[] });
    });
  });
}

describe('storage lock across processes', () => {
  it('processes racing for one job on a local directory never hold it at the same time', async () => {
    const script = join(directory.path, 'racer.mjs');
    await writeFile(script, RACER);
    const storageDirectory = join(directory.path, 'store');
    const marker = join(directory.path, 'held');
    const rounds = 8;
    const roundMs = 600;
    // Far enough ahead that every process has started and loaded the package before round 0.
    const startAt = Date.now() + 3_000;
    const racers = await Promise.all(
      Array.from({ length: 5 }, () =>
        runRacer(script, [distPath, storageDirectory, marker, String(startAt), String(rounds), String(roundMs)]),
      ),
    );
    expect(racers.flatMap((racer) => racer.errors)).toEqual([]);
    expect(racers.reduce((total, racer) => total + racer.overlaps, 0)).toBe(0);
    // Somebody got it (on a loaded machine a late racer may block a whole round, so no count per round).
    const won = new Set(racers.flatMap((racer) => racer.wins));
    expect(won.size).toBeGreaterThan(0);
    expect(await listLocks(createLocalStorage({ directory: storageDirectory }), 'race')).toEqual([]);
  }, 60_000);
});
