// One healer process for the fleet tests: a real healer on a shared Redis, whose targets' health and whose actions
// live in that Redis, so the parent test can count what every process did. Prints its events as JSON lines.
// Run as `node --import tsx <this> <redis url> <prefix> <scenario> <instance id>`; stops on stdin end.
import { systemClock } from '@ops/core';
import { Redis } from 'ioredis';
import type { HealingAction } from '../actions/action.js';
import { createRedisAuditStore } from '../audit/redis-audit-store.js';
import { railKey } from '../stores/healing-state-store.js';
import { createRedisHealingStore } from '../stores/redis/redis-healing-store.js';
import { createHealer } from './healer.js';
import type { HealingRule } from './rule.js';

const [url, prefix, scenario, instanceId] = process.argv.slice(2) as [string, string, string, string];
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const sleep = (ms: number) => systemClock.sleep(ms);
const store = createRedisHealingStore({ redis, prefix });
const targets = Array.from({ length: Number(process.env['HEAL_TARGETS'] ?? 10) }, (_, index) => `t${index + 1}`);

// An action that counts how many actions run at once (max kept atomically), logs who healed what, and heals.
const restart: HealingAction = {
  kind: 'function',
  name: 'restart',
  async run(context) {
    const running = Number(
      await redis.eval(
        "local n = redis.call('INCR', KEYS[1]) if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end return n",
        2,
        `${prefix}t:running`,
        `${prefix}t:max-running`,
      ),
    );
    await redis.rpush(`${prefix}t:started`, `${context.target}|${instanceId}|${context.fencingToken}`);
    try {
      if (scenario === 'kill' && instanceId === 'victim') await sleep(600_000); // killed here
      await systemClock.sleep(Number(process.env['HEAL_ACTION_MS'] ?? 800), context.signal);
      // What a real action does with its fencing token: check it right before the side effect.
      if (!(await store.checkFence(railKey(context.rule, context.target), context.fencingToken))) {
        await redis.rpush(`${prefix}t:refused`, `${context.target}|${instanceId}|${context.fencingToken}`);
        throw new Error(`fencing token ${context.fencingToken} is stale`);
      }
      await redis.srem(`${prefix}t:unhealthy`, context.target);
      await redis.rpush(`${prefix}t:healed`, `${context.target}|${instanceId}|${context.fencingToken}`);
    } finally {
      await redis.decr(`${prefix}t:running`);
    }
    return { detail: `healed ${context.target} (${running} running)` };
  },
};

const rule: HealingRule = {
  name: 'containers',
  when: async (target) => (await redis.sismember(`${prefix}t:unhealthy`, target)) === 1,
  for: '500ms',
  targets,
  ladder: [{ action: restart, runs: 3, timeout: '20s', settle: '200ms', verify: { clearSamples: 1, every: '200ms' } }],
  cooldown: '1m',
  backoff: { initialDelay: '500ms', maxDelay: '1s' },
  budget: { max: 2 },
  ...(scenario === 'shared' ? {} : { fleet: false as const }),
};

const healer = createHealer({
  rules: [rule],
  store,
  audit: createRedisAuditStore({ redis, key: `${prefix}audit` }),
  alerts: async (alert) => void (await redis.rpush(`${prefix}t:alerts`, JSON.stringify(alert))),
  every: '300ms',
  lockTtl: '2s',
  storeTimeout: '2s',
  instanceId,
  autoStart: false,
});
const print = (name: string, event: object) => process.stdout.write(`${JSON.stringify({ name, ...event })}\n`);
for (const name of [
  'episode.opened',
  'step.started',
  'step.completed',
  'verify.completed',
  'episode.escalated',
  'episode.closed',
  'action.skipped',
] as const)
  healer.on(name, (event) => print(name, event));
healer.start();
process.stdout.write(`${JSON.stringify({ name: 'ready', at: systemClock.now() })}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  void healer
    .stop()
    .then(() => redis.quit())
    .then(() => process.exit(0));
});
