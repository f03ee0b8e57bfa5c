import { runCli } from '@ops/core';
// By the package's own name: the build keeps it external, so the command loads dist/index.js instead of a copy.
import { sloCli } from '@ops/slo';

process.exitCode = await runCli(sloCli, process.argv.slice(2));
