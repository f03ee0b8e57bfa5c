import type { Readable } from 'node:stream';
import type { Logger } from '@ops/core';
import type { ArtifactRecord } from '../pipeline/artifact-pipeline.js';

/** What a source gets while it runs: a way to store artifacts, the cancellation signal, a logger. */
export interface SourceContext {
  /**
   * Streams `body` through the job's pipeline into storage as artifact `name`. Resolves when stored; rejects when
   * the body, a transform or the storage fails.
   */
  writeArtifact(name: string, format: string, body: Readable): Promise<ArtifactRecord>;
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
