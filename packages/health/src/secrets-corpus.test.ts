import { runCli, type CheckResult, type OpsAlert } from '@ops/core';
import { createManualClock, createRecordingLogger } from '@ops/core/testing';
import { startHttpServer, type TestHttpServer } from '@ops/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardHealthAlerts } from './alerts/forward-health-alerts.js';
import { healthCli } from './cli/cli.js';
import { createHealth } from './registry/health.js';

// One corpus of secret shapes, run through every output channel of @ops/health: response bodies (terse, verbose,
// drill-down, with details), log lines, events, metrics, forwarded alerts, and the CLI's table, JSON and stderr.
// Each entry is a text a dependency might put in an error message, and the secret that must not come out.
const jwt = ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiJvcHMtY29ycHVzIn0', 'c2lnbmF0dXJlLWNvcnB1cy0xMjM0NTY3OA'].join('.');
const VERBATIM = 'verbatim-corpus-0000';
const corpus: Array<{ shape: string; text: string; secret: string }> = [
  {
    shape: 'postgres URL password',
    text: 'connect failed: postgres://app:pg-pass-111111@db.internal:5432/app',
    secret: 'pg-pass-111111',
  },
  {
    shape: 'redis URL password',
    text: 'redis://:redis-pass-222222@cache.internal:6379 refused',
    secret: 'redis-pass-222222',
  },
  {
    shape: 'query token',
    text: 'GET https://api.internal/export?token=tok-333333333&format=csv answered 500',
    secret: 'tok-333333333',
  },
  { shape: 'Bearer JWT', text: `upstream said 401 for Bearer ${jwt}`, secret: jwt.split('.')[2] as string },
  { shape: 'password=', text: 'host=db user=app password=pw-444444444 dbname=app', secret: 'pw-444444444' },
  {
    shape: 'JSON body',
    text: 'login failed: 401 {"user":"app","password":"json-pw-555555"}',
    secret: 'json-pw-555555',
  },
  { shape: 'lowercase bearer', text: 'rejected bearer lower-66666666 for /v1', secret: 'lower-66666666' },
  {
    shape: 'Authorization header',
    text: 'request (Authorization: Bearer hdr-777777777) answered 403',
    secret: 'hdr-777777777',
  },
  {
    shape: 'URL without "://"',
    text: 'not reachable: http//admin:noscheme-888888@api.internal/health',
    secret: 'noscheme-888888',
  },
  { shape: 'verbatim secret (the secrets option)', text: `auth failed with ${VERBATIM}`, secret: VERBATIM },
];
const nonErrorThrown = { error: 'invalid_grant', access_token: 'at-obj-999999999' };
const everySecret = [...corpus.map((entry) => entry.secret), nonErrorThrown.access_token];

function expectClean(channel: string, text: string, secrets = everySecret): void {
  for (const secret of secrets)
    expect(text.includes(secret), `${channel} leaked ${secret}:\n${text.slice(0, 2000)}`).toBe(false);
}

describe('secret corpus through every output channel', () => {
  it('response bodies, logs, events, metrics and alerts', async () => {
    const clock = createManualClock();
    const logger = createRecordingLogger();
    const registry = new Registry();
    const health = createHealth({
      clock,
      logger,
      registry,
      secrets: [VERBATIM],
      startReady: true,
      showDetails: () => true,
      shutdown: { signals: [] },
      mode: { ttl: 0 },
    });
    const events: unknown[] = [];
    health.on('check.changed', (event) => events.push(event));
    // a listener that fails with the secret in its message: the "event listener threw" line
    health.on('check.failed', (event) => {
      throw new Error(`listener saw ${event.result.output ?? ''} and ${VERBATIM}`);
    });
    const alerts: OpsAlert[] = [];
    forwardHealthAlerts(health, async (alert) => void alerts.push(alert), { clock, logger });
    let healthy = false;
    corpus.forEach((entry, index) => {
      // thrown Errors, returned outputs, details and observed values, and a component id
      health.register({
        name: `thrown-${index}`,
        check: async () => (healthy ? { status: 'pass' } : Promise.reject(new Error(entry.text))),
      });
      health.register({
        name: `returned-${index}`,
        componentId: entry.text,
        check: async (): Promise<CheckResult> =>
          healthy
            ? { status: 'pass' }
            : {
                status: 'fail',
                output: entry.text,
                observed: entry.text,
                details: { body: entry.text, nested: [{ note: entry.text }] },
              },
      });
    });
    health.register({
      name: 'non-error',
      check: () => (healthy ? Promise.resolve<CheckResult>({ status: 'pass' }) : Promise.reject(nonErrorThrown)),
    });
    const bodies: string[] = [];
    const get = async (path: string, query = '') => {
      const response = await health.handler({ method: 'GET', path, query: new URLSearchParams(query), headers: {} });
      bodies.push(String(response?.body));
    };
    await get('/health/ready');
    await get('/health/ready', 'verbose');
    await get('/health');
    for (const name of health.checkNames()) await get(`/health/${name}`);
    await get('/health/ready', 'verbose&exclude=non-error');
    const failing = JSON.parse(bodies[1] as string) as { checks: Record<string, Array<{ output?: string }>> };
    expect(Object.keys(failing.checks)).toHaveLength(corpus.length * 2 + 1);
    expect(failing.checks['non-error:status']?.[0]?.output).toContain('invalid_grant');
    healthy = true;
    await health.ready();
    expectClean('response bodies', bodies.join('\n'));
    expectClean('log lines', logger.text());
    expect(logger.records.some((record) => record.message === 'health event listener threw')).toBe(true);
    expectClean('events', JSON.stringify(events));
    expect(events.length).toBeGreaterThan(corpus.length * 2);
    expectClean('metrics', await registry.metrics());
    await clock.advanceAsync(0);
    expectClean('alerts', JSON.stringify(alerts));
    expect(alerts.length).toBeGreaterThan(0);
    health.close();
  });

  describe('the CLI', () => {
    let server: TestHttpServer;
    beforeAll(async () => {
      server = await startHttpServer((request, response) => {
        response.statusCode = request.url === '/down' ? 503 : 200;
        response.end('{"status":"pass"}');
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    async function cli(args: string[]) {
      let stdout = '';
      let stderr = '';
      const code = await runCli(healthCli, args, {
        stdout: { write: (chunk: string) => (stdout += chunk) },
        stderr: { write: (chunk: string) => (stderr += chunk) },
        env: {},
      });
      return { code, stdout, stderr };
    }

    // The CLI takes no `secrets` option: every shape but the verbatim one must be recognised.
    const shaped = corpus.filter((entry) => entry.secret !== VERBATIM).map((entry) => entry.secret);

    it('table, JSON and stderr stay clean: probed URLs with credentials, and each corpus text given as an argument', async () => {
      const withCredentials = (path: string) => `http://admin:url-cred-123456@127.0.0.1:${server.port}${path}`;
      const table = await cli([
        '--timeout',
        '2s',
        withCredentials('/ok?token=tok-333333333'),
        withCredentials('/down'),
      ]);
      expect(table.code).toBe(1);
      const json = await cli([
        '--json',
        '--timeout',
        '2s',
        withCredentials('/ok?token=tok-333333333'),
        withCredentials('/down'),
      ]);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, total: 2 });
      expectClean('CLI table', table.stdout + table.stderr, [...shaped, 'url-cred-123456']);
      expectClean('CLI JSON', json.stdout + json.stderr, [...shaped, 'url-cred-123456']);
      for (const entry of corpus.filter((item) => item.secret !== VERBATIM)) {
        for (const args of [
          [entry.text],
          ['--json', entry.text],
          ['--critical', entry.text, `${server.url}/ok`],
          ['--json', '--critical', entry.text, `${server.url}/ok`],
        ]) {
          const result = await cli(args);
          expect(result.code, `${entry.shape}: ${args.join(' ')}`).toBe(2);
          expectClean(`CLI usage error (${entry.shape})`, result.stdout + result.stderr, shaped);
        }
      }
    });
  });
});
