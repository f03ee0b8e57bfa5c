import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, durationSchema, type Duration } from '@ops/core';
import { z } from 'zod';

/** The SLO spec shipped with the example (`slos.yaml` next to `package.json`). */
export const DEFAULT_SLO_FILE = fileURLToPath(new URL('../slos.yaml', import.meta.url));

/** Settings of the reference backend, read from the environment by {@link loadBackendConfig}. */
export interface BackendConfig {
  /** `PORT`: where the service listens. Default 8080 (`0` picks a free port). */
  port: number;
  /** `HOST`: interface to bind. Default `127.0.0.1`. */
  host: string;
  /** `DATABASE_URL`: PostgreSQL connection string; without it notes live in memory. */
  databaseUrl?: string;
  /** `REDIS_URL`: Redis for the read cache; without it the cache is in memory. */
  redisUrl?: string;
  /** `BACKUP_DIR`: local backup storage. Default `<os temp dir>/ops-reference-backend/backups`. */
  backupDirectory: string;
  /** `BACKUP_EVERY`: how often the backup job runs (`'6h'`); unset runs it only through `POST /admin/backups`. */
  backupEvery?: Duration;
  /** `BACKUP_MAX_AGE`: RPO of the backup freshness check. Default `'26h'`. */
  backupMaxAge: Duration;
  /** `SLO_FILE`: SLO spec (YAML). Default the example's `slos.yaml`. */
  sloFile: string;
  /** `ADMIN_ENABLED`: mount `/admin/*` (fault injection, backups) for loopback callers. Default `false`. */
  adminEnabled: boolean;
  /** `LOG_LEVEL`: `debug` | `info` | `warn` | `error`. Default `info`. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `SHUTDOWN_DRAIN_DELAY`: wait after readiness flips to fail on SIGTERM. Default `'5s'`. */
  drainDelay: Duration;
}

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: () => 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const urlWithProtocol = (protocols: readonly string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: () => `expected a URL such as ${example}` },
  );

const environmentSchema = z.object({
  PORT: z.coerce
    .number({ error: () => 'expected a port number' })
    .int('expected an integer')
    .min(0)
    .max(65535)
    .default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:'], 'postgresql://user@127.0.0.1:5432/notes').optional(),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:'], 'redis://127.0.0.1:6379/0').optional(),
  BACKUP_DIR: z
    .string()
    .min(1)
    .default(join(tmpdir(), 'ops-reference-backend', 'backups')),
  BACKUP_EVERY: durationSchema.optional(),
  BACKUP_MAX_AGE: durationSchema.prefault('26h'),
  SLO_FILE: z.string().min(1).default(DEFAULT_SLO_FILE),
  ADMIN_ENABLED: booleanText.default(false),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SHUTDOWN_DRAIN_DELAY: durationSchema.prefault('5s'),
});

/**
 * Reads the backend's settings from environment variables. Empty strings count as unset. Every problem is
 * reported at once, naming the variable: `invalid environment: DATABASE_URL: expected a URL such as …`.
 * Values are never echoed (they may hold passwords).
 *
 * @example
 * ```ts
 * const config = loadBackendConfig(process.env);
 * ```
 */
export function loadBackendConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): BackendConfig {
  const present: Record<string, string> = {};
  for (const name of Object.keys(environmentSchema.shape)) {
    const value = environment[name];
    if (value !== undefined && value.trim() !== '') present[name] = value.trim();
  }
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.'),
      message: issue.message,
    }));
    throw new ConfigError(
      `invalid environment: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      issues,
    );
  }
  const values = parsed.data;
  const config: BackendConfig = {
    port: values.PORT,
    host: values.HOST,
    backupDirectory: values.BACKUP_DIR,
    backupMaxAge: values.BACKUP_MAX_AGE,
    sloFile: values.SLO_FILE,
    adminEnabled: values.ADMIN_ENABLED,
    logLevel: values.LOG_LEVEL,
    drainDelay: values.SHUTDOWN_DRAIN_DELAY,
  };
  if (values.DATABASE_URL !== undefined) config.databaseUrl = values.DATABASE_URL;
  if (values.REDIS_URL !== undefined) config.redisUrl = values.REDIS_URL;
  if (values.BACKUP_EVERY !== undefined) config.backupEvery = values.BACKUP_EVERY;
  return config;
}
