import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { createChildOutput } from './child-output.js';

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('child-output');
});
afterEach(async () => {
  await directory.dispose();
});

// A child that writes `count` pieces of 4 KiB (as pg_dump does), piece i filled with byte i % 251, then exits.
const WRITER = `
const count = Number(process.argv[1]);
let index = 0;
function next() {
  while (index < count) {
    const piece = Buffer.alloc(4096, index % 251);
    index++;
    if (!process.stdout.write(piece)) return process.stdout.once('drain', next);
  }
}
next();
`;

function expected(count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, index) => Buffer.alloc(4096, index % 251)));
}

function spawnWriter(childEnd: unknown, count: number) {
  return spawn(process.execPath, ['-e', WRITER, String(count)], {
    stdio: ['ignore', childEnd as 'pipe', 'inherit'],
  });
}

describe('child output through a local socket', () => {
  it('hands on exactly what the child wrote, in full blocks but the last, and ends when the child exits', async () => {
    const output = await createChildOutput(directory.path, 64 * 1024);
    expect(output).toBeDefined();
    if (!output) return;
    const child = spawnWriter(output.childEnd, 1000);
    output.handedOver();
    // Flowing, as the write pipeline consumes it (an async iterator would join what is buffered).
    const blocks: Buffer[] = [];
    output.stream.on('data', (block: Buffer) => blocks.push(block));
    await new Promise((resolve) => output.stream.once('end', resolve));
    const all = Buffer.concat(blocks);
    expect(all.length).toBe(1000 * 4096);
    expect(createHash('sha256').update(all).digest('hex')).toBe(
      createHash('sha256').update(expected(1000)).digest('hex'),
    );
    expect(blocks.slice(0, -1).every((block) => block.length === 64 * 1024)).toBe(true);
    expect(await new Promise((resolve) => child.once('close', resolve))).toBe(0);
  });

  it('stops reading while nobody consumes (memory stays bounded), and goes on when the consumer does', async () => {
    const output = await createChildOutput(directory.path, 64 * 1024);
    if (!output) throw new Error('no socket');
    const child = spawnWriter(output.childEnd, 16 * 1024); // 64 MiB
    output.handedOver();
    let exited = false;
    child.once('close', () => (exited = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(exited).toBe(false);
    // Bounded by the stream's high-water mark (one block) plus what one read of the socket (256 KiB) can complete:
    // under load the socket holds more, and a read finishes every block it fills before the pause takes effect.
    expect(output.stream.readableLength).toBeLessThanOrEqual(64 * 1024 + 256 * 1024);
    let bytes = 0;
    for await (const block of output.stream) bytes += (block as Buffer).length;
    expect(bytes).toBe(64 * 1024 * 1024);
  });

  it('destroying the stream closes the socket, so the child fails on its next write instead of hanging', async () => {
    const output = await createChildOutput(directory.path, 64 * 1024);
    if (!output) throw new Error('no socket');
    const child = spawnWriter(output.childEnd, 1024 * 1024);
    output.handedOver();
    output.stream.destroy();
    const code = await new Promise((resolve) => child.once('close', (exitCode, signal) => resolve(exitCode ?? signal)));
    expect(code).not.toBe(0);
  });

  it('is undefined where the socket path would be too long (the caller uses a pipe)', async () => {
    expect(await createChildOutput(`${directory.path}/${'x'.repeat(120)}`, 64 * 1024)).toBeUndefined();
  });
});
