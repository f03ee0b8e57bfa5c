import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BackupError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Major and full version of a PostgreSQL client tool (`pg_dump --version`). */
export async function toolVersion(path: string): Promise<{ major: number; text: string }> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(path, ['--version'], { timeout: 10_000 }));
  } catch (error) {
    throw new BackupError(
      'BACKUP_FAILED',
      `cannot run ${path} --version: ${(error as Error).message}. Install the PostgreSQL client (e.g. apt-get install postgresql-client-15)`,
      { cause: error },
    );
  }
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout) ?? /(\d+)\.(\d+)/.exec(stdout);
  if (!match) throw new BackupError('BACKUP_FAILED', `cannot parse the version printed by ${path}: ${stdout.trim()}`);
  return { major: Number(match[1]), text: stdout.trim() };
}

/** Major version from `server_version_num` (150020 → 15; 90624 → 9). */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100_000 ? Math.floor(versionNum / 10_000) : Math.floor(versionNum / 100) / 100;
}
