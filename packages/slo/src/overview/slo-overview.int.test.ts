import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen, runCli } from '@ops/core';
import { launchChromium, startPrometheus, tempDir, type TestPrometheus } from '@ops/testkit';
import type { BrowserContext } from 'playwright-core';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSloCli } from '../cli/slo-cli.js';
import { overviewFixture } from './overview-fixture.js';
import { createSloOverview } from './slo-overview.js';

const slothGettingStarted = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'spec',
  'fixtures',
  'sloth',
  'getting-started.yml',
);

/** Checks a PNG: signature, and width/height from its IHDR chunk. */
async function pngSize(file: string): Promise<{ width: number; height: number; bytes: number }> {
  const data = await readFile(file);
  expect(data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20), bytes: data.length };
}

/** Saves a full-page screenshot in the test's temp dir (and in OPS_SLO_SCREENSHOT_DIR when set), returns its path. */
async function screenshot(context: BrowserContext, url: string, dir: string, name: string): Promise<string> {
  const page = await context.newPage();
  await page.goto(url);
  const file = join(dir, name);
  await page.screenshot({ path: file, fullPage: true });
  await page.close();
  const keep = process.env['OPS_SLO_SCREENSHOT_DIR'];
  if (keep) {
    await mkdir(keep, { recursive: true });
    await copyFile(file, join(keep, name));
  }
  console.info(`screenshot: ${file}`);
  return file;
}

describe('SLO overview page in headless Chromium, JavaScript disabled', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let context: BrowserContext;
  beforeAll(async () => {
    dir = await tempDir('slo-overview-browser');
    context = await launchChromium({
      profileDirectory: join(dir.path, 'profile'),
      javaScriptEnabled: false,
      viewport: { width: 1400, height: 900 },
    });
  });
  afterAll(async () => {
    await context?.close();
    await dir?.dispose();
  });

  it(
    'renders the in-process overview: list, tiers, burn-down and error-ratio charts (screenshot in the temp dir)',
    { timeout: 60_000 },
    async () => {
      const { tracker } = await overviewFixture();
      const server = await listen(createSloOverview({ tracker, path: '/slo', title: 'Shop SLOs' }).handler);
      try {
        const page = await context.newPage();
        const response = await page.goto(`${server.url}/slo`);
        expect(response?.status()).toBe(200);
        expect(await page.title()).toBe('Shop SLOs');
        const ids = await page.locator('table.slo-list tbody tr td:first-child').allInnerTexts();
        expect(ids).toEqual(['shop/checkout', 'shop/payments', 'shop/search-latency']);
        const checkoutRow = page.locator('tr[data-slo="shop/checkout"]');
        expect(await checkoutRow.innerText()).toContain('99.900%');
        expect(await checkoutRow.locator('.badge.page').allInnerTexts()).toEqual(['page-quick', 'page-slow']);
        expect(await checkoutRow.locator('.badge.ticket').allInnerTexts()).toEqual(['ticket-slow']);
        const section = page.locator('section#slo-shop-checkout');
        expect(await section.locator('dl.tiles').innerText()).toMatch(/Error budget remaining\s+-\d+\.\d%/);
        expect(await section.locator('table.tiers tbody tr').count()).toBe(4);
        // Two inline SVG charts per SLO, each laid out with a size and a drawn line.
        expect(await page.locator('svg.slo-chart').count()).toBe(6);
        const box = await section.locator('svg.slo-chart-budget').boundingBox();
        expect(box?.width).toBeGreaterThan(300);
        expect(box?.height).toBeGreaterThan(100);
        expect(await section.locator('svg.slo-chart-error-ratio polyline.slo-chart-line').count()).toBe(1);
        expect(await section.locator('svg.slo-chart-budget title').textContent()).toBe('Error budget remaining');
        await page.close();
        const file = await screenshot(context, `${server.url}/slo`, dir.path, 'slo-overview.png');
        const png = await pngSize(file);
        expect(png.width).toBe(1400);
        expect(png.height).toBeGreaterThan(900);
        expect(png.bytes).toBeGreaterThan(20_000);
      } finally {
        const closing = server.close();
        server.server.closeAllConnections();
        await closing;
      }
    },
  );

  describe('ops-slo serve against Prometheus, from a Sloth spec', () => {
    let target: Awaited<ReturnType<typeof listen>>;
    let prometheus: TestPrometheus;
    beforeAll(async () => {
      // The service Sloth's getting-started example watches: 5 of every 105 requests fail, on every scrape.
      const registry = new Registry();
      const requests = new Counter({
        name: 'http_request_duration_seconds_count',
        help: 'requests',
        labelNames: ['code'],
        registers: [registry],
      });
      target = await listen(async () => {
        requests.inc({ code: '200' }, 100);
        requests.inc({ code: '503' }, 5);
        return { status: 200, headers: { 'content-type': registry.contentType }, body: await registry.metrics() };
      });
      prometheus = await startPrometheus({
        configYaml: [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          'scrape_configs:',
          '  - job_name: myservice',
          `    static_configs: [{ targets: ['127.0.0.1:${target.port}'] }]`,
          '',
        ].join('\n'),
      });
    });
    afterAll(async () => {
      await prometheus?.stop();
      await target?.close();
    });

    it('serves every SLO with its status and charts computed from Prometheus', { timeout: 90_000 }, async () => {
      const started = performance.now();
      // Wait for a few scrapes: rate() needs two samples.
      for (let attempt = 0; attempt < 60; attempt++) {
        const response = await fetch(
          `${prometheus.url}/api/v1/query?query=${encodeURIComponent('count_over_time(http_request_duration_seconds_count{job="myservice"}[1m])')}`,
        );
        const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
        if (Number(body.data.result[0]?.value[1] ?? 0) >= 4) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      console.info(`Prometheus had data after ${Math.round(performance.now() - started)} ms`);
      let html = '';
      let json = '';
      let shot = '';
      let stderr = '';
      const cli = createSloCli({
        serveUntil: async ({ url }) => {
          html = await (await fetch(`${url}/`)).text();
          json = await (await fetch(`${url}/index.json`)).text();
          shot = await screenshot(context, `${url}/`, dir.path, 'slo-serve.png');
        },
      });
      const exitCode = await runCli(
        cli,
        ['serve', slothGettingStarted, '--prometheus', prometheus.url, '--port', '0'],
        {
          stdout: { write: () => true },
          stderr: { write: (chunk: string) => (stderr += chunk) },
          env: {},
        },
      );
      expect(exitCode, stderr).toBe(0);
      expect(stderr).toMatch(/SLO overview on http:\/\/127\.0\.0\.1:\d+\//);
      expect(html).toContain('<tr data-slo="myservice/requests-availability">');
      expect(html).toContain('from Prometheus');
      expect(html.match(/<svg /g)).toHaveLength(2);
      const data = JSON.parse(json) as {
        source: string;
        entries: Array<{ status?: { sli: number; burnRates: Record<string, number> } }>;
      };
      expect(data.source).toBe('prometheus');
      // 5 of 105 requests fail: SLI 95.24%, 5m burn rate 47.6 (error budget 0.1%).
      expect(data.entries[0]?.status?.sli).toBeCloseTo(100 / 105, 2);
      expect(data.entries[0]?.status?.burnRates['5m']).toBeCloseTo(5 / 105 / 0.001, 0);
      expect((await pngSize(shot)).bytes).toBeGreaterThan(10_000);
    });
  });
});
