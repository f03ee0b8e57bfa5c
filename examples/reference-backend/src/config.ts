import { hostname, tmpdir } from 'node:os';
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
  /** `INSTANCE_ID`: this replica in healing locks, audit records and logs. Default `<hostname>-<pid>`. */
  instanceId: string;
  /**
   * `ALERT_SOURCE`: `in-process` (default) feeds the SLO tracker's burn-rate alerts and health check changes into the
   * incident manager; `alertmanager` leaves that to Prometheus + Alertmanager posting to `POST /hooks/alertmanager`.
   */
  alertSource: 'in-process' | 'alertmanager';
  /** `SLO_EVALUATE_EVERY`: how often the in-process SLO alerts are evaluated. Default `'30s'`. */
  sloEvaluateEvery: Duration;
  /** `HEAL_EVERY`: how often the healer evaluates its rules. Default `'10s'`. */
  healEvery: Duration;
  /** `HEAL_SETTLE`: wait after a healing step before it is verified. Default `'30s'` (the runbooks'). */
  healSettle: Duration;
  /**
   * `HEAL_SUSTAIN_SCALE`: factor applied to how long a healing condition must hold (memory 10 min, latency 5 min).
   * Default 1; tests on real time use e.g. `0.005` (memory after 3 s).
   */
  healSustainScale: number;
  /** `NOTIFY_WEBHOOK_URL`: Standard-Webhooks receiver paged by the escalation policy (L2–L4) and told about changes. */
  notifyWebhookUrl?: string;
  /** `NOTIFY_WEBHOOK_SECRET`: `whsec_<base64>` signing secret of those webhooks. */
  notifyWebhookSecret?: string;
  /** `SMTP_URL`: `smtp://[user:pass@]host:port` (or `smtps://`); pages and updates also go out as e-mail. */
  smtpUrl?: string;
  /** `NOTIFY_EMAIL_TO`: recipients of incident e-mail (comma-separated). Default `oncall@notes.invalid`. */
  notifyEmailTo: string[];
  /**
   * `ESCALATION_SCALE`: factor applied to the escalation offsets and repeat delay (L2 at 5 min × scale, …). Default 1;
   * tests use e.g. `0.01` (L2 after 3 s).
   */
  escalationScale: number;
  /** `INCIDENT_TICK_EVERY`: how often due escalation timers and notifications are looked for. Default `'1s'`. */
  incidentTickEvery: Duration;
  /** `CACHE_MEMORY_BUDGET_MB`: memory budget of the in-process caches (the memory signal is their use of it). Default 64. */
  cacheMemoryBudgetMb: number;
  /** `CAPACITY_SAMPLE_EVERY`: how often request rate, latency, memory and store size are sampled. Default `'1m'`. */
  capacitySampleEvery: Duration;
  /** `DOCKER_SOCKET`: a Docker-compatible engine; when set, containers labelled `autoheal=true` are healed. */
  dockerSocket?: string;
  /** `ALERTMANAGER_TOKEN`: when set, `POST /hooks/alertmanager` needs `Authorization: Bearer <token>`. */
  alertmanagerToken?: string;
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
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.:-]{1,100}$/, 'expected letters, digits, ".", ":", "_" or "-" (at most 100)')
    .optional(),
  ALERT_SOURCE: z
    .enum(['in-process', 'alertmanager'], { error: () => 'expected in-process or alertmanager' })
    .default('in-process'),
  SLO_EVALUATE_EVERY: durationSchema.prefault('30s'),
  HEAL_EVERY: durationSchema.prefault('10s'),
  HEAL_SETTLE: durationSchema.prefault('30s'),
  HEAL_SUSTAIN_SCALE: z.coerce
    .number({ error: () => 'expected a number such as 0.01' })
    .positive('expected a number > 0')
    .max(100)
    .default(1),
  NOTIFY_WEBHOOK_URL: urlWithProtocol(['http:', 'https:'], 'http://127.0.0.1:9000/hooks/incidents').optional(),
  NOTIFY_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{8,}$/, 'expected a Standard Webhooks secret whsec_<base64>')
    .optional(),
  SMTP_URL: urlWithProtocol(['smtp:', 'smtps:'], 'smtp://127.0.0.1:2525').optional(),
  NOTIFY_EMAIL_TO: z.string().min(3).default('oncall@notes.invalid'),
  ESCALATION_SCALE: z.coerce
    .number({ error: () => 'expected a number such as 0.01' })
    .positive('expected a number > 0')
    .max(100)
    .default(1),
  INCIDENT_TICK_EVERY: durationSchema.prefault('1s'),
  CACHE_MEMORY_BUDGET_MB: z.coerce
    .number({ error: () => 'expected a number of megabytes' })
    .int('expected an integer')
    .min(1)
    .max(65_536)
    .default(64),
  CAPACITY_SAMPLE_EVERY: durationSchema.prefault('1m'),
  DOCKER_SOCKET: z.string().min(1).optional(),
  ALERTMANAGER_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
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
    instanceId: values.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    alertSource: values.ALERT_SOURCE,
    sloEvaluateEvery: values.SLO_EVALUATE_EVERY,
    healEvery: values.HEAL_EVERY,
    healSettle: values.HEAL_SETTLE,
    healSustainScale: values.HEAL_SUSTAIN_SCALE,
    notifyEmailTo: values.NOTIFY_EMAIL_TO.split(',')
      .map((address) => address.trim())
      .filter((address) => address !== ''),
    escalationScale: values.ESCALATION_SCALE,
    incidentTickEvery: values.INCIDENT_TICK_EVERY,
    cacheMemoryBudgetMb: values.CACHE_MEMORY_BUDGET_MB,
    capacitySampleEvery: values.CAPACITY_SAMPLE_EVERY,
  };
  if (values.DATABASE_URL !== undefined) config.databaseUrl = values.DATABASE_URL;
  if (values.REDIS_URL !== undefined) config.redisUrl = values.REDIS_URL;
  if (values.BACKUP_EVERY !== undefined) config.backupEvery = values.BACKUP_EVERY;
  if (values.NOTIFY_WEBHOOK_URL !== undefined) config.notifyWebhookUrl = values.NOTIFY_WEBHOOK_URL;
  if (values.NOTIFY_WEBHOOK_SECRET !== undefined) config.notifyWebhookSecret = values.NOTIFY_WEBHOOK_SECRET;
  if (values.SMTP_URL !== undefined) config.smtpUrl = values.SMTP_URL;
  if (values.DOCKER_SOCKET !== undefined) config.dockerSocket = values.DOCKER_SOCKET;
  if (values.ALERTMANAGER_TOKEN !== undefined) config.alertmanagerToken = values.ALERTMANAGER_TOKEN;
  return config;
}
