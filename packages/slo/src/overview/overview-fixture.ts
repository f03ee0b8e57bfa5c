// Test support (not exported): a tracker with two days of history and a burning SLO, for the overview tests.
import { createManualClock, type ManualClock } from '@ops/core';
import { createSloTracker, type SloTracker } from '../engine/slo-tracker.js';

const MINUTE = 60_000;

/**
 * `shop/checkout` (99.9%, 30d): two clean days, then an hour at 5% errors — page tiers fire, budget overspent.
 * `shop/search-latency` (99%, calendar month): clean. `shop/payments` (99.5%, 7d): 0.2% errors, nothing fires.
 */
export async function overviewFixture(): Promise<{ clock: ManualClock; tracker: SloTracker }> {
  const clock = createManualClock(Date.UTC(2026, 5, 10, 0, 0));
  const tracker = createSloTracker({
    clock,
    slos: [
      {
        service: 'shop',
        name: 'search-latency',
        description: 'Search answers within 300 ms',
        objective: 0.99,
        sli: { type: 'latency', threshold: '300ms' },
        window: { calendar: 'month', timeZone: 'UTC' },
      },
      {
        service: 'shop',
        name: 'checkout',
        description: 'Checkout requests succeed',
        objective: 0.999,
        sli: { type: 'availability' },
      },
      { service: 'shop', name: 'payments', objective: 0.995, window: '7d', sli: { type: 'availability' } },
    ],
  });
  const checkout = tracker.get('checkout');
  const payments = tracker.get('payments');
  const search = tracker.get('search-latency');
  for (let minute = 0; minute < 2 * 24 * 60; minute += 5) {
    const outage = minute >= 2 * 24 * 60 - 60;
    checkout.add({ good: outage ? 950 : 1000, bad: outage ? 50 : 0 });
    payments.add({ good: 499, bad: 1 });
    search.add({ good: 200 });
    clock.advance(5 * MINUTE);
    if (minute % 60 === 0 || outage) await tracker.evaluate();
  }
  await tracker.evaluate();
  return { clock, tracker };
}
