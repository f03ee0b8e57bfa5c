import { systemClock, type Clock } from '@ops/core';
import type { NotificationEventName, NotificationPayload } from '../model/records.js';
import { defaultFetch, postJson, type FetchFunction } from './http-post.js';
import { renderNotificationLine, type Notifier } from './notifier.js';
import { checkUrl } from './webhook-notifier.js';

/** Options of {@link slackNotifier}. */
export interface SlackNotifierOptions {
  /** The incoming-webhook URL (Slack, Mattermost, Rocket.Chat and other Slack-compatible servers). */
  webhookUrl: string;
  /** Renders the message text. Default: one line with severity, id, what happened, title, service and link. */
  render?: (payload: NotificationPayload) => string;
  /** Events to post. Default: triggered, escalated, acknowledged, resolved, reopened, status updates. */
  events?: readonly NotificationEventName[];
  /** Override the channel/username/icon where the server allows it. */
  channel?: string;
  username?: string;
  iconEmoji?: string;
  fetch?: FetchFunction;
  clock?: Clock;
}

const MARKS: Partial<Record<NotificationEventName, string>> = {
  'incident.triggered': ':rotating_light:',
  'incident.escalated': ':pager:',
  'incident.acknowledged': ':eyes:',
  'incident.mitigated': ':adhesive_bandage:',
  'incident.resolved': ':white_check_mark:',
  'incident.reopened': ':repeat:',
  'incident.status_updated': ':mega:',
};

/**
 * A Slack-compatible incoming webhook: posts `{ text }` (mrkdwn), retried on 429 with `Retry-After` as Slack asks.
 *
 * @example
 * ```ts
 * const notifiers = { oncallChannel: slackNotifier({ webhookUrl: process.env.SLACK_WEBHOOK_URL! }) };
 * ```
 */
export function slackNotifier(options: SlackNotifierOptions): Notifier {
  const { webhookUrl, fetch = defaultFetch, clock = systemClock, render } = options;
  checkUrl(webhookUrl, 'slackNotifier');
  const events = options.events ?? [
    'incident.triggered',
    'incident.escalated',
    'incident.acknowledged',
    'incident.resolved',
    'incident.reopened',
    'incident.status_updated',
  ];
  return {
    kind: 'slack',
    events,
    async send(payload, context) {
      const text = render ? render(payload) : `${MARKS[payload.event] ?? ''} ${renderNotificationLine(payload)}`.trim();
      const body = JSON.stringify({
        text,
        ...(options.channel ? { channel: options.channel } : {}),
        ...(options.username ? { username: options.username } : {}),
        ...(options.iconEmoji ? { icon_emoji: options.iconEmoji } : {}),
      });
      await postJson({
        fetch,
        url: webhookUrl,
        body,
        headers: { 'idempotency-key': context.idempotencyKey },
        signal: context.signal,
        clock,
        target: 'slack',
      });
    },
  };
}
