import { createPrometheusClient, runCli } from '@ops/core';
import { startHttpServer, startPrometheus, tempDir } from '@ops/testkit';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSloCli } from '../cli/slo-cli.js';
import { createSloTracker } from '../engine/slo-tracker.js';
import { parseSloDocument } from '../spec/slo-spec.js';
import { buildSloReport, fetchSloStatus, renderReportMarkdown } from './prometheus-report.js';

const SLO_YAML = [
  'service: shop',
  'slos:',
  '  - name: checkout',
  '    objective: 0.99',
  '    sli: { type: availability }',
  '  - name: search',
  '    objective: 0.999',
  '    sli: { type: availability }',
].join('\n');

function capture() {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env: {},
    },
    output: () => ({ stdout, stderr }),
  };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('SLO reports and status from a real Prometheus (scraping a service exposing ops_slo_* metrics)', () => {
  const slos = parseSloDocument(SLO_YAML);
  const registry = new Registry();
  const tracker = createSloTracker({ slos, registry });
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let startMs = 0;
  const client = () => createPrometheusClient({ url: prometheus.url, timeout: '10s' });
  const sample = async (expr: string) => {
    const result = await client().query(expr);
    return result.resultType === 'vector' ? result.series[0]?.sample.value : undefined;
  };

  beforeAll(async () => {
    server = await startHttpServer(async (_request, response) => {
      response.setHeader('content-type', registry.contentType);
      response.end(await registry.metrics());
    });
    prometheus = await startPrometheus({
      configYaml: [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: shop',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${server.port}']`,
        '',
      ].join('\n'),
    });
    dir = await tempDir('slo-report');
    await writeFile(join(dir.path, 'slos.yaml'), SLO_YAML);
    // Counters are exported at 0 before any event, so Prometheus has a baseline.
    await waitFor(async () => (await sample('ops_slo_events_total{slo="checkout"}')) === 0, 'the first scrape');
    startMs = Date.now() - 3_000;
    tracker.get('checkout').add({ good: 970, bad: 30 });
    tracker.get('search').add({ good: 5_000 });
    await waitFor(
      async () => (await sample('ops_slo_events_total{slo="checkout"}')) === 1_000,
      'the scrape with the events',
    );
    tracker.get('checkout').add({ good: 100 });
    await waitFor(async () => (await sample('ops_slo_events_total{slo="checkout"}')) === 1_100, 'the second batch');
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await server?.close();
    await dir?.dispose();
  });

  it('builds an exact report from query_range over the raw counters, as Markdown and JSON', async () => {
    const endMs = Date.now() + 1_000;
    const report = await buildSloReport({ client: client(), slos, range: { startMs, endMs }, stepMs: 1_000 });
    const checkout = report.slos[0];
    expect(checkout?.events).toEqual({ good: 1_070, bad: 30, total: 1_100 });
    expect(checkout?.sli).toBeCloseTo(1_070 / 1_100, 12);
    expect(checkout?.met).toBe(false);
    // e = 30/1,100 = 2.73% against a 1% budget: 2.73× consumed.
    expect(checkout?.budget.consumedRatio).toBeCloseTo(30 / 1_100 / 0.01, 9);
    expect(checkout?.worstStep?.errorRatio).toBeCloseTo(0.03, 12);
    expect(report.slos[1]).toMatchObject({ events: { good: 5_000, bad: 0, total: 5_000 }, met: true, worstStep: null });
    const markdown = renderReportMarkdown(report);
    expect(markdown).toContain('| shop/checkout | 99.000% | 97.273% | **no** | 1100 | 30 | 272.7% | -172.7% |');
    expect(markdown).toContain('| shop/search | 99.900% | 100.000% | yes | 5000 | 0 | 0.0% | 100.0% |');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('reports the calendar day to date in hourly steps', async () => {
    const report = await buildSloReport({ client: client(), slos, range: { period: 'day', timeZone: 'UTC' } });
    expect(report.stepMs).toBe(3_600_000);
    expect(report.range.startMs).toBe(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    expect(report.slos[0]?.events).toEqual({ good: 1_070, bad: 30, total: 1_100 });
    expect(report.slos[0]?.steps.length).toBe(Math.ceil((report.range.endMs - report.range.startMs) / 3_600_000));
  });

  it('computes status from Prometheus (increase() over each window)', async () => {
    const status = await fetchSloStatus({ client: client(), slo: slos[0] as (typeof slos)[0] });
    // increase() extrapolates to the end of the window (up to ~one scrape interval at the average rate): with a
    // thousand events arriving in one 1 s scrape of a ~10 s old series that is up to ~+20%; the ratio is unaffected.
    expect(status.events.total).toBeGreaterThanOrEqual(1_100);
    expect(status.events.total).toBeLessThan(1_400);
    expect(status.errorRatio).toBeCloseTo(30 / 1_100, 2);
    // Burn rate 2.73 (2.73% errors on a 1% budget): above ticket-slow's 1, below ticket-quick's 3.
    expect(status.burnRates['5m']).toBeCloseTo(30 / 1_100 / 0.01, 1);
    expect(status.firing).toEqual(['ticket-slow']);
    expect(JSON.stringify(status)).not.toMatch(/null,"errorRatio":NaN|Infinity/);
  });

  it('ops-slo status and report talk to Prometheus with exit codes', async () => {
    const config = join(dir.path, 'slos.yaml');
    const status = capture();
    expect(await runCli(createSloCli(), ['status', '-c', config, '--prometheus', prometheus.url], status.io)).toBe(1);
    expect(status.output().stdout).toMatch(/shop\/checkout\s+99\.000%\s+97\.\d+%/);
    expect(status.output().stdout).toContain('ticket-slow');
    const searchOnly = capture();
    expect(
      await runCli(
        createSloCli(),
        ['status', '-c', config, '--slo', 'search', '--prometheus', prometheus.url, '--json'],
        searchOnly.io,
      ),
    ).toBe(0);
    expect(JSON.parse(searchOnly.output().stdout).statuses[0].firing).toEqual([]);
    const report = capture();
    const code = await runCli(
      createSloCli(),
      [
        'report',
        '-c',
        config,
        '--prometheus',
        prometheus.url,
        '--from',
        new Date(startMs).toISOString(),
        '--to',
        new Date(Date.now() + 1_000).toISOString(),
        '--step',
        '1s',
        '--json',
      ],
      report.io,
    );
    expect(code).toBe(1);
    expect(JSON.parse(report.output().stdout).report.slos[0].events).toEqual({ good: 1_070, bad: 30, total: 1_100 });
    const html = capture();
    const htmlCode = await runCli(
      createSloCli(),
      [
        'report',
        '-c',
        config,
        '--prometheus',
        prometheus.url,
        '--from',
        new Date(startMs).toISOString(),
        '--to',
        new Date(Date.now() + 1_000).toISOString(),
        '--step',
        '1s',
        '--format',
        'html',
      ],
      html.io,
    );
    expect(htmlCode).toBe(1);
    expect(html.output().stdout).toMatch(/^<!doctype html>/);
    expect(html.output().stdout.match(/class="slo-chart slo-chart-budget"/g)?.length).toBeGreaterThanOrEqual(1);
    expect(html.output().stdout).toContain('class="slo-chart slo-chart-error-ratio"');
  });
});
