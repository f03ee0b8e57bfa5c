import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { request } from 'undici';

import { TestkitError } from '../errors.js';
import { startDaemon } from '../process/daemon.js';
import { findExecutable } from '../process/find-executable.js';
import { tempDir } from '../temp-dir.js';

const PROMETHEUS_INSTALL_HINT =
  'Install it with `apt-get install -y prometheus prometheus-alertmanager` (or run `bash scripts/services.sh` as root).';

/** Options of {@link startPrometheus}. */
export interface StartPrometheusOptions {
  /**
   * The whole `prometheus.yml`. Defaults to a 1 s scrape/evaluation interval, every rule file, and a job scraping
   * Prometheus itself. Relative paths in it resolve against the server's directory, where the rule files are.
   */
  configYaml?: string;
  /** Rule files written next to the config: file name → YAML, or a list of YAML documents (`rules-1.yml`, …). */
  ruleFiles?: Record<string, string> | string[];
}

/** A Prometheus server; see {@link startPrometheus}. */
export interface TestPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Loopback port. */
  port: number;
  /** PID of the server. */
  pid: number;
  /** Directory with `prometheus.yml`, the rule files, the TSDB (`data/`) and `prometheus.log`. */
  dir: string;
  /** Re-reads the configuration and rule files (`POST /-/reload`). */
  reload(): Promise<void>;
  /** Ends the server by PID and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

function ruleFileEntries(ruleFiles: StartPrometheusOptions['ruleFiles']): Array<[string, string]> {
  if (ruleFiles === undefined) return [];
  if (Array.isArray(ruleFiles)) return ruleFiles.map((contents, index) => [`rules-${index + 1}.yml`, contents]);
  return Object.entries(ruleFiles);
}

function defaultConfig(port: number, ruleFileNames: string[]): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    ...(ruleFileNames.length === 0
      ? []
      : ['rule_files:', ...ruleFileNames.map((name) => `  - ${JSON.stringify(name)}`)]),
    'scrape_configs:',
    '  - job_name: prometheus',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${port}']`,
    '',
  ].join('\n');
}

/**
 * Starts a Prometheus server (the Debian `prometheus` package) with its configuration, rule files and storage in a
 * temp directory, listening on a free 127.0.0.1 port, and waits until `/-/ready` answers. Ended by PID on `stop()`
 * and when the test process exits.
 *
 * @example
 * ```ts
 * const prometheus = await startPrometheus({ ruleFiles: { 'slo.yml': rulesYaml } });
 * const response = await fetch(`${prometheus.url}/api/v1/query?query=up`);
 * await prometheus.stop();
 * ```
 */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<TestPrometheus> {
  const executable = findExecutable(['prometheus']);
  if (executable === undefined) {
    throw new TestkitError('SERVICE_UNAVAILABLE', `No prometheus executable on PATH. ${PROMETHEUS_INSTALL_HINT}`);
  }
  const directory = await tempDir('prometheus');
  try {
    const rules = ruleFileEntries(options.ruleFiles);
    await Promise.all(rules.map(([name, contents]) => writeFile(join(directory.path, name), contents)));
    const configFile = join(directory.path, 'prometheus.yml');
    const daemon = await startDaemon({
      name: 'prometheus',
      executable,
      directory,
      readyPath: '/-/ready',
      args: (port) => {
        // Written per attempt: the default config scrapes the server's own port.
        const config =
          options.configYaml ??
          defaultConfig(
            port,
            rules.map(([name]) => name),
          );
        writeFileSync(configFile, config);
        return [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(directory.path, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-lifecycle',
          '--log.level=warn',
        ];
      },
    });
    let stopping: Promise<void> | undefined;
    return {
      url: daemon.url,
      port: daemon.port,
      pid: daemon.pid,
      dir: directory.path,
      async reload() {
        const response = await request(`${daemon.url}/-/reload`, { method: 'POST' });
        const body = await response.body.text();
        if (response.statusCode !== 200) {
          throw new TestkitError('SERVICE_FAILED', `Prometheus refused to reload: ${response.statusCode} ${body}`);
        }
      },
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

/**
 * Absolute path of `promtool` (shipped with the Debian `prometheus` package), for `promtool check rules` and
 * `promtool test rules`. Throws a `SERVICE_UNAVAILABLE` error with install instructions when it is missing.
 *
 * @example
 * ```ts
 * const { stdout } = await execFileAsync(promtoolPath(), ['check', 'rules', 'slo.yml']);
 * ```
 */
export function promtoolPath(): string {
  const path = findExecutable(['promtool']);
  if (path === undefined) {
    throw new TestkitError('SERVICE_UNAVAILABLE', `No promtool executable on PATH. ${PROMETHEUS_INSTALL_HINT}`);
  }
  return path;
}

export { PROMETHEUS_INSTALL_HINT };
