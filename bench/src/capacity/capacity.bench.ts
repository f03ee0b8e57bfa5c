/**
 * @ops/capacity benchmarks: Holt-Winters fit time on 30 days of 1-minute samples (season 1,440) against augurs'
 * MSTL/AutoETS (WASM) on the same series; backtest accuracy on the NAB series (sMAPE of ours, seasonal naive and
 * augurs at 24 h and 7 d); HPA replica decisions per second.
 *
 * @ops/capacity is not a dependency of the bench package, so the suite loads the built package by path
 * (`pnpm --filter @ops/capacity build` first; `pnpm bench` builds everything).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { opsPerSecond, stats, compareRow, type BenchRow, type BenchSuite } from '../harness.js';

type Capacity = typeof import('../../../packages/capacity/dist/index.js');
type Testing = typeof import('../../../packages/capacity/dist/testing/index.js');

const here = dirname(fileURLToPath(import.meta.url));
const packageDirectory = join(here, '../../../packages/capacity');
const nabDirectory = process.env['OPS_NAB_DIR'] ?? join(here, '../../../../shared/data/nab');

function timed<T>(work: () => T): { ms: number; value: T } {
  const start = process.hrtime.bigint();
  const value = work();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

const suite: BenchSuite = {
  name: 'capacity',
  description:
    'Holt-Winters fit of 43,200 one-minute points with a 1,440 season (ours vs augurs MSTL, same series), rolling-origin backtests on NAB series (sMAPE vs seasonal naive and augurs), and HPA replica decisions per second (one CPU metric over 10 pods, full decide() with stabilization and behavior).',
  async run(): Promise<BenchRow[]> {
    const capacity = (await import(pathToFileURL(join(packageDirectory, 'dist/index.js')).href)) as Capacity;
    const testing = (await import(pathToFileURL(join(packageDirectory, 'dist/testing/index.js')).href)) as Testing;
    const rows: BenchRow[] = [];
    let augurs: Awaited<ReturnType<Capacity['loadAugursForecasters']>> | undefined;
    try {
      augurs = await capacity.loadAugursForecasters();
    } catch (error) {
      process.stderr.write(`bench: augurs unavailable (${(error as Error).message}); its rows are left out\n`);
    }

    // 1. Holt-Winters fit: 30 days × 1,440 one-minute points, season 1,440.
    const { values } = testing.syntheticSeries({
      length: 43_200,
      stepMs: 60_000,
      trendPerDay: 2,
      noiseRatio: 0.03,
      seed: 1,
    });
    const holdout = testing
      .syntheticSeries({ length: 43_200 + 1440, stepMs: 60_000, trendPerDay: 2, noiseRatio: 0.03, seed: 1 })
      .values.slice(43_200);
    // Fits `rounds` times; wall time of each fit and the next-day sMAPE of the last one.
    const timeFits = (rounds: number, fit: () => { forecast(horizon: number): number[] }) => {
      const times: number[] = [];
      let smape = Number.NaN;
      for (let round = 0; round < rounds; round++) {
        const run = timed(fit);
        times.push(run.ms);
        smape = capacity.smape(holdout, run.value.forecast(1440));
      }
      return { times, smape };
    };
    // The row with augurs MSTL(periods) + AutoETS on the same series beside it, when augurs loaded.
    const withAugursMstl = (row: BenchRow, periods: number[]): BenchRow => {
      if (!augurs) return row;
      const peer = timeFits(3, () => augurs!.mstl(periods).fit(values));
      return compareRow({
        ...row,
        peer: { name: `augurs MSTL(${periods.join(', ')}) + AutoETS`, ...stats(peer.times) },
        notes: `${row.notes}; augurs next-day sMAPE ${peer.smape.toFixed(2)}%`,
      });
    };
    for (const variant of [
      {
        label: 'HW additive trend, additive season',
        options: { trend: 'additive', seasonal: 'additive', seasonLength: 1440 },
      },
      {
        label: 'HW damped trend, multiplicative season',
        options: { trend: 'additive', damped: true, seasonal: 'multiplicative', seasonLength: 1440 },
      },
    ] as const) {
      const ours = timeFits(5, () => capacity.fitHoltWinters(values, variant.options));
      const row: BenchRow = {
        group: 'Holt-Winters fit, 43,200 points, season 1,440',
        metric: `${variant.label}: fit wall time`,
        unit: 'ms',
        ours: stats(ours.times),
        higherIsBetter: false,
        target: '< 1 s',
        met: stats(ours.times).median < 1000,
        notes: `next-day sMAPE ${ours.smape.toFixed(2)}%; heuristic initial states (1,442 states are not optimised), α β γ (φ) by grid + Nelder–Mead`,
      };
      rows.push(variant.options.seasonal === 'additive' ? withAugursMstl(row, [1440]) : row);
    }

    // 1b. What a user would call on this series: the AICc choice among Holt-Winters variants, and the
    // multi-seasonal forecaster with the daily and weekly periods, against augurs MSTL with the same periods.
    let chosen = '';
    const auto = timeFits(3, () => {
      const { best } = capacity.selectHoltWinters(values, { seasonLength: 1440 });
      chosen = capacity.describeVariant(best);
      return best;
    });
    rows.push({
      group: 'Holt-Winters fit, 43,200 points, season 1,440',
      metric: 'HW auto (AICc over the seasonal variants): fit wall time',
      unit: 'ms',
      ours: stats(auto.times),
      higherIsBetter: false,
      notes: `chose ${chosen}; next-day sMAPE ${auto.smape.toFixed(2)}%`,
    });
    const multi = timeFits(3, () => capacity.multiSeasonalForecaster({ periods: [1440, 10_080] }).fit(values));
    rows.push(
      withAugursMstl(
        {
          group: 'Holt-Winters fit, 43,200 points, season 1,440',
          metric: 'multi-seasonal (1,440 + 10,080): fit wall time',
          unit: 'ms',
          ours: stats(multi.times),
          higherIsBetter: false,
          notes: `next-day sMAPE ${multi.smape.toFixed(2)}%`,
        },
        [1440, 10_080],
      ),
    );

    // 2. Backtests on NAB series.
    const load = (file: string) =>
      capacity.regularizeSeries(capacity.parseCsvSeries(readFileSync(join(nabDirectory, file), 'utf8')));
    const taxi = load('nyc_taxi.csv');
    const taxiTime = { startMs: taxi.timestamps[0] as number, stepMs: taxi.stepMs };
    const cases = [
      {
        name: 'nyc_taxi 24 h',
        series: taxi.values,
        time: taxiTime,
        horizon: 48,
        season: 48,
        ours: capacity.multiSeasonalForecaster({ periods: [48, 336] }),
        peer: augurs?.mstl([48, 336]),
        origins: 8,
        step: 336,
        maxTrain: 336 * 8,
      },
      {
        name: 'nyc_taxi 7 d',
        series: taxi.values,
        time: taxiTime,
        horizon: 336,
        season: 48,
        ours: capacity.multiSeasonalForecaster({ periods: [48, 336] }),
        peer: augurs?.mstl([48, 336]),
        origins: 8,
        step: 336,
        maxTrain: 336 * 8,
      },
    ];
    for (const file of ['ec2_cpu_utilization_5f5533.csv', 'elb_request_count_8c0756.csv']) {
      const series = load(file);
      cases.push({
        name: `${file.replace('.csv', '')} 24 h`,
        series: series.values,
        time: { startMs: series.timestamps[0] as number, stepMs: series.stepMs },
        horizon: 288,
        season: 288,
        ours: capacity.holtWintersForecaster({ variant: 'auto', seasonLength: 288 }),
        peer: augurs?.autoEts(288),
        origins: 3,
        step: 288,
        maxTrain: 288 * 10,
      });
    }
    for (const entry of cases) {
      const options = {
        horizon: entry.horizon,
        origins: entry.origins,
        step: entry.step,
        seasonLength: entry.season,
        maxTrain: entry.maxTrain,
        time: entry.time,
      };
      const ours = capacity.backtest(entry.series, entry.ours, options);
      const naive = ours.folds.map((fold) => fold.baselineSmape);
      rows.push(
        compareRow(
          {
            group: 'Backtest accuracy on NAB (rolling origin, sMAPE %)',
            metric: `${entry.name}: ${ours.forecaster}`,
            unit: '% sMAPE',
            ours: stats(ours.folds.map((fold) => fold.smape)),
            peer: { name: `seasonal naive (lag ${entry.season})`, ...stats(naive) },
            higherIsBetter: false,
            target: '< seasonal naive',
            notes: `${ours.folds.length} origins; MASE ${ours.mase.toFixed(2)} (naive ${ours.baselineMase.toFixed(2)})`,
          },
          { atMost: 1 },
        ),
      );
      if (entry.peer) {
        let peer: ReturnType<typeof capacity.backtest> | undefined;
        try {
          peer = capacity.backtest(entry.series, entry.peer, options);
        } catch (error) {
          process.stderr.write(`bench: ${entry.peer.name} failed on ${entry.name}: ${(error as Error).message}\n`);
        }
        if (peer) {
          rows.push(
            compareRow({
              group: 'Backtest accuracy on NAB (rolling origin, sMAPE %)',
              metric: `${entry.name}: ${ours.forecaster} vs augurs`,
              unit: '% sMAPE',
              ours: stats(ours.folds.map((fold) => fold.smape)),
              peer: { name: peer.forecaster, ...stats(peer.folds.map((fold) => fold.smape)) },
              higherIsBetter: false,
            }),
          );
        }
      }
    }

    // 3. HPA decisions per second.
    let clockMs = Date.UTC(2026, 0, 1);
    const clock = {
      now: () => clockMs,
      monotonic: () => clockMs,
      setTimeout: () => ({
        cancel() {},
        unref() {
          return this;
        },
      }),
      setInterval: () => ({
        cancel() {},
        unref() {
          return this;
        },
      }),
      sleep: () => Promise.resolve(),
    };
    const hpa = capacity.createHpaAutoscaler({
      minReplicas: 2,
      maxReplicas: 50,
      behavior: { scaleDown: { stabilizationWindow: '5m' } },
      clock,
    });
    const pods = Array.from({ length: 10 }, (_, index) => ({ name: `pod-${index}`, ready: true, startedAtMs: 0 }));
    const requests = Object.fromEntries(pods.map((pod) => [pod.name, 1]));
    const usages = Array.from({ length: 64 }, (_, round) =>
      Object.fromEntries(pods.map((pod, index) => [pod.name, 0.3 + ((round * 7 + index * 3) % 50) / 100])),
    );
    let sink = 0;
    const decisionsPerSecond = opsPerSecond(
      (index) => {
        clockMs += 15_000;
        const decision = hpa.decide({
          currentReplicas: 10,
          pods,
          metrics: [
            {
              type: 'resource',
              name: 'cpu',
              target: { averageUtilization: 60 },
              requests,
              usage: usages[index & 63] as Record<string, number>,
            },
          ],
        });
        sink += decision.desiredReplicas;
      },
      { batchSize: 20_000, samples: 10, warmupRounds: 2 },
    );
    const context = {
      currentReplicas: 10,
      pods,
      nowMs: clockMs,
      tolerances: { scaleUp: 0.1, scaleDown: 0.1 },
      cpuInitializationPeriodMs: 300_000,
      initialReadinessDelayMs: 30_000,
    };
    const calculationsPerSecond = opsPerSecond(
      (index) => {
        const proposal = capacity.calculateMetricReplicas(
          {
            type: 'resource',
            name: 'cpu',
            target: { averageUtilization: 60 },
            requests,
            usage: usages[index & 63] as Record<string, number>,
          },
          context,
        );
        sink += proposal.ok ? proposal.replicas : 0;
      },
      { batchSize: 50_000, samples: 10, warmupRounds: 2 },
    );
    if (!(sink > 0)) throw new Error('benchmark produced no decisions');
    rows.push({
      group: 'HPA replica decisions',
      metric: 'decide(): calculator + stabilization + behavior + reasons, 10 pods',
      unit: 'decisions/s',
      ours: stats(decisionsPerSecond),
      higherIsBetter: true,
      target: '≥ 10,000/s',
      met: stats(decisionsPerSecond).median >= 10_000,
    });
    rows.push({
      group: 'HPA replica decisions',
      metric: 'calculateMetricReplicas(): replica calculator only, 10 pods',
      unit: 'calculations/s',
      ours: stats(calculationsPerSecond),
      higherIsBetter: true,
    });
    return rows;
  },
};

export default suite;
