import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { TestContext } from 'vitest';

/**
 * Takes a full-page screenshot into `directory` as `<name>.png`, prints its path, and attaches it to the test's
 * output (`context.annotate`, inline PNG, so reporters show it without copying files into the repository).
 * Returns the path.
 */
export async function attachScreenshot(
  page: Page,
  context: Pick<TestContext, 'annotate'>,
  directory: string,
  name: string,
): Promise<string> {
  const path = join(directory, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  const png = await readFile(path);
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error(`${path} is not a PNG`);
  console.info(`screenshot ${name}: ${path}`);
  await context.annotate(`screenshot ${name}: ${path}`, 'screenshot', {
    contentType: 'image/png',
    body: new Uint8Array(png),
  });
  return path;
}
