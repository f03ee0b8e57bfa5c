// The bash scripts explain themselves: --help prints the comment block at their top (usage, variables, exit codes)
// and exits 0 without running anything or needing the @ops CLIs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_DIRECTORY, runCommand } from './testing/run.js';

describe('bash scripts --help', () => {
  it.each([
    ['nightly-backup.sh', 'Exit codes: 0 backed up, verified and within the RPO'],
    ['generate-slo-rules.sh', './generate-slo-rules.sh [slos.yaml] [slo-rules.yaml]'],
    ['monthly-capacity-report.sh', 'Exit codes: 0 report written, 1 a source failed, 2 usage or config error.'],
  ])('%s --help', async (script, expected) => {
    // An empty PATH apart from bash's own tools: help must not need ops-backup, ops-slo or ops-capacity.
    const result = await runCommand('bash', [join(PACKAGE_DIRECTORY, script), '--help'], {
      env: { PATH: '/usr/bin:/bin', DATABASE_URL: '', BACKUP_DIR: '', REPORT_DIR: '' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(expected);
    expect(result.stdout).not.toMatch(/^#/m);
    expect(result.stdout).not.toContain('set -euo pipefail');
  });
});
