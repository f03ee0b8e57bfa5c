import { createRequire } from 'node:module';
import type { EventSource, RegistryLike } from '@ops/core';
// Types only, for the implementation: the public declarations name core's structural RegistryLike instead, so a
// user without prom-client installed never resolves it.
import type { Counter, Gauge, Registry } from 'prom-client';
import type { BackupEvents } from '../events/backup-events.js';
import type { BackupRunObserver } from '../jobs/run-backup.js';
import { meetsVerification, verifiedLevel, type BackupManifest, type VerificationLevel } from '../manifest/manifest.js';

/** Options of {@link createBackupMetrics}. */
export interface BackupMetricsOptions {
  /** The application's prom-client `Registry` (prom-client is an optional peer dependency: one copy, shared). */
  registry: RegistryLike;
  /**
   * Backup events to follow (from `createBackupEvents()`, passed to `runBackup` and `verifyBackup`): every finished
   * run and every passing verification updates the metrics. Without it, feed the handle yourself.
   */
  events?: EventSource<BackupEvents>;
  /** Metric name prefix. Default `ops_backup_`. */
  prefix?: string;
  /** Verification a backup needs to count for `last_verified_success_timestamp_seconds`. Default `checksum`. */
  requiredVerification?: VerificationLevel;
}

/**
 * The handle of the backup metrics. With `events` given they follow the runs by themselves; call
 * {@link BackupMetrics.observeCatalog} to set them from what the storage holds (at startup, in a one-shot CLI).
 */
export interface BackupMetrics extends BackupRunObserver {
  /** Sets the gauges from the catalog (e.g. at startup, or after `verifyBackup`), newest first. */
  observeCatalog(job: string, backups: readonly BackupManifest[]): void;
  /**
   * Records one finished run (what a `backup.completed` / `backup.failed` event does).
   *
   * @deprecated Pass `events` to {@link createBackupMetrics} and the same emitter to `runBackup`.
   */
  backupFinished(manifest: BackupManifest, durationSeconds: number): void;
  /** Stops following `events` and unregisters every metric of this handle from the registry. Idempotent. */
  remove(): void;
}

function loadPromClient(): { Gauge: typeof Gauge; Counter: typeof Counter } {
  // prom-client is an optional peer: load it only when a registry is passed, from where the user's copy is.
  // createRequire works in both builds (tsup shims import.meta.url in CJS); a bare `require` would become a
  // throwing shim in the ESM build.
  const load = createRequire(import.meta.url);
  return load('prom-client') as { Gauge: typeof Gauge; Counter: typeof Counter };
}

/**
 * Registers RPO metrics on the registry, labelled by `job`:
 * - `ops_backup_last_success_timestamp_seconds` — completion time of the newest completed backup;
 * - `ops_backup_last_verified_success_timestamp_seconds` — the same for the newest completed backup that passed the
 *   required verification (alert on `time() - this > RPO`);
 * - `ops_backup_last_duration_seconds`, `ops_backup_last_size_bytes` (stored bytes) of the last run;
 * - `ops_backup_runs_total{job,state}` and `ops_backup_failures_total{job}` counters.
 *
 * @example
 * ```ts
 * const events = createBackupEvents();
 * const metrics = createBackupMetrics({ registry, events });
 * await runBackup({ ...options, events });
 * metrics.remove(); // unsubscribes and unregisters the ops_backup_* metrics
 * ```
 */
export function createBackupMetrics(options: BackupMetricsOptions): BackupMetrics {
  const { registry, events, prefix = 'ops_backup_', requiredVerification = 'checksum' } = options;
  const { Gauge: GaugeClass, Counter: CounterClass } = loadPromClient();
  const registers = [registry as Registry];
  const gauge = (name: string, help: string) =>
    new GaugeClass({ name: `${prefix}${name}`, help, labelNames: ['job'], registers });
  const lastSuccess = gauge(
    'last_success_timestamp_seconds',
    'Completion time of the newest completed backup (Unix seconds).',
  );
  const lastVerified = gauge(
    'last_verified_success_timestamp_seconds',
    'Completion time of the newest completed backup that passed the required verification (Unix seconds).',
  );
  const duration = gauge('last_duration_seconds', 'Duration of the last backup run in seconds.');
  const size = gauge('last_size_bytes', 'Stored bytes of the last backup run.');
  const runs = new CounterClass({
    name: `${prefix}runs_total`,
    help: 'Backup runs by final state.',
    labelNames: ['job', 'state'],
    registers,
  });
  const failures = new CounterClass({
    name: `${prefix}failures_total`,
    help: 'Backup runs that did not complete.',
    labelNames: ['job'],
    registers,
  });
  const registered = new Map<string, object>(
    [lastSuccess, lastVerified, duration, size, runs, failures].map((metric) => [
      (metric as unknown as { name: string }).name,
      metric,
    ]),
  );

  const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
  const isVerified = (manifest: BackupManifest) => meetsVerification(verifiedLevel(manifest), requiredVerification);
  // The newest verified completion set per job, so a verification of an older backup never moves the gauge back.
  const verifiedSeconds = new Map<string, number>();
  const setVerified = (job: string, value: number) => {
    verifiedSeconds.set(job, value);
    lastVerified.set({ job }, value);
  };

  const backupFinished = (manifest: BackupManifest, durationSeconds: number) => {
    const labels = { job: manifest.job };
    runs.inc({ ...labels, state: manifest.state });
    duration.set(labels, durationSeconds);
    size.set(labels, manifest.storedBytes);
    if (manifest.state !== 'completed') {
      failures.inc(labels);
      return;
    }
    const completed = seconds(manifest.completedAt);
    if (completed !== undefined) {
      lastSuccess.set(labels, completed);
      if (isVerified(manifest)) setVerified(manifest.job, completed);
    }
  };

  const subscriptions = events
    ? [
        events.on('backup.completed', (event) => backupFinished(event.manifest, event.durationSeconds)),
        events.on('backup.failed', (event) => backupFinished(event.manifest, event.durationSeconds)),
        events.on('verification.completed', (event) => {
          const completed = seconds(event.manifest.completedAt);
          if (
            !event.ok ||
            event.manifest.state !== 'completed' ||
            completed === undefined ||
            !meetsVerification(event.level, requiredVerification)
          )
            return;
          if (completed > (verifiedSeconds.get(event.job) ?? Number.NEGATIVE_INFINITY))
            setVerified(event.job, completed);
        }),
      ]
    : [];

  return {
    backupFinished,
    observeCatalog(job, backups) {
      const completed = backups.filter((backup) => backup.state === 'completed');
      const newest = completed[0];
      const newestVerified = completed.find(isVerified);
      const newestSeconds = seconds(newest?.completedAt);
      const newestVerifiedSeconds = seconds(newestVerified?.completedAt);
      if (newestSeconds !== undefined) lastSuccess.set({ job }, newestSeconds);
      if (newestVerifiedSeconds !== undefined) setVerified(job, newestVerifiedSeconds);
      if (newest) size.set({ job }, newest.storedBytes);
    },
    remove() {
      for (const unsubscribe of subscriptions.splice(0)) unsubscribe();
      // Only our own instances: a metric registered under the same name later by someone else stays.
      for (const [name, metric] of registered)
        if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name);
    },
  };
}
