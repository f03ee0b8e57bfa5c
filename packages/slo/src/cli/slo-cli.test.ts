import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '@ops/core';
import { tempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSloCli, sloCli } from './slo-cli.js';

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

describe('ops-slo CLI', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const file = (name: string) => join(dir.path, name);

  beforeAll(async () => {
    dir = await tempDir('slo-cli');
    await writeFile(
      file('good.yaml'),
      'service: shop\nslos:\n  - { name: checkout, objective: 0.999, sli: { type: availability } }\n  - { name: batch, objective: 0.9, sli: { type: availability } }\n',
    );
    await writeFile(
      file('bad.yaml'),
      'service: shop\nslos:\n  - { name: checkout, objective: 1, sli: { type: availability } }\n',
    );
  });
  afterAll(async () => {
    await dir?.dispose();
  });

  it('validate: ok with warnings (exit 0), --strict turns warnings into exit 1, bad files exit 2 naming the path', async () => {
    const ok = capture();
    expect(await runCli(createSloCli(), ['validate', file('good.yaml')], ok.io)).toBe(0);
    expect(ok.stdout).toContain('2 SLO(s) valid: shop/checkout, shop/batch');
    expect(ok.stderr).toContain(
      'warning: shop/batch: slos[1].alerting.tiers.page-quick: tier page-quick can never fire',
    );
    expect(await runCli(createSloCli(), ['validate', '--strict', file('good.yaml')], capture().io)).toBe(1);
    const bad = capture();
    expect(await runCli(createSloCli(), ['validate', '--config', file('bad.yaml')], bad.io)).toBe(2);
    expect(bad.stderr).toContain('slos[0].objective: an objective of 100% is refused');
    const json = capture();
    expect(await runCli(createSloCli(), ['validate', file('bad.yaml'), '--json'], json.io)).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID' } });
  });

  it('rules: prints YAML or writes a file', async () => {
    const out = capture();
    expect(await runCli(createSloCli(), ['rules', file('good.yaml'), '--interval', '30s'], out.io)).toBe(0);
    expect(out.stdout).toContain('name: ops-slo-shop-checkout');
    expect(out.stdout).toContain('interval: 30s');
    expect(
      await runCli(createSloCli(), ['rules', '-c', file('good.yaml'), '-o', file('rules.yaml')], capture().io),
    ).toBe(0);
    expect(await readFile(file('rules.yaml'), 'utf8')).toContain('alert: SloErrorBudgetBurn');
  });

  it('status without --prometheus is a usage error', async () => {
    const out = capture();
    expect(await runCli(createSloCli(), ['status', file('good.yaml')], out.io)).toBe(2);
    expect(out.stderr).toContain('--prometheus is required');
  });

  it('status and report against an unreachable Prometheus exit 3 "could not evaluate" (1 means a tier fires), naming the server', async () => {
    // A real closed port: connection refused, as a user with a wrong --prometheus URL sees it.
    const unreachable = 'http://127.0.0.1:1';
    const cli = createSloCli();
    const out = capture();
    expect(await runCli(cli, ['status', file('good.yaml'), '--prometheus', unreachable], out.io)).toBe(3);
    expect(out.stderr).toContain('ops-slo status: could not evaluate');
    expect(out.stderr).toContain('127.0.0.1:1');
    const json = capture();
    expect(await runCli(cli, ['status', file('good.yaml'), '--prometheus', unreachable, '--json'], json.io)).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('could not evaluate') },
    });
    expect(await runCli(cli, ['report', file('good.yaml'), '--prometheus', unreachable], capture().io)).toBe(3);
    const help = capture();
    expect(await runCli(cli, ['status', '--help'], help.io)).toBe(0);
    expect(help.stdout).toContain('3 could not evaluate: Prometheus unreachable');
    // The exit-code line of --help (core's, for every ops-* CLI) lists 3 after the shared codes.
    for (const args of [['--help'], ['status', '--help'], ['budget', '--help']]) {
      const shown = capture();
      expect(await runCli(cli, args, shown.io)).toBe(0);
      expect(shown.stdout).toContain(
        'Exit codes: 0 ok, 1 check or job failed, 2 usage or configuration error, ' +
          '3 could not evaluate (status, report: Prometheus unreachable or a query failed).\n',
      );
    }
  });

  it('budget check: exit 1 on a significant regression, 0 otherwise, --update ratchets on improvement', async () => {
    const baseline = {
      metrics: {
        'api.p95': { unit: 'ms', better: 'lower', value: 100, samples: [96, 98, 99, 100, 100, 101, 102, 104] },
      },
    };
    await writeFile(file('baseline.json'), JSON.stringify(baseline));
    await writeFile(
      file('slow.json'),
      JSON.stringify({ metrics: { 'api.p95': { samples: [128, 130, 131, 129, 133, 127, 130, 132] } } }),
    );
    await writeFile(
      file('fast.json'),
      JSON.stringify({ metrics: { 'api.p95': { samples: [80, 81, 79, 82, 80, 78, 81, 80] } } }),
    );
    const slow = capture();
    expect(
      await runCli(
        createSloCli(),
        ['budget', 'check', '--baseline', file('baseline.json'), '--current', file('slow.json')],
        slow.io,
      ),
    ).toBe(1);
    expect(slow.stdout).toMatch(/api\.p95\s+100 ms\s+130 ms\s+300%/);
    const fast = capture();
    expect(
      await runCli(
        createSloCli(),
        ['budget', 'check', '--baseline', file('baseline.json'), '--current', file('fast.json'), '--update', '--json'],
        fast.io,
      ),
    ).toBe(0);
    expect(JSON.parse(fast.stdout)).toMatchObject({ ok: true, verdict: 'pass', baselineUpdated: true });
    expect(JSON.parse(await readFile(file('baseline.json'), 'utf8')).metrics['api.p95'].value).toBe(80);
    // The tightened baseline now makes the old 100 ms a regression.
    await writeFile(
      file('old.json'),
      JSON.stringify({ metrics: { 'api.p95': { samples: baseline.metrics['api.p95'].samples } } }),
    );
    expect(
      await runCli(
        createSloCli(),
        ['budget', 'check', '--baseline', file('baseline.json'), '--current', file('old.json')],
        capture().io,
      ),
    ).toBe(1);
    const usage = capture();
    expect(
      await runCli(
        createSloCli(),
        ['budget', 'check', '--baseline', file('baseline.json'), '--current', file('missing.json')],
        usage.io,
      ),
    ).toBe(2);
    expect(usage.stderr).toContain('missing.json');
  });

  it('sloCli prints the package version', async () => {
    const out = capture();
    expect(await runCli(sloCli, ['--version'], out.io)).toBe(0);
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(out.stdout).toBe(`${manifest.version}\n`);
  });

  it('rules: a file that cannot be written is SLO_RULES_FAILED (exit 1)', async () => {
    const out = capture();
    expect(
      await runCli(sloCli, ['rules', file('good.yaml'), '-o', file('missing-dir/rules.yaml'), '--json'], out.io),
    ).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: false, error: { code: 'SLO_RULES_FAILED' } });
    expect(out.stderr).toContain('missing-dir/rules.yaml');
  });
});
