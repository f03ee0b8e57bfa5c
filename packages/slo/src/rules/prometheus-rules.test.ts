import { describe, expect, it } from 'vitest';
import { defineSlo } from '../spec/slo-spec.js';
import {
  generatePrometheusRules,
  renderPrometheusRules,
  type AlertingRule,
  type RecordingRule,
} from './prometheus-rules.js';

describe('generatePrometheusRules', () => {
  const slo = defineSlo({
    service: 'shop',
    name: 'latency',
    objective: 0.99,
    sli: { type: 'latency', threshold: '300ms' },
    window: { calendar: 'month', timeZone: 'Europe/Berlin' },
    alerting: { minEvents: 50, tiers: { 'ticket-slow': false, 'page-quick': { for: '2m' } } },
  });
  const rules = generatePrometheusRules([slo]).groups[0]?.rules ?? [];
  const recording = rules.filter((rule): rule is RecordingRule => 'record' in rule);
  const alerting = rules.filter((rule): rule is AlertingRule => 'alert' in rule);

  it('keeps the window in a label, never in a series name, and records bad and total separately', () => {
    const names = new Set(recording.map((rule) => rule.record));
    expect([...names].some((name) => /\d+[smhd]/.test(name))).toBe(false);
    const windows = recording
      .filter((rule) => rule.record === 'ops_slo:bad_events:rate')
      .map((rule) => rule.labels.slo_window);
    expect(windows).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']);
    expect(recording.filter((rule) => rule.record === 'ops_slo:total_events:rate')).toHaveLength(8);
  });

  it('weights the period by traffic: average of 5m bad and total rates, divided', () => {
    const period = recording.find(
      (rule) => rule.record === 'ops_slo:bad_events:rate' && rule.labels.slo_window === '30d',
    );
    expect(period?.expr).toBe(
      'avg_over_time(ops_slo:bad_events:rate{slo_service="shop",slo_name="latency",slo_window="5m"}[30d])',
    );
    const ratio = recording.find((rule) => rule.record === 'ops_slo:error_ratio' && rule.labels.slo_window === '30d');
    expect(ratio?.expr).toContain(
      '/ (ops_slo:total_events:rate{slo_service="shop",slo_name="latency",slo_window="30d"} > 0)',
    );
  });

  it('writes one alert per enabled tier with severity, tier, for and the low-traffic guard', () => {
    expect(alerting.map((rule) => [rule.labels.slo_tier, rule.labels.severity, rule.for])).toEqual([
      ['page-quick', 'page', '2m'],
      ['page-slow', 'page', undefined],
      ['ticket-quick', 'ticket', undefined],
    ]);
    expect(alerting[0]?.expr).toContain('> (14.4 * 0.01)');
    expect(alerting[0]?.expr).toContain('* 3600 >= 50');
    expect(alerting[0]?.labels.exhaustion).toBe('2d2h');
  });

  it('renders YAML without anchors', () => {
    expect(renderPrometheusRules([slo])).not.toMatch(/[&*]a\d/);
  });

  it('renders regex and negative matchers, keep_firing_for, and the threshold margin', () => {
    const ratio = defineSlo({
      service: 'api',
      name: 'errors',
      objective: 0.999,
      sli: {
        type: 'ratio',
        bad: { metric: 'http_requests_total', matchers: { code: { regex: '5..' }, method: { not: 'OPTIONS' } } },
        total: { metric: 'http_requests_total', matchers: { path: { notRegex: '/health' } } },
      },
      alerting: { keepFiringFor: '15m' },
    });
    const groupRules = generatePrometheusRules([ratio]).groups[0]?.rules ?? [];
    const bad5m = groupRules.find(
      (rule): rule is RecordingRule =>
        'record' in rule && rule.record === 'ops_slo:bad_events:rate' && rule.labels.slo_window === '5m',
    );
    expect(bad5m?.expr).toBe('sum(rate(http_requests_total{code=~"5..",method!="OPTIONS"}[5m]))');
    const alerts = groupRules.filter((rule): rule is AlertingRule => 'alert' in rule);
    expect(alerts.map((rule) => rule.keep_firing_for)).toEqual(['15m', '15m', '15m', '15m']);
    expect(alerts[0]?.expr).toContain('> (14.4 * 0.001) * 1.000001');
  });
});
