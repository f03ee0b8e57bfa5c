import { parseDuration, type Duration } from '@ops/core';
import { restartContainer } from '../actions/restart-container.js';
import {
  watchContainerHealth,
  type ContainerHealthWatcher,
  type WatchContainerHealthOptions,
} from '../docker/container-health-watcher.js';
import type { DockerLike } from '../docker/docker-like.js';
import type { HealingCondition } from '../engine/conditions.js';
import type { AttemptCap, DisruptionBudget, FleetRule, HealingRule, RuleBackoff } from '../engine/rule.js';
import { HealingError } from '../errors.js';
import { recipeRuleOptions, type RecipeRuleOptions } from './recipe-rule-options.js';

/** Options of {@link containerAutoheal}. */
export interface ContainerAutohealOptions extends RecipeRuleOptions {
  /** The dockerode client (`new Docker({ socketPath })`); podman's Docker API works. */
  docker: DockerLike;
  /** Containers to heal: those with this label (`autoheal=true`, default), or `'all'` (docker-autoheal's `all`). */
  label?: string;
  /** Only these container names. */
  names?: readonly string[];
  /** A watcher to share (default: one created here, on `label`/`names`). */
  watcher?: ContainerHealthWatcher;
  /** `restart` or `stop-start`. Default `'restart'`. */
  mode?: 'restart' | 'stop-start';
  /** Restarts per episode before escalating (with the rule's backoff between them). Default 3. */
  restartsPerEpisode?: number;
  /** Bound of one restart including the wait for healthy. Default `'60s'`. */
  restartTimeout?: Duration;
  /** Grace before the container's process is killed. Default `'10s'`. */
  stopTimeout?: Duration;
  /** Attempt cap per container. Default 3 per `'1h'`. */
  maxAttempts?: AttemptCap;
  /** Backoff between restarts of one container. Default 10 s doubling to 5 min (kubelet). */
  backoff?: RuleBackoff;
  /** At most this many containers restarting at once. Default 1. */
  budget?: DisruptionBudget;
  /** More than this share unhealthy at once = shared cause: escalate, restart nothing. Default half of ≥ 3. */
  fleet?: FleetRule | false;
  /** No restart within this long after a container (re)started. Default 0 (Docker's start period applies). */
  warmup?: Duration;
  /** Evaluate and audit, never restart. */
  dryRun?: boolean;
  /** Rule name. Default `'container-autoheal'`. */
  name?: string;
  /** The containers (names) to heal. Default the watcher's containers, sorted. */
  targets?: NonNullable<HealingRule['targets']>;
  /** Passed to the watcher created here (reconnect backoff, clock, logger). */
  watch?: Omit<WatchContainerHealthOptions, 'docker' | 'filter'>;
}

/** The rule of {@link containerAutoheal}, with its watcher. */
export interface ContainerAutoheal extends HealingRule {
  /** The events-stream watcher the rule reads; `start()` it (or call {@link ContainerAutoheal.react}). */
  watcher: ContainerHealthWatcher;
  /**
   * Ticks the healer as soon as a container turns unhealthy (instead of waiting for its next `every`); returns the
   * unsubscribe.
   */
  react(healer: { tick(): Promise<void> }): () => void;
}

/** Containers of the watcher that are unhealthy, as a healer condition. */
export function containerUnhealthyCondition(watcher: ContainerHealthWatcher): HealingCondition {
  return {
    kind: 'container-health',
    description: 'container health is unhealthy',
    async sample(target) {
      const state = watcher.get(target);
      // Unknown container or a stream that is down: missing data, which never opens an episode.
      if (state === undefined || !watcher.connected) return undefined;
      return {
        active: state.health === 'unhealthy',
        values: { health: state.health, state: state.state, container: state.id.slice(0, 12) },
      };
    },
  };
}

/**
 * docker-autoheal's job with the rails it lacks: restarts containers whose HEALTHCHECK says `unhealthy` (label
 * `autoheal=true`, or `all`), seen from the Docker events stream rather than a 5-second poll; each restart waits
 * until the container is healthy again (verify), restarts are capped per episode and per hour with growing
 * delays, at most `budget` containers restart at once, an unhealthy majority is escalated as a shared cause, and
 * a container that stays unhealthy is escalated and left alone.
 *
 * @example
 * ```ts
 * const autoheal = containerAutoheal({ docker: new Docker({ socketPath: '/var/run/docker.sock' }) });
 * const healer = createHealer({ rules: [autoheal], alerts, every: '5s' });
 * autoheal.react(healer);
 * await autoheal.watcher.start();
 * ```
 */
export function containerAutoheal(options: ContainerAutohealOptions): ContainerAutoheal {
  const {
    docker,
    label = 'autoheal=true',
    names,
    mode = 'restart',
    restartsPerEpisode = 3,
    restartTimeout = '60s',
    stopTimeout = '10s',
    maxAttempts = { count: 3, window: '1h' },
    backoff,
    budget = { max: 1 },
    fleet,
    warmup = 0,
    dryRun,
    name = 'container-autoheal',
  } = options;
  if (typeof docker?.getContainer !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'containerAutoheal: docker must be a dockerode client');
  const rule = recipeRuleOptions('containerAutoheal', options);
  const watcher =
    options.watcher ??
    watchContainerHealth({
      ...options.watch,
      docker,
      filter: { label, ...(names === undefined ? {} : { names }) },
    });
  return {
    name,
    summary: 'container HEALTHCHECK unhealthy',
    when: containerUnhealthyCondition(watcher),
    for: 0,
    targets: () =>
      watcher
        .containers()
        .map((container) => container.name)
        .sort(),
    targetStartedAt: (target) => watcher.get(target)?.startedAt,
    warmup,
    ladder: [
      {
        action: restartContainer({ docker, mode, waitHealthy: true, timeout: restartTimeout, stopTimeout }),
        // The action bounds itself (and says "still unhealthy after …"); the step deadline is a backstop.
        timeout: parseDuration(restartTimeout, 'restartTimeout') + 5_000,
        settle: '1s',
        runs: restartsPerEpisode,
        verify: { clearSamples: 1, every: '1s', timeout: '30s' },
      },
    ],
    maxAttempts,
    ...(backoff === undefined ? {} : { backoff }),
    budget,
    ...(fleet === undefined ? {} : { fleet }),
    ...(dryRun === undefined ? {} : { dryRun }),
    ...rule,
    watcher,
    react(healer) {
      return watcher.on('container.health-changed', (change) => {
        if (change.health === 'unhealthy') return healer.tick();
        return undefined;
      });
    },
  };
}
