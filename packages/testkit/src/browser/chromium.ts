import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium, unless `OPS_CHROMIUM` points elsewhere. */
export const CHROMIUM_PATH = process.env['OPS_CHROMIUM'] ?? '/usr/bin/chromium';

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** The browser's own `--user-data-dir` (a test temp dir); the caller removes it. */
  profileDirectory: string;
  /** Default 1280 × 900. */
  viewport?: { width: number; height: number };
  /** Default `true`; pages meant to work without JavaScript are tested with `false`. */
  javaScriptEnabled?: boolean;
}

/**
 * Headless Chromium for page and SVG tests, with its own profile, no sandbox (root in CI) and nothing that reaches
 * the network by itself. A missing browser is a failure that says how to install it, never a skip.
 */
export async function launchChromium(options: LaunchChromiumOptions): Promise<BrowserContext> {
  const { profileDirectory, viewport = { width: 1280, height: 900 }, javaScriptEnabled = true } = options;
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium (or set OPS_CHROMIUM)`);
  }
  // A persistent context is how playwright takes our own --user-data-dir.
  return chromium.launchPersistentContext(profileDirectory, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    javaScriptEnabled,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
