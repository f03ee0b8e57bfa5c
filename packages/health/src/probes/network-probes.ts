import { Resolver, lookup } from 'node:dns/promises';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { systemClock, type CheckResult, type Clock } from '@ops/core';
import { z } from 'zod';
import { HealthError } from '../errors.js';
import type { Probe } from '../registry/types.js';
import { objectWithMethods, parseOptions } from '../validation/option-schemas.js';
import { defineProbe, elapsedSince, OutstandingCalls, raceAbort, stillPending } from './probe.js';

/** Options of {@link tcpProbe}. */
export interface TcpProbeOptions {
  host: string;
  port: number;
}

const hostSchema = z.string().min(1);
const portSchema = z.number().int().min(1).max(65535);
const tcpOptionsSchema = z.strictObject({ host: hostSchema, port: portSchema });
const dnsOptionsSchema = z.strictObject({
  hostname: hostSchema,
  mode: z.enum(['lookup', 'resolve']).optional(),
  recordType: z.enum(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'NS']).optional(),
  servers: z.array(z.string().min(1)).optional(),
  lookup: z.function().optional(),
});
const tlsOptionsSchema = z.strictObject({
  host: hostSchema,
  port: portSchema.optional(),
  servername: z.string().min(1).optional(),
  warnDays: z.number().min(0).optional(),
  failDays: z.number().min(0).optional(),
  tls: z.looseObject({ rejectUnauthorized: z.boolean().optional() }).optional(),
  clock: objectWithMethods<Clock>(['now'], 'a Clock (systemClock or a manual clock)').optional(),
});

/**
 * TCP connect probe: passes when a connection to `host:port` opens; the socket is closed right away and destroyed
 * when the deadline aborts.
 *
 * @example
 * ```ts
 * health.register({ name: 'smtp', check: tcpProbe({ host: 'mail.internal', port: 25 }), critical: false });
 * ```
 */
export function tcpProbe(options: TcpProbeOptions): Probe {
  parseOptions(tcpOptionsSchema, options, 'tcpProbe');
  const { host, port } = options;
  const run = (signal: AbortSignal): Promise<CheckResult> =>
    new Promise<CheckResult>((resolve, reject) => {
      const startedAt = performance.now();
      const socket = connectTcp({ host, port });
      const onAbort = () => {
        socket.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.end();
        socket.destroy();
        resolve({ status: 'pass', observed: elapsedSince(startedAt), observedUnit: 'ms' });
      });
      socket.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(error);
      });
    });
  return defineProbe(run, { kind: 'dependency', componentType: 'component', measurement: 'responseTime' });
}

/** Options of {@link dnsProbe}. */
export interface DnsProbeOptions {
  hostname: string;
  /** `'lookup'` (the system resolver, as connections do) or `'resolve'` (DNS queries). Default `'lookup'`. */
  mode?: 'lookup' | 'resolve';
  /** Record type in `resolve` mode. Default `'A'`. */
  recordType?: 'A' | 'AAAA' | 'CNAME' | 'MX' | 'TXT' | 'SRV' | 'NS';
  /** DNS servers in `resolve` mode (e.g. `['10.0.0.2']`). Default: the system's. */
  servers?: readonly string[];
  /**
   * The lookup `lookup` mode calls, when the service resolves through its own (a caching resolver such as
   * cacheable-lookup's `lookupAsync`); it resolves to the list of addresses. Default: `dns.promises.lookup` with
   * `{ all: true }` (getaddrinfo on libuv's thread pool).
   */
  lookup?: (hostname: string) => Promise<readonly unknown[]>;
}

/**
 * DNS probe: resolves `hostname` and passes when it yields at least one answer. In `resolve` mode the query is
 * cancelled when the deadline aborts. A `lookup` (getaddrinfo) cannot be cancelled, so while an earlier one has not
 * returned the probe fails at once with "still pending" instead of starting another: a hung resolver never fills
 * libuv's thread pool, which file I/O, zlib and crypto share.
 *
 * @example
 * ```ts
 * health.register({ name: 'dns', check: dnsProbe({ hostname: 'db.internal' }) });
 * ```
 */
export function dnsProbe(options: DnsProbeOptions): Probe {
  parseOptions(dnsOptionsSchema, options, 'dnsProbe');
  const { hostname, mode = 'lookup', recordType = 'A', servers } = options;
  const outstanding = new OutstandingCalls();
  const systemLookup = options.lookup ?? ((name: string) => lookup(name, { all: true }));
  const run = async (signal: AbortSignal): Promise<CheckResult> => {
    let answers: unknown[];
    if (mode === 'lookup' && outstanding.busy)
      // getaddrinfo runs on libuv's thread pool (4 threads shared with fs, zlib and crypto) and cannot be cancelled:
      // starting one per check while the resolver hangs would fill the pool.
      return stillPending(`the previous lookup of ${hostname} has not returned; no new lookup started`);
    const startedAt = performance.now();
    if (mode === 'lookup') {
      answers = [...(await raceAbort(outstanding.track(systemLookup(hostname)), signal))];
    } else {
      const resolver = new Resolver({ tries: 1 });
      if (servers) resolver.setServers([...servers]);
      const onAbort = () => resolver.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        answers = (await raceAbort(resolver.resolve(hostname, recordType) as Promise<unknown[]>, signal)) ?? [];
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    const observed = elapsedSince(startedAt);
    if (answers.length === 0)
      return {
        status: 'fail',
        output: `${hostname}: no ${mode === 'lookup' ? 'address' : recordType} answer`,
        observed,
        observedUnit: 'ms',
      };
    return { status: 'pass', observed, observedUnit: 'ms', details: { answers: answers.length } };
  };
  return defineProbe(run, { kind: 'dependency', componentType: 'component', measurement: 'responseTime' });
}

/** Options of {@link tlsCertificateProbe}. */
export interface TlsCertificateProbeOptions {
  host: string;
  /** Default 443. */
  port?: number;
  /** SNI name. Default: `host` unless it is an IP address. */
  servername?: string;
  /** Warn when fewer days than this remain. Default 30. */
  warnDays?: number;
  /** Fail when fewer days than this remain. Default 7. */
  failDays?: number;
  /** Extra TLS settings (e.g. `ca` for a private CA). An untrusted chain fails the probe unless `rejectUnauthorized: false`. */
  tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
  /** Clock for "now". Default `systemClock`. */
  clock?: Clock;
}

/**
 * TLS certificate probe: connects, reads the peer certificate and reports the days until it expires
 * (`observedValue` in `days`); warns under `warnDays`, fails under `failDays` or when expired.
 *
 * @example
 * ```ts
 * health.register({ name: 'api-cert', check: tlsCertificateProbe({ host: 'api.example.com', warnDays: 21 }), mode: { every: '1h' }, critical: false });
 * ```
 */
export function tlsCertificateProbe(options: TlsCertificateProbeOptions): Probe {
  parseOptions(tlsOptionsSchema, options, 'tlsCertificateProbe');
  const { host, port = 443, warnDays = 30, failDays = 7, tls = {}, clock = systemClock } = options;
  const servername = options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
  const run = (signal: AbortSignal): Promise<CheckResult> =>
    new Promise<CheckResult>((resolve, reject) => {
      const socket = connectTls({ host, port, ...(servername === undefined ? {} : { servername }), ...tls });
      const onAbort = () => {
        socket.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort);
        const certificate = socket.getPeerCertificate();
        socket.end();
        socket.destroy();
        if (!certificate || !certificate.valid_to) {
          reject(new HealthError('CHECK_FAILED', `${host}:${port} presented no certificate`));
          return;
        }
        const expiresAt = Date.parse(certificate.valid_to);
        const days = Math.floor(((expiresAt - clock.now()) / 86_400_000) * 10) / 10;
        const details = { validTo: new Date(expiresAt).toISOString(), subject: certificate.subject?.CN ?? null };
        if (days < failDays)
          resolve({
            status: 'fail',
            output: days < 0 ? `certificate expired ${-days} days ago` : `certificate expires in ${days} days`,
            observed: days,
            observedUnit: 'days',
            details,
          });
        else if (days < warnDays)
          resolve({
            status: 'warn',
            output: `certificate expires in ${days} days`,
            observed: days,
            observedUnit: 'days',
            details,
          });
        else resolve({ status: 'pass', observed: days, observedUnit: 'days', details });
      });
      socket.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(error);
      });
    });
  return defineProbe(run, { kind: 'dependency', componentType: 'component', measurement: 'certificateDaysLeft' });
}
