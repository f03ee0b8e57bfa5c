import { runCli } from '@ops/core';
import { backupCli } from './cli.js';

process.exitCode = await runCli(backupCli, process.argv.slice(2));
