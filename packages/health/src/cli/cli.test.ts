import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@ops/core';
import { startHttpServer, tempDir, type TestHttpServer } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_VERSION, healthCli } from './cli.js';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer((request, response) => {
    if (request.url === '/ok') {
      response.setHeader('content-type', 'application/health+json');
      response.end('{"status":"pass"}');
    } else if (request.url === '/degraded') {
      response.end('{"status":"warn"}');
    } else if (request.url === '/down') {
      response.statusCode = 503;
      response.end('{"status":"fail"}');
    }
    // '/hang' never answers
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

describe('ops-health (in process)', () => {
  it('exits 0 when every endpoint passes and prints a table with a summary', async () => {
    const result = await cli([`${server.url}/ok`, `${server.url}/degraded`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ENDPOINT\s+STATUS\s+CRITICAL\s+HTTP\s+TIME\s+DETAIL/);
    expect(result.stdout).toMatch(/\/ok\s+PASS\s+yes\s+200/);
    expect(result.stdout).toMatch(/\/degraded\s+WARN/);
    expect(result.stdout).toContain('2/2 endpoints healthy');
  });

  it('exits 1 when a critical endpoint fails or hangs past its deadline; --json for scripts', async () => {
    const result = await cli([
      '--json',
      '--timeout',
      '300ms',
      `${server.url}/ok`,
      `${server.url}/down`,
      `${server.url}/hang`,
    ]);
    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout) as {
      ok: boolean;
      passing: number;
      total: number;
      results: Array<{ status: string; output?: string; httpStatus?: number }>;
    };
    expect(document).toMatchObject({ ok: false, passing: 1, total: 3 });
    expect(document.results[1]).toMatchObject({ status: 'fail', httpStatus: 503 });
    expect(document.results[2]).toMatchObject({
      status: 'fail',
      output: expect.stringMatching(/timed out after 300ms/),
    });
  });

  it('--critical limits which endpoints decide the exit code', async () => {
    const result = await cli([
      '--timeout',
      '300ms',
      '--critical',
      `${server.url}/ok`,
      `${server.url}/ok`,
      `${server.url}/down`,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\/down\s+FAIL\s+no\s+503/);
    expect(result.stdout).toContain('1/2 endpoints healthy');
  });

  it('reads endpoints from a YAML config; credentials in URLs never print', async () => {
    const directory = await tempDir('health-cli');
    try {
      const file = join(directory.path, 'morning.yaml');
      writeFileSync(
        file,
        [
          'timeout: 2s',
          'endpoints:',
          `  - { name: api, url: "${server.url}/ok" }`,
          `  - { name: search, url: "http://admin:hunter2@127.0.0.1:${server.port}/down", critical: false }`,
          `  - { name: teapot, url: "${server.url}/down", expectStatus: [503], timeout: 1s }`,
        ].join('\n'),
      );
      const result = await cli(['--config', file]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/api\s+PASS/);
      expect(result.stdout).toMatch(/search\s+FAIL\s+no/);
      expect(result.stdout).toMatch(/teapot\s+PASS/);
      expect(result.stdout + result.stderr).not.toContain('hunter2');
      writeFileSync(file, 'endpoints:\n  - { name: api, url: "ftp://x" }\n');
      const invalid = await cli(['--config', file]);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(/endpoints\[0\]\.url/);
    } finally {
      await directory.dispose();
    }
  });

  it('--version prints the package version (CLI_VERSION is the same, deprecated)', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
    expect(healthCli.version).toBe(packageVersion);
    expect(CLI_VERSION).toBe(packageVersion);
  });

  it('exits 2 on usage errors', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(['not a url'])).code).toBe(2);
    expect((await cli(['--timeout', 'soon', `${server.url}/ok`])).code).toBe(2);
    expect((await cli(['--critical', 'nope', `${server.url}/ok`])).code).toBe(2);
  });

  it('a bad --timeout names the option, on stderr and in --json', async () => {
    const result = await cli(['--timeout', '5mins', `${server.url}/ok`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--timeout: invalid duration "5mins"/);
    const json = await cli(['--json', '--timeout', '5mins', `${server.url}/ok`]);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { error: { message: string } }).error.message).toMatch(
      /^--timeout: invalid duration "5mins"/,
    );
  });
});

describe('ops-health (built binary, child process)', () => {
  const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { timeout: 20_000 }, (error, stdout) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout }),
      );
    });

  it('runs from dist with the documented exit codes', async () => {
    expect(existsSync(bin), `build first: pnpm --filter @ops/health build (${bin} missing)`).toBe(true);
    expect(await run(['-q', `${server.url}/ok`])).toEqual({ code: 0, stdout: '' });
    expect((await run(['--timeout', '300ms', `${server.url}/hang`])).code).toBe(1);
    expect((await run(['--bogus'])).code).toBe(2);
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${packageVersion}\n` });
  });
});
