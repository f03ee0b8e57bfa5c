import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@ops/core';
import { createRedisNamespace, useDockerEngine, type DockerEngine, type RedisNamespace } from '@ops/testkit';
import type { Container } from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  execInContainer,
  FILE_HEALTHCHECK,
  healthcheckTimer,
  runHealthcheck,
} from '../docker/healthcheck-runner.fixture.js';
import { createHealCli } from './heal-cli.js';

let engine: DockerEngine;
let namespace: RedisNamespace;
let directory: string;
beforeAll(async () => {
  engine = await useDockerEngine();
  namespace = await createRedisNamespace();
  directory = await mkdtemp(join(tmpdir(), 'ops-heal-int-'));
}, 180_000);
afterAll(async () => {
  await engine?.dispose();
  await namespace?.dispose();
  await rm(directory, { recursive: true, force: true });
}, 120_000);

const exec = execInContainer;

function capture() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (chunk: string) => void (out.stdout += chunk) },
      stderr: { write: (chunk: string) => void (out.stderr += chunk) },
      env: {},
    },
  };
}

describe('ops-heal against the podman engine and Redis', () => {
  it(
    'run heals a container that turns unhealthy; status, audit, pause and resume read the shared state',
    { timeout: 180_000 },
    async () => {
      const label = `ops-heal-${process.pid}`;
      const container = await engine.runContainer({
        cmd: FILE_HEALTHCHECK.cmd,
        labels: { [label]: 'true' },
        createOptions: { Healthcheck: FILE_HEALTHCHECK.healthcheck },
      });
      const name = (await container.inspect()).Name.replace(/^\//, '');
      await runHealthcheck(engine.socketPath, container.id);
      const timer = healthcheckTimer(engine.socketPath, () => [container.id]);
      const file = join(directory, 'heal.yaml');
      await writeFile(
        file,
        [
          `docker:`,
          `  socket: ${engine.socketPath}`,
          `redis: ${namespace.url}`,
          `prefix: "${namespace.keyPrefix}heal:"`,
          `every: 1s`,
          `rules:`,
          `  - name: autoheal`,
          `    label: ${label}=true`,
          `    stopTimeout: 1s`,
          `    restartTimeout: 30s`,
          `    fleet: false`,
          '',
        ].join('\n'),
      );
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const cli = createHealCli({ stopSignal: () => stopped });
      const run = capture();
      try {
        const running = runCli(cli, ['run', file, '--json'], run.io);
        for (let wait = 0; wait < 600 && !run.out.stderr.includes('watching'); wait++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        expect(run.out.stderr).toContain('ops-heal: watching 1 container(s) for 1 rule(s); state in Redis');
        await exec(container, ['rm', '/tmp/ok']);
        for (let wait = 0; wait < 1200 && !run.out.stdout.includes('"episode.closed"'); wait++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        stop();
        expect(await running).toBe(0);
        // Episode events only: a slow machine may add store.failed / action.skipped lines in between.
        const episodeEvents = ['episode.opened', 'step.completed', 'verify.completed', 'episode.closed'];
        const lines = run.out.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { event: string; [key: string]: unknown })
          .filter((line) => episodeEvents.includes(line.event));
        expect(lines.map((line) => line.event)).toEqual([
          'episode.opened',
          'step.completed',
          'verify.completed',
          'episode.closed',
        ]);
        expect(lines[1]).toMatchObject({ target: name, kind: 'restart-container', result: 'ok' });
        expect(lines[3]).toMatchObject({ outcome: 'healed' });

        const status = capture();
        expect(await runCli(cli, ['status', file, '--json'], status.io)).toBe(0);
        expect(JSON.parse(status.out.stdout)).toMatchObject({
          ok: true,
          pauses: [],
          targets: [expect.objectContaining({ rule: 'autoheal', target: name, health: 'healthy', attempts: 1 })],
        });

        const audit = capture();
        expect(await runCli(cli, ['audit', file, '--target', name, '--json'], audit.io)).toBe(0);
        const records = (JSON.parse(audit.out.stdout) as { records: Array<Record<string, unknown>> }).records;
        expect(records.map((record) => record.kind)).toEqual(
          expect.arrayContaining([
            'episode.opened',
            'step.started',
            'step.completed',
            'verify.completed',
            'episode.closed',
          ]),
        );
        const completed = records.find((record) => record.kind === 'step.completed');
        expect(completed).toMatchObject({ result: 'ok', holder: { fencingToken: expect.any(Number) } });
        expect(new Set(records.map((record) => record.episodeId)).size).toBe(1);
        const human = capture();
        expect(await runCli(cli, ['audit', file], human.io)).toBe(0);
        expect(human.out.stdout).toMatch(/step\.completed {2}autoheal ops-test-\w+ {2}restart container#1 {2}ok/);

        const pause = capture();
        expect(await runCli(cli, ['pause', file, '--target', name, '--reason', 'maintenance'], pause.io)).toBe(0);
        expect(pause.out.stdout).toBe(`paused target ${name}\n`);
        const paused = capture();
        expect(await runCli(cli, ['status', file], paused.io)).toBe(0);
        expect(paused.out.stdout).toContain(`paused: target ${name} — maintenance`);
        expect(paused.out.stdout).toMatch(/RULE\s+TARGET\s+HEALTH/);
        const resume = capture();
        expect(await runCli(cli, ['resume', file, '--target', name], resume.io)).toBe(0);
        const again = capture();
        expect(await runCli(cli, ['resume', file, '--target', name], again.io)).toBe(1);
        expect(again.out.stdout).toBe(`no pause on target ${name}\n`);
      } finally {
        stop();
        await timer.stop();
      }
    },
  );

  it('run --dry-run audits "would run" and restarts nothing', { timeout: 180_000 }, async () => {
    const label = `ops-heal-dry-${process.pid}`;
    const container = await engine.runContainer({
      cmd: ['sleep', '600'],
      labels: { [label]: 'true' },
      createOptions: { Healthcheck: FILE_HEALTHCHECK.healthcheck },
    });
    expect(await runHealthcheck(engine.socketPath, container.id)).toBe('unhealthy');
    const file = join(directory, 'dry.yaml');
    await writeFile(
      file,
      `docker:\n  socket: ${engine.socketPath}\nevery: 500ms\nrules:\n  - label: ${label}\n    fleet: false\n`,
    );
    const run = capture();
    const heartbeat = join(directory, 'alive.json');
    const code = await runCli(
      createHealCli(),
      ['run', file, '--dry-run', '--duration', '8s', '--heartbeat-file', heartbeat],
      run.io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(heartbeat, 'utf8'))).toMatchObject({ pid: process.pid, containers: 1 });
    expect(run.out.stderr).toContain('(dry-run)');
    expect(run.out.stdout).toMatch(/container-autoheal ops-test-\w+: restart container would-run/);
    expect((await container.inspect()).RestartCount).toBe(0);
  });
  it('the ops-heal launcher (built dist) stops cleanly on SIGTERM with exit 0', { timeout: 180_000 }, async () => {
    const file = join(directory, 'signal.yaml');
    await writeFile(
      file,
      `docker:\n  socket: ${engine.socketPath}\nrules:\n  - label: ops-heal-signal-${process.pid}\n`,
    );
    const launcher = fileURLToPath(new URL('../../bin/ops-heal.js', import.meta.url));
    const child = spawn(process.execPath, [launcher, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let wait = 0; wait < 600 && !stderr.includes('watching'); wait++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stderr, 'build @ops/healing first: pnpm --filter @ops/healing build').toContain(
        'ops-heal: watching 0 container(s) for 1 rule(s); state in memory',
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
