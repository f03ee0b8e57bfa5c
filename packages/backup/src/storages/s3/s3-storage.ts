import { silentLogger, type Logger } from '@ops/core';
import type { BackupStorage } from '../storage.js';
import { assertStorageKey } from '../storage-key.js';
import { createS3Connector, type S3Bucket } from './s3-client.js';
import { deleteObject, listObjects, readObject, statObject } from './s3-objects.js';
import { writeObject } from './s3-write.js';
import { BackupError } from '../../errors.js';

/**
 * The part of an `S3Client` (from `@aws-sdk/client-s3`) the storage uses: `send`. Structural, so the SDK stays an
 * optional peer: a user who does not store backups on S3 never needs its types, and a user who does passes their
 * `S3Client` as it is. Commands are built from the SDK that `@ops/backup` itself loads.
 *
 * @example
 * ```ts
 * import { S3Client } from '@aws-sdk/client-s3';
 * const client: S3ClientLike = new S3Client({ region: 'eu-west-1' });
 * ```
 */
export interface S3ClientLike {
  send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** Options of {@link createS3Storage}. */
export interface S3StorageOptions {
  /** Bucket name (must exist). */
  bucket: string;
  /** Key prefix inside the bucket, e.g. `'prod/backups'` (no leading or trailing slash needed). */
  prefix?: string;
  /** AWS region; default `'us-east-1'` (most S3-compatible servers ignore it). Ignored when `client` is given. */
  region?: string;
  /** Endpoint of an S3-compatible server, e.g. `'https://minio.internal:9000'`. Ignored when `client` is given. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most S3-compatible servers. Ignored when `client` is given. */
  forcePathStyle?: boolean;
  /** Static credentials; default: the AWS SDK's provider chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Your own client (then region/endpoint/credentials above are not used and {@link S3Storage.close} leaves it open). */
  client?: S3ClientLike;
  /** Size of each multipart part in bytes; default 8 MiB, minimum 5 MiB (S3's limit). Also the single-request threshold. */
  partSizeBytes?: number;
  /** Parts uploaded concurrently; default 4. Memory use is about `partSizeBytes × (queueSize + 1)`. */
  queueSize?: number;
  /**
   * Send SHA-256 checksums (`x-amz-checksum-sha256`) with every upload request so the server verifies each part;
   * default `true`. Set `false` for S3-compatible servers that reject checksum headers (aws-sdk-js-v3#6810); the
   * full-object SHA-256 is still stored as `sha256` metadata.
   */
  checksums?: boolean;
  /** Page size of list requests; default 1000 (S3's maximum). */
  listPageSize?: number;
  /** Receives warnings (e.g. when the sha256 metadata could not be attached). Default: silent. */
  logger?: Logger;
}

/** A {@link BackupStorage} on S3-compatible object storage. */
export interface S3Storage extends BackupStorage {
  readonly bucket: string;
  /** Normalised prefix without trailing slash (`''` for the bucket root). */
  readonly prefix: string;
  /** Releases the client's sockets when this storage created the client (no-op for a client you passed in). */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;
const MIN_PART_BYTES = 5 * MIB;

/**
 * A {@link BackupStorage} on S3 or an S3-compatible server, through `@aws-sdk/client-s3` (an optional peer
 * dependency, loaded on first use).
 *
 * Writes stream with bounded memory: bodies smaller than one part go up in a single `PutObject`; larger ones use a
 * multipart upload (`CreateMultipartUpload`, up to `queueSize` concurrent `UploadPart`s, `CompleteMultipartUpload`)
 * and any failure or abort runs `AbortMultipartUpload`, so nothing appears under the key. Every request carries a
 * SHA-256 checksum the server verifies (unless `checksums: false`); the full-object SHA-256 is stored as `sha256`
 * user metadata (for multipart objects up to 5 GiB by a metadata-replacing self-copy after completion), and the
 * stored size is checked with `HeadObject`.
 *
 * @example
 * ```ts
 * const storage = createS3Storage({ bucket: 'backups', prefix: 'prod', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
 * await storage.write('pg-main/2026-11-22/dump.age', stream);
 * ```
 */
export function createS3Storage(options: S3StorageOptions): S3Storage {
  const {
    bucket,
    region = 'us-east-1',
    endpoint,
    forcePathStyle,
    credentials,
    partSizeBytes = 8 * MIB,
    queueSize = 4,
    checksums = true,
    listPageSize = 1000,
    logger = silentLogger,
  } = options;
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  checkOptions({ bucket, prefix, partSizeBytes, queueSize, listPageSize });
  const location = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}${options.client ? '' : describeEndpoint(endpoint)}`;
  const connector = createS3Connector({ client: options.client, region, endpoint, forcePathStyle, credentials });
  const target: S3Bucket = {
    bucket,
    prefix,
    location,
    logger,
    connect: connector.connect,
    objectKey: (key) => {
      assertStorageKey(key);
      return prefix === '' ? key : `${prefix}/${key}`;
    },
    where: (key) => `${JSON.stringify(key)} in ${location}`,
  };
  const settings = { partSizeBytes, queueSize, checksums };
  return {
    location,
    bucket,
    prefix,
    write: (key, body, writeOptions) => writeObject(target, settings, key, body, writeOptions),
    read: (key, readOptions) => readObject(target, key, readOptions),
    stat: (key) => statObject(target, key),
    list: (listPrefix) => listObjects(target, listPrefix, listPageSize),
    delete: (key) => deleteObject(target, key),
    close: connector.close,
  };
}

/** Throws `ARGUMENT_INVALID` naming the first option out of range. */
function checkOptions(options: {
  bucket: string;
  prefix: string;
  partSizeBytes: number;
  queueSize: number;
  listPageSize: number;
}): void {
  const { bucket, prefix, partSizeBytes, queueSize, listPageSize } = options;
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `s3 storage: bucket ${JSON.stringify(bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -)`,
    );
  }
  if (prefix !== '') assertStorageKey(prefix);
  if (!Number.isInteger(partSizeBytes) || partSizeBytes < MIN_PART_BYTES) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `s3 storage: partSizeBytes must be an integer >= ${MIN_PART_BYTES} (5 MiB), got ${String(partSizeBytes)}`,
    );
  }
  if (!Number.isInteger(queueSize) || queueSize < 1)
    throw new BackupError(
      'ARGUMENT_INVALID',
      `s3 storage: queueSize must be an integer >= 1, got ${String(queueSize)}`,
    );
  if (!Number.isInteger(listPageSize) || listPageSize < 1 || listPageSize > 1000) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `s3 storage: listPageSize must be an integer from 1 to 1000, got ${String(listPageSize)}`,
    );
  }
}

/** ` at scheme://host:port` of a custom endpoint, for the location. */
function describeEndpoint(endpoint: string | undefined): string {
  if (endpoint === undefined) return '';
  try {
    const url = new URL(endpoint);
    return ` at ${url.protocol}//${url.host}`; // origin only: never user:password@ or query tokens
  } catch {
    return ' at a custom endpoint';
  }
}
