import { readPackageVersion } from '@ops/core';

/** Version of `@ops/backup` from its package.json: written into manifests (`tool.version`), printed by `ops-backup --version`. */
export const PACKAGE_VERSION: string = readPackageVersion(import.meta.url, '@ops/backup');
