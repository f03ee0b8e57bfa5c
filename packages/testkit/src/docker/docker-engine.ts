import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';

import Docker from 'dockerode';
import type { Container, ContainerCreateOptions, HostConfig } from 'dockerode';

import { TestkitError } from '../errors.js';
import { trackProcess } from '../process/cleanup-registry.js';
import { findProcessesMentioning, terminateProcess } from '../process/process-utilities.js';
import { describeError } from '../redact-url.js';
import { tempDir } from '../temp-dir.js';
import { BUSYBOX_IMAGE, buildBusyboxRootfs } from './busybox-image.js';
import { PODMAN_INSTALL_HINT, startPodmanService } from './podman-service.js';
import type { PodmanService } from './podman-service.js';

/** Sockets of a Docker-compatible engine already running on the machine, tried in this order. */
export const LOCAL_DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/podman/podman.sock'] as const;

/** Label put on every container created through {@link DockerEngine.runContainer}. */
export const TESTKIT_CONTAINER_LABEL = 'ops.testkit.run';

/** Options of {@link DockerEngine.runContainer}. */
export interface RunContainerOptions {
  /** Command to run in the busybox image. Defaults to `['sleep', '300']`. */
  cmd?: string[];
  /** Container name. Defaults to `ops-test-<random>`. */
  name?: string;
  /** Extra labels (the fixture adds `ops.testkit.run`). */
  labels?: Record<string, string>;
  /** Environment as `NAME=value` strings. */
  env?: string[];
  /** Host configuration merged over `{ NetworkMode: 'none' }`. */
  hostConfig?: HostConfig;
  /** Any other create options, merged last (image defaults to the busybox test image). */
  createOptions?: Partial<ContainerCreateOptions>;
}

/** A Docker Engine API for tests; see {@link useDockerEngine}. */
export interface DockerEngine {
  /** The engine's unix socket. */
  socketPath: string;
  /** A dockerode client on that socket. */
  docker: Docker;
  /** Image every engine provides: `localhost/busybox:test`, imported from the local busybox. */
  image: typeof BUSYBOX_IMAGE;
  /** Where the engine came from. */
  source: 'environment' | 'local' | 'throwaway';
  /** Milliseconds it took to start this process' podman service (`0` when an existing engine was used). */
  startupMs: number;
  /**
   * Creates and starts a busybox container (default `sleep 300`, `NetworkMode: 'none'`) and returns it. It is
   * removed by `dispose()`.
   */
  runContainer(options?: RunContainerOptions): Promise<Container>;
  /**
   * Removes the containers created through this handle, ends their leftover `conmon` processes (each API `exec`
   * leaves one) and, when this was the last handle on this process' podman service, stops it.
   */
  dispose(): Promise<void>;
}

let shared: Promise<LocatedDockerEngine> | undefined;
let references = 0;

function socketFromEnvironment(value: string): string {
  return value.startsWith('unix://') ? value.slice('unix://'.length) : value;
}

async function ensureImage(docker: Docker): Promise<void> {
  try {
    await docker.getImage(BUSYBOX_IMAGE).inspect();
    return;
  } catch {
    // Not there yet: import it below.
  }
  const directory = await tempDir('busybox-image');
  try {
    const tarball = await buildBusyboxRootfs(directory.path);
    // Docker accepts a tag inside `repo`; podman's compatibility API ignores a separate `tag` parameter.
    const stream = await docker.importImage(Readable.from([await readFile(tarball)]), { repo: BUSYBOX_IMAGE });
    const progress = await new Promise<Array<{ status?: string }>>((resolve, reject) => {
      docker.modem.followProgress(stream, (error, output: Array<{ status?: string }>) =>
        error ? reject(error) : resolve(output),
      );
    });
    const imported = await docker
      .getImage(BUSYBOX_IMAGE)
      .inspect()
      .catch(() => undefined);
    if (imported === undefined) {
      const imageId = progress.map((event) => event.status ?? '').find((status) => status.startsWith('sha256:'));
      if (imageId === undefined) throw new Error(`importing ${BUSYBOX_IMAGE} reported no image ID`);
      const [repository, tag] = BUSYBOX_IMAGE.split(':') as [string, string];
      await docker.getImage(imageId).tag({ repo: repository, tag });
    }
  } finally {
    await directory.dispose();
  }
}

async function tryExisting(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  const docker = new Docker({ socketPath });
  await docker.ping();
  await ensureImage(docker);
  return true;
}

/** Where {@link locateDockerEngine} found an engine. */
export interface LocatedDockerEngine {
  socketPath: string;
  source: DockerEngine['source'];
  startupMs: number;
  /** The podman service started for this process when `source` is `'throwaway'`. */
  service?: PodmanService;
}

/** One uncached pass of the resolution order (exported for tests; use {@link useDockerEngine}). */
export async function locateDockerEngine(environment: NodeJS.ProcessEnv = process.env): Promise<LocatedDockerEngine> {
  const fromEnvironment = environment['OPS_TEST_DOCKER_SOCKET'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    const socketPath = socketFromEnvironment(fromEnvironment);
    try {
      if (!(await tryExisting(socketPath))) throw new Error('no such socket');
    } catch (error) {
      throw new TestkitError(
        'SERVICE_UNAVAILABLE',
        `OPS_TEST_DOCKER_SOCKET=${fromEnvironment} did not answer: ${describeError(error)}. ` +
          'Start that engine, fix the path, or unset the variable to let the testkit start podman.',
        { cause: error },
      );
    }
    return { socketPath, source: 'environment', startupMs: 0 };
  }

  const localFailures: string[] = [];
  for (const socketPath of LOCAL_DOCKER_SOCKETS) {
    try {
      if (await tryExisting(socketPath)) return { socketPath, source: 'local', startupMs: 0 };
    } catch (error) {
      localFailures.push(`${socketPath}: ${describeError(error)}`);
    }
  }

  try {
    const service = await startPodmanService();
    return { socketPath: service.socketPath, source: 'throwaway', startupMs: service.startupMs, service };
  } catch (error) {
    throw new TestkitError(
      'SERVICE_UNAVAILABLE',
      'No Docker-compatible engine for tests. OPS_TEST_DOCKER_SOCKET is not set; ' +
        `${localFailures.length === 0 ? `no socket at ${LOCAL_DOCKER_SOCKETS.join(' or ')}` : localFailures.join('; ')}; ` +
        `podman's service could not be started (${describeError(error)}). ${PODMAN_INSTALL_HINT}`,
      { cause: error },
    );
  }
}

async function release(): Promise<void> {
  references -= 1;
  if (references > 0 || shared === undefined) return;
  const engine = await shared.catch(() => undefined);
  shared = undefined;
  await engine?.service?.stop();
}

/**
 * Gives a test a Docker Engine API, in this order: `OPS_TEST_DOCKER_SOCKET` → a running engine at
 * `/var/run/docker.sock` or `/run/podman/podman.sock` → podman's Docker-compatible service started for this process
 * (configured as dev-services.md says; state in a per-run temp directory) → a `SERVICE_UNAVAILABLE` error saying
 * what to install. The image `localhost/busybox:test` is imported from the local busybox, never pulled.
 *
 * One podman service is shared by every handle in the test process (vitest runs each test file in its own
 * process, so in practice one per test file) and stopped by PID when the last handle is disposed, or at exit.
 *
 * @example
 * ```ts
 * const engine = await useDockerEngine();
 * const container = await engine.runContainer({ cmd: ['sleep', '300'] });
 * const state = (await container.inspect()).State;   // state.Running === true
 * await container.stop({ t: 1 });
 * await engine.dispose();                           // removes the container, stops the service
 * ```
 */
export async function useDockerEngine(): Promise<DockerEngine> {
  references += 1;
  let engine: LocatedDockerEngine;
  try {
    shared ??= locateDockerEngine();
    engine = await shared;
  } catch (error) {
    shared = undefined;
    references -= 1;
    throw error;
  }

  const docker = new Docker({ socketPath: engine.socketPath });
  const runId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const containers = new Map<string, Container>();
  const untrackers: Array<() => void> = [];
  let disposed: Promise<void> | undefined;

  return {
    socketPath: engine.socketPath,
    docker,
    image: BUSYBOX_IMAGE,
    source: engine.source,
    startupMs: engine.startupMs,
    async runContainer(runOptions = {}) {
      if (disposed !== undefined) throw new TestkitError('FIXTURE_DISPOSED', 'this Docker engine handle was disposed');
      const {
        cmd = ['sleep', '300'],
        name = `ops-test-${randomBytes(5).toString('hex')}`,
        labels = {},
        env,
        hostConfig = {},
        createOptions = {},
      } = runOptions;
      const container = await docker.createContainer({
        Image: BUSYBOX_IMAGE,
        name,
        Cmd: cmd,
        Labels: { ...labels, [TESTKIT_CONTAINER_LABEL]: runId },
        ...(env === undefined ? {} : { Env: env }),
        HostConfig: { NetworkMode: 'none', ...hostConfig },
        ...createOptions,
      });
      containers.set(container.id, container);
      await container.start();
      // If this process dies before dispose, the exit hook and watchdog end the container's process by PID.
      const state = (await container.inspect()).State;
      if (state.Pid > 0) untrackers.push(trackProcess(state.Pid, 'SIGKILL'));
      return container;
    },
    dispose() {
      disposed ??= (async () => {
        try {
          await Promise.all(
            [...containers.values()].map(async (container) => {
              try {
                await container.remove({ force: true, v: true });
              } catch (error) {
                if ((error as { statusCode?: number }).statusCode !== 404) throw error;
              }
              // Exec sessions leave a conmon process naming the container ID behind; end it by PID.
              await Promise.all(
                findProcessesMentioning(container.id).map((pid) => terminateProcess(pid, { timeoutMs: 5_000 })),
              );
            }),
          );
        } finally {
          for (const untrack of untrackers) untrack();
          await release();
        }
      })();
      return disposed;
    },
  };
}
