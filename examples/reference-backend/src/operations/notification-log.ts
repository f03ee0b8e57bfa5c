import type { Logger } from '@ops/core';
import type { NotificationEventName, Notifier } from '@ops/incident';

/** One notification this process handed to a target. */
export interface DeliveredNotification {
  /** Notifier id (`platform-engineer`, `email`, …). */
  target: string;
  /** The role paged or told (`platform-engineer`, `senior-engineer`, `engineering-manager`, `incident-channel`, `ticket-queue`). */
  role: string;
  /** `webhook`, `email` or `log` (no URL configured: only logged). */
  channel: string;
  event: NotificationEventName;
  incidentId: string;
  severity: string;
  /** Escalation level (1-based, L1–L4) for `incident.escalated`. */
  level?: number;
  attempt: number;
  outcome: 'delivered' | 'failed';
  error?: string;
  at: number;
}

/** What this process delivered (kept for `GET /admin/notifications` and the demo). */
export interface NotificationLog {
  readonly entries: readonly DeliveredNotification[];
  /** Wraps a notifier so each attempt is recorded. */
  record(target: string, role: string, channel: string, notifier: Notifier): Notifier;
}

/** Creates a bounded log (newest `max` entries) of the notifications this process sent. */
export function createNotificationLog(options: { now: () => number; logger: Logger; max?: number }): NotificationLog {
  const { now, logger, max = 500 } = options;
  const entries: DeliveredNotification[] = [];
  const push = (entry: DeliveredNotification) => {
    entries.push(entry);
    if (entries.length > max) entries.splice(0, entries.length - max);
  };
  return {
    entries,
    record(target, role, channel, notifier) {
      return {
        kind: notifier.kind,
        ...(notifier.events === undefined ? {} : { events: notifier.events }),
        async send(payload, context) {
          const base = {
            target,
            role,
            channel,
            event: payload.event,
            incidentId: payload.incident.id,
            severity: payload.incident.severity,
            ...(payload.level === undefined ? {} : { level: payload.level + 1 }),
            attempt: context.attempt,
          };
          try {
            await notifier.send(payload, context);
            push({ ...base, outcome: 'delivered', at: now() });
            logger.info(
              { notification: `${payload.event} ${payload.incident.id} → ${target}` },
              `notified ${role} (${channel})`,
            );
          } catch (error) {
            push({ ...base, outcome: 'failed', error: (error as Error).message, at: now() });
            throw error;
          }
        },
      };
    },
  };
}

/** A notifier that only logs (used for a role when no webhook URL is configured). */
export function logOnlyNotifier(): Notifier {
  return { kind: 'log', send: async () => undefined };
}
