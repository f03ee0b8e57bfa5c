import { durationSchema, type Duration } from '@ops/core';
import { z } from 'zod';
import { JOB_NAME_PATTERN } from '../manifest/manifest.js';
import { backupTagSchema, retentionPolicySchema } from '../retention/retention-policy.js';

const name = z.string().regex(JOB_NAME_PATTERN, 'must be letters, digits, ".", "_" or "-" (not starting with ".")');

const postgresSourceSchema = z
  .object({
    type: z.literal('postgres'),
    name: name.optional(),
    connectionString: z.string().optional(),
    host: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().optional(),
    database: z.string().optional(),
    password: z.string().optional(),
    sslMode: z.string().optional(),
    format: z.enum(['custom', 'plain', 'directory']).optional(),
    parallelJobs: z.number().int().min(1).optional(),
    /** pg_dump's own compression (`-Z`, 0–9), explicit; with it, set the job's compression to `none`. */
    dumpCompressionLevel: z.number().int().min(0).max(9).optional(),
    /** Default true: a custom dump is compressed by pg_dump at the job's gzip level instead of gzip in the pipeline. */
    compressInsideDump: z.boolean().optional(),
    passwordMode: z.enum(['passfile', 'environment']).optional(),
    lockWaitTimeout: durationSchema.optional(),
    extraArguments: z.array(z.string()).optional(),
    pgDumpPath: z.string().optional(),
    /** Default true: a streamed dump runs under `stdbuf -o 1M` (Linux, when stdbuf is on PATH). */
    bufferDumpOutput: z.boolean().optional(),
  })
  .strict();

const redisSourceSchema = z
  .object({
    type: z.literal('redis'),
    name: name.optional(),
    /** `redis://[user:password@]host:port/db`; prefer `${REDIS_URL}`. */
    url: z.string(),
    method: z.enum(['auto', 'rdb', 'scan-dump']).optional(),
    scanCount: z.number().int().min(1).optional(),
    match: z.string().optional(),
  })
  .strict();

const filesSourceSchema = z
  .object({
    type: z.literal('files'),
    name: name.optional(),
    directory: z.string().min(1),
    exclude: z.array(z.string()).optional(),
    symlinks: z.enum(['preserve', 'skip']).optional(),
  })
  .strict();

const hookSchema = z
  .object({
    command: z.array(z.string()).min(1),
    timeout: durationSchema.optional(),
    onError: z.enum(['fail', 'continue']).optional(),
    env: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const encryptionSchema = z
  .object({
    recipients: z
      .array(z.string().regex(/^age1[0-9a-z]+$/, 'must be an age recipient (age1…)'))
      .min(1)
      .optional(),
    passphrase: z.string().min(1).optional(),
    scryptWorkFactor: z.number().int().min(10).max(30).optional(),
  })
  .strict()
  .refine((value) => (value.recipients === undefined) !== (value.passphrase === undefined), {
    message: 'give either recipients or passphrase (not both)',
  });

const jobSchema = z
  .object({
    name,
    sources: z.array(z.discriminatedUnion('type', [postgresSourceSchema, redisSourceSchema, filesSourceSchema])).min(1),
    compression: z
      .object({ algorithm: z.enum(['none', 'gzip', 'zstd']), level: z.number().int().min(1).max(19).optional() })
      .strict()
      .optional(),
    encryption: encryptionSchema.optional(),
    retention: retentionPolicySchema.optional(),
    hooks: z
      .object({ pre: z.array(hookSchema).optional(), post: z.array(hookSchema).optional() })
      .strict()
      .optional(),
    verifyStored: z.boolean().optional(),
    tags: z.array(backupTagSchema).optional(),
  })
  .strict();

const storageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local'), directory: z.string().min(1) }).strict(),
  z
    .object({
      type: z.literal('s3'),
      bucket: z.string().min(1),
      prefix: z.string().optional(),
      region: z.string().optional(),
      endpoint: z.string().optional(),
      forcePathStyle: z.boolean().optional(),
      credentials: z
        .object({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string().optional() })
        .strict()
        .optional(),
    })
    .strict(),
]);

/**
 * zod schema of the `ops-backup` YAML/JSON config: one storage, several jobs, keys for verify/restore, scratch
 * targets for test restores. Errors name the path (`jobs[1].sources[0].format: expected one of …`). Put secrets in
 * the environment: `password: ${PGPASSWORD}`.
 */
export const backupConfigSchema = z
  .object({
    storage: storageSchema,
    timeZone: z.string().optional(),
    lock: z
      .object({ staleAfter: durationSchema.optional(), refreshEvery: durationSchema.optional() })
      .strict()
      .optional(),
    decryption: z
      .object({ identityFile: z.string().optional(), passphrase: z.string().optional() })
      .strict()
      .optional(),
    scratch: z
      .object({
        postgres: z.object({ connectionString: z.string() }).strict().optional(),
        redis: z.object({ url: z.string() }).strict().optional(),
      })
      .strict()
      .optional(),
    jobs: z.array(jobSchema).min(1),
  })
  .strict()
  .superRefine((config, context) => {
    const seen = new Set<string>();
    config.jobs.forEach((job, index) => {
      if (seen.has(job.name))
        context.addIssue({
          code: 'custom',
          path: ['jobs', index, 'name'],
          message: `duplicate job name ${JSON.stringify(job.name)}`,
        });
      seen.add(job.name);
    });
  });

/** The parsed config (durations as milliseconds). */
export type BackupConfig = z.output<typeof backupConfigSchema>;
/** One job of {@link BackupConfig}. */
export type BackupJobConfig = BackupConfig['jobs'][number];
/** Re-exported for config authors' typings. */
export type ConfigDuration = Duration;
