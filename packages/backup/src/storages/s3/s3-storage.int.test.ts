import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Storage } from './s3-storage.js';
import { BUCKET, expectOpsError, useS3rver, type SentRequest } from './s3-test-server.js';

const s3rver = useS3rver();

// What every storage does (round trips, ranges, empty objects, delete, missing keys, overwrite, atomic visibility,
// key checks) is the storage contract, run against s3rver in s3-storage-contract.int.test.ts; these are S3's own.
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

  it('lists page by page (ListObjectsV2 continuation), relative to the prefix', async () => {
    const sent: SentRequest[] = [];
    const client = s3rver.client(sent);
    const s3 = s3rver.storage({ client, prefix: 'listing', listPageSize: 2 });
    const keys = [
      'job-a/1/manifest.json',
      'job-a/1/data/dump',
      'job-a/2/manifest.json',
      'job-a/3/manifest.json',
      'job-a/3/data/dump',
      'job-b/1/manifest.json',
    ];
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

  it('errors name the key and the bucket; bad options are refused at creation', async () => {
    const s3 = s3rver.storage();
    const error = await expectOpsError(s3.read('nope/manifest.json'), 'BACKUP_NOT_FOUND');
    expect(error.message).toContain(`"nope/manifest.json" in s3://${BUCKET}`);
    expect(() => createS3Storage({ bucket: 'Bad_Bucket' })).toThrow(/not a valid bucket name/);
    expect(() => createS3Storage({ bucket: BUCKET, partSizeBytes: 1024 })).toThrow(
      /partSizeBytes must be an integer >= 5242880/,
    );
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
