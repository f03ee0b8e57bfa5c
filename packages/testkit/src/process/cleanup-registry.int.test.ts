import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { findProcessesMentioning, isProcessAlive, sendSignal, waitFor } from './process-utilities.js';

interface Started {
  pids: number[];
  paths: string[];
}

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'cleanup-registry.fixture.ts');

/** Runs the fixture in a child Node process (TypeScript via tsx) and returns what it started. */
async function startChild(mode: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await new Promise<Started>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0] ?? '') as Started);
    });
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code}: ${stderr}`)));
  });
  return { child, started, exited };
}

async function expectCleanedUp(started: Started): Promise<void> {
  await waitFor(() => (started.pids.some(isProcessAlive) ? undefined : true), {
    timeoutMs: 15_000,
    intervalMs: 100,
    description: `processes ${started.pids.join(', ')} ending`,
  });
  await waitFor(() => (started.paths.some((path) => existsSync(path)) ? undefined : true), {
    timeoutMs: 15_000,
    intervalMs: 100,
    description: 'fixture directories being removed',
  });
}

describe('cleanup at process exit', () => {
  it('ends tracked processes and removes directories when a test process exits without disposing', async () => {
    const { started, exited } = await startChild('exit');
    await exited;
    // The exit hook itself waited for the processes and removed the directories.
    expect(started.pids.some(isProcessAlive)).toBe(false);
    expect(started.paths.filter((path) => existsSync(path))).toEqual([]);
  });

  it('resumes a paused server before ending it at exit', async () => {
    const { started, exited } = await startChild('pause-and-exit');
    await exited;
    await expectCleanedUp(started);
  });

  it('cleans up when the test process is stopped with SIGTERM, as vitest stops its workers', async () => {
    const { child, started, exited } = await startChild('wait');
    child.kill('SIGTERM');
    await exited;
    await expectCleanedUp(started);
  });

  it('cleans up through the watchdog when the test process is killed with SIGKILL', async () => {
    const { child, started, exited } = await startChild('wait');
    expect(started.pids.every(isProcessAlive)).toBe(true);
    sendSignal(child.pid ?? 0, 'SIGKILL');
    await exited;
    await expectCleanedUp(started);
  });

  it('ends the podman service, conmon and the container, and removes the engine directory after SIGKILL', async () => {
    const { child, started, exited } = await startChild('docker');
    const [directory] = started.paths;
    expect(findProcessesMentioning(directory ?? '').length).toBeGreaterThan(0);
    sendSignal(child.pid ?? 0, 'SIGKILL');
    await exited;
    await expectCleanedUp(started);
    expect(findProcessesMentioning(directory ?? '')).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(directory);
  });
});
