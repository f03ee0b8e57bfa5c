import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StorageWriteOptions } from '../storage.js';
import { base64Sha256, MAX_PARTS, MultipartUpload } from './multipart-upload.js';
import { sendOptions, type S3Bucket } from './s3-client.js';
import { isAbort, storageError } from './s3-errors.js';
import { statObject } from './s3-objects.js';
import { BackupError } from '../../errors.js';

const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;
const SHA256_METADATA = 'sha256';

/** How {@link writeObject} uploads. */
export interface S3WriteSettings {
  /** Size of each part, and the single-request threshold. */
  partSizeBytes: number;
  /** Parts uploaded concurrently. */
  queueSize: number;
  /** Send SHA-256 checksums with every upload request. */
  checksums: boolean;
}

/**
 * Streams `body` to `key` with bounded memory: one `PutObject` when it fits in one part, else a multipart upload that
 * any failure or abort aborts, so nothing appears under the key. Stores the full-object SHA-256 as metadata and checks
 * the stored size.
 */
export async function writeObject(
  target: S3Bucket,
  settings: S3WriteSettings,
  key: string,
  body: Readable,
  writeOptions: StorageWriteOptions = {},
): Promise<{ bytes: number }> {
  const objectKey = target.objectKey(key);
  const { signal, contentLength } = writeOptions;
  const { partSizeBytes, queueSize, checksums } = settings;
  const upload = new MultipartUpload({ target, key, objectKey, checksums, queueSize, signal });
  // With a known size, grow the part size so the upload fits S3's 10 000-part limit.
  const partSize =
    contentLength !== undefined ? Math.max(partSizeBytes, Math.ceil(contentLength / MAX_PARTS)) : partSizeBytes;
  // An abort must also end a wait for the body's next chunk (a stalled source), not only the requests in flight.
  const onAbort = () => body.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const { bytes, sha256Hex, lastPart } = await sendFullParts(body, upload, {
      partSize,
      growParts: contentLength === undefined,
      signal,
    });
    if (!upload.started) {
      await putObject(target, { objectKey, body: lastPart, sha256Hex, checksums, signal });
    } else {
      if (lastPart.length > 0) await upload.add(lastPart);
      await upload.complete();
      await attachSha256(target, key, objectKey, bytes, sha256Hex);
    }
    const stored = await statObject(target, key);
    if (stored?.bytes !== bytes) {
      throw new BackupError(
        'STORAGE_FAILED',
        `s3 storage: ${target.where(key)} holds ${stored?.bytes ?? 'no'} bytes after upload, expected ${bytes}`,
        { isRetryable: true },
      );
    }
    return { bytes };
  } catch (error) {
    await upload.abort();
    if (!body.destroyed) body.destroy();
    if (isAbort(error) || signal?.aborted)
      throw new BackupError('ABORTED', `s3 storage: write of ${target.where(key)} was aborted`, { cause: error });
    throw storageError('write', target.where(key), error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Reads `body` into part-sized buffers and hands each full one to `upload`, but only once more data follows (a body
 * of one part or less goes up in a single request instead). Returns the bytes not yet sent, with the total size and
 * SHA-256 of the body.
 */
async function sendFullParts(
  body: Readable,
  upload: MultipartUpload,
  options: { partSize: number; growParts: boolean; signal: AbortSignal | undefined },
): Promise<{ bytes: number; sha256Hex: string; lastPart: Buffer }> {
  const { growParts, signal } = options;
  let partSize = options.partSize;
  const objectHash = createHash('sha256');
  let bytes = 0;
  let buffer = Buffer.allocUnsafe(partSize);
  let filled = 0;
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
        if (!upload.started && data.length === 0) break;
        const partCount = await upload.add(buffer);
        // Unknown total size: grow parts every 1000 parts (8 MiB → 16 → 32 …) to reach large objects within 10 000 parts.
        if (growParts && partCount % 1000 === 0) partSize *= 2;
        buffer = Buffer.allocUnsafe(partSize);
        filled = 0;
      }
    }
  }
  return { bytes, sha256Hex: objectHash.digest('hex'), lastPart: buffer.subarray(0, filled) };
}

/** The whole object in one `PutObject`, with its SHA-256 as metadata (and as a checksum the server verifies). */
async function putObject(
  target: S3Bucket,
  object: { objectKey: string; body: Buffer; sha256Hex: string; checksums: boolean; signal: AbortSignal | undefined },
): Promise<void> {
  const { objectKey, body, sha256Hex, checksums, signal } = object;
  const { client, module } = await target.connect();
  await client.send(
    new module.PutObjectCommand({
      Bucket: target.bucket,
      Key: objectKey,
      Body: body,
      ContentLength: body.length,
      Metadata: { [SHA256_METADATA]: sha256Hex },
      ...(checksums ? { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: base64Sha256(body) } : {}),
    }),
    sendOptions(signal),
  );
}

/** Stores the SHA-256 as metadata of a completed multipart object by a self-copy; only warns when that fails. */
async function attachSha256(
  target: S3Bucket,
  key: string,
  objectKey: string,
  bytes: number,
  sha256Hex: string,
): Promise<void> {
  const { bucket, logger } = target;
  if (bytes > MAX_COPY_BYTES) {
    logger.warn(
      { bucket, key: objectKey },
      's3 storage: object larger than 5 GiB, sha256 metadata not attached (the manifest still records it)',
    );
    return;
  }
  try {
    const { client, module } = await target.connect();
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
    logger.warn(
      { bucket, key: objectKey, error: (error as Error).message },
      `s3 storage: could not attach sha256 metadata to ${target.where(key)}`,
    );
  }
}
