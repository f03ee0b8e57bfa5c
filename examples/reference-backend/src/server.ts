// `pnpm start`: runs the reference backend with settings from the environment until SIGTERM/SIGINT.
import { createConsoleLogger, OpsError, safeErrorMessage } from '@ops/core';
import { startReferenceBackend } from './backend.js';
import { loadBackendConfig } from './config.js';

let config;
try {
  config = loadBackendConfig(process.env);
} catch (error) {
  process.stderr.write(
    `${OpsError.hasCode(error, 'CONFIG_INVALID') ? (error as Error).message : safeErrorMessage(error)}\n`,
  );
  process.exit(2);
}
const logger = createConsoleLogger({ level: config.logLevel, base: { service: 'notes' } });
try {
  const backend = await startReferenceBackend({ config, logger });
  process.stdout.write(
    `notes service on ${backend.url} (instance: ${config.instanceId}, store: ${backend.storeKind}, cache: ${backend.cacheKind}, alerts: ${config.alertSource}, healing state: ${backend.healing.storeKind}, backups: ${config.backupDirectory})\n` +
      `  status page ${backend.url}/status   Alertmanager webhook ${backend.url}/hooks/alertmanager\n` +
      `  try: curl -s ${backend.url}/health/ready?verbose   curl -s -XPOST ${backend.url}/notes -d '{"title":"hello"}'\n`,
  );
} catch (error) {
  logger.error({ error: safeErrorMessage(error) }, 'reference backend failed to start');
  process.exit(1);
}
