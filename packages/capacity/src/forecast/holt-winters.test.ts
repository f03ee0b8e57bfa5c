// Deterministic cases from statsmodels' statsmodels/tsa/holtwinters/tests/test_holtwinters.py (fpp data sets),
// asserted to the decimals published there.
import { describe, expect, it } from 'vitest';
import { fitHoltWinters } from './holt-winters.js';

// fpp::oil — Saudi Arabia oil production, 1996–2007
const oil = [
  446.6565229, 454.4733065, 455.662974, 423.6322388, 456.2713279, 440.5880501, 425.3325201, 485.1494479, 506.0481621,
  526.7919833, 514.268889, 494.2110193,
];
// fpp::ausair — air passengers in Australia, 1990–2004
const ausair = [
  17.5534, 21.8601, 23.8866, 26.9293, 26.8885, 28.8314, 30.0751, 30.9535, 30.1857, 31.5797, 32.577569, 33.477398,
  39.021581, 41.386432, 41.596552,
];
// fpp::livestock — sheep in Asia, 1970–2000
const livestock = [
  263.917747, 268.307222, 260.662556, 266.639419, 277.515778, 283.834045, 290.309028, 292.474198, 300.830694,
  309.286657, 318.331081, 329.37239, 338.883998, 339.244126, 328.600632, 314.255385, 314.459695, 321.413779, 329.789292,
  346.385165, 352.297882, 348.370515, 417.562922, 417.12357, 417.749459, 412.233904, 411.946817, 394.697075, 401.49927,
  408.270468, 414.2428,
];
// fpp::austourists — international tourist visitor nights in Australia, quarterly 2005–2010
const aust = [
  41.727458, 24.04185, 32.328103, 37.328708, 46.213153, 29.346326, 36.48291, 42.977719, 48.901525, 31.180221, 37.717881,
  40.420211, 51.206863, 31.887228, 40.978263, 43.772491, 55.558567, 33.850915, 42.076383, 45.642292, 59.76678,
  35.191877, 44.319737, 47.913736,
];

/** numpy.testing.assert_almost_equal: |actual − desired| < 1.5 × 10^−decimal. */
function almostEqual(actual: ArrayLike<number>, desired: readonly number[], decimal: number): void {
  expect(actual.length).toBe(desired.length);
  desired.forEach((value, index) => {
    const difference = Math.abs((actual[index] as number) - value);
    if (!(difference < 1.5 * 10 ** -decimal))
      throw new Error(`index ${index}: ${actual[index]} vs ${value} (decimal ${decimal})`);
  });
}

describe('Holt-Winters against statsmodels (test_holtwinters.py)', () => {
  it('test_simple_exp_smoothing: fixed α = 0.2 and 0.6, legacy-heuristic initialization', () => {
    const fit1 = fitHoltWinters(oil, { initialization: 'legacy-heuristic', fixed: { alpha: 0.2 }, optimized: false });
    almostEqual(fit1.forecast(1), [484.802468], 4);
    almostEqual(
      fit1.levels,
      [
        446.6565229, 448.21987962, 449.7084985, 444.49324656, 446.84886283, 445.59670028, 441.54386424, 450.26498098,
        461.4216172, 474.49569042, 482.45033014, 484.80246797,
      ],
      4,
    );
    const fit2 = fitHoltWinters(oil, { initialization: 'legacy-heuristic', fixed: { alpha: 0.6 }, optimized: false });
    almostEqual(fit2.forecast(1), [501.837461], 4);
  });

  it('test_simple_exp_smoothing: estimated α and ℓ₀', () => {
    const fit3 = fitHoltWinters(oil, { initialization: 'estimated' });
    almostEqual(fit3.forecast(1), [496.493543], 4);
    almostEqual([fit3.params.alpha], [0.891998], 4);
    almostEqual([fit3.params.initialLevel], [447.47844], 3);
  });

  it('test_holt: fixed α = 0.8, β = 0.2 — forecasts, trend states and fitted values', () => {
    const fit1 = fitHoltWinters(ausair, {
      trend: 'additive',
      initialization: 'legacy-heuristic',
      fixed: { alpha: 0.8, beta: 0.2 },
      optimized: false,
    });
    almostEqual(fit1.forecast(5), [43.76, 45.59, 47.43, 49.27, 51.1], 2);
    almostEqual(
      fit1.trends,
      [
        3.617628, 3.59006512, 3.33438212, 3.23657639, 2.69263502, 2.46388914, 2.2229097, 1.95959226, 1.47054601,
        1.3604894, 1.28045881, 1.20355193, 1.88267152, 2.09564416, 1.83655482,
      ],
      4,
    );
    almostEqual(
      [...fit1.fitted, ...fit1.forecast(1)],
      [
        21.8601, 22.032368, 25.48461872, 27.54058587, 30.28813356, 30.26106173, 31.58122149, 32.599234, 33.24223906,
        32.26755382, 33.07776017, 33.95806605, 34.77708354, 40.05535303, 43.21586036, 43.75696849,
      ],
      4,
    );
  });

  it('test_holt: exponential (multiplicative) trend, fixed α = 0.8, β = 0.2', () => {
    const fit2 = fitHoltWinters(ausair, {
      trend: 'multiplicative',
      initialization: 'legacy-heuristic',
      fixed: { alpha: 0.8, beta: 0.2 },
      optimized: false,
    });
    almostEqual(fit2.forecast(5), [44.6, 47.24, 50.04, 53.01, 56.15], 2);
  });

  it('test_holt: damped trend with α, β fixed; φ and initial states estimated', () => {
    const fit3 = fitHoltWinters(ausair, {
      trend: 'additive',
      damped: true,
      initialization: 'estimated',
      fixed: { alpha: 0.8, beta: 0.2 },
    });
    almostEqual(fit3.forecast(5), [42.85, 43.81, 44.66, 45.41, 46.06], 2);
  });

  it('test_holt_damp_r: damped Holt with R forecast::ets parameters reproduces its states, fitted values, MSE and forecasts', () => {
    const fit = fitHoltWinters(livestock, {
      trend: 'additive',
      damped: true,
      initialization: 'known',
      optimized: false,
      fixed: { alpha: 0.97402626, beta: 0.00010006, phi: 0.98, initialLevel: 252.59039965, initialTrend: 6.90265918 },
    });
    expect(Math.abs(fit.sse / fit.nobs - 195.4397924865488)).toBeLessThan(1e-3);
    const levels = [
      263.7992355246843, 268.3623324350207, 261.0312983437606, 266.6590942700923, 277.3958197247272, 283.8256217863908,
      290.2962560621914, 292.5701438129583, 300.7655919939834, 309.2118057241649, 318.2377698496536, 329.223870936255,
      338.7709778307978, 339.3669793596703, 329.0127022356033, 314.7684267018998, 314.5948077575944, 321.3612035017972,
      329.6924360833211, 346.0712138652086, 352.2534120008911, 348.5862874190927, 415.8839400693967, 417.2018843196238,
      417.8435306633725, 412.4857261252961, 412.0647865321129, 395.2500605270393, 401.4367438266322, 408.1907701386275,
      414.1814574903921,
    ];
    levels.forEach((value, index) =>
      expect(Math.abs((fit.levels[index] as number) - value) / value).toBeLessThan(1e-7),
    );
    const trends = [
      6.765062519124909, 6.629548973536494, 6.495537532917715, 6.365550989616566, 6.238702070454378, 6.11396047676353,
      5.991730467006233, 5.871526257315264, 5.754346516684953, 5.639547926790058, 5.527116419415724, 5.417146212898857,
      5.309238662451385, 5.202580636191761, 5.096941655567694, 4.993026494493987, 4.89264548621041, 4.794995106664251,
      4.699468310763351, 4.606688340205792, 4.514725879754355, 4.42360016839124, 4.341595902295941, 4.254462303550087,
      4.169010676686062, 4.084660399498803, 4.002512751871354, 3.92033229814673, 3.842166514133902, 3.76563019420026,
      3.690553892582855,
    ];
    trends.forEach((value, index) =>
      expect(Math.abs((fit.trends[index] as number) - value)).toBeLessThanOrEqual(1e-3 + 1e-7 * value),
    );
    const fitted = [
      259.3550056432622, 270.4289967934267, 274.8592904290865, 267.39692512602, 272.8973342399166, 283.5097477537724,
      289.8173030536191, 296.1681519198575, 298.3242395451272, 306.4048515803347, 314.7385626924191, 323.654343940681,
      334.5326742248959, 343.9740317200002, 344.4655083831382, 334.0077050580596, 319.661592666504, 319.3896003340806,
      326.0602987063282, 334.2979150278692, 350.5857684386102, 356.6778433630504, 352.9214155841161, 420.1387040536467,
      421.3712573771029, 421.9291611265248, 416.4886933168049, 415.9872490289468, 399.0919861792231, 405.2020670104834,
      411.8810877289437,
    ];
    fitted.forEach((value, index) =>
      expect(Math.abs((fit.fitted[index] as number) - value)).toBeLessThanOrEqual(1e-3 + 1e-7 * value),
    );
    const forecasts = [
      417.7982003051233, 421.3426082635598, 424.8161280628277, 428.2201774661102, 431.556145881327, 434.8253949282395,
      438.0292589942138, 441.1690457788685, 444.2460368278302, 447.2614880558126,
    ];
    // numpy assert_allclose(atol=1e-4): |a − d| ≤ atol + 1e-7·|d|
    fit
      .forecast(10)
      .forEach((value, index) =>
        expect(Math.abs(value - (forecasts[index] as number))).toBeLessThanOrEqual(
          1e-4 + 1e-7 * (forecasts[index] as number),
        ),
      );
  });

  it('test_predict / test_ndarray: additive trend, multiplicative season on austourists', () => {
    // statsmodels' start_params of the test: α, β, γ, ℓ₀, b₀, s₋₃…s₀
    const start = {
      alpha: 1.5520372162082909e-9,
      beta: 2.066338221674873e-18,
      gamma: 1.727109018250519e-9,
      initialLevel: 50.568333479425036,
      initialTrend: 0.9129273810171223,
      initialSeasons: [0.83535867, 0.50297119, 0.62439273, 0.67723128],
    };
    const fit = fitHoltWinters(aust, {
      trend: 'additive',
      seasonal: 'multiplicative',
      seasonLength: 4,
      initialization: 'estimated',
      start,
    });
    // statsmodels asserts 3 decimals for its own optimiser. The SSE surface is flat here (α, β, γ → 0 and ℓ₀ trades
    // against the seasonal indices), so optimisers stop at different points of the valley: ours ends at an SSE no
    // higher than statsmodels' start point (to 1e-5 relative: the start's α = 1.6e-9 is below the LOWER_BOUND √ε
    // both libraries restrict α to), with forecasts equal to 2 decimals.
    const atStart = fitHoltWinters(aust, {
      trend: 'additive',
      seasonal: 'multiplicative',
      seasonLength: 4,
      initialization: 'known',
      optimized: false,
      fixed: start,
    });
    expect(fit.sse).toBeLessThanOrEqual(atStart.sse * (1 + 1e-5));
    almostEqual(fit.forecast(4), [61.3083, 37.373, 46.9652, 51.5578], 2);
  });
});
