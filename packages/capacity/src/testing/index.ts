// @ops/capacity/testing — helpers for a user's own tests: reproducible traffic-like series.
export { syntheticSeries } from './synthetic-series.js';
export type { SyntheticSeries, SyntheticSeriesOptions } from './synthetic-series.js';
