import { createManualClock } from '@ops/core';
import { createRecordingAlertSink } from '@ops/core/testing';
import { describe, expect, it } from 'vitest';
import { evaluateBudget, scalingAnomalies } from '../planning/budget.js';
import { timeToExhaustion } from '../planning/exhaustion.js';
import { capacityAlerts } from './capacity-alerts.js';

const DAY = 86_400_000;

describe('capacityAlerts', () => {
  it('grades time to exhaustion (critical within 7 days, warning within 30, nothing later) with stable keys', async () => {
    const clock = createManualClock(10 * DAY);
    const growth = (perDay: number) => ({
      timestamps: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((day) => day * DAY),
      values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((day) => 100 + day * perDay),
    });
    const alerts = capacityAlerts({
      clock,
      labels: { service: 'checkout' },
      exhaustion: [
        { resource: 'disk', exhaustion: timeToExhaustion(growth(10), { capacity: 250 }) }, // 5 days
        { resource: 'db', exhaustion: timeToExhaustion(growth(10), { capacity: 400 }) }, // 20 days
        { resource: 'pool', exhaustion: timeToExhaustion(growth(1), { capacity: 400 }) }, // 290 days
      ],
    });
    expect(alerts.map((alert) => [alert.key, alert.severity])).toEqual([
      ['capacity/exhaustion/disk', 'critical'],
      ['capacity/exhaustion/db', 'warning'],
    ]);
    expect(alerts[0]!.labels).toMatchObject({ service: 'checkout', resource: 'disk' });
    expect(alerts[0]!.summary).toContain('may run out by');
    const recording = createRecordingAlertSink();
    for (const alert of alerts) await recording.sink(alert);
    expect(recording.alerts).toHaveLength(2);
  });

  it('budget alerts and findings become alerts too', () => {
    const start = Date.UTC(2026, 5, 1);
    const usage = {
      timestamps: Array.from({ length: 48 }, (_, hour) => start + hour * 3_600_000),
      values: Array.from({ length: 48 }, () => 200 / 24),
    };
    const budget = evaluateBudget({ usage, limit: 3000, label: 'spend' });
    const replicas = { timestamps: [] as number[], values: [] as number[] };
    for (let day = 0; day < 5; day++)
      for (let hour = 0; hour < 24; hour++) {
        replicas.timestamps.push(start + day * DAY + hour * 3_600_000);
        replicas.values.push(day === 4 ? 3 + (hour % 2) : 3);
      }
    const alerts = capacityAlerts({
      budgets: [budget],
      findings: scalingAnomalies(replicas),
      clock: createManualClock(start + 2 * DAY),
    });
    const keys = alerts.map((alert) => alert.key);
    expect(keys).toContain('capacity/budget/spend/DAILY_SPEND_OVER_BUDGET/2026-06-01');
    expect(keys).toContain('capacity/budget/spend/PROJECTED_OVER_BUDGET');
    expect(alerts.find((alert) => alert.labels['alert'] === 'UNEXPECTED_SCALING')?.severity).toBe('warning');
  });
});
