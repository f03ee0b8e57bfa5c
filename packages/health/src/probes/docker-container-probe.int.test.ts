import { withDeadline } from '@ops/core';
import { useDockerEngine, type DockerEngine } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { dockerContainerProbe } from './docker-container-probe.js';

let engine: DockerEngine;
beforeAll(async () => {
  engine = await useDockerEngine();
}, 120_000);
afterAll(async () => {
  await engine?.dispose();
}, 120_000);

describe('dockerContainerProbe against the podman engine', () => {
  it('passes while the container runs and fails once it is stopped', async () => {
    const container = await engine.runContainer({ cmd: ['sleep', '300'] });
    const health = createHealth({ startReady: true, shutdown: { signals: [] } });
    health.register({ name: 'worker', check: dockerContainerProbe({ docker: engine.docker, container: container.id }), timeout: '5s', mode: { ttl: 0 } });
    try {
      const running = await health.check('worker');
      expect(running.checks[0]).toMatchObject({ status: 'pass', observed: 'running', details: { state: 'running', restartCount: 0 } });
      await container.kill();
      await container.wait();
      const stopped = await health.check('worker');
      expect(stopped.status).toBe('fail');
      expect(stopped.checks[0]?.output).toMatch(/is exited|is stopped/);
    } finally {
      health.close();
    }
  });

  it('warns while the container HEALTHCHECK is still starting; fails for an unknown container', async () => {
    const container = await engine.runContainer({
      cmd: ['sleep', '300'],
      createOptions: { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 3_600_000_000_000, StartPeriod: 3_600_000_000_000 } },
    });
    const starting = await withDeadline((signal) => dockerContainerProbe({ docker: engine.docker, container: container.id })(signal), { timeoutMs: 5_000 });
    expect(['warn', 'pass']).toContain(starting.status);
    expect(starting.details?.['health']).toMatch(/starting|healthy/);
    if (starting.details?.['health'] === 'starting') expect(starting.status).toBe('warn');
    await expect(withDeadline((signal) => dockerContainerProbe({ docker: engine.docker, container: 'ops-no-such-container' })(signal), { timeoutMs: 5_000 })).rejects.toThrow(/no such container|404/i);
  });
});
