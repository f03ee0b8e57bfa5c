import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { findPeerImportsInDeclarations } from '@ops/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  createBackupMetrics,
  createRedisSource,
  createS3Storage,
  type RedisClientLike,
  type S3ClientLike,
} from './index.js';

describe('published declarations', () => {
  it('import no optional peer dependency', () => {
    const { files, offending } = findPeerImportsInDeclarations(fileURLToPath(new URL('..', import.meta.url)));
    expect(files.length, 'build @ops/backup first: pnpm --filter @ops/backup build').toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });

  // Compile-time as much as run-time: the structural types must keep accepting the peers' own classes.
  it("take the peers' own classes as they are: ioredis Redis, S3Client, prom-client Registry", () => {
    const redis = new Redis({ lazyConnect: true });
    const client = new S3Client({ region: 'us-east-1' });
    try {
      const redisLike: RedisClientLike = redis;
      const s3Like: S3ClientLike = client;
      expect(createRedisSource({ redis: redisLike }).kind).toBe('redis');
      expect(createS3Storage({ bucket: 'backups', client: s3Like }).location).toBe('s3://backups');
      const metrics = createBackupMetrics({ registry: new Registry() });
      metrics.remove();
    } finally {
      redis.disconnect();
      client.destroy();
    }
  });
});
