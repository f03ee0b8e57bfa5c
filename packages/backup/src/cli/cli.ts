import type { CliDefinition } from '@ops/core';
export const backupCli: CliDefinition = { name: 'ops-backup', description: 'x', commands: {} };
