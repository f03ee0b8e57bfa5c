import { writeFile } from 'node:fs/promises';
import {
  createConsoleLogger,
  createPeriodicTask,
  ExitCode,
  formatTable,
  parseDuration,
  readPackageVersion,
  redactText,
  silentLogger,
  systemClock,
  UsageError,
  type AlertSink,
  type CliContext,
  type CliDefinition,
  type Clock,
  type Logger,
  type OpsAlert,
  type PeriodicTask,
} from '@ops/core';
import { request } from 'undici';
import type { AuditEntry, AuditQuery, AuditStore } from '../audit/audit-store.js';
import { createMemoryAuditStore } from '../audit/memory-audit-store.js';
import { createRedisAuditStore } from '../audit/redis-audit-store.js';
import type { DockerLike } from '../docker/docker-like.js';
import { createHealer, type Healer } from '../engine/healer.js';
import type { HealerEvents } from '../engine/healer-events.js';
import { HealingError } from '../errors.js';
import { containerAutoheal, type ContainerAutoheal } from '../recipes/container-autoheal.js';
import { railKey, type HealingStateStore, type PauseScope } from '../stores/healing-state-store.js';
import { createMemoryHealingStore } from '../stores/memory-healing-store.js';
import { createRedisHealingStore } from '../stores/redis/redis-healing-store.js';
import type { RedisCommandClient } from '../stores/redis/redis-like.js';
import { loadRulesFile, type RulesFile } from './rules-file.js';

/** A Redis client the CLI opened: the store's commands plus closing. */
interface OpenedRedis extends RedisCommandClient {
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** What the CLI needs from outside, injectable for tests. */
export interface HealCliDependencies {
  /** Opens the dockerode client for a socket. Default `new Docker({ socketPath })` (dockerode, an optional peer). */
  docker?: (socketPath: string) => Promise<DockerLike> | DockerLike;
  /** Opens an ioredis client for a URL. Default `new Redis(url)` (ioredis, an optional peer). */
  redis?: (url: string) => Promise<OpenedRedis> | OpenedRedis;
  /** Resolves when `run` should stop (default: SIGINT or SIGTERM). */
  stopSignal?: () => Promise<void>;
  /** Source of time. */
  clock?: Clock;
}

type Option = NonNullable<CliDefinition['commands'][string]['options']>[string];

const scopeOptions: Record<string, Option> = {
  rule: { type: 'string', description: 'only this rule', valueName: 'name' },
  target: { type: 'string', description: 'only this target (container name)', valueName: 'name' },
};

function text(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

function rulesFileArgument(context: CliContext): string {
  const [file, ...extra] = context.positionals;
  if (file === undefined) throw new UsageError('give the rules file (YAML or JSON): ops-heal <command> heal.yaml');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  return file;
}

function scopeOf(context: CliContext): PauseScope {
  const rule = text(context, 'rule');
  const target = text(context, 'target');
  return { ...(rule === undefined ? {} : { rule }), ...(target === undefined ? {} : { target }) };
}

const describeScope = (scope: PauseScope) =>
  scope.rule === undefined && scope.target === undefined
    ? 'all healing'
    : [scope.rule && `rule ${scope.rule}`, scope.target && `target ${scope.target}`].filter(Boolean).join(', ');

async function defaultDocker(socketPath: string): Promise<DockerLike> {
  let module: { default: new (options: { socketPath: string }) => unknown };
  try {
    module = (await import('dockerode')) as unknown as typeof module;
  } catch (error) {
    throw new HealingError('DEPENDENCY_MISSING', 'ops-heal needs the "dockerode" package: npm install dockerode', {
      cause: error,
    });
  }
  return new module.default({ socketPath }) as DockerLike;
}

async function defaultRedis(url: string): Promise<OpenedRedis> {
  let module: {
    Redis: new (url: string, options: Record<string, unknown>) => OpenedRedis & { on(...args: unknown[]): unknown };
  };
  try {
    module = (await import('ioredis')) as unknown as typeof module;
  } catch (error) {
    throw new HealingError('DEPENDENCY_MISSING', 'a redis: URL needs the "ioredis" package: npm install ioredis', {
      cause: error,
    });
  }
  const client = new module.Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  client.on('error', () => undefined);
  return client;
}

function defaultStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** POSTs escalations as OpsAlert JSON; any 2xx accepts. */
function webhookSink(url: string): AlertSink {
  return async (alert: OpsAlert) => {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alert),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300)
      throw new HealingError('ACTION_FAILED', `alert webhook answered ${response.statusCode}`);
  };
}

interface Runtime {
  config: RulesFile;
  store: HealingStateStore;
  audit: AuditStore;
  redis: OpenedRedis | undefined;
  close(): Promise<void>;
}

/** Builds the `ops-heal` command line (see {@link healCli}). */
export function createHealCli(dependencies: HealCliDependencies = {}): CliDefinition {
  const clock = dependencies.clock ?? systemClock;
  const openDocker = dependencies.docker ?? defaultDocker;
  const openRedis = dependencies.redis ?? defaultRedis;
  const stopSignal = dependencies.stopSignal ?? defaultStopSignal;

  const openRuntime = async (context: CliContext, needsShared: boolean): Promise<Runtime> => {
    const file = rulesFileArgument(context);
    const config = await loadRulesFile(file, { env: context.io.env });
    if (needsShared && config.redis === undefined)
      throw new UsageError(
        `${file}: this command reads the healers' shared state: set \`redis: redis://…\` in the rules file (and run the healer with it)`,
      );
    const redis = config.redis === undefined ? undefined : await openRedis(config.redis);
    const store =
      redis === undefined
        ? createMemoryHealingStore({ clock })
        : createRedisHealingStore({ redis, prefix: config.prefix, clock });
    const audit =
      redis === undefined ? createMemoryAuditStore() : createRedisAuditStore({ redis, key: `${config.prefix}audit` });
    return {
      config,
      store,
      audit,
      redis,
      async close() {
        if (redis !== undefined) await redis.quit().catch(() => redis.disconnect());
      },
    };
  };

  const buildRules = async (config: RulesFile, logger: Logger): Promise<ContainerAutoheal[]> => {
    const docker = await openDocker(config.docker?.socket ?? '/var/run/docker.sock');
    return config.rules
      .map((rule) =>
        containerAutoheal({
          docker,
          name: rule.name,
          label: rule.label,
          ...(rule.names === undefined ? {} : { names: rule.names }),
          mode: rule.mode,
          restartsPerEpisode: rule.restartsPerEpisode,
          restartTimeout: rule.restartTimeout,
          stopTimeout: rule.stopTimeout,
          ...(rule.maxAttempts === undefined ? {} : { maxAttempts: rule.maxAttempts }),
          ...(rule.backoff === undefined ? {} : { backoff: stripUndefined(rule.backoff) }),
          ...(rule.budget === undefined ? {} : { budget: stripUndefined(rule.budget) }),
          ...(rule.fleet === undefined ? {} : { fleet: rule.fleet === false ? false : stripUndefined(rule.fleet) }),
          ...(rule.warmup === undefined ? {} : { warmup: rule.warmup }),
          ...(rule.dryRun === undefined ? {} : { dryRun: rule.dryRun }),
          watch: { clock, logger },
        }),
      )
      .map((rule, index) => {
        const cooldown = config.rules[index]?.cooldown;
        return cooldown === undefined ? rule : Object.assign(rule, { cooldown });
      });
  };

  const startWatchers = async (rules: ContainerAutoheal[]) => {
    try {
      await Promise.all(rules.map((rule) => rule.watcher.start()));
    } catch (error) {
      await Promise.all(rules.map((rule) => rule.watcher.close()));
      throw error;
    }
  };

  const run: CliDefinition['commands'][string] = {
    summary:
      'run a rules file as a standalone container healer (docker-autoheal with caps, verify, backoff, budget, escalation)',
    usage: '<rules-file>',
    options: {
      'dry-run': { type: 'boolean', description: 'evaluate and audit "would restart", never restart' },
      duration: {
        type: 'string',
        description: 'stop after this long (default: until SIGINT/SIGTERM)',
        valueName: 'duration',
      },
      verbose: { type: 'boolean', short: 'v', description: 'log the healer internals to stderr' },
      'heartbeat-file': {
        type: 'string',
        description:
          "rewrite this file every tick while every events stream is up and the state store answers (the healer's own HEALTHCHECK: test its age)",
        valueName: 'path',
      },
    },
    examples: [
      'ops-heal run heal.yaml',
      'ops-heal run heal.yaml --heartbeat-file /tmp/ops-heal.alive   # HEALTHCHECK: find /tmp/ops-heal.alive -mmin -1',
      'ops-heal run heal.yaml --dry-run --duration 10m',
      'ops-heal run heal.yaml --json | jq -c "select(.event == \\"episode.escalated\\")"',
    ],
    async run(context) {
      const runtime = await openRuntime(context, false);
      const { config } = runtime;
      const logger =
        context.values['verbose'] === true
          ? createConsoleLogger({ level: 'debug', stream: context.io.stderr, clock })
          : silentLogger;
      let escalations = 0;
      const sinks: AlertSink[] = [];
      if (config.alerts?.webhook !== undefined) sinks.push(webhookSink(config.alerts.webhook));
      let rules: ContainerAutoheal[] = [];
      let healer: Healer | undefined;
      let heartbeat: PeriodicTask | undefined;
      try {
        rules = await buildRules(config, logger);
        healer = createHealer({
          rules,
          store: runtime.store,
          audit: runtime.audit,
          every: config.every,
          dryRun: config.dryRun || context.values['dry-run'] === true,
          autoStart: false,
          clock,
          logger,
          alerts: async (alert) => {
            await Promise.all(sinks.map((sink) => sink(alert)));
          },
        });
        const emit = (name: keyof HealerEvents, event: { at: number }, line: string) => {
          if (context.json) context.io.stdout.write(`${JSON.stringify({ event: name, ...event })}\n`);
          else context.print(`${new Date(event.at).toISOString()} ${line}`);
        };
        healer.on('episode.opened', (event) =>
          emit(
            'episode.opened',
            event,
            `${event.rule} ${event.target}: unhealthy — episode ${event.episodeId}${event.dryRun ? ' (dry-run)' : ''}`,
          ),
        );
        healer.on('step.completed', (event) =>
          emit(
            'step.completed',
            event,
            `${event.rule} ${event.target}: ${event.action} ${event.result}${event.detail ? ` — ${event.detail}` : ''}`,
          ),
        );
        healer.on('verify.completed', (event) =>
          emit(
            'verify.completed',
            event,
            `${event.rule} ${event.target}: verify ${event.passed ? 'passed' : 'failed'} — ${event.detail}`,
          ),
        );
        healer.on('episode.escalated', (event) => {
          escalations += 1;
          emit(
            'episode.escalated',
            event,
            `${event.rule} ${event.target}: ESCALATED (${event.reason}) — ${event.detail}`,
          );
        });
        healer.on('episode.closed', (event) =>
          emit('episode.closed', event, `${event.rule} ${event.target}: episode closed (${event.outcome})`),
        );
        healer.on('action.skipped', (event) =>
          emit(
            'action.skipped',
            event,
            `${event.rule} ${event.target}: not acting (${event.reason})${event.detail ? ` — ${event.detail}` : ''}`,
          ),
        );
        healer.on('store.failed', (event) =>
          emit('store.failed', event, `state store unavailable (${event.operation}): ${event.error} — not acting`),
        );
        for (const rule of rules) {
          const current = healer;
          rule.react(current);
          rule.watcher.on('stream.disconnected', (event) =>
            context.warn(
              `ops-heal: docker events stream dropped (${event.error}); reconnecting in ${event.retryInMs} ms`,
            ),
          );
        }
        await startWatchers(rules);
        const followed = rules.reduce((count, rule) => count + rule.watcher.containers().length, 0);
        context.warn(
          `ops-heal: watching ${followed} container(s) for ${rules.length} rule(s)${config.dryRun || context.values['dry-run'] === true ? ' (dry-run)' : ''}; state ${runtime.redis ? 'in Redis' : 'in memory'}`,
        );
        healer.start();
        await healer.tick();
        const heartbeatFile = text(context, 'heartbeat-file');
        if (heartbeatFile !== undefined) {
          // The healer's own health (docker-autoheal users asked who heals the healer): the file stays fresh only
          // while it can see events and reach its state; a stale file is for the orchestrator to act on.
          heartbeat = createPeriodicTask({
            name: 'ops-heal-heartbeat',
            every: config.every,
            runOnStart: true,
            clock,
            logger,
            run: async () => {
              const status = await healer!.status();
              const connected = rules.every((rule) => rule.watcher.connected);
              if (!connected || !status.storeAvailable) return;
              await writeFile(
                heartbeatFile,
                `${JSON.stringify({ at: clock.now(), pid: process.pid, containers: rules.reduce((count, rule) => count + rule.watcher.containers().length, 0) })}\n`,
              );
            },
          });
          heartbeat.start();
        }
        const durationText = text(context, 'duration');
        await (durationText === undefined
          ? stopSignal()
          : Promise.race([clock.sleep(parseDuration(durationText, '--duration')), stopSignal()]));
        return escalations > 0 ? ExitCode.failure : ExitCode.ok;
      } finally {
        await heartbeat?.stop();
        await healer?.stop();
        await Promise.all(rules.map((rule) => rule.watcher.close()));
        await runtime.close();
      }
    },
  };

  const status: CliDefinition['commands'][string] = {
    summary: 'show each followed container: health, episode, attempts, backoff, pauses (exit 1 if one is escalated)',
    usage: '<rules-file>',
    examples: ['ops-heal status heal.yaml', 'ops-heal status heal.yaml --json'],
    async run(context) {
      const runtime = await openRuntime(context, true);
      let rules: ContainerAutoheal[] = [];
      try {
        rules = await buildRules(runtime.config, silentLogger);
        await startWatchers(rules);
        // Read the shared rails of every followed container (no healer here: status never acts).
        const pauses = await runtime.store.listPauses();
        const rows = [];
        for (const rule of rules) {
          for (const container of rule.watcher.containers().sort((a, b) => a.name.localeCompare(b.name))) {
            const rails = await runtime.store.getState(railKey(rule.name, container.name));
            rows.push({
              rule: rule.name,
              target: container.name,
              health: container.health,
              episode: rails?.episode?.id,
              escalated: rails?.episode?.escalated,
              attempts: rails?.attempts.length ?? 0,
              nextActionAt: rails?.nextActionAt,
            });
          }
        }
        const escalated = rows.filter((row) => row.escalated !== undefined);
        if (context.json) {
          context.printJson({ ok: escalated.length === 0, pauses, targets: rows });
        } else {
          context.print(
            formatTable(rows, [
              { header: 'RULE', value: (row) => row.rule },
              { header: 'TARGET', value: (row) => row.target },
              { header: 'HEALTH', value: (row) => row.health },
              { header: 'EPISODE', value: (row) => (row.episode === undefined ? '-' : row.episode.slice(0, 8)) },
              { header: 'ESCALATED', value: (row) => row.escalated ?? '-' },
              { header: 'ACTIONS', value: (row) => row.attempts, align: 'right' },
              {
                header: 'NEXT ACTION',
                value: (row) =>
                  row.nextActionAt === undefined || row.nextActionAt <= clock.now()
                    ? '-'
                    : `in ${Math.ceil((row.nextActionAt - clock.now()) / 1000)} s`,
              },
            ]),
          );
          if (rows.length === 0) context.print('(no followed container)');
          for (const pause of pauses)
            context.print(
              `paused: ${describeScope(pause)}${pause.reason ? ` — ${pause.reason}` : ''}${pause.until ? ` until ${new Date(pause.until).toISOString()}` : ''}`,
            );
        }
        return escalated.length === 0 ? ExitCode.ok : ExitCode.failure;
      } finally {
        await Promise.all(rules.map((rule) => rule.watcher.close()));
        await runtime.close();
      }
    },
  };

  const pause: CliDefinition['commands'][string] = {
    summary: 'pause healing for every healer sharing the Redis state: all, a rule, a target, or both',
    usage: '<rules-file>',
    options: {
      ...scopeOptions,
      for: {
        type: 'string',
        description: 'lift by itself after this long (default: until resumed)',
        valueName: 'duration',
      },
      reason: { type: 'string', description: 'why (shown in status and audit)', valueName: 'text' },
    },
    examples: [
      'ops-heal pause heal.yaml --reason "db maintenance" --for 2h',
      'ops-heal pause heal.yaml --target api-1',
    ],
    async run(context) {
      const runtime = await openRuntime(context, true);
      try {
        const scope = scopeOf(context);
        const forText = text(context, 'for');
        const reason = text(context, 'reason');
        const now = clock.now();
        const until = forText === undefined ? undefined : now + parseDuration(forText, '--for');
        await runtime.store.pause({
          ...scope,
          at: now,
          by: `ops-heal@${process.pid}`,
          ...(reason === undefined ? {} : { reason }),
          ...(until === undefined ? {} : { until }),
        });
        if (context.json)
          context.printJson({ ok: true, paused: { ...scope, ...(until === undefined ? {} : { until }) } });
        else
          context.print(
            `paused ${describeScope(scope)}${until === undefined ? '' : ` until ${new Date(until).toISOString()}`}`,
          );
        return ExitCode.ok;
      } finally {
        await runtime.close();
      }
    },
  };

  const resume: CliDefinition['commands'][string] = {
    summary: 'lift the pause of exactly this scope (exit 1 when there was none)',
    usage: '<rules-file>',
    options: scopeOptions,
    examples: ['ops-heal resume heal.yaml', 'ops-heal resume heal.yaml --target api-1'],
    async run(context) {
      const runtime = await openRuntime(context, true);
      try {
        const scope = scopeOf(context);
        const lifted = await runtime.store.resume(scope);
        if (context.json) context.printJson({ ok: lifted, resumed: scope });
        else context.print(lifted ? `resumed ${describeScope(scope)}` : `no pause on ${describeScope(scope)}`);
        return lifted ? ExitCode.ok : ExitCode.failure;
      } finally {
        await runtime.close();
      }
    },
  };

  const audit: CliDefinition['commands'][string] = {
    summary: 'print the audit trail (trigger, decision, lock holder, action, result, verify), oldest first',
    usage: '<rules-file>',
    options: {
      ...scopeOptions,
      episode: { type: 'string', description: 'one episode (its trace id)', valueName: 'id' },
      since: { type: 'string', description: 'records of the last … (e.g. 24h)', valueName: 'duration' },
      limit: { type: 'string', description: 'at most this many, the newest (default 100)', valueName: 'n' },
    },
    examples: ['ops-heal audit heal.yaml --since 24h', 'ops-heal audit heal.yaml --target api-1 --json'],
    async run(context) {
      const runtime = await openRuntime(context, true);
      try {
        const scope = scopeOf(context);
        const since = text(context, 'since');
        const episode = text(context, 'episode');
        const limitText = text(context, 'limit');
        const limit = limitText === undefined ? 100 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1)
          throw new UsageError(`--limit: expected a positive integer, got ${limitText}`);
        const query: AuditQuery = {
          ...scope,
          limit,
          ...(episode === undefined ? {} : { episodeId: episode }),
          ...(since === undefined ? {} : { since: clock.now() - parseDuration(since, '--since') }),
        };
        const records: AuditEntry[] = await runtime.audit.list(query);
        if (context.json) {
          context.printJson({ ok: true, records });
          return ExitCode.ok;
        }
        for (const record of records) {
          const parts = [
            new Date(record.at).toISOString(),
            record.kind,
            `${record.rule} ${record.target}`,
            record.action ? `${record.action.name}#${record.action.run}` : '',
            record.result ?? record.reason ?? record.decision ?? '',
            record.verify ? `verify ${record.verify.passed ? 'passed' : 'failed'}` : '',
            record.holder ? `holder ${record.holder.owner} token ${record.holder.fencingToken}` : '',
            record.detail ? `— ${redactText(record.detail)}` : '',
          ];
          context.print(parts.filter(Boolean).join('  '));
        }
        if (records.length === 0) context.print('(no audit record)');
        return ExitCode.ok;
      } finally {
        await runtime.close();
      }
    },
  };

  return {
    name: 'ops-heal',
    description:
      'Heals containers whose HEALTHCHECK says unhealthy — docker-autoheal with safety rails: restart caps, verify, backoff, disruption budget, escalation, pause, audit.',
    version: readPackageVersion(import.meta.url, '@ops/healing'),
    commands: { run, status, pause, resume, audit },
  };
}

function stripUndefined<T extends object>(value: T): { [Key in keyof T]: Exclude<T[Key], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as never;
}

/**
 * The `ops-heal` command line: `run <rules-file>` (a standalone container healer), `status`, `pause`/`resume`,
 * `audit`; `--dry-run`, `--json`; exit codes 0 ok, 1 failed (an escalation, an escalated target), 2 usage.
 */
export const healCli: CliDefinition = createHealCli();
