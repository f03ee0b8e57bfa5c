// By the package's own name: the build keeps it external, so the command loads dist/index.js instead of a copy.
import { runIncidentCli } from '@ops/incident';

process.exitCode = await runIncidentCli(process.argv.slice(2));
