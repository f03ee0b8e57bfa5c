import { createHash } from 'node:crypto';
import { sendOptions, type S3Bucket } from './s3-client.js';
import { BackupError } from '../../errors.js';

/** S3's limit of parts per multipart upload. */
export const MAX_PARTS = 10_000;

/** Options of {@link MultipartUpload}. */
export interface MultipartUploadOptions {
  target: S3Bucket;
  /** The storage key (for messages). */
  key: string;
  /** The object key in the bucket. */
  objectKey: string;
  /** Send a SHA-256 checksum with every request. */
  checksums: boolean;
  /** Parts uploaded concurrently. */
  queueSize: number;
  signal?: AbortSignal | undefined;
}

/** SHA-256 of `bytes` as base64, the form of `x-amz-checksum-sha256`. */
export function base64Sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/**
 * One multipart upload: created with the first part, up to `queueSize` parts in flight (adding a part waits while the
 * queue is full, which is the backpressure on the body), completed with the parts in order, or aborted so nothing
 * appears under the key.
 */
export class MultipartUpload {
  readonly #options: MultipartUploadOptions;
  #uploadId: string | undefined;
  readonly #parts: Array<{ PartNumber: number; ETag: string; ChecksumSHA256?: string }> = [];
  readonly #inFlight = new Set<Promise<void>>();
  #firstFailure: unknown;

  constructor(options: MultipartUploadOptions) {
    this.#options = options;
  }

  /** `true` once the upload exists on the server and until it is completed. */
  get started(): boolean {
    return this.#uploadId !== undefined;
  }

  /** Parts uploaded or in flight. */
  get partCount(): number {
    return this.#parts.length + this.#inFlight.size;
  }

  /**
   * Starts uploading `data` as the next part (creating the upload first); resolves once the queue has room, with the
   * {@link partCount} at that moment.
   */
  async add(data: Buffer): Promise<number> {
    const { target, key, queueSize } = this.#options;
    if (this.#uploadId === undefined) this.#uploadId = await this.#create();
    const partNumber = this.partCount + 1;
    if (partNumber > MAX_PARTS) {
      throw new BackupError(
        'STORAGE_FAILED',
        `s3 storage: ${target.where(key)} needs more than ${MAX_PARTS} parts; pass contentLength or a larger partSizeBytes`,
      );
    }
    const task: Promise<void> = this.#uploadPart(partNumber, data).then(
      () => {
        this.#inFlight.delete(task);
      },
      (error: unknown) => {
        this.#inFlight.delete(task);
        this.#firstFailure ??= error;
      },
    );
    this.#inFlight.add(task);
    while (this.#inFlight.size >= queueSize && this.#firstFailure === undefined) await Promise.race(this.#inFlight);
    if (this.#firstFailure !== undefined) throw this.#firstFailure;
    return this.partCount;
  }

  /** Waits for the parts in flight and completes the upload; the object then exists. */
  async complete(): Promise<void> {
    const { target, objectKey, signal } = this.#options;
    await Promise.all(this.#inFlight);
    if (this.#firstFailure !== undefined) throw this.#firstFailure;
    const { client, module } = await target.connect();
    this.#parts.sort((left, right) => left.PartNumber - right.PartNumber);
    await client.send(
      new module.CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: objectKey,
        UploadId: this.#uploadId,
        MultipartUpload: { Parts: this.#parts },
      }),
      sendOptions(signal),
    );
    this.#uploadId = undefined;
  }

  /** After a failure: lets the parts in flight settle and aborts the upload (no-op when none is open). Never throws. */
  async abort(): Promise<void> {
    const uploadId = this.#uploadId;
    if (uploadId === undefined) return;
    const { target, objectKey } = this.#options;
    await Promise.allSettled(this.#inFlight);
    try {
      const { client, module } = await target.connect();
      await client.send(
        new module.AbortMultipartUploadCommand({ Bucket: target.bucket, Key: objectKey, UploadId: uploadId }),
      );
    } catch (error) {
      // Not fatal for the caller (the object was never completed), but the parts cost money until a lifecycle rule runs.
      target.logger.warn(
        { bucket: target.bucket, key: objectKey, error: (error as Error).message },
        's3 storage: AbortMultipartUpload failed; add a lifecycle rule for incomplete uploads',
      );
    }
  }

  async #create(): Promise<string> {
    const { target, key, objectKey, checksums, signal } = this.#options;
    const { client, module } = await target.connect();
    const created = await client.send(
      new module.CreateMultipartUploadCommand({
        Bucket: target.bucket,
        Key: objectKey,
        ...(checksums ? { ChecksumAlgorithm: 'SHA256' } : {}),
      }),
      sendOptions(signal),
    );
    if (created.UploadId === undefined)
      throw new BackupError(
        'STORAGE_FAILED',
        `s3 storage: CreateMultipartUpload for ${target.where(key)} returned no UploadId`,
      );
    return created.UploadId;
  }

  async #uploadPart(partNumber: number, data: Buffer): Promise<void> {
    const { target, key, objectKey, checksums, signal } = this.#options;
    const { client, module } = await target.connect();
    const checksum = checksums ? base64Sha256(data) : undefined;
    const response = await client.send(
      new module.UploadPartCommand({
        Bucket: target.bucket,
        Key: objectKey,
        UploadId: this.#uploadId,
        PartNumber: partNumber,
        Body: data,
        ContentLength: data.length,
        ...(checksum ? { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum } : {}),
      }),
      sendOptions(signal),
    );
    if (response.ETag === undefined)
      throw new BackupError(
        'STORAGE_FAILED',
        `s3 storage: part ${partNumber} of ${target.where(key)} returned no ETag`,
        { isRetryable: true },
      );
    this.#parts.push({
      PartNumber: partNumber,
      ETag: response.ETag,
      ...(checksum ? { ChecksumSHA256: checksum } : {}),
    });
  }
}
