import {
  createBackoff,
  createEmitter,
  parseOptionalDuration,
  safeErrorMessage,
  silentLogger,
  systemClock,
  withDeadline,
  type BackoffOptions,
  type Clock,
  type Duration,
  type EventSource,
  type Logger,
  type TimerHandle,
} from '@ops/core';
import { HealingError } from '../errors.js';
import {
  containerName,
  dockerStatusCode,
  healthOf,
  type ContainerHealth,
  type DockerEventStreamLike,
  type DockerLike,
} from './docker-like.js';

/** Which containers a watcher follows. */
export interface ContainerFilter {
  /**
   * A label (`autoheal`, `autoheal=true`) the containers must carry, or `'all'` for every container (as
   * docker-autoheal's `AUTOHEAL_CONTAINER_LABEL=all`). Default `'autoheal=true'`.
   */
  label?: string;
  /** Only these container names (without the leading slash). */
  names?: readonly string[];
}

/** What a watcher knows about one container. */
export interface ContainerHealthState {
  id: string;
  name: string;
  health: ContainerHealth;
  /** `running`, `exited`, … */
  state: string;
  labels: Readonly<Record<string, string>>;
  /** When the watcher last saw the health change (epoch ms). */
  since: number;
  /** When the container's process last started (epoch ms), for warm-up after a (re)start. */
  startedAt: number | undefined;
}

/** Events of {@link ContainerHealthWatcher}. */
export interface ContainerHealthWatcherEvents {
  /** A container's health differs from what the watcher knew (`previous` undefined when first seen). */
  'container.health-changed': ContainerHealthState & {
    at: number;
    previous: ContainerHealth | undefined;
    /** `event` when a Docker event told us, `resync` when the list after a (re)connect did. */
    cause: 'event' | 'resync';
  };
  /** A followed container was removed. */
  'container.removed': { at: number; id: string; name: string };
  /** The events stream is open and the containers were listed again. */
  'stream.connected': { at: number; containers: number };
  /** The events stream dropped or could not open; the watcher retries after `retryInMs`. */
  'stream.disconnected': { at: number; error: string; retryInMs: number };
}

/** Options of {@link watchContainerHealth}. */
export interface WatchContainerHealthOptions {
  /** The dockerode client (`new Docker({ socketPath })`); podman's Docker API works. */
  docker: DockerLike;
  /** Which containers to follow. Default `{ label: 'autoheal=true' }`. */
  filter?: ContainerFilter;
  /** Delays between reconnects of a dropped events stream. Default 500 ms doubling to 30 s, full jitter. */
  reconnect?: BackoffOptions;
  /**
   * List the containers again this often even while the stream is up: a safety net for an event the engine never
   * sent. Default `'60s'`; `0` turns it off.
   */
  resyncEvery?: Duration;
  /** Deadline of one inspect or list call; a call past it is abandoned (and retried on the next event). Default `'10s'`. */
  requestTimeout?: Duration;
  /**
   * Source of time: event times, timers, and the `since` of the events replayed on each connect. Default the system
   * clock.
   */
  clock?: Clock;
  /** Logger. */
  logger?: Logger;
}

/** A live view of the health of the followed containers, fed by the Docker events stream. */
export interface ContainerHealthWatcher extends EventSource<ContainerHealthWatcherEvents> {
  /** Opens the events stream and lists the containers; resolves once the first list is in. */
  start(): Promise<void>;
  /** Every followed container as last seen. */
  containers(): ContainerHealthState[];
  /** One container by name or id. */
  get(nameOrId: string): ContainerHealthState | undefined;
  /** Whether the events stream is open now. */
  readonly connected: boolean;
  /** Closes the stream and cancels reconnects. */
  close(): Promise<void>;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Parses `label` / `label=value` into a predicate over a label map. */
export function labelMatcher(label: string): (labels: Readonly<Record<string, string>>) => boolean {
  if (label === 'all') return () => true;
  const equals = label.indexOf('=');
  if (equals < 0) return (labels) => Object.hasOwn(labels, label);
  const key = label.slice(0, equals);
  const value = label.slice(equals + 1);
  return (labels) => labels[key] === value;
}

const RELEVANT_ACTIONS = new Set(['create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'oom']);

/**
 * Follows the health of containers through the Docker events stream (no polling): every `health_status`,
 * `start`, `die`, … event of a followed container triggers one inspect, whose result is the truth (podman's events
 * carry a stale `HealthStatus`). On every (re)connect the watcher lists the containers again, so a change missed
 * while the stream was down is still reported, and asks the engine to replay the last few seconds of events
 * (`since`): an engine can answer the events request before it streams (podman follows its event log), so a change
 * right after the list could otherwise go unseen until the next periodic list. A dropped stream reconnects with capped
 * backoff.
 *
 * Use it as the trigger of a container autoheal rule: targets are the followed containers, the condition is
 * `health === 'unhealthy'`.
 *
 * @example
 * ```ts
 * const watcher = watchContainerHealth({ docker: new Docker({ socketPath: '/var/run/docker.sock' }), filter: { label: 'autoheal=true' } });
 * watcher.on('container.health-changed', (change) => console.log(change.name, change.previous, '→', change.health));
 * await watcher.start();
 * ```
 */
export function watchContainerHealth(options: WatchContainerHealthOptions): ContainerHealthWatcher {
  const { docker, filter = {}, reconnect = {}, clock = systemClock, logger = silentLogger } = options;
  const requestTimeoutMs = parseOptionalDuration(options.requestTimeout, 'requestTimeout') ?? 10_000;
  const resyncEveryMs = parseOptionalDuration(options.resyncEvery, 'resyncEvery') ?? 60_000;
  // Podman emits health_status before it stores the new status: an inspect right away can read the old one. Each
  // health event is therefore inspected again after these delays (cheap, and harmless on Docker).
  const FOLLOW_UP_MS = [300, 1_500];
  // Seconds of events the engine replays on each (re)connect (`since`: whole seconds of the engine's clock, which
  // `clock` is taken to match).
  const REPLAY_SECONDS = 5;
  const timers = new Set<TimerHandle>();
  const later = (delayMs: number, work: () => void) => {
    const timer = clock.setTimeout(() => {
      timers.delete(timer);
      work();
    }, delayMs);
    timers.add(timer);
  };
  // One Docker API call, abandoned at the deadline or when the stream's signal aborts: a hung inspect must not stall
  // the queue every event goes through.
  const bounded = <T>(work: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> =>
    withDeadline(work, { timeoutMs: requestTimeoutMs, signal, clock, label: 'docker request' });
  if (typeof docker?.getEvents !== 'function' || typeof docker.listContainers !== 'function') {
    throw new HealingError(
      'ARGUMENT_INVALID',
      'watchContainerHealth: docker must be a dockerode client (getEvents, listContainers)',
    );
  }
  const label = filter.label ?? 'autoheal=true';
  const matchesLabel = labelMatcher(label);
  const names = filter.names === undefined ? undefined : new Set(filter.names);
  const follows = (name: string, labels: Readonly<Record<string, string>>) =>
    matchesLabel(labels) && (names === undefined || names.has(name));
  const events = createEmitter<ContainerHealthWatcherEvents>({ logger, source: 'container-health-watcher' });
  const backoff = createBackoff({ initialDelay: 500, maxDelay: '30s', ...reconnect });
  const known = new Map<string, ContainerHealthState>();
  let stream: DockerEventStreamLike | undefined;
  let controller: AbortController | undefined;
  let retryTimer: TimerHandle | undefined;
  let closed = false;
  let connected = false;
  // Events are handled one at a time, in arrival order, so two inspects of one container never race.
  let queue: Promise<void> = Promise.resolve();
  let firstSync: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  const update = async (id: string, cause: 'event' | 'resync', signal: AbortSignal): Promise<void> => {
    let info;
    try {
      info = await bounded((abortSignal) => docker.getContainer(id).inspect({ abortSignal }), signal);
    } catch (error) {
      if (dockerStatusCode(error) === 404) return forget(id);
      throw error;
    }
    const name = containerName(info.Name);
    const labels = info.Config?.Labels ?? {};
    if (!follows(name, labels)) return;
    const health = healthOf(info);
    const state = info.State?.Status ?? 'unknown';
    const fullId = info.Id ?? id;
    const before = known.get(fullId);
    const at = clock.now();
    const started = Date.parse(info.State?.StartedAt ?? '');
    const next: ContainerHealthState = {
      id: fullId,
      name,
      health,
      state,
      labels,
      since: before !== undefined && before.health === health ? before.since : at,
      startedAt: Number.isFinite(started) && started > 0 ? started : undefined,
    };
    known.set(fullId, next);
    if (before === undefined || before.health !== health) {
      events.emit('container.health-changed', { ...next, at, previous: before?.health, cause });
    }
  };

  const forget = (id: string) => {
    const entry = known.get(id) ?? [...known.values()].find((candidate) => candidate.id.startsWith(id));
    if (entry === undefined) return;
    known.delete(entry.id);
    events.emit('container.removed', { at: clock.now(), id: entry.id, name: entry.name });
  };

  const handle = (event: DockerEvent, signal: AbortSignal) => {
    if ((event.Type ?? 'container') !== 'container') return;
    const action = event.Action ?? event.status ?? '';
    const id = event.Actor?.ID ?? event.id;
    if (id === undefined) return;
    const attributes = event.Actor?.Attributes ?? {};
    const name = attributes['name'] ?? '';
    if (action === 'destroy' || action === 'remove') {
      queue = queue.then(() => forget(id));
      return;
    }
    const relevant = action.startsWith('health_status') || RELEVANT_ACTIONS.has(action);
    if (!relevant) return;
    // Attributes carry the labels: skip containers we do not follow without an inspect.
    const { name: _name, image: _image, ...labels } = attributes;
    if (!known.has(id) && name !== '' && !follows(name, labels)) return;
    const inspect = () => {
      if (closed || signal.aborted) return;
      queue = queue
        .then(() => update(id, 'event', signal))
        .catch((error: unknown) => {
          if (!signal.aborted) logger.warn({ container: name || id, error: safeErrorMessage(error) }, 'inspect failed');
        });
    };
    inspect();
    if (action.startsWith('health_status')) for (const delayMs of FOLLOW_UP_MS) later(delayMs, inspect);
  };

  const resync = async (signal: AbortSignal): Promise<number> => {
    const filters: Record<string, string[]> = label === 'all' ? {} : { label: [label] };
    const listed = await bounded((abortSignal) => docker.listContainers({ all: true, filters, abortSignal }), signal);
    const seen = new Set<string>();
    for (const summary of listed) {
      const name = containerName(summary.Names?.[0]);
      if (!follows(name, summary.Labels ?? {})) continue;
      seen.add(summary.Id);
      await update(summary.Id, 'resync', signal);
    }
    for (const id of [...known.keys()]) if (!seen.has(id)) forget(id);
    return seen.size;
  };

  const schedulePeriodicResync = (owner: AbortController) => {
    later(resyncEveryMs, () => {
      if (closed || owner !== controller || owner.signal.aborted) return;
      queue = queue
        .then(() => resync(owner.signal))
        .then(
          () => undefined,
          (error: unknown) => {
            if (!owner.signal.aborted)
              logger.warn({ error: safeErrorMessage(error) }, 'periodic container list failed');
          },
        )
        .then(() => schedulePeriodicResync(owner));
    });
  };

  const scheduleReconnect = (error: unknown) => {
    if (closed) return;
    connected = false;
    controller?.abort();
    stream = undefined;
    const retryInMs = backoff.next();
    const message = safeErrorMessage(error);
    logger.warn({ error: message, retryInMs }, 'docker events stream dropped; reconnecting');
    events.emit('stream.disconnected', { at: clock.now(), error: message, retryInMs });
    retryTimer?.cancel();
    retryTimer = clock.setTimeout(() => void connect(), retryInMs);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const current = new AbortController();
    controller = current;
    try {
      const opened = (await docker.getEvents({
        filters: { type: ['container'] },
        since: Math.floor(clock.now() / 1000) - REPLAY_SECONDS,
        abortSignal: current.signal,
      })) as DockerEventStreamLike;
      if (closed || current.signal.aborted) {
        opened.destroy?.();
        return;
      }
      stream = opened;
      let buffer = '';
      let ended = false;
      const onEnd = (error: unknown) => {
        if (ended || current !== controller) return;
        ended = true;
        scheduleReconnect(error);
      };
      opened.on('data', (chunk) => {
        buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
          if (line === '') continue;
          try {
            handle(JSON.parse(line) as DockerEvent, current.signal);
          } catch {
            logger.debug({ line: line.slice(0, 200) }, 'unparseable docker event ignored');
          }
        }
      });
      opened.on('error', (error) => onEnd(error));
      opened.on('end', () => onEnd(new Error('events stream ended')));
      opened.on('close', () => onEnd(new Error('events stream closed')));
      // The stream is open before the list: a change between the two is seen by one or the other.
      const count = await new Promise<number>((resolve, reject) => {
        queue = queue.then(() => resync(current.signal).then(resolve, reject));
      });
      if (current !== controller || closed) return;
      connected = true;
      backoff.reset();
      events.emit('stream.connected', { at: clock.now(), containers: count });
      if (resyncEveryMs > 0) schedulePeriodicResync(current);
      firstSync?.resolve();
      firstSync = undefined;
    } catch (error) {
      if (closed || current !== controller) return;
      if (firstSync !== undefined) {
        // The first connect fails loudly (a wrong socket is a configuration error); later ones retry.
        current.abort();
        stream?.destroy?.();
        stream = undefined;
        firstSync.reject(
          new HealingError('ACTION_FAILED', `cannot follow docker events: ${safeErrorMessage(error)}`, {
            cause: error,
          }),
        );
        firstSync = undefined;
        return;
      }
      scheduleReconnect(error);
    }
  };

  return {
    on: events.on,
    get connected() {
      return connected;
    },
    start() {
      if (closed) return Promise.reject(new HealingError('ARGUMENT_INVALID', 'the watcher was closed'));
      return new Promise<void>((resolve, reject) => {
        firstSync = { resolve, reject };
        void connect();
      });
    },
    containers: () => [...known.values()],
    get(nameOrId) {
      return known.get(nameOrId) ?? [...known.values()].find((entry) => entry.name === nameOrId);
    },
    async close() {
      closed = true;
      connected = false;
      retryTimer?.cancel();
      for (const timer of timers) timer.cancel();
      timers.clear();
      controller?.abort();
      stream?.destroy?.();
      stream = undefined;
      firstSync?.reject(new HealingError('ABORTED', 'the watcher was closed before it connected'));
      firstSync = undefined;
      await queue.catch(() => undefined);
      events.clear();
    },
  };
}
