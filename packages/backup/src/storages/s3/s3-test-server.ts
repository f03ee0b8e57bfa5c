import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { OpsError } from '@ops/core';
import { afterAll, beforeAll, expect } from 'vitest';
import { createS3Storage, type S3Storage, type S3StorageOptions } from './s3-storage.js';

// Test helpers for the S3 storage tests: an s3rver child process, clients that record what they send, bodies.

const s3rverEntry = createRequire(import.meta.url).resolve('s3rver');

/** The bucket s3rver is started with. */
export const BUCKET = 'ops-backups';
export const MIB = 1024 * 1024;

/**
 * Runs s3rver in a child process on 127.0.0.1. Deviation tolerated: s3rver encrypts ListObjectsV2 continuation tokens
 * with DES, which OpenSSL 3 (Node 20) only offers through its legacy provider, so the child runs with
 * `--openssl-legacy-provider`; without it every truncated list page is an HTTP 500.
 */
async function startS3rver(root: string): Promise<{ child: ChildProcess; port: number }> {
  const script = `
    const S3rver = require(${JSON.stringify(s3rverEntry)});
    new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: ${JSON.stringify(root)}, configureBuckets: [{ name: ${JSON.stringify(BUCKET)} }] })
      .run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'), (error) => { console.error(error); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [line] = (await Promise.race([
    once(child.stdout as Readable, 'data'),
    once(child, 'exit').then(() => {
      throw new Error(`s3rver did not start (install devDependencies: pnpm install): ${stderr}`);
    }),
  ])) as [Buffer];
  return { child, port: (JSON.parse(line.toString()) as { port: number }).port };
}

/** Requests the SDK actually sent, observed (not altered) through the client's middleware stack. */
export interface SentRequest {
  command: string;
  headers: Record<string, string>;
  bodyBytes: number;
  status?: number | undefined;
}

/** An s3rver for one test file, and storages and clients pointed at it. */
export interface S3rverFixture {
  /** `http://127.0.0.1:<port>` of the server. */
  endpoint(): string;
  /** A client of the server that records every request it sends in `sent`. */
  client(sent?: SentRequest[], maxAttempts?: number): S3Client;
  /** A storage on the bucket (closed after the file's tests). */
  storage(options?: Partial<S3StorageOptions>): S3Storage;
  /** Closes `storage` after the file's tests. */
  track(storage: S3Storage): S3Storage;
}

/** Starts s3rver before the test file's tests and stops it (and closes the storages made) after them. */
export function useS3rver(): S3rverFixture {
  let server: ChildProcess | undefined;
  let directory: string;
  let endpoint: string;
  const storages: S3Storage[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'ops-s3rver-'));
    const started = await startS3rver(directory);
    server = started.child;
    endpoint = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    for (const created of storages) await created.close();
    if (server?.pid !== undefined && server.exitCode === null) {
      const exited = once(server, 'exit');
      process.kill(server.pid, 'SIGTERM');
      await exited;
    }
    await rm(directory, { recursive: true, force: true });
  });

  function client(sent?: SentRequest[], maxAttempts?: number): S3Client {
    const s3Client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      ...(maxAttempts ? { maxAttempts } : {}),
    });
    if (sent) {
      s3Client.middlewareStack.add(
        (next, context) => async (args) => {
          const request = args.request as { headers: Record<string, string>; body?: unknown };
          const body = request.body;
          const entry: SentRequest = {
            command: context.commandName ?? '?',
            headers: { ...request.headers },
            bodyBytes: Buffer.isBuffer(body) || body instanceof Uint8Array ? body.length : 0,
          };
          sent.push(entry);
          try {
            const result = await next(args);
            entry.status = (result.response as { statusCode?: number }).statusCode;
            return result;
          } catch (error) {
            // Error responses are thrown by the deserializer, which runs inside this step.
            entry.status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
            throw error;
          }
        },
        { step: 'finalizeRequest', name: 'observeRequests' },
      );
    }
    return s3Client;
  }

  function track(storage: S3Storage): S3Storage {
    storages.push(storage);
    return storage;
  }

  function storage(options: Partial<S3StorageOptions> = {}): S3Storage {
    return track(
      createS3Storage({
        bucket: BUCKET,
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        ...options,
      }),
    );
  }

  return { endpoint: () => endpoint, client, storage, track };
}

/** Awaits `promise` and expects it to reject with an `OpsError` of `code`, which it returns. */
export async function expectOpsError(promise: Promise<unknown>, code: string): Promise<OpsError> {
  try {
    await promise;
  } catch (error) {
    expect(OpsError.isInstance(error), String(error)).toBe(true);
    expect((error as OpsError).code, (error as Error).message).toBe(code);
    return error as OpsError;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** A body of `total` pseudo-random bytes produced lazily in 64 KiB chunks, with hooks to observe production. */
export function lazyBody(
  total: number,
  onChunk?: (produced: number) => void,
  failAfter?: number,
): { stream: Readable; data: () => Buffer } {
  const seed = randomBytes(64 * 1024);
  let produced = 0;
  const chunks: Buffer[] = [];
  const stream = new Readable({
    read() {
      if (failAfter !== undefined && produced >= failAfter) {
        this.destroy(new Error('source failed mid-stream'));
        return;
      }
      if (produced >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(seed.length, total - produced);
      const chunk = Buffer.from(seed.subarray(0, size));
      chunk.writeUInt32BE(produced >>> 0, 0);
      produced += size;
      chunks.push(chunk);
      onChunk?.(produced);
      this.push(chunk);
    },
  });
  return { stream, data: () => Buffer.concat(chunks) };
}
