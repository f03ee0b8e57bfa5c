import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { TestkitError } from '../errors.js';

const INSTALL_HINT =
  'Install PostgreSQL (`apt-get install -y postgresql`, or run `bash scripts/services.sh` as root), ' +
  'or set OPS_TEST_DATABASE_URL to a server where this role may CREATE DATABASE.';

/**
 * The directory holding `initdb`, `pg_ctl` and `postgres`: the given one, or the newest
 * `/usr/lib/postgresql/<major>/bin` (Debian's layout).
 */
export function findPostgresBinDirectory(preferred?: string): string {
  if (preferred !== undefined) {
    if (!existsSync(join(preferred, 'pg_ctl'))) {
      throw new TestkitError('SERVICE_UNAVAILABLE', `No pg_ctl in ${preferred}. ${INSTALL_HINT}`);
    }
    return preferred;
  }
  let majors: number[] = [];
  try {
    majors = readdirSync('/usr/lib/postgresql')
      .map(Number)
      .filter((major) => Number.isInteger(major))
      .sort((left, right) => right - left);
  } catch {
    // No Debian PostgreSQL layout.
  }
  for (const major of majors) {
    const directory = `/usr/lib/postgresql/${major}/bin`;
    if (existsSync(join(directory, 'initdb')) && existsSync(join(directory, 'pg_ctl'))) return directory;
  }
  throw new TestkitError(
    'SERVICE_UNAVAILABLE',
    `No PostgreSQL server binaries in /usr/lib/postgresql/*/bin. ${INSTALL_HINT}`,
  );
}

export { INSTALL_HINT as POSTGRES_INSTALL_HINT };
