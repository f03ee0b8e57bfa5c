// DOCKER_SOCKET: the backend's healer follows containers labelled autoheal=true on a real Docker-compatible engine
// (podman's service from @ops/testkit).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@ops/core';
import { useDockerEngine, type DockerEngine } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';

let engine: DockerEngine;
let backend: ReferenceBackend | undefined;
let directory: string;

beforeAll(async () => {
  engine = await useDockerEngine();
  directory = await mkdtemp(join(tmpdir(), 'ops-reference-containers-'));
});

afterAll(async () => {
  await backend?.shutdown('test done');
  await engine?.dispose();
  await rm(directory, { recursive: true, force: true });
});

describe('container autoheal (DOCKER_SOCKET)', () => {
  it('adds the container-autoheal rule and follows the labelled containers only', async () => {
    const labelled = await engine.runContainer({ labels: { autoheal: 'true' } });
    const other = await engine.runContainer();
    backend = await startReferenceBackend({
      config: {
        port: 0,
        adminEnabled: true,
        dockerSocket: engine.socketPath,
        backupDirectory: join(directory, 'backups'),
        drainDelay: '0s',
      },
      sloEvaluateEvery: false,
      signals: [],
      exit: () => undefined,
    });
    const watcher = backend.healing.containers?.watcher;
    expect(watcher).toBeDefined();
    const labelledName = (await labelled.inspect()).Name.replace(/^\//, '');
    const otherName = (await other.inspect()).Name.replace(/^\//, '');
    let names: string[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      names = watcher!.containers().map((container) => container.name);
      if (names.includes(labelledName)) break;
      await systemClock.sleep(50);
    }
    expect(names).toContain(labelledName);
    expect(names).not.toContain(otherName);
    const healing = (await (await fetch(`${backend.url}/admin/healing`)).json()) as { rules: Array<{ name: string }> };
    expect(healing.rules.map((rule) => rule.name)).toEqual([
      'memory',
      'latency',
      'database-connections',
      'container-autoheal',
    ]);
  });
});
