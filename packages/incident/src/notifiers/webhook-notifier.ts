import { systemClock, type Clock } from '@ops/core';
import { IncidentError } from '../errors.js';
import type { NotificationEventName } from '../model/records.js';
import { defaultFetch, postJson, type FetchFunction } from './http-post.js';
import type { Notifier } from './notifier.js';
import { signStandardWebhook } from './standard-webhooks.js';

/** Options of {@link webhookNotifier}. */
export interface WebhookNotifierOptions {
  url: string;
  /** Standard Webhooks secret (`whsec_<base64>`); messages are signed when given. */
  secret?: string;
  /** Extra headers (e.g. an authorization header). */
  headers?: Record<string, string>;
  /** Events to send. Default: all. */
  events?: readonly NotificationEventName[];
  fetch?: FetchFunction;
  clock?: Clock;
}

/** Checks a target URL once, at configuration time. */
export function checkUrl(url: string, what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new IncidentError(
      'ARGUMENT_INVALID',
      `${what}: url must be an absolute http(s) URL, got ${JSON.stringify(url)}`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new IncidentError('ARGUMENT_INVALID', `${what}: url must be http or https, got ${parsed.protocol}`);
}

/**
 * A generic JSON webhook following Standard Webhooks: body `{ type, timestamp, data: { incident, level, loop, message,
 * url } }`, headers `webhook-id` (also sent as `idempotency-key`; the same on every retry), `webhook-timestamp`, and
 * `webhook-signature` when a `secret` is set. Verify with `verifyStandardWebhook`.
 *
 * @example
 * ```ts
 * const notifiers = { ops: webhookNotifier({ url: 'https://hooks.example.com/incidents', secret: process.env.WEBHOOK_SECRET }) };
 * ```
 */
export function webhookNotifier(options: WebhookNotifierOptions): Notifier {
  const { url, secret, headers = {}, fetch = defaultFetch, clock = systemClock } = options;
  checkUrl(url, 'webhookNotifier');
  return {
    kind: 'webhook',
    ...(options.events ? { events: options.events } : {}),
    async send(payload, context) {
      const body = JSON.stringify({
        type: payload.event,
        timestamp: new Date(payload.at).toISOString(),
        data: {
          incident: payload.incident,
          ...(payload.level === undefined ? {} : { level: payload.level }),
          ...(payload.loop === undefined ? {} : { loop: payload.loop }),
          ...(payload.message === undefined ? {} : { message: payload.message }),
          ...(payload.url === undefined ? {} : { url: payload.url }),
        },
      });
      const timestampSeconds = Math.floor(clock.now() / 1000);
      const signed = secret
        ? signStandardWebhook({ id: context.idempotencyKey, timestampSeconds, body, secret })
        : { 'webhook-id': context.idempotencyKey, 'webhook-timestamp': String(timestampSeconds) };
      await postJson({
        fetch,
        url,
        body,
        headers: { ...headers, ...signed, 'idempotency-key': context.idempotencyKey },
        signal: context.signal,
        clock,
        target: `webhook ${new URL(url).host}`,
      });
    },
  };
}
