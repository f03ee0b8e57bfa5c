import {
  ExitCode,
  formatTable,
  loadConfig,
  parseDuration,
  readPackageVersion,
  UsageError,
  type CliDefinition,
} from '@ops/core';
import {
  endpointsConfigSchema,
  endpointsFromConfig,
  probeEndpoint,
  type EndpointResult,
  type EndpointSpec,
} from './probe-endpoints.js';

// The version a release stamped into package.json, from src/ and from every build alike.
const PACKAGE_VERSION = readPackageVersion(import.meta.url, '@ops/health');

/**
 * Version printed by `ops-health --version`: the version of `@ops/health`.
 *
 * @deprecated Read `healthCli.version` instead; this constant stays equal to it.
 */
export const CLI_VERSION: string = PACKAGE_VERSION;

function nameFor(url: string, index: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return `endpoint-${index + 1}`;
  }
}

/**
 * The `ops-health` CLI: probes URLs (or a config file of endpoints) with deadlines, prints a table or JSON, and
 * exits 0 (all critical endpoints pass or warn), 1 (a critical endpoint failed) or 2 (usage or config error) —
 * usable as a Docker `HEALTHCHECK` without curl. `src/cli/bin.ts` runs it; embed it in your own tooling with
 * core's `runCli`.
 *
 * @example
 * ```ts
 * import { runCli } from '@ops/core';
 * import { healthCli } from '@ops/health';
 * process.exitCode = await runCli(healthCli, ['--timeout', '2s', 'http://127.0.0.1:8080/health/ready']);
 * ```
 */
export const healthCli: CliDefinition = {
  name: 'ops-health',
  description: 'Probe HTTP health endpoints with deadlines: the morning check, scripts and Docker HEALTHCHECK.',
  version: PACKAGE_VERSION,
  defaultCommand: 'probe',
  commands: {
    probe: {
      summary: 'probe one or more URLs, or the endpoints of a config file',
      usage: '[url...]',
      options: {
        config: {
          type: 'string',
          short: 'c',
          valueName: 'file',
          description: 'YAML/JSON file with `endpoints: [{ name, url, timeout?, critical?, expectStatus?, headers? }]`',
        },
        timeout: {
          type: 'string',
          short: 't',
          valueName: 'duration',
          description: 'deadline per endpoint (default 5s), e.g. 500ms, 30s',
        },
        critical: {
          type: 'string',
          multiple: true,
          valueName: 'name|url',
          description: 'only these endpoints decide the exit code; others only warn (default: all are critical)',
        },
        quiet: { type: 'boolean', short: 'q', description: 'print nothing on success (Docker HEALTHCHECK)' },
      },
      examples: [
        'ops-health http://localhost:8080/health/ready',
        'ops-health --timeout 30s --critical api https://api.internal/health https://search.internal/health',
        'ops-health --config morning-check.yaml',
        'HEALTHCHECK CMD ["node", "node_modules/.bin/ops-health", "-q", "--timeout", "2s", "http://127.0.0.1:8080/health/live"]',
      ],
      async run(context) {
        const timeoutText = context.values['timeout'];
        const defaultTimeoutMs = typeof timeoutText === 'string' ? parseDuration(timeoutText, '--timeout') : 5_000;
        const configFile = context.values['config'];
        let specs: EndpointSpec[] = [];
        if (typeof configFile === 'string')
          specs = endpointsFromConfig(
            await loadConfig(configFile, endpointsConfigSchema, { env: context.io.env }),
            defaultTimeoutMs,
          );
        context.positionals.forEach((url, index) => {
          let parsed: URL;
          try {
            parsed = new URL(url);
          } catch {
            throw new UsageError(`not a URL: ${JSON.stringify(url)}`);
          }
          if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
            throw new UsageError(`only http and https URLs can be probed: ${JSON.stringify(url)}`);
          specs.push({ name: nameFor(url, index), url, timeoutMs: defaultTimeoutMs, critical: true });
        });
        if (specs.length === 0) throw new UsageError('nothing to probe: give one or more URLs or --config FILE');
        const critical = context.values['critical'];
        if (Array.isArray(critical) && critical.length > 0) {
          const wanted = new Set(critical.map(String));
          for (const spec of specs) spec.critical = wanted.has(spec.name) || wanted.has(spec.url);
          const unknown = [...wanted].filter((name) => !specs.some((spec) => spec.name === name || spec.url === name));
          if (unknown.length > 0) throw new UsageError(`--critical names no endpoint: ${unknown.join(', ')}`);
        }
        const results = await Promise.all(specs.map((spec) => probeEndpoint(spec)));
        const failedCritical = results.filter((result) => result.critical && result.status === 'fail');
        const passing = results.filter((result) => result.status !== 'fail').length;
        const exitCode = failedCritical.length > 0 ? ExitCode.failure : ExitCode.ok;
        if (context.json) {
          context.printJson({ ok: exitCode === ExitCode.ok, passing, total: results.length, results });
        } else if (!(context.values['quiet'] === true && exitCode === ExitCode.ok)) {
          context.io.stdout.write(
            formatTable<EndpointResult>(results, [
              { header: 'ENDPOINT', value: (row) => row.name },
              { header: 'STATUS', value: (row) => row.status.toUpperCase() },
              { header: 'CRITICAL', value: (row) => (row.critical ? 'yes' : 'no') },
              { header: 'HTTP', value: (row) => row.httpStatus ?? '-', align: 'right' },
              { header: 'TIME', value: (row) => `${Math.round(row.durationMs)}ms`, align: 'right' },
              { header: 'DETAIL', value: (row) => row.output ?? '' },
            ]),
          );
          context.print(
            `${passing}/${results.length} endpoints healthy${failedCritical.length > 0 ? `; critical failures: ${failedCritical.map((result) => result.name).join(', ')}` : ''}`,
          );
        }
        return exitCode;
      },
    },
  },
};
