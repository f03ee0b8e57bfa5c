import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfigText } from '../config/load-config.js';
import { ConfigError, parseWithSchema } from '../errors/config-error.js';
import { OpsError } from '../errors/ops-error.js';
import {
  createProgressBar,
  ExitCode,
  formatBytes,
  formatTable,
  renderHelp,
  runCli,
  UsageError,
  type CliDefinition,
} from './cli.js';

function capture(isTTY = false) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    io: {
      stdout: { write: (chunk: string) => stdout.push(chunk), isTTY },
      stderr: { write: (chunk: string) => stderr.push(chunk), isTTY },
      env: {},
    },
    stdout: () => stdout.join(''),
    stderr: () => stderr.join(''),
  };
}

const definition: CliDefinition = {
  name: 'ops-demo',
  description: 'Demonstrates the shared CLI conventions.',
  version: '1.2.3',
  commands: {
    check: {
      summary: 'check a URL',
      usage: '<url...>',
      options: {
        timeout: { type: 'string', description: 'deadline per check', valueName: 'duration' },
        verbose: { type: 'boolean', short: 'v', description: 'more output' },
      },
      examples: ['ops-demo check https://example.com --timeout 5s'],
      run(context) {
        if (context.positionals.length === 0) throw new UsageError('expected at least one URL');
        const failed = context.positionals.filter((url) => url.includes('down'));
        if (context.json)
          context.printJson({
            ok: failed.length === 0,
            checked: context.positionals,
            timeout: context.values.timeout ?? null,
          });
        else context.print(`checked ${context.positionals.length}`);
        if (failed.length) context.warn(`failed: ${failed.join(', ')}`);
        return failed.length ? ExitCode.failure : ExitCode.ok;
      },
    },
    config: {
      summary: 'validate a config',
      run: () => {
        parseWithSchema(
          z.object({ jobs: z.array(z.object({ keep: z.number().int().min(0) })) }),
          { jobs: [{ keep: -1 }] },
          'ops.yaml',
        );
        return 0;
      },
    },
    secrets: {
      summary: 'loads a config whose password comes from the environment',
      run: (context) => {
        parseConfigText(
          'storage:\n  password: ${NOPE_MISSING_VAR}\n',
          z.object({ storage: z.object({ password: z.string() }) }),
          'ops.yaml',
          { env: context.io.env },
        );
        return 0;
      },
    },
    crash: {
      summary: 'fails unexpectedly',
      run: () => {
        throw new OpsError('STORAGE_FAILED', 'upload to https://user:topsecret@bucket.example.com failed');
      },
    },
  },
};

describe('runCli', () => {
  it('exits 0 on success and 1 when a check fails, writing diagnostics to stderr', async () => {
    const ok = capture();
    expect(await runCli(definition, ['check', 'https://up.example.com'], ok.io)).toBe(0);
    expect(ok.stdout()).toBe('checked 1\n');
    const failed = capture();
    expect(await runCli(definition, ['check', 'https://up', 'https://down'], failed.io)).toBe(1);
    expect(failed.stderr()).toBe('failed: https://down\n');
  });

  it('writes exactly one JSON document to stdout with --json', async () => {
    const out = capture();
    expect(await runCli(definition, ['check', '--json', '--timeout', '5s', 'https://a', 'https://b'], out.io)).toBe(0);
    expect(JSON.parse(out.stdout())).toEqual({ ok: true, checked: ['https://a', 'https://b'], timeout: '5s' });
  });

  it('exits 2 for usage errors: unknown command, unknown option, missing arguments, config errors', async () => {
    const unknownCommand = capture();
    expect(await runCli(definition, ['deploy'], unknownCommand.io)).toBe(2);
    expect(unknownCommand.stderr()).toContain('ops-demo: unknown command "deploy"');
    const unknownOption = capture();
    expect(await runCli(definition, ['check', '--nope', 'x'], unknownOption.io)).toBe(2);
    expect(unknownOption.stderr()).toMatch(/ops-demo check: .*--nope/);
    expect(unknownOption.stderr()).toContain("Run 'ops-demo check --help' for usage.");
    const mistyped = capture();
    expect(await runCli(definition, ['check', '--timout', '5s', '--json', 'x'], mistyped.io)).toBe(2);
    expect(mistyped.stderr()).toMatch(/^ops-demo check: unknown option --timout \(did you mean --timeout\?\)$/m);
    expect(JSON.parse(mistyped.stdout())).toMatchObject({ ok: false, error: { code: 'ARGUMENT_INVALID' } });
    const mistypedCommand = capture();
    expect(await runCli(definition, ['chek'], mistypedCommand.io)).toBe(2);
    expect(mistypedCommand.stderr()).toContain('ops-demo: unknown command "chek" (did you mean "check"?)');
    const missing = capture();
    expect(await runCli(definition, ['check'], missing.io)).toBe(2);
    expect(missing.stderr()).toBe('ops-demo check: expected at least one URL\n');
    const config = capture();
    expect(await runCli(definition, ['config'], config.io)).toBe(2);
    expect(config.stderr()).toContain('invalid ops.yaml: jobs[0].keep: expected integer >= 0');
    const nothing = capture();
    expect(await runCli(definition, [], nothing.io)).toBe(2);
    expect(nothing.stderr()).toContain('Usage: ops-demo <command> [options]');
  });

  it('a config error under a secret-named key still says what to fix', async () => {
    const out = capture();
    expect(await runCli(definition, ['secrets'], out.io)).toBe(2);
    expect(out.stderr()).toBe(
      'ops-demo secrets: invalid ops.yaml: storage.password: environment variable NOPE_MISSING_VAR is not set\n',
    );
  });

  it('a duration option (valueName "duration") is checked before the command runs, naming the flag', async () => {
    const out = capture();
    expect(await runCli(definition, ['check', '--timeout', '5 mins', 'https://a'], out.io)).toBe(2);
    expect(out.stderr()).toBe(
      'ops-demo check: --timeout: invalid duration "5 mins": unexpected "5 mins" (did you mean "5m"?); units are ms, s, m, h, d, w (e.g. "1h30m")\n',
    );
    expect(out.stdout()).toBe('');
    const json = capture();
    expect(await runCli(definition, ['check', '--json', '--timeout', '5x', 'https://a'], json.io)).toBe(2);
    expect(JSON.parse(json.stdout())).toMatchObject({
      ok: false,
      error: { code: 'DURATION_INVALID', message: expect.stringMatching(/^--timeout: invalid duration "5x"/) },
    });
  });

  it('reports errors as JSON on stdout with --json, redacted, and exits 1 for unexpected failures', async () => {
    const out = capture();
    expect(await runCli(definition, ['crash', '--json'], out.io)).toBe(1);
    const document = JSON.parse(out.stdout()) as { ok: boolean; error: { code: string; message: string } };
    expect(document.ok).toBe(false);
    expect(document.error.code).toBe('STORAGE_FAILED');
    expect(document.error.message).not.toContain('topsecret');
    expect(out.stderr()).not.toContain('topsecret');
    const config = capture();
    expect(await runCli(definition, ['config', '--json'], config.io)).toBe(2);
    expect(JSON.parse(config.stdout())).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID' } });
  });

  it("lists a CLI's own exit codes after the shared ones in --help, for the CLI and for each command", async () => {
    const withOwn: CliDefinition = {
      ...definition,
      exitCodes: { 4: 'partly done', 3: 'could not evaluate (the server was unreachable)' },
    };
    const expected =
      'Exit codes: 0 ok, 1 check or job failed, 2 usage or configuration error, ' +
      '3 could not evaluate (the server was unreachable), 4 partly done.';
    expect(renderHelp(withOwn)).toContain(expected);
    const command = capture();
    expect(await runCli(withOwn, ['check', '--help'], command.io)).toBe(0);
    expect(command.stdout()).toContain(expected);
    expect(renderHelp(definition)).toContain(
      'Exit codes: 0 ok, 1 check or job failed, 2 usage or configuration error.\n',
    );
    for (const reserved of [0, 2, 126, 1.5])
      expect(() => renderHelp({ ...definition, exitCodes: { [reserved]: 'mine' } })).toThrow(
        `ops-demo: exit code ${reserved} cannot be declared in exitCodes: use 3 to 125 (0, 1 and 2 are shared)`,
      );
  });

  it('prints help for the CLI and for a command, and the version', async () => {
    const top = capture();
    expect(await runCli(definition, ['--help'], top.io)).toBe(0);
    expect(top.stdout()).toContain('ops-demo — Demonstrates the shared CLI conventions.');
    expect(top.stdout()).toMatch(/check\s+check a URL/);
    expect(top.stdout()).toContain('Exit codes: 0 ok, 1 check or job failed, 2 usage or configuration error.');
    const command = capture();
    expect(await runCli(definition, ['check', '--help'], command.io)).toBe(0);
    expect(command.stdout()).toContain('Usage: ops-demo check [options] <url...>');
    expect(command.stdout()).toMatch(/--timeout <duration>\s+deadline per check/);
    expect(command.stdout()).toMatch(/-v, --verbose/);
    expect(command.stdout()).toContain('ops-demo check https://example.com --timeout 5s');
    const viaHelp = capture();
    expect(await runCli(definition, ['help', 'check'], viaHelp.io)).toBe(0);
    expect(viaHelp.stdout()).toBe(renderHelp(definition, 'check'));
    const version = capture();
    expect(await runCli(definition, ['--version'], version.io)).toBe(0);
    expect(version.stdout()).toBe('1.2.3\n');
  });

  it('runs the default command when the first argument is not a command', async () => {
    const out = capture();
    const withDefault: CliDefinition = { ...definition, defaultCommand: 'check' };
    expect(await runCli(withDefault, ['https://a'], out.io)).toBe(0);
    expect(out.stdout()).toBe('checked 1\n');
    expect(ConfigError.isInstance(new ConfigError('x'))).toBe(true);
  });
});

describe('formatTable and formatBytes', () => {
  it('aligns columns', () => {
    const table = formatTable(
      [
        { name: 'db', ms: 12 },
        { name: 'redis-cache', ms: 3 },
      ],
      [
        { header: 'CHECK', value: (row) => row.name },
        { header: 'MS', value: (row) => row.ms, align: 'right' },
      ],
    );
    expect(table).toBe('CHECK        MS\ndb           12\nredis-cache   3\n');
  });

  it('formats bytes with binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
    expect(formatBytes(300 * 1024 ** 2)).toBe('300 MiB');
  });
});

describe('createProgressBar', () => {
  it('draws on a TTY at most every interval and stays silent elsewhere', () => {
    let now = 0;
    const tty = capture(true);
    const bar = createProgressBar(tty.io.stderr, 'backup', { intervalMs: 100, now: () => now });
    now = 1_000;
    bar.update(512 * 1024, 1024 * 1024);
    now = 1_050;
    bar.update(600 * 1024, 1024 * 1024); // within the interval: not drawn
    bar.done();
    expect(tty.stderr()).toContain('[############------------] 50%');
    expect(tty.stderr()).toContain('512 KiB / 1.0 MiB 512 KiB/s');
    expect(tty.stderr().match(/backup/g)).toHaveLength(1);
    const pipe = capture(false);
    const silent = createProgressBar(pipe.io.stderr, 'backup');
    silent.update(1, 2);
    silent.done();
    expect(pipe.stderr()).toBe('');
  });
});
