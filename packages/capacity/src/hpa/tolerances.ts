/**
 * The dead band around a usage ratio of 1 within which the HPA keeps the current replica count, per direction
 * (Kubernetes `behavior.scaleUp.tolerance` / `behavior.scaleDown.tolerance`, KEP-4951). Default 0.1 both ways.
 */
export interface Tolerances {
  /** A ratio down to `1 - scaleDown` is within the band. */
  scaleDown: number;
  /** A ratio up to `1 + scaleUp` is within the band. */
  scaleUp: number;
}

/** The controller's default tolerance (`--horizontal-pod-autoscaler-tolerance`). */
export const DEFAULT_TOLERANCE = 0.1;

/** Whether `usageRatio` is inside the dead band: `1 − scaleDown ≤ ratio ≤ 1 + scaleUp`. */
export function isWithinTolerance(usageRatio: number, tolerances: Tolerances): boolean {
  return 1 - tolerances.scaleDown <= usageRatio && usageRatio <= 1 + tolerances.scaleUp;
}
