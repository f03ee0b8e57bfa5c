import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@ops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealCli, healCli } from './heal-cli.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'ops-heal-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function call(argv: string[], cli = healCli) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(cli, argv, {
    stdout: { write: (chunk: string) => void (stdout += chunk) },
    stderr: { write: (chunk: string) => void (stderr += chunk) },
    env: {},
  });
  return { code, stdout, stderr };
}

async function rulesFile(name: string, content: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, content);
  return path;
}

describe('ops-heal', () => {
  it('lists its commands and exit codes in --help', async () => {
    const { code, stdout } = await call(['--help']);
    expect(code).toBe(0);
    for (const command of ['run', 'status', 'pause', 'resume', 'audit']) expect(stdout).toContain(`  ${command}`);
    expect(stdout).toContain('Exit codes: 0 ok, 1 check or job failed, 2 usage or configuration error.');
    expect((await call(['run', '--help'])).stdout).toContain('--dry-run');
  });

  it('exits 2 naming the field and the intended key for a mistyped rules file', async () => {
    const file = await rulesFile('typo.yaml', 'rules:\n  - label: autoheal=true\n    restartsPerEpisod: 2\n');
    const { code, stderr } = await call(['run', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('rules[0]');
    expect(stderr).toContain('"restartsPerEpisod" (did you mean "restartsPerEpisode"?)');
  });

  it('exits 2 for a bad duration, a missing file argument, and a shared-state command without redis:', async () => {
    const file = await rulesFile('bad-duration.yaml', 'every: 5 mins\nrules:\n  - label: all\n');
    const bad = await call(['run', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('every');
    const missing = await call(['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('give the rules file');
    const memory = await rulesFile('memory.yaml', 'rules:\n  - label: autoheal=true\n');
    const status = await call(['pause', memory, '--json']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('set `redis: redis://…` in the rules file');
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: false, error: { code: 'ARGUMENT_INVALID' } });
  });

  it('exits 1 with the reason when the Docker engine cannot be reached', async () => {
    const file = await rulesFile(
      'no-engine.yaml',
      'docker:\n  socket: /nonexistent/docker.sock\nrules:\n  - label: all\n',
    );
    const { code, stderr } = await call(['run', file, '--duration', '1s']);
    expect(code).toBe(1);
    expect(stderr).toContain('cannot follow docker events');
  });

  it('reads ${ENV} references in the rules file', async () => {
    const file = await rulesFile('env.yaml', 'docker:\n  socket: ${DOCKER_SOCKET}\nrules:\n  - label: all\n');
    const sockets: string[] = [];
    const cli = createHealCli({
      docker: (socketPath) => {
        sockets.push(socketPath);
        throw new Error('stop here');
      },
    });
    let stderr = '';
    const code = await runCli(cli, ['run', file], {
      stdout: { write: () => undefined },
      stderr: { write: (chunk: string) => void (stderr += chunk) },
      env: { DOCKER_SOCKET: '/run/podman/podman.sock' },
    });
    expect(code).toBe(1);
    expect(sockets).toEqual(['/run/podman/podman.sock']);
    expect(stderr).toContain('stop here');
  });
});
