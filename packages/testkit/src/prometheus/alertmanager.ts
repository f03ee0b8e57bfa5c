import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { TestkitError } from '../errors.js';
import { startDaemon } from '../process/daemon.js';
import { findExecutable } from '../process/find-executable.js';
import { tempDir } from '../temp-dir.js';
import { PROMETHEUS_INSTALL_HINT } from './prometheus.js';

/** Options of {@link startAlertmanager}. */
export interface StartAlertmanagerOptions {
  /** The whole `alertmanager.yml` (route, receivers such as a webhook to a `startHttpServer` URL). */
  configYaml: string;
}

/** An Alertmanager; see {@link startAlertmanager}. */
export interface TestAlertmanager {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Loopback port. */
  port: number;
  /** PID of the server. */
  pid: number;
  /** Directory with `alertmanager.yml`, its storage (`data/`) and `alertmanager.log`. */
  dir: string;
  /** Ends the server by PID and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts an Alertmanager (the Debian `prometheus-alertmanager` package) with its configuration and storage in a temp
 * directory, on a free 127.0.0.1 port with clustering disabled, and waits until `/-/ready` answers. Ended by PID on
 * `stop()` and when the test process exits.
 *
 * @example
 * ```ts
 * const webhook = await startHttpServer(handleWebhook);
 * const alertmanager = await startAlertmanager({
 *   configYaml: `route: { receiver: ops, group_wait: 0s }\nreceivers:\n  - name: ops\n    webhook_configs: [{ url: '${webhook.url}/alerts' }]\n`,
 * });
 * await alertmanager.stop();
 * ```
 */
export async function startAlertmanager(options: StartAlertmanagerOptions): Promise<TestAlertmanager> {
  const executable = findExecutable(['prometheus-alertmanager', 'alertmanager']);
  if (executable === undefined) {
    throw new TestkitError(
      'SERVICE_UNAVAILABLE',
      `No prometheus-alertmanager executable on PATH. ${PROMETHEUS_INSTALL_HINT}`,
    );
  }
  const directory = await tempDir('alertmanager');
  try {
    const configFile = join(directory.path, 'alertmanager.yml');
    await writeFile(configFile, options.configYaml);
    const daemon = await startDaemon({
      name: 'alertmanager',
      executable,
      directory,
      readyPath: '/-/ready',
      args: (port) => [
        `--config.file=${configFile}`,
        `--storage.path=${join(directory.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // An empty cluster address disables gossip, which would otherwise listen on 0.0.0.0:9094.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
    });
    let stopping: Promise<void> | undefined;
    return {
      url: daemon.url,
      port: daemon.port,
      pid: daemon.pid,
      dir: directory.path,
      stop() {
        stopping ??= daemon.stop().then(() => directory.dispose());
        return stopping;
      },
    };
  } catch (error) {
    await directory.dispose();
    throw error;
  }
}
