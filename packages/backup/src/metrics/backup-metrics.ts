import { createRequire } from 'node:module';
import type { Counter, Gauge, Registry } from 'prom-client';
import type { BackupRunObserver } from '../jobs/run-backup.js';
import { meetsVerification, verifiedLevel, type BackupManifest, type VerificationLevel } from '../manifest/manifest.js';

/** Options of {@link createBackupMetrics}. */
export interface BackupMetricsOptions {
  /** The application's prom-client registry (prom-client is a peer dependency). */
  registry: Registry;
  /** Metric name prefix. Default `ops_backup_`. */
  prefix?: string;
  /** Verification a backup needs to count for `last_verified_success_timestamp_seconds`. Default `checksum`. */
  requiredVerification?: VerificationLevel;
}

/** Backup metrics; pass it as `observer` to `runBackup` and call {@link BackupMetrics.observeCatalog} after verify/list. */
export interface BackupMetrics extends BackupRunObserver {
  /** Sets the gauges from the catalog (e.g. at startup, or after `verifyBackup`), newest first. */
  observeCatalog(job: string, backups: readonly BackupManifest[]): void;
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
 * const metrics = createBackupMetrics({ registry });
 * await runBackup({ ...options, observer: metrics });
 * ```
 */
export function createBackupMetrics(options: BackupMetricsOptions): BackupMetrics {
  const { registry, prefix = 'ops_backup_', requiredVerification = 'checksum' } = options;
  const { Gauge: GaugeClass, Counter: CounterClass } = loadPromClient();
  const gauge = (name: string, help: string) => new GaugeClass({ name: `${prefix}${name}`, help, labelNames: ['job'], registers: [registry] });
  const lastSuccess = gauge('last_success_timestamp_seconds', 'Completion time of the newest completed backup (Unix seconds).');
  const lastVerified = gauge('last_verified_success_timestamp_seconds', 'Completion time of the newest completed backup that passed the required verification (Unix seconds).');
  const duration = gauge('last_duration_seconds', 'Duration of the last backup run in seconds.');
  const size = gauge('last_size_bytes', 'Stored bytes of the last backup run.');
  const runs = new CounterClass({ name: `${prefix}runs_total`, help: 'Backup runs by final state.', labelNames: ['job', 'state'], registers: [registry] });
  const failures = new CounterClass({ name: `${prefix}failures_total`, help: 'Backup runs that did not complete.', labelNames: ['job'], registers: [registry] });

  const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
  const isVerified = (manifest: BackupManifest) => meetsVerification(verifiedLevel(manifest), requiredVerification);

  return {
    backupFinished(manifest, durationSeconds) {
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
        if (isVerified(manifest)) lastVerified.set(labels, completed);
      }
    },
    observeCatalog(job, backups) {
      const completed = backups.filter((backup) => backup.state === 'completed');
      const newest = completed[0];
      const newestVerified = completed.find(isVerified);
      const newestSeconds = seconds(newest?.completedAt);
      const verifiedSeconds = seconds(newestVerified?.completedAt);
      if (newestSeconds !== undefined) lastSuccess.set({ job }, newestSeconds);
      if (verifiedSeconds !== undefined) lastVerified.set({ job }, verifiedSeconds);
      if (newest) size.set({ job }, newest.storedBytes);
    },
  };
}
