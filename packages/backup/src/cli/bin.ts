import { runCli } from '@ops/core';
import { closeOpenedStorages } from './build-job.js';
import { backupCli } from './cli.js';

const code = await runCli(backupCli, process.argv.slice(2));
await closeOpenedStorages();
process.exitCode = code;
