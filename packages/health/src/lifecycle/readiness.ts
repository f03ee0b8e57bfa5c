import { safeErrorMessage, type Logger } from '@ops/core';
import { HealthError } from '../errors.js';

/** Options of {@link Readiness}. */
export interface ReadinessOptions {
  /** Whether the service may take traffic before {@link Readiness.markReady} is called. */
  startReady: boolean;
  /** Logs failed startup tasks. */
  logger: Logger;
  /** Secrets removed from the error messages of failed startup tasks. */
  secrets: readonly string[];
}

interface StartupTask {
  state: 'pending' | 'done' | 'failed';
}

/**
 * The lifecycle half of readiness: the ready flag ({@link Readiness.markReady} / {@link Readiness.markNotReady}),
 * startup gating (startup tasks, and whether startup completed once) and shutting down. The checks are the other
 * half; the registry evaluates them and combines both.
 */
export class Readiness {
  readonly #logger: Logger;
  readonly #secrets: readonly string[];
  readonly #startupTasks = new Map<string, StartupTask>();
  #ready: boolean;
  #notReadyReason = 'not ready';
  #startupComplete = false;
  #shuttingDown = false;

  constructor(options: ReadinessOptions) {
    this.#ready = options.startReady;
    this.#logger = options.logger;
    this.#secrets = options.secrets;
  }

  /** Whether the startup checks and tasks have all passed once (from then on startup passes for good). */
  get startupComplete(): boolean {
    return this.#startupComplete;
  }

  /** Whether shutdown has started; readiness fails from then on. */
  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Why readiness fails by {@link Readiness.markNotReady}, or `undefined` when marked ready. */
  get notReadyReason(): string | undefined {
    return this.#ready ? undefined : this.#notReadyReason;
  }

  /** The service can take traffic. */
  markReady(): void {
    this.#ready = true;
  }

  /** The service cannot take traffic for now, for `reason`. */
  markNotReady(reason = 'not ready'): void {
    this.#ready = false;
    this.#notReadyReason = reason;
  }

  /** Holds startup until `task` settles; a rejected task keeps startup failing. */
  addStartupTask(name: string, task: Promise<unknown>): void {
    if (this.#startupTasks.has(name))
      throw new HealthError('CHECK_DUPLICATE', `a startup task named "${name}" is already registered`);
    this.#startupTasks.set(name, { state: 'pending' });
    task.then(
      () => this.#startupTasks.set(name, { state: 'done' }),
      (error: unknown) => {
        this.#startupTasks.set(name, { state: 'failed' });
        this.#logger.error(
          { task: name, error: safeErrorMessage(error, { secrets: this.#secrets }) },
          'startup task failed',
        );
      },
    );
  }

  /** Why the startup tasks hold startup (the first pending or failed one), or `undefined` when all are done. */
  startupTaskReason(): string | undefined {
    for (const [name, task] of this.#startupTasks) {
      if (task.state === 'pending') return `startup task "${name}" pending`;
      if (task.state === 'failed') return `startup task "${name}" failed`;
    }
    return undefined;
  }

  /** Records that startup passed once. Returns `false` when it already had. */
  completeStartup(): boolean {
    if (this.#startupComplete) return false;
    this.#startupComplete = true;
    return true;
  }

  /** Readiness fails from now on, whatever the flag and the checks say. */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }
}
