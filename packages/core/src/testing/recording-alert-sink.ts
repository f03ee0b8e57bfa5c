import type { AlertSink, OpsAlert } from '../alerts/ops-alert.js';

/** An {@link AlertSink} that keeps what it receives, for a user's own tests. */
export interface RecordingAlertSink {
  /** The sink to hand to an alert source. */
  sink: AlertSink;
  /** Every alert received, in order. */
  readonly alerts: readonly OpsAlert[];
  /** Makes the next `count` deliveries reject with `error` (to test the sender's retries). */
  failNext(count: number, error?: Error): void;
  /** Forgets what was received. */
  clear(): void;
}

/** Creates a {@link RecordingAlertSink}. */
export function createRecordingAlertSink(): RecordingAlertSink {
  const alerts: OpsAlert[] = [];
  let failures = 0;
  let failure = new Error('recording sink: delivery refused');
  return {
    sink: async (alert) => {
      if (failures > 0) {
        failures--;
        throw failure;
      }
      alerts.push(structuredClone(alert));
    },
    alerts,
    failNext(count, error) {
      failures = count;
      if (error) failure = error;
    },
    clear: () => {
      alerts.length = 0;
    },
  };
}
