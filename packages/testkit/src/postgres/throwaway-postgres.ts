import { chown, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { TestkitError } from '../errors.js';
import { trackProcess } from '../process/cleanup-registry.js';
import { findFreePort, isProcessAlive, runCommand, terminateProcess } from '../process/process-utilities.js';
import { tempDir } from '../temp-dir.js';
import { findPostgresBinDirectory } from './postgres-binaries.js';

/** Options of {@link startThrowawayPostgres}. */
export interface ThrowawayPostgresOptions {
  /** Directory with `initdb` and `pg_ctl`. Defaults to the newest `/usr/lib/postgresql/<major>/bin`. */
  binDirectory?: string;
}

/** A private PostgreSQL cluster; see {@link startThrowawayPostgres}. */
export interface ThrowawayPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust authentication, superuser). */
  connectionString: string;
  /** Loopback port, kept across {@link ThrowawayPostgres.stop} / {@link ThrowawayPostgres.start}. */
  port: number;
  /** PID of the running postmaster (updated by `start()`); `0` while stopped. */
  pid: number;
  /** The cluster's data directory. */
  dataDir: string;
  /** Shuts the server down (fast mode: clients are disconnected) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data directory and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops the server if needed and deletes the data directory. Safe to call twice. */
  dispose(): Promise<void>;
}

interface OsUser {
  uid: number;
  gid: number;
}

async function lookUpUser(name: string): Promise<OsUser | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * Starts a PostgreSQL cluster of its own from the local server binaries (`initdb` + `pg_ctl`, run as the
 * `postgres` OS user via `runuser` when this process is root, since initdb refuses root) on a free 127.0.0.1 port,
 * with trust authentication and `fsync=off`. Takes about half a second.
 *
 * Use it for fault tests ("the database went away"): `stop()` it, assert the behaviour, `start()` it again on the
 * same port. The server is ended by PID on `dispose()` and when the test process exits.
 *
 * @example
 * ```ts
 * const postgres = await startThrowawayPostgres();
 * const pool = new pg.Pool({ connectionString: postgres.connectionString });
 * await postgres.stop();   // queries now fail with ECONNREFUSED
 * await postgres.start();  // and succeed again
 * await pool.end();
 * await postgres.dispose();
 * ```
 */
export async function startThrowawayPostgres(options: ThrowawayPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const binDirectory = findPostgresBinDirectory(options.binDirectory);
  const isRoot = process.getuid?.() === 0;
  const directory = await tempDir('postgres');
  try {
    if (isRoot) {
      const postgresUser = await lookUpUser('postgres');
      if (postgresUser === undefined) {
        throw new TestkitError(
          'SERVICE_UNAVAILABLE',
          'initdb cannot run as root and there is no `postgres` OS user to run it as. ' +
            'Install the server package (`apt-get install -y postgresql`), which creates that user.',
        );
      }
      await chown(directory.path, postgresUser.uid, postgresUser.gid);
    }
    const asServerUser = (program: string, args: string[]): Promise<unknown> =>
      isRoot
        ? runCommand('runuser', ['-u', 'postgres', '--', join(binDirectory, program), ...args])
        : runCommand(join(binDirectory, program), args);

    const dataDir = join(directory.path, 'data');
    const logFile = join(directory.path, 'server.log');
    await asServerUser('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]).catch((error: unknown) => {
      throw new TestkitError(
        'SERVICE_FAILED',
        `initdb failed in ${directory.path} (the directory and its parents must be traversable by the postgres ` +
          `user; set OPS_TEST_TMPDIR to move it): ${(error as Error).message}`,
        { cause: error },
      );
    });

    let port = 0;
    let pid = 0;
    let untrack: () => void = () => undefined;

    const startServer = async (): Promise<void> => {
      const serverOptions = [
        `-p ${port}`,
        `-k ${directory.path}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
      ].join(' ');
      await asServerUser('pg_ctl', ['-D', dataDir, '-o', serverOptions, '-l', logFile, '-w', '-t', '60', 'start']);
      const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8');
      pid = Number(pidFile.split('\n')[0]);
      untrack = trackProcess(pid, 'SIGQUIT');
    };

    // Another process may take the free port between probing and binding; try a few ports.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5 && pid === 0; attempt += 1) {
      port = await findFreePort();
      try {
        await startServer();
      } catch (error) {
        lastError = error;
      }
    }
    if (pid === 0) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new TestkitError(
        'SERVICE_FAILED',
        `pg_ctl could not start a throwaway PostgreSQL: ${(lastError as Error | undefined)?.message ?? 'unknown'}\n${log.slice(-2_000)}`,
        { cause: lastError },
      );
    }

    let running = true;
    let disposed = false;
    const handle: ThrowawayPostgres = {
      connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      port,
      get pid() {
        return running ? pid : 0;
      },
      dataDir,
      async stop() {
        if (!running) return;
        await asServerUser('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
        running = false;
        untrack();
      },
      async start() {
        if (disposed) throw new TestkitError('FIXTURE_DISPOSED', 'this throwaway PostgreSQL was disposed');
        if (running) return;
        await startServer();
        running = true;
      },
      async dispose() {
        if (disposed) return;
        disposed = true;
        if (running && isProcessAlive(pid)) {
          // Immediate shutdown: the data directory is deleted next, so there is nothing to flush.
          await terminateProcess(pid, { signal: 'SIGQUIT', timeoutMs: 10_000 });
        }
        running = false;
        untrack();
        await directory.dispose();
      },
    };
    return handle;
  } catch (error) {
    await directory.dispose();
    throw error;
  }
}
