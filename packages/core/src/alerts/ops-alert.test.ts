import { describe, expect, it } from 'vitest';
import { createRecordingAlertSink } from '../testing/recording-alert-sink.js';
import { fanOutAlerts, parseOpsAlert, type OpsAlert } from './ops-alert.js';

const alert: OpsAlert = {
  key: 'slo:checkout:page',
  status: 'firing',
  severity: 'critical',
  summary: 'checkout availability burning budget 14.4x',
  source: 'slo',
  labels: { service: 'checkout', slo: 'availability' },
  annotations: { burnRate: '15.2' },
  startsAt: Date.UTC(2026, 0, 1),
};

describe('OpsAlert', () => {
  it('parses a valid alert and names the bad field of an invalid one', () => {
    expect(parseOpsAlert(alert)).toEqual(alert);
    expect(() => parseOpsAlert({ ...alert, status: 'open' })).toThrow(/status/);
    expect(() => parseOpsAlert({ ...alert, severity: 'P1' })).toThrow(/severity/);
    expect(() => parseOpsAlert({ ...alert, endsAt: alert.startsAt - 1 })).toThrow(/endsAt/);
    expect(() => parseOpsAlert({ ...alert, labels: { service: 1 } })).toThrow(/labels\.service/);
    expect(() => parseOpsAlert({ ...alert, extra: true })).toThrow(/extra/);
  });

  it('fanOutAlerts delivers to every sink and reports the failures after trying all', async () => {
    const first = createRecordingAlertSink();
    const second = createRecordingAlertSink();
    const third = createRecordingAlertSink();
    second.failNext(1, new Error('pager down'));
    const sink = fanOutAlerts(first.sink, second.sink, third.sink);
    await expect(sink(alert)).rejects.toMatchObject({ message: '1 of 3 alert sinks failed for "slo:checkout:page"' });
    expect(first.alerts).toHaveLength(1);
    expect(third.alerts).toHaveLength(1);
    await sink({ ...alert, status: 'resolved', endsAt: alert.startsAt + 60_000 });
    expect(second.alerts.map((received) => received.status)).toEqual(['resolved']);
  });
});
