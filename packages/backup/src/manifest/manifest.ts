import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '@ops/core';
import type { ArtifactRecord } from '../pipeline/artifact-pipeline.js';
import { BackupError } from '../errors.js';

/** Version of the manifest format written by this package. */
export const MANIFEST_FORMAT_VERSION = 1;

/**
 * Life of a backup: `in-progress` is written when the run starts, one of the final states last. `completed`
 * means every source succeeded and every artifact was stored and checked; `partially-failed` means at least one
 * source succeeded and one failed; `failed` means nothing usable was stored.
 */
export type BackupState = 'in-progress' | 'completed' | 'partially-failed' | 'failed';

/** Verification depth: `checksum` (stored sha256), `full-read` (decrypt, decompress, parse), `test-restore`. */
export type VerificationLevel = 'checksum' | 'full-read' | 'test-restore';

/** Ordering of {@link VerificationLevel}s (deeper is higher). */
export const VERIFICATION_RANK: Readonly<Record<VerificationLevel, number>> = {
  checksum: 1,
  'full-read': 2,
  'test-restore': 3,
};

/**
 * Whether a verification at `level` is at least as deep as `required` (`test-restore` meets `full-read`, which
 * meets `checksum`); `undefined` (never verified) meets nothing.
 *
 * @example
 * ```ts
 * meetsVerification(verifiedLevel(manifest), 'full-read'); // true after a passing full-read or test-restore
 * ```
 */
export function meetsVerification(level: VerificationLevel | undefined, required: VerificationLevel): boolean {
  return level !== undefined && VERIFICATION_RANK[level] >= VERIFICATION_RANK[required];
}

/** One verification recorded in the manifest. */
export interface VerificationRecord {
  level: VerificationLevel;
  /** ISO time. */
  at: string;
  ok: boolean;
  /** What was checked or what failed (redacted). */
  detail: string;
}

/** What one source contributed to a backup. */
export interface SourceRecord {
  /** Source name in the job, e.g. `main-db`. */
  name: string;
  kind: 'postgres' | 'redis' | 'files';
  state: 'completed' | 'failed';
  /** Why the source failed (redacted). */
  error?: string;
  /** Versions, consistency and sanity facts (e.g. `serverVersionNum`, `method`, `pointInTime`, table counts). */
  details: Record<string, unknown>;
  artifacts: ArtifactRecord[];
}

/** The manifest of one backup, stored at `<job>/<id>/manifest.json`. Never contains a secret. */
export interface BackupManifest {
  formatVersion: number;
  /** Sortable id: `20261122T030000Z-ab12cd34`. */
  id: string;
  job: string;
  state: BackupState;
  /** ISO times. */
  startedAt: string;
  completedAt?: string;
  /** Host and pid of the run that wrote it. */
  host: string;
  pid: number;
  tool: { name: string; version: string; node: string };
  sources: SourceRecord[];
  /** Sum of the artifacts' stored bytes. */
  storedBytes: number;
  /** Sum of the artifacts' plain bytes. */
  plainBytes: number;
  verifications: VerificationRecord[];
  pinned: boolean;
  tags: string[];
  warnings: string[];
  /** Why the backup failed (redacted). */
  error?: string;
  /** SHA-256 of the manifest JSON without this field; catches accidental edits and torn copies. */
  manifestSha256?: string;
}

const artifactSchema = z.object({
  name: z.string(),
  key: z.string(),
  format: z.string(),
  plainBytes: z.number().int().nonnegative(),
  plainSha256: z.string().regex(/^[0-9a-f]{64}$/),
  storedBytes: z.number().int().nonnegative(),
  storedSha256: z.string().regex(/^[0-9a-f]{64}$/),
  compression: z.object({ algorithm: z.enum(['none', 'gzip', 'zstd']), level: z.number().int().optional() }),
  contentCompression: z
    .object({ by: z.string(), algorithm: z.string(), level: z.number().int().optional() })
    .optional(),
  encryption: z.union([
    z.null(),
    z.object({ scheme: z.literal('age'), recipients: z.array(z.string()), passphrase: z.boolean() }),
  ]),
});

/** zod schema of {@link BackupManifest}, used when reading manifests from storage. */
export const backupManifestSchema = z.object({
  formatVersion: z.number().int().positive(),
  id: z.string().min(1),
  job: z.string().min(1),
  state: z.enum(['in-progress', 'completed', 'partially-failed', 'failed']),
  startedAt: z.string(),
  completedAt: z.string().optional(),
  host: z.string(),
  pid: z.number().int(),
  tool: z.object({ name: z.string(), version: z.string(), node: z.string() }),
  sources: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['postgres', 'redis', 'files']),
      state: z.enum(['completed', 'failed']),
      error: z.string().optional(),
      details: z.record(z.string(), z.unknown()),
      artifacts: z.array(artifactSchema),
    }),
  ),
  storedBytes: z.number().int().nonnegative(),
  plainBytes: z.number().int().nonnegative(),
  verifications: z.array(
    z.object({
      level: z.enum(['checksum', 'full-read', 'test-restore']),
      at: z.string(),
      ok: z.boolean(),
      detail: z.string(),
    }),
  ),
  pinned: z.boolean(),
  tags: z.array(z.string()),
  warnings: z.array(z.string()),
  error: z.string().optional(),
  manifestSha256: z.string().optional(),
});

/** Job names become storage key segments: letters, digits, `.`, `_`, `-`; not starting with `.`. */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;

/** Throws `ARGUMENT_INVALID` unless `name` matches {@link JOB_NAME_PATTERN}. */
export function assertJobName(name: string, what = 'job name'): void {
  if (!JOB_NAME_PATTERN.test(name)) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `${what} ${JSON.stringify(name)} must match ${JOB_NAME_PATTERN.source} (letters, digits, ".", "_", "-")`,
    );
  }
}

/** A new sortable backup id from a time: `20261122T030000Z-` + 8 random hex digits. */
export function createBackupId(timeMs: number): string {
  const iso = new Date(timeMs).toISOString(); // 2026-11-22T03:00:00.000Z
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${compact}-${randomBytes(4).toString('hex')}`;
}

/** Storage key of a backup's manifest. */
export function manifestKey(job: string, id: string): string {
  return `${job}/${id}/manifest.json`;
}

/**
 * Storage key of the marker of an unfinished run: written before the `in-progress` manifest and deleted after the
 * final one, so the next run finds the backups of killed runs by listing keys, without reading every manifest.
 */
export function runMarkerKey(job: string, id: string): string {
  return `${job}/${id}/in-progress`;
}

/** Storage key prefix of a backup's artifacts. */
export function artifactKey(job: string, id: string, name: string): string {
  return `${job}/${id}/data/${name}`;
}

function withoutChecksum(manifest: BackupManifest): Omit<BackupManifest, 'manifestSha256'> {
  const { manifestSha256: _ignored, ...rest } = manifest;
  return rest;
}

/** Serialises a manifest with its self-checksum. */
export function serializeManifest(manifest: BackupManifest): string {
  const body = withoutChecksum(manifest);
  const manifestSha256 = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  return `${JSON.stringify({ ...body, manifestSha256 }, null, 2)}\n`;
}

/**
 * Parses and validates manifest text, checking the self-checksum. Throws `BACKUP_CORRUPT` naming `source` when the
 * text is not a valid manifest or was altered.
 */
export function parseManifest(text: string, source = 'manifest'): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BackupError('BACKUP_CORRUPT', `${source} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = backupManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problem = ConfigError.fromZod(parsed.error, source);
    throw new BackupError('BACKUP_CORRUPT', problem.message.replace(/^invalid /, 'invalid manifest '), {
      cause: problem,
    });
  }
  const manifest = parsed.data as BackupManifest;
  if (manifest.manifestSha256 !== undefined) {
    const actual = createHash('sha256')
      .update(JSON.stringify(withoutChecksum(raw as BackupManifest)))
      .digest('hex');
    if (actual !== manifest.manifestSha256)
      throw new BackupError('BACKUP_CORRUPT', `${source} was altered: its manifestSha256 does not match its content`);
  }
  return manifest;
}

/** Every artifact of a manifest, in order. */
export function manifestArtifacts(manifest: BackupManifest): ArtifactRecord[] {
  return manifest.sources.flatMap((source) => source.artifacts);
}

/** The deepest verification level that passed, considering only the latest result per level. */
export function verifiedLevel(manifest: BackupManifest): VerificationLevel | undefined {
  const latest = new Map<VerificationLevel, VerificationRecord>();
  for (const record of manifest.verifications) {
    const previous = latest.get(record.level);
    if (!previous || previous.at <= record.at) latest.set(record.level, record);
  }
  let best: VerificationLevel | undefined;
  for (const [level, record] of latest) {
    // Deeper than the best so far (or the first that passed).
    if (record.ok && !meetsVerification(best, level)) best = level;
  }
  return best;
}

/** Whether the latest verification of `manifest` failed. */
export function lastVerificationFailed(manifest: BackupManifest): boolean {
  const last = [...manifest.verifications].sort((a, b) => (a.at < b.at ? -1 : 1)).at(-1);
  return last !== undefined && !last.ok;
}
