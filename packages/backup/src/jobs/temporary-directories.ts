import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock, type Clock, type Logger } from '@ops/core';

// Private temp directories (passfiles, decrypted dumps, staged archives) are named after their owner:
// `ops-backup-<host>-<pid>-<start>-XXXXXX`, where <host> is 8 hex digits of sha256(hostname), <pid> the creating
// process and <start> its start time in clock ticks since boot (`/proc/<pid>/stat`, `0` where there is no /proc),
// so a recycled pid is not mistaken for the owner. A kill -9 leaves the directory behind; the next run, restore or
// verification (and `sweepStaleTemporaryDirectories`) removes it once its owner is gone.
const PREFIX = 'ops-backup-';
const TAGGED = /^ops-backup-([0-9a-f]{8})-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;
/** Directories of versions before the owner tag: `ops-backup-XXXXXX`. */
const UNTAGGED = /^ops-backup-[A-Za-z0-9]{6}$/;

const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** The start time of a process in clock ticks since boot, or `0` when it cannot be read (no /proc). */
function startTicks(stat: string): string {
  // Field 22 of /proc/<pid>/stat; fields are counted after the command name, which may contain spaces and ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '0';
}

let ownStart: string | undefined;
function ownStartTicks(): string {
  if (ownStart === undefined) {
    try {
      ownStart = startTicks(readFileSync('/proc/self/stat', 'utf8'));
    } catch {
      ownStart = '0';
    }
  }
  return ownStart;
}

/** Whether the process `pid` that started at `start` still runs (a pid in use by another process counts as gone). */
async function ownerAlive(pid: number, start: string): Promise<boolean> {
  if (pid === process.pid) return start === ownStartTicks() || start === '0';
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else — not ours to judge, keep the directory.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (start === '0') return true;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || startTicks(stat) === start;
}

/** Options of {@link sweepStaleTemporaryDirectories}. */
export interface SweepTemporaryDirectoriesOptions {
  /** The directory that holds the temp directories: the `temporaryDirectory` you pass to runs and restores. Default the OS temp dir. */
  directory?: string;
  /** Untagged `ops-backup-XXXXXX` directories of earlier versions are removed once unmodified this long. Default 24 h. */
  untaggedAfterMs?: number;
  /** Logs each removal. Default silent. */
  logger?: Logger;
  /** Source of time for `untaggedAfterMs`. Default `systemClock`. */
  clock?: Clock;
}

/**
 * Removes the private temp directories that runs, restores and verifications of @ops/backup left behind when they
 * were killed (`kill -9`, OOM killer, power loss): passfiles, decrypted dumps and staged archives. Only
 * directories of this host's processes that are gone and owned by this user are touched — never those of a live
 * process, another host sharing the directory, or another user, and never through a symlink. Every run, restore and
 * verification sweeps the directory it stages in before creating its own; call this at service startup too.
 * Resolves with the paths removed.
 *
 * @example
 * ```ts
 * const removed = await sweepStaleTemporaryDirectories({ logger });
 * ```
 */
export async function sweepStaleTemporaryDirectories(
  options: SweepTemporaryDirectoriesOptions = {},
): Promise<string[]> {
  const {
    directory = tmpdir(),
    untaggedAfterMs = 24 * 3_600_000,
    logger = silentLogger,
    clock = systemClock,
  } = options;
  const names = await readdir(directory).catch(() => [] as string[]);
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const tagged = TAGGED.exec(name);
    if (!tagged && !UNTAGGED.test(name)) continue;
    const path = join(directory, name);
    const facts = await lstat(path).catch(() => undefined);
    if (!facts?.isDirectory() || (uid !== undefined && facts.uid !== uid)) continue;
    if (tagged) {
      const [, host, pid, start] = tagged as unknown as [string, string, string, string];
      if (host !== hostTag || (await ownerAlive(Number(pid), start))) continue;
    } else if (clock.now() - facts.mtimeMs < untaggedAfterMs) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
    logger.warn({ path }, 'removed the temp directory of an interrupted backup, restore or verification');
  }
  return removed;
}

/** Sweeps stale temp directories in `parent`, then creates a private one (mode 0700) named after this process. */
export async function createTemporaryDirectory(parent: string = tmpdir(), logger?: Logger): Promise<string> {
  await sweepStaleTemporaryDirectories({ directory: parent, ...(logger ? { logger } : {}) }).catch(() => undefined);
  return mkdtemp(join(parent, `${PREFIX}${hostTag}-${process.pid}-${ownStartTicks()}-`));
}

/** Runs `work` with a fresh private directory (see {@link createTemporaryDirectory}) that is removed afterwards, whatever happens. */
export async function withTemporaryDirectory<T>(
  work: (directory: string) => Promise<T>,
  parent: string = tmpdir(),
): Promise<T> {
  const directory = await createTemporaryDirectory(parent);
  try {
    return await work(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
