// Renders the report's SVG charts in headless Chromium (Debian package, driven by playwright-core) and checks the
// pixels: the chart is drawn, the band, history, forecast and capacity colours are all there, and a screenshot is a
// PNG of the chart's size.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '@ops/core';
import { launchChromium } from '@ops/testkit';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { buildCapacityReport } from './capacity-report.js';
import { CHART_COLORS, renderForecastSvg, renderHeatmapSvg } from './svg-charts.js';

let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  profile = await mkdtemp(join(tmpdir(), 'ops-capacity-chromium-'));
  browser = await launchChromium({ profileDirectory: profile, viewport: { width: 1280, height: 720 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

function hex(color: string): [number, number, number] {
  return [1, 3, 5].map((offset) => parseInt(color.slice(offset, offset + 2), 16)) as [number, number, number];
}

async function pixelCounts(
  svg: string,
  colors: Record<string, string>,
): Promise<{ width: number; height: number; counts: Record<string, number>; nonWhite: number }> {
  const page = await browser.newPage();
  try {
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    const targets = Object.fromEntries(Object.entries(colors).map(([name, color]) => [name, hex(color)]));
    // Runs in the page (DOM code, so given as source text: this package compiles without DOM types).
    const script = `(async () => {
      const markup = ${JSON.stringify(svg)};
      const wanted = ${JSON.stringify(targets)};
      const image = new Image();
      image.src = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(markup)));
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      const counts = Object.fromEntries(Object.keys(wanted).map((name) => [name, 0]));
      let nonWhite = 0;
      for (let index = 0; index < data.length; index += 4) {
        const r = data[index], g = data[index + 1], b = data[index + 2];
        if (r < 250 || g < 250 || b < 250) nonWhite++;
        for (const [name, [tr, tg, tb]] of Object.entries(wanted)) if (Math.abs(r - tr) <= 6 && Math.abs(g - tg) <= 6 && Math.abs(b - tb) <= 6) counts[name]++;
      }
      return { width: canvas.width, height: canvas.height, counts, nonWhite };
    })()`;
    return (await page.evaluate(script)) as {
      width: number;
      height: number;
      counts: Record<string, number>;
      nonWhite: number;
    };
  } finally {
    await page.close();
  }
}

describe('SVG charts in Chromium', () => {
  const clock = createManualClock(Date.UTC(2026, 1, 2));
  const series = syntheticSeries({ length: 24 * 21, level: 40, trendPerDay: 1, noiseRatio: 0.1, seed: 6 });
  const report = buildCapacityReport({
    clock,
    series: [{ name: 'connections', series, capacity: 140 }],
    horizon: '7d',
  });

  it('the forecast chart renders with history, forecast, band and capacity line, and screenshots as a PNG of its size', async () => {
    const svg = renderForecastSvg(report.series[0]!, { width: 800, height: 320 });
    const { width, height, counts, nonWhite } = await pixelCounts(svg, {
      history: CHART_COLORS.history,
      forecast: CHART_COLORS.forecast,
      band: CHART_COLORS.band,
      capacity: CHART_COLORS.capacity,
    });
    expect([width, height]).toEqual([800, 320]);
    if (process.env['OPS_CAPACITY_SCREENSHOT']) {
      const page = await browser.newPage();
      await page.setViewportSize({ width: 800, height: 320 });
      await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
      await writeFile(process.env['OPS_CAPACITY_SCREENSHOT'], await page.locator('svg').screenshot());
      await page.close();
    }
    expect(counts['band']!).toBeGreaterThan(2000); // a filled area, not a line
    expect(counts['history']!).toBeGreaterThan(200);
    expect(counts['forecast']!).toBeGreaterThan(100);
    expect(counts['capacity']!).toBeGreaterThan(100);
    expect(nonWhite).toBeGreaterThan(5000);

    const page = await browser.newPage();
    await page.setViewportSize({ width: 800, height: 320 });
    const directory = await mkdtemp(join(tmpdir(), 'ops-capacity-svg-'));
    try {
      await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
      const png = await page.locator('svg').screenshot();
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(800);
      expect(png.readUInt32BE(20)).toBe(320);
      await writeFile(join(directory, 'forecast.png'), png);
    } finally {
      await page.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('the hour-of-week heatmap renders 168 coloured cells', async () => {
    const svg = renderHeatmapSvg(report.series[0]!);
    const { nonWhite, width } = await pixelCounts(svg, {});
    expect(width).toBe(40 + 24 * 24 + 20);
    expect(nonWhite).toBeGreaterThan(168 * 23 * 23 * 0.5);
  });
});
