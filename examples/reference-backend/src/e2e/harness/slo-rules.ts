import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_DIRECTORY } from './backend-process.js';

const execFileAsync = promisify(execFile);

/** The `ops-slo` CLI as a user of this package runs it (`node_modules/.bin/ops-slo`, from @ops/slo's dist). */
export const OPS_SLO_BIN = join(PACKAGE_DIRECTORY, 'node_modules', '.bin', 'ops-slo');

/**
 * Runs `ops-slo rules <sloFile> --interval <interval>` and returns the rule file it printed. Fails saying what to
 * build when @ops/slo has not been built.
 */
export async function generateSloRules(sloFile: string, interval = '1s'): Promise<string> {
  if (!existsSync(OPS_SLO_BIN) || !existsSync(join(PACKAGE_DIRECTORY, 'node_modules', '@ops', 'slo', 'dist'))) {
    throw new Error(`ops-slo is not built: run \`pnpm --filter @ops/slo build\` (looked for ${OPS_SLO_BIN})`);
  }
  const { stdout } = await execFileAsync(OPS_SLO_BIN, ['rules', sloFile, '--interval', interval], {
    cwd: PACKAGE_DIRECTORY,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}
