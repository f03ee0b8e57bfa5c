import { OpsError, redactText } from '@ops/core';
import { BackupError } from '../../errors.js';

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'ThrottlingException',
  'RequestLimitExceeded',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** What the AWS SDK's service and network errors carry. */
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

/** The key (or, for a 404 other than a missing bucket, the object) does not exist. */
export function isNotFound(error: unknown): boolean {
  const name = (error as SdkErrorShape | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}

/** The request was cancelled through its abort signal. */
export function isAbort(error: unknown): boolean {
  const name = (error as SdkErrorShape | undefined)?.name;
  return name === 'AbortError';
}

/** Maps an SDK or network error to `STORAGE_FAILED`, marking throttling, 5xx and connection failures retryable. */
export function storageError(action: string, where: string, error: unknown): OpsError {
  if (OpsError.isInstance(error)) return error;
  const shape = (error ?? {}) as SdkErrorShape;
  const status = httpStatus(error);
  const retryable =
    shape.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    (shape.name !== undefined && RETRYABLE_NAMES.has(shape.name)) ||
    (shape.code !== undefined && RETRYABLE_CODES.has(shape.code));
  const detail = `${shape.name && shape.name !== 'Error' ? `${shape.name}: ` : ''}${shape.message ?? String(error)}${status ? ` (HTTP ${status})` : ''}`;
  return new BackupError('STORAGE_FAILED', `s3 storage: cannot ${action} ${where}: ${redactText(detail)}`, {
    cause: error,
    isRetryable: retryable,
  });
}
