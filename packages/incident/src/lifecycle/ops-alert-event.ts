import { parseOpsAlert, type OpsAlert } from '@ops/core';
import { IncidentError } from '../errors.js';
import type { AlertEvent } from './incident-manager.js';

/**
 * The {@link AlertEvent} of a core `OpsAlert`: service from `labels.service` (else `defaultService`), dedup key the
 * alert's `key`, `firing` → trigger, `resolved` → resolve. @throws IncidentError `PAYLOAD_INVALID` naming the bad field.
 */
export function opsAlertToEvent(alert: OpsAlert, defaultService: string): AlertEvent {
  let parsed: OpsAlert;
  try {
    parsed = parseOpsAlert(alert);
  } catch (error) {
    throw new IncidentError('PAYLOAD_INVALID', (error as Error).message, { cause: error });
  }
  return {
    action: parsed.status === 'firing' ? 'trigger' : 'resolve',
    service: parsed.labels['service'] ?? defaultService,
    dedupKey: parsed.key,
    summary: parsed.summary,
    alertSeverity: parsed.severity,
    source: parsed.source,
    labels: parsed.labels,
    annotations: parsed.annotations,
    startsAt: parsed.startsAt,
    ...(parsed.generatorUrl === undefined ? {} : { generatorUrl: parsed.generatorUrl }),
    ...(parsed.endsAt === undefined
      ? {}
      : {
          members: [{ alertKey: parsed.key, status: parsed.status, endsAt: parsed.endsAt, startsAt: parsed.startsAt }],
        }),
  };
}
