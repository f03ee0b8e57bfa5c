import { once } from 'node:events';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Storage } from './s3-storage.js';
import { BUCKET, expectOpsError, useS3rver } from './s3-test-server.js';

const s3rver = useS3rver();

describe('S3 storage errors over real HTTP', () => {
  it('marks throttling and 5xx answers retryable and access errors not (real HTTP server on loopback)', async () => {
    let status = 503;
    const server = createServer((request, response) => {
      request.resume();
      const code = status === 503 ? 'SlowDown' : 'AccessDenied';
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} from the test server</Message></Error>`,
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as { port: number }).port;
      const client = new S3Client({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        maxAttempts: 1,
      });
      const s3 = s3rver.storage({ client });
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
    const missingBucket = s3rver.storage({ bucket: 'no-such-bucket-here' });
    const notFound = await expectOpsError(
      missingBucket.write('x', Readable.from([Buffer.from('x')])),
      'STORAGE_FAILED',
    );
    expect(notFound.message).toMatch(/NoSuchBucket/);
    expect(notFound.isRetryable).toBe(false);

    const closedPort = createS3Storage({
      bucket: BUCKET,
      endpoint: 'http://user:hunter2@127.0.0.1:9/',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    s3rver.track(closedPort);
    expect(closedPort.location).toBe(`s3://${BUCKET} at http://127.0.0.1:9`);
    const refused = await expectOpsError(closedPort.stat('x'), 'STORAGE_FAILED');
    expect(refused.isRetryable).toBe(true);
    expect(refused.message).not.toContain('hunter2');
  });
});
