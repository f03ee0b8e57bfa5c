import { listen, toExpressMiddleware, toFetchHandler } from '@ops/core';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { SloError } from '../errors.js';
import { overviewFixture } from './overview-fixture.js';
import { createSloOverview, renderReportHtml } from './slo-overview.js';
import { renderBudgetBurnDownSvg, renderErrorRatioSvg } from './svg-charts.js';

describe('createSloOverview (in-process tracker)', () => {
  it('lists every SLO with objective, SLI, budget, burn rates and firing tiers, worst budget first, and two SVG charts each', async () => {
    const { tracker } = await overviewFixture();
    const overview = createSloOverview({ tracker, path: '/slo' });
    const response = await overview.handler({ method: 'GET', path: '/slo', query: new URLSearchParams(), headers: {} });
    expect(response?.status).toBe(200);
    expect(response?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response?.headers['content-security-policy']).toContain("default-src 'none'");
    const html = String(response?.body);
    expect(html).not.toMatch(/<script/i);
    const rows = [...html.matchAll(/<tr data-slo="([^"]+)">/g)].map((match) => match[1]);
    expect(rows).toEqual(['shop/checkout', 'shop/payments', 'shop/search-latency']);
    const checkout = tracker.status('checkout');
    // An hour at 5% after two clean days: 1h burns 50×, 6h 8.3×, 1d 2.1× (< 3), 3d 1.04× with 6h above 1×.
    expect(checkout.firing).toEqual(['page-quick', 'page-slow', 'ticket-slow']);
    const row = html.slice(
      html.indexOf('<tr data-slo="shop/checkout">'),
      html.indexOf('</tr>', html.indexOf('<tr data-slo="shop/checkout">')),
    );
    expect(row).toContain('99.900%');
    expect(row).toContain(`${(checkout.budget.remainingRatio * 100).toFixed(1)}%`);
    expect(row).toContain(`<td>${checkout.burnRates['1h']?.toFixed(2)}</td>`);
    expect(row).toContain('<span class="badge page">page-quick</span>');
    for (const header of ['Burn 5m', 'Burn 30m', 'Burn 1h', 'Burn 2h', 'Burn 6h', 'Burn 1d', 'Burn 3d'])
      expect(html).toContain(`<th>${header}</th>`);
    expect(html.match(/<svg /g)).toHaveLength(6);
    expect(html.match(/class="slo-chart slo-chart-budget"/g)).toHaveLength(3);
    expect(html.match(/class="slo-chart slo-chart-error-ratio"/g)).toHaveLength(3);
    expect(html).toContain('Checkout requests succeed');
  });

  it('serves the data as JSON at <path>.json and leaves other paths and methods to the next handler', async () => {
    const { tracker } = await overviewFixture();
    const { handler } = createSloOverview({ tracker, path: '/slo/' });
    const json = await handler({ method: 'GET', path: '/slo.json', query: new URLSearchParams(), headers: {} });
    const data = JSON.parse(String(json?.body)) as {
      source: string;
      entries: Array<{ id: string; history: unknown[]; status: { firing: string[] } }>;
    };
    expect(data.source).toBe('tracker');
    expect(data.entries[0]?.id).toBe('shop/checkout');
    expect(data.entries[0]?.status.firing).toContain('page-quick');
    expect(data.entries[0]?.history.length).toBeGreaterThan(10);
    expect(await handler({ method: 'GET', path: '/other', query: new URLSearchParams(), headers: {} })).toBeUndefined();
    expect(await handler({ method: 'POST', path: '/slo', query: new URLSearchParams(), headers: {} })).toBeUndefined();
    expect(() => createSloOverview({})).toThrow(SloError);
  });

  it('is served through core adapters: node:http (listen), Express, fetch', async () => {
    const { tracker } = await overviewFixture();
    const { handler } = createSloOverview({ tracker, path: '/slo' });
    const server = await listen(handler);
    try {
      const response = await fetch(`${server.url}/slo`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<tr data-slo="shop/checkout">');
    } finally {
      await server.close();
    }
    const app = express();
    app.use('/ops', toExpressMiddleware(handler));
    const expressServer = await listen(app as unknown as Parameters<typeof listen>[0]);
    try {
      const response = await fetch(`${expressServer.url}/ops/slo`);
      expect(await response.text()).toContain('shop/payments');
    } finally {
      await expressServer.close();
    }
    const fetchHandler = toFetchHandler(handler);
    const response = await fetchHandler(new Request('http://localhost/slo'));
    expect(response?.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});

describe('SVG charts', () => {
  const steps = [
    { startMs: 0, endMs: 3_600_000, good: 999, bad: 1 },
    { startMs: 3_600_000, endMs: 7_200_000, good: 0, bad: 0 },
    { startMs: 7_200_000, endMs: 10_800_000, good: 980, bad: 20 },
  ];

  it('draws the budget burn-down from the period start: 1 − bad / (budget × total) of the events so far', () => {
    const svg = renderBudgetBurnDownSvg(steps, 0.99);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    // After step 1: 1 − 1/(0.01 × 1000) = 90%; step 2 adds no events (still 90%); after step 3: 1 − 21/20 = −5%.
    expect(svg).toContain('Error budget remaining over the period: -5.0% at the end');
    const points = svg.match(/<polyline[^>]*points="([^"]+)"/)?.[1]?.split(' ') ?? [];
    expect(points).toHaveLength(3);
    expect(points[0]?.split(',')[1]).toBe(points[1]?.split(',')[1]);
    expect(svg).toContain('budget spent');
  });

  it('draws the error ratio per step with the error budget as the reference line, and says when there is no data', () => {
    const svg = renderErrorRatioSvg(steps, 0.99);
    expect(svg).toContain('the worst step had 2.0% errors against an error budget of 1.0%');
    expect(svg).toContain('error budget 1.0%');
    expect(renderErrorRatioSvg([], 0.999)).toContain('no events yet');
    expect(renderBudgetBurnDownSvg([], 0.999, { startMs: 0, endMs: 1000 })).toContain('No events in the period yet.');
  });

  it('puts the same charts in the HTML report', () => {
    const html = renderReportHtml({
      range: { startMs: 0, endMs: 10_800_000, label: 'test range' },
      stepMs: 3_600_000,
      slos: [
        {
          id: 'shop/checkout',
          objective: 0.99,
          events: { good: 1979, bad: 21, total: 2000 },
          sli: 0.9895,
          met: false,
          budget: { allowedBadEvents: 20, consumedBadEvents: 21, consumedRatio: 1.05, remainingRatio: -0.05 },
          worstStep: { ...steps[2]!, errorRatio: 0.02 },
          steps,
        },
      ],
    });
    expect(html).toContain('class="slo-chart slo-chart-budget"');
    expect(html).toContain('class="slo-chart slo-chart-error-ratio"');
    expect(html).not.toMatch(/<script/i);
  });
});
