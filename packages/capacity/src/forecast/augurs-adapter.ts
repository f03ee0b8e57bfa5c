import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CapacityError } from '../errors.js';
import type { FittedForecast, Forecaster } from './forecaster.js';
import type { ForecastBand } from './holt-winters.js';

// The parts of @bsull/augurs used here, typed locally so the optional peer is never needed for type-checking.
interface AugursForecast {
  point: number[];
  intervals: { level: number; lower: number[]; upper: number[] } | undefined;
}
interface AugursModel {
  fit(y: number[] | Float64Array): void;
  predict(horizon: number, level?: number | null): AugursForecast;
}
interface AugursEtsModule {
  initSync(module: { module: Uint8Array }): unknown;
  AutoETS: new (seasonLength: number, spec: string) => AugursModel;
}
interface AugursMstlModule {
  initSync(module: { module: Uint8Array }): unknown;
  MSTL: { ets(periods: number[]): AugursModel };
}

/** Forecasters backed by `@bsull/augurs` (Rust compiled to WASM), behind this package's {@link Forecaster} interface. */
export interface AugursForecasters {
  /** augurs' AutoETS (`spec` as in forecast::ets, default `'ZZZ'`: error, trend and season chosen by AICc). */
  autoEts(seasonLength: number, spec?: string): Forecaster;
  /** augurs' MSTL with an AutoETS trend model over several seasonal periods. */
  mstl(periods: readonly number[]): Forecaster;
}

function wrap(name: string, create: () => AugursModel, describe: string): Forecaster {
  return {
    name,
    fit(values): FittedForecast {
      const model = create();
      try {
        model.fit(Float64Array.from(values as ArrayLike<number>));
      } catch (error) {
        throw new CapacityError('FIT_FAILED', `${name}: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
      return {
        description: describe,
        forecast: (horizon) => model.predict(horizon, null).point,
        forecastInterval(horizon, options = {}): ForecastBand {
          const level = options.level ?? 0.95;
          const result = model.predict(horizon, level);
          return {
            mean: result.point,
            lower: result.intervals?.lower ?? [...result.point],
            upper: result.intervals?.upper ?? [...result.point],
            level,
          };
        },
      };
    },
  };
}

/**
 * Loads the optional `@bsull/augurs` peer (install it yourself: `npm install @bsull/augurs`) and initialises its
 * WASM modules, returning AutoETS and MSTL as {@link Forecaster}s — usable in `backtest`, reports and
 * `timeToExhaustion` like the built-in ones. Throws `DEPENDENCY_MISSING` when the package is not installed.
 *
 * @example
 * ```ts
 * const augurs = await loadAugursForecasters();
 * const result = backtest(values, augurs.mstl([24, 168]), { horizon: 24, seasonLength: 24 });
 * ```
 */
export async function loadAugursForecasters(): Promise<AugursForecasters> {
  const require = createRequire(import.meta.url);
  let ets: AugursEtsModule;
  let mstl: AugursMstlModule;
  let directory: string;
  try {
    directory = dirname(require.resolve('@bsull/augurs/ets'));
    ets = (await import('@bsull/augurs/ets')) as unknown as AugursEtsModule;
    mstl = (await import('@bsull/augurs/mstl')) as unknown as AugursMstlModule;
  } catch (error) {
    throw new CapacityError(
      'DEPENDENCY_MISSING',
      'the augurs adapter needs the optional peer @bsull/augurs: npm install @bsull/augurs',
      { cause: error },
    );
  }
  ets.initSync({ module: readFileSync(join(directory, 'ets_bg.wasm')) });
  mstl.initSync({ module: readFileSync(join(directory, 'mstl_bg.wasm')) });
  return {
    autoEts: (seasonLength, spec = 'ZZZ') =>
      wrap(
        `augurs AutoETS(${spec}, m=${seasonLength})`,
        () => new ets.AutoETS(seasonLength, spec),
        `augurs AutoETS ${spec} m=${seasonLength}`,
      ),
    mstl: (periods) =>
      wrap(
        `augurs MSTL(${periods.join(',')})`,
        () => mstl.MSTL.ets([...periods]),
        `augurs MSTL periods ${periods.join(', ')} + AutoETS trend`,
      ),
  };
}
