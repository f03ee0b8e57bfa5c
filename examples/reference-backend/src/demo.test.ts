import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_STEPS, formatStep, runDemo } from './demo.js';

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
  let capacityDirectory: string;
  beforeAll(async () => {
    capacityDirectory = await mkdtemp(join(tmpdir(), 'ops-reference-demo-test-'));
  });
  afterAll(async () => {
    await rm(capacityDirectory, { recursive: true, force: true });
  });

  it('runs the whole story in-process with embedded defaults (no environment), every step checked', async () => {
    const seen: string[] = [];
    const result = await runDemo({ environment: {}, capacityDirectory, onStep: (step) => seen.push(step.name) });

    const failed = result.steps.filter((step) => !step.ok).map((step) => `${step.name}: ${step.summary}`);
    expect(failed).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result).toMatchObject({ store: 'memory', cache: 'memory' });
    expect(seen).toEqual([...DEMO_STEPS]);
    const stepNamed = (name: string) => result.steps.find((step) => step.name === name);

    // SLO fast burn.
    const alerts = (stepNamed('slo')?.data as { alerts: Array<{ slo: string; tier: string; type: string }> }).alerts;
    expect(alerts).toContainEqual(
      expect.objectContaining({ type: 'alert.firing', slo: 'notes/api-availability', tier: 'page-quick' }),
    );
    // One P0 incident for the problem; the failing check and every page tier are in it.
    const incident = stepNamed('incident')?.data as {
      incident: { id: string; severity: string; dedupKey: string; occurrences: number };
      members: string[];
    };
    expect(incident.incident).toMatchObject({ severity: 'P0', dedupKey: 'notes:degraded' });
    expect(incident.members).toEqual(
      expect.arrayContaining(['health:notes:memory-budget', 'slo:notes/api-availability:page-quick']),
    );
    expect(incident.incident.occurrences).toBe(incident.members.length);
    // Escalation: L1's healing could not act yet, L2 got a signed page and an e-mail.
    const escalate = stepNamed('escalate')?.data as {
      l1: { description: string };
      page: { role: string; level: number; signatureValid: boolean };
      mailed: { subject: string } | undefined;
    };
    expect(escalate.l1.description).toMatch(/Automation heal: failed/);
    expect(escalate.page).toMatchObject({ role: 'platform-engineer', level: 2, signatureValid: true });
    expect(escalate.mailed?.subject).toContain(incident.incident.id);
    // Healing: the memory ladder's first step fixed it and the incident was mitigated.
    const heal = stepNamed('heal')?.data as {
      actions: Array<{ rule: string; step: number; action: string; outcome: string }>;
      incident: { status: string };
    };
    expect(heal.actions).toContainEqual(
      expect.objectContaining({ rule: 'memory', step: 1, action: 'clear caches', outcome: 'ok' }),
    );
    expect(heal.incident.status).toBe('mitigated');
    expect(stepNamed('resolve')?.summary).toMatch(/resolved \(reason: source\).*All Systems Operational; 0 incident/);
    expect(stepNamed('postmortem')?.lines.join('\n')).toMatch(/## Timeline/);
    expect(stepNamed('metrics')?.summary).toMatch(/MTTA 7\.0 min, MTTM 10\.\d min, MTTR 50\.0 min/);
    // The capacity report and its charts are on disk.
    const files = await readdir(capacityDirectory);
    expect(files).toEqual(expect.arrayContaining(['report.md', 'report.json', 'requests_per_second.svg']));
    expect(await readFile(join(capacityDirectory, 'requests_per_second.svg'), 'utf8')).toMatch(/^<svg/);
    expect(formatStep(result.steps[0]!, 0)).toMatch(/^✔ 1\. start/);
  });

  it('fails loudly when a step does not behave: a budget the fault cannot exhaust leaves nothing to heal', async () => {
    const result = await runDemo({
      environment: {},
      capacityDirectory,
      smtp: false,
      overrides: { cacheMemoryBudgetMb: 4_096 },
    });
    expect(result.ok).toBe(false);
    const fault = result.steps.find((step) => step.name === 'fault');
    expect(fault?.ok).toBe(false);
    expect(formatStep(fault!, 3)).toMatch(/^✘ 4\. fault/);
  });

  it('reports a configuration error naming the variable', async () => {
    await expect(runDemo({ environment: { DATABASE_URL: 'mysql://nope' } })).rejects.toThrow(
      /DATABASE_URL: expected a URL such as postgresql:\/\//,
    );
  });

  it('is what `pnpm demo --json` runs: one JSON document on stdout and exit code 0', async () => {
    const result = await runDemoCommand(['--json', '--out', join(capacityDirectory, 'cli')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout) as {
      ok: boolean;
      store: string;
      steps: Array<{ name: string; ok: boolean }>;
    };
    expect(document.ok).toBe(true);
    expect(document.store).toBe('memory');
    expect(document.steps.map((step) => step.ok)).toEqual(Array.from({ length: DEMO_STEPS.length }, () => true));
  });

  it('exits 2 on an unknown argument', async () => {
    const result = await runDemoCommand(['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown argument --bogus/);
  });
});
