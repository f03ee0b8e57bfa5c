import { CapacityError } from '../errors.js';
import type { FittedForecast, Forecaster, SeriesTime } from './forecaster.js';
import { quantileSorted } from './holt-winters.js';
import { selectHoltWinters } from './model-selection.js';

/** Calendar effects learned from history (or declared when history has none). */
export interface CalendarEffects {
  /** The last `days` days of each month (UTC), e.g. month-end billing runs. `ratio` declares the effect (1.3 = +30%). */
  monthEnd?: { days: number; ratio?: number };
  /** Declared dates (`'YYYY-MM-DD'`, UTC); `ratio` declares the effect (0.4 = 40% of a normal day). */
  holidays?: { dates: readonly string[]; ratio?: number };
}

/** Options of {@link decomposeSeasonal} and {@link multiSeasonalForecaster}. */
export interface MultiSeasonalOptions {
  /** Season lengths in samples, e.g. `[24, 168]` for hourly data (daily and weekly). */
  periods: readonly number[];
  /** `'multiplicative'` (default when every value is > 0) decomposes log values: seasonal indices are ratios. */
  mode?: 'additive' | 'multiplicative';
  /** Passes over the seasonal components (MSTL's inner iterations). Default 2. */
  iterations?: number;
  /** Seasonal profiles average the last this many cycles of each period (recent behaviour wins). Default 8. */
  cycles?: number;
}

/** A decomposition into trend, one seasonal component per period, and remainder. */
export interface SeasonalDecomposition {
  mode: 'additive' | 'multiplicative';
  periods: number[];
  /** In the working scale (log values when multiplicative). */
  trend: Float64Array;
  seasonals: Float64Array[];
  /** Each period's profile by phase (`index mod period`), zero-mean in the working scale. */
  profiles: Float64Array[];
  remainder: Float64Array;
}

function centredMovingAverage(values: Float64Array, window: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  const prefix = new Float64Array(n + 1);
  for (let index = 0; index < n; index++) prefix[index + 1] = (prefix[index] as number) + (values[index] as number);
  const half = Math.floor(window / 2);
  let firstValid = -1;
  let lastValid = -1;
  for (let t = 0; t < n; t++) {
    let value: number;
    if (window % 2 === 1) {
      if (t - half < 0 || t + half >= n) continue;
      value = ((prefix[t + half + 1] as number) - (prefix[t - half] as number)) / window;
    } else {
      if (t - half < 0 || t + half >= n) continue;
      const left = ((prefix[t + half] as number) - (prefix[t - half] as number)) / window;
      const right = ((prefix[t + half + 1] as number) - (prefix[t - half + 1] as number)) / window;
      value = (left + right) / 2;
    }
    out[t] = value;
    if (firstValid < 0) firstValid = t;
    lastValid = t;
  }
  if (firstValid < 0) {
    out.fill((prefix[n] as number) / Math.max(1, n));
    return out;
  }
  // Edges: extend linearly with the slope of the first / last window of valid values.
  const span = Math.min(window, lastValid - firstValid);
  const startSlope = span > 0 ? ((out[firstValid + span] as number) - (out[firstValid] as number)) / span : 0;
  const endSlope = span > 0 ? ((out[lastValid] as number) - (out[lastValid - span] as number)) / span : 0;
  for (let t = 0; t < firstValid; t++) out[t] = (out[firstValid] as number) - startSlope * (firstValid - t);
  for (let t = lastValid + 1; t < n; t++) out[t] = (out[lastValid] as number) + endSlope * (t - lastValid);
  return out;
}

/**
 * Decomposes a series with several seasonal periods, MSTL-style (Bandara, Hyndman & Bergmeir 2021) with moving
 * averages in place of LOESS: for each period in ascending order, remove the other seasonal components, remove a
 * centred moving-average trend of that period's length, and average the detrended values per phase over the last
 * `cycles` cycles (normalised to zero mean); iterate. The longest period's moving average of the deseasonalised
 * series is the trend. In multiplicative mode the work is done on log values, so profiles are ratios.
 */
export function decomposeSeasonal(values: ArrayLike<number>, options: MultiSeasonalOptions): SeasonalDecomposition {
  const periods = [...options.periods].sort((a, b) => a - b);
  const n = values.length;
  if (periods.length === 0 || periods.some((period) => !Number.isInteger(period) || period < 2)) {
    throw new CapacityError('ARGUMENT_INVALID', `periods: expected integers ≥ 2, got [${options.periods.join(', ')}]`);
  }
  const longest = periods[periods.length - 1] as number;
  if (n < 2 * longest)
    throw new CapacityError(
      'INSUFFICIENT_DATA',
      `a decomposition with a period of ${longest} needs at least ${2 * longest} values, got ${n}`,
    );
  const positive = Array.from(values).every((value) => value > 0);
  const mode = options.mode ?? (positive ? 'multiplicative' : 'additive');
  if (mode === 'multiplicative' && !positive)
    throw new CapacityError('FIT_FAILED', 'multiplicative decomposition needs strictly positive values');
  const { iterations = 2, cycles = 8 } = options;
  const work = Float64Array.from(values as ArrayLike<number>, (value) =>
    mode === 'multiplicative' ? Math.log(value) : value,
  );
  const seasonals = periods.map(() => new Float64Array(n));
  const profiles = periods.map((period) => new Float64Array(period));
  for (let iteration = 0; iteration < iterations; iteration++) {
    periods.forEach((period, which) => {
      const deseasoned = new Float64Array(n);
      for (let t = 0; t < n; t++) {
        let value = work[t] as number;
        seasonals.forEach((seasonal, other) => {
          if (other !== which) value -= seasonal[t] as number;
        });
        deseasoned[t] = value;
      }
      const trend = centredMovingAverage(deseasoned, period);
      const sums = new Float64Array(period);
      const counts = new Float64Array(period);
      const from = Math.max(0, n - cycles * period);
      for (let t = from; t < n; t++) {
        sums[t % period] = (sums[t % period] as number) + (deseasoned[t] as number) - (trend[t] as number);
        counts[t % period] = (counts[t % period] as number) + 1;
      }
      const profile = profiles[which] as Float64Array;
      let total = 0;
      for (let phase = 0; phase < period; phase++) {
        profile[phase] = (counts[phase] as number) > 0 ? (sums[phase] as number) / (counts[phase] as number) : 0;
        total += profile[phase] as number;
      }
      const center = total / period;
      for (let phase = 0; phase < period; phase++) profile[phase] = (profile[phase] as number) - center;
      const seasonal = seasonals[which] as Float64Array;
      for (let t = 0; t < n; t++) seasonal[t] = profile[t % period] as number;
    });
  }
  const adjusted = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let value = work[t] as number;
    for (const seasonal of seasonals) value -= seasonal[t] as number;
    adjusted[t] = value;
  }
  const trend = centredMovingAverage(adjusted, longest);
  const remainder = new Float64Array(n);
  for (let t = 0; t < n; t++) remainder[t] = (adjusted[t] as number) - (trend[t] as number);
  return { mode, periods, trend, seasonals, profiles, remainder };
}

const DAY_MS = 86_400_000;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isMonthEnd(ms: number, days: number): boolean {
  const date = new Date(ms);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  return date.getUTCDate() > lastDay - days;
}

/**
 * A {@link Forecaster} for series with several seasonal cycles (daily and weekly, say) and calendar effects:
 * {@link decomposeSeasonal}, then calendar effects estimated on the remainder (mean of flagged days against the
 * rest; declared ratios when history has no flagged day), then the seasonally and calendar adjusted series is
 * forecast by Holt (no season; trend none / additive / damped chosen by AICc), and the seasonal profiles and
 * calendar effects are put back. Bands come from the adjusted model's empirical h-step errors (simulated paths
 * when the history is too short for that).
 */
export function multiSeasonalForecaster(options: MultiSeasonalOptions & { calendar?: CalendarEffects }): Forecaster {
  return {
    name: `multi-seasonal(${[...options.periods].sort((a, b) => a - b).join(',')})`,
    fit(values, time?: SeriesTime): FittedForecast {
      const decomposition = decomposeSeasonal(values, options);
      const { mode, periods, profiles, seasonals } = decomposition;
      const n = values.length;
      const flags: Array<{
        name: string;
        flag: (ms: number) => boolean;
        declared: number | undefined;
        effect: number;
      }> = [];
      if (options.calendar && !time)
        throw new CapacityError('ARGUMENT_INVALID', 'calendar effects need the series time ({ startMs, stepMs })');
      if (options.calendar?.monthEnd) {
        const { days, ratio } = options.calendar.monthEnd;
        flags.push({ name: 'month-end', flag: (ms) => isMonthEnd(ms, days), declared: ratio, effect: 0 });
      }
      if (options.calendar?.holidays) {
        const dates = new Set(options.calendar.holidays.dates);
        flags.push({
          name: 'holiday',
          flag: (ms) => dates.has(isoDate(ms)),
          declared: options.calendar.holidays.ratio,
          effect: 0,
        });
      }
      const at = (index: number) => (time as SeriesTime).startMs + index * (time as SeriesTime).stepMs;
      // A declared ratio is a multiplier: its log in multiplicative mode; in additive mode, relative to the mean level.
      const meanLevel = Array.from(values).reduce((sum, value) => sum + value, 0) / n;
      const toWork = (ratio: number) => (mode === 'multiplicative' ? Math.log(ratio) : (ratio - 1) * meanLevel);
      // Calendar effects are measured against a trend long enough not to follow them (a week at least), iterating
      // so the trend is estimated with the effects taken out.
      const work = Array.from(values, (value) => (mode === 'multiplicative' ? Math.log(value) : value));
      if (flags.length > 0) {
        const stepMs = (time as SeriesTime).stepMs;
        const window = Math.min(
          n - (n % 2 === 0 ? 1 : 0),
          Math.max(periods[periods.length - 1] as number, Math.round((7 * DAY_MS) / stepMs)),
        );
        const masks = flags.map((entry) => Array.from({ length: n }, (_, t) => entry.flag(at(t))));
        const base = new Float64Array(n);
        for (let t = 0; t < n; t++) {
          let value = work[t] as number;
          for (const seasonal of seasonals) value -= seasonal[t] as number;
          base[t] = value;
        }
        for (let iteration = 0; iteration < 3; iteration++) {
          const cleaned = new Float64Array(n);
          for (let t = 0; t < n; t++) {
            let value = base[t] as number;
            flags.forEach((entry, which) => {
              if ((masks[which] as boolean[])[t]) value -= entry.effect;
            });
            cleaned[t] = value;
          }
          const longTrend = centredMovingAverage(cleaned, window);
          flags.forEach((entry, which) => {
            const mask = masks[which] as boolean[];
            let flagged = 0;
            let flaggedSum = 0;
            let otherSum = 0;
            for (let t = 0; t < n; t++) {
              let residual = (base[t] as number) - (longTrend[t] as number);
              flags.forEach((other, index) => {
                if (index !== which && (masks[index] as boolean[])[t]) residual -= other.effect;
              });
              if (mask[t]) {
                flagged++;
                flaggedSum += residual;
              } else otherSum += residual;
            }
            // Learned when at least a day of flagged samples exists; otherwise the declared ratio (or none).
            if (flagged * stepMs >= DAY_MS && n - flagged > 0)
              entry.effect = flaggedSum / flagged - otherSum / (n - flagged);
            else if (entry.declared !== undefined) entry.effect = toWork(entry.declared);
          });
        }
      }
      const calendarAt = (index: number) => {
        if (flags.length === 0) return 0;
        let total = 0;
        for (const entry of flags) if (entry.flag(at(index))) total += entry.effect;
        return total;
      };
      const adjusted = new Float64Array(n);
      for (let t = 0; t < n; t++) {
        let value = work[t] as number;
        for (const seasonal of seasonals) value -= seasonal[t] as number;
        adjusted[t] = value - calendarAt(t);
      }
      const model = selectHoltWinters(adjusted, {
        candidates: [
          { trend: 'none', damped: false, seasonal: 'none' },
          { trend: 'additive', damped: false, seasonal: 'none' },
          { trend: 'additive', damped: true, seasonal: 'none' },
        ],
      }).best;
      const seasonalAt = (index: number) => {
        let total = calendarAt(index);
        periods.forEach((period, which) => {
          total += (profiles[which] as Float64Array)[index % period] as number;
        });
        return total;
      };
      const back = (value: number) => (mode === 'multiplicative' ? Math.exp(value) : value);
      const forecast = (horizon: number) => model.forecast(horizon).map((value, h) => back(value + seasonalAt(n + h)));
      const effects = flags.map(
        (entry) =>
          `${entry.name} ${mode === 'multiplicative' ? `×${Math.exp(entry.effect).toFixed(2)}` : `${entry.effect >= 0 ? '+' : ''}${entry.effect.toFixed(2)}`}`,
      );
      return {
        description: `${mode} decomposition (periods ${periods.join(', ')})${effects.length ? `, ${effects.join(', ')}` : ''} + Holt ${model.trend === 'none' ? 'level' : model.damped ? 'damped trend' : 'trend'} α=${model.params.alpha.toFixed(3)}`,
        forecast,
        forecastInterval(horizon, intervalOptions = {}) {
          const { level = 0.95, paths = 1000, seed = 1 } = intervalOptions;
          // Empirical h-step errors by default: the remainder of a decomposed series reverts to its level, which a
          // random walk of one-step residuals (simulation) would overstate week-ahead.
          const method = intervalOptions.method ?? (n >= 60 + horizon ? 'empirical' : 'simulation');
          if (method === 'empirical') {
            const band = model.forecastInterval(horizon, { level, method: 'empirical' });
            const offsets = Array.from({ length: horizon }, (_, h) => seasonalAt(n + h));
            return {
              mean: forecast(horizon),
              lower: band.lower.map((value, h) => back(value + (offsets[h] as number))),
              upper: band.upper.map((value, h) => back(value + (offsets[h] as number))),
              level,
            };
          }
          const simulated = model.simulate(horizon, { paths, seed });
          const lower: number[] = [];
          const upper: number[] = [];
          const column = new Float64Array(paths);
          for (let h = 0; h < horizon; h++) {
            const offset = seasonalAt(n + h);
            for (let path = 0; path < paths; path++)
              column[path] = back(((simulated[path] as Float64Array)[h] as number) + offset);
            column.sort();
            lower.push(quantileSorted(column, (1 - level) / 2));
            upper.push(quantileSorted(column, 1 - (1 - level) / 2));
          }
          return { mean: forecast(horizon), lower, upper, level };
        },
      };
    },
  };
}
