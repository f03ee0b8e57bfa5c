import { useDockerEngine, type DockerEngine } from '@ops/testkit';
import type { Container } from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionContext } from '../actions/action-context.fixture.js';
import { restartContainer } from '../actions/restart-container.js';
import { HealingError } from '../errors.js';
import {
  watchContainerHealth,
  type ContainerHealthWatcher,
  type ContainerHealthWatcherEvents,
} from './container-health-watcher.js';
import type { DockerEventStreamLike, DockerLike } from './docker-like.js';
import { execInContainer, FILE_HEALTHCHECK, healthcheckTimer, runHealthcheck } from './healthcheck-runner.fixture.js';

let engine: DockerEngine;
beforeAll(async () => {
  engine = await useDockerEngine();
}, 180_000);
afterAll(async () => {
  await engine?.dispose();
}, 120_000);

const exec = execInContainer;

async function runWithHealthcheck(labels: Record<string, string>, name?: string): Promise<Container> {
  return engine.runContainer({
    cmd: FILE_HEALTHCHECK.cmd,
    labels,
    ...(name === undefined ? {} : { name }),
    createOptions: { Healthcheck: FILE_HEALTHCHECK.healthcheck },
  });
}

/** Resolves with the first event matching `match`, bounded by `timeoutMs`. */
function nextEvent<Name extends keyof ContainerHealthWatcherEvents>(
  watcher: ContainerHealthWatcher,
  name: Name,
  match: (event: ContainerHealthWatcherEvents[Name]) => boolean,
  timeoutMs = 30_000,
): Promise<ContainerHealthWatcherEvents[Name]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = watcher.on(name, (event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

describe('watchContainerHealth against the podman engine', () => {
  it(
    'follows labelled containers only and reports a HEALTHCHECK turning unhealthy from the events stream',
    { timeout: 180_000 },
    async () => {
      const label = `heal-${process.pid}-a`;
      const followed = await runWithHealthcheck({ [label]: 'true' });
      const ignored = await runWithHealthcheck({});
      await runHealthcheck(engine.socketPath, followed.id);
      const watcher = watchContainerHealth({ docker: engine.docker, filter: { label: `${label}=true` } });
      try {
        await watcher.start();
        expect(watcher.connected).toBe(true);
        expect(watcher.containers().map((entry) => entry.id)).toEqual([followed.id]);
        expect(watcher.get(followed.id)).toMatchObject({ health: 'healthy', state: 'running' });

        const turned = nextEvent(watcher, 'container.health-changed', (event) => event.health === 'unhealthy');
        await exec(followed, ['rm', '/tmp/ok']);
        expect(await runHealthcheck(engine.socketPath, followed.id)).toBe('unhealthy');
        await runHealthcheck(engine.socketPath, ignored.id);
        const change = await turned;
        expect(change).toMatchObject({ id: followed.id, previous: 'healthy', health: 'unhealthy', cause: 'event' });
        expect(watcher.get(ignored.id)).toBeUndefined();
      } finally {
        await watcher.close();
      }
    },
  );

  it(
    'reconnects when the events stream drops and reports a change made while it was down',
    { timeout: 180_000 },
    async () => {
      const label = `heal-${process.pid}-b`;
      const container = await runWithHealthcheck({ [label]: 'yes' });
      await runHealthcheck(engine.socketPath, container.id);
      const streams: DockerEventStreamLike[] = [];
      const sinces: (number | undefined)[] = [];
      // When each connect that got through reached getEvents: the watcher computes `since` just before that call.
      const calledAt: number[] = [];
      let failNext = false;
      // Reconnects wait until the container has turned unhealthy, so the change happens while no stream is open.
      let changed = () => {};
      const changeDone = new Promise<void>((resolve) => (changed = resolve));
      let holdReconnects = false;
      // The real client; only getEvents is wrapped, to drop the stream, to refuse one reconnect and to hold the next.
      const docker: DockerLike = {
        getContainer: (id) => engine.docker.getContainer(id),
        listContainers: (options) => engine.docker.listContainers(options),
        getEvents: async (options) => {
          if (failNext) {
            failNext = false;
            throw new Error('connect ECONNREFUSED (simulated)');
          }
          const at = Date.now() / 1000;
          if (holdReconnects) await changeDone;
          calledAt.push(at);
          sinces.push(options?.since);
          const stream = (await engine.docker.getEvents(options)) as unknown as DockerEventStreamLike;
          streams.push(stream);
          return stream;
        },
      };
      const watcher = watchContainerHealth({
        docker,
        filter: { label },
        reconnect: { initialDelay: 100, maxDelay: 400, jitter: 'none' },
      });
      const disconnects: number[] = [];
      watcher.on('stream.disconnected', (event) => void disconnects.push(event.retryInMs));
      try {
        await watcher.start();
        expect(watcher.get(container.id)?.health).toBe('healthy');
        failNext = true;
        holdReconnects = true;
        const reconnected = nextEvent(watcher, 'stream.connected', () => true);
        const unhealthy = nextEvent(watcher, 'container.health-changed', (event) => event.health === 'unhealthy');
        streams[0]?.destroy?.();
        // While no stream is open, the container turns unhealthy.
        await exec(container, ['rm', '/tmp/ok']);
        expect(await runHealthcheck(engine.socketPath, container.id)).toBe('unhealthy');
        const reconnectAt = Date.now() / 1000;
        changed();
        const change = await unhealthy;
        await reconnected;
        // The list after the reconnect, or the engine's replay of the last seconds (since), reports it.
        expect(change).toMatchObject({ id: container.id, previous: 'healthy', health: 'unhealthy' });
        expect(['resync', 'event']).toContain(change.cause);
        expect(disconnects).toEqual([100, 200]);
        expect(streams.length).toBe(2);
        // Every connect asks for the last few seconds again (podman may answer before it streams).
        expect(sinces.length).toBe(2);
        // `since` is taken when the connect starts, which is before the hold and so before the change: it is the five
        // whole seconds before that moment (the clock may have crossed a second between the two readings).
        const connectAt = calledAt[1] ?? Number.NaN;
        expect(sinces[1]).toBeGreaterThanOrEqual(Math.floor(connectAt) - 6);
        expect(sinces[1]).toBeLessThanOrEqual(Math.floor(connectAt) - 5);
        expect(sinces[1]).toBeLessThanOrEqual(reconnectAt);
        expect(watcher.connected).toBe(true);
      } finally {
        await watcher.close();
      }
    },
  );

  it('fails start() when the engine cannot be reached', { timeout: 180_000 }, async () => {
    const Docker = (await import('dockerode')).default;
    const watcher = watchContainerHealth({ docker: new Docker({ socketPath: '/nonexistent/docker.sock' }) });
    await expect(watcher.start()).rejects.toThrow(/cannot follow docker events/);
    await watcher.close();
  });
});

describe('restartContainer against the podman engine', () => {
  it(
    'restarts the episode target and waits until its HEALTHCHECK says healthy again',
    { timeout: 180_000 },
    async () => {
      const container = await runWithHealthcheck({});
      const name = (await container.inspect()).Name.replace(/^\//, '');
      await exec(container, ['rm', '/tmp/ok']);
      expect(await runHealthcheck(engine.socketPath, container.id)).toBe('unhealthy');
      const timer = healthcheckTimer(engine.socketPath, () => [container.id]);
      try {
        const outcome = await restartContainer({ docker: engine.docker, stopTimeout: '1s', timeout: '60s' }).run(
          actionContext({ target: name }),
        );
        const [result] = (outcome?.data?.['containers'] ?? []) as Array<Record<string, unknown>>;
        expect(result).toMatchObject({ name, healthBefore: 'unhealthy', healthAfter: 'healthy' });
        expect(outcome?.detail).toMatch(new RegExp(`^restarted ${name} \\(id [0-9a-f]{12}\\) in [0-9.]+ s, healthy$`));
        expect((await container.inspect()).State.Health?.Status).toBe('healthy');
      } finally {
        await timer.stop();
      }
    },
  );

  it('stop-starts every container with a label', { timeout: 180_000 }, async () => {
    const label = `group-${process.pid}`;
    const first = await engine.runContainer({ cmd: ['sleep', '600'], labels: { [label]: '1' } });
    const second = await engine.runContainer({ cmd: ['sleep', '600'], labels: { [label]: '1' } });
    const startedBefore = await Promise.all(
      [first, second].map(async (entry) => (await entry.inspect()).State.StartedAt),
    );
    const outcome = await restartContainer({
      docker: engine.docker,
      label,
      mode: 'stop-start',
      stopTimeout: '1s',
    }).run(actionContext());
    expect((outcome?.data?.['containers'] as unknown[]).length).toBe(2);
    const startedAfter = await Promise.all(
      [first, second].map(async (entry) => (await entry.inspect()).State.StartedAt),
    );
    expect(startedAfter[0]).not.toBe(startedBefore[0]);
    expect(startedAfter[1]).not.toBe(startedBefore[1]);
    expect(outcome?.detail).toMatch(/^stop-started /);
  });

  it('fails with ACTION_TIMEOUT when the container does not come back healthy', { timeout: 180_000 }, async () => {
    const container = await engine.runContainer({
      cmd: ['sleep', '600'],
      createOptions: { Healthcheck: { Test: ['CMD-SHELL', 'exit 1'], Interval: 3_600_000_000_000, Retries: 1 } },
    });
    const timer = healthcheckTimer(engine.socketPath, () => [container.id]);
    try {
      const error = await restartContainer({
        docker: engine.docker,
        container: container.id,
        stopTimeout: '1s',
        timeout: '6s',
        pollInterval: '200ms',
      })
        .run(actionContext())
        .catch((thrown: unknown) => thrown);
      expect(HealingError.hasCode(error, 'ACTION_TIMEOUT')).toBe(true);
      expect((error as Error).message).toMatch(/still (unhealthy|starting) after 6000 ms/);
    } finally {
      await timer.stop();
    }
  });
});
