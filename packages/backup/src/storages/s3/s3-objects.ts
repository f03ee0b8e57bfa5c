import type { Readable } from 'node:stream';
import type { StorageReadOptions, StoredObject } from '../storage.js';
import { assertReadRange } from '../read-range.js';
import { assertStoragePrefix } from '../storage-key.js';
import { sendOptions, type S3Bucket } from './s3-client.js';
import { isAbort, isNotFound, storageError } from './s3-errors.js';
import { BackupError } from '../../errors.js';

/** A stream of the object at `key` (or a byte range of it); `BACKUP_NOT_FOUND` when there is none. */
export async function readObject(
  target: S3Bucket,
  key: string,
  readOptions: StorageReadOptions = {},
): Promise<Readable> {
  const objectKey = target.objectKey(key);
  const { start, end, signal } = readOptions;
  assertReadRange(readOptions, 's3 storage');
  const range = start !== undefined || end !== undefined ? `bytes=${start ?? 0}-${end ?? ''}` : undefined;
  try {
    const { client, module } = await target.connect();
    const response = await client.send(
      new module.GetObjectCommand({ Bucket: target.bucket, Key: objectKey, ...(range ? { Range: range } : {}) }),
      sendOptions(signal),
    );
    if (response.Body === undefined)
      throw new BackupError('STORAGE_FAILED', `s3 storage: ${target.where(key)} returned no body`, {
        isRetryable: true,
      });
    return response.Body as Readable;
  } catch (error) {
    if (isNotFound(error))
      throw new BackupError('BACKUP_NOT_FOUND', `s3 storage: ${target.where(key)} does not exist`, { cause: error });
    if (isAbort(error))
      throw new BackupError('ABORTED', `s3 storage: read of ${target.where(key)} was aborted`, { cause: error });
    throw storageError('read', target.where(key), error);
  }
}

/** Size and modification time of the object at `key`, or `undefined` when there is none. */
export async function statObject(target: S3Bucket, key: string): Promise<StoredObject | undefined> {
  const objectKey = target.objectKey(key);
  try {
    const { client, module } = await target.connect();
    const response = await client.send(new module.HeadObjectCommand({ Bucket: target.bucket, Key: objectKey }));
    return { key, bytes: response.ContentLength ?? 0, modifiedAt: response.LastModified ?? new Date(0) };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw storageError('stat', target.where(key), error);
  }
}

/** Every object under `listPrefix` (recursively), page by page, with keys relative to the storage prefix. */
export async function* listObjects(
  target: S3Bucket,
  listPrefix: string,
  pageSize: number,
): AsyncIterable<StoredObject> {
  assertStoragePrefix(listPrefix);
  const { prefix } = target;
  const full = prefix === '' ? listPrefix : `${prefix}/${listPrefix}`;
  const strip = prefix === '' ? 0 : prefix.length + 1;
  let continuationToken: string | undefined;
  do {
    let response;
    try {
      const { client, module } = await target.connect();
      response = await client.send(
        new module.ListObjectsV2Command({
          Bucket: target.bucket,
          Prefix: full,
          MaxKeys: pageSize,
          ...(continuationToken ? { ContinuationToken: continuationToken } : {}),
        }),
      );
    } catch (error) {
      throw storageError('list', `${JSON.stringify(listPrefix)} in ${target.location}`, error);
    }
    for (const object of response.Contents ?? []) {
      if (object.Key === undefined || !object.Key.startsWith(full)) continue;
      yield { key: object.Key.slice(strip), bytes: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
    }
    continuationToken = response.IsTruncated === true ? response.NextContinuationToken : undefined;
  } while (continuationToken !== undefined);
}

/** Deletes the object at `key`; a missing object is not an error. */
export async function deleteObject(target: S3Bucket, key: string): Promise<void> {
  const objectKey = target.objectKey(key);
  try {
    const { client, module } = await target.connect();
    await client.send(new module.DeleteObjectCommand({ Bucket: target.bucket, Key: objectKey }));
  } catch (error) {
    if (isNotFound(error)) return;
    throw storageError('delete', target.where(key), error);
  }
}
