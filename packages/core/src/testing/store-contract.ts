/**
 * One running instance of the store under test, as a contract case sees it.
 */
export interface ContractSubject<Store> {
  /** The store, freshly created and empty for this case. */
  store: Store;
  /**
   * Moves the store's time forward by `ms`: a manual clock's `advanceAsync` for in-memory stores, a real sleep
   * for stores whose expiry the server keeps (Redis `PX`, PostgreSQL `now()`). Contract cases use short spans.
   */
  advance(ms: number): Promise<void>;
  /** Frees what `create` took (connections, databases). */
  close?(): Promise<void>;
}

/** One case: throws (e.g. through `node:assert/strict`) when the store breaks the contract. */
export type ContractCase<Store> = (subject: ContractSubject<Store>) => Promise<void>;

/** A named set of cases every implementation of one store interface must pass. */
export interface StoreContract<Store> {
  /** The interface's name, e.g. `'LockStore'`. */
  readonly name: string;
  /** Case name → case. */
  readonly cases: Readonly<Record<string, ContractCase<Store>>>;
}

/** An implementation to run a {@link StoreContract} against. */
export interface ContractImplementation<Store> {
  /** Shown in the test names, e.g. `'redis'`. */
  name: string;
  /** Creates a fresh, empty store for one case. */
  create(): Promise<ContractSubject<Store>> | ContractSubject<Store>;
}

/**
 * The test functions of the runner in use: vitest, jest and `node:test` all fit (`describe`/`it` with an optional
 * timeout as third argument).
 */
export interface ContractTestFunctions {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>, timeoutMs?: number): unknown;
}

/**
 * Declares a store contract once, next to the store interface. Cases are plain async functions, so the contract
 * ships in a package's `./testing` entry without depending on a test runner.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * export const counterStoreContract = defineStoreContract<CounterStore>('CounterStore', {
 *   'starts at zero': async ({ store }) => assert.equal(await store.get('a'), 0),
 *   'increments': async ({ store }) => { await store.increment('a'); assert.equal(await store.get('a'), 1); },
 * });
 * ```
 */
export function defineStoreContract<Store>(
  name: string,
  cases: Record<string, ContractCase<Store>>,
): StoreContract<Store> {
  if (Object.keys(cases).length === 0) throw new Error(`store contract "${name}" has no cases`);
  return Object.freeze({ name, cases: Object.freeze({ ...cases }) });
}

/** Options of {@link runStoreContract}. */
export interface RunStoreContractOptions {
  /** Timeout of one case, passed to `it`. Default 30 000 ms. */
  timeoutMs?: number;
}

/**
 * Registers every case of `contract` as a test against `implementation`, each on a fresh store that is closed
 * afterwards (also when the case fails).
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * runStoreContract(lockStoreContract, { name: 'memory', create: () => memoryLockSubject() }, { describe, it });
 * ```
 */
export function runStoreContract<Store>(
  contract: StoreContract<Store>,
  implementation: ContractImplementation<Store>,
  test: ContractTestFunctions,
  options: RunStoreContractOptions = {},
): void {
  const { timeoutMs = 30_000 } = options;
  test.describe(`${contract.name} contract: ${implementation.name}`, () => {
    for (const [caseName, body] of Object.entries(contract.cases)) {
      test.it(
        caseName,
        async () => {
          const subject = await implementation.create();
          try {
            await body(subject);
          } finally {
            await subject.close?.();
          }
        },
        timeoutMs,
      );
    }
  });
}
