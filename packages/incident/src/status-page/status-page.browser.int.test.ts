import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listen, type ListeningServer } from '@ops/core';
import { launchChromium, tempDir } from '@ops/testkit';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidentManager, type IncidentManager } from '../lifecycle/incident-manager.js';
import { createStatusPage } from './status-page.js';

describe('status page in headless Chromium, JavaScript disabled', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let context: BrowserContext;
  let server: ListeningServer;
  let incidents: IncidentManager;

  beforeAll(async () => {
    dir = await tempDir('incident-status-page');
    context = await launchChromium({
      profileDirectory: join(dir.path, 'profile'),
      javaScriptEnabled: false,
      viewport: { width: 1000, height: 900 },
    });
    incidents = createIncidentManager({ autoStart: false });
    const statusPage = createStatusPage(incidents, {
      page: { name: 'Acme', url: 'https://status.acme.example' },
      components: [
        { id: 'checkout', name: 'Checkout' },
        { id: 'search', name: 'Search' },
      ],
      cacheTtl: 0,
    });
    server = await listen(statusPage.handler);
  });
  afterAll(async () => {
    await context?.close();
    await server?.close();
    await incidents?.close();
    await dir?.dispose();
  });

  it(
    'renders, shows an incident with its public update, and drops it once resolved (screenshot in the temp dir)',
    { timeout: 60_000 },
    async () => {
      const page = await context.newPage();
      await page.goto(`${server.url}/status`);
      expect(await page.textContent('#page-status')).toBe('All Systems Operational');
      expect(await page.locator('[data-component-id]').count()).toBe(2);
      expect(await page.locator('article.incident').count()).toBe(0);

      const { incident } = await incidents.trigger({
        service: 'checkout',
        title: 'Checkout payments failing',
        severity: 'P0',
      });
      await incidents.postUpdate(incident!.id, { body: 'Payments fail for some customers; we are on it.' });
      await page.reload();
      expect(await page.textContent('#page-status')).toBe('Major Service Outage');
      const card = page.locator(`article.incident[data-incident-id="${incident!.id}"]`);
      expect(await card.count()).toBe(1);
      expect(await card.textContent()).toContain('Payments fail for some customers; we are on it.');
      expect(await page.getAttribute('[data-component-id="checkout"]', 'data-status')).toBe('major_outage');
      // Runs in the page (no DOM types in this project's lib): the banner's computed colour.
      const banner = await page
        .locator('#page-status')
        .evaluate(
          (element) =>
            (
              globalThis as unknown as { getComputedStyle(node: unknown): { backgroundColor: string } }
            ).getComputedStyle(element).backgroundColor,
        );
      expect(banner).toBe('rgb(231, 76, 60)');
      const file = join(dir.path, 'status-page-incident.png');
      await page.screenshot({ path: file, fullPage: true });
      const png = await readFile(file);
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(png.readUInt32BE(16)).toBe(1000);
      console.info(`screenshot: ${file}`);

      await incidents.resolve(incident!.id, { reason: 'source' });
      await page.reload();
      expect(await page.textContent('#page-status')).toBe('All Systems Operational');
      expect(await page.locator('article.incident').count()).toBe(0);
      expect(await page.textContent('ul.history')).toContain('Checkout payments failing');
      await page.close();
    },
  );
});
