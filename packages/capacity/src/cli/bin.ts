import { runCli } from '@ops/core';
import { capacityCli } from './capacity-cli.js';

process.exitCode = await runCli(capacityCli, process.argv.slice(2));
