import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import Docker from 'dockerode';

import { TestkitError } from '../errors.js';
import { trackProcess, trackProcessesMentioning } from '../process/cleanup-registry.js';
import { findProcessesMentioning, runCommand, terminateProcess, waitFor } from '../process/process-utilities.js';
import { describeError } from '../redact-url.js';
import { tempDir } from '../temp-dir.js';
import type { TempDir } from '../temp-dir.js';
import { BUSYBOX_IMAGE, buildBusyboxRootfs } from './busybox-image.js';

export const PODMAN_INSTALL_HINT =
  'Install podman with `apt-get install -y podman runc busybox-static` (or run `bash scripts/services.sh` as root), ' +
  'or set OPS_TEST_DOCKER_SOCKET to the unix socket of a running Docker-compatible engine.';

/** A podman Docker-compatible service private to this process; see {@link startPodmanService}. */
export interface PodmanService {
  /** The service's unix socket. */
  socketPath: string;
  /** The per-run directory holding configuration, storage, runtime state and the socket. */
  directory: string;
  /** PID of `podman system service`. */
  pid: number;
  /** Milliseconds from the first podman call to the engine answering `_ping` with the image imported. */
  startupMs: number;
  /** Stops the service by PID, ends leftover helper processes, unmounts and deletes the directory. */
  stop(): Promise<void>;
}

function containersConf(directory: string): string {
  // Lowered ulimits and runc: crun and the default ulimits fail on these machines (dev-services.md).
  return [
    '[containers]',
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    'netns = "none"',
    '',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `tmp_dir = "${directory}/tmp"`,
    '',
    '[network]',
    `network_config_dir = "${directory}/net"`,
    '',
  ].join('\n');
}

function storageConf(directory: string): string {
  return [
    '[storage]',
    'driver = "overlay"',
    `graphroot = "${directory}/root"`,
    `runroot = "${directory}/run"`,
    '',
  ].join('\n');
}

/**
 * Starts `podman system service` on a unix socket in a fresh per-run directory, configured exactly as
 * dev-services.md describes (runc, lowered ulimits, no network namespace by default, the configuration files from
 * the very first podman call so nothing mixes with the machine's default storage), and imports the busybox image
 * built from the local `/bin/busybox`.
 */
export async function startPodmanService(): Promise<PodmanService> {
  const started = performance.now();
  let directory: TempDir | undefined;
  let pid = 0;
  try {
    await runCommand('podman', ['--version'], { timeoutMs: 10_000 }).catch((error: unknown) => {
      throw new TestkitError(
        'SERVICE_UNAVAILABLE',
        `podman is not usable (${describeError(error)}). ${PODMAN_INSTALL_HINT}`,
        {
          cause: error,
        },
      );
    });
    directory = await tempDir('podman');
    const base = directory.path;
    await Promise.all(['tmp', 'net', 'root', 'run'].map((name) => mkdir(join(base, name), { recursive: true })));
    await writeFile(join(base, 'containers.conf'), containersConf(base));
    await writeFile(join(base, 'storage.conf'), storageConf(base));
    const environment: NodeJS.ProcessEnv = {
      ...process.env,
      CONTAINERS_CONF: join(base, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(base, 'storage.conf'),
    };
    // conmon and other helpers podman spawns name this directory on their command line: end them at exit too.
    const untrackHelpers = trackProcessesMentioning(base);

    const tarball = await buildBusyboxRootfs(base);
    await runCommand('podman', ['import', '--quiet', tarball, BUSYBOX_IMAGE], { env: environment, timeoutMs: 120_000 });

    const socketPath = join(base, 'podman.sock');
    const logFile = join(base, 'service.log');
    const log = openSync(logFile, 'a');
    const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
      env: environment,
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    service.unref();
    pid = await new Promise<number>((resolve, reject) => {
      service.once('spawn', () => resolve(service.pid ?? 0));
      service.once('error', reject);
    });
    trackProcess(pid, 'SIGTERM');
    const docker = new Docker({ socketPath });
    await waitFor(
      async () => {
        if (service.exitCode !== null) {
          throw new Error(`podman system service exited with ${service.exitCode}: ${await readFile(logFile, 'utf8')}`);
        }
        await docker.ping();
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 50, description: `podman system service answering on ${socketPath}` },
    );
    const startupMs = Math.round(performance.now() - started);
    const ownedDirectory = directory;
    let stopping: Promise<void> | undefined;
    return {
      socketPath,
      directory: base,
      pid,
      startupMs,
      stop() {
        stopping ??= (async () => {
          await terminateProcess(pid, { signal: 'SIGTERM', timeoutMs: 10_000 });
          await Promise.all(
            findProcessesMentioning(base).map((helper) => terminateProcess(helper, { timeoutMs: 5_000 })),
          );
          await ownedDirectory.dispose();
          untrackHelpers();
        })();
        return stopping;
      },
    };
  } catch (error) {
    if (pid !== 0) await terminateProcess(pid);
    if (directory !== undefined) {
      for (const helper of findProcessesMentioning(directory.path)) await terminateProcess(helper);
      await directory.dispose();
    }
    throw error;
  }
}
