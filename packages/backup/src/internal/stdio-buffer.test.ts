import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { findExecutable, withLargeStdioBuffer } from './stdio-buffer.js';

const run = promisify(execFile);
let directory: TempDir;

beforeAll(async () => {
  directory = await tempDir('stdio-buffer');
});

afterAll(async () => {
  await directory?.dispose();
});

describe('withLargeStdioBuffer', () => {
  it('runs the tool under stdbuf -o 1M, which hands the tool its 1 MiB stdout buffer', async () => {
    const command = await withLargeStdioBuffer('stdout', 'env', []);
    expect(command.buffered, 'this machine has coreutils stdbuf on PATH (Linux)').toBe(true);
    expect(command.args.slice(0, 3)).toEqual(['-o', '1M', await findExecutable('env')]);
    const { stdout } = await run(command.file, command.args);
    expect(stdout).toMatch(/^_STDBUF_O=1048576$/m);
    expect(stdout).toMatch(/^LD_PRELOAD=.*libstdbuf/m);
  });

  it('runs a reader under stdbuf -i 1M', async () => {
    const command = await withLargeStdioBuffer('stdin', 'env', []);
    expect(command.args.slice(0, 2)).toEqual(['-i', '1M']);
    const { stdout } = await run(command.file, command.args);
    expect(stdout).toMatch(/^_STDBUF_I=1048576$/m);
  });

  it('leaves a tool it cannot find as given, so the spawn reports it missing itself', async () => {
    expect(await withLargeStdioBuffer('stdout', '/nonexistent/pg_dump', ['--version'])).toEqual({
      file: '/nonexistent/pg_dump',
      args: ['--version'],
      buffered: false,
    });
  });
});

describe('findExecutable', () => {
  it('finds a command on PATH, an executable by its path, and nothing for a file that is not executable', async () => {
    const tool = join(directory.path, 'tool');
    await writeFile(tool, '#!/bin/sh\n');
    expect(await findExecutable('tool', directory.path)).toBeUndefined();
    await chmod(tool, 0o755);
    expect(await findExecutable('tool', `/nonexistent:${directory.path}`)).toBe(tool);
    expect(await findExecutable(tool, '')).toBe(tool);
    expect(await findExecutable('no-such-tool-here', directory.path)).toBeUndefined();
  });
});
