import { redact, type AlertSeverity, type AlertSink, type OpsAlert } from '@ops/core';
import { HealingError } from '../errors.js';
import type { ActionContext, HealingAction } from './action.js';

/** Options of {@link escalate}. */
export interface EscalateOptions {
  /** Alert severity. Default `'critical'`. */
  severity?: AlertSeverity;
  /** One line for the responder. Default `healing <rule> could not fix <target>`. */
  summary?: string | ((context: ActionContext) => string);
  /** `source` of the alert. Default `'healing'`. */
  source?: string;
  /** Extra labels (service, team). */
  labels?: Record<string, string>;
  /** A runbook link, shown as the `runbook_url` annotation. */
  runbookUrl?: string;
  /** Step name. Default `'escalate'`. */
  name?: string;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A step that hands the problem to a human: sends a firing core `OpsAlert` (key `healing:<rule>:<target>`) to an
 * `AlertSink` — @ops/incident's `alertSink`, or any function. The trigger values go into the annotations,
 * redacted. A sink that rejects fails the step.
 *
 * @example
 * ```ts
 * steps: [resetPgPool(pools), setFlag(flags, 'read-only', true), escalate(incidents.alertSink, { severity: 'critical' })]
 * ```
 */
export function escalate(sink: AlertSink, options: EscalateOptions = {}): HealingAction {
  if (typeof sink !== 'function') throw new HealingError('ARGUMENT_INVALID', 'escalate: sink must be an AlertSink');
  const { severity = 'critical', source = 'healing', labels = {}, runbookUrl, name = 'escalate' } = options;
  return {
    kind: 'escalate',
    name,
    async run(context) {
      const summary =
        typeof options.summary === 'function'
          ? options.summary(context)
          : (options.summary ?? `healing ${context.rule} could not fix ${context.target}`);
      const trigger = redact({ ...context.trigger });
      const annotations: Record<string, string> = { episode_id: context.episodeId };
      for (const [key, value] of Object.entries(trigger)) annotations[`trigger_${key}`] = stringify(value);
      if (runbookUrl !== undefined) annotations['runbook_url'] = runbookUrl;
      const alert: OpsAlert = {
        key: `healing:${context.rule}:${context.target}`,
        status: 'firing',
        severity,
        summary,
        source,
        labels: { ...labels, rule: context.rule, target: context.target },
        annotations,
        startsAt: context.clock.now(),
      };
      await sink(alert);
      return { detail: `escalated (${severity}): ${summary}`, data: { key: alert.key, severity } };
    },
  };
}
