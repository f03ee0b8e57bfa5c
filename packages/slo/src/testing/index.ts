// @ops/slo/testing — helpers for a user's own tests: a tracker on a manual clock and a feeder of synthetic traffic.
import { createManualClock, parseDuration, type Duration, type ManualClock } from '@ops/core';
import {
  createSloTracker,
  type SloAlertEvent,
  type SloTracker,
  type SloTrackerOptions,
} from '../engine/slo-tracker.js';

/** Options of {@link createSloTestHarness}. */
export interface SloTestHarnessOptions extends Omit<SloTrackerOptions, 'clock' | 'evaluateEvery'> {
  /** Start time (epoch ms). Default 2026-01-01T00:00:00Z. */
  startMs?: number;
}

/** Synthetic traffic for {@link SloTestHarness.feed}. */
export interface SyntheticTraffic {
  /** How long to feed, e.g. `'1h'`. */
  duration: Duration;
  /** Good and bad events per step. */
  good?: number;
  bad?: number;
  /** Step between batches (and alert evaluations). Default `'1m'`. */
  every?: Duration;
  labels?: Record<string, string>;
}

/** A tracker on a manual clock that records every alert transition. */
export interface SloTestHarness {
  clock: ManualClock;
  tracker: SloTracker;
  /** Every `alert.firing` / `alert.resolved` so far, in order. */
  alerts: SloAlertEvent[];
  /**
   * Feeds `good`/`bad` events every `every` for `duration`, advancing the clock and evaluating alerts after each
   * batch. Returns the alert transitions that happened during this feed.
   */
  feed(slo: string, traffic: SyntheticTraffic): Promise<SloAlertEvent[]>;
  /** Advances time without traffic, evaluating every `every` (default 1m). */
  idle(duration: Duration, every?: Duration): Promise<SloAlertEvent[]>;
}

/**
 * Creates a tracker driven by a manual clock, for testing alert wiring (incident hooks, notifications) without
 * waiting: feed an hour of 2% errors in milliseconds and assert which tiers fired when.
 *
 * @example
 * ```ts
 * const harness = createSloTestHarness({ slos: [{ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } }] });
 * const fired = await harness.feed('checkout', { duration: '10m', good: 90, bad: 10 });
 * expect(fired.map((alert) => alert.tier)).toContain('page-quick');
 * ```
 */
export function createSloTestHarness(options: SloTestHarnessOptions): SloTestHarness {
  const { startMs, ...trackerOptions } = options;
  const clock = createManualClock(startMs);
  const tracker = createSloTracker({ ...trackerOptions, clock });
  const alerts: SloAlertEvent[] = [];
  tracker.on('alert.firing', (event) => alerts.push(event));
  tracker.on('alert.resolved', (event) => alerts.push(event));
  const run = async (durationMs: number, stepMs: number, each?: () => void) => {
    const before = alerts.length;
    if (!(stepMs > 0)) throw new RangeError('every must be > 0');
    const steps = Math.max(1, Math.round(durationMs / stepMs));
    for (let step = 0; step < steps; step++) {
      each?.();
      clock.advance(stepMs);
      await tracker.evaluate();
    }
    return alerts.slice(before);
  };
  return {
    clock,
    tracker,
    alerts,
    feed(slo, traffic) {
      const recorder = tracker.get(slo);
      return run(parseDuration(traffic.duration, 'duration'), parseDuration(traffic.every ?? '1m', 'every'), () =>
        recorder.add({
          good: traffic.good ?? 0,
          bad: traffic.bad ?? 0,
          ...(traffic.labels ? { labels: traffic.labels } : {}),
        }),
      );
    },
    idle(duration, every = '1m') {
      return run(parseDuration(duration, 'duration'), parseDuration(every, 'every'));
    },
  };
}
