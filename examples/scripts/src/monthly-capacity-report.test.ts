// monthly-capacity-report.sh the way a user runs it: bash, with ops-capacity on PATH, over series files written here
// (three weeks of hourly samples), and its Prometheus config against a real (empty) Prometheus.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_DIRECTORY, runCommand } from './testing/run.js';

const SCRIPT = join(PACKAGE_DIRECTORY, 'monthly-capacity-report.sh');
const PATH = `${join(PACKAGE_DIRECTORY, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;
let work: string;

function csv(values: (hour: number) => number): string {
  const start = Date.UTC(2026, 9, 1);
  const lines = ['timestamp,value'];
  for (let hour = 0; hour < 24 * 21; hour++)
    lines.push(`${new Date(start + hour * 3_600_000).toISOString()},${values(hour)}`);
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-capacity-report-'));
  // Requests with a daily cycle; a database growing 50 MB a day towards a 2 GB disk.
  await writeFile(
    join(work, 'requests.csv'),
    csv((hour) => 100 + 40 * Math.sin((2 * Math.PI * (hour % 24)) / 24) + hour * 0.05),
  );
  await writeFile(
    join(work, 'db-size.csv'),
    csv((hour) => 1e9 + (hour * 50e6) / 24),
  );
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('monthly-capacity-report.sh', () => {
  it('writes report.md, report.json and the SVG charts into REPORT_DIR/<month>', async () => {
    const result = await runCommand(
      'bash',
      [SCRIPT, join(work, 'requests.csv'), join(work, 'db-size.csv'), '--capacity', 'db-size=2e9'],
      { env: { PATH, REPORT_DIR: join(work, 'reports'), REPORT_MONTH: '2026-10' }, cwd: work },
    );
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const out = join(work, 'reports', '2026-10');
    expect(result.stdout).toContain(`monthly-capacity-report: ${out}/report.md, report.json and 4 SVG charts`);
    expect((await readdir(out)).sort()).toEqual([
      'db-size-hour-of-week.svg',
      'db-size.svg',
      'report.json',
      'report.md',
      'requests-hour-of-week.svg',
      'requests.svg',
    ]);
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).toMatch(/^# Capacity report 2026-10\n/);
    expect(markdown).toContain('## Time to exhaustion');
    expect(markdown).toMatch(/\| db-size \| 2\.0G \|/);
    expect(markdown).toContain('![requests forecast](requests.svg)');
    expect(await readFile(join(out, 'db-size.svg'), 'utf8')).toMatch(
      /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
    );
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { series: Array<{ name: string }> };
    expect(report.series.map((series) => series.name)).toEqual(['requests', 'db-size']);
  });

  it('exits 2 saying what is missing: REPORT_DIR, PROMETHEUS_URL without files, a bad REPORT_MONTH', async () => {
    const noDir = await runCommand('bash', [SCRIPT], { env: { PATH, REPORT_DIR: '' } });
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('set REPORT_DIR');
    const noPrometheus = await runCommand('bash', [SCRIPT], { env: { PATH, REPORT_DIR: work, PROMETHEUS_URL: '' } });
    expect(noPrometheus.code).toBe(2);
    expect(noPrometheus.stderr).toContain('set PROMETHEUS_URL');
    const badMonth = await runCommand('bash', [SCRIPT, 'x.csv'], {
      env: { PATH, REPORT_DIR: work, REPORT_MONTH: 'May' },
    });
    expect(badMonth.code).toBe(2);
    expect(badMonth.stderr).toContain('REPORT_MONTH must be YYYY-MM');
  });

  it("reads capacity.yaml's queries from PROMETHEUS_URL (a real Prometheus with no service data: the first query names itself)", async () => {
    const prometheus = await startPrometheus();
    try {
      const result = await runCommand('bash', [SCRIPT], {
        env: { PATH, REPORT_DIR: join(work, 'prom-reports'), PROMETHEUS_URL: prometheus.url },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('the query of requests returned no series');
    } finally {
      await prometheus.stop();
    }
  });
});
