import { ConfigError, type CheckResult } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { allowBearerToken } from '../http/details-access.js';
import { dockerContainerProbe } from '../probes/docker-container-probe.js';
import { httpProbe } from '../probes/http-probe.js';
import { dnsProbe, tcpProbe, tlsCertificateProbe } from '../probes/network-probes.js';
import { postgresProbe, type PgPoolLike } from '../probes/postgres-probe.js';
import { diskProbe, eventLoopProbe, functionProbe, memoryProbe, thresholdProbe } from '../probes/process-probes.js';
import { defineProbe } from '../probes/probe.js';
import { redisProbe } from '../probes/redis-probe.js';
import { createHealth } from './health.js';
import type { HealthOptions } from './health-options.js';
import type { CheckRegistration } from './types.js';

// Options are validated strictly: a typo names the option and suggests the key, a wrong type says what is expected.
const quiet: HealthOptions = { startReady: true, shutdown: { signals: [] } };
const pass = async (): Promise<CheckResult> => ({ status: 'pass' });
const pool: PgPoolLike = { connect: () => Promise.reject(new Error('not used')) };
const untyped = <T>(value: unknown) => value as T;

function thrown(work: () => unknown): ConfigError {
  try {
    work();
  } catch (error) {
    expect(ConfigError.isInstance(error), String(error)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('createHealth options', () => {
  it('an unknown key throws and suggests the option meant', () => {
    expect(thrown(() => createHealth(untyped({ ...quiet, timout: '100ms' }))).message).toBe(
      'invalid health options: unknown key(s) "timout" (did you mean "timeout"?)',
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, showdetails: () => true }))).message).toContain(
      '(did you mean "showDetails"?)',
    );
    expect(thrown(() => createHealth(untyped({ shutdown: { signals: [], drainDelya: '1s' } }))).message).toBe(
      'invalid health options: shutdown: unknown key(s) "drainDelya" (did you mean "drainDelay"?)',
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, service: { serviceID: 'api' } }))).message).toContain(
      'service: unknown key(s) "serviceID" (did you mean "serviceId"?)',
    );
  });

  it('showDetails, logger, clock, registry and service are checked', () => {
    expect(thrown(() => createHealth(untyped({ ...quiet, showDetails: 'yes' }))).message).toMatch(
      /^invalid health options: showDetails: must be a function \(request\) =>/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, logger: {} }))).message).toMatch(
      /^invalid health options: logger: must be a logger with debug, info, warn and error methods/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, logger: console.log }))).message).toMatch(
      /logger: must be a logger/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, clock: Date }))).message).toMatch(/clock: must be a Clock/);
    expect(thrown(() => createHealth(untyped({ ...quiet, registry: {} }))).message).toMatch(
      /registry: must be a prom-client Registry/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, service: { version: 2 } }))).message).toMatch(
      /service\.version: expected string/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, secrets: 'pw' }))).message).toMatch(/secrets: expected array/);
    expect(thrown(() => createHealth(untyped({ shutdown: { signals: [], exit: 1 } }))).message).toMatch(
      /shutdown\.exit: must be a function/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, timeout: 0 }))).message).toMatch(
      /timeout: must be greater than 0/,
    );
  });

  it('mode: errors name the field; polling faster than every 100ms is refused', () => {
    expect(thrown(() => createHealth({ ...quiet, mode: { every: 0 } })).message).toBe(
      'invalid health options: mode.every: must be at least 100ms (polling faster only loads the dependency; use { ttl } for on-demand checks)',
    );
    expect(thrown(() => createHealth({ ...quiet, mode: { every: '99ms' } })).message).toMatch(
      /mode\.every: must be at least 100ms/,
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, mode: { evry: '1s' } }))).message).toContain(
      'mode: unknown key(s) "evry" (did you mean "every"?)',
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, mode: {} }))).message).toBe(
      'invalid health options: mode: expected { every: Duration } (polled) or { ttl: Duration } (on demand)',
    );
    expect(thrown(() => createHealth(untyped({ ...quiet, mode: { every: '1s', ttl: '1s' } }))).message).toBe(
      'invalid health options: mode: give either every (polled) or ttl (on demand), not both',
    );
    expect(thrown(() => createHealth({ ...quiet, mode: { ttl: 'soon' } })).message).toMatch(
      /^invalid health options: mode\.ttl: invalid duration "soon"/,
    );
    expect(() => createHealth({ ...quiet, mode: { every: '100ms' } }).close()).not.toThrow();
    expect(() => createHealth({ ...quiet, mode: { ttl: 0 } }).close()).not.toThrow();
  });
});

describe('register options', () => {
  it('an unknown key throws (the default timeout no longer applies silently) and suggests the key', () => {
    const health = createHealth(quiet);
    expect(
      thrown(() => health.register(untyped<CheckRegistration>({ name: 'db', check: pass, timout: '100ms' }))).message,
    ).toBe('invalid check registration "db": unknown key(s) "timout" (did you mean "timeout"?)');
    expect(
      thrown(() => health.register(untyped<CheckRegistration>({ name: 'db', check: pass, failafter: 3 }))).message,
    ).toContain('(did you mean "failAfter"?)');
    expect(
      thrown(() => health.register(untyped<CheckRegistration>({ name: 'db', check: pass, mode: { evry: '5s' } })))
        .message,
    ).toContain('mode: unknown key(s) "evry" (did you mean "every"?)');
    expect(thrown(() => health.register({ name: 'db', check: pass, mode: { every: 0 } })).message).toMatch(
      /mode\.every: must be at least 100ms/,
    );
    expect(
      thrown(() => health.register(untyped<CheckRegistration>({ name: 'db', check: pass, secrets: ['ok', 3] })))
        .message,
    ).toMatch(/secrets\[1\]: expected string/);
    expect(
      thrown(() => health.register(untyped<CheckRegistration>({ name: 'db', check: pass, componentId: 42 }))).message,
    ).toMatch(/componentId: expected string/);
    expect(health.checkNames()).toEqual([]);
    health.close();
  });
});

describe('probe options', () => {
  it('httpProbe: a malformed URL is refused at construction, without echoing credentials', () => {
    expect(thrown(() => httpProbe({ url: 'not a url' })).message).toBe(
      'invalid httpProbe options: url: must be an absolute http or https URL',
    );
    const withCredentials = thrown(() => httpProbe({ url: 'http//admin:hunter2@api.internal/health' }));
    expect(withCredentials.message).toMatch(/url: must be an absolute http or https URL/);
    expect(withCredentials.message).not.toContain('hunter2');
    expect(thrown(() => httpProbe({ url: 'ftp://files.internal/' })).message).toMatch(
      /url: must be an absolute http or https URL/,
    );
    expect(thrown(() => httpProbe(untyped({ url: 'http://a/', expectStatuses: [200] }))).message).toContain(
      '(did you mean "expectStatus"?)',
    );
    expect(thrown(() => httpProbe(untyped({ url: 'http://a/', method: 'DELETE' }))).message).toMatch(
      /method: expected one of/,
    );
    expect(thrown(() => httpProbe({ url: 'http://a/', maxBodyBytes: -1 })).message).toMatch(
      /maxBodyBytes: expected integer >= 1/,
    );
    expect(httpProbe({ url: new URL('https://api.internal/health') }).kind).toBe('dependency');
  });

  it('redisProbe({}) names the missing client instead of a bare TypeError', () => {
    expect(thrown(() => redisProbe(untyped({}))).message).toBe(
      "invalid redisProbe options: redis: must be the application's ioredis client (with ping() and info())",
    );
    expect(
      thrown(() =>
        redisProbe(untyped({ redis: { ping: async () => 'PONG', info: async () => '' }, memoryWarnRatio: 2 })),
      ).message,
    ).toMatch(/memoryWarnRatio: expected number <= 1/);
    expect(
      thrown(() => redisProbe(untyped({ redis: { ping: async () => 'PONG', info: async () => '' }, replica: true })))
        .message,
    ).toContain('(did you mean "replication"?)');
  });

  it('postgresProbe: statementTimeout errors name the option', () => {
    expect(thrown(() => postgresProbe({ pool, statementTimeout: '5mins' })).message).toMatch(
      /^invalid postgresProbe options: statementTimeout: invalid duration "5mins"/,
    );
    expect(thrown(() => postgresProbe({ pool, deep: { longRunningQuery: 'long' } })).message).toMatch(
      /deep\.longRunningQuery: invalid duration "long"/,
    );
    expect(thrown(() => postgresProbe(untyped({ pool, deep: { connectionWarnRatio: 0.5 } }))).message).toContain(
      '(did you mean "connectionsWarnRatio"?)',
    );
    expect(thrown(() => postgresProbe(untyped({ pool: {} }))).message).toMatch(/pool: must be a pg Pool/);
    expect(() => postgresProbe({})).toThrow(/pass `pool` or `client`/);
  });

  it('the other factories refuse unknown keys and wrong types', () => {
    expect(thrown(() => tcpProbe(untyped({ host: 'db', port: 'x' }))).message).toMatch(
      /^invalid tcpProbe options: port: expected integer/,
    );
    expect(thrown(() => tcpProbe({ host: 'db', port: 70_000 })).message).toMatch(/port: expected integer <= 65535/);
    expect(thrown(() => dnsProbe(untyped({ hostname: 'db', mode: 'query' }))).message).toMatch(
      /^invalid dnsProbe options: mode: expected one of "lookup", "resolve"/,
    );
    expect(thrown(() => tlsCertificateProbe(untyped({ host: 'api', warndays: 10 }))).message).toContain(
      '(did you mean "warnDays"?)',
    );
    expect(thrown(() => diskProbe({ path: '/', warnRatio: 80 })).message).toMatch(
      /^invalid diskProbe options: warnRatio: expected number <= 1/,
    );
    expect(thrown(() => memoryProbe(untyped({ maxRss: 1 }))).message).toContain('(did you mean "maxRssBytes"?)');
    expect(thrown(() => eventLoopProbe(untyped({ warnDelay: 100 }))).message).toContain(
      '(did you mean "warnDelayMs"?)',
    );
    expect(thrown(() => thresholdProbe(untyped({ signal: 5 }))).message).toMatch(
      /^invalid thresholdProbe options: signal: must be a core Signal/,
    );
    expect(thrown(() => dockerContainerProbe(untyped({ docker: {}, container: 'web' }))).message).toMatch(
      /^invalid dockerContainerProbe options: docker: must be a dockerode client/,
    );
    expect(thrown(() => functionProbe(pass, untyped({ kind: 'remote' }))).message).toMatch(
      /^invalid functionProbe options: kind: expected one of "local", "dependency"/,
    );
    expect(thrown(() => functionProbe(untyped('nope'))).message).toMatch(
      /^invalid functionProbe options: work: must be a function/,
    );
    expect(
      thrown(() => defineProbe(pass, untyped({ kind: 'local', componentType: 'system', measurment: 'x' }))).message,
    ).toContain('(did you mean "measurement"?)');
  });

  it('allowBearerToken refuses a missing or empty token (an unset environment variable)', () => {
    expect(() => allowBearerToken(untyped<string>(undefined))).toThrow(
      'allowBearerToken: token must be a non-empty string',
    );
    expect(() => allowBearerToken('')).toThrow('allowBearerToken: token must be a non-empty string');
    expect(
      allowBearerToken('s3cret')({
        method: 'GET',
        path: '/',
        query: new URLSearchParams(),
        headers: { authorization: 'Bearer s3cret' },
      }),
    ).toBe(true);
  });

  it('onShutdown names a bad timeout', () => {
    const health = createHealth(quiet);
    expect(() => health.onShutdown('pool', () => undefined, { timeout: '5mins' })).toThrow(
      /^onShutdown "pool": timeout: invalid duration "5mins"/,
    );
    health.close();
  });
});
