import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BackupError, type BackupErrorCode } from '../errors.js';

const execFileAsync = promisify(execFile);

/**
 * Major and full version of a PostgreSQL client tool (`pg_dump --version`). A tool that cannot be run or prints no
 * version fails with `code` (default `BACKUP_FAILED`) and `hint` after the reason.
 */
export async function toolVersion(
  path: string,
  failure: { code?: BackupErrorCode; hint?: string } = {},
): Promise<{ major: number; text: string }> {
  const { code = 'BACKUP_FAILED', hint = 'Install the PostgreSQL client (e.g. apt-get install postgresql-client-15)' } =
    failure;
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(path, ['--version'], { timeout: 10_000 }));
  } catch (error) {
    throw new BackupError(code, `cannot run ${path} --version: ${(error as Error).message}. ${hint}`, {
      cause: error,
    });
  }
  const major = toolMajor(stdout);
  if (major === undefined) throw new BackupError(code, `cannot parse the version printed by ${path}: ${stdout.trim()}`);
  return { major, text: stdout.trim() };
}

/** The major version in a tool's `--version` text (`pg_dump (PostgreSQL) 17.2 (Debian …)` → 17), if any. */
export function toolMajor(text: string): number | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text) ?? /(\d+)\.(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Major version from `server_version_num` (150020 → 15; 90624 → 9). */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100_000 ? Math.floor(versionNum / 10_000) : Math.floor(versionNum / 100) / 100;
}
