import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createManualClock, runCli, type PrometheusClient } from '@ops/core';
import { tempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { capacityCli, createCapacityCli } from './capacity-cli.js';

function capture() {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env: {},
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

const toCsv = (series: { timestamps: number[]; values: number[] }) =>
  `timestamp,value\n${series.timestamps.map((at, index) => `${new Date(at).toISOString()},${series.values[index]}`).join('\n')}\n`;

describe('ops-capacity CLI', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const file = (name: string) => join(dir.path, name);
  const traffic = syntheticSeries({ length: 24 * 21, level: 100, trendPerDay: 2, seed: 2 });
  const end = traffic.timestamps.at(-1)!;
  const clock = createManualClock(end);
  const disk = {
    timestamps: traffic.timestamps,
    values: traffic.timestamps.map((_, hour) => 100e9 + hour * 0.5e9 + (hour % 7) * 1e8),
  };
  const cpu = { timestamps: traffic.timestamps, values: traffic.values.map((value) => value / 160) };

  beforeAll(async () => {
    dir = await tempDir('capacity-cli');
    await writeFile(file('traffic.csv'), toCsv(traffic));
    await writeFile(
      file('disk.json'),
      JSON.stringify(disk.timestamps.map((at, index) => ({ timestamp: at, value: disk.values[index] }))),
    );
    await writeFile(file('cpu.csv'), toCsv(cpu));
    await writeFile(file('bad.csv'), 'timestamp,value\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00Z,oops\n');
  });
  afterAll(async () => {
    await dir?.dispose();
  });

  it('--help lists the commands, --version prints the package version, an unknown command exits 2', async () => {
    const help = capture();
    expect(await runCli(capacityCli, ['--help'], help.io)).toBe(0);
    for (const command of ['recommend', 'forecast', 'exhaustion', 'report']) expect(help.stdout).toContain(command);
    const version = capture();
    expect(await runCli(capacityCli, ['--version'], version.io)).toBe(0);
    expect(version.stdout.trim()).toBe(
      JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
    expect(await runCli(capacityCli, ['nope'], capture().io)).toBe(2);
  });

  it('forecast: a table with the band, --json for scripts, --svg writes the chart', async () => {
    const human = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['forecast', file('traffic.csv'), '--horizon', '2d', '--svg', file('traffic.svg')],
        human.io,
      ),
    ).toBe(0);
    expect(human.stdout).toContain('traffic: multiplicative decomposition (periods 24, 168)');
    expect(human.stdout).toMatch(/time \(UTC\)\s+forecast\s+95% low\s+95% high/);
    expect(await readFile(file('traffic.svg'), 'utf8')).toContain('<svg');
    const json = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['forecast', file('traffic.csv'), '--horizon', '1d', '--level', '0.8', '--json'],
        json.io,
      ),
    ).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(document.series[0].mean).toHaveLength(24);
    expect(document.series[0].level).toBe(0.8);
  });

  it('exhaustion: exit 1 when the disk runs out within --warn-within, 0 otherwise; --capacity is required (exit 2)', async () => {
    const soon = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['exhaustion', file('disk.json'), '--capacity', '400e9', '--warn-within', '30d'],
        soon.io,
      ),
    ).toBe(1);
    expect(soon.stdout).toContain('growing');
    expect(soon.stderr).toContain('runs out within 30d');
    const later = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['exhaustion', file('disk.json'), '--capacity', '2000e9', '--json'],
        later.io,
      ),
    ).toBe(0);
    const document = JSON.parse(later.stdout);
    expect(document.ok).toBe(true);
    expect(document.results[0].exhaustion.status).toBe('growing');
    const usage = capture();
    expect(await runCli(createCapacityCli({ clock }), ['exhaustion', file('disk.json')], usage.io)).toBe(2);
    expect(usage.stderr).toContain('--capacity is required');
    const bad = capture();
    expect(await runCli(createCapacityCli({ clock }), ['exhaustion', file('bad.csv'), '--capacity', '5'], bad.io)).toBe(
      1,
    );
    expect(bad.stderr).toContain('line 3: not a number');
  });

  it('recommend: the HPA decision replayed over the series, and growth scenarios beside the runbook script', async () => {
    const output = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['recommend', file('cpu.csv'), '--replicas', '4', '--target', '60%', '--max', '40'],
        output.io,
      ),
    ).toBe(0);
    expect(output.stdout).toMatch(/HPA now: 4 → \d+ replicas/);
    expect(output.stdout).toContain('runbook script');
    const json = capture();
    expect(
      await runCli(createCapacityCli({ clock }), ['recommend', file('cpu.csv'), '--replicas', '4', '--json'], json.io),
    ).toBe(0);
    const document = JSON.parse(json.stdout);
    const lastValue = cpu.values.at(-1)!;
    // ceil(4 × usage / 0.6) in milli-units, unless within the 10% tolerance
    const ratio = Math.ceil(lastValue * 1000 - 1e-6) / 600;
    expect(document.decision.proposedReplicas).toBe(Math.abs(ratio - 1) <= 0.1 ? 4 : Math.ceil(ratio * 4));
    expect(document.plan.scenarios).toHaveLength(4);
    const band = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['recommend', file('cpu.csv'), '--replicas', '4', '--band', '75%/3h,30%/6h', '--json'],
        band.io,
      ),
    ).toBe(0);
    const replayed = JSON.parse(band.stdout).band;
    expect(replayed.currentReplicas).toBe(4);
    expect(replayed.signals[0].name).toBe('cpu');
    // The series ends on a Sunday night at ~62% per replica: inside the 30–75% band.
    expect(replayed.signals[0].value).toBeCloseTo(cpu.values.at(-1)!, 9);
    expect(replayed.reasons).toEqual(['WithinBand']);
    const badRule = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['recommend', file('cpu.csv'), '--replicas', '4', '--band', 'up fast'],
        badRule.io,
      ),
    ).toBe(2);
    expect(badRule.stderr).toContain('--band: expected');
  });

  it('report: writes Markdown, JSON and SVG charts; a config file is validated with the path in the error', async () => {
    const out = join(dir.path, 'report');
    const output = capture();
    expect(
      await runCli(
        createCapacityCli({ clock }),
        ['report', file('traffic.csv'), file('disk.json'), '--capacity', 'disk=400e9', '--out', out, '--title', 'Shop'],
        output.io,
      ),
    ).toBe(0);
    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain('# Shop');
    expect(markdown).toContain('![disk forecast](disk.svg)');
    expect(markdown).toContain('## Time to exhaustion');
    expect(await readFile(join(out, 'disk-hour-of-week.svg'), 'utf8')).toContain('hour-of-week');
    expect(JSON.parse(await readFile(join(out, 'report.json'), 'utf8')).series).toHaveLength(2);

    await writeFile(
      file('capacity.yaml'),
      `title: From config\nhorizon: 3d\nseries:\n  - name: traffic\n    file: ${file('traffic.csv')}\n  - name: cpu\n    file: ${file('cpu.csv')}\n    ratio: true\ngrowth:\n  series: cpu\n  currentReplicas: 4\n`,
    );
    const configured = capture();
    expect(
      await runCli(createCapacityCli({ clock }), ['report', '-c', file('capacity.yaml'), '--json'], configured.io),
    ).toBe(0);
    const report = JSON.parse(configured.stdout).report;
    expect(report.title).toBe('From config');
    expect(report.growth.scenarios[0].label).toBe('today');
    await writeFile(file('broken.yaml'), 'series:\n  - name: x\n    file: a.csv\n    query: up\n');
    const broken = capture();
    expect(await runCli(createCapacityCli({ clock }), ['report', '-c', file('broken.yaml')], broken.io)).toBe(2);
    expect(broken.stderr).toContain('series[0]');
  });

  it('reads Prometheus through the client it is given (--prometheus, --query, --since, --step)', async () => {
    const calls: string[] = [];
    const client: PrometheusClient = {
      query: () => Promise.reject(new Error('not used')),
      ready: () => Promise.resolve(true),
      async queryRange(expr, options) {
        calls.push(`${expr} ${String(options.step)}`);
        const start = Number(options.start);
        const stop = Number(options.end);
        const samples = [];
        for (let at = start; at <= stop; at += 3_600_000)
          samples.push({ timeMs: at, value: 50 + ((at / 3_600_000) % 24) });
        return { resultType: 'matrix', warnings: [], series: [{ metric: { job: 'api' }, samples }] };
      },
    };
    const output = capture();
    const cli = createCapacityCli({ clock, prometheusClient: () => client });
    expect(
      await runCli(
        cli,
        [
          'forecast',
          '--prometheus',
          'http://prometheus.invalid:9090',
          '--query',
          'sum(rate(x[5m]))',
          '--since',
          '10d',
          '--step',
          '1h',
          '--json',
        ],
        output.io,
      ),
    ).toBe(0);
    expect(calls).toEqual(['sum(rate(x[5m])) 3600000']);
    expect(JSON.parse(output.stdout).series[0].name).toBe('{job="api"}');
  });
});
