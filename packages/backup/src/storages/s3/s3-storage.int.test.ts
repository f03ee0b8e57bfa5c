import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { OpsError } from '@ops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Storage, type S3Storage, type S3StorageOptions } from './s3-storage.js';

const s3rverEntry = createRequire(import.meta.url).resolve('s3rver');

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
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
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

const MIB = 1024 * 1024;
const BUCKET = 'ops-backups';
let server: ChildProcess | undefined;
let directory: string;
let endpoint: string;
const storages: S3Storage[] = [];

/** Requests the SDK actually sent, observed (not altered) through the client's middleware stack. */
interface SentRequest {
  command: string;
  headers: Record<string, string>;
  bodyBytes: number;
  status?: number | undefined;
}

function makeClient(sent?: SentRequest[], maxAttempts?: number): S3Client {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...(maxAttempts ? { maxAttempts } : {}),
  });
  if (sent) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers: Record<string, string>; body?: unknown };
        const body = request.body;
        const entry: SentRequest = { command: context.commandName ?? '?', headers: { ...request.headers }, bodyBytes: Buffer.isBuffer(body) || body instanceof Uint8Array ? body.length : 0 };
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
  return client;
}

function storage(options: Partial<S3StorageOptions> = {}): S3Storage {
  const created = createS3Storage({ bucket: BUCKET, endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, ...options });
  storages.push(created);
  return created;
}

async function expectOpsError(promise: Promise<unknown>, code: string): Promise<OpsError> {
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
function lazyBody(total: number, onChunk?: (produced: number) => void, failAfter?: number): { stream: Readable; data: () => Buffer } {
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

describe('S3 storage against s3rver over real HTTP', () => {
  it('writes a small object in one request with a SHA-256 checksum and sha256 metadata, and reads it back', async () => {
    const sent: SentRequest[] = [];
    const client = makeClient(sent);
    const s3 = storage({ client, prefix: '/team/prod/' });
    expect(s3.location).toBe(`s3://${BUCKET}/team/prod`);
    const body = Buffer.from('hello backups');
    await expect(s3.write('job/one.txt', Readable.from([body]))).resolves.toEqual({ bytes: body.length });
    expect((await readAll(await s3.read('job/one.txt'))).toString()).toBe('hello backups');
    const facts = await s3.stat('job/one.txt');
    expect(facts?.bytes).toBe(body.length);
    expect(facts?.key).toBe('job/one.txt');
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'team/prod/job/one.txt' }));
    expect(head.Metadata?.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const put = sent.find((request) => request.command === 'PutObjectCommand');
    expect(put?.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(body).digest('base64'));
    expect(sent.some((request) => request.command === 'CreateMultipartUploadCommand')).toBe(false);
    client.destroy();
  });

  it('stores an empty object', async () => {
    const s3 = storage();
    await expect(s3.write('empty.bin', Readable.from([]))).resolves.toEqual({ bytes: 0 });
    expect((await readAll(await s3.read('empty.bin'))).length).toBe(0);
  });

  it('streams a multipart upload (3 parts), with checksummed parts, bounded buffering and sha256 metadata', async () => {
    const sent: SentRequest[] = [];
    const client = makeClient(sent);
    const s3 = storage({ client, partSizeBytes: 5 * MIB, queueSize: 2 });
    const total = 13 * MIB + 123;
    let maxAhead = 0;
    const acknowledged = (): number => sent.filter((request) => request.command === 'UploadPartCommand' && request.status === 200).reduce((sum, request) => sum + request.bodyBytes, 0);
    const { stream, data } = lazyBody(total, (produced) => {
      maxAhead = Math.max(maxAhead, produced - acknowledged());
    });
    await expect(s3.write('big/dump.bin', stream)).resolves.toEqual({ bytes: total });
    const parts = sent.filter((request) => request.command === 'UploadPartCommand');
    expect(parts.map((request) => request.bodyBytes)).toEqual([5 * MIB, 5 * MIB, 3 * MIB + 123]);
    for (const [index, part] of parts.entries()) {
      const slice = data().subarray(index * 5 * MIB, index * 5 * MIB + part.bodyBytes);
      expect(part.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(slice).digest('base64'));
    }
    expect(sent.filter((request) => request.command === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    // Never more than (queueSize + 1) parts plus one read chunk held in memory ahead of the server.
    expect(maxAhead).toBeLessThanOrEqual(3 * 5 * MIB + 64 * 1024);
    const stored = await readAll(await s3.read('big/dump.bin'));
    expect(stored.equals(data())).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/dump.bin' }));
    expect(head.Metadata?.sha256).toBe(createHash('sha256').update(data()).digest('hex'));
    client.destroy();
  });

  it('an abort mid-upload leaves no object and sends AbortMultipartUpload for the started upload', async () => {
    const sent: SentRequest[] = [];
    const client = makeClient(sent);
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (object: unknown, message?: string) => warnings.push(`${message ?? ''} ${JSON.stringify(object)}`) };
    const s3 = storage({ client, partSizeBytes: 5 * MIB, queueSize: 1, logger });
    const controller = new AbortController();
    const { stream } = lazyBody(40 * MIB, (produced) => {
      if (produced >= 12 * MIB) controller.abort();
    });
    const error = await expectOpsError(s3.write('aborted/dump.bin', stream, { signal: controller.signal }), 'ABORTED');
    expect(error.message).toMatch(/aborted/);
    expect(stream.destroyed).toBe(true);
    expect(await s3.stat('aborted/dump.bin')).toBeUndefined();
    await expectOpsError(s3.read('aborted/dump.bin'), 'BACKUP_NOT_FOUND');
    const created = sent.filter((request) => request.command === 'CreateMultipartUploadCommand');
    const aborts = sent.filter((request) => request.command === 'AbortMultipartUploadCommand');
    expect(created).toHaveLength(1);
    expect(sent.filter((request) => request.command === 'UploadPartCommand').length).toBeGreaterThanOrEqual(2);
    expect(aborts).toHaveLength(1);
    expect(sent.some((request) => request.command === 'CompleteMultipartUploadCommand')).toBe(false);
    // s3rver 3.7.1 does not implement AbortMultipartUpload (405); real S3 answers 204. Either way it was asked, and a
    // failed abort is reported as a warning (a bucket lifecycle rule must then expire the parts).
    expect([204, 405]).toContain(aborts[0]?.status);
    if (aborts[0]?.status !== 204) expect(warnings.some((message) => message.includes('AbortMultipartUpload failed'))).toBe(true);
    client.destroy();
  });

  it('a source failing mid-upload is STORAGE_FAILED and leaves no object', async () => {
    const s3 = storage({ partSizeBytes: 5 * MIB });
    const { stream } = lazyBody(40 * MIB, undefined, 11 * MIB);
    const error = await expectOpsError(s3.write('failed/dump.bin', stream), 'STORAGE_FAILED');
    expect(error.message).toMatch(/source failed mid-stream/);
    expect(await s3.stat('failed/dump.bin')).toBeUndefined();
  });

  it('reads byte ranges', async () => {
    const s3 = storage({ prefix: 'ranges' });
    const body = randomBytes(100_000);
    await s3.write('r.bin', Readable.from([body]));
    expect((await readAll(await s3.read('r.bin', { start: 10, end: 19 }))).equals(body.subarray(10, 20))).toBe(true);
    expect((await readAll(await s3.read('r.bin', { start: 99_990 }))).equals(body.subarray(99_990))).toBe(true);
    expect((await readAll(await s3.read('r.bin', { end: 4 }))).equals(body.subarray(0, 5))).toBe(true);
    await expectOpsError(s3.read('r.bin', { start: 5, end: 2 }), 'ARGUMENT_INVALID');
  });

  it('lists recursively with pagination, relative to the prefix', async () => {
    const sent: SentRequest[] = [];
    const client = makeClient(sent);
    const s3 = storage({ client, prefix: 'listing', listPageSize: 2 });
    const keys = ['job-a/1/manifest.json', 'job-a/1/data/dump', 'job-a/2/manifest.json', 'job-a/3/manifest.json', 'job-a/3/data/dump', 'job-b/1/manifest.json'];
    for (const key of keys) await s3.write(key, Readable.from([Buffer.from(key)]));
    const listed: string[] = [];
    for await (const object of s3.list('job-a/')) {
      listed.push(object.key);
      expect(object.bytes).toBe(Buffer.byteLength(object.key));
      expect(object.modifiedAt).toBeInstanceOf(Date);
    }
    expect(listed.sort()).toEqual(keys.filter((key) => key.startsWith('job-a/')).sort());
    expect(sent.filter((request) => request.command === 'ListObjectsV2Command')).toHaveLength(3);
    const everything: string[] = [];
    for await (const object of s3.list('')) everything.push(object.key);
    expect(everything.sort()).toEqual([...keys].sort());
    client.destroy();
  });

  it('deletes, and deleting a missing key is not an error', async () => {
    const s3 = storage();
    await s3.write('gone.txt', Readable.from([Buffer.from('x')]));
    await s3.delete('gone.txt');
    expect(await s3.stat('gone.txt')).toBeUndefined();
    await expect(s3.delete('gone.txt')).resolves.toBeUndefined();
    await expect(s3.delete('never-existed.txt')).resolves.toBeUndefined();
  });

  it('a missing key is BACKUP_NOT_FOUND on read and undefined on stat', async () => {
    const s3 = storage();
    const error = await expectOpsError(s3.read('nope/manifest.json'), 'BACKUP_NOT_FOUND');
    expect(error.message).toContain(`"nope/manifest.json" in s3://${BUCKET}`);
    expect(await s3.stat('nope/manifest.json')).toBeUndefined();
  });

  it('refuses unsafe keys and bad options', async () => {
    const s3 = storage();
    await expectOpsError(s3.write('../escape', Readable.from([Buffer.from('x')])), 'ARGUMENT_INVALID');
    await expectOpsError(s3.read('/absolute'), 'ARGUMENT_INVALID');
    expect(() => createS3Storage({ bucket: 'Bad_Bucket' })).toThrow(/not a valid bucket name/);
    expect(() => createS3Storage({ bucket: BUCKET, partSizeBytes: 1024 })).toThrow(/partSizeBytes must be an integer >= 5242880/);
  });

  it('checksums: false sends no checksum header but still stores the sha256 metadata', async () => {
    const sent: SentRequest[] = [];
    const client = makeClient(sent);
    const s3 = storage({ client, checksums: false });
    const body = randomBytes(1000);
    await s3.write('plain/no-checksum.bin', Readable.from([body]));
    const put = sent.find((request) => request.command === 'PutObjectCommand');
    expect(Object.keys(put?.headers ?? {}).filter((name) => name.startsWith('x-amz-checksum'))).toEqual([]);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'plain/no-checksum.bin' }));
    expect(head.Metadata?.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    client.destroy();
  });

  it('marks throttling and 5xx answers retryable and access errors not (real HTTP server on loopback)', async () => {
    let status = 503;
    const server = createServer((request, response) => {
      request.resume();
      const code = status === 503 ? 'SlowDown' : 'AccessDenied';
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} from the test server</Message></Error>`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as { port: number }).port;
      const client = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
      const s3 = storage({ client });
      const throttled = await expectOpsError(s3.write('x.bin', Readable.from([Buffer.from('x')])), 'STORAGE_FAILED');
      expect(throttled.isRetryable).toBe(true);
      expect(throttled.message).toMatch(/SlowDown.*HTTP 503/);
      status = 403;
      const denied = await expectOpsError(s3.read('x.bin'), 'STORAGE_FAILED');
      expect(denied.isRetryable).toBe(false);
      expect(denied.message).toMatch(/AccessDenied.*HTTP 403/);
      client.destroy();
    } finally {
      server.close();
    }
  });

  it('maps server and connection errors to STORAGE_FAILED with isRetryable, without secrets in location', async () => {
    const missingBucket = storage({ bucket: 'no-such-bucket-here' });
    const notFound = await expectOpsError(missingBucket.write('x', Readable.from([Buffer.from('x')])), 'STORAGE_FAILED');
    expect(notFound.message).toMatch(/NoSuchBucket/);
    expect(notFound.isRetryable).toBe(false);

    const closedPort = createS3Storage({ bucket: BUCKET, endpoint: 'http://user:hunter2@127.0.0.1:9/', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    storages.push(closedPort);
    expect(closedPort.location).toBe(`s3://${BUCKET} at http://127.0.0.1:9`);
    const refused = await expectOpsError(closedPort.stat('x'), 'STORAGE_FAILED');
    expect(refused.isRetryable).toBe(true);
    expect(refused.message).not.toContain('hunter2');
  });
});
