import { runCli } from '@ops/core';
import { createSloCli } from './slo-cli.js';

process.exitCode = await runCli(createSloCli(), process.argv.slice(2));
