import { runCli } from '@ops/core';
// By the package's own name: the build keeps it external, so the command loads dist/index.js instead of a copy.
import { healthCli } from '@ops/health';

process.exitCode = await runCli(healthCli, process.argv.slice(2));
