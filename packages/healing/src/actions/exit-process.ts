import { parseOptionalDuration, type Duration } from '@ops/core';
import { HealingError } from '../errors.js';
import type { HealingAction } from './action.js';

/** Options of {@link exitProcess}. */
export interface ExitProcessOptions {
  /** Exit code. Default 1 (the orchestrator sees a failure and restarts the process). */
  code?: number;
  /** Wait before exiting, so the audit record and logs are flushed. Default `'1s'`. */
  delay?: Duration;
  /** Step name. Default `'exit process'`. */
  name?: string;
  /** How to exit; tests inject a stand-in. Default `process.exit`. */
  exit?: (code: number) => void;
}

/**
 * A terminal step: exits the process after `delay` so the orchestrator (Kubernetes, systemd, Docker's restart
 * policy) starts a fresh one. The engine runs it at most once per episode (`terminal: true`).
 *
 * @example
 * ```ts
 * steps: [runGc(), exitProcess({ code: 1, delay: '2s' })]
 * ```
 */
export function exitProcess(options: ExitProcessOptions = {}): HealingAction {
  const { code = 1, name = 'exit process', exit = (value: number) => process.exit(value) } = options;
  if (!Number.isInteger(code) || code < 0 || code > 255)
    throw new HealingError('ARGUMENT_INVALID', `exitProcess: code must be an integer 0–255, got ${code}`);
  const delayMs = parseOptionalDuration(options.delay, 'delay') ?? 1_000;
  return {
    kind: 'exit-process',
    name,
    terminal: true,
    async run(context) {
      context.logger.error(
        { rule: context.rule, target: context.target, episodeId: context.episodeId, code, delayMs },
        'healing: exiting the process for the orchestrator to restart it',
      );
      // Not awaited: the step reports back (and the audit record is written) before the process goes.
      context.clock.setTimeout(() => exit(code), delayMs);
      return { detail: `exiting with code ${code} in ${delayMs} ms`, data: { code, delayMs } };
    },
  };
}
