// `pnpm start` as a real process: settings from the environment, and a graceful shutdown on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PACKAGE_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));
const started: ChildProcess[] = [];
const directories: string[] = [];

afterAll(async () => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function startServer(environment: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: PACKAGE_DIRECTORY,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor<T>(read: () => T | undefined, attempts = 200): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached in time');
}

describe('pnpm start (src/server.ts)', () => {
  it('serves with no database, then drains and exits 0 on SIGTERM', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ops-reference-server-'));
    directories.push(directory);
    const server = startServer({
      PORT: '0',
      BACKUP_DIR: join(directory, 'backups'),
      SHUTDOWN_DRAIN_DELAY: '2s',
      LOG_LEVEL: 'info',
    });
    const url = await waitFor(() => /notes service on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())?.[1]);
    const created = await fetch(`${url}/notes`, {
      method: 'POST',
      body: JSON.stringify({ title: 'from a real process' }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);

    process.kill(server.child.pid as number, 'SIGTERM');
    // During the drain delay readiness already fails, so load balancers stop sending traffic.
    await waitFor(() => (server.output().includes('graceful shutdown started') ? true : undefined));
    const draining = await fetch(`${url}/health/ready`, { headers: { connection: 'close' } });
    expect(draining.status).toBe(503);
    expect(await server.exited).toBe(0);
    const logLines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logLines).toContainEqual(expect.objectContaining({ hook: 'notes store', msg: 'shutdown hook finished' }));
    expect(logLines).toContainEqual(expect.objectContaining({ exitCode: 0, msg: 'graceful shutdown complete' }));
  });

  it('exits 2 naming the variable when the environment is invalid', async () => {
    const server = startServer({ PORT: 'eighty', DATABASE_URL: 'mysql://root:hunter2@db/notes' });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(
      /invalid environment: PORT: expected a port number; DATABASE_URL: expected a URL such as postgresql:/,
    );
    expect(server.output()).not.toContain('hunter2');
  });
});
