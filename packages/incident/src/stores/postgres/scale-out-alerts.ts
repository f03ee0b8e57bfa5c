import type { AlertEvent } from '../../lifecycle/incident-manager.js';

/** The 1,000 alerts of the scale-out test: 50 dedup keys × 20 distinct alerts each. */
export const SCALE_OUT_KEYS = 50;
export const SCALE_OUT_ALERTS_PER_KEY = 20;

export function scaleOutAlerts(): AlertEvent[] {
  const events: AlertEvent[] = [];
  for (let key = 0; key < SCALE_OUT_KEYS; key++) {
    for (let alert = 0; alert < SCALE_OUT_ALERTS_PER_KEY; alert++) {
      events.push({
        action: 'trigger',
        service: `svc-${key % 5}`,
        dedupKey: `key-${key}`,
        alertKey: `key-${key}/alert-${alert}`,
        summary: `Alert ${alert} of key ${key}`,
        source: 'scale-out-test',
        severity: key % 2 === 0 ? 'P1' : 'P2',
        labels: { instance: `host-${alert}` },
      });
    }
  }
  return events;
}
