import type { Readable } from 'node:stream';
import type { Logger } from '@ops/core';
import type { ArtifactRecord, ContentCompression } from '../pipeline/artifact-pipeline.js';
import type { CompressionOptions } from '../pipeline/compression.js';

/** How one artifact departs from the job's pipeline (see {@link SourceContext.writeArtifact}). */
export interface ArtifactWriteOptions {
  /**
   * The body is already compressed inside its format by the tool that wrote it (e.g. `pg_dump -Z 1`): recorded in
   * the artifact as `contentCompression`.
   */
  contentCompression?: ContentCompression;
  /**
   * The pipeline's compression for this artifact instead of the job's, e.g. `{ algorithm: 'none' }` when the source
   * compressed inside its format in place of the job's gzip.
   */
  compression?: CompressionOptions;
}

/** What a source gets while it runs: a way to store artifacts, the cancellation signal, a logger. */
export interface SourceContext {
  /**
   * Streams `body` through the job's pipeline into storage as artifact `name`. Resolves when stored; rejects when
   * the body, a transform or the storage fails.
   */
  writeArtifact(name: string, format: string, body: Readable, options?: ArtifactWriteOptions): Promise<ArtifactRecord>;
  /**
   * The job's compression (defaults applied), so a source whose tool compresses faster inside its own format can do
   * that instead and pass `{ compression: { algorithm: 'none' }, contentCompression }` to `writeArtifact`.
   */
  compression?: CompressionOptions;
  signal: AbortSignal;
  logger: Logger;
  /** A private temporary directory, removed after the source finishes. */
  temporaryDirectory: string;
}

/** What a source reports about a successful backup; merged into the manifest's source record. */
export interface SourceOutcome {
  /** Versions, consistency, sanity facts; never secrets. */
  details: Record<string, unknown>;
  warnings?: string[];
}

/**
 * Something that can be backed up: PostgreSQL, Redis, a directory. A source must fail (reject) whenever what it
 * stored is incomplete — a non-zero exit, a signal, zero bytes — even when the stream itself ended cleanly.
 */
export interface BackupSource {
  readonly kind: 'postgres' | 'redis' | 'files';
  /** Name unique within the job; used in artifact names. */
  readonly name: string;
  backup(context: SourceContext): Promise<SourceOutcome>;
}
