import {
  createPeriodicTask,
  createSustainedCondition,
  guardLogger,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type Logger,
  type PeriodicTask,
  type SustainedCondition,
  type SustainedState,
} from '@ops/core';
import { IncidentError } from '../errors.js';
import { createMutex } from '../internal/mutex.js';
import type { IncidentManager, IngestResult } from '../lifecycle/incident-manager.js';
import type { Severity } from '../model/records.js';

/**
 * A severity rule over a signal, like a Prometheus alerting rule: "P0: error ratio > 0.9 for 2m" — with `for`
 * (trigger delay) and clear hysteresis: `clearFor` (Prometheus `keep_firing_for`: it keeps firing that long after the
 * condition cleared) and `clearThreshold` (once firing, it clears only past this value: fire above 0.9, clear below
 * 0.8).
 */
export interface SignalRule {
  /** Rule name, in the incident's labels (`rule`) and timeline. */
  name: string;
  /** The service the incident is for. */
  service: string;
  /** Name of the sampled signal (a key of the samples given to `evaluate`). */
  signal: string;
  op: '>' | '>=' | '<' | '<=';
  threshold: number;
  /** Once firing, the value must cross this instead of `threshold` to clear. Default: `threshold`. */
  clearThreshold?: number;
  /** How long the condition must hold before the rule fires. Default `0`. */
  for?: Duration;
  /** How long it keeps firing after the condition cleared. Default `0`. */
  clearFor?: Duration;
  /** The severity of the incident while this rule fires. */
  severity: Severity;
  /** Incident title. Default: `<name>: <signal> <op> <threshold>`. */
  title?: string;
  labels?: Record<string, string>;
  /** Status-page components affected. */
  components?: readonly string[];
  /**
   * Rules of one group share one incident (dedup key `signal:<group>`), at the highest severity firing: a P2 rule
   * at 50 % errors and a P0 rule at 90 % raise one incident from P2 to P0. Default `<service>:<signal>`.
   */
  group?: string;
}

/** Options of {@link createSignalRules}. */
export interface SignalRulesOptions {
  /** Where incidents are opened and resolved. */
  incidents: Pick<IncidentManager, 'ingest' | 'severityPolicy'>;
  rules: readonly SignalRule[];
  /** Reads the signals for the periodic evaluation (`start()`); a missing or non-finite value is a false condition. */
  sample?: (signal: AbortSignal) => Promise<Record<string, number | undefined>>;
  /** Interval of the periodic evaluation. Default `'15s'`. */
  every?: Duration;
  clock?: Clock;
  logger?: Logger;
}

/** The state of one rule. */
export interface SignalRuleState {
  name: string;
  group: string;
  severity: Severity;
  state: SustainedState;
  /** The last value sampled. */
  value: number | undefined;
  activeSince: number | undefined;
  firingSince: number | undefined;
}

/** Severity rules over signals (see {@link createSignalRules}). */
export interface SignalRules {
  /**
   * Evaluates one set of samples taken now: rules move through pending → firing → resolved; a group that starts
   * firing (or fires at a higher severity) triggers its incident, a group with no rule firing any more resolves it.
   */
  evaluate(samples: Record<string, number | undefined>): Promise<SignalRuleState[]>;
  /** The state of every rule. */
  states(): SignalRuleState[];
  /** Starts evaluating `sample()` every `every`. */
  start(): void;
  /** Stops the periodic evaluation. */
  close(): Promise<void>;
}

interface Compiled {
  rule: SignalRule;
  group: string;
  condition: SustainedCondition;
  value: number | undefined;
}

const holds = (op: SignalRule['op'], value: number, threshold: number) =>
  op === '>'
    ? value > threshold
    : op === '>='
      ? value >= threshold
      : op === '<'
        ? value < threshold
        : value <= threshold;

/**
 * Classifies signals into P0–P3 incidents with rules evaluated like Prometheus alerting rules, on core's Sustained
 * conditions: a rule fires after its condition held for `for`, keeps firing for `clearFor` after it cleared, and (with
 * `clearThreshold`) clears only past a second threshold — so a flapping signal neither pages on a blip nor resolves
 * and re-opens its incident on every dip. Rules of a group share one incident at the highest severity firing; it
 * resolves (reason `source`) when none fires.
 *
 * @example
 * ```ts
 * const rules = createSignalRules({
 *   incidents,
 *   rules: [
 *     { name: 'checkout-degraded', service: 'checkout', signal: 'error_ratio', op: '>', threshold: 0.5, for: '5m', severity: 'P2' },
 *     { name: 'checkout-down', service: 'checkout', signal: 'error_ratio', op: '>', threshold: 0.9, clearThreshold: 0.8, for: '2m', clearFor: '5m', severity: 'P0' },
 *   ],
 *   sample: async () => ({ error_ratio: await errorRatio() }),
 * });
 * rules.start();
 * ```
 */
export function createSignalRules(options: SignalRulesOptions): SignalRules {
  const { incidents, clock = systemClock } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const policy = incidents.severityPolicy;
  const compiled: Compiled[] = options.rules.map((rule, index) => {
    const where = `rules[${index}]`;
    if (!rule.name) throw new IncidentError('ARGUMENT_INVALID', `${where}.name is required`);
    if (!rule.service) throw new IncidentError('ARGUMENT_INVALID', `${where}.service is required`);
    if (!rule.signal) throw new IncidentError('ARGUMENT_INVALID', `${where}.signal is required`);
    if (!['>', '>=', '<', '<='].includes(rule.op))
      throw new IncidentError('ARGUMENT_INVALID', `${where}.op must be one of >, >=, <, <=`);
    if (!Number.isFinite(rule.threshold))
      throw new IncidentError('ARGUMENT_INVALID', `${where}.threshold must be a number`);
    if (!policy.has(rule.severity))
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `${where}.severity: unknown level ${JSON.stringify(rule.severity)}; one of ${policy.levels.map((level) => level.name).join(', ')}`,
      );
    if (rule.clearThreshold !== undefined) {
      const above = rule.op.startsWith('>');
      if (
        !Number.isFinite(rule.clearThreshold) ||
        (above ? rule.clearThreshold > rule.threshold : rule.clearThreshold < rule.threshold)
      )
        throw new IncidentError(
          'ARGUMENT_INVALID',
          `${where}.clearThreshold must be on the clear side of threshold (${above ? '≤' : '≥'} ${rule.threshold})`,
        );
    }
    return {
      rule,
      group: rule.group ?? `${rule.service}:${rule.signal}`,
      condition: createSustainedCondition({
        for: rule.for ?? 0,
        keepFiringFor: rule.clearFor ?? 0,
        clock,
        name: rule.name,
        logger,
      }),
      value: undefined,
    };
  });
  const groups = new Map<string, Compiled[]>();
  for (const entry of compiled) {
    const members = groups.get(entry.group) ?? [];
    if (members.length > 0 && members[0]!.rule.service !== entry.rule.service)
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `rules of group ${JSON.stringify(entry.group)} must share one service`,
      );
    members.push(entry);
    groups.set(entry.group, members);
  }
  // The severity each group's incident was last triggered at (undefined: no incident open from these rules).
  const raised = new Map<string, Severity>();
  const mutex = createMutex();

  const state = (entry: Compiled): SignalRuleState => ({
    name: entry.rule.name,
    group: entry.group,
    severity: entry.rule.severity,
    state: entry.condition.state,
    value: entry.value,
    activeSince: entry.condition.activeSince,
    firingSince: entry.condition.firingSince,
  });

  const trigger = (group: string, entry: Compiled): Promise<IngestResult> => {
    const { rule } = entry;
    const threshold = `${rule.signal} ${rule.op} ${rule.threshold}`;
    return incidents.ingest({
      action: 'trigger',
      service: rule.service,
      dedupKey: `signal:${group}`,
      summary: rule.title ?? `${rule.name}: ${threshold}`,
      severity: rule.severity,
      source: 'signals',
      labels: { ...rule.labels, service: rule.service, signal: rule.signal, rule: rule.name },
      annotations: {
        description: `${rule.signal} = ${entry.value} (${threshold}${rule.for ? ` for ${String(rule.for)}` : ''})`,
      },
      ...(entry.condition.activeSince === undefined ? {} : { startsAt: entry.condition.activeSince }),
      ...(rule.components ? { components: rule.components } : {}),
    });
  };

  const evaluate = (samples: Record<string, number | undefined>) =>
    mutex.run(async () => {
      for (const entry of compiled) {
        const { rule, condition } = entry;
        const value = samples[rule.signal];
        entry.value = typeof value === 'number' && Number.isFinite(value) ? value : undefined;
        const threshold =
          condition.state === 'firing' && rule.clearThreshold !== undefined ? rule.clearThreshold : rule.threshold;
        condition.update(entry.value !== undefined && holds(rule.op, entry.value, threshold), entry.value);
      }
      for (const [group, members] of groups) {
        const firing = members
          .filter((entry) => entry.condition.state === 'firing')
          .sort((a, b) => policy.compare(a.rule.severity, b.rule.severity));
        const top = firing[0];
        const previous = raised.get(group);
        if (top && (previous === undefined || policy.compare(top.rule.severity, previous) < 0)) {
          await trigger(group, top);
          raised.set(group, top.rule.severity);
        } else if (!top && previous !== undefined) {
          const { rule } = members[0]!;
          await incidents.ingest({
            action: 'resolve',
            service: rule.service,
            dedupKey: `signal:${group}`,
            summary: `${members.map((entry) => entry.rule.name).join(', ')} cleared`,
            source: 'signals',
          });
          raised.delete(group);
        }
      }
      return compiled.map(state);
    });

  let task: PeriodicTask | undefined;
  return {
    evaluate,
    states: () => compiled.map(state),
    start() {
      const sample = options.sample;
      if (!sample) throw new IncidentError('ARGUMENT_INVALID', 'createSignalRules: start() needs the sample option');
      task ??= createPeriodicTask({
        name: 'incident-signal-rules',
        every: options.every ?? '15s',
        clock,
        logger,
        run: async (signal) => {
          await evaluate(await sample(signal));
        },
      });
      task.start();
    },
    close: async () => {
      await task?.stop();
    },
  };
}
