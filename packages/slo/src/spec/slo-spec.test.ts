import { ConfigError } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { defineSlo, parseSloDocument } from './slo-spec.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error as ConfigError;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('defineSlo', () => {
  it('applies defaults: 30d rolling window and the four Workbook tiers', () => {
    const slo = defineSlo({ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } });
    expect(slo.id).toBe('shop/checkout');
    expect(slo.errorBudget).toBeCloseTo(0.001, 12);
    expect(slo.window).toEqual({ kind: 'rolling', lengthMs: 30 * 86_400_000 });
    expect(slo.tiers.map((tier) => tier.name)).toEqual(['page-quick', 'page-slow', 'ticket-quick', 'ticket-slow']);
    expect(slo.warnings).toEqual([]);
  });

  it('refuses a 100% objective with the reason', () => {
    const error = configError(() =>
      defineSlo({ service: 'shop', name: 'x', objective: 1, sli: { type: 'availability' } }),
    );
    expect(error.issues[0]?.path).toBe('objective');
    expect(error.message).toMatch(/100% is refused: it leaves an error budget of 0/);
    expect(
      configError(() => defineSlo({ service: 'shop', name: 'x', objective: '100%', sli: { type: 'availability' } }))
        .message,
    ).toMatch(/100% is refused/);
  });

  it('suggests the ratio when an objective is written as a percentage number', () => {
    const error = configError(() =>
      defineSlo({ service: 'shop', name: 'x', objective: 99.9, sli: { type: 'availability' } }),
    );
    expect(error.message).toContain('did you mean 0.999');
  });

  it('accepts a percentage string', () => {
    expect(
      defineSlo({ service: 'shop', name: 'x', objective: '99.95%', sli: { type: 'availability' } }).objective,
    ).toBeCloseTo(0.9995, 12);
  });

  it('warns about tiers that can never fire for the objective (Workbook: 90% with the 2%/1h tier)', () => {
    const slo = defineSlo({ service: 'shop', name: 'batch', objective: 0.9, sli: { type: 'availability' } });
    expect(slo.warnings).toHaveLength(1);
    expect(slo.warnings[0]).toMatch(
      /alerting\.tiers\.page-quick: tier page-quick can never fire: its burn-rate threshold 14\.4 needs an error ratio of 144%/,
    );
    // 14.4 × (1 − 0.9306) = 0.99936 < 1: still possible just above 93.06%.
    expect(
      defineSlo({ service: 'shop', name: 'y', objective: 0.9307, sli: { type: 'availability' } }).warnings,
    ).toEqual([]);
    expect(
      defineSlo({ service: 'shop', name: 'z', objective: 0.9305, sli: { type: 'availability' } }).warnings,
    ).toHaveLength(1);
  });

  it('toggles and overrides tiers per SLO, and names unknown tiers', () => {
    const slo = defineSlo({
      service: 'shop',
      name: 'x',
      objective: 0.99,
      sli: { type: 'availability' },
      alerting: { tiers: { 'ticket-slow': false, 'page-quick': { for: '2m' } } },
    });
    expect(slo.tiers.map((tier) => tier.name)).toEqual(['page-quick', 'page-slow', 'ticket-quick']);
    expect(slo.tiers[0]?.forMs).toBe(120_000);
    const error = configError(() =>
      defineSlo({
        service: 'shop',
        name: 'x',
        objective: 0.99,
        sli: { type: 'availability' },
        alerting: { tiers: { 'page-fast': false } },
      }),
    );
    expect(error.message).toContain(
      'alerting.tiers.page-fast: unknown tier; expected one of "page-quick", "page-slow", "ticket-quick", "ticket-slow"',
    );
  });

  it('rejects tier windows the engine cannot answer', () => {
    const error = configError(() =>
      defineSlo({
        service: 'shop',
        name: 'x',
        objective: 0.99,
        sli: { type: 'availability' },
        alerting: { tiers: [{ name: 'weekly', severity: 'ticket', budgetPercent: 20, long: '7d', short: '12h' }] },
      }),
    );
    expect(error.message).toContain('alerting.tiers[0].long: expected a whole number of minutes between 1m and 3d');
  });
});

describe('parseSloDocument', () => {
  it('resolves a YAML document with calendar windows, latency and ratio SLIs', () => {
    const slos = parseSloDocument(
      [
        'service: shop',
        'labels: { team: payments }',
        'slos:',
        '  - name: availability',
        '    objective: 0.999',
        '    sli: { type: availability }',
        '    window: { calendar: month, timeZone: Europe/Berlin }',
        '    groupBy: [route]',
        '  - name: latency',
        '    objective: 99%',
        '    sli: { type: latency, threshold: 200ms }',
        '    window: 28d',
        '  - name: ratio',
        '    objective: 0.995',
        '    sli: { type: ratio, bad: { metric: http_requests_total, matchers: { code: "5xx" } }, total: { metric: http_requests_total } }',
      ].join('\n'),
    );
    expect(slos.map((slo) => slo.id)).toEqual(['shop/availability', 'shop/latency', 'shop/ratio']);
    expect(slos[0]?.window).toEqual({
      kind: 'calendar',
      unit: 'month',
      timeZone: 'Europe/Berlin',
      nominalMs: 30 * 86_400_000,
    });
    expect(slos[0]?.labels).toEqual({ team: 'payments' });
    expect(slos[1]?.sli).toEqual({ type: 'latency', thresholdMs: 200 });
    expect(slos[2]?.sli.type).toBe('ratio');
  });

  it('names every bad path and the allowed values', () => {
    const error = configError(() =>
      parseSloDocument(
        [
          'service: shop',
          'slos:',
          '  - name: a',
          '    objective: 0.999',
          '    sli: { type: availabilty }',
          '  - name: b',
          '    objective: 0.99',
          '    sli: { type: availability }',
          '    window: { calendar: month, timeZone: Mars/Base }',
          '  - name: c',
          '    objective: 0.99',
          '    sli: { type: availability }',
          '    window: 1M',
        ].join('\n'),
        'slos.yaml',
      ),
    );
    expect(error.message).toContain('slos[0].sli');
    expect(error.message).toContain('"availability", "latency", "ratio"');
    const second = configError(() =>
      parseSloDocument(
        [
          'service: shop',
          'slos:',
          '  - { name: b, objective: 0.99, sli: { type: availability }, window: { calendar: month, timeZone: Mars/Base } }',
          '  - { name: c, objective: 0.99, sli: { type: availability }, window: 1M }',
          '  - { name: c, objective: 0.99, sli: { type: availability }, window: { calendar: fortnight } }',
        ].join('\n'),
        'slos.yaml',
      ),
    );
    expect(second.message).toContain('slos[2].window');
    const third = configError(() =>
      parseSloDocument(
        [
          'service: shop',
          'slos:',
          '  - { name: b, objective: 0.99, sli: { type: availability }, window: { calendar: month, timeZone: Mars/Base } }',
          '  - { name: c, objective: 0.99, sli: { type: availability }, window: 1M }',
          '  - { name: c, objective: 0.99, sli: { type: availability } }',
        ].join('\n'),
        'slos.yaml',
      ),
    );
    expect(third.message).toContain('slos[0].window.timeZone: unknown IANA time zone "Mars/Base"');
    expect(third.message).toContain('slos[1].window: "1M": months are calendar periods');
    expect(third.message).toContain('slos[2].name: duplicate SLO "c" (also slos[1])');
  });

  it('rejects a ratio SLI whose good counter is the total', () => {
    const error = configError(() =>
      parseSloDocument(
        'service: s\nslos:\n  - { name: r, objective: 0.99, sli: { type: ratio, good: { metric: t }, total: { metric: t } } }',
      ),
    );
    expect(error.message).toContain('slos[0].sli: the good/bad counter selects the same series as total');
  });

  it('refuses user labels named like the identifying labels of the rules (slo_*, __*) and reserved groupBy names', () => {
    const base = { service: 'shop', name: 'a', objective: 0.999, sli: { type: 'availability' as const } };
    expect(configError(() => defineSlo({ ...base, labels: { slo_name: 'legacy' } })).message).toMatch(
      /labels\.slo_name: label name "slo_name" is reserved: names starting with "slo_" identify the SLO .* would silence every alert/,
    );
    expect(configError(() => defineSlo({ ...base, labels: { __name__: 'x' } })).message).toMatch(
      /labels\.__name__: label name "__name__" is reserved/,
    );
    expect(configError(() => defineSlo({ ...base, groupBy: ['service'] })).message).toMatch(
      /groupBy\[0\]: label name "service" is reserved/,
    );
    expect(configError(() => defineSlo({ ...base, groupBy: ['team'], labels: { team: 'web' } })).message).toMatch(
      /groupBy\[0\]: label "team" is also a static label/,
    );
    expect(
      configError(() =>
        parseSloDocument(
          'service: s\nlabels: { slo_service: x }\nslos:\n  - { name: a, objective: 0.99, sli: { type: availability } }',
        ),
      ).message,
    ).toMatch(/labels\.slo_service: label name "slo_service" is reserved/);
    expect(defineSlo({ ...base, labels: { team: 'web', sloth_id: 'x' } }).labels).toEqual({
      team: 'web',
      sloth_id: 'x',
    });
  });

  it('accepts regex and negative matchers, refuses a regex that does not compile', () => {
    const slo = defineSlo({
      service: 'api',
      name: 'errors',
      objective: 0.99,
      sli: {
        type: 'ratio',
        bad: { metric: 'http_requests_total', matchers: { code: { regex: '5..' }, method: { not: 'OPTIONS' } } },
        total: { metric: 'http_requests_total', matchers: { path: { notRegex: '/health.*' } } },
      },
    });
    expect(slo.warnings).toEqual([]);
    const error = configError(() =>
      defineSlo({
        service: 'api',
        name: 'x',
        objective: 0.99,
        sli: { type: 'ratio', bad: { metric: 'a', matchers: { code: { regex: '5..(' } } }, total: { metric: 'b' } },
      }),
    );
    expect(error.message).toMatch(/sli\.bad\.matchers\.code\.regex: invalid regular expression "5\.\.\("/);
  });

  it('warns when an exact matcher value looks like a regex ("5.." matches nothing under =)', () => {
    const [slo] = parseSloDocument(
      'service: api\nslos:\n  - { name: e, objective: 0.99, sli: { type: ratio, bad: { metric: http_requests_total, matchers: { code: "5..", host: "api.example.com", version: "1.2.3" } }, total: { metric: http_requests_total } } }',
    );
    expect(slo?.warnings).toEqual([
      'slos[0].sli.bad.matchers.code: "5.." looks like a regular expression, but a plain value is an exact match (code="5.."); write { regex: "5.." } for code=~"5.."',
    ]);
  });

  it('validates events and raw SLIs: the {{.window}} placeholder, balanced brackets, error != total', () => {
    const base = { service: 'api', name: 'q', objective: 0.99 };
    const events = defineSlo({
      ...base,
      sli: { type: 'events', errorQuery: 'sum(rate(e[{{.window}}]))', totalQuery: 'sum(rate(t[{{ .window }}]))' },
    });
    expect(events.sli).toEqual({
      type: 'events',
      errorQuery: 'sum(rate(e[{{.window}}]))',
      totalQuery: 'sum(rate(t[{{ .window }}]))',
    });
    expect(
      configError(() =>
        defineSlo({
          ...base,
          sli: { type: 'events', errorQuery: 'sum(rate(e[5m]))', totalQuery: 'sum(rate(t[{{.window}}]))' },
        }),
      ).message,
    ).toMatch(/sli\.errorQuery: expected the \{\{\.window\}\} placeholder/);
    expect(
      configError(() => defineSlo({ ...base, sli: { type: 'raw', errorRatioQuery: 'sum(rate(e[{{.window}}])' } }))
        .message,
    ).toMatch(/sli\.errorRatioQuery: unclosed "\("/);
    expect(
      configError(() =>
        defineSlo({ ...base, sli: { type: 'events', errorQuery: 'x[{{.window}}]', totalQuery: 'x[{{.window}}]' } }),
      ).message,
    ).toMatch(/errorQuery and totalQuery are the same/);
    expect(
      configError(() =>
        defineSlo({ ...base, sli: { type: 'raw', errorRatioQuery: 'e[{{.window}}]' }, alerting: { minEvents: 5 } }),
      ).message,
    ).toMatch(/alerting\.minEvents: a raw SLI has an error ratio only/);
  });

  it('merges alerting options per severity like Sloth, and refuses reserved names in alert labels', () => {
    const slo = defineSlo({
      service: 'api',
      name: 'a',
      objective: 0.999,
      sli: { type: 'availability' },
      alerting: {
        name: 'ApiBurn',
        labels: { team: 'api', severity: 'high' },
        runbookUrl: 'https://r/1',
        ticket: { disable: true },
        page: { labels: { severity: 'critical' }, annotations: { summary: 's' } },
      },
    });
    expect(slo.tiers.map((tier) => tier.severity)).toEqual(['page', 'page']);
    expect(slo.alerts.page).toEqual({
      name: 'ApiBurn',
      labels: { team: 'api', severity: 'critical' },
      annotations: { runbook_url: 'https://r/1', summary: 's' },
    });
    expect(
      configError(() =>
        defineSlo({
          service: 'api',
          name: 'a',
          objective: 0.999,
          sli: { type: 'availability' },
          alerting: { page: { labels: { slo_tier: 'x' } } },
        }),
      ).message,
    ).toMatch(/alerting\.page\.labels\.slo_tier: label name "slo_tier" is reserved/);
  });
});
