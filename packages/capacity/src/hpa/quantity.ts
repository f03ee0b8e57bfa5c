/**
 * Kubernetes compares metric values as integer milli-units (`resource.Quantity.MilliValue()`, rounded up), and
 * divides them as int64. Reproducing that is what makes our proposals identical to the controller's, including the
 * truncated utilization percentages (`floor(100·Σusage / Σrequests)`).
 */
export function toMilli(value: number): number {
  // The epsilon absorbs binary noise (0.3 * 1000 = 300.00000000000006) before rounding up like MilliValue().
  const milli = Math.ceil(value * 1000 - 1e-6);
  return milli === 0 ? 0 : milli; // never -0
}

/** Integer division truncating toward zero, as Go's int64 `/`. */
export function intDivide(numerator: number, denominator: number): number {
  return Math.trunc(numerator / denominator);
}
