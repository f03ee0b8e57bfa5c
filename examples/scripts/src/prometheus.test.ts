// The Prometheus side of the morning check and the evening summary: a real Prometheus scrapes the reference backend
// every second and evaluates an alert rule; the scripts read SLO status, firing alerts and the day's traffic from it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrometheus, type TestPrometheus } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from '../../reference-backend/src/backend.js';
import { createEveningSummary, type EveningSummary } from './evening-summary.js';
import { runScript } from './lib/script.js';
import { morningCheck } from './morning-check.js';
import { captureIo } from './testing/run.js';

const SLO_FILE = fileURLToPath(new URL('../../reference-backend/slos.yaml', import.meta.url));
let work: string;
let backend: ReferenceBackend;
let prometheus: TestPrometheus;

async function query(expr: string): Promise<number> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return Number(body.data.result[0]?.value[1] ?? Number.NaN);
}

/** Waits (bounded) until Prometheus has scraped a value of `expr` of at least `atLeast`. */
async function waitFor(expr: string, atLeast: number): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if ((await query(expr)) >= atLeast) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Prometheus never saw ${expr} >= ${atLeast}`);
}

async function get(times: number): Promise<void> {
  for (let index = 0; index < times; index++) await (await fetch(`${backend.url}/notes`)).arrayBuffer();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-scripts-prometheus-'));
  backend = await startReferenceBackend({
    config: { port: 0, backupDirectory: join(work, 'backups'), drainDelay: 0 },
    sloEvaluateEvery: false,
    signals: [],
    exit: () => undefined,
  });
  prometheus = await startPrometheus({
    configYaml: [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [alerts.yml]',
      'scrape_configs:',
      '  - job_name: notes',
      `    static_configs: [{ targets: ['127.0.0.1:${backend.port}'] }]`,
      '',
    ].join('\n'),
    ruleFiles: {
      'alerts.yml':
        'groups:\n  - name: notes\n    rules:\n      - alert: NotesDown\n        expr: vector(1)\n        labels: { severity: critical }\n',
    },
  });
  // Traffic in steps, each seen by a scrape, so increase() has something to measure: good, then failing requests.
  await get(1);
  await waitFor('sum(http_requests_total)', 1);
  await get(20);
  backend.faults.set({ storeUnavailable: true });
  await get(1);
  await waitFor('sum(http_requests_total{code="503"})', 1);
  await get(5);
  backend.faults.clear();
  await waitFor('sum(http_requests_total)', 27);
  await waitFor('count(ALERTS{alertstate="firing"})', 1);
});

afterAll(async () => {
  await prometheus?.stop();
  await backend?.shutdown('test finished');
  if (work) await rm(work, { recursive: true, force: true });
});

describe('scripts on Prometheus', () => {
  it('morning-check: SLO status from Prometheus with --slos, and a firing critical alert fails the check', async () => {
    const io = captureIo({});
    const code = await runScript(
      morningCheck,
      [
        '--prometheus',
        prometheus.url,
        '--slos',
        SLO_FILE,
        '--disk-fail',
        '1',
        '--disk-warn',
        '1',
        '--memory-fail',
        '1',
        '--memory-warn',
        '1',
        '--json',
      ],
      io.io,
    );
    expect(code).toBe(1);
    const rows = (JSON.parse(io.stdout()) as { rows: Array<{ check: string; status: string; detail: string }> }).rows;
    expect(rows.find((row) => row.check === 'alerts')).toMatchObject({
      status: 'fail',
      detail: '1 firing: NotesDown (critical)',
    });
    const availability = rows.find((row) => row.check === 'slo notes/api-availability');
    // Six failing requests out of twenty-seven against a 1% budget: far overspent.
    expect(availability).toMatchObject({ status: 'fail' });
    expect(availability?.detail).toMatch(/^objective 99\.00%, SLI [0-9.]+%, budget left -\d/);
  });

  it('evening-summary: requests, 5xx and SLO burn over --since from Prometheus increase()', async () => {
    const io = captureIo({});
    const code = await runScript(
      createEveningSummary(),
      ['--prometheus', prometheus.url, '--since', '10m', '--json'],
      io.io,
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(io.stdout()) as EveningSummary;
    expect(summary.window).toBe('the last 10m (Prometheus increase(), extrapolated)');
    expect(summary.traffic.requests).toBeGreaterThan(0);
    expect(summary.traffic.errors).toBeGreaterThan(0);
    expect(summary.traffic.errorRate).toBeGreaterThan(0);
    const availability = summary.slos.find((slo) => slo.slo === 'notes/api-availability');
    expect(availability?.objective).toBe(0.99);
    expect(availability?.bad).toBeGreaterThan(0);
    expect(availability?.burnRate).toBeGreaterThan(1);
  });
});
