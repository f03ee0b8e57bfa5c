import { seededRandom } from '@ops/core';
import { CapacityError } from '../errors.js';
import { nelderMead } from './nelder-mead.js';
import { olsTrend } from './trend.js';

/** Trend component: none, additive (`ℓ + h·b`) or multiplicative (`ℓ·b^h`, Holt's "exponential"). */
export type TrendType = 'none' | 'additive' | 'multiplicative';
/** Seasonal component: none, additive (`+ s`) or multiplicative (`× s`, indices are ratios: 1.5 = 150% of baseline). */
export type SeasonalType = 'none' | 'additive' | 'multiplicative';

/**
 * How the initial states are obtained, as in statsmodels' `initialization_method`:
 * - `'estimated'`: optimised together with the smoothing parameters (statsmodels' default);
 * - `'heuristic'`: from a moving-average decomposition of the first seasons and a regression on the first points
 *   (Hyndman et al. 2008);
 * - `'simple'` (alias `'legacy-heuristic'`): ℓ₀ = mean of the first season (or y₁), b₀ = mean per-step change
 *   between the first two seasons (or y₂ − y₁), s = first season − ℓ₀ (or ÷ ℓ₀);
 * - `'known'`: given in `fixed`;
 * - `'auto'` (default): `'estimated'` when there are at most 30 initial states, else `'heuristic'` (a season of
 *   1,440 minutes would be 1,442 free parameters).
 */
export type Initialization = 'estimated' | 'heuristic' | 'simple' | 'legacy-heuristic' | 'known' | 'auto';

/** Parameters and initial states of a Holt-Winters model. */
export interface HoltWintersParams {
  /** Level smoothing (statsmodels `smoothing_level`). */
  alpha: number;
  /** Trend smoothing (`smoothing_trend`); 0 without trend. */
  beta: number;
  /** Seasonal smoothing (`smoothing_seasonal`); 0 without season. */
  gamma: number;
  /** Damping (`damping_trend`); 1 when not damped. */
  phi: number;
  initialLevel: number;
  /** 0 (additive) or 1 (multiplicative) without trend. */
  initialTrend: number;
  /** The `m` seasonal states before the first observation, oldest first; empty without season. */
  initialSeasons: number[];
}

/** Options of {@link fitHoltWinters}. */
export interface HoltWintersOptions {
  trend?: TrendType;
  /** Damped trend (φ in [0.8, 0.98] when estimated, as forecast::ets). Needs a trend. */
  damped?: boolean;
  seasonal?: SeasonalType;
  /** Season length m in samples (24 for hourly data with a daily cycle, 1,440 for minutes). */
  seasonLength?: number;
  /** Default `'auto'`. */
  initialization?: Initialization;
  /** Parameters held fixed (statsmodels `fix_params`, or `fit(smoothing_level=…)`); the rest is estimated. */
  fixed?: Partial<HoltWintersParams>;
  /**
   * Start values for the optimiser (statsmodels `start_params`): skips the grid search for the smoothing parameters
   * given, and starts the estimated initial states from the given ones.
   */
  start?: Partial<HoltWintersParams>;
  /** `false` estimates nothing: every smoothing parameter must be in `fixed`. Default true. */
  optimized?: boolean;
  /** Objective evaluations allowed to the optimiser. Default 4,000. */
  maxEvaluations?: number;
}

/** Options of {@link HoltWintersModel.forecastInterval}. */
export interface IntervalOptions {
  /** Coverage, e.g. 0.95 (default) or 0.8. */
  level?: number;
  /** Number of simulated paths. Default 1,000. */
  paths?: number;
  /** Seed of the simulation. Default 1. */
  seed?: number;
  /**
   * `'simulation'` (default for Holt-Winters): future paths that resample the one-step residuals. `'empirical'`:
   * for each horizon h, the quantiles of the model's own in-sample h-step errors (forecasting from every past origin
   * with the fitted states) — it keeps mean reversion and fat tails that a random walk of residuals overstates at
   * long horizons. Needs at least 30 origins per h; beyond that the widest measured errors are scaled by √h.
   */
  method?: 'simulation' | 'empirical';
}

/** A forecast with a prediction band. */
export interface ForecastBand {
  mean: number[];
  lower: number[];
  upper: number[];
  level: number;
}

/** A fitted Holt-Winters model. */
export interface HoltWintersModel {
  readonly trend: TrendType;
  readonly damped: boolean;
  readonly seasonal: SeasonalType;
  readonly seasonLength: number;
  readonly initialization: Exclude<Initialization, 'auto' | 'legacy-heuristic'>;
  readonly params: HoltWintersParams;
  /** Sum of squared one-step errors. */
  readonly sse: number;
  readonly nobs: number;
  /** Number of estimated parameters (smoothing, damping and estimated initial states). */
  readonly k: number;
  /** `n·ln(SSE/n) + 2k` (statsmodels). */
  readonly aic: number;
  /** AIC + 2(k+2)(k+3)/(n−k−3) (statsmodels' small-sample correction); +∞ when n−k−3 ≤ 0. */
  readonly aicc: number;
  readonly bic: number;
  /** Level after each observation. */
  readonly levels: Float64Array;
  /** Trend after each observation. */
  readonly trends: Float64Array;
  /** Seasonal state after each observation (the state updated by it). */
  readonly seasons: Float64Array;
  /** One-step-ahead fitted values ŷ(t|t−1). */
  readonly fitted: Float64Array;
  /** y − fitted. */
  readonly residuals: Float64Array;
  /** Point forecasts for the next `horizon` steps. */
  forecast(horizon: number): number[];
  /** Point forecasts with a band from simulated paths (bootstrapped one-step residuals, seeded). */
  forecastInterval(horizon: number, options?: IntervalOptions): ForecastBand;
  /** Simulated future paths (rows), resampling the in-sample residuals. */
  simulate(horizon: number, options?: { paths?: number; seed?: number }): Float64Array[];
}

/** statsmodels' `LOWER_BOUND = sqrt(eps)`: α stays inside (ε, 1 − ε). */
const LOWER_BOUND = Math.sqrt(Number.EPSILON);
const PHI_BOUNDS = [0.8, 0.98] as const;

interface Spec {
  trend: TrendType;
  damped: boolean;
  seasonal: SeasonalType;
  m: number;
}

/** Runs the recursions; returns the SSE and fills the state arrays when given. */
function smooth(
  y: ArrayLike<number>,
  spec: Spec,
  params: HoltWintersParams,
  out?: {
    levels: Float64Array;
    trends: Float64Array;
    seasons: Float64Array;
    fitted: Float64Array;
    last: { level: number; trend: number; seasons: Float64Array };
  },
): number {
  const n = y.length;
  const { alpha, beta, gamma } = params;
  const phi = spec.damped ? params.phi : 1;
  const m = spec.seasonal === 'none' ? 0 : spec.m;
  const addTrend = spec.trend === 'additive';
  const mulTrend = spec.trend === 'multiplicative';
  const addSeason = spec.seasonal === 'additive';
  const mulSeason = spec.seasonal === 'multiplicative';
  const ring = new Float64Array(Math.max(1, m));
  for (let index = 0; index < m; index++) ring[index] = params.initialSeasons[index] as number;
  let level = params.initialLevel;
  let trend = spec.trend === 'none' ? (mulTrend ? 1 : 0) : params.initialTrend;
  let sse = 0;
  let slot = 0;
  for (let t = 0; t < n; t++) {
    const observation = y[t] as number;
    let base: number;
    if (addTrend) base = level + phi * trend;
    else if (mulTrend) base = level * (phi === 1 ? trend : Math.pow(trend, phi));
    else base = level;
    const season = m > 0 ? (ring[slot] as number) : 0;
    const forecast = addSeason ? base + season : mulSeason ? base * season : base;
    const error = observation - forecast;
    sse += error * error;
    const previousLevel = level;
    if (addSeason) level = alpha * (observation - season) + (1 - alpha) * base;
    else if (mulSeason) level = alpha * (observation / season) + (1 - alpha) * base;
    else level = alpha * observation + (1 - alpha) * base;
    if (addTrend) trend = beta * (level - previousLevel) + (1 - beta) * phi * trend;
    else if (mulTrend) trend = beta * (level / previousLevel) + (1 - beta) * (phi === 1 ? trend : Math.pow(trend, phi));
    if (addSeason) ring[slot] = gamma * (observation - base) + (1 - gamma) * season;
    else if (mulSeason) ring[slot] = gamma * (observation / base) + (1 - gamma) * season;
    if (out) {
      out.fitted[t] = forecast;
      out.levels[t] = level;
      out.trends[t] = trend;
      out.seasons[t] = m > 0 ? (ring[slot] as number) : 0;
    }
    // The seasonal slot advances with t (t mod m without a division per step).
    if (++slot === m) slot = 0;
  }
  if (out) {
    out.last.level = level;
    out.last.trend = trend;
    // Rotate so index 0 is the season of the next observation.
    for (let index = 0; index < m; index++) out.last.seasons[index] = ring[(n + index) % m] as number;
  }
  return Number.isFinite(sse) ? sse : Number.POSITIVE_INFINITY;
}

function mean(values: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let index = from; index < to; index++) sum += values[index] as number;
  return sum / (to - from);
}

/** statsmodels' simple (legacy-heuristic) initial states. */
function simpleInitialStates(
  y: ArrayLike<number>,
  spec: Spec,
): Pick<HoltWintersParams, 'initialLevel' | 'initialTrend' | 'initialSeasons'> {
  const { m } = spec;
  if (spec.seasonal === 'none') {
    const initialLevel = y[0] as number;
    const initialTrend =
      spec.trend === 'additive'
        ? (y[1] as number) - (y[0] as number)
        : spec.trend === 'multiplicative'
          ? (y[1] as number) / (y[0] as number)
          : 0;
    return { initialLevel, initialTrend, initialSeasons: [] };
  }
  const initialLevel = mean(y, 0, m);
  let initialTrend = spec.trend === 'multiplicative' ? 1 : 0;
  if (spec.trend !== 'none') {
    const second = mean(y, m, 2 * m);
    initialTrend = spec.trend === 'additive' ? (second - initialLevel) / m : Math.pow(second / initialLevel, 1 / m);
  }
  const initialSeasons: number[] = [];
  for (let index = 0; index < m; index++)
    initialSeasons.push(
      spec.seasonal === 'additive' ? (y[index] as number) - initialLevel : (y[index] as number) / initialLevel,
    );
  return { initialLevel, initialTrend, initialSeasons };
}

/**
 * Heuristic initial states (after Hyndman et al. 2008, §2.6): a centred 2×m moving average over the first seasons
 * gives the trend; the per-phase means of the detrended values (normalised to sum 0, or mean 1) the seasonal
 * states; a regression on the first seasonally adjusted points ℓ₀ and b₀.
 */
function heuristicInitialStates(
  y: ArrayLike<number>,
  spec: Spec,
): Pick<HoltWintersParams, 'initialLevel' | 'initialTrend' | 'initialSeasons'> {
  const { m } = spec;
  const n = y.length;
  const initialSeasons: number[] = [];
  const adjusted: number[] = [];
  if (spec.seasonal !== 'none') {
    const span = Math.min(n, Math.max(4 * m, 10));
    const half = Math.floor(m / 2);
    const sums = new Float64Array(m);
    const counts = new Float64Array(m);
    // Centred moving average of order m (2×m for even m) via a running sum.
    const prefix = new Float64Array(span + 1);
    for (let index = 0; index < span; index++) prefix[index + 1] = (prefix[index] as number) + (y[index] as number);
    for (let t = half; t + half < span && t - half >= 0; t++) {
      let movingAverage: number;
      if (m % 2 === 1) movingAverage = ((prefix[t + half + 1] as number) - (prefix[t - half] as number)) / m;
      else {
        if (t + half >= span) break;
        const left = ((prefix[t + half] as number) - (prefix[t - half] as number)) / m;
        const right = ((prefix[t + half + 1] as number) - (prefix[t - half + 1] as number)) / m;
        movingAverage = (left + right) / 2;
      }
      const value = y[t] as number;
      sums[t % m] =
        (sums[t % m] as number) + (spec.seasonal === 'additive' ? value - movingAverage : value / movingAverage);
      counts[t % m] = (counts[t % m] as number) + 1;
    }
    let total = 0;
    for (let index = 0; index < m; index++) {
      const phase =
        (counts[index] as number) > 0
          ? (sums[index] as number) / (counts[index] as number)
          : spec.seasonal === 'additive'
            ? 0
            : 1;
      initialSeasons.push(phase);
      total += phase;
    }
    const center = total / m;
    for (let index = 0; index < m; index++) {
      initialSeasons[index] =
        spec.seasonal === 'additive'
          ? (initialSeasons[index] as number) - center
          : (initialSeasons[index] as number) / center;
    }
    const take = Math.min(n, Math.max(2 * m, 10));
    for (let t = 0; t < take; t++)
      adjusted.push(
        spec.seasonal === 'additive'
          ? (y[t] as number) - (initialSeasons[t % m] as number)
          : (y[t] as number) / (initialSeasons[t % m] as number),
      );
  } else {
    for (let t = 0; t < Math.min(n, 10); t++) adjusted.push(y[t] as number);
  }
  if (spec.trend === 'none')
    return { initialLevel: mean(adjusted, 0, adjusted.length), initialTrend: 0, initialSeasons };
  const x = adjusted.map((_, index) => index + 1);
  if (spec.trend === 'additive') {
    const fit = olsTrend(x, adjusted);
    return { initialLevel: fit.intercept, initialTrend: fit.slope, initialSeasons };
  }
  const fit = olsTrend(
    x,
    adjusted.map((value) => Math.log(Math.max(value, 1e-12))),
  );
  return { initialLevel: Math.exp(fit.intercept), initialTrend: Math.exp(fit.slope), initialSeasons };
}

type Free = 'alpha' | 'beta' | 'gamma' | 'phi';

/**
 * Fits a Holt-Winters (ETS without the error model) by minimising the SSE of one-step-ahead errors, as statsmodels'
 * `ExponentialSmoothing.fit()`: smoothing parameters inside statsmodels' restricted region (ε < α < 1 − ε,
 * 0 ≤ β ≤ α, 0 ≤ γ ≤ 1 − α, fitted in a unit box and mapped back like `to_restricted`), φ in [0.8, 0.98], a
 * grid search for start values (`use_brute`), then Nelder–Mead (with restarts) over the parameters and, with
 * `'estimated'` initialization, the initial states.
 *
 * @example
 * ```ts
 * const model = fitHoltWinters(hourlyRequests, { trend: 'additive', damped: true, seasonal: 'multiplicative', seasonLength: 24 });
 * const nextDay = model.forecastInterval(24, { level: 0.95 });
 * ```
 */
export function fitHoltWinters(values: ArrayLike<number>, options: HoltWintersOptions = {}): HoltWintersModel {
  const {
    trend = 'none',
    damped = false,
    seasonal = 'none',
    fixed = {},
    optimized = true,
    maxEvaluations = 4000,
  } = options;
  const y = Float64Array.from(values as ArrayLike<number>);
  const n = y.length;
  for (let index = 0; index < n; index++) {
    if (!Number.isFinite(y[index] as number))
      throw new CapacityError(
        'INPUT_INVALID',
        `values[${index}] is not a finite number (${y[index]}): fill or drop gaps first`,
      );
  }
  if (damped && trend === 'none') throw new CapacityError('ARGUMENT_INVALID', 'damped: a damped model needs a trend');
  const m = seasonal === 'none' ? 0 : (options.seasonLength ?? 0);
  if (seasonal !== 'none' && !(Number.isInteger(m) && m >= 2))
    throw new CapacityError(
      'ARGUMENT_INVALID',
      `seasonLength: expected an integer ≥ 2 with a seasonal component, got ${options.seasonLength}`,
    );
  if ((seasonal === 'multiplicative' || trend === 'multiplicative') && y.some((value) => value <= 0)) {
    throw new CapacityError('FIT_FAILED', 'a multiplicative component needs strictly positive values');
  }
  const minimum = seasonal !== 'none' ? 2 * m : trend !== 'none' ? 3 : 2;
  if (n < minimum)
    throw new CapacityError(
      'INSUFFICIENT_DATA',
      `Holt-Winters (${trend}/${seasonal}) needs at least ${minimum} observations, got ${n}`,
    );
  const spec: Spec = { trend, damped, seasonal, m };
  const stateCount = 1 + (trend === 'none' ? 0 : 1) + m;
  let initialization = options.initialization ?? 'auto';
  if (initialization === 'legacy-heuristic') initialization = 'simple';
  if (initialization === 'auto') initialization = stateCount <= 30 ? 'estimated' : 'heuristic';

  let states: Pick<HoltWintersParams, 'initialLevel' | 'initialTrend' | 'initialSeasons'>;
  if (initialization === 'known') {
    if (
      fixed.initialLevel === undefined ||
      (trend !== 'none' && fixed.initialTrend === undefined) ||
      (m > 0 && fixed.initialSeasons?.length !== m)
    ) {
      throw new CapacityError(
        'ARGUMENT_INVALID',
        "initialization 'known' needs fixed.initialLevel, initialTrend (with a trend) and m initialSeasons (with a season)",
      );
    }
    states = {
      initialLevel: fixed.initialLevel,
      initialTrend: fixed.initialTrend ?? (trend === 'multiplicative' ? 1 : 0),
      initialSeasons: [...(fixed.initialSeasons ?? [])],
    };
  } else if (initialization === 'simple') {
    states = simpleInitialStates(y, spec);
  } else {
    states = n >= 2 * m + 10 || m === 0 ? heuristicInitialStates(y, spec) : simpleInitialStates(y, spec);
  }
  const startValues = options.start ?? {};
  if (startValues.initialLevel !== undefined) states.initialLevel = startValues.initialLevel;
  if (startValues.initialTrend !== undefined) states.initialTrend = startValues.initialTrend;
  if (startValues.initialSeasons !== undefined) states.initialSeasons = [...startValues.initialSeasons];
  if (fixed.initialLevel !== undefined) states.initialLevel = fixed.initialLevel;
  if (fixed.initialTrend !== undefined) states.initialTrend = fixed.initialTrend;
  if (fixed.initialSeasons !== undefined) states.initialSeasons = [...fixed.initialSeasons];

  const free: Free[] = [];
  if (fixed.alpha === undefined) free.push('alpha');
  if (trend !== 'none' && fixed.beta === undefined) free.push('beta');
  if (seasonal !== 'none' && fixed.gamma === undefined) free.push('gamma');
  if (damped && fixed.phi === undefined) free.push('phi');
  if (!optimized && free.length > 0)
    throw new CapacityError('ARGUMENT_INVALID', `optimized: false needs fixed ${free.join(', ')}`);
  const estimateStates = initialization === 'estimated' && optimized;
  const stateFree = {
    level: estimateStates && fixed.initialLevel === undefined,
    trend: estimateStates && trend !== 'none' && fixed.initialTrend === undefined,
    seasons: estimateStates && m > 0 && fixed.initialSeasons === undefined,
  };

  // Unit-box coordinates u ∈ [0, 1] for the smoothing parameters, mapped as statsmodels' to_restricted.
  const toParams = (u: readonly number[], base: typeof states): HoltWintersParams => {
    const clamp = (value: number) => Math.min(1, Math.max(0, value));
    let cursor = 0;
    const take = () => clamp(u[cursor++] as number);
    const alpha = fixed.alpha ?? LOWER_BOUND + take() * (1 - 2 * LOWER_BOUND);
    const beta = trend === 'none' ? 0 : (fixed.beta ?? take() * alpha);
    const gamma = seasonal === 'none' ? 0 : (fixed.gamma ?? take() * (1 - alpha));
    const phi = !damped ? 1 : (fixed.phi ?? PHI_BOUNDS[0] + take() * (PHI_BOUNDS[1] - PHI_BOUNDS[0]));
    return { alpha, beta, gamma, phi, ...base, initialSeasons: base.initialSeasons };
  };
  const fromParams = (alpha: number, beta: number, gamma: number, phi: number): number[] => {
    const u: number[] = [];
    if (free.includes('alpha')) u.push((alpha - LOWER_BOUND) / (1 - 2 * LOWER_BOUND));
    if (free.includes('beta')) u.push(alpha > 0 ? beta / alpha : 0);
    if (free.includes('gamma')) u.push(1 - alpha > 0 ? gamma / (1 - alpha) : 0);
    if (free.includes('phi')) u.push((phi - PHI_BOUNDS[0]) / (PHI_BOUNDS[1] - PHI_BOUNDS[0]));
    return u;
  };

  let params: HoltWintersParams = toParams([], states);
  if (optimized && (free.length > 0 || estimateStates)) {
    // Grid search for start values (statsmodels use_brute), with the heuristic states.
    // Long series make each evaluation expensive: a coarser grid is enough to start Nelder–Mead in the right basin.
    const grid = n > 10_000 ? [0.1, 0.4, 0.7] : [0.1, 0.3, 0.5, 0.7, 0.9];
    let bestU = free.map(() => 0.5);
    let bestSse = Number.POSITIVE_INFINITY;
    const axes = free.map((name) => (name === 'phi' ? [0.2, 0.8] : grid));
    const visit = (depth: number, u: number[]) => {
      if (depth === axes.length) {
        const sse = smooth(y, spec, toParams(u, states));
        if (sse < bestSse) {
          bestSse = sse;
          bestU = [...u];
        }
        return;
      }
      for (const value of axes[depth] as number[]) visit(depth + 1, [...u, value]);
    };
    if (
      startValues.alpha !== undefined &&
      (trend === 'none' || startValues.beta !== undefined) &&
      (seasonal === 'none' || startValues.gamma !== undefined)
    ) {
      bestU = fromParams(startValues.alpha, startValues.beta ?? 0, startValues.gamma ?? 0, startValues.phi ?? 0.9);
    } else {
      visit(0, []);
    }
    // Initial states are optimised in units of the data's spread, offsets from the heuristic start.
    const scale = Math.max(standardDeviation(y), Math.abs(mean(y, 0, n)) * 1e-3, 1e-9);
    const trendScale = trend === 'multiplicative' ? 0.01 : scale / Math.max(1, m || 10);
    const seasonScale = seasonal === 'multiplicative' ? 0.1 : scale;
    const stateCoordinates = (stateFree.level ? 1 : 0) + (stateFree.trend ? 1 : 0) + (stateFree.seasons ? m : 0);
    const decode = (x: readonly number[]): HoltWintersParams => {
      const offset = free.length;
      let cursor = offset;
      const base = { ...states, initialSeasons: [...states.initialSeasons] };
      if (stateFree.level) base.initialLevel = states.initialLevel + (x[cursor++] as number) * scale;
      if (stateFree.trend) base.initialTrend = states.initialTrend + (x[cursor++] as number) * trendScale;
      if (stateFree.seasons)
        for (let index = 0; index < m; index++)
          base.initialSeasons[index] = (states.initialSeasons[index] as number) + (x[cursor++] as number) * seasonScale;
      return toParams(x.slice(0, offset), base);
    };
    const objective = (x: number[]) => {
      for (let index = 0; index < free.length; index++)
        if ((x[index] as number) < 0 || (x[index] as number) > 1) return Number.POSITIVE_INFINITY;
      return smooth(y, spec, decode(x));
    };
    const start = [...bestU, ...new Array<number>(stateCoordinates).fill(0)];
    const steps = [...free.map(() => 0.1), ...new Array<number>(stateCoordinates).fill(0.1)];
    const result = nelderMead(objective, start, {
      step: steps,
      maxEvaluations,
      tolerance: n > 10_000 ? 1e-9 : 1e-12,
      restarts: 6,
    });
    params = decode(result.x);
  }
  if (!damped) params.phi = 1;

  const levels = new Float64Array(n);
  const trends = new Float64Array(n);
  const seasons = new Float64Array(n);
  const fitted = new Float64Array(n);
  const last = { level: 0, trend: 0, seasons: new Float64Array(m) };
  const sse = smooth(y, spec, params, { levels, trends, seasons, fitted, last });
  if (!Number.isFinite(sse)) throw new CapacityError('FIT_FAILED', 'the model diverged (non-finite one-step errors)');
  const residuals = new Float64Array(n);
  for (let t = 0; t < n; t++) residuals[t] = (y[t] as number) - (fitted[t] as number);
  const k = free.length + (stateFree.level ? 1 : 0) + (stateFree.trend ? 1 : 0) + (stateFree.seasons ? m : 0);
  const logLikelihoodTerm = n * Math.log(Math.max(sse, Number.MIN_VALUE) / n);
  const aic = logLikelihoodTerm + 2 * k;
  const dof = n - k - 3;
  const aicc = dof > 0 ? aic + (2 * (k + 2) * (k + 3)) / dof : Number.POSITIVE_INFINITY;
  const bic = logLikelihoodTerm + k * Math.log(n);

  const forecastFrom = (level: number, trendState: number, seasonStates: ArrayLike<number>, h: number): number => {
    let base: number;
    const phiSum = damped ? dampedSum(params.phi, h) : h;
    if (trend === 'additive') base = level + phiSum * trendState;
    else if (trend === 'multiplicative') base = level * Math.pow(trendState, phiSum);
    else base = level;
    if (m === 0) return base;
    const season = seasonStates[(h - 1) % m] as number;
    return seasonal === 'additive' ? base + season : base * season;
  };

  /** The forecast of obs `origin + h` made after obs `origin` with the fitted states (h ≥ 1). */
  const forecastFromOrigin = (origin: number, h: number): number => {
    const level = levels[origin] as number;
    const trendState = trends[origin] as number;
    const phiSum = damped ? dampedSum(params.phi, h) : h;
    const base =
      trend === 'additive'
        ? level + phiSum * trendState
        : trend === 'multiplicative'
          ? level * Math.pow(trendState, phiSum)
          : level;
    if (m === 0) return base;
    const index = origin + h - m * Math.ceil(h / m);
    const season = index >= 0 ? (seasons[index] as number) : (params.initialSeasons[index + m] as number);
    return seasonal === 'additive' ? base + season : base * season;
  };

  const empiricalBand = (horizon: number, level: number): ForecastBand => {
    checkHorizon(horizon);
    const mean = model.forecast(horizon);
    const lower: number[] = [];
    const upper: number[] = [];
    const first = Math.max(m, 1);
    let widest: { h: number; low: number; high: number } | undefined;
    for (let h = 1; h <= horizon; h++) {
      const last = n - 1 - h;
      const count = last - first + 1;
      if (count >= 30) {
        const stride = Math.max(1, Math.floor(count / 2000));
        const errors: number[] = [];
        for (let origin = first; origin <= last; origin += stride)
          errors.push((y[origin + h] as number) - forecastFromOrigin(origin, h));
        const sorted = Float64Array.from(errors).sort();
        widest = { h, low: quantileSorted(sorted, (1 - level) / 2), high: quantileSorted(sorted, 1 - (1 - level) / 2) };
        lower.push((mean[h - 1] as number) + widest.low);
        upper.push((mean[h - 1] as number) + widest.high);
      } else {
        if (!widest)
          throw new CapacityError(
            'INSUFFICIENT_DATA',
            `empirical bands need at least 30 forecast origins; ${n} values are too few`,
          );
        const scale = Math.sqrt(h / widest.h);
        lower.push((mean[h - 1] as number) + widest.low * scale);
        upper.push((mean[h - 1] as number) + widest.high * scale);
      }
    }
    return { mean, lower, upper, level };
  };

  const model: HoltWintersModel = {
    trend,
    damped,
    seasonal,
    seasonLength: m,
    initialization,
    params,
    sse,
    nobs: n,
    k,
    aic,
    aicc,
    bic,
    levels,
    trends,
    seasons,
    fitted,
    residuals,
    forecast(horizon) {
      checkHorizon(horizon);
      const out: number[] = [];
      for (let h = 1; h <= horizon; h++) out.push(forecastFrom(last.level, last.trend, last.seasons, h));
      return out;
    },
    simulate(horizon, simulateOptions = {}) {
      checkHorizon(horizon);
      const { paths = 1000, seed = 1 } = simulateOptions;
      const random = seededRandom(seed);
      const pool = residuals.length > 1 ? residuals.subarray(m > 0 ? Math.min(m, n - 1) : 1) : residuals;
      const out: Float64Array[] = [];
      const ring = new Float64Array(Math.max(1, m));
      for (let path = 0; path < paths; path++) {
        let level = last.level;
        let trendState = last.trend;
        ring.set(last.seasons);
        const row = new Float64Array(horizon);
        for (let h = 0; h < horizon; h++) {
          const phi = params.phi;
          const base =
            trend === 'additive'
              ? level + phi * trendState
              : trend === 'multiplicative'
                ? level * Math.pow(trendState, phi)
                : level;
          const slot = m > 0 ? h % m : 0;
          const season = m > 0 ? (ring[slot] as number) : 0;
          const point = seasonal === 'additive' ? base + season : seasonal === 'multiplicative' ? base * season : base;
          const observation = point + (pool[Math.floor(random() * pool.length)] as number);
          row[h] = observation;
          const previousLevel = level;
          if (seasonal === 'additive') level = params.alpha * (observation - season) + (1 - params.alpha) * base;
          else if (seasonal === 'multiplicative')
            level = params.alpha * (observation / season) + (1 - params.alpha) * base;
          else level = params.alpha * observation + (1 - params.alpha) * base;
          if (trend === 'additive')
            trendState = params.beta * (level - previousLevel) + (1 - params.beta) * phi * trendState;
          else if (trend === 'multiplicative')
            trendState = params.beta * (level / previousLevel) + (1 - params.beta) * Math.pow(trendState, phi);
          if (seasonal === 'additive') ring[slot] = params.gamma * (observation - base) + (1 - params.gamma) * season;
          else if (seasonal === 'multiplicative')
            ring[slot] = params.gamma * (observation / base) + (1 - params.gamma) * season;
        }
        out.push(row);
      }
      return out;
    },
    forecastInterval(horizon, intervalOptions = {}) {
      const { level = 0.95, paths = 1000, seed = 1, method = 'simulation' } = intervalOptions;
      if (!(level > 0 && level < 1))
        throw new CapacityError('ARGUMENT_INVALID', `level: expected a coverage in (0, 1), got ${level}`);
      if (method === 'empirical') return empiricalBand(horizon, level);
      const simulated = model.simulate(horizon, { paths, seed });
      const lower: number[] = [];
      const upper: number[] = [];
      const column = new Float64Array(paths);
      for (let h = 0; h < horizon; h++) {
        for (let path = 0; path < paths; path++) column[path] = (simulated[path] as Float64Array)[h] as number;
        column.sort();
        lower.push(quantileSorted(column, (1 - level) / 2));
        upper.push(quantileSorted(column, 1 - (1 - level) / 2));
      }
      return { mean: model.forecast(horizon), lower, upper, level };
    },
  };
  return model;
}

function checkHorizon(horizon: number): void {
  if (!Number.isInteger(horizon) || horizon < 1)
    throw new CapacityError('ARGUMENT_INVALID', `horizon: expected an integer ≥ 1, got ${horizon}`);
}

/** φ + φ² + … + φ^h. */
export function dampedSum(phi: number, h: number): number {
  if (phi === 1) return h;
  return (phi * (1 - Math.pow(phi, h))) / (1 - phi);
}

function standardDeviation(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return 0;
  const average = mean(values, 0, n);
  let sum = 0;
  for (let index = 0; index < n; index++) sum += ((values[index] as number) - average) ** 2;
  return Math.sqrt(sum / (n - 1));
}

/** Linear-interpolated quantile of sorted values (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, probability: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = probability * (n - 1);
  const lower = Math.floor(position);
  const upper = Math.min(n - 1, lower + 1);
  const fraction = position - lower;
  return (sorted[lower] as number) + fraction * ((sorted[upper] as number) - (sorted[lower] as number));
}
