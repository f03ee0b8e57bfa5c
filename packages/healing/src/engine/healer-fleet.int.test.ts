import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRecordingLogger } from '@ops/core/testing';
import { createRedisNamespace, startThrowawayRedis, type RedisNamespace } from '@ops/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyRailState, railKey } from '../stores/healing-state-store.js';
import { createRedisHealingStore } from '../stores/redis/redis-healing-store.js';
import { createHealer } from './healer.js';

const worker = fileURLToPath(new URL('./healer-worker.fixture.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('../..', import.meta.url));

let namespace: RedisNamespace;
let redis: Redis;
const started: ChildProcess[] = [];
beforeAll(async () => {
  namespace = await createRedisNamespace();
  redis = namespace.client();
});
afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.pid) child.kill('SIGKILL');
  await namespace?.dispose();
});

interface WorkerEvent {
  name: string;
  [field: string]: unknown;
}

function startWorker(prefix: string, scenario: string, instanceId: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, namespace.url, prefix, scenario, instanceId], {
    cwd: packageDir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  started.push(child);
  const events: WorkerEvent[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as WorkerEvent);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    events,
    stderr: () => stderr,
    async stop() {
      child.stdin!.end();
      const code = await exited;
      if (code !== 0) throw new Error(`worker ${instanceId} exited with ${code}: ${stderr}`);
    },
  };
}

async function waitFor(what: string, predicate: () => Promise<boolean> | boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; Date.now() < deadline; round++) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const targets = (count: number) => Array.from({ length: count }, (_, index) => `t${index + 1}`);

describe('healers on one Redis (child processes)', { timeout: 240_000 }, () => {
  it('three healers, 10 targets failing at once, budget 2: never more than 2 actions in flight, each target healed once', async () => {
    const prefix = `${namespace.keyPrefix}${randomUUID()}:`;
    await redis.sadd(`${prefix}t:unhealthy`, ...targets(10));
    const workers = ['a', 'b', 'c'].map((id) => startWorker(prefix, 'budget', id));
    await waitFor('every target healed', async () => (await redis.llen(`${prefix}t:healed`)) === 10, 120_000);
    await Promise.all(workers.map((entry) => entry.stop()));
    expect(Number(await redis.get(`${prefix}t:max-running`))).toBeLessThanOrEqual(2);
    expect(Number(await redis.get(`${prefix}t:max-running`))).toBeGreaterThanOrEqual(1);
    const healed = (await redis.lrange(`${prefix}t:healed`, 0, -1)).map((entry) => entry.split('|')[0]);
    expect(healed.sort()).toEqual(targets(10).sort());
    expect(await redis.llen(`${prefix}t:started`)).toBe(10);
    const skipped = workers.flatMap((entry) => entry.events).filter((event) => event.name === 'action.skipped');
    expect(skipped.map((event) => event['reason'])).toContain('budget-exhausted');
    expect(Number(await redis.xlen(`${prefix}audit`))).toBeGreaterThan(0);
  });

  it('a healer killed mid-action: the lock expires, another takes over, the stale fencing token is refused', async () => {
    const prefix = `${namespace.keyPrefix}${randomUUID()}:`;
    await redis.sadd(`${prefix}t:unhealthy`, 't1');
    const victim = startWorker(prefix, 'kill', 'victim', { HEAL_TARGETS: '1' });
    await waitFor('the victim started its action', async () => (await redis.llen(`${prefix}t:started`)) === 1);
    const victimToken = Number((await redis.lindex(`${prefix}t:started`, 0))!.split('|')[2]);
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim.child.once('exit', resolve));
    const survivor = startWorker(prefix, 'kill', 'survivor', { HEAL_TARGETS: '1' });
    await waitFor('the survivor healed t1', async () => (await redis.llen(`${prefix}t:healed`)) === 1);
    await survivor.stop();
    const [target, healer, token] = (await redis.lindex(`${prefix}t:healed`, 0))!.split('|');
    expect(target).toBe('t1');
    expect(healer).toBe('survivor');
    expect(Number(token)).toBeGreaterThan(victimToken);
    const store = createRedisHealingStore({ redis, prefix });
    const key = railKey('containers', 't1');
    expect(await store.checkFence(key, victimToken)).toBe(false);
    expect(await store.putState(key, emptyRailState(), { fencingToken: victimToken, ttlMs: 60_000 })).toBe(false);
    // the victim's attempt survived its death: the survivor's run is the second in the window
    expect((await store.getState(key))?.attempts).toHaveLength(2);
  });

  it('a healer frozen mid-action (SIGSTOP) and thawed after a successor healed: its stale token is refused', async () => {
    const prefix = `${namespace.keyPrefix}${randomUUID()}:`;
    await redis.sadd(`${prefix}t:unhealthy`, 't1');
    const env = { HEAL_TARGETS: '1', HEAL_ACTION_MS: '3000' };
    const frozen = startWorker(prefix, 'stop', 'frozen', env);
    await waitFor('the frozen healer started its action', async () => (await redis.llen(`${prefix}t:started`)) === 1);
    frozen.child.kill('SIGSTOP');
    const survivor = startWorker(prefix, 'stop', 'survivor', env);
    try {
      await waitFor('the survivor healed t1', async () => (await redis.llen(`${prefix}t:healed`)) === 1);
    } finally {
      frozen.child.kill('SIGCONT');
    }
    await waitFor(
      'the thawed healer was refused or lost its lock',
      async () =>
        (await redis.llen(`${prefix}t:refused`)) === 1 ||
        frozen.events.some((event) => event.name === 'action.skipped' && event['reason'] === 'lock-lost'),
    );
    await Promise.all([frozen.stop(), survivor.stop()]);
    const healed = await redis.lrange(`${prefix}t:healed`, 0, -1);
    expect(healed.map((entry) => entry.split('|')[1])).toEqual(['survivor']);
  });

  it('every target unhealthy: the fleet rule escalates one shared-cause alert across healers and restarts nothing', async () => {
    const prefix = `${namespace.keyPrefix}${randomUUID()}:`;
    await redis.sadd(`${prefix}t:unhealthy`, ...targets(5));
    const workers = ['a', 'b', 'c'].map((id) => startWorker(prefix, 'shared', id, { HEAL_TARGETS: '5' }));
    await waitFor('a shared-cause alert', async () => (await redis.llen(`${prefix}t:alerts`)) >= 1);
    await waitFor('every healer saw the shared cause', () =>
      workers.every((entry) =>
        entry.events.some((event) => event.name === 'action.skipped' && event['reason'] === 'shared-cause'),
      ),
    );
    await redis.del(`${prefix}t:unhealthy`);
    await waitFor('the alert resolved', async () =>
      (await redis.lrange(`${prefix}t:alerts`, 0, -1)).some((entry) => entry.includes('"resolved"')),
    );
    await Promise.all(workers.map((entry) => entry.stop()));
    expect(await redis.llen(`${prefix}t:started`)).toBe(0);
    const alerts = (await redis.lrange(`${prefix}t:alerts`, 0, -1)).map(
      (entry) => JSON.parse(entry) as { key: string; status: string },
    );
    expect(alerts.map((alert) => [alert.key, alert.status])).toEqual([
      ['healing:containers:shared-cause', 'firing'],
      ['healing:containers:shared-cause', 'resolved'],
    ]);
  });

  it('a restarted healer keeps the cooldown and attempts of the one before', async () => {
    const prefix = `${namespace.keyPrefix}${randomUUID()}:`;
    await redis.sadd(`${prefix}t:unhealthy`, 't1');
    const first = startWorker(prefix, 'restart', 'first', { HEAL_TARGETS: '1' });
    await waitFor('the episode closed healed', () =>
      first.events.some((event) => event.name === 'episode.closed' && event['outcome'] === 'healed'),
    );
    await first.stop();
    await redis.sadd(`${prefix}t:unhealthy`, 't1');
    const second = startWorker(prefix, 'restart', 'second', { HEAL_TARGETS: '1' });
    await waitFor('the restarted healer skipped for the cooldown', () =>
      second.events.some((event) => event.name === 'action.skipped' && event['reason'] === 'cooldown'),
    );
    await second.stop();
    expect(await redis.llen(`${prefix}t:started`)).toBe(1);
    const state = await createRedisHealingStore({ redis, prefix }).getState(railKey('containers', 't1'));
    expect(state?.attempts).toHaveLength(1);
  });
});

describe('Redis unavailable', { timeout: 120_000 }, () => {
  it('does not act while Redis is down, logs it clearly once, and recovers when Redis returns', async () => {
    const server = await startThrowawayRedis();
    const client = new Redis(server.url, {
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      enableOfflineQueue: true,
    });
    client.on('error', () => undefined);
    const logger = createRecordingLogger();
    let runs = 0;
    let unhealthy = false;
    const healer = createHealer({
      rules: [
        {
          name: 'r',
          when: () => unhealthy,
          for: '0s',
          ladder: [
            {
              action: {
                kind: 'function',
                name: 'fix',
                async run() {
                  runs++;
                  unhealthy = false;
                },
              },
              settle: '100ms',
              verify: { clearSamples: 1, every: '100ms' },
            },
          ],
        },
      ],
      store: createRedisHealingStore({ redis: client, prefix: 'down:' }),
      every: '200ms',
      storeTimeout: '500ms',
      logger,
    });
    try {
      await server.stop();
      unhealthy = true;
      await waitFor('the healer noticed the store is down', () =>
        logger.records.some((record) => String(record.message).includes('fail safe')),
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(runs).toBe(0);
      expect(logger.records.filter((record) => String(record.message).includes('fail safe'))).toHaveLength(1);
      await server.start();
      await waitFor('the healer acted after Redis returned', () => runs === 1, 60_000);
      expect(logger.records.some((record) => String(record.message).includes('answers again'))).toBe(true);
    } finally {
      await healer.stop();
      client.disconnect();
      await server.dispose();
    }
  });
});
