import { runCli } from '@ops/core';
import { healCli } from '@ops/healing';

process.exitCode = await runCli(healCli, process.argv.slice(2));
