import { spawn } from 'node:child_process';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { tempDir, type TempDir } from '@ops/testkit';
import {
  createTemporaryDirectory,
  sweepStaleTemporaryDirectories,
  withTemporaryDirectory,
} from './temporary-directories.js';

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('backup-sweep');
});
afterEach(async () => {
  await directory.dispose();
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/** A directory named like `template` (`ops-backup-<host>-<pid>-<start>-XXXXXX`) with some parts changed, holding a passfile. */
async function leftBehind(
  template: string,
  changes: { host?: string; pid?: number; start?: string; suffix: string },
): Promise<string> {
  const [ops, backup, host, pid, start] = basename(template).split('-') as [string, string, string, string, string];
  const name = [
    ops,
    backup,
    changes.host ?? host,
    String(changes.pid ?? pid),
    changes.start ?? start,
    changes.suffix,
  ].join('-');
  const path = join(directory.path, name);
  await mkdir(path, { mode: 0o700 });
  await writeFile(join(path, 'pgpass-0123456789ab'), '*:*:*:*:secret\n', { mode: 0o600 });
  return path;
}

const names = async () => (await readdir(directory.path)).sort();

describe('temp directories left by killed runs', () => {
  it('are removed when their process is gone; those of live processes, other hosts and other names stay', async () => {
    const live = await createTemporaryDirectory(directory.path);
    expect(basename(live)).toMatch(new RegExp(`^ops-backup-[0-9a-f]{8}-${process.pid}-\\d+-[A-Za-z0-9]{6}$`));
    const dead = await leftBehind(live, { pid: await deadPid(), suffix: 'Dead01' });
    const recycled = await leftBehind(live, { start: '1', suffix: 'Recycl' }); // our pid, but an earlier process
    const otherHost = await leftBehind(live, { host: 'ffffffff', pid: await deadPid(), suffix: 'Other1' });
    await mkdir(join(directory.path, 'ops-backup-notes'));
    await mkdir(join(directory.path, 'unrelated'));
    await symlink(directory.path, join(directory.path, `ops-backup-${basename(live).split('-')[2]}-1-0-Linked`));

    const removed = await sweepStaleTemporaryDirectories({ directory: directory.path });
    expect(removed.sort()).toEqual([dead, recycled].sort());
    expect(await names()).toEqual(
      [
        basename(live),
        basename(otherHost),
        'ops-backup-notes',
        `ops-backup-${basename(live).split('-')[2]}-1-0-Linked`,
        'unrelated',
      ].sort(),
    );
  });

  it('untagged directories of earlier versions are removed once unmodified for a day', async () => {
    const clock = createManualClock(Date.parse('2026-11-22T12:00:00Z'));
    const old = join(directory.path, 'ops-backup-Ab12Cd');
    const recent = join(directory.path, 'ops-backup-Ef34Gh');
    await mkdir(old);
    await mkdir(recent);
    const dayAgo = new Date(clock.now() - 25 * 3_600_000);
    await utimes(old, dayAgo, dayAgo);
    const now = new Date(clock.now() - 60_000);
    await utimes(recent, now, now);
    expect(await sweepStaleTemporaryDirectories({ directory: directory.path, clock })).toEqual([old]);
    expect(await names()).toEqual(['ops-backup-Ef34Gh']);
  });

  it('creating one sweeps first; withTemporaryDirectory removes its own whatever happens', async () => {
    const template = await createTemporaryDirectory(directory.path);
    const dead = await leftBehind(template, { pid: await deadPid(), suffix: 'Dead02' });
    let inside = '';
    await expect(
      withTemporaryDirectory(async (path) => {
        inside = path;
        throw new Error('work failed');
      }, directory.path),
    ).rejects.toThrow('work failed');
    expect(await names()).toEqual([basename(template)]);
    expect(inside).not.toBe(dead);
  });
});
