import type { CheckRunner } from './check-runner.js';
import type { CheckTag } from './types.js';

/** The registered checks by name, and the per-endpoint selections the request path reads. */
export class CheckSet {
  readonly #runners = new Map<string, CheckRunner>();
  // Check lists per tag combination, rebuilt only when checks are added or removed.
  readonly #selections = new Map<string, CheckRunner[]>();

  /** Whether a check of that name is registered. */
  has(name: string): boolean {
    return this.#runners.has(name);
  }

  /** The runner of a check, if registered. */
  get(name: string): CheckRunner | undefined {
    return this.#runners.get(name);
  }

  /** Names of the registered checks, in registration order. */
  names(): string[] {
    return [...this.#runners.keys()];
  }

  /** Adds a runner (its name must not be taken). */
  add(runner: CheckRunner): void {
    this.#runners.set(runner.name, runner);
    this.#selections.clear();
  }

  /** Stops and removes a check; returns whether it existed. */
  remove(name: string): boolean {
    this.#runners.get(name)?.stop();
    this.#selections.clear();
    return this.#runners.delete(name);
  }

  /** Stops every poller. */
  stopAll(): void {
    for (const runner of this.#runners.values()) runner.stop();
  }

  /** The checks carrying any of `tags`, in registration order. */
  withTags(...tags: CheckTag[]): readonly CheckRunner[] {
    const key = tags.join(',');
    let selected = this.#selections.get(key);
    if (!selected) {
      selected = [...this.#runners.values()].filter((runner) => runner.tags.some((tag) => tags.includes(tag)));
      this.#selections.set(key, selected);
    }
    return selected;
  }
}
