import { existsSync } from 'node:fs';
import { join } from 'node:path';

import Docker from 'dockerode';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findProcessesMentioning, isProcessAlive } from '../process/process-utilities.js';
import { TestkitError } from '../errors.js';
import { tempDir } from '../temp-dir.js';
import { BUSYBOX_IMAGE } from './busybox-image.js';
import { TESTKIT_CONTAINER_LABEL, locateDockerEngine, useDockerEngine } from './docker-engine.js';
import { startPodmanService } from './podman-service.js';
import type { DockerEngine } from './docker-engine.js';

describe('useDockerEngine', () => {
  let engine: DockerEngine;
  beforeAll(async () => {
    engine = await useDockerEngine();
  });
  afterAll(() => engine.dispose());

  it('answers the Docker Engine API and has the busybox image', async () => {
    expect(await engine.docker.ping()).toBeTruthy();
    const version = await engine.docker.version();
    expect(Number(version.ApiVersion)).toBeGreaterThanOrEqual(1.41);
    const image = await engine.docker.getImage(engine.image).inspect();
    expect(image.RepoTags).toContain('localhost/busybox:test');
    // Measured once per engine start; reported in the test output for the record.
    console.info(`docker engine (${engine.source}) ready in ${engine.startupMs} ms`);
  });

  it('starts, inspects, execs in and stops a busybox container through dockerode', async () => {
    const container = await engine.runContainer({ cmd: ['sleep', '300'], labels: { purpose: 'testkit' } });
    const running = await container.inspect();
    expect(running.State.Running).toBe(true);
    expect(running.HostConfig.NetworkMode).toBe('none');
    expect(running.Config.Labels).toMatchObject({ purpose: 'testkit', [TESTKIT_CONTAINER_LABEL]: expect.any(String) });

    const exec = await container.exec({ Cmd: ['cat', '/etc/passwd'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const output = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.on('error', reject);
    });
    expect(output).toContain('root:x:0:0');

    await container.stop({ t: 1 });
    const stopped = await container.inspect();
    expect(stopped.State.Running).toBe(false);
  });

  it('removes its containers and their leftover conmon processes on dispose, and stops the service', async () => {
    const second = await useDockerEngine();
    const container = await second.runContainer();
    const exec = await container.exec({ Cmd: ['true'] });
    await exec.start({ Detach: true });
    const containerPid = (await container.inspect()).State.Pid;
    expect(isProcessAlive(containerPid)).toBe(true);

    await second.dispose();
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(isProcessAlive(containerPid)).toBe(false);
    expect(findProcessesMentioning(container.id)).toEqual([]);
    // The first handle still holds the shared service.
    expect(await engine.docker.ping()).toBeTruthy();
  });
});

describe('useDockerEngine lifetime', () => {
  it('stops the podman service it started by PID when the last handle is disposed', async () => {
    const engine = await useDockerEngine();
    if (engine.source !== 'throwaway') {
      await engine.dispose();
      expect(engine.source).toMatch(/environment|local/);
      return;
    }
    const socketPath = engine.socketPath;
    const directory = socketPath.slice(0, socketPath.lastIndexOf('/'));
    const servicePids = findProcessesMentioning(`unix://${socketPath}`);
    expect(servicePids.length).toBeGreaterThan(0);
    await engine.runContainer();
    await engine.dispose();
    for (const pid of servicePids) expect(isProcessAlive(pid)).toBe(false);
    expect(findProcessesMentioning(directory)).toEqual([]);
    expect(existsSync(directory)).toBe(false);
  });
});

describe('locateDockerEngine', () => {
  it('uses OPS_TEST_DOCKER_SOCKET first and imports the busybox image into that engine if needed', async () => {
    const service = await startPodmanService();
    try {
      const docker = new Docker({ socketPath: service.socketPath });
      await docker.getImage(BUSYBOX_IMAGE).remove();
      const located = await locateDockerEngine({ OPS_TEST_DOCKER_SOCKET: `unix://${service.socketPath}` });
      expect(located).toMatchObject({ socketPath: service.socketPath, source: 'environment' });
      expect((await docker.getImage(BUSYBOX_IMAGE).inspect()).RepoTags).toContain(BUSYBOX_IMAGE);
    } finally {
      await service.stop();
    }
  });

  it('names OPS_TEST_DOCKER_SOCKET when it does not answer instead of falling back', async () => {
    const directory = await tempDir('no-engine');
    try {
      const socketPath = join(directory.path, 'docker.sock');
      const failure = await locateDockerEngine({ OPS_TEST_DOCKER_SOCKET: socketPath }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TestkitError);
      expect((failure as TestkitError).message).toContain(`OPS_TEST_DOCKER_SOCKET=${socketPath} did not answer`);
    } finally {
      await directory.dispose();
    }
  });
});
