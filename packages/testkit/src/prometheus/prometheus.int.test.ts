import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isProcessAlive, waitFor } from '../process/process-utilities.js';
import { tempDir } from '../temp-dir.js';
import { promtoolPath, startPrometheus } from './prometheus.js';
import type { TestPrometheus } from './prometheus.js';

const execFileAsync = promisify(execFile);

const RULES = `groups:
  - name: testkit
    rules:
      - record: testkit:answer
        expr: vector(42)
`;

interface QueryResponse {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

async function query(prometheus: TestPrometheus, expression: string): Promise<QueryResponse> {
  const response = await request(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expression)}`);
  expect(response.statusCode).toBe(200);
  return (await response.body.json()) as QueryResponse;
}

describe('startPrometheus', () => {
  let prometheus: TestPrometheus;
  beforeAll(async () => {
    prometheus = await startPrometheus({ ruleFiles: { 'testkit.yml': RULES } });
  });
  afterAll(() => prometheus.stop());

  it('is ready on a loopback port and answers an instant query', async () => {
    expect(prometheus.url).toBe(`http://127.0.0.1:${prometheus.port}`);
    const ready = await request(`${prometheus.url}/-/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    const result = await query(prometheus, '1 + 1');
    expect(result.status).toBe('success');
    expect(result.data).toMatchObject({ resultType: 'scalar' });
    expect((result.data.result as unknown as [number, string])[1]).toBe('2');
  });

  it('evaluates the given rule files and scrapes itself', async () => {
    const answer = await waitFor(async () => (await query(prometheus, 'testkit:answer')).data.result[0]?.value[1], {
      timeoutMs: 20_000,
      intervalMs: 250,
      description: 'the recording rule producing a sample',
    });
    expect(answer).toBe('42');
    const up = await waitFor(async () => (await query(prometheus, 'up{job="prometheus"}')).data.result[0]?.value[1], {
      timeoutMs: 20_000,
      intervalMs: 250,
      description: 'a self-scrape',
    });
    expect(up).toBe('1');
  });

  it('ends the server by PID and removes its directory on stop', async () => {
    const other = await startPrometheus({ configYaml: 'global:\n  scrape_interval: 15s\n' });
    expect(isProcessAlive(other.pid)).toBe(true);
    expect(existsSync(join(other.dir, 'prometheus.yml'))).toBe(true);
    await other.stop();
    expect(isProcessAlive(other.pid)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
  });
});

describe('promtoolPath', () => {
  it('points at a promtool that checks rule files', async () => {
    const directory = await tempDir('promtool');
    try {
      const good = join(directory.path, 'good.yml');
      const bad = join(directory.path, 'bad.yml');
      await writeFile(good, RULES);
      await writeFile(bad, RULES.replace('vector(42)', 'vector(42'));
      const { stdout } = await execFileAsync(promtoolPath(), ['check', 'rules', good]);
      expect(stdout).toContain('SUCCESS: 1 rules found');
      await expect(execFileAsync(promtoolPath(), ['check', 'rules', bad])).rejects.toMatchObject({ code: 1 });
    } finally {
      await directory.dispose();
    }
  });
});
