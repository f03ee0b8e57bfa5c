import {
  ConfigError,
  durationSchema,
  parseDuration,
  parseWithSchema,
  silentLogger,
  systemClock,
  type CheckStatus,
  type Clock,
  type Duration,
  type Logger,
  type RegistryLike,
} from '@ops/core';
import { z } from 'zod';
import type { DetailsPredicate } from '../http/details-access.js';
import type { ServiceDescription } from '../http/health-json.js';
import type { ShutdownTimings } from '../lifecycle/graceful-shutdown.js';
import type { SignalSource } from '../lifecycle/signal-listeners.js';
import { CHECK_STATUSES, type StatusOrder } from './aggregate.js';
import { checkModeSchema, parseCheckMode, type ParsedCheckMode } from './check-registration.js';
import { guardLogger } from './guarded-logger.js';
import { functionSchema, objectWithMethods, positiveDurationSchema } from '../validation/option-schemas.js';
import type { CheckMode } from './types.js';

/** Graceful shutdown settings. */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown. Default `['SIGTERM', 'SIGINT']`; `[]` installs no listener. */
  signals?: readonly string[];
  /** Where signals are listened for. Default `process`. */
  signalSource?: SignalSource;
  /** Wait after readiness flipped to fail, before the listeners close (load balancers notice). Default `'5s'`. */
  drainDelay?: Duration;
  /** How long in-flight requests and beacons may take after the listeners closed. Default `'10s'`. */
  inFlightTimeout?: Duration;
  /** Limit of each cleanup hook. Default `'5s'`. */
  hookTimeout?: Duration;
  /** Hard deadline from the start of shutdown; then `exit(1)` whatever is still running. Default `'30s'`. */
  forceExitAfter?: Duration;
  /** Ends the process. Default `process.exit`. Pass a function that records the code in tests. */
  exit?: (code: number) => void;
}

/** Options of {@link createHealth}. */
export interface HealthOptions {
  /** Default deadline of a check run; keep it below the probe's `timeoutSeconds` (1 s in Kubernetes). Default `'900ms'`. */
  timeout?: Duration;
  /** Default evaluation mode of checks. Default `{ ttl: '1s' }`. */
  mode?: CheckMode;
  /** Path prefix of the endpoints. Default `'/health'` (`/health/live`, `/health/ready`, `/health/startup`, `/health/<check>`). */
  basePath?: string;
  /** Who may see check details (outputs, observed values, timings). Default: nobody. */
  showDetails?: DetailsPredicate;
  /** HTTP status per aggregated status. Default `{ pass: 200, warn: 200, fail: 503 }`. */
  statusCodes?: Partial<Record<CheckStatus, number>>;
  /** Aggregation order, worst first. Default: the worst status wins (core's `worstStatus`: `fail`, `warn`, `pass`). */
  statusOrder?: StatusOrder;
  /** Readiness is `fail` until {@link Health.markReady} is called, unless this is `true`. Default `false`. */
  startReady?: boolean;
  /** Top-level `serviceId`, `version`, `releaseId`, `description` of responses. */
  service?: ServiceDescription;
  /** Secrets removed verbatim from every result and error message (e.g. database passwords). */
  secrets?: readonly string[];
  /** prom-client `Registry` to register `ops_health_*` metrics on (typed structurally: prom-client stays optional). */
  registry?: RegistryLike;
  /** Graceful shutdown settings. */
  shutdown?: ShutdownOptions;
  /** Clock for deadlines, caches, polling and shutdown timers. Default `systemClock`. */
  clock?: Clock;
  /** Logger (pino-compatible). Logs status changes only, never every failed run. Default: silent. */
  logger?: Logger;
}

/** {@link HealthOptions} validated, with every default applied and every duration in milliseconds. */
export interface ResolvedHealthOptions {
  defaultTimeoutMs: number;
  defaultMode: ParsedCheckMode;
  basePath: string;
  showDetails: DetailsPredicate | undefined;
  statusCodes: Record<CheckStatus, number>;
  /** `undefined`: the worst status wins (core's ranking). */
  statusOrder: StatusOrder | undefined;
  startReady: boolean;
  service: ServiceDescription;
  secrets: readonly string[];
  registry: RegistryLike | undefined;
  clock: Clock;
  logger: Logger;
  shutdown: ResolvedShutdownOptions;
}

/** {@link ShutdownOptions} with every default applied. */
export interface ResolvedShutdownOptions {
  signals: readonly string[];
  signalSource: SignalSource;
  exit: (code: number) => void;
  timings: ShutdownTimings;
}

const statusCodeSchema = z.number().int().min(200).max(599).optional();

// Strict: an unknown key (`timout`) is refused with a "did you mean" suggestion instead of being ignored.
const optionsSchema = z.strictObject({
  timeout: positiveDurationSchema.optional(),
  mode: checkModeSchema.optional(),
  basePath: z
    .string()
    .regex(/^\/[^?#]*$/, 'must start with "/"')
    .optional(),
  showDetails: functionSchema<DetailsPredicate>(
    'a function (request) => boolean | Promise<boolean>, e.g. allowBearerToken(token) or allowLoopback()',
  ).optional(),
  statusCodes: z.strictObject({ pass: statusCodeSchema, warn: statusCodeSchema, fail: statusCodeSchema }).optional(),
  statusOrder: z.array(z.enum(CHECK_STATUSES)).min(1).optional(),
  startReady: z.boolean().optional(),
  service: z
    .strictObject({
      version: z.string().optional(),
      releaseId: z.string().optional(),
      serviceId: z.string().optional(),
      description: z.string().optional(),
    })
    .optional(),
  secrets: z.array(z.string()).optional(),
  registry: objectWithMethods<RegistryLike>(['registerMetric', 'getSingleMetric'], 'a prom-client Registry').optional(),
  shutdown: z
    .strictObject({
      signals: z.array(z.string()).optional(),
      signalSource: objectWithMethods<SignalSource>(
        ['on', 'off'],
        'an event source with on(signal, listener) and off(signal, listener), e.g. process',
      ).optional(),
      drainDelay: durationSchema.optional(),
      inFlightTimeout: durationSchema.optional(),
      hookTimeout: durationSchema.optional(),
      forceExitAfter: durationSchema.optional(),
      exit: functionSchema<(code: number) => void>('a function (code) => void').optional(),
    })
    .optional(),
  clock: objectWithMethods<Clock>(
    ['now', 'monotonic', 'setTimeout'],
    'a Clock (now, monotonic, setTimeout, …): systemClock or a manual clock',
  ).optional(),
  logger: objectWithMethods<Logger>(
    ['debug', 'info', 'warn', 'error'],
    'a logger with debug, info, warn and error methods (pino-compatible)',
  ).optional(),
});

/** Validates the options of {@link createHealth} and applies the defaults, in this one place. */
export function resolveHealthOptions(options: HealthOptions): ResolvedHealthOptions {
  parseWithSchema(optionsSchema, options, 'health options');
  const {
    timeout = '900ms',
    mode = { ttl: '1s' },
    basePath = '/health',
    showDetails,
    statusCodes = {},
    statusOrder,
    startReady = false,
    service = {},
    secrets = [],
    registry,
    shutdown = {},
    clock = systemClock,
    logger = silentLogger,
  } = options;
  const { pass = 200, warn = 200, fail = 503 } = statusCodes;
  return {
    defaultTimeoutMs: parseDuration(timeout),
    defaultMode: parseCheckMode(mode),
    basePath,
    showDetails,
    statusCodes: { pass, warn, fail },
    statusOrder,
    startReady,
    service,
    secrets,
    registry,
    clock,
    // Every line the health writes goes through this: `secrets` applied, a throwing logger ignored.
    logger: guardLogger(logger, secrets),
    shutdown: resolveShutdownOptions(shutdown),
  };
}

function resolveShutdownOptions(options: ShutdownOptions): ResolvedShutdownOptions {
  const {
    signals = ['SIGTERM', 'SIGINT'],
    signalSource = process,
    drainDelay = '5s',
    inFlightTimeout = '10s',
    hookTimeout = '5s',
    forceExitAfter = '30s',
    exit = (code: number) => process.exit(code),
  } = options;
  const timings: ShutdownTimings = {
    drainDelayMs: parseDuration(drainDelay),
    inFlightTimeoutMs: parseDuration(inFlightTimeout),
    hookTimeoutMs: parseDuration(hookTimeout),
    forceExitAfterMs: parseDuration(forceExitAfter),
  };
  const drainLimitMs = timings.drainDelayMs + timings.inFlightTimeoutMs;
  if (timings.forceExitAfterMs <= drainLimitMs) {
    throw new ConfigError(
      `invalid health options: shutdown.forceExitAfter (${timings.forceExitAfterMs}ms) must be greater than drainDelay + inFlightTimeout (${drainLimitMs}ms)`,
      [{ path: 'shutdown.forceExitAfter', message: 'must be greater than drainDelay + inFlightTimeout' }],
    );
  }
  return { signals, signalSource, exit, timings };
}
