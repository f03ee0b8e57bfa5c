import { parseOptionalDuration, safeErrorMessage, type Duration } from '@ops/core';
import {
  containerName,
  healthOf,
  type ContainerHealth,
  type ContainerInspectLike,
  type DockerLike,
} from '../docker/docker-like.js';
import { HealingError } from '../errors.js';
import type { ActionContext, HealingAction } from './action.js';

/** Options of {@link restartContainer}. */
export interface RestartContainerOptions {
  /** The dockerode client (`new Docker({ socketPath })`); podman's Docker API works. */
  docker: DockerLike;
  /**
   * The container (name or id), or a function of the step's context. Without it and without `label`, the step
   * restarts the episode's target (`context.target`): what a container autoheal rule wants.
   */
  container?: string | ((context: ActionContext) => string);
  /** Restart every container carrying this label (`app=api`, `autoheal`) instead, one after another. */
  label?: string;
  /** `restart` (one API call) or `stop-start` (stop, then start: clears a stuck restart). Default `'restart'`. */
  mode?: 'restart' | 'stop-start';
  /**
   * Wait until the container runs and, when it has a HEALTHCHECK, reports `healthy`. Default true: a restart that
   * does not come back healthy within `timeout` fails the step.
   */
  waitHealthy?: boolean;
  /** Bound of the whole step (restart + wait healthy). Default `'60s'`. */
  timeout?: Duration;
  /** Grace before the engine kills the container's process (Docker's `t`). Default `'10s'`. */
  stopTimeout?: Duration;
  /** How often to inspect while waiting for healthy. Default `'500ms'`. */
  pollInterval?: Duration;
  /** Step name. Default `'restart container'`. */
  name?: string;
}

/** What {@link restartContainer} did to one container (in `data.containers` of the outcome). */
export interface ContainerRestartResult {
  id: string;
  name: string;
  healthBefore: ContainerHealth;
  healthAfter: ContainerHealth;
  restartCountAfter: number;
  durationMs: number;
}

/**
 * A step that restarts a container through the Docker Engine API (dockerode; podman works) and, by default, waits
 * until it is running and healthy again. By name/id, by label, or the episode's target.
 *
 * @example
 * ```ts
 * const docker = new Docker({ socketPath: '/var/run/docker.sock' });
 * steps: [restartContainer({ docker, mode: 'restart', timeout: '90s' }), escalate(sink)]
 * ```
 */
export function restartContainer(options: RestartContainerOptions): HealingAction {
  const { docker, container, label, mode = 'restart', waitHealthy = true } = options ?? {};
  if (typeof docker?.getContainer !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'restartContainer: docker must be a dockerode client');
  if (mode !== 'restart' && mode !== 'stop-start')
    throw new HealingError(
      'ARGUMENT_INVALID',
      `restartContainer: mode must be 'restart' or 'stop-start', got ${String(mode)}`,
    );
  if (container !== undefined && label !== undefined)
    throw new HealingError('ARGUMENT_INVALID', 'restartContainer: give container or label, not both');
  const timeoutMs = parseOptionalDuration(options.timeout, 'timeout') ?? 60_000;
  const stopSeconds = Math.ceil((parseOptionalDuration(options.stopTimeout, 'stopTimeout') ?? 10_000) / 1000);
  const pollMs = parseOptionalDuration(options.pollInterval, 'pollInterval') ?? 500;
  const { name = mode === 'restart' ? 'restart container' : 'stop-start container' } = options;

  const targets = async (context: ActionContext): Promise<string[]> => {
    if (label !== undefined) {
      const listed = await docker.listContainers({
        all: true,
        filters: { label: [label] },
        abortSignal: context.signal,
      });
      return listed.map((summary) => summary.Id);
    }
    if (typeof container === 'function') return [container(context)];
    return [container ?? context.target];
  };

  const restartOne = async (id: string, context: ActionContext): Promise<ContainerRestartResult> => {
    const { clock, signal } = context;
    const handle = docker.getContainer(id);
    const started = clock.monotonic();
    const before = await handle.inspect({ abortSignal: signal });
    const display = containerName(before.Name) || id;
    if (mode === 'restart') {
      await handle.restart({ t: stopSeconds, abortSignal: signal });
    } else {
      try {
        await handle.stop({ t: stopSeconds, abortSignal: signal });
      } catch (error) {
        // 304: already stopped.
        if ((error as { statusCode?: number }).statusCode !== 304) throw error;
      }
      await handle.start({ abortSignal: signal });
    }
    let after: ContainerInspectLike = await handle.inspect({ abortSignal: signal });
    if (waitHealthy) {
      const deadline = started + timeoutMs;
      for (;;) {
        const running = after.State?.Running === true;
        const health = healthOf(after);
        if (running && (health === 'healthy' || health === 'none')) break;
        if (!running && after.State?.Status !== 'restarting' && after.State?.Status !== 'created') {
          throw new HealingError(
            'ACTION_FAILED',
            `container ${display} is ${after.State?.Status ?? 'not running'} after the ${mode}`,
          );
        }
        if (clock.monotonic() + pollMs > deadline) {
          throw new HealingError(
            'ACTION_TIMEOUT',
            `container ${display} was restarted but is still ${health} after ${timeoutMs} ms`,
          );
        }
        await clock.sleep(pollMs, signal);
        after = await handle.inspect({ abortSignal: signal });
      }
    }
    return {
      id: before.Id ?? id,
      name: display,
      healthBefore: healthOf(before),
      healthAfter: healthOf(after),
      restartCountAfter: after.RestartCount ?? 0,
      durationMs: Math.round(clock.monotonic() - started),
    };
  };

  return {
    kind: 'restart-container',
    name,
    async run(context) {
      const ids = await targets(context);
      if (ids.length === 0) return { skipped: `no container carries the label ${label ?? ''}` };
      const results: ContainerRestartResult[] = [];
      for (const id of ids) {
        try {
          results.push(await restartOne(id, context));
        } catch (error) {
          if (context.signal.aborted) throw context.signal.reason;
          if (HealingError.isInstance(error)) throw error;
          throw new HealingError('ACTION_FAILED', `could not ${mode} container ${id}: ${safeErrorMessage(error)}`, {
            cause: error,
          });
        }
      }
      const summary = results
        .map(
          (result) =>
            `${result.name} (id ${result.id.slice(0, 12)}) in ${(result.durationMs / 1000).toFixed(1)} s, ${result.healthAfter}`,
        )
        .join('; ');
      return {
        detail: `${mode === 'restart' ? 'restarted' : 'stop-started'} ${summary}`,
        data: { containers: results },
      };
    },
  };
}
