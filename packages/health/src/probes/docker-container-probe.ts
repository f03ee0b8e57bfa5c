import type { CheckResult } from '@ops/core';
import { z } from 'zod';
import type { Probe } from '../registry/types.js';
import { countSchema, objectWithMethods, parseOptions } from '../validation/option-schemas.js';
import { combine, defineProbe } from './probe.js';

/** The parts of a dockerode container inspect result the probe reads. */
export interface ContainerInspectLike {
  Name?: string | undefined;
  RestartCount?: number | undefined;
  State?:
    | {
        Status?: string | undefined;
        Running?: boolean | undefined;
        Health?: { Status?: string | undefined } | undefined;
      }
    | undefined;
}

/** The parts of a dockerode `Docker` the probe uses. */
export interface DockerLike {
  getContainer(id: string): { inspect(options?: { abortSignal?: AbortSignal }): Promise<ContainerInspectLike> };
}

/** Options of {@link dockerContainerProbe}. */
export interface DockerContainerProbeOptions {
  /** The application's dockerode client. */
  docker: DockerLike;
  /** Container id or name. */
  container: string;
  /** Warn when the container restarted more often than this. */
  maxRestartCount?: number;
}

const optionsSchema = z.strictObject({
  docker: objectWithMethods<DockerLike>(['getContainer'], 'a dockerode client (with getContainer())'),
  container: z.string().min(1),
  maxRestartCount: countSchema.optional(),
});

/**
 * Docker container probe via dockerode (works with podman's Docker API): fails when the container is not
 * running or its HEALTHCHECK says `unhealthy`, warns while it is `starting` or after too many restarts.
 *
 * @example
 * ```ts
 * health.register({ name: 'worker', check: dockerContainerProbe({ docker, container: 'worker-1', maxRestartCount: 3 }) });
 * ```
 */
export function dockerContainerProbe(options: DockerContainerProbeOptions): Probe {
  parseOptions(optionsSchema, options, 'dockerContainerProbe');
  const { docker, container, maxRestartCount } = options;
  const run = async (signal: AbortSignal): Promise<CheckResult> => {
    const info = await docker.getContainer(container).inspect({ abortSignal: signal });
    const state = info.State ?? {};
    const health = state.Health?.Status;
    const restarts = info.RestartCount ?? 0;
    const details: Record<string, unknown> = { state: state.Status ?? 'unknown', restartCount: restarts };
    if (health !== undefined && health !== '') details['health'] = health;
    const verdict = combine([
      {
        status: state.Running === true ? 'pass' : 'fail',
        reason: `container ${container} is ${state.Status ?? 'not running'}`,
      },
      {
        status: health === 'unhealthy' ? 'fail' : health === 'starting' ? 'warn' : 'pass',
        reason: `container ${container} health is ${health}`,
      },
      {
        status: maxRestartCount !== undefined && restarts > maxRestartCount ? 'warn' : 'pass',
        reason: `container ${container} restarted ${restarts} times`,
      },
    ]);
    return { ...verdict, observed: state.Status ?? 'unknown', details };
  };
  return defineProbe(run, { kind: 'dependency', componentType: 'component', measurement: 'status' });
}
