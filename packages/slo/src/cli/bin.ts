import { runCli } from '@ops/core';
import { sloCli } from './slo-cli.js';

process.exitCode = await runCli(sloCli, process.argv.slice(2));
