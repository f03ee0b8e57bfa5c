import { request } from 'node:http';
import { withDeadline } from '@ops/core';
import { useDockerEngine, type DockerEngine } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { dockerContainerProbe } from './docker-container-probe.js';

let engine: DockerEngine;

/**
 * Runs a container's HEALTHCHECK once through podman's libpod API (`GET /libpod/containers/{id}/healthcheck`) on
 * the engine's socket: podman schedules healthchecks with systemd timers, which this machine does not have.
 */
function runHealthcheck(socketPath: string, id: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { socketPath, method: 'GET', path: `/v4.0.0/libpod/containers/${id}/healthcheck`, timeout: 10_000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('healthcheck run timed out')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Polls `inspect()` (bounded) until `done` holds; returns the last inspect result. */
async function inspectUntil<T>(inspect: () => Promise<T>, done: (info: T) => boolean, attempts = 100): Promise<T> {
  let info = await inspect();
  for (let attempt = 0; attempt < attempts && !done(info); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    info = await inspect();
  }
  return info;
}

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
    health.register({
      name: 'worker',
      check: dockerContainerProbe({ docker: engine.docker, container: container.id }),
      timeout: '5s',
      mode: { ttl: 0 },
    });
    try {
      const running = await health.check('worker');
      expect(running.checks[0]).toMatchObject({
        status: 'pass',
        observed: 'running',
        details: { state: 'running', restartCount: 0 },
      });
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
      createOptions: {
        Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 3_600_000_000_000, StartPeriod: 3_600_000_000_000 },
      },
    });
    const starting = await withDeadline(
      (signal) => dockerContainerProbe({ docker: engine.docker, container: container.id })(signal),
      { timeoutMs: 5_000 },
    );
    expect(['warn', 'pass']).toContain(starting.status);
    expect(starting.details?.['health']).toMatch(/starting|healthy/);
    if (starting.details?.['health'] === 'starting') expect(starting.status).toBe('warn');
    await expect(
      withDeadline(
        (signal) => dockerContainerProbe({ docker: engine.docker, container: 'ops-no-such-container' })(signal),
        { timeoutMs: 5_000 },
      ),
    ).rejects.toThrow(/no such container|404/i);
  });

  it('fails with the health status once the container HEALTHCHECK reports unhealthy, and passes when healthy', async () => {
    const hour = 3_600_000_000_000;
    const sick = await engine.runContainer({
      cmd: ['sleep', '300'],
      createOptions: { Healthcheck: { Test: ['CMD-SHELL', 'exit 1'], Interval: hour, Retries: 1 } },
    });
    const fine = await engine.runContainer({
      cmd: ['sleep', '300'],
      createOptions: { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: hour, Retries: 1 } },
    });
    const sickRun = await runHealthcheck(engine.socketPath, sick.id);
    expect(sickRun.status).toBe(200);
    expect(JSON.parse(sickRun.body)).toMatchObject({ Status: 'unhealthy' });
    expect((await runHealthcheck(engine.socketPath, fine.id)).status).toBe(200);
    const health = createHealth({ startReady: true, shutdown: { signals: [] } });
    health.register({
      name: 'sick',
      check: dockerContainerProbe({ docker: engine.docker, container: sick.id }),
      timeout: '5s',
      mode: { ttl: 0 },
    });
    health.register({
      name: 'fine',
      check: dockerContainerProbe({ docker: engine.docker, container: fine.id }),
      timeout: '5s',
      mode: { ttl: 0 },
    });
    try {
      const report = await health.check('sick');
      expect(report.status).toBe('fail');
      expect(report.checks[0]).toMatchObject({
        status: 'fail',
        observed: 'running',
        details: { state: 'running', health: 'unhealthy', restartCount: 0 },
      });
      expect(report.checks[0]?.output).toBe(`container ${sick.id} health is unhealthy`);
      const healthy = await health.check('fine');
      expect(healthy.status).toBe('pass');
      expect(healthy.checks[0]).toMatchObject({ status: 'pass', details: { state: 'running', health: 'healthy' } });
    } finally {
      health.close();
    }
  });

  it('warns once the engine restarted the container more often than maxRestartCount', async () => {
    // Exits with 1 on its first three runs, then keeps running: the on-failure policy restarts it three times,
    // and the run counter lives in the container's own filesystem, which survives restarts.
    const script =
      'mkdir -p /tmp; n=$(cat /tmp/runs 2>/dev/null || echo 0); echo $((n + 1)) > /tmp/runs; [ "$n" -ge 3 ] && exec sleep 300; exit 1';
    const container = await engine.runContainer({
      cmd: ['sh', '-c', script],
      hostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 10 } },
    });
    const settled = await inspectUntil(
      () => container.inspect(),
      (info) => info.RestartCount >= 3 && info.State.Running,
    );
    expect(settled.RestartCount).toBe(3);
    const health = createHealth({ startReady: true, shutdown: { signals: [] } });
    health.register({
      name: 'strict',
      check: dockerContainerProbe({ docker: engine.docker, container: container.id, maxRestartCount: 2 }),
      timeout: '5s',
      mode: { ttl: 0 },
      critical: false,
    });
    health.register({
      name: 'lenient',
      check: dockerContainerProbe({ docker: engine.docker, container: container.id, maxRestartCount: 3 }),
      timeout: '5s',
      mode: { ttl: 0 },
    });
    try {
      const strict = await health.check('strict');
      expect(strict.checks[0]).toMatchObject({
        status: 'warn',
        observed: 'running',
        details: { state: 'running', restartCount: 3 },
      });
      expect(strict.checks[0]?.output).toBe(`container ${container.id} restarted 3 times`);
      const lenient = await health.check('lenient');
      expect(lenient.checks[0]).toMatchObject({ status: 'pass', details: { restartCount: 3 } });
      const ready = await health.ready();
      expect(ready.status).toBe('warn');
    } finally {
      health.close();
    }
  });
});
