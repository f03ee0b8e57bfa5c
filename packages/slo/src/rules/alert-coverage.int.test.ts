import { ConfigError } from '@ops/core';
import { tempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSlo, parseSloDocument, type ResolvedSlo, type SloSpec } from '../spec/slo-spec.js';
import { generatePrometheusRules, type PrometheusRulesOptions } from './prometheus-rules.js';
import { alertingRules, checkRules, expectedAlert, testRules } from './promtool-harness.js';

/** One accepted spec shape, and input series (counters from 0, one sample a minute) for its SLI. */
interface Shape {
  name: string;
  slos: ResolvedSlo[];
  options?: PrometheusRulesOptions;
  /** Series that make every event bad (`bad: true`) or every event good. */
  series(bad: boolean): Array<{ series: string; values: string }>;
  /** Label sets the alerts' expressions keep (beyond the rule's own labels), e.g. one per route. */
  labelSets?: Array<Record<string, string>>;
}

const SAMPLES = 40;
const counter = (perMinute: number) => `0+${perMinute}x${SAMPLES}`;
const inProcess =
  (service: string, slo: string, extra = '') =>
  (bad: boolean) => [
    { series: `ops_slo_events_total{service="${service}",slo="${slo}"${extra}}`, values: counter(60) },
    { series: `ops_slo_good_events_total{service="${service}",slo="${slo}"${extra}}`, values: counter(bad ? 0 : 60) },
  ];

const shapes: Shape[] = [
  {
    name: 'availability, document labels and SLO labels',
    slos: parseSloDocument(
      'service: shop\nlabels: { team: payments, tier: "2" }\nslos:\n  - { name: checkout, objective: 0.999, sli: { type: availability }, labels: { category: availability } }\n',
    ),
    series: inProcess('shop', 'checkout'),
  },
  {
    name: 'latency, calendar month, tier overrides with for and keepFiringFor, minEvents',
    slos: [
      defineSlo({
        service: 'shop',
        name: 'latency',
        objective: 0.99,
        sli: { type: 'latency', threshold: '300ms' },
        window: { calendar: 'month', timeZone: 'Europe/Berlin' },
        alerting: {
          minEvents: 50,
          keepFiringFor: '10m',
          tiers: { 'page-quick': { for: '2m' }, 'ticket-slow': { keepFiringFor: '1h' } },
        },
      }),
    ],
    series: inProcess('shop', 'latency'),
  },
  {
    name: 'ratio with a bad counter, regex and negative matchers',
    slos: [
      defineSlo({
        service: 'api',
        name: 'errors',
        objective: 0.995,
        sli: {
          type: 'ratio',
          bad: { metric: 'http_requests_total', matchers: { job: 'api', code: { regex: '5..|429' } } },
          total: { metric: 'http_requests_total', matchers: { job: 'api', method: { not: 'OPTIONS' } } },
        },
      }),
    ],
    series: (bad) => [
      { series: 'http_requests_total{job="api",code="503",method="GET"}', values: counter(bad ? 30 : 0) },
      { series: 'http_requests_total{job="api",code="429",method="GET"}', values: counter(bad ? 30 : 0) },
      { series: 'http_requests_total{job="api",code="200",method="GET"}', values: counter(bad ? 0 : 60) },
      { series: 'http_requests_total{job="api",code="200",method="OPTIONS"}', values: counter(1000) },
    ],
  },
  {
    name: 'ratio with a good counter, 28d rolling',
    slos: [
      defineSlo({
        service: 'api',
        name: 'good-ratio',
        objective: '99.5%',
        window: '28d',
        sli: {
          type: 'ratio',
          good: { metric: 'jobs_total', matchers: { result: { notRegex: 'fail.*' } } },
          total: { metric: 'jobs_total' },
        },
      }),
    ],
    series: (bad) => [
      { series: 'jobs_total{result="failed"}', values: counter(bad ? 60 : 0) },
      { series: 'jobs_total{result="ok"}', values: counter(bad ? 0 : 60) },
    ],
  },
  {
    name: 'groupBy with perLabelSet: one alert per route',
    slos: [
      defineSlo({
        service: 'shop',
        name: 'routes',
        objective: 0.999,
        sli: { type: 'availability' },
        groupBy: ['route'],
        labels: { team: 'web' },
      }),
    ],
    options: { perLabelSet: true },
    series: (bad) => [
      ...inProcess('shop', 'routes', ',route="/a"')(bad),
      ...inProcess('shop', 'routes', ',route="/b"')(bad),
    ],
    labelSets: [{ route: '/a' }, { route: '/b' }],
  },
  {
    name: 'custom tier list with short windows, 7d rolling',
    slos: [
      defineSlo({
        service: 'batch',
        name: 'runs',
        objective: 0.95,
        window: '7d',
        sli: { type: 'availability' },
        alerting: {
          tiers: [
            { name: 'fast', severity: 'page', budgetPercent: 0.5, long: '10m', short: '1m', for: '1m' },
            { name: 'slow', severity: 'ticket', budgetPercent: 20, long: '2h', short: '10m', keepFiringFor: '30m' },
          ],
        },
      }),
    ],
    series: inProcess('batch', 'runs'),
  },
  {
    name: 'events SLI (any PromQL with {{.window}}), alert name, labels, annotations and runbook per severity',
    slos: [
      defineSlo({
        service: 'api',
        name: 'events',
        objective: 0.999,
        sli: {
          type: 'events',
          errorQuery: 'sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))',
          totalQuery: 'sum(rate(http_requests_total{job="api"}[{{ .window }}]))',
        },
        alerting: {
          name: 'ApiHighErrorRate',
          labels: { category: 'availability' },
          annotations: { summary: 'API errors' },
          runbookUrl: 'https://runbooks.example/api',
          page: { name: 'ApiPage', labels: { severity: 'critical', routing_key: 'api' } },
          ticket: {
            labels: { severity: 'warning' },
            annotations: { summary: 'API errors (ticket)' },
            runbookUrl: 'https://runbooks.example/api-ticket',
          },
        },
      }),
    ],
    series: (bad) => [
      { series: 'http_requests_total{job="api",code="500"}', values: counter(bad ? 60 : 0) },
      { series: 'http_requests_total{job="api",code="200"}', values: counter(bad ? 0 : 60) },
    ],
  },
  {
    name: 'raw SLI (error-ratio PromQL), page alerts disabled',
    slos: [
      defineSlo({
        service: 'wifi',
        name: 'raw',
        objective: 0.95,
        sli: { type: 'raw', errorRatioQuery: '1 - avg(avg_over_time(client_satisfaction_ratio[{{.window}}]))' },
        alerting: { page: { disable: true } },
      }),
    ],
    series: (bad) => [{ series: 'client_satisfaction_ratio{mac="aa"}', values: `${bad ? 0 : 1}x${SAMPLES}` }],
  },
];

describe('every generated alert can fire, for every accepted spec shape (promtool test rules)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('slo-alert-coverage');
  });
  afterAll(async () => {
    await dir?.dispose();
  });

  shapes.forEach((shape, index) => {
    it(shape.name, async () => {
      const rules = generatePrometheusRules(shape.slos, shape.options);
      const alerts = alertingRules(rules);
      expect(alerts.length).toBeGreaterThan(0);
      expect(shape.slos.flatMap((slo) => slo.warnings)).toEqual([]);
      const file = `shape-${index}.yaml`;
      const check = await checkRules(dir.path, file, rules);
      expect(check.output).toMatch(/SUCCESS/);
      const labelSets = shape.labelSets ?? [{}];
      const byName = new Map<string, typeof alerts>();
      for (const alert of alerts) byName.set(alert.alert, [...(byName.get(alert.alert) ?? []), alert]);
      // Every event bad from minute 0: every window's error ratio is 1, above every feasible threshold, and the
      // longest `for` (2m) has passed at 20m.
      const firingTests = [...byName].map(([alertname, rulesOfName]) => ({
        eval_time: '20m',
        alertname,
        exp_alerts: rulesOfName.flatMap((rule) => labelSets.map((labels) => expectedAlert(rule, labels))),
      }));
      const quietTests = [...byName.keys()].map((alertname) => ({ eval_time: '20m', alertname, exp_alerts: [] }));
      const result = await testRules(dir.path, `shape-${index}.test.yaml`, {
        rule_files: [file],
        evaluation_interval: '1m',
        tests: [
          { interval: '1m', input_series: shape.series(true), alert_rule_test: firingTests },
          { interval: '1m', input_series: shape.series(false), alert_rule_test: quietTests },
        ],
      });
      expect(result.output).toMatch(/SUCCESS/);
      expect(result.ok).toBe(true);
    });
  });

  it('refuses the shapes whose alerts could never fire: user labels named like the identifying labels', () => {
    const refused: Array<[SloSpec | string, RegExp]> = [
      [
        { service: 'shop', name: 'a', objective: 0.999, sli: { type: 'availability' }, labels: { slo_name: 'legacy' } },
        /labels\.slo_name: label name "slo_name" is reserved/,
      ],
      [
        {
          service: 'shop',
          name: 'a',
          objective: 0.999,
          sli: { type: 'availability' },
          labels: { slo_service: 'legacy' },
        },
        /labels\.slo_service: label name "slo_service" is reserved/,
      ],
      [
        { service: 'shop', name: 'a', objective: 0.999, sli: { type: 'availability' }, groupBy: ['slo_window'] },
        /groupBy\[0\]: label name "slo_window" is reserved/,
      ],
      [
        'service: shop\nlabels: { slo_name: legacy }\nslos:\n  - { name: a, objective: 0.999, sli: { type: availability } }\n',
        /labels\.slo_name: label name "slo_name" is reserved/,
      ],
    ];
    for (const [spec, message] of refused) {
      const run = () => (typeof spec === 'string' ? parseSloDocument(spec) : defineSlo(spec));
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(message);
    }
  });
});
