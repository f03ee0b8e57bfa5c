import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

// The published builds, not the sources: metrics load the optional prom-client peer at run time, which must work
// from both the ESM and the CJS output (a bundler's `require` shim throws under ESM).
const program = (load: string) => `
${load}
const registry = new Registry();
createBackupMetrics({ registry });
const text = await registry.metrics();
if (!text.includes('ops_backup_runs_total')) throw new Error('metric missing:\\n' + text);
console.log('ok');
`;

describe('built package', () => {
  it('registers prom-client metrics from the ESM build', async () => {
    const source = program(
      "import { createBackupMetrics } from '@ops/backup'; import { Registry } from 'prom-client';",
    );
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd: packageDir });
    expect(stdout.trim()).toBe('ok');
  });

  it('registers prom-client metrics from the CJS build', async () => {
    const source = `(async () => { ${program("const { createBackupMetrics } = require('@ops/backup'); const { Registry } = require('prom-client');")} })().catch((error) => { console.error(error); process.exit(1); });`;
    const { stdout } = await run(process.execPath, ['-e', source], { cwd: packageDir });
    expect(stdout.trim()).toBe('ok');
  });

  it('ships the storage contract in the ./testing entry of both builds', async () => {
    const esm = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { storageContract } from '@ops/backup/testing'; console.log(storageContract.name, Object.keys(storageContract.cases).length > 10);",
      ],
      { cwd: packageDir },
    );
    expect(esm.stdout.trim()).toBe('BackupStorage true');
    const cjs = await run(
      process.execPath,
      [
        '-e',
        "const { storageContract } = require('@ops/backup/testing'); console.log(storageContract.name, Object.keys(storageContract.cases).length > 10);",
      ],
      { cwd: packageDir },
    );
    expect(cjs.stdout.trim()).toBe('BackupStorage true');
  });
});
