import { createManualClock, createPrometheusClient, PrometheusError, runCli } from '@ops/core';
import { startHttpServer, tempDir } from '@ops/testkit';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSloCli } from '../cli/slo-cli.js';
import { SloError } from '../errors.js';
import { defineSlo } from '../spec/slo-spec.js';
import { buildSloReport, fetchSloStatus } from './prometheus-report.js';

const NOW = Date.UTC(2026, 5, 1, 12, 30);

// A real HTTP server speaking the Prometheus query API: empty results, or a query error while `failing`.
describe('reports and status on an injected clock, and their errors', () => {
  const slo = defineSlo({ service: 'shop', name: 'checkout', objective: 0.99, sli: { type: 'availability' } });
  const instants: number[] = [];
  let failing = false;
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    server = await startHttpServer(async (request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      let body = '';
      for await (const chunk of request) body += String(chunk);
      // The client POSTs its parameters as a form.
      for (const [name, value] of new URLSearchParams(body)) url.searchParams.set(name, value);
      response.setHeader('content-type', 'application/json');
      if (failing) {
        response.statusCode = 400;
        response.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 1' }));
        return;
      }
      if (url.pathname === '/api/v1/query') {
        instants.push(Number(url.searchParams.get('time')) * 1000);
        response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      } else response.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
    });
    dir = await tempDir('slo-report-clock');
    await writeFile(
      join(dir.path, 'slos.yaml'),
      'service: shop\nslos:\n  - { name: checkout, objective: 0.99, sli: { type: availability } }\n',
    );
  });
  afterAll(async () => {
    await server?.close();
    await dir?.dispose();
  });

  const client = () => createPrometheusClient({ url: server.url, timeout: '5s' });

  it('takes "now" from the clock when atMs is not given', async () => {
    failing = false;
    instants.length = 0;
    const clock = createManualClock(NOW);
    const report = await buildSloReport({ client: client(), slos: [slo], range: { period: 'day' }, clock });
    expect([report.range.startMs, report.range.endMs]).toEqual([Date.UTC(2026, 5, 1), NOW]);
    expect(instants.length).toBeGreaterThan(0);
    expect(new Set(instants)).toEqual(new Set([NOW]));
    const status = await fetchSloStatus({ client: client(), slo, clock });
    expect(status.atMs).toBe(NOW);
  });

  it('ops-slo status and report read "now" from the injected clock', async () => {
    failing = false;
    instants.length = 0;
    let stdout = '';
    const io = { stdout: { write: (chunk: string) => (stdout += chunk) }, stderr: { write: () => true }, env: {} };
    const cli = createSloCli({ clock: createManualClock(NOW) });
    expect(
      await runCli(cli, ['status', '-c', join(dir.path, 'slos.yaml'), '--prometheus', server.url, '--json'], io),
    ).toBe(0);
    expect((JSON.parse(stdout) as { statuses: Array<{ atMs: number }> }).statuses[0]?.atMs).toBe(NOW);
    stdout = '';
    expect(
      await runCli(cli, ['report', '-c', join(dir.path, 'slos.yaml'), '--prometheus', server.url, '--json'], io),
    ).toBe(0);
    expect((JSON.parse(stdout) as { report: { range: { endMs: number } } }).report.range.endMs).toBe(NOW);
  });

  it('rejects with REPORT_FAILED naming the SLO, the Prometheus error as cause', async () => {
    failing = true;
    for (const attempt of [
      () => buildSloReport({ client: client(), slos: [slo], range: { period: 'day' }, atMs: NOW }),
      () => fetchSloStatus({ client: client(), slo, atMs: NOW }),
    ]) {
      const error: unknown = await attempt().then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(SloError.hasCode(error, 'REPORT_FAILED')).toBe(true);
      expect((error as Error).message).toContain('SLO shop/checkout');
      expect((error as Error).message).toContain('parse error at char 1');
      expect(PrometheusError.isInstance((error as Error).cause)).toBe(true);
    }
    let stdout = '';
    const io = { stdout: { write: (chunk: string) => (stdout += chunk) }, stderr: { write: () => true }, env: {} };
    expect(
      await runCli(
        createSloCli(),
        ['status', '-c', join(dir.path, 'slos.yaml'), '--prometheus', server.url, '--json'],
        io,
      ),
    ).toBe(3); // could not evaluate (1 would mean a tier fires)
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, error: { code: 'REPORT_FAILED' } });
  });
});
