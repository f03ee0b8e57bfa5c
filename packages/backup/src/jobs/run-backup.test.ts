import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { createRecordingLogger } from '@ops/core/testing';
import { tempDir, type TempDir } from '@ops/testkit';
import { createBackupEvents, type BackupEvents } from '../events/backup-events.js';
import { acquireStorageLock } from '../lock/storage-lock.js';
import { createBackupMetrics } from '../metrics/backup-metrics.js';
import { createFilesSource } from '../sources/files-source.js';
import type { BackupStorage } from '../storages/storage.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { verifyBackup } from '../verify/verify-backup.js';
import { runBackup, type BackupProgress } from './run-backup.js';

let directory: TempDir;
let root: string;
beforeEach(async () => {
  directory = await tempDir('backup-run');
  root = join(directory.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'a.txt'), 'a');
});
afterEach(async () => {
  await directory.dispose();
});

describe('runBackup', () => {
  it('a failing pre hook fails the backup before any source runs; post hooks see the final state', async () => {
    const storage = createMemoryStorage();
    const stateFile = join(directory.path, 'state');
    const failed = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      hooks: {
        pre: [{ command: ['/bin/sh', '-c', 'echo maintenance mode unavailable >&2; exit 2'] }],
        post: [{ command: ['/bin/sh', '-c', `echo "$OPS_BACKUP_STATE $OPS_BACKUP_JOB" > ${stateFile}`] }],
      },
    });
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain('maintenance mode unavailable');
    expect(failed.sources).toEqual([]);
    expect(await readFile(stateFile, 'utf8')).toBe('failed files\n');

    const ok = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      hooks: { post: [{ command: ['/bin/sh', '-c', `echo "$OPS_BACKUP_STATE" > ${stateFile}`] }] },
    });
    expect(ok.state).toBe('completed');
    expect(await readFile(stateFile, 'utf8')).toBe('completed\n');
  });

  it('onTiming reports every step of the run, per source and artifact, and a throwing listener changes nothing', async () => {
    const storage = createMemoryStorage();
    const { recipient } = (await import('../crypto/age-keys.js')).generateAgeIdentity();
    const timings: { step: string; ms: number; source?: string; artifact?: string }[] = [];
    const manifest = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root, name: 'config' })],
      encryption: { recipients: [recipient] },
      onTiming: (timing) => timings.push(timing),
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const steps = timings.map((timing) => timing.step);
    for (const step of ['lock', 'cleanup', 'manifest.initial', 'hooks.pre', 'source', 'verify', 'hooks.post'])
      expect(steps).toContain(step);
    for (const step of ['manifest.final', 'lock.release', 'artifact.first-byte', 'artifact.stream'])
      expect(steps).toContain(step);
    for (const step of ['artifact.commit', 'stage.hash-plain', 'stage.encrypt', 'stage.hash-stored'])
      expect(steps).toContain(step);
    expect(timings.every((timing) => Number.isFinite(timing.ms) && timing.ms >= 0)).toBe(true);
    expect(timings.find((timing) => timing.step === 'stage.encrypt')).toMatchObject({
      source: 'config',
      artifact: 'config.tar',
    });
    const quiet = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      onTiming: () => {
        throw new Error('listener bug');
      },
    });
    expect(quiet.state, quiet.error).toBe('completed');
  });

  it('one failing source of two makes the backup partially-failed and keeps the good artifact', async () => {
    const storage = createMemoryStorage();
    const manifest = await runBackup({
      job: 'two',
      storage,
      sources: [
        createFilesSource({ directory: root, name: 'good' }),
        createFilesSource({ directory: join(directory.path, 'missing'), name: 'bad' }),
      ],
    });
    expect(manifest.state).toBe('partially-failed');
    expect(manifest.sources.map((source) => [source.name, source.state])).toEqual([
      ['good', 'completed'],
      ['bad', 'failed'],
    ]);
    expect(manifest.error).toMatch(/^bad: .*missing/);
    expect(storage.keys()).toEqual([`two/${manifest.id}/data/good.tar`, `two/${manifest.id}/manifest.json`]);
  });

  it('a second run of a locked job is refused with BACKUP_LOCKED and writes nothing', async () => {
    const storage = createMemoryStorage();
    const lock = await acquireStorageLock({ storage, job: 'files', settle: 0 });
    await expect(
      runBackup({ job: 'files', storage, sources: [createFilesSource({ directory: root })] }),
    ).rejects.toMatchObject({ code: 'BACKUP_LOCKED' });
    expect(storage.keys().filter((key) => !key.startsWith('files/locks/'))).toEqual([]);
    await lock.release();
  });

  it('rejects bad options before doing anything', async () => {
    const storage = createMemoryStorage();
    await expect(
      runBackup({ job: '../escape', storage, sources: [createFilesSource({ directory: root })] }),
    ).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(runBackup({ job: 'x', storage, sources: [] })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(
      runBackup({
        job: 'x',
        storage,
        sources: [createFilesSource({ directory: root }), createFilesSource({ directory: root })],
      }),
    ).rejects.toThrow(/two sources named files/);
    expect(storage.keys()).toEqual([]);
  });

  it('reports backup.started, artifact.progressed, artifact.stored and backup.completed, each with `at` from the clock', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    const events = createBackupEvents();
    const seen: { name: string; at: number; backupId: string }[] = [];
    const names = [
      'backup.started',
      'artifact.progressed',
      'artifact.stored',
      'backup.completed',
      'backup.failed',
    ] as const;
    for (const name of names)
      events.on(
        name,
        (event: BackupEvents[typeof name]) => void seen.push({ name, at: event.at, backupId: event.backupId }),
      );
    let stored: BackupEvents['artifact.stored'] | undefined;
    events.on('artifact.stored', (event) => (stored = event));
    let completed: BackupEvents['backup.completed'] | undefined;
    events.on('backup.completed', (event) => (completed = event));

    const manifest = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      clock,
      lock: { settle: 0 },
      events,
    });
    expect(manifest.state).toBe('completed');
    const order = seen.map((event) => event.name).filter((name, index, all) => name !== all[index - 1]);
    expect(order).toEqual(['backup.started', 'artifact.progressed', 'artifact.stored', 'backup.completed']);
    expect(seen.every((event) => event.at === clock.now() && event.backupId === manifest.id)).toBe(true);
    expect(stored).toMatchObject({
      job: 'files',
      source: 'files',
      artifact: { key: `files/${manifest.id}/data/files.tar` },
    });
    expect(completed?.manifest).toBe(manifest);
    expect(completed?.durationSeconds).toBe(0);
  });

  it('a failed run reports backup.failed with the final manifest and its error', async () => {
    const events = createBackupEvents();
    const failures: BackupEvents['backup.failed'][] = [];
    events.on('backup.failed', (event) => void failures.push(event));
    events.on('backup.completed', () => {
      throw new Error('not expected');
    });
    const manifest = await runBackup({
      job: 'files',
      storage: createMemoryStorage(),
      sources: [createFilesSource({ directory: join(directory.path, 'missing') })],
      lock: false,
      events,
    });
    expect(manifest.state).toBe('failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      job: 'files',
      backupId: manifest.id,
      manifest: { state: 'failed' },
      error: manifest.error,
    });
  });

  it('a run that throws after it started still reports backup.failed; a refused run reports nothing', async () => {
    const memory = createMemoryStorage();
    let manifestWrites = 0;
    // The second manifest write (the final one) fails: the run rejects, but listeners hear how it ended.
    const storage: BackupStorage = {
      ...memory,
      location: memory.location,
      list: (prefix) => memory.list(prefix),
      write: async (key: string, body: Readable) => {
        if (key.endsWith('/manifest.json') && ++manifestWrites === 2) {
          body.destroy();
          throw new Error('disk vanished');
        }
        return memory.write(key, body);
      },
    };
    const events = createBackupEvents();
    const seen: string[] = [];
    events.on('backup.started', () => void seen.push('started'));
    events.on('backup.failed', (event) => void seen.push(`failed ${event.manifest.state}: ${event.error}`));
    await expect(
      runBackup({ job: 'files', storage, sources: [createFilesSource({ directory: root })], lock: false, events }),
    ).rejects.toThrow('disk vanished');
    expect(seen).toEqual(['started', 'failed failed: disk vanished']);

    seen.length = 0;
    const lock = await acquireStorageLock({ storage: memory, job: 'files', settle: 0 });
    await expect(
      runBackup({ job: 'files', storage: memory, sources: [createFilesSource({ directory: root })], events }),
    ).rejects.toMatchObject({ code: 'BACKUP_LOCKED' });
    expect(seen).toEqual([]);
    await lock.release();
  });

  it('a throwing listener is logged and never fails the backup; the deprecated observer and onProgress still work', async () => {
    const logger = createRecordingLogger();
    const events = createBackupEvents({ logger });
    events.on('backup.completed', () => {
      throw new Error('listener bug');
    });
    const finished: string[] = [];
    const progress: BackupProgress[] = [];
    const manifest = await runBackup({
      job: 'files',
      storage: createMemoryStorage(),
      sources: [createFilesSource({ directory: root })],
      lock: false,
      events,
      logger,
      observer: {
        backupFinished: (finishedManifest, durationSeconds) => {
          finished.push(`${finishedManifest.state} ${typeof durationSeconds}`);
          throw new Error('observer bug');
        },
      },
      onProgress: (update) => void progress.push(update),
    });
    expect(manifest.state).toBe('completed');
    expect(finished).toEqual(['completed number']);
    expect(progress.at(-1)).toEqual({ source: 'files', artifact: 'files.tar', plainBytes: manifest.plainBytes });
    const listenerErrors = logger.records.filter(
      (record) => record.level === 'error' && record.fields.event === 'backup.completed',
    );
    expect(listenerErrors.map((record) => record.fields.error)).toEqual(['listener bug', 'observer bug']);
  });

  it('metrics follow the events: runs, and verifications deep enough to count', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    const registry = new Registry();
    const events = createBackupEvents();
    const metrics = createBackupMetrics({ registry, events, requiredVerification: 'full-read' });
    const verifiedMetric = async () =>
      (await registry.getSingleMetricAsString('ops_backup_last_verified_success_timestamp_seconds'))
        .split('\n')
        .filter((line) => line.startsWith('ops_'));

    const manifest = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      clock,
      lock: false,
      events,
    });
    await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: join(directory.path, 'missing') })],
      clock,
      lock: false,
      events,
    });
    const text = await registry.metrics();
    expect(text).toContain('ops_backup_runs_total{job="files",state="completed"} 1');
    expect(text).toContain('ops_backup_runs_total{job="files",state="failed"} 1');
    expect(text).toContain('ops_backup_failures_total{job="files"} 1');
    expect(text).toContain(`ops_backup_last_success_timestamp_seconds{job="files"} ${clock.now() / 1000}`);
    // The run's own checksum verification is not deep enough for full-read.
    expect(await verifiedMetric()).toEqual([]);

    const report = await verifyBackup({
      storage,
      backup: manifest.id,
      job: 'files',
      level: 'full-read',
      clock,
      events,
    });
    expect(report.ok, report.detail).toBe(true);
    expect(await verifiedMetric()).toEqual([
      `ops_backup_last_verified_success_timestamp_seconds{job="files"} ${clock.now() / 1000}`,
    ]);

    metrics.remove();
    expect(registry.getSingleMetric('ops_backup_runs_total')).toBeUndefined();
    // A removed handle no longer follows the events (and the names can be registered again).
    createBackupMetrics({ registry });
    await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      clock,
      lock: false,
      events,
    });
    expect(await registry.metrics()).not.toContain('ops_backup_runs_total{job="files"');
  });
});
