import { timingSafeEqual } from 'node:crypto';
import type { OpsRequest } from '@ops/core';
import { HealthError } from '../errors.js';

/** Decides per request whether check details (outputs, observed values, timings) may be shown. */
export type DetailsPredicate = (request: OpsRequest) => boolean | Promise<boolean>;

/**
 * Allows details for requests carrying `Authorization: Bearer <token>` (compared in constant time). Throws
 * `HealthError` (`ARGUMENT_INVALID`) for a missing or empty token.
 *
 * @example
 * ```ts
 * createHealth({ showDetails: allowBearerToken(process.env.HEALTH_TOKEN!) });
 * ```
 */
export function allowBearerToken(token: string): DetailsPredicate {
  // An unset environment variable must not become the accepted token "undefined".
  if (typeof token !== 'string' || token === '')
    throw new HealthError(
      'ARGUMENT_INVALID',
      'allowBearerToken: token must be a non-empty string (read it from a secret such as an environment variable; it has no default)',
    );
  const expected = Buffer.from(`Bearer ${token}`);
  return (request) => {
    const given = Buffer.from(request.headers['authorization'] ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

/** Allows details for requests from the loopback interface only (127.0.0.0/8, ::1). */
export function allowLoopback(): DetailsPredicate {
  return (request) => {
    const address = request.remoteAddress ?? '';
    return address === '::1' || /^(::ffff:)?127\./.test(address);
  };
}
