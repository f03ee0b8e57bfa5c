import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { promtoolPath, tempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createManualClock } from '@ops/core';
import { burnRateThreshold } from '../alerting/alert-tiers.js';
import { createSloTracker } from '../engine/slo-tracker.js';
import { defineSlo } from '../spec/slo-spec.js';
import { generatePrometheusRules, renderPrometheusRules, type AlertingRule } from './prometheus-rules.js';

const run = promisify(execFile);
const PERIOD_MS = 30 * 86_400_000;

const slo = defineSlo({
  service: 'shop',
  name: 'checkout',
  objective: 0.999,
  sli: { type: 'availability' },
  labels: { team: 'payments' },
});
const alerts = generatePrometheusRules([slo])
  .groups.flatMap((group) => group.rules)
  .filter((rule): rule is AlertingRule => 'alert' in rule);

// Synthetic traffic: 200 events a minute from minute 0; from T0 on, 5 of them are bad (2.5%).
const TOTAL_PER_MINUTE = 200;
const BAD_PER_MINUTE = 5;

interface Scenario {
  /** Minute at which bad events start. */
  t0: number;
  /** Scrape and evaluation interval in minutes. */
  stepMinutes: number;
}

/**
 * Error ratio of a window at T0 + k from the reference formula. Counters start at 0, so Prometheus' rate() does not
 * extrapolate before the first sample: a window reaching back before minute 0 covers T0 + k minutes of traffic.
 */
function windowRatio(scenario: Scenario, k: number, windowMs: number): number {
  const windowMinutes = windowMs / 60_000;
  return (BAD_PER_MINUTE * Math.min(k, windowMinutes)) / (TOTAL_PER_MINUTE * Math.min(windowMinutes, scenario.t0 + k));
}

function tierActive(scenario: Scenario, tierIndex: number, k: number): boolean {
  const tier = slo.tiers[tierIndex];
  if (!tier || k <= 0) return false;
  const threshold = burnRateThreshold(tier, PERIOD_MS) * slo.errorBudget;
  return windowRatio(scenario, k, tier.longMs) > threshold && windowRatio(scenario, k, tier.shortMs) > threshold;
}

/** First evaluation (minutes after T0) at which the tier fires. */
function firstFiringMinute(scenario: Scenario, tierIndex: number): number {
  for (let k = scenario.stepMinutes; k < 10_000; k += scenario.stepMinutes)
    if (tierActive(scenario, tierIndex, k)) return k;
  throw new Error('never fires');
}

function expectedAlertsAt(scenario: Scenario, minute: number) {
  return alerts
    .filter((_alert, index) => tierActive(scenario, index, minute - scenario.t0))
    .map((alert) => ({ exp_labels: alert.labels, exp_annotations: alert.annotations }));
}

function inputSeries(scenario: Scenario, lastMinute: number) {
  const step = scenario.stepMinutes;
  const before = scenario.t0 / step;
  const after = (lastMinute - scenario.t0) / step;
  const good = TOTAL_PER_MINUTE - BAD_PER_MINUTE;
  return [
    {
      series: 'ops_slo_events_total{service="shop",slo="checkout"}',
      values: `0+${TOTAL_PER_MINUTE * step}x${before + after}`,
    },
    {
      series: 'ops_slo_good_events_total{service="shop",slo="checkout"}',
      values: `0+${TOTAL_PER_MINUTE * step}x${before} ${TOTAL_PER_MINUTE * scenario.t0 + good * step}+${good * step}x${after - 1}`,
    },
  ];
}

function alertTest(scenario: Scenario, tierIndexes: number[]) {
  const step = scenario.stepMinutes;
  const checkpoints = new Set<number>([scenario.t0 - step, scenario.t0]);
  for (const index of tierIndexes) {
    const k = firstFiringMinute(scenario, index);
    checkpoints.add(scenario.t0 + k - step);
    checkpoints.add(scenario.t0 + k);
  }
  const last = Math.max(...checkpoints) + step;
  return {
    interval: `${step}m`,
    input_series: inputSeries(scenario, last),
    alert_rule_test: [...checkpoints]
      .sort((a, b) => a - b)
      .map((minute) => ({
        eval_time: `${minute}m`,
        alertname: 'SloErrorBudgetBurn',
        exp_alerts: expectedAlertsAt(scenario, minute),
      })),
  };
}

// T0 = 365 keeps every threshold crossing off an exact tie (a tie would make the firing minute depend on rounding).
const PAGE: Scenario = { t0: 365, stepMinutes: 1 };
const TICKET: Scenario = { t0: 4320, stepMinutes: 5 };

describe('generated rules with promtool', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let promtool: string;

  beforeAll(async () => {
    promtool = promtoolPath();
    dir = await tempDir('slo-rules');
    await writeFile(join(dir.path, 'rules.yaml'), renderPrometheusRules([slo]));
  });
  afterAll(async () => {
    await dir?.dispose();
  });

  it('passes promtool check rules', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', join(dir.path, 'rules.yaml')]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fires each tier at the minute the formulas predict, and not one evaluation before', async () => {
    // Hand check, page tiers evaluated every minute: k > 0.864/0.025 = 34.56 and 2.16/0.025 = 86.4.
    expect([0, 1].map((index) => firstFiringMinute(PAGE, index))).toEqual([35, 87]);
    // Ticket tiers over three days of data, evaluated every 5 minutes: k > 4.32/0.025 = 172.8 → 175.
    expect([2, 3].map((index) => firstFiringMinute(TICKET, index))).toEqual([175, 175]);
    const testFile = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          ...alertTest(PAGE, [0, 1, 2, 3]),
          promql_expr_test: [
            {
              expr: 'ops_slo:error_budget_remaining:ratio',
              eval_time: `${PAGE.t0}m`,
              exp_samples: [
                {
                  labels:
                    'ops_slo:error_budget_remaining:ratio{slo_name="checkout",slo_service="shop",team="payments"}',
                  value: 1,
                },
              ],
            },
            {
              // 30 minutes of 2.5% in a 1h window: 0.0125.
              expr: 'round(ops_slo:error_ratio{slo_window="1h"} * 1e6)',
              eval_time: `${PAGE.t0 + 30}m`,
              exp_samples: [
                { labels: '{slo_name="checkout",slo_service="shop",slo_window="1h",team="payments"}', value: 12_500 },
              ],
            },
          ],
        },
        {
          // Zero traffic: the counters exist but never move. No ratio (no NaN), no alert.
          interval: '1m',
          input_series: [
            { series: 'ops_slo_events_total{service="shop",slo="checkout"}', values: '7+0x120' },
            { series: 'ops_slo_good_events_total{service="shop",slo="checkout"}', values: '7+0x120' },
          ],
          alert_rule_test: [{ eval_time: '100m', alertname: 'SloErrorBudgetBurn', exp_alerts: [] }],
          promql_expr_test: [{ expr: 'ops_slo:error_ratio', eval_time: '100m', exp_samples: [] }],
        },
      ],
    };
    const ticketFile = { rule_files: ['rules.yaml'], evaluation_interval: '5m', tests: [alertTest(TICKET, [2, 3])] };
    for (const [name, content] of [
      ['page.test.yaml', testFile],
      ['ticket.test.yaml', ticketFile],
    ] as const) {
      const file = join(dir.path, name);
      await writeFile(file, stringify(content, { lineWidth: 0, aliasDuplicateObjects: false }));
      const result = await run(promtool, ['test', 'rules', file], { cwd: dir.path, maxBuffer: 16 * 1024 * 1024 }).catch(
        (error: { stdout?: string; stderr?: string }) => error,
      );
      expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toContain('SUCCESS');
    }
  });

  it('with perLabelSet, keeps groupBy labels and alerts only for the route that burns', async () => {
    const grouped = defineSlo({
      service: 'shop',
      name: 'api',
      objective: 0.999,
      sli: { type: 'availability' },
      groupBy: ['route'],
    });
    const groupedAlerts = generatePrometheusRules([grouped], { perLabelSet: true })
      .groups.flatMap((group) => group.rules)
      .filter((rule): rule is AlertingRule => 'alert' in rule);
    await writeFile(join(dir.path, 'grouped.yaml'), renderPrometheusRules([grouped], { perLabelSet: true }));
    const expected = (tiers: string[]) =>
      groupedAlerts
        .filter((alert) => tiers.includes(alert.labels.slo_tier as string))
        .map((alert) => ({ exp_labels: { ...alert.labels, route: '/b' }, exp_annotations: alert.annotations }));
    // Both routes: 200 events a minute from minute 0; from minute 70 half of /b's are bad. At 70 + k, /b's 1h ratio
    // is 100k/12,000 (> 1.44% from k = 2) and its ratio since minute 0 is 100k/(200(70 + k)) (> 0.6% from k = 1).
    const series = (route: string, goodAfter: number) => [
      { series: `ops_slo_events_total{service="shop",slo="api",route="${route}"}`, values: '0+200x80' },
      {
        series: `ops_slo_good_events_total{service="shop",slo="api",route="${route}"}`,
        values: `0+200x70 ${14_000 + goodAfter}+${goodAfter}x9`,
      },
    ];
    const testFile = {
      rule_files: ['grouped.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [...series('/a', 200), ...series('/b', 100)],
          alert_rule_test: [
            { eval_time: '70m', alertname: 'SloErrorBudgetBurn', exp_alerts: [] },
            {
              eval_time: '71m',
              alertname: 'SloErrorBudgetBurn',
              exp_alerts: expected(['page-slow', 'ticket-quick', 'ticket-slow']),
            },
            {
              eval_time: '72m',
              alertname: 'SloErrorBudgetBurn',
              exp_alerts: expected(['page-quick', 'page-slow', 'ticket-quick', 'ticket-slow']),
            },
          ],
          promql_expr_test: [
            {
              expr: 'round(ops_slo:error_ratio{slo_window="5m"} * 1000)',
              eval_time: '75m',
              exp_samples: [
                { labels: '{route="/a",slo_name="api",slo_service="shop",slo_window="5m"}', value: 0 },
                { labels: '{route="/b",slo_name="api",slo_service="shop",slo_window="5m"}', value: 500 },
              ],
            },
          ],
        },
      ],
    };
    const file = join(dir.path, 'grouped.test.yaml');
    await writeFile(file, stringify(testFile, { lineWidth: 0, aliasDuplicateObjects: false }));
    const result = await run(promtool, ['test', 'rules', file], { cwd: dir.path }).catch(
      (error: { stdout?: string; stderr?: string }) => error,
    );
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toContain('SUCCESS');
  });

  it('proves the promtool test can fail: a tier expected one minute early is reported', async () => {
    const scenario: Scenario = { t0: 120, stepMinutes: 1 };
    const minute = scenario.t0 + firstFiringMinute(scenario, 0) - 1;
    const test = alertTest(scenario, [0]);
    test.alert_rule_test = [
      { eval_time: `${minute}m`, alertname: 'SloErrorBudgetBurn', exp_alerts: expectedAlertsAt(scenario, minute + 1) },
    ];
    const file = join(dir.path, 'wrong.test.yaml');
    await writeFile(
      file,
      stringify(
        { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [test] },
        { lineWidth: 0, aliasDuplicateObjects: false },
      ),
    );
    const failure = await run(promtool, ['test', 'rules', file], { cwd: dir.path }).then(
      () => undefined,
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(`${failure?.stdout ?? ''}${failure?.stderr ?? ''}`).toMatch(/FAILED/);
  });
});

/** First evaluation (minutes after T0) at which each tier fires in-process, fed the scenario's traffic minute by minute. */
async function inProcessFiringMinutes(scenario: Scenario, tierIndexes: number[]): Promise<number[]> {
  const clock = createManualClock(0);
  const tracker = createSloTracker({ slos: [slo], clock });
  const firedAt = new Map<string, number>();
  tracker.on('alert.firing', (event) => {
    if (!firedAt.has(event.tier)) firedAt.set(event.tier, event.at / 60_000 - scenario.t0);
  });
  const last =
    scenario.t0 + Math.max(...tierIndexes.map((index) => firstFiringMinute(scenario, index))) + scenario.stepMinutes;
  for (let minute = 0; minute < last; minute++) {
    // Events happen inside the minute; Prometheus sees them in the counter sample at the next minute boundary.
    const bad = minute >= scenario.t0 ? BAD_PER_MINUTE : 0;
    tracker.get('checkout').add({ good: TOTAL_PER_MINUTE - bad, bad, atMs: minute * 60_000 + 30_000 });
    clock.set((minute + 1) * 60_000);
    if ((minute + 1) % scenario.stepMinutes === 0) await tracker.evaluate();
  }
  return tierIndexes.map((index) => firedAt.get(slo.tiers[index]?.name ?? '') ?? Number.NaN);
}

describe('in-process windows agree with Prometheus at minute boundaries', () => {
  it('fires each tier at the same evaluation as the generated rules (proved above with promtool)', async () => {
    // Before the fix the in-process windows were one minute short: 1h covered 59 minutes, so tiers fired earlier.
    expect(await inProcessFiringMinutes(PAGE, [0, 1])).toEqual([0, 1].map((index) => firstFiringMinute(PAGE, index)));
    expect(await inProcessFiringMinutes(TICKET, [2, 3])).toEqual(
      [2, 3].map((index) => firstFiringMinute(TICKET, index)),
    );
  });
});

describe('a steady burn at exactly the threshold', () => {
  // 99.9% and 0.1% errors: burn rate exactly 1, the ticket-slow threshold at 30 days. rate() float noise used to land
  // on both sides of "> 1 × 0.001", so the alert flapped for hours in Prometheus while the in-process engine was quiet.
  const TOTAL = 60_000;
  const BAD = 60;
  // From the start every window holds the same 0.1% (a window reaching before the first sample covers less data),
  // so the first 8 hours show the flapping as well as later ones: before the fix 84 of these 471 evaluations fired.
  const FROM_MINUTE = 10;
  const TO_MINUTE = 480;

  it('never fires in Prometheus (promtool, every minute for 8 hours)', async () => {
    const dir = await tempDir('slo-threshold');
    try {
      await writeFile(join(dir.path, 'rules.yaml'), renderPrometheusRules([slo]));
      const checks = [];
      for (let minute = FROM_MINUTE; minute <= TO_MINUTE; minute++)
        checks.push({ eval_time: `${minute}m`, alertname: 'SloErrorBudgetBurn', exp_alerts: [] });
      const file = join(dir.path, 'threshold.test.yaml');
      const test = {
        interval: '1m',
        input_series: [
          { series: 'ops_slo_events_total{service="shop",slo="checkout"}', values: `0+${TOTAL}x${TO_MINUTE + 1}` },
          {
            series: 'ops_slo_good_events_total{service="shop",slo="checkout"}',
            values: `0+${TOTAL - BAD}x${TO_MINUTE + 1}`,
          },
        ],
        alert_rule_test: checks,
      };
      await writeFile(
        file,
        stringify(
          { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [test] },
          { lineWidth: 0, aliasDuplicateObjects: false },
        ),
      );
      const result = await run(promtoolPath(), ['test', 'rules', file], {
        cwd: dir.path,
        maxBuffer: 64 * 1024 * 1024,
      }).catch((error: { stdout?: string; stderr?: string }) => error);
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
      expect(output.match(/time: \S+,/g)?.length ?? 0, output.slice(0, 2000)).toBe(0);
      expect(output).toContain('SUCCESS');
    } finally {
      await dir.dispose();
    }
  });

  it('never fires in-process either', async () => {
    const clock = createManualClock(0);
    const tracker = createSloTracker({ slos: [slo], clock });
    const fired: string[] = [];
    tracker.on('alert.firing', (event) => fired.push(`${event.tier}@${event.at / 60_000}`));
    for (let minute = 0; minute < TO_MINUTE; minute++) {
      tracker.get('checkout').add({ good: TOTAL - BAD, bad: BAD, atMs: minute * 60_000 + 30_000 });
      clock.set((minute + 1) * 60_000);
      if (minute + 1 >= FROM_MINUTE) await tracker.evaluate();
    }
    expect(fired).toEqual([]);
    expect(tracker.status('checkout').burnRates['3d']).toBeCloseTo(1, 12);
  });
});
