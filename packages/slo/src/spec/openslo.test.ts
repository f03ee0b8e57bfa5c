import { describe, expect, it } from 'vitest';
import { exportOpenSlo, importOpenSlo } from './openslo.js';
import { parseSloDocument } from './slo-spec.js';

describe('OpenSLO', () => {
  it('round-trips SLOs through OpenSLO v1 documents', () => {
    const slos = parseSloDocument(
      [
        'service: shop',
        'slos:',
        '  - { name: availability, objective: 0.999, sli: { type: availability }, window: 28d }',
        '  - { name: errors, objective: 0.99, sli: { type: ratio, bad: { metric: http_requests_total, matchers: { code: "500" } }, total: { metric: http_requests_total } }, window: { calendar: month, timeZone: Europe/Berlin } }',
      ].join('\n'),
    );
    const text = exportOpenSlo(slos);
    expect(text).toContain('apiVersion: openslo/v1');
    expect(text).toContain('budgetingMethod: Occurrences');
    expect(text).toContain('query: http_requests_total{code="500"}');
    const back = importOpenSlo(text);
    expect(back.map((slo) => [slo.id, slo.objective, slo.sli, slo.window])).toEqual(
      slos.map((slo) => [slo.id, slo.objective, slo.sli, slo.window]),
    );
  });

  it('imports thresholdMetric as a latency SLI and an SLI document by reference', () => {
    const [latency] = importOpenSlo(
      [
        'apiVersion: openslo/v1',
        'kind: SLI',
        'metadata: { name: api-latency }',
        'spec: { thresholdMetric: { metricSource: { type: Prometheus, spec: { query: latency } } } }',
        '---',
        'apiVersion: openslo/v1',
        'kind: SLO',
        'metadata: { name: fast }',
        'spec:',
        '  service: api',
        '  indicatorRef: api-latency',
        '  budgetingMethod: Occurrences',
        '  timeWindow: [{ duration: 7d, isRolling: true }]',
        '  objectives: [{ op: lte, value: 250, target: 0.95 }]',
      ].join('\n'),
    );
    expect(latency?.sli).toEqual({ type: 'latency', thresholdMs: 250 });
    expect(latency?.window).toEqual({ kind: 'rolling', lengthMs: 7 * 86_400_000 });
  });

  it('refuses what does not map, naming the path', () => {
    expect(() =>
      importOpenSlo(
        [
          'apiVersion: openslo/v1',
          'kind: SLO',
          'metadata: { name: x }',
          'spec:',
          '  service: api',
          '  budgetingMethod: Timeslices',
          '  indicator: { metadata: { name: i }, spec: { ratioMetric: { good: { metricSource: { spec: { query: "sum(rate(x[5m]))" } } }, total: { metricSource: { spec: { query: y } } } } } }',
          '  timeWindow: [{ duration: 1Q, isRolling: false, calendar: { startTime: "2026-01-01 00:00:00", timeZone: UTC } }]',
          '  objectives: [{ target: 0.99 }]',
        ].join('\n'),
      ),
    ).toThrow(
      /documents\[0\]\.spec\.budgetingMethod: only "Occurrences" maps; got "Timeslices".*ratioMetric\.good: only plain Prometheus selectors.*timeWindow\[0\]\.duration: calendar windows map for "1d", "1w", "1M"; got "1Q"/,
    );
  });
});
