import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One measured step of a backup run, for diagnostics (where the seconds of a run go, and what each guarantee costs).
 * Steps of the run: `lock`, `cleanup`, `manifest.initial`, `hooks.pre`, `source`, `verify`, `hooks.post`,
 * `manifest.final`, `lock.release`. Steps of a PostgreSQL source: `postgres.version-check`, `postgres.dump`. Steps of
 * an artifact: `artifact.first-byte` (until the source produced its first byte), `artifact.stream` (first byte to
 * the last byte handed to the storage), `artifact.commit` (the storage making the object durable after the last byte:
 * final fsync, rename, directory fsync or the last upload part), and the main-thread busy time of the stream stages:
 * `stage.read` (collecting the source's chunks into blocks), `stage.hash-plain`, `stage.encrypt`, `stage.hash-stored`.
 */
export interface BackupTiming {
  step: string;
  /** Milliseconds (wall time of the step, or summed busy time for `stage.*`). */
  ms: number;
  /** The source the step belongs to. */
  source?: string;
  /** The artifact the step belongs to. */
  artifact?: string;
}

/** Receives the {@link BackupTiming}s of a run as they are measured. */
export type BackupTimingListener = (timing: BackupTiming) => void;

interface TimingScope {
  listener: BackupTimingListener;
  source?: string;
}

const scopes = new AsyncLocalStorage<TimingScope>();

/** Runs `work` so that {@link recordTiming} calls inside it (across awaits) reach `listener`; no-op without one. */
export function withTimings<T>(listener: BackupTimingListener | undefined, work: () => Promise<T>): Promise<T> {
  return listener ? scopes.run({ listener }, work) : work();
}

/** Runs `work` with timings attributed to `source`. */
export function withTimingSource<T>(source: string, work: () => Promise<T>): Promise<T> {
  const scope = scopes.getStore();
  return scope ? scopes.run({ ...scope, source }, work) : work();
}

/** Whether anyone listens (so callers skip measuring when no one does). */
export function timingsWanted(): boolean {
  return scopes.getStore() !== undefined;
}

/** Reports one timing to the current run's listener, if any. A throwing listener is ignored. */
export function recordTiming(step: string, ms: number, artifact?: string): void {
  report(scopes.getStore(), step, ms, artifact);
}

/**
 * The reporter of the current scope, captured now: stream callbacks may run outside the async context that created
 * the stream. `undefined` when no one listens.
 */
export function timingReporter(): ((step: string, ms: number, artifact?: string) => void) | undefined {
  const scope = scopes.getStore();
  return scope ? (step, ms, artifact) => report(scope, step, ms, artifact) : undefined;
}

function report(scope: TimingScope | undefined, step: string, ms: number, artifact: string | undefined): void {
  if (!scope) return;
  try {
    scope.listener({
      step,
      ms: Math.round(ms * 100) / 100,
      ...(scope.source === undefined ? {} : { source: scope.source }),
      ...(artifact === undefined ? {} : { artifact }),
    });
  } catch {
    // Diagnostics never break a backup.
  }
}

/** Times `work` as `step` (only when someone listens). */
export async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  if (!timingsWanted()) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    recordTiming(step, performance.now() - started);
  }
}

/** Sums the busy time of one stream stage (only when `enabled`). */
export class StageTimer {
  #ms = 0;
  readonly #enabled: boolean;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** Runs `work` synchronously, adding its duration. */
  time<T>(work: () => T): T {
    if (!this.#enabled) return work();
    const started = performance.now();
    try {
      return work();
    } finally {
      this.#ms += performance.now() - started;
    }
  }

  /** Adds time measured elsewhere (a worker thread). */
  add(ms: number): void {
    if (this.#enabled) this.#ms += ms;
  }

  get ms(): number {
    return this.#ms;
  }
}
