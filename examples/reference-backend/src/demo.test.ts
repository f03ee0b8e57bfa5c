import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatStep, runDemo } from './demo.js';

const PACKAGE_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));

/** Runs `tsx src/demo.ts` (what `pnpm demo` runs) with an empty environment apart from PATH/HOME. */
function runDemoCommand(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/demo.ts', ...args],
      { cwd: PACKAGE_DIRECTORY, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe('demo scenario', () => {
  it('runs in-process with embedded defaults (no environment) and every step behaves as expected', async () => {
    const seen: string[] = [];
    const result = await runDemo({ environment: {}, onStep: (step) => seen.push(step.name) });

    const failed = result.steps.filter((step) => !step.ok).map((step) => `${step.name}: ${step.summary}`);
    expect(failed).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.store).toBe('memory');
    expect(result.cache).toBe('memory');
    expect(seen).toEqual(['start', 'traffic', 'ready', 'fault', 'recover', 'backup', 'restore', 'shutdown']);

    const fault = result.steps.find((step) => step.name === 'fault');
    const alerts = (fault?.data as { alerts: Array<{ slo: string; tier: string; type: string }> }).alerts;
    expect(alerts).toContainEqual(
      expect.objectContaining({ type: 'alert.firing', slo: 'notes/api-availability', tier: 'page-quick' }),
    );
    expect(fault?.logs.some((line) => line.includes('SLO alert firing: notes/api-availability page-quick'))).toBe(true);

    const ready = result.steps.find((step) => step.name === 'ready');
    expect(ready?.data).toMatchObject({ status: 'warn', serviceId: 'notes' });
    expect(Object.keys((ready?.data as { checks: object }).checks)).toEqual(
      expect.arrayContaining([
        'notes-store:responseTime',
        'memory:utilization',
        'event-loop:eventLoopDelay',
        'disk:utilization',
        'backup-freshness:age',
      ]),
    );

    const recover = result.steps.find((step) => step.name === 'recover');
    expect((recover?.data as { resolved: Array<{ slo: string; tier: string }> }).resolved).toContainEqual(
      expect.objectContaining({ slo: 'notes/api-availability', tier: 'page-quick' }),
    );
    expect(formatStep(result.steps[0]!, 0)).toMatch(/^✔ 1\. start/);
  });

  it('reports a configuration error naming the variable', async () => {
    await expect(runDemo({ environment: { DATABASE_URL: 'mysql://nope' } })).rejects.toThrow(
      /DATABASE_URL: expected a URL such as postgresql:\/\//,
    );
  });

  it('is what `pnpm demo --json` runs: one JSON document on stdout and exit code 0', async () => {
    const result = await runDemoCommand(['--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout) as {
      ok: boolean;
      store: string;
      steps: Array<{ name: string; ok: boolean }>;
    };
    expect(document.ok).toBe(true);
    expect(document.store).toBe('memory');
    expect(document.steps.map((step) => step.ok)).toEqual(Array.from({ length: 8 }, () => true));
  });

  it('exits 2 on an unknown argument', async () => {
    const result = await runDemoCommand(['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown argument --bogus/);
  });
});
