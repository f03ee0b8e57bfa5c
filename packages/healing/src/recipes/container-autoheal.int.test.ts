import type { OpsAlert } from '@ops/core';
import { useDockerEngine, type DockerEngine } from '@ops/testkit';
import type { Container } from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  execInContainer,
  FILE_HEALTHCHECK,
  healthcheckTimer,
  runHealthcheck,
} from '../docker/healthcheck-runner.fixture.js';
import { createHealer, type Healer } from '../engine/healer.js';
import type { HealerEvents } from '../engine/healer-events.js';
import { containerAutoheal } from './container-autoheal.js';

let engine: DockerEngine;
beforeAll(async () => {
  engine = await useDockerEngine();
}, 180_000);
afterAll(async () => {
  await engine?.dispose();
}, 120_000);

const exec = execInContainer;

/** Waits (bounded) until `done()` holds. */
async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function collect(healer: Healer) {
  const seen: { [Name in keyof HealerEvents]?: HealerEvents[Name][] } = {};
  const names: Array<keyof HealerEvents> = [
    'episode.opened',
    'step.started',
    'step.completed',
    'verify.completed',
    'episode.escalated',
    'episode.closed',
  ];
  for (const name of names)
    healer.on(name, (event) => void ((seen[name] ??= []) as HealerEvents[typeof name][]).push(event as never));
  return seen;
}

describe('containerAutoheal with createHealer on the podman engine', () => {
  it(
    'restarts a container whose HEALTHCHECK starts failing and verifies it healthy',
    { timeout: 180_000 },
    async () => {
      const label = `autoheal-${process.pid}-a`;
      const container = await engine.runContainer({
        cmd: FILE_HEALTHCHECK.cmd,
        labels: { [label]: 'true' },
        createOptions: { Healthcheck: FILE_HEALTHCHECK.healthcheck },
      });
      const name = (await container.inspect()).Name.replace(/^\//, '');
      const timer = healthcheckTimer(engine.socketPath, () => [container.id]);
      const alerts: OpsAlert[] = [];
      const autoheal = containerAutoheal({
        docker: engine.docker,
        label: `${label}=true`,
        stopTimeout: '1s',
        restartTimeout: '30s',
        fleet: false,
      });
      const healer = createHealer({
        rules: [autoheal],
        every: '1s',
        autoStart: false,
        alerts: async (alert) => void alerts.push(alert),
      });
      const seen = collect(healer);
      autoheal.react(healer);
      try {
        await autoheal.watcher.start();
        await until(() => autoheal.watcher.get(name)?.health === 'healthy', 20_000, 'the container to be healthy');
        healer.start();
        await exec(container, ['rm', '/tmp/ok']);
        await until(() => (seen['episode.closed'] ?? []).length > 0, 90_000, 'the episode to close');
        expect(seen['episode.opened']?.[0]).toMatchObject({ rule: 'container-autoheal', target: name });
        expect(seen['step.completed']).toEqual([
          expect.objectContaining({ kind: 'restart-container', result: 'ok', target: name }),
        ]);
        expect(seen['verify.completed']?.[0]).toMatchObject({ passed: true });
        expect(seen['episode.closed']?.[0]).toMatchObject({ outcome: 'healed' });
        expect((await container.inspect()).State.Health?.Status).toBe('healthy');
        expect(alerts.filter((alert) => alert.status === 'firing')).toEqual([]);
      } finally {
        await healer.stop();
        await autoheal.watcher.close();
        await timer.stop();
      }
    },
  );

  it(
    'restarts a container that stays unhealthy at most N times with growing delays, then escalates and leaves it alone',
    { timeout: 180_000 },
    async () => {
      const label = `autoheal-${process.pid}-b`;
      // The HEALTHCHECK wants /tmp/ok, which nothing creates: unhealthy after every restart.
      const container = await engine.runContainer({
        cmd: ['sleep', '600'],
        labels: { [label]: 'true' },
        createOptions: { Healthcheck: FILE_HEALTHCHECK.healthcheck },
      });
      const name = (await container.inspect()).Name.replace(/^\//, '');
      const timer = healthcheckTimer(engine.socketPath, () => [container.id]);
      const alerts: OpsAlert[] = [];
      const autoheal = containerAutoheal({
        docker: engine.docker,
        label: `${label}=true`,
        stopTimeout: '1s',
        restartTimeout: '4s',
        restartsPerEpisode: 3,
        maxAttempts: { count: 10, window: '1h' },
        backoff: { initialDelay: '1s', maxDelay: '30s', jitterRatio: 0 },
        fleet: false,
      });
      const healer = createHealer({
        rules: [autoheal],
        every: '500ms',
        autoStart: false,
        alerts: async (alert) => void alerts.push(alert),
      });
      const seen = collect(healer);
      autoheal.react(healer);
      try {
        await runHealthcheck(engine.socketPath, container.id);
        await autoheal.watcher.start();
        healer.start();
        await until(() => (seen['episode.escalated'] ?? []).length > 0, 120_000, 'the escalation');
        const started = seen['step.started'] ?? [];
        const completed = seen['step.completed'] ?? [];
        expect(started.map((event) => event.run)).toEqual([1, 2, 3]);
        expect(completed.map((event) => event.result)).toEqual(['failed', 'failed', 'failed']);
        for (const event of completed) expect(event.detail).toMatch(/still (unhealthy|starting) after 4000 ms/);
        // Backoff from the end of one restart to the start of the next grows: at least 1 s, then at least 2 s
        // (1 s × 2 per action, no jitter); lower bounds only, so a slow machine cannot fail them.
        const gaps = [1, 2].map((index) => started[index]!.at - completed[index - 1]!.at);
        expect(gaps[0]).toBeGreaterThanOrEqual(1_000);
        expect(gaps[1]).toBeGreaterThanOrEqual(2_000);
        expect(seen['episode.escalated']?.[0]).toMatchObject({ target: name, reason: 'ladder-exhausted' });
        expect(alerts.find((alert) => alert.status === 'firing')).toMatchObject({
          source: 'healing',
          labels: expect.objectContaining({ target: name }),
        });
        // Left alone: no restart while it stays unhealthy.
        const restartsBefore = (await container.inspect()).RestartCount;
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        expect(seen['step.started']).toHaveLength(3);
        expect((await container.inspect()).RestartCount).toBe(restartsBefore);
      } finally {
        await healer.stop();
        await autoheal.watcher.close();
        await timer.stop();
      }
    },
  );
  it(
    'escalates a shared cause and restarts nothing when every labelled container is unhealthy',
    { timeout: 180_000 },
    async () => {
      const label = `autoheal-${process.pid}-c`;
      const containers = await Promise.all(
        [0, 1, 2].map(() =>
          engine.runContainer({
            cmd: ['sleep', '600'],
            labels: { [label]: 'true' },
            createOptions: { Healthcheck: FILE_HEALTHCHECK.healthcheck },
          }),
        ),
      );
      for (const container of containers)
        expect(await runHealthcheck(engine.socketPath, container.id)).toBe('unhealthy');
      const alerts: OpsAlert[] = [];
      const autoheal = containerAutoheal({ docker: engine.docker, label: `${label}=true`, stopTimeout: '1s' });
      const healer = createHealer({
        rules: [autoheal],
        every: '500ms',
        autoStart: false,
        alerts: async (alert) => void alerts.push(alert),
      });
      const seen = collect(healer);
      try {
        await autoheal.watcher.start();
        expect(autoheal.watcher.containers().map((entry) => entry.health)).toEqual([
          'unhealthy',
          'unhealthy',
          'unhealthy',
        ]);
        healer.start();
        await until(() => alerts.some((alert) => alert.status === 'firing'), 60_000, 'the shared-cause escalation');
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(seen['step.started'] ?? []).toEqual([]);
        expect(alerts.filter((alert) => alert.status === 'firing').map((alert) => alert.labels['reason'])).toContain(
          'shared-cause',
        );
        for (const container of containers) expect((await container.inspect()).RestartCount).toBe(0);
      } finally {
        await healer.stop();
        await autoheal.watcher.close();
      }
    },
  );
});
