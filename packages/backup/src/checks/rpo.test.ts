import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { writeManifest } from '../catalog/catalog.js';
import {
  MANIFEST_FORMAT_VERSION,
  meetsVerification,
  parseManifest,
  serializeManifest,
  verifiedLevel,
  type BackupManifest,
} from '../manifest/manifest.js';
import { createBackupMetrics } from '../metrics/backup-metrics.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { backupFreshnessProbe, createBackupFreshnessCheck } from './backup-freshness-probe.js';

function manifest(
  id: string,
  completedAt: string,
  storedBytes: number,
  overrides: Partial<BackupManifest> = {},
): BackupManifest {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    id,
    job: 'pg',
    state: 'completed',
    startedAt: completedAt,
    completedAt,
    host: 'test',
    pid: 1,
    tool: { name: '@ops/backup', version: '0.0.0', node: 'v20' },
    sources: [],
    storedBytes,
    plainBytes: storedBytes,
    verifications: [{ level: 'checksum', at: completedAt, ok: true, detail: 'ok' }],
    pinned: false,
    tags: [],
    warnings: [],
    ...overrides,
  };
}

const signal = new AbortController().signal;

describe('RPO: freshness check and metrics', () => {
  it('passes when fresh; fails on max age, min size, a sudden size drop, or when nothing verified exists', async () => {
    const clock = createManualClock(Date.parse('2026-11-22T12:00:00Z'));
    const storage = createMemoryStorage({ clock });
    const check = backupFreshnessProbe({
      storage,
      job: 'pg',
      maxAge: '26h',
      warnAge: '25h',
      minSizeBytes: 1000,
      maxSizeDropRatio: 0.5,
      clock,
    });
    // The deprecated name is the same function.
    expect(createBackupFreshnessCheck).toBe(backupFreshnessProbe);
    expect(await check(signal)).toMatchObject({
      status: 'fail',
      output: expect.stringContaining('no completed backup'),
    });

    await writeManifest(storage, manifest('a', '2026-11-21T03:00:00.000Z', 100_000));
    await writeManifest(storage, manifest('b', '2026-11-22T03:00:00.000Z', 90_000));
    await writeManifest(storage, manifest('c', '2026-11-22T06:00:00.000Z', 5, { state: 'failed' }));
    expect(await check(signal)).toMatchObject({
      status: 'pass',
      observed: 9 * 3600,
      observedUnit: 's',
      details: { backupId: 'b' },
    });

    clock.advance(16 * 3600_000 + 1); // b is now 25h old
    expect(await check(signal)).toMatchObject({ status: 'warn' });
    clock.advance(3600_000);
    expect(await check(signal)).toMatchObject({
      status: 'fail',
      output: expect.stringMatching(/is 1d 2h old \(max 1d 2h\)/),
    });

    await writeManifest(storage, manifest('d', new Date(clock.now()).toISOString(), 30_000));
    expect(await check(signal)).toMatchObject({ status: 'fail', output: expect.stringContaining('shrank by 67%') });
    await writeManifest(storage, manifest('e', new Date(clock.now() + 1000).toISOString(), 500));
    clock.advance(2000);
    expect(await check(signal)).toMatchObject({ status: 'fail', output: expect.stringContaining('below the minimum') });

    // A backup whose verification failed does not count.
    await writeManifest(
      storage,
      manifest('f', new Date(clock.now()).toISOString(), 40_000, {
        verifications: [{ level: 'checksum', at: new Date(clock.now()).toISOString(), ok: false, detail: 'bad' }],
      }),
    );
    expect((await check(signal)).details).toMatchObject({ backupId: 'e' });
  });

  it('metrics: last success, last verified success, size, duration and failures per job', async () => {
    const registry = new Registry();
    const metrics = createBackupMetrics({ registry, requiredVerification: 'full-read' });
    metrics.backupFinished(manifest('a', '2026-11-22T03:00:00.000Z', 1234), 12.5);
    metrics.backupFinished(manifest('b', '2026-11-22T04:00:00.000Z', 0, { state: 'failed' }), 1);
    metrics.observeCatalog('pg', [
      manifest('a', '2026-11-22T03:00:00.000Z', 1234, {
        verifications: [{ level: 'full-read', at: '2026-11-22T05:00:00.000Z', ok: true, detail: 'ok' }],
      }),
    ]);
    const text = await registry.metrics();
    expect(text).toContain(
      `ops_backup_last_success_timestamp_seconds{job="pg"} ${Date.parse('2026-11-22T03:00:00Z') / 1000}`,
    );
    expect(text).toContain(
      `ops_backup_last_verified_success_timestamp_seconds{job="pg"} ${Date.parse('2026-11-22T03:00:00Z') / 1000}`,
    );
    expect(text).toContain('ops_backup_last_duration_seconds{job="pg"} 1');
    expect(text).toContain('ops_backup_failures_total{job="pg"} 1');
    expect(text).toContain('ops_backup_runs_total{job="pg",state="completed"} 1');
    expect(text).toContain('ops_backup_last_size_bytes{job="pg"} 1234');
  });

  it('meetsVerification ranks checksum < full-read < test-restore; never verified meets nothing', () => {
    expect(meetsVerification('test-restore', 'full-read')).toBe(true);
    expect(meetsVerification('full-read', 'full-read')).toBe(true);
    expect(meetsVerification('checksum', 'full-read')).toBe(false);
    expect(meetsVerification(undefined, 'checksum')).toBe(false);
    const verifications = [
      { level: 'test-restore', at: '2026-11-22T05:00:00.000Z', ok: true, detail: 'ok' },
      { level: 'full-read', at: '2026-11-22T06:00:00.000Z', ok: true, detail: 'ok' },
      { level: 'test-restore', at: '2026-11-22T07:00:00.000Z', ok: false, detail: 'latest test restore failed' },
    ] as const;
    expect(verifiedLevel(manifest('a', '2026-11-22T03:00:00.000Z', 10, { verifications: [...verifications] }))).toBe(
      'full-read',
    );
  });

  it('a manifest altered after writing is detected by its self-checksum', () => {
    const text = serializeManifest(manifest('a', '2026-11-22T03:00:00.000Z', 10));
    expect(parseManifest(text).id).toBe('a');
    expect(() => parseManifest(text.replace('"storedBytes": 10', '"storedBytes": 11'), 'pg/a/manifest.json')).toThrow(
      /pg\/a\/manifest.json was altered/,
    );
    expect(() => parseManifest('{"id": 1}', 'x')).toThrow(/invalid manifest x/);
  });
});
