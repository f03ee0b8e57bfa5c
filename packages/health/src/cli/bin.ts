import { runCli } from '@ops/core';
import { healthCli } from './cli.js';

process.exitCode = await runCli(healthCli, process.argv.slice(2));
