import { runCli } from '@ops/core';
// By the package's own name: the build keeps it external, so the command loads dist/index.js instead of a copy
// (each command closes the storages it opened, so nothing else is needed from the library's internals).
import { backupCli } from '@ops/backup';

process.exitCode = await runCli(backupCli, process.argv.slice(2));
