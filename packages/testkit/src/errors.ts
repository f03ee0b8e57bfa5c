/**
 * Why a fixture could not give a test its service.
 *
 * - `SERVICE_UNAVAILABLE`: nothing answered and nothing could be started; the message says what to install or start.
 * - `SERVICE_FAILED`: a server was found or started but misbehaved (bad exit status, not ready in time).
 * - `FIXTURE_DISPOSED`: the fixture was used after `dispose()`.
 */
export type TestkitErrorCode = 'SERVICE_UNAVAILABLE' | 'SERVICE_FAILED' | 'FIXTURE_DISPOSED';

/**
 * Error thrown by every `@ops/testkit` fixture.
 *
 * `@ops/core`'s own integration tests use this package, so it cannot depend on `@ops/core` and defines its own
 * small error type with the same shape (`code`, `cause`).
 *
 * @example
 * ```ts
 * try { await createPostgresDatabase() } catch (error) {
 *   if (error instanceof TestkitError && error.code === 'SERVICE_UNAVAILABLE') console.error(error.message);
 *   throw error;
 * }
 * ```
 */
export class TestkitError extends Error {
  /** Stable machine-readable discriminator. */
  readonly code: TestkitErrorCode;

  constructor(code: TestkitErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TestkitError';
    this.code = code;
  }
}
