import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { Logger } from '@ops/core';
import { BackupError } from '../../errors.js';
import type { S3ClientLike } from './s3-storage.js';

/** The `@aws-sdk/client-s3` module, loaded on first use. */
export type S3Module = typeof import('@aws-sdk/client-s3');

/** A client and the module its commands come from. */
export interface S3Connection {
  client: S3Client;
  module: S3Module;
}

/** One bucket and key prefix reached through a lazily created client: what every storage operation works on. */
export interface S3Bucket {
  readonly bucket: string;
  /** Normalised prefix without trailing slash (`''` for the bucket root). */
  readonly prefix: string;
  /** `s3://bucket/prefix` and the endpoint's origin, for messages. */
  readonly location: string;
  readonly logger: Logger;
  /** The client, created (and the SDK loaded) on the first call. */
  connect(): Promise<S3Connection>;
  /** The object key of a storage key (checked to be safe), with the prefix. */
  objectKey(key: string): string;
  /** `"key" in s3://bucket/prefix`, for messages. */
  where(key: string): string;
}

/** How to create the client when the user did not pass one. */
export interface S3ClientOptions {
  client?: S3ClientLike | undefined;
  region: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

let s3ModulePromise: Promise<S3Module> | undefined;
function loadS3(): Promise<S3Module> {
  // Loaded lazily: @aws-sdk/client-s3 is an optional peer dependency, needed only by users of S3 storage.
  s3ModulePromise ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    s3ModulePromise = undefined;
    throw new BackupError(
      'STORAGE_FAILED',
      'S3 storage needs the optional peer dependency @aws-sdk/client-s3: npm install @aws-sdk/client-s3',
      { cause: error },
    );
  });
  return s3ModulePromise;
}

/**
 * Connects on first use: the user's client, or one built from the options. `close` destroys only a client created
 * here (a client the user passed in stays open).
 */
export function createS3Connector(options: S3ClientOptions): {
  connect(): Promise<S3Connection>;
  close(): Promise<void>;
} {
  const { client: userClient, region, endpoint, forcePathStyle, credentials } = options;
  let clientPromise: Promise<S3Connection> | undefined;
  function connect(): Promise<S3Connection> {
    clientPromise ??= loadS3().then((module) => {
      // The user's S3Client, typed structurally in the options (see S3ClientLike).
      if (userClient) return { client: userClient as S3Client, module };
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
  async function close(): Promise<void> {
    if (userClient !== undefined || clientPromise === undefined) return;
    const { client } = await clientPromise;
    client.destroy();
    clientPromise = undefined;
  }
  return { connect, close };
}

/** The SDK's per-request options for an optional abort signal. */
export function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}
