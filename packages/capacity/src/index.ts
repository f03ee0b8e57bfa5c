// @ops/capacity — replica math, stabilization, right-sizing, forecasting, exhaustion, reports. Exports are listed
// by name.

// errors
export { CapacityError } from './errors.js';
export type { CapacityErrorCode } from './errors.js';
