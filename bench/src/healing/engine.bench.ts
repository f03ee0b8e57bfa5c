/**
 * @ops/healing engine benchmarks: the CPU one evaluation tick costs with 1,000 rules (against a hand-written loop
 * doing the same reads, comparisons and sustained-condition updates), and the Redis round trip of the fleet lock
 * with its disruption budget (one Lua script) against a bare `SET NX PX`, p50 and p99.
 */
import { createSustainedCondition, type Signal } from '@ops/core';
import {
  createHealer,
  createMemoryAuditStore,
  createRedisHealingStore,
  railKey,
  thresholdCondition,
} from '@ops/healing';
import { createRedisNamespace } from '@ops/testkit';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';

const RULES = 1_000;
const TICKS = 40;
const WARMUP_TICKS = 10;
const ROUNDS = 5;
const OPS_PER_ROUND = 2_000;

function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1_000;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function ruleEvaluation(): Promise<BenchRow[]> {
  // 1,000 rules on one target each; values hover below the threshold, one rule in ten is pending (true, not for
  // long enough), so every tick reads, compares and updates a sustained condition without acting.
  const values = Float64Array.from({ length: RULES }, (_, index) => (index % 10 === 0 ? 0.9 : 0.5));
  const signals: Signal[] = Array.from({ length: RULES }, (_, index) => ({
    name: `signal_${index}`,
    read: () => values[index] as number,
  }));
  const healer = createHealer({
    autoStart: false,
    every: '1s',
    audit: createMemoryAuditStore(),
    rules: signals.map((signal, index) => ({
      name: `rule-${index}`,
      when: thresholdCondition({ signal, above: 0.85 }),
      for: '1h',
      ladder: [{ action: { kind: 'function', name: 'noop', run: async () => undefined } }],
    })),
  });
  const ours: number[] = [];
  const oursWall: number[] = [];
  for (let tick = 0; tick < WARMUP_TICKS + TICKS; tick++) {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    await healer.tick();
    if (tick >= WARMUP_TICKS) {
      ours.push(cpuMs(cpu));
      oursWall.push(performance.now() - wall);
    }
  }
  const status = await healer.status();
  const pending = status.rules.filter((rule) => rule.targets[0]?.condition === 'pending').length;
  if (pending !== RULES / 10) throw new Error(`expected ${RULES / 10} pending rules, got ${pending}`);
  await healer.stop();

  // The floor: the same reads, comparisons and sustained updates in a plain loop, no rails, no store.
  const conditions = signals.map((signal) => createSustainedCondition({ for: '1h', name: signal.name }));
  const peer: number[] = [];
  for (let tick = 0; tick < WARMUP_TICKS + TICKS; tick++) {
    const cpu = process.cpuUsage();
    await Promise.all(
      signals.map(async (signal, index) => {
        const value = await signal.read();
        conditions[index]!.update(value > 0.85, value);
      }),
    );
    if (tick >= WARMUP_TICKS) peer.push(cpuMs(cpu));
  }
  return [
    {
      ...compareRow({
        group: 'Healing rule evaluation (1,000 rules, 1 target each)',
        metric: 'CPU per tick',
        unit: 'ms',
        ours: stats(ours),
        peer: { name: 'plain loop: read + compare + sustained update', ...stats(peer) },
        higherIsBetter: false,
        target: '≪ 1,000 ms (ticking every second)',
        notes: `user+system CPU of healer.tick() (in-memory store; ${RULES / 10} rules pending); wall time median ${stats(oursWall).median.toFixed(1)} ms`,
      }),
      met: stats(ours).median < 100,
    },
  ];
}

async function lockRoundTrip(): Promise<BenchRow[]> {
  const namespace = await createRedisNamespace();
  const redis = namespace.client();
  try {
    const store = createRedisHealingStore({ redis, prefix: `${namespace.keyPrefix}bench:` });
    const ours50: number[] = [];
    const ours99: number[] = [];
    const peer50: number[] = [];
    const peer99: number[] = [];
    // One warm-up round (loads the script, opens the connection), then rounds alternating ours and the peer.
    for (let round = -1; round < ROUNDS; round++) {
      const ours: number[] = [];
      const peer: number[] = [];
      for (let index = 0; index < OPS_PER_ROUND; index++) {
        const key = railKey('bench', `r${round}-t${index}`);
        let start = performance.now();
        const result = await store.acquire({
          key,
          owner: 'bench',
          ttlMs: 30_000,
          budget: { scope: `budget-${round}`, max: 1_000_000 },
        });
        ours.push(performance.now() - start);
        if (!result.granted) throw new Error('lock not granted');
        start = performance.now();
        const set = await redis.set(`${namespace.keyPrefix}bare:${round}:${index}`, 'bench', 'PX', 30_000, 'NX');
        peer.push(performance.now() - start);
        if (set !== 'OK') throw new Error('SET NX PX refused');
      }
      if (round < 0) continue;
      ours.sort((a, b) => a - b);
      peer.sort((a, b) => a - b);
      ours50.push(quantile(ours, 0.5));
      ours99.push(quantile(ours, 0.99));
      peer50.push(quantile(peer, 0.5));
      peer99.push(quantile(peer, 0.99));
    }
    const notes = `${ROUNDS} rounds × ${OPS_PER_ROUND} sequential calls on one ioredis connection to a loopback Redis; ours = EVALSHA of the lock + fencing token + budget script (GET, ZREMRANGEBYSCORE, ZCARD, INCR, SET PX, ZADD); figures are per-round quantiles`;
    return [
      compareRow({
        group: 'Fleet lock + disruption budget round trip (Redis)',
        metric: 'acquire p50',
        unit: 'ms',
        ours: stats(ours50),
        peer: { name: 'bare SET NX PX', ...stats(peer50) },
        higherIsBetter: false,
        notes,
      }),
      compareRow({
        group: 'Fleet lock + disruption budget round trip (Redis)',
        metric: 'acquire p99',
        unit: 'ms',
        ours: stats(ours99),
        peer: { name: 'bare SET NX PX', ...stats(peer99) },
        higherIsBetter: false,
        notes,
      }),
    ];
  } finally {
    await namespace.dispose();
  }
}

const suite: BenchSuite = {
  name: 'healing-engine',
  description:
    'Rule evaluation cost of 1,000 rules per tick (CPU of healer.tick() against a plain loop doing the same reads and sustained updates), and the Redis round trip of the fleet lock with its disruption budget (one Lua script) against a bare SET NX PX, p50 and p99.',
  async run(): Promise<BenchRow[]> {
    return [...(await ruleEvaluation()), ...(await lockRoundTrip())];
  },
};

export default suite;
