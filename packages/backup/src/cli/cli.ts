import { dirname, join, resolve } from 'node:path';
import {
  ConfigError,
  ExitCode,
  UsageError,
  createProgressBar,
  formatBytes,
  formatTable,
  loadConfig,
  systemClock,
  type CliCommand,
  type CliContext,
  type CliDefinition,
} from '@ops/core';
import { findBackup, listBackups } from '../catalog/catalog.js';
import { backupConfigSchema, type BackupConfig, type BackupJobConfig } from '../config/config-schema.js';
import { createBackupEvents } from '../events/backup-events.js';
import { runBackup, type RunBackupOptions } from '../jobs/run-backup.js';
import { verifiedLevel, type BackupManifest, type VerificationLevel } from '../manifest/manifest.js';
import { pruneBackups } from '../prune/prune-backups.js';
import { backupTagSchema, retentionPolicySchema, type RetentionPolicy } from '../retention/retention-policy.js';
import { formatRetentionSpan, parseResticDuration } from '../retention/retention-window.js';
import { restoreFiles } from '../restore/files-restore.js';
import { restorePostgres } from '../restore/postgres-restore.js';
import { restoreRedis, type RedisReplacePolicy } from '../restore/redis-restore.js';
import { resolveConnection, type PostgresConnectionOptions } from '../sources/postgres-connection.js';
import { PACKAGE_VERSION } from '../version.js';
import { verifyBackup } from '../verify/verify-backup.js';
import {
  buildSources,
  closingStorages,
  createMetricsFile,
  openRedis,
  readTargetPassword,
  resolveDecryption,
} from './build-job.js';

const configOption = {
  config: {
    type: 'string',
    short: 'c',
    valueName: 'file',
    description: 'config file (YAML or JSON); default $OPS_BACKUP_CONFIG or ./ops-backup.yaml',
  },
} as const;
const jobOption = {
  job: { type: 'string', short: 'j', valueName: 'name', description: 'job name from the config' },
} as const;
const keyOptions = {
  'identity-file': {
    type: 'string',
    valueName: 'file',
    description: 'age identity file (AGE-SECRET-KEY-1… lines) for encrypted backups',
  },
  'passphrase-env': { type: 'string', valueName: 'NAME', description: 'environment variable holding the passphrase' },
} as const;

const pgBinOption = {
  'pg-bin-dir': {
    type: 'string',
    valueName: 'dir',
    description:
      "PostgreSQL: where pg_restore and psql are (default: beside the job's pgDumpPath when it is a path, else PATH)",
  },
} as const;

/**
 * The pg_restore and psql to run for a backup: from `--pg-bin-dir`, else from the directory of the `pgDumpPath` its
 * job's postgres source configures (the same client install that wrote it), else PATH.
 */
function restoreTools(
  context: CliContext,
  config: BackupConfig,
  backup: BackupManifest,
  sourceName: string | undefined,
): { pgRestorePath?: string; psqlPath?: string } {
  let directory = context.values['pg-bin-dir'] as string | undefined;
  if (directory === undefined) {
    const configured = config.jobs
      .find((job) => job.name === backup.job)
      ?.sources.find(
        (candidate) =>
          candidate.type === 'postgres' && (sourceName === undefined || (candidate.name ?? 'postgres') === sourceName),
      );
    if (configured?.type === 'postgres' && configured.pgDumpPath?.includes('/'))
      directory = dirname(configured.pgDumpPath);
  }
  return directory === undefined
    ? {}
    : { pgRestorePath: join(directory, 'pg_restore'), psqlPath: join(directory, 'psql') };
}

async function readConfig(context: CliContext): Promise<BackupConfig> {
  const file = (context.values.config as string | undefined) ?? context.io.env.OPS_BACKUP_CONFIG ?? 'ops-backup.yaml';
  return loadConfig(resolve(file), backupConfigSchema, { env: context.io.env });
}

function pickJobs(config: BackupConfig, names: readonly string[]): BackupJobConfig[] {
  if (names.length === 0) return config.jobs;
  return names.map((name) => {
    const job = config.jobs.find((candidate) => candidate.name === name);
    if (!job)
      throw new UsageError(
        `unknown job ${JSON.stringify(name)}; the config has ${config.jobs.map((candidate) => candidate.name).join(', ')}`,
      );
    return job;
  });
}

function summary(manifest: BackupManifest): Record<string, unknown> {
  return {
    id: manifest.id,
    job: manifest.job,
    state: manifest.state,
    startedAt: manifest.startedAt,
    completedAt: manifest.completedAt,
    storedBytes: manifest.storedBytes,
    plainBytes: manifest.plainBytes,
    verified: verifiedLevel(manifest) ?? null,
    tags: manifest.tags,
    sources: manifest.sources.map((source) => ({
      name: source.name,
      kind: source.kind,
      state: source.state,
      ...(source.error ? { error: source.error } : {}),
    })),
    ...(manifest.error ? { error: manifest.error } : {}),
    warnings: manifest.warnings,
  };
}

const runCommand: CliCommand = {
  summary: 'run backups of all jobs, or of the jobs named',
  usage: '[job...]',
  options: {
    ...configOption,
    'metrics-file': {
      type: 'string',
      valueName: 'file',
      description: 'write ops_backup_* metrics in Prometheus text format (node_exporter textfile collector)',
    },
    tag: {
      type: 'string',
      multiple: true,
      valueName: 'tag',
      description: "tag this run's backups (repeatable; added to the job's tags), for retention's keepTags",
    },
  },
  examples: [
    'ops-backup run --config /etc/ops-backup.yaml',
    'ops-backup run pg-main --json',
    'ops-backup run pg-main --tag release --tag v1.2.0',
    'ops-backup run --metrics-file /var/lib/node_exporter/textfile/ops_backup.prom',
  ],
  run: closingStorages(async (context, openStorage) => {
    const runTags = (context.values.tag as string[] | undefined) ?? [];
    for (const tag of runTags) {
      if (!backupTagSchema.safeParse(tag).success)
        throw new UsageError(
          `--tag ${JSON.stringify(tag)}: a tag must be non-empty, without "," and without leading or trailing spaces`,
        );
    }
    const config = await readConfig(context);
    const jobs = pickJobs(config, context.positionals);
    const storage = await openStorage(config);
    const metricsFile = context.values['metrics-file'] as string | undefined;
    const events = createBackupEvents();
    const metrics = metricsFile ? await createMetricsFile(metricsFile, events) : undefined;
    const results: BackupManifest[] = [];
    for (const job of jobs) {
      const { sources, close } = await buildSources(job);
      const bar = context.json ? undefined : createProgressBar(context.io.stderr, `${job.name}`);
      const stopProgress = bar
        ? events.on('artifact.progressed', (progress) => bar.update(progress.plainBytes))
        : undefined;
      try {
        const manifest = await runBackup({
          job: job.name,
          storage,
          sources,
          ...(job.compression ? { compression: job.compression as NonNullable<RunBackupOptions['compression']> } : {}),
          ...(job.encryption ? { encryption: job.encryption as NonNullable<RunBackupOptions['encryption']> } : {}),
          ...(job.hooks ? { hooks: job.hooks as NonNullable<RunBackupOptions['hooks']> } : {}),
          ...(job.tags || runTags.length > 0 ? { tags: [...new Set([...(job.tags ?? []), ...runTags])] } : {}),
          ...(job.verifyStored === undefined ? {} : { verifyStored: job.verifyStored }),
          ...(config.lock ? { lock: config.lock as Exclude<RunBackupOptions['lock'], false | undefined> } : {}),
          events,
        });
        results.push(manifest);
        if (metrics) metrics.metrics.observeCatalog(job.name, (await listBackups({ storage, job: job.name })).backups);
      } finally {
        stopProgress?.();
        bar?.done();
        close();
      }
    }
    await metrics?.write();
    if (context.json)
      context.printJson({
        ok: results.every((manifest) => manifest.state === 'completed'),
        backups: results.map(summary),
      });
    else {
      for (const manifest of results) {
        context.print(
          `${manifest.job}: ${manifest.state} ${manifest.id} (${formatBytes(manifest.storedBytes)} stored from ${formatBytes(manifest.plainBytes)})`,
        );
        if (manifest.error) context.warn(`${manifest.job}: ${manifest.error}`);
        for (const warning of manifest.warnings) context.warn(`${manifest.job}: warning: ${warning}`);
      }
    }
    return results.every((manifest) => manifest.state === 'completed') ? ExitCode.ok : ExitCode.failure;
  }),
};

const listCommand: CliCommand = {
  summary: 'list backups (read from the storage), newest first',
  options: { ...configOption, ...jobOption },
  examples: ['ops-backup list', 'ops-backup list --job pg-main --json'],
  run: closingStorages(async (context, openStorage) => {
    const config = await readConfig(context);
    const storage = await openStorage(config);
    const job = context.values.job as string | undefined;
    if (job) pickJobs(config, [job]);
    const { backups, unreadable } = await listBackups({ storage, job });
    if (context.json) context.printJson({ backups: backups.map(summary), unreadable });
    else {
      context.print(
        formatTable(backups, [
          { header: 'ID', value: (backup) => backup.id },
          { header: 'JOB', value: (backup) => backup.job },
          { header: 'STATE', value: (backup) => backup.state },
          { header: 'STARTED', value: (backup) => backup.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') },
          { header: 'SIZE', value: (backup) => formatBytes(backup.storedBytes), align: 'right' },
          { header: 'VERIFIED', value: (backup) => verifiedLevel(backup) ?? '-' },
        ]).trimEnd(),
      );
      for (const entry of unreadable) context.warn(`unreadable manifest ${entry.key}: ${entry.error}`);
    }
    return unreadable.length > 0 ? ExitCode.failure : ExitCode.ok;
  }),
};

const showCommand: CliCommand = {
  summary: 'show the manifest of one backup',
  usage: '<id|latest>',
  options: { ...configOption, ...jobOption },
  examples: ['ops-backup show 20261122T030000Z-ab12cd34', 'ops-backup show latest --job pg-main --json'],
  run: closingStorages(async (context, openStorage) => {
    const id = context.positionals[0];
    if (!id) throw new UsageError('show needs a backup id (or "latest" with --job)');
    const config = await readConfig(context);
    const storage = await openStorage(config);
    const manifest = await findBackup({ storage, id, job: context.values.job as string | undefined });
    if (context.json) context.printJson(manifest);
    else {
      context.print(`${manifest.job} ${manifest.id}: ${manifest.state}`);
      context.print(`started ${manifest.startedAt}, completed ${manifest.completedAt ?? '-'}, host ${manifest.host}`);
      for (const source of manifest.sources) {
        context.print(`  ${source.kind} ${source.name}: ${source.state}${source.error ? ` (${source.error})` : ''}`);
        const facts = describeDetails(source.details);
        if (facts) context.print(`    ${facts}`);
        for (const artifact of source.artifacts) {
          context.print(
            `    ${artifact.key} ${artifact.format} ${formatBytes(artifact.storedBytes)} stored, sha256 ${artifact.storedSha256}`,
          );
          context.print(
            `      compression ${artifact.compression.algorithm}${artifact.compression.level ? ` ${artifact.compression.level}` : ''}${artifact.contentCompression ? ` (inside the format: ${artifact.contentCompression.algorithm}${artifact.contentCompression.level === undefined ? '' : ` ${artifact.contentCompression.level}`} by ${artifact.contentCompression.by})` : ''}, encryption ${artifact.encryption ? (artifact.encryption.passphrase ? 'age (passphrase)' : `age → ${artifact.encryption.recipients.join(', ')}`) : 'none'}`,
          );
        }
      }
      for (const verification of manifest.verifications)
        context.print(
          `  verified ${verification.level} at ${verification.at}: ${verification.ok ? 'ok' : 'FAILED'} — ${verification.detail}`,
        );
    }
    return ExitCode.ok;
  }),
};

/**
 * What a source recorded, as `key=value` pairs (strings with spaces quoted); lists and objects (a file listing) are
 * left to `--json`.
 */
function describeDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value) || value === null)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' && /[\s"]/.test(value) ? JSON.stringify(value) : String(value)}`,
    )
    .join(' ');
}

const verifyCommand: CliCommand = {
  summary: 'verify a backup: checksum, full-read (decrypt, decompress, parse) or test-restore',
  usage: '<id|latest>',
  options: {
    ...configOption,
    ...jobOption,
    ...keyOptions,
    ...pgBinOption,
    level: {
      type: 'string',
      short: 'l',
      valueName: 'level',
      description: 'checksum (default), full-read or test-restore',
    },
  },
  examples: [
    'ops-backup verify latest --job pg-main --level full-read --identity-file /etc/ops/backup.key',
    'ops-backup verify 20261122T030000Z-ab12cd34 --json',
  ],
  run: closingStorages(async (context, openStorage) => {
    const id = context.positionals[0];
    if (!id) throw new UsageError('verify needs a backup id (or "latest" with --job)');
    const level = (context.values.level as string | undefined) ?? 'checksum';
    if (!['checksum', 'full-read', 'test-restore'].includes(level))
      throw new UsageError(`--level must be checksum, full-read or test-restore, got ${JSON.stringify(level)}`);
    const config = await readConfig(context);
    const decryption = await resolveDecryption(
      config,
      {
        identityFile: context.values['identity-file'] as string | undefined,
        passphraseEnv: context.values['passphrase-env'] as string | undefined,
      },
      context.io.env,
    );
    const storage = await openStorage(config);
    const backup = await findBackup({ storage, id, job: context.values.job as string | undefined });
    const redis =
      level === 'test-restore' && config.scratch?.redis ? await openRedis(config.scratch.redis.url) : undefined;
    try {
      const report = await verifyBackup({
        storage,
        backup,
        ...restoreTools(context, config, backup, undefined),
        level: level as VerificationLevel,
        ...(decryption ? { decryption } : {}),
        scratch: {
          ...(config.scratch?.postgres
            ? { postgres: { connectionString: config.scratch.postgres.connectionString } }
            : {}),
          ...(redis ? { redis } : {}),
        },
      });
      if (context.json) context.printJson(report);
      else {
        for (const artifact of report.artifacts)
          context.print(
            `${artifact.ok ? 'ok  ' : artifact.inconclusive ? 'SKIP' : 'FAIL'} ${artifact.key}: ${artifact.detail}`,
          );
        context.print(
          `${report.job} ${report.backupId}: ${report.level} ${report.ok ? 'passed' : report.inconclusive ? 'INCONCLUSIVE (not recorded; the backup was not found damaged)' : 'FAILED'}`,
        );
      }
      return report.ok ? ExitCode.ok : ExitCode.failure;
    } finally {
      redis?.disconnect();
    }
  }),
};

const restoreCommand: CliCommand = {
  summary: 'restore a backup into a database, a Redis database or an empty staging directory',
  usage: '<id|latest>',
  options: {
    ...configOption,
    ...jobOption,
    ...keyOptions,
    ...pgBinOption,
    source: { type: 'string', valueName: 'name', description: 'which source of the backup (when it has several)' },
    'to-database': { type: 'string', valueName: 'name', description: 'PostgreSQL: target database name' },
    'target-url': {
      type: 'string',
      valueName: 'url',
      description:
        'PostgreSQL: server to restore into, best without its password (default: the source server of the job)',
    },
    'target-url-env': {
      type: 'string',
      valueName: 'NAME',
      description: 'PostgreSQL: environment variable holding the target URL, credentials included',
    },
    'target-password-env': {
      type: 'string',
      valueName: 'NAME',
      description: 'PostgreSQL: environment variable holding the target password (else PGPASSWORD)',
    },
    'target-password-file': {
      type: 'string',
      valueName: 'file',
      description: 'PostgreSQL: file (mode 0600) whose first line is the target password',
    },
    create: { type: 'boolean', description: 'PostgreSQL: create the target database' },
    clean: { type: 'boolean', description: 'PostgreSQL: drop objects before recreating them' },
    'parallel-jobs': { type: 'string', valueName: 'n', description: 'PostgreSQL: pg_restore -j n' },
    'load-from': {
      type: 'string',
      valueName: 'where',
      description:
        'PostgreSQL: storage (stream it again after authenticating it; default for a local storage) or local-copy (load a verified decrypted copy)',
    },
    'to-redis': { type: 'string', valueName: 'url', description: 'Redis: target redis://host:port/db' },
    policy: { type: 'string', valueName: 'policy', description: 'Redis: replace (default), skip-existing or fail' },
    'to-directory': { type: 'string', valueName: 'dir', description: 'files: empty staging directory' },
  },
  examples: [
    'ops-backup restore latest --job pg-main --to-database app_restored --create --parallel-jobs 4 --identity-file key.txt',
    'ops-backup restore latest --job pg-main --to-database app --target-url postgresql://restore@db2:5432/postgres --target-password-file /etc/ops/restore.pw',
    'ops-backup restore 20261122T030000Z-ab12cd34 --to-redis redis://127.0.0.1:6379/5 --policy skip-existing',
    'ops-backup restore latest --job config --to-directory /srv/restore-staging',
  ],
  run: closingStorages(async (context, openStorage) => {
    const id = context.positionals[0];
    if (!id) throw new UsageError('restore needs a backup id (or "latest" with --job)');
    const targets = ['to-database', 'to-redis', 'to-directory'].filter((name) => context.values[name] !== undefined);
    if (targets.length !== 1)
      throw new UsageError('restore needs exactly one of --to-database, --to-redis, --to-directory');
    const config = await readConfig(context);
    // Keys first: a bad --identity-file is a usage error before anything is read from the storage.
    const decryption = await resolveDecryption(
      config,
      {
        identityFile: context.values['identity-file'] as string | undefined,
        passphraseEnv: context.values['passphrase-env'] as string | undefined,
      },
      context.io.env,
    );
    const storage = await openStorage(config);
    const backup = await findBackup({ storage, id, job: context.values.job as string | undefined });
    const source = context.values.source as string | undefined;
    const common = { storage, backup, ...(decryption ? { decryption } : {}), ...(source ? { source } : {}) };
    let result: Record<string, unknown>;
    if (context.values['to-database'] !== undefined) {
      const database = context.values['to-database'] as string;
      let server: ReturnType<typeof resolveConnection>;
      const targetUrl = targetUrlFrom(context);
      if (targetUrl !== undefined) {
        try {
          server = resolveConnection({ connectionString: targetUrl });
        } catch (error) {
          throw new UsageError(
            `${context.values['target-url-env'] ? `--target-url-env ${String(context.values['target-url-env'])}` : '--target-url'}: ${(error as Error).message}`,
          );
        }
        if (context.values['target-url'] !== undefined && server.password !== undefined) {
          context.warn(
            'warning: the password in --target-url can be read by other users in the process list; pass it with --target-password-env, --target-password-file or --target-url-env',
          );
        }
      } else {
        const job = config.jobs.find((candidate) => candidate.name === backup.job);
        const configured = job?.sources.find(
          (candidate) =>
            candidate.type === 'postgres' && (source === undefined || (candidate.name ?? 'postgres') === source),
        );
        if (!configured || configured.type !== 'postgres')
          throw new UsageError(`job ${backup.job} has no postgres source in the config; give --target-url`);
        const {
          type: _type,
          name: _name,
          format: _format,
          parallelJobs: _parallel,
          passwordMode: _mode,
          lockWaitTimeout: _lock,
          extraArguments: _extra,
          pgDumpPath: _path,
          ...connection
        } = configured;
        server = resolveConnection(connection as PostgresConnectionOptions);
      }
      const password = await readTargetPassword(
        {
          passwordEnv: context.values['target-password-env'] as string | undefined,
          passwordFile: context.values['target-password-file'] as string | undefined,
        },
        context.io.env,
      );
      if (password !== undefined) server = { ...server, password };
      else if (server.password === undefined && context.io.env.PGPASSWORD)
        server = { ...server, password: context.io.env.PGPASSWORD };
      const parallelText = context.values['parallel-jobs'] as string | undefined;
      const parallelJobs = parallelText === undefined ? 1 : Number(parallelText);
      if (!Number.isInteger(parallelJobs) || parallelJobs < 1)
        throw new UsageError('--parallel-jobs must be an integer >= 1');
      const loadFrom = context.values['load-from'] as string | undefined;
      if (loadFrom !== undefined && loadFrom !== 'storage' && loadFrom !== 'local-copy')
        throw new UsageError(`--load-from must be storage or local-copy, got ${JSON.stringify(loadFrom)}`);
      const bar = context.json ? undefined : createProgressBar(context.io.stderr, 'restore');
      try {
        await restorePostgres({
          ...common,
          target: { ...server, database },
          create: context.values.create === true,
          clean: context.values.clean === true,
          parallelJobs,
          ...restoreTools(context, config, backup, source),
          ...(loadFrom === undefined ? {} : { loadFrom }),
          ...(bar ? { onProgress: (bytes: number) => bar.update(bytes, backup.storedBytes) } : {}),
        });
      } finally {
        bar?.done();
      }
      result = { restored: 'postgres', database };
    } else if (context.values['to-redis'] !== undefined) {
      const policy = ((context.values.policy as string | undefined) ?? 'replace') as RedisReplacePolicy;
      if (!['replace', 'skip-existing', 'fail'].includes(policy))
        throw new UsageError('--policy must be replace, skip-existing or fail');
      const redis = await openRedis(context.values['to-redis'] as string);
      try {
        result = { ...(await restoreRedis({ ...common, redis, policy })), restored: 'redis' };
      } finally {
        redis.disconnect();
      }
    } else {
      result = {
        ...(await restoreFiles({ ...common, directory: context.values['to-directory'] as string })),
        restored: 'files',
      };
    }
    if (context.json) context.printJson({ ok: true, backupId: backup.id, ...result });
    else context.print(`restored ${backup.job} ${backup.id}: ${JSON.stringify(result)}`);
    return ExitCode.ok;
  }),
};

/** The target URL from `--target-url` or the environment variable named by `--target-url-env` (never both). */
function targetUrlFrom(context: CliContext): string | undefined {
  const flag = context.values['target-url'] as string | undefined;
  const name = context.values['target-url-env'] as string | undefined;
  if (flag !== undefined && name !== undefined) throw new UsageError('give --target-url or --target-url-env, not both');
  if (name === undefined) return flag;
  const value = context.io.env[name];
  if (value === undefined || value === '')
    throw new UsageError(`environment variable ${name} (from --target-url-env) is not set`);
  return value;
}

/** restic's `forget` flags, as restic users write them; they replace the keep rules of the config. */
const RESTIC_COUNT_FLAGS = {
  'keep-last': 'keepLast',
  'keep-hourly': 'keepHourly',
  'keep-daily': 'keepDaily',
  'keep-weekly': 'keepWeekly',
  'keep-monthly': 'keepMonthly',
  'keep-yearly': 'keepYearly',
} as const;
const RESTIC_WITHIN_FLAGS = {
  'keep-within': 'keepWithin',
  'keep-within-hourly': 'keepWithinHourly',
  'keep-within-daily': 'keepWithinDaily',
  'keep-within-weekly': 'keepWithinWeekly',
  'keep-within-monthly': 'keepWithinMonthly',
  'keep-within-yearly': 'keepWithinYearly',
} as const;
const SAFETY_KEYS = ['minGood', 'failedKeepFor', 'staleInProgressAfter', 'countUnverified'] as const;

/** The keep rules given as restic flags (`undefined` when none is given). Durations follow restic: `1m` is a month. */
function keepRulesFromFlags(context: CliContext): RetentionPolicy | undefined {
  const rules: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(RESTIC_COUNT_FLAGS)) {
    const text = context.values[flag] as string | undefined;
    if (text === undefined) continue;
    if (!/^(-1|\d+|unlimited)$/.test(text))
      throw new UsageError(`--${flag} must be a count >= 0, or -1 / "unlimited" for all; got ${JSON.stringify(text)}`);
    rules[key] = text === 'unlimited' ? -1 : Number(text);
  }
  for (const [flag, key] of Object.entries(RESTIC_WITHIN_FLAGS)) {
    const text = context.values[flag] as string | undefined;
    if (text === undefined) continue;
    try {
      rules[key] = formatRetentionSpan(parseResticDuration(text));
    } catch (error) {
      throw new UsageError(`--${flag}: ${(error as Error).message}`);
    }
  }
  const tagSets = (context.values['keep-tag'] as string[] | undefined) ?? [];
  if (tagSets.length > 0) rules.keepTags = tagSets.map((set) => set.split(',').map((tag) => tag.trim()));
  return Object.keys(rules).length > 0 ? (rules as RetentionPolicy) : undefined;
}

const pruneCommand: CliCommand = {
  summary: 'apply the retention policy of each job (dry run unless --confirm)',
  usage: '[job...]',
  options: {
    ...configOption,
    confirm: { type: 'boolean', description: 'really delete (default: dry run printing the reason for every backup)' },
    ...Object.fromEntries(
      Object.keys(RESTIC_COUNT_FLAGS).map((flag) => [
        flag,
        {
          type: 'string',
          valueName: 'n',
          description: `restic's --${flag}: replaces the config's keep rules (-1 or "unlimited": all)`,
        } as const,
      ]),
    ),
    ...Object.fromEntries(
      Object.keys(RESTIC_WITHIN_FLAGS).map((flag) => [
        flag,
        {
          type: 'string',
          valueName: 'duration',
          description: `restic's --${flag}, in restic's syntax: 1y2m3d4h (m = months)`,
        } as const,
      ]),
    ),
    'keep-tag': {
      type: 'string',
      multiple: true,
      valueName: 'tags',
      description:
        "restic's --keep-tag: keep backups with all these comma-separated tags (repeatable; '' keeps untagged)",
    },
  },
  examples: [
    'ops-backup prune',
    'ops-backup prune pg-main --confirm',
    "ops-backup prune pg-main --keep-daily 7 --keep-within 1m --keep-tag release   # restic's flags: 1m is one month",
  ],
  run: closingStorages(async (context, openStorage) => {
    const keepRules = keepRulesFromFlags(context);
    const config = await readConfig(context);
    const storage = await openStorage(config);
    const jobs = pickJobs(config, context.positionals).filter((job) => keepRules !== undefined || job.retention);
    if (jobs.length === 0)
      throw new UsageError(
        'no selected job has a retention policy (give one in the config, or restic-style --keep-* flags)',
      );
    const dryRun = context.values.confirm !== true;
    const reports = [];
    for (const job of jobs) {
      const configured = (job.retention ?? {}) as Record<string, unknown>;
      const policy =
        keepRules === undefined
          ? configured
          : {
              ...Object.fromEntries(
                SAFETY_KEYS.filter((key) => configured[key] !== undefined).map((key) => [key, configured[key]]),
              ),
              ...keepRules,
            };
      const checked = retentionPolicySchema.safeParse(policy);
      if (!checked.success)
        throw ConfigError.fromZod(
          checked.error,
          keepRules === undefined ? `retention of job ${job.name}` : 'retention flags',
          [],
          retentionPolicySchema,
        );
      reports.push(
        await pruneBackups({
          storage,
          job: job.name,
          policy: policy as RetentionPolicy,
          dryRun,
          ...(config.timeZone ? { timeZone: config.timeZone } : {}),
          ...(config.lock ? { lock: config.lock as Exclude<RunBackupOptions['lock'], false | undefined> } : {}),
          clock: systemClock,
        }),
      );
    }
    if (context.json) context.printJson({ dryRun, jobs: reports });
    else {
      for (const report of reports) {
        context.print(`${report.job}${dryRun ? ' (dry run; add --confirm to delete)' : ''}:`);
        context.print(
          formatTable(report.decisions, [
            {
              header: 'ACTION',
              value: (decision) => (decision.action === 'remove' ? (dryRun ? 'would remove' : 'removed') : 'keep'),
            },
            { header: 'ID', value: (decision) => decision.id },
            { header: 'STATE', value: (decision) => decision.state },
            { header: 'VERIFIED', value: (decision) => decision.verified },
            { header: 'SIZE', value: (decision) => formatBytes(decision.storedBytes), align: 'right' },
            { header: 'TAGS', value: (decision) => decision.tags.join(',') || '-' },
            { header: 'REASONS', value: (decision) => decision.reasons.join('; ') },
          ]).trimEnd(),
        );
        context.print(`${dryRun ? 'would free' : 'freed'} ${formatBytes(report.freedBytes)}`);
      }
    }
    return ExitCode.ok;
  }),
};

/**
 * The `ops-backup` CLI: `run`, `list`, `show`, `verify`, `restore` and `prune` over the jobs of a config file. Exit
 * codes are core's {@link ExitCode}: `ok` (0) everything completed or verified, `failure` (1) a job or a
 * verification failed or a manifest is unreadable, `usage` (2) bad usage or configuration. `--version` prints the
 * version of `@ops/backup`. `src/cli/bin.ts` runs it; embed it in your own tooling with core's `runCli`.
 *
 * @example
 * ```ts
 * import { runCli } from '@ops/core';
 * import { backupCli } from '@ops/backup';
 * process.exitCode = await runCli(backupCli, ['verify', 'latest', '--job', 'pg-main', '--level', 'full-read']);
 * ```
 */
export const backupCli: CliDefinition = {
  name: 'ops-backup',
  description: 'back up PostgreSQL, Redis and files: streamed, compressed, age-encrypted, verified, restorable',
  version: PACKAGE_VERSION,
  commands: {
    run: runCommand,
    list: listCommand,
    show: showCommand,
    verify: verifyCommand,
    restore: restoreCommand,
    prune: pruneCommand,
  },
};
