import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Storage } from './s3-storage.js';
import { BUCKET, expectOpsError, useS3rver, type SentRequest } from './s3-test-server.js';

const s3rver = useS3rver();

describe('S3 storage against s3rver over real HTTP', () => {
  it('writes a small object in one request with a SHA-256 checksum and sha256 metadata, and reads it back', async () => {
    const sent: SentRequest[] = [];
    const client = s3rver.client(sent);
    const s3 = s3rver.storage({ client, prefix: '/team/prod/' });
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
    const s3 = s3rver.storage();
    await expect(s3.write('empty.bin', Readable.from([]))).resolves.toEqual({ bytes: 0 });
    expect((await readAll(await s3.read('empty.bin'))).length).toBe(0);
  });

  it('reads byte ranges', async () => {
    const s3 = s3rver.storage({ prefix: 'ranges' });
    const body = randomBytes(100_000);
    await s3.write('r.bin', Readable.from([body]));
    expect((await readAll(await s3.read('r.bin', { start: 10, end: 19 }))).equals(body.subarray(10, 20))).toBe(true);
    expect((await readAll(await s3.read('r.bin', { start: 99_990 }))).equals(body.subarray(99_990))).toBe(true);
    expect((await readAll(await s3.read('r.bin', { end: 4 }))).equals(body.subarray(0, 5))).toBe(true);
    await expectOpsError(s3.read('r.bin', { start: 5, end: 2 }), 'ARGUMENT_INVALID');
  });

  it('lists recursively with pagination, relative to the prefix', async () => {
    const sent: SentRequest[] = [];
    const client = s3rver.client(sent);
    const s3 = s3rver.storage({ client, prefix: 'listing', listPageSize: 2 });
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
    const s3 = s3rver.storage();
    await s3.write('gone.txt', Readable.from([Buffer.from('x')]));
    await s3.delete('gone.txt');
    expect(await s3.stat('gone.txt')).toBeUndefined();
    await expect(s3.delete('gone.txt')).resolves.toBeUndefined();
    await expect(s3.delete('never-existed.txt')).resolves.toBeUndefined();
  });

  it('a missing key is BACKUP_NOT_FOUND on read and undefined on stat', async () => {
    const s3 = s3rver.storage();
    const error = await expectOpsError(s3.read('nope/manifest.json'), 'BACKUP_NOT_FOUND');
    expect(error.message).toContain(`"nope/manifest.json" in s3://${BUCKET}`);
    expect(await s3.stat('nope/manifest.json')).toBeUndefined();
  });

  it('refuses unsafe keys and bad options', async () => {
    const s3 = s3rver.storage();
    await expectOpsError(s3.write('../escape', Readable.from([Buffer.from('x')])), 'ARGUMENT_INVALID');
    await expectOpsError(s3.read('/absolute'), 'ARGUMENT_INVALID');
    expect(() => createS3Storage({ bucket: 'Bad_Bucket' })).toThrow(/not a valid bucket name/);
    expect(() => createS3Storage({ bucket: BUCKET, partSizeBytes: 1024 })).toThrow(/partSizeBytes must be an integer >= 5242880/);
  });

  it('checksums: false sends no checksum header but still stores the sha256 metadata', async () => {
    const sent: SentRequest[] = [];
    const client = s3rver.client(sent);
    const s3 = s3rver.storage({ client, checksums: false });
    const body = randomBytes(1000);
    await s3.write('plain/no-checksum.bin', Readable.from([body]));
    const put = sent.find((request) => request.command === 'PutObjectCommand');
    expect(Object.keys(put?.headers ?? {}).filter((name) => name.startsWith('x-amz-checksum'))).toEqual([]);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'plain/no-checksum.bin' }));
    expect(head.Metadata?.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    client.destroy();
  });

});
