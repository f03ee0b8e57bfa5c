import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { OpsError, redactText, silentLogger, type Logger } from '@ops/core';
import type { BackupStorage, StorageReadOptions, StorageWriteOptions, StoredObject } from '../storage.js';
import { assertStorageKey, assertStoragePrefix } from '../storage-key.js';

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
  client?: S3Client;
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

type S3Module = typeof import('@aws-sdk/client-s3');

const MIB = 1024 * 1024;
const MIN_PART_BYTES = 5 * MIB;
const MAX_PARTS = 10_000;
const MAX_COPY_BYTES = 5 * 1024 * MIB;
const SHA256_METADATA = 'sha256';
const RETRYABLE_NAMES = new Set(['SlowDown', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'ThrottlingException', 'RequestLimitExceeded']);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'UND_ERR_SOCKET']);

let s3ModulePromise: Promise<S3Module> | undefined;
function loadS3(): Promise<S3Module> {
  // Loaded lazily: @aws-sdk/client-s3 is an optional peer dependency, needed only by users of S3 storage.
  s3ModulePromise ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    s3ModulePromise = undefined;
    throw new OpsError('STORAGE_FAILED', 'S3 storage needs the optional peer dependency @aws-sdk/client-s3: npm install @aws-sdk/client-s3', { cause: error });
  });
  return s3ModulePromise;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function httpStatus(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as SdkErrorShape | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}

function isAbort(error: unknown): boolean {
  const name = (error as SdkErrorShape | undefined)?.name;
  return name === 'AbortError';
}

/** Maps an SDK or network error to `STORAGE_FAILED`, marking throttling, 5xx and connection failures retryable. */
function storageError(action: string, where: string, error: unknown): OpsError {
  if (OpsError.isInstance(error)) return error;
  const shape = (error ?? {}) as SdkErrorShape;
  const status = httpStatus(error);
  const retryable =
    shape.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    (shape.name !== undefined && RETRYABLE_NAMES.has(shape.name)) ||
    (shape.code !== undefined && RETRYABLE_CODES.has(shape.code));
  const detail = `${shape.name && shape.name !== 'Error' ? `${shape.name}: ` : ''}${shape.message ?? String(error)}${status ? ` (HTTP ${status})` : ''}`;
  return new OpsError('STORAGE_FAILED', `s3 storage: cannot ${action} ${where}: ${redactText(detail)}`, { cause: error, isRetryable: retryable });
}

function describeEndpoint(endpoint: string | undefined): string {
  if (endpoint === undefined) return '';
  try {
    const url = new URL(endpoint);
    return ` at ${url.protocol}//${url.host}`; // origin only: never user:password@ or query tokens
  } catch {
    return ' at a custom endpoint';
  }
}

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
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new OpsError('ARGUMENT_INVALID', `s3 storage: bucket ${JSON.stringify(bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  }
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '') assertStorageKey(prefix);
  if (!Number.isInteger(partSizeBytes) || partSizeBytes < MIN_PART_BYTES) {
    throw new OpsError('ARGUMENT_INVALID', `s3 storage: partSizeBytes must be an integer >= ${MIN_PART_BYTES} (5 MiB), got ${String(partSizeBytes)}`);
  }
  if (!Number.isInteger(queueSize) || queueSize < 1) throw new OpsError('ARGUMENT_INVALID', `s3 storage: queueSize must be an integer >= 1, got ${String(queueSize)}`);
  if (!Number.isInteger(listPageSize) || listPageSize < 1 || listPageSize > 1000) {
    throw new OpsError('ARGUMENT_INVALID', `s3 storage: listPageSize must be an integer from 1 to 1000, got ${String(listPageSize)}`);
  }

  const location = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}${options.client ? '' : describeEndpoint(endpoint)}`;
  const fullKey = (key: string): string => {
    assertStorageKey(key);
    return prefix === '' ? key : `${prefix}/${key}`;
  };
  const where = (key: string): string => `${JSON.stringify(key)} in ${location}`;

  let clientPromise: Promise<{ client: S3Client; module: S3Module }> | undefined;
  const ownsClient = options.client === undefined;
  function connect(): Promise<{ client: S3Client; module: S3Module }> {
    clientPromise ??= loadS3().then((module) => {
      if (options.client) return { client: options.client, module };
      const config: S3ClientConfig = { region };
      if (endpoint !== undefined) config.endpoint = endpoint;
      if (forcePathStyle !== undefined) config.forcePathStyle = forcePathStyle;
      if (credentials !== undefined) config.credentials = credentials;
      // Only send checksums we compute ourselves (SHA-256); no automatic CRC32 on every request.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
      return { client: new module.S3Client(config), module };
    });
    return clientPromise;
  }

  const sendOptions = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } => (signal ? { abortSignal: signal } : {});
  const base64Sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');

  async function putSmall(key: string, body: Buffer, sha256Hex: string, signal: AbortSignal | undefined): Promise<void> {
    const { client, module } = await connect();
    await client.send(
      new module.PutObjectCommand({
        Bucket: bucket,
        Key: fullKey(key),
        Body: body,
        ContentLength: body.length,
        Metadata: { [SHA256_METADATA]: sha256Hex },
        ...(checksums ? { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: base64Sha256(body) } : {}),
      }),
      sendOptions(signal),
    );
  }

  async function write(key: string, body: Readable, writeOptions: StorageWriteOptions = {}): Promise<{ bytes: number }> {
    const objectKey = fullKey(key);
    const { signal, contentLength } = writeOptions;
    // With a known size, grow the part size so the upload fits S3's 10 000-part limit.
    let partSize = contentLength !== undefined ? Math.max(partSizeBytes, Math.ceil(contentLength / MAX_PARTS)) : partSizeBytes;
    const objectHash = createHash('sha256');
    let bytes = 0;
    let uploadId: string | undefined;
    const parts: Array<{ PartNumber: number; ETag: string; ChecksumSHA256?: string }> = [];
    const inFlight = new Set<Promise<void>>();
    let firstFailure: unknown;
    let buffer = Buffer.allocUnsafe(partSize);
    let filled = 0;

    const uploadPart = async (partNumber: number, data: Buffer): Promise<void> => {
      const { client, module } = await connect();
      const checksum = checksums ? base64Sha256(data) : undefined;
      const response = await client.send(
        new module.UploadPartCommand({
          Bucket: bucket,
          Key: objectKey,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: data,
          ContentLength: data.length,
          ...(checksum ? { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum } : {}),
        }),
        sendOptions(signal),
      );
      if (response.ETag === undefined) throw new OpsError('STORAGE_FAILED', `s3 storage: part ${partNumber} of ${where(key)} returned no ETag`, { isRetryable: true });
      parts.push({ PartNumber: partNumber, ETag: response.ETag, ...(checksum ? { ChecksumSHA256: checksum } : {}) });
    };

    const startPart = async (data: Buffer): Promise<void> => {
      if (uploadId === undefined) {
        const { client, module } = await connect();
        const created = await client.send(
          new module.CreateMultipartUploadCommand({ Bucket: bucket, Key: objectKey, ...(checksums ? { ChecksumAlgorithm: 'SHA256' } : {}) }),
          sendOptions(signal),
        );
        if (created.UploadId === undefined) throw new OpsError('STORAGE_FAILED', `s3 storage: CreateMultipartUpload for ${where(key)} returned no UploadId`);
        uploadId = created.UploadId;
      }
      const partNumber = parts.length + inFlight.size + 1;
      if (partNumber > MAX_PARTS) {
        throw new OpsError('STORAGE_FAILED', `s3 storage: ${where(key)} needs more than ${MAX_PARTS} parts; pass contentLength or a larger partSizeBytes`);
      }
      const task: Promise<void> = uploadPart(partNumber, data).then(
        () => {
          inFlight.delete(task);
        },
        (error: unknown) => {
          inFlight.delete(task);
          firstFailure ??= error;
        },
      );
      inFlight.add(task);
      // Backpressure: stop pulling from the body while the queue is full.
      while (inFlight.size >= queueSize && firstFailure === undefined) await Promise.race(inFlight);
      if (firstFailure !== undefined) throw firstFailure;
      // Unknown total size: grow parts every 1000 parts (8 MiB → 16 → 32 …) to reach large objects within 10 000 parts.
      if (contentLength === undefined && (parts.length + inFlight.size) % 1000 === 0) partSize *= 2;
    };

    try {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
        let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        objectHash.update(data);
        bytes += data.length;
        while (data.length > 0) {
          const take = Math.min(data.length, buffer.length - filled);
          data.copy(buffer, filled, 0, take);
          filled += take;
          data = data.subarray(take);
          if (filled === buffer.length) {
            // The first full part is sent only once we know more data follows (else a single PutObject is enough).
            if (uploadId === undefined && data.length === 0) break;
            await startPart(buffer);
            buffer = Buffer.allocUnsafe(partSize);
            filled = 0;
          }
        }
      }
      const sha256Hex = objectHash.digest('hex');
      if (uploadId === undefined && filled === buffer.length && bytes > 0) {
        // Exactly one part's worth: still a single PutObject.
        await putSmall(key, buffer, sha256Hex, signal);
      } else if (uploadId === undefined) {
        await putSmall(key, buffer.subarray(0, filled), sha256Hex, signal);
      } else {
        if (filled > 0) await startPart(buffer.subarray(0, filled));
        await Promise.all(inFlight);
        if (firstFailure !== undefined) throw firstFailure;
        const { client, module } = await connect();
        parts.sort((left, right) => left.PartNumber - right.PartNumber);
        await client.send(
          new module.CompleteMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          sendOptions(signal),
        );
        uploadId = undefined;
        await attachSha256(key, objectKey, bytes, sha256Hex);
      }
      const stored = await statKey(key);
      if (stored?.bytes !== bytes) {
        throw new OpsError('STORAGE_FAILED', `s3 storage: ${where(key)} holds ${stored?.bytes ?? 'no'} bytes after upload, expected ${bytes}`, { isRetryable: true });
      }
      return { bytes };
    } catch (error) {
      if (uploadId !== undefined) {
        await Promise.allSettled(inFlight);
        await abortUpload(objectKey, uploadId);
      }
      if (!body.destroyed) body.destroy();
      if (isAbort(error) || signal?.aborted) throw new OpsError('ABORTED', `s3 storage: write of ${where(key)} was aborted`, { cause: error });
      throw storageError('write', where(key), error);
    }
  }

  async function abortUpload(objectKey: string, uploadId: string): Promise<void> {
    try {
      const { client, module } = await connect();
      await client.send(new module.AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId }));
    } catch (error) {
      // Not fatal for the caller (the object was never completed), but the parts cost money until a lifecycle rule runs.
      logger.warn({ bucket, key: objectKey, error: (error as Error).message }, 's3 storage: AbortMultipartUpload failed; add a lifecycle rule for incomplete uploads');
    }
  }

  async function attachSha256(key: string, objectKey: string, bytes: number, sha256Hex: string): Promise<void> {
    if (bytes > MAX_COPY_BYTES) {
      logger.warn({ bucket, key: objectKey }, 's3 storage: object larger than 5 GiB, sha256 metadata not attached (the manifest still records it)');
      return;
    }
    try {
      const { client, module } = await connect();
      await client.send(
        new module.CopyObjectCommand({
          Bucket: bucket,
          Key: objectKey,
          CopySource: `${bucket}/${objectKey.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: { [SHA256_METADATA]: sha256Hex },
        }),
      );
    } catch (error) {
      logger.warn({ bucket, key: objectKey, error: (error as Error).message }, `s3 storage: could not attach sha256 metadata to ${where(key)}`);
    }
  }

  async function read(key: string, readOptions: StorageReadOptions = {}): Promise<Readable> {
    const objectKey = fullKey(key);
    const { start, end, signal } = readOptions;
    let range: string | undefined;
    if (start !== undefined || end !== undefined) {
      if ((start !== undefined && (!Number.isInteger(start) || start < 0)) || (end !== undefined && (!Number.isInteger(end) || end < (start ?? 0)))) {
        throw new OpsError('ARGUMENT_INVALID', `s3 storage: invalid range start=${String(start)} end=${String(end)}`);
      }
      range = `bytes=${start ?? 0}-${end ?? ''}`;
    }
    try {
      const { client, module } = await connect();
      const response = await client.send(new module.GetObjectCommand({ Bucket: bucket, Key: objectKey, ...(range ? { Range: range } : {}) }), sendOptions(signal));
      if (response.Body === undefined) throw new OpsError('STORAGE_FAILED', `s3 storage: ${where(key)} returned no body`, { isRetryable: true });
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new OpsError('BACKUP_NOT_FOUND', `s3 storage: ${where(key)} does not exist`, { cause: error });
      if (isAbort(error)) throw new OpsError('ABORTED', `s3 storage: read of ${where(key)} was aborted`, { cause: error });
      throw storageError('read', where(key), error);
    }
  }

  async function statKey(key: string): Promise<StoredObject | undefined> {
    const objectKey = fullKey(key);
    try {
      const { client, module } = await connect();
      const response = await client.send(new module.HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
      return { key, bytes: response.ContentLength ?? 0, modifiedAt: response.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw storageError('stat', where(key), error);
    }
  }

  async function* list(listPrefix: string): AsyncIterable<StoredObject> {
    assertStoragePrefix(listPrefix);
    const full = prefix === '' ? listPrefix : `${prefix}/${listPrefix}`;
    const strip = prefix === '' ? 0 : prefix.length + 1;
    let continuationToken: string | undefined;
    do {
      let response;
      try {
        const { client, module } = await connect();
        response = await client.send(
          new module.ListObjectsV2Command({ Bucket: bucket, Prefix: full, MaxKeys: listPageSize, ...(continuationToken ? { ContinuationToken: continuationToken } : {}) }),
        );
      } catch (error) {
        throw storageError('list', `${JSON.stringify(listPrefix)} in ${location}`, error);
      }
      for (const object of response.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(full)) continue;
        yield { key: object.Key.slice(strip), bytes: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
      }
      continuationToken = response.IsTruncated === true ? response.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async function remove(key: string): Promise<void> {
    const objectKey = fullKey(key);
    try {
      const { client, module } = await connect();
      await client.send(new module.DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw storageError('delete', where(key), error);
    }
  }

  async function close(): Promise<void> {
    if (!ownsClient || clientPromise === undefined) return;
    const { client } = await clientPromise;
    client.destroy();
    clientPromise = undefined;
  }

  return { location, bucket, prefix, write, read, stat: statKey, list, delete: remove, close };
}
