/**
 * Reaction time of container autoheal: from the moment a container's HEALTHCHECK reports `unhealthy` to the moment
 * the healer issues its restart. Ours: @ops/healing's containerAutoheal rule in createHealer, fed by the Docker
 * events stream (watchContainerHealth) and ticked on each health change. Peer: a poller written here that behaves
 * as docker-autoheal documents it (every AUTOHEAL_INTERVAL = 5 s, list the labelled containers whose health is
 * `unhealthy` and restart them; none of its code copied). Both on the same podman engine, samples alternating.
 *
 * Podman runs HEALTHCHECKs from systemd timers, which this machine lacks: the bench plays the timer and runs the
 * check itself (libpod's healthcheck endpoint) — the instant that run returns `unhealthy` is the start of a sample.
 */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerAutoheal, createHealer } from '@ops/healing';
import { execInContainer, useDockerEngine, type DockerEngine } from '@ops/testkit';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';

const SAMPLES = Number(process.env['HEALING_BENCH_SAMPLES'] ?? 8);
const POLL_INTERVAL_MS = 5_000;
const HEALTHCHECK = { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 3_600_000_000_000, Retries: 1 };

function runHealthcheck(socketPath: string, id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { socketPath, method: 'GET', path: `/v4.0.0/libpod/containers/${id}/healthcheck`, timeout: 15_000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve((JSON.parse(body) as { Status: string }).Status)
            : reject(new Error(`healthcheck ${response.statusCode}: ${body}`)),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('healthcheck timed out')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** docker-autoheal's documented loop, written here: every interval, restart the labelled unhealthy containers. */
function autohealPoller(engine: DockerEngine, label: string, onRestart: (id: string, at: number) => void) {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const unhealthy = await engine.docker
        .listContainers({ all: true, filters: { label: [label], health: ['unhealthy'] } })
        .catch(() => []);
      for (const summary of unhealthy) {
        onRestart(summary.Id, Date.now());
        await engine.docker
          .getContainer(summary.Id)
          .restart({ t: 1 })
          .catch(() => undefined);
      }
      await sleep(POLL_INTERVAL_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Waits (bounded) for `done()`. */
async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Starts a container with a passing HEALTHCHECK, turns it unhealthy, returns the instant the check said so. */
type BenchContainer = Awaited<ReturnType<DockerEngine['runContainer']>>;

async function turnUnhealthy(engine: DockerEngine, label: string): Promise<{ container: BenchContainer; t0: number }> {
  const container = await engine.runContainer({
    cmd: ['sh', '-c', 'touch /tmp/ok; exec sleep 600'],
    labels: { [label]: 'true' },
    createOptions: { Healthcheck: HEALTHCHECK },
  });
  if ((await runHealthcheck(engine.socketPath, container.id)) !== 'healthy') throw new Error('not healthy at start');
  // Let both watchers settle on "healthy" before the change.
  await sleep(1_000);
  await execInContainer(container, ['rm', '/tmp/ok']);
  const status = await runHealthcheck(engine.socketPath, container.id);
  const t0 = Date.now();
  if (status !== 'unhealthy') throw new Error(`expected unhealthy, got ${status}`);
  return { container, t0 };
}

function p95(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] as number;
}

const suite: BenchSuite = {
  name: 'healing-reaction-time',
  description: `Container autoheal reaction time on the podman engine (Docker API): from the HEALTHCHECK run that returns unhealthy to the restart call. Ours: containerAutoheal + createHealer (every 5 s, ticked on each Docker health event; restart verified healthy). Peer: a poller written here as docker-autoheal documents it (AUTOHEAL_INTERVAL = 5 s, list labelled containers with health=unhealthy, restart). ${SAMPLES} samples each, alternating, a fresh container per sample; p95 (nearest rank) in the notes. A sample starts when the check's answer reaches the bench; podman emits its health event while the check runs, so ours can be a few ms.`,
  async run(): Promise<BenchRow[]> {
    const engine = await useDockerEngine();
    const oursLabel = `bench-ours-${process.pid}`;
    const peerLabel = `bench-peer-${process.pid}`;
    const restartIssued = new Map<string, number>();
    const autoheal = containerAutoheal({
      docker: engine.docker,
      label: `${oursLabel}=true`,
      stopTimeout: '1s',
      restartTimeout: '30s',
      fleet: false,
      budget: { max: 5 },
    });
    const healer = createHealer({ rules: [autoheal], every: '5s', autoStart: false });
    healer.on('step.started', (event) => void restartIssued.set(event.target, event.at));
    const healed = new Set<string>();
    healer.on('episode.closed', (event) => void healed.add(event.target));
    autoheal.react(healer);
    if (process.env['HEALING_BENCH_DEBUG'])
      for (const name of [
        'episode.opened',
        'step.started',
        'step.completed',
        'verify.completed',
        'episode.closed',
        'action.skipped',
        'episode.escalated',
      ] as const)
        healer.on(name, (event) => console.error(name, JSON.stringify(event).slice(0, 300)));
    autoheal.watcher.on('stream.disconnected', (event) => console.error('bench: events stream dropped', event.error));
    const poller = autohealPoller(engine, `${peerLabel}=true`, (id, at) => {
      if (!restartIssued.has(id)) restartIssued.set(id, at);
    });
    const ours: number[] = [];
    const peer: number[] = [];
    try {
      await autoheal.watcher.start();
      healer.start();
      for (let sample = 0; sample < SAMPLES * 2; sample++) {
        const isOurs = sample % 2 === 0;
        const { container, t0 } = await turnUnhealthy(engine, isOurs ? oursLabel : peerLabel);
        const key = isOurs ? (await container.inspect()).Name.replace(/^\//, '') : container.id;
        await until(() => restartIssued.has(key), 60_000, `the restart of sample ${sample}`).catch((error: unknown) => {
          throw new Error(
            `${(error as Error).message}; watcher ${autoheal.watcher.connected ? 'connected' : 'disconnected'}, sees ${JSON.stringify(autoheal.watcher.containers().map((entry) => [entry.name, entry.health]))}`,
          );
        });
        (isOurs ? ours : peer).push((restartIssued.get(key) as number) - t0);
        if (isOurs) {
          // Play the healthcheck timer until our restart is verified healthy and the episode closes.
          for (let wait = 0; wait < 150 && !healed.has(key); wait++) {
            await runHealthcheck(engine.socketPath, container.id).catch(() => undefined);
            await sleep(200);
          }
        }
        await container.remove({ force: true }).catch(() => undefined);
      }
    } finally {
      await poller.stop();
      await healer.stop();
      await autoheal.watcher.close();
      await engine.dispose();
    }
    const oursStats = stats(ours);
    const peerStats = stats(peer);
    return [
      compareRow({
        group: 'Container autoheal: unhealthy → restart issued',
        metric: 'reaction time',
        unit: 'ms',
        ours: oursStats,
        peer: { name: 'docker-autoheal-style poller (5 s)', ...peerStats },
        higherIsBetter: false,
        notes: `p95 ours ${Math.round(p95(ours))} ms, peer ${Math.round(p95(peer))} ms; samples ours [${ours.map(Math.round).join(', ')}], peer [${peer.map(Math.round).join(', ')}]`,
      }),
    ];
  },
};

export default suite;
