import { parseOptionalDuration, redactText, safeErrorMessage, type Duration } from '@ops/core';
import { request, type Dispatcher } from 'undici';
import { HealingError } from '../errors.js';
import type { ActionContext, HealingAction } from './action.js';

/** Options of {@link callWebhook}. */
export interface CallWebhookOptions {
  /** Where to send it (`https://deploy.internal/hooks/rollback`). Credentials in it never reach the audit. */
  url: string;
  /** HTTP method. Default `'POST'`. */
  method?: 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE';
  /** Request headers (an `authorization` header is fine: headers are never audited). */
  headers?: Record<string, string>;
  /**
   * JSON body, a string, or a function of the step's context. Default `{ rule, target, episodeId, trigger }`.
   * Ignored for GET.
   */
  body?: unknown;
  /** Whole-request timeout. Default `'10s'`. */
  timeout?: Duration;
  /** An undici dispatcher (an `Agent` with custom TLS, a `MockAgent` in a user's tests). */
  dispatcher?: Dispatcher;
  /** Step name. Default `webhook <host>`. */
  name?: string;
}

/**
 * A step that calls a webhook (a deploy system's rollback hook, a scaler, a ChatOps bot) with undici. A non-2xx
 * answer or a timeout fails the step. The audit sees the method, the redacted URL (no credentials, no query
 * secrets) and the status — never the headers or the body.
 *
 * @example
 * ```ts
 * callWebhook({ url: 'https://deploy.internal/hooks/rollback', headers: { authorization: `Bearer ${process.env.DEPLOY_TOKEN}` } })
 * ```
 */
export function callWebhook(options: CallWebhookOptions): HealingAction {
  let parsed: URL;
  try {
    parsed = new URL(options?.url);
  } catch (error) {
    throw new HealingError('ARGUMENT_INVALID', 'callWebhook: url must be an absolute http(s) URL', { cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new HealingError('ARGUMENT_INVALID', `callWebhook: url must be http(s), got ${parsed.protocol}`);
  const { url, method = 'POST', headers = {}, dispatcher } = options;
  const timeoutMs = parseOptionalDuration(options.timeout, 'timeout') ?? 10_000;
  const safeUrl = redactText(`${parsed.protocol}//${parsed.host}${parsed.pathname}`);
  const { name = `webhook ${parsed.host}` } = options;

  const bodyFor = (context: ActionContext): string | undefined => {
    if (method === 'GET') return undefined;
    const given =
      typeof options.body === 'function'
        ? (options.body as (context: ActionContext) => unknown)(context)
        : (options.body ?? {
            rule: context.rule,
            target: context.target,
            episodeId: context.episodeId,
            trigger: context.trigger,
          });
    return typeof given === 'string' ? given : JSON.stringify(given);
  };

  return {
    kind: 'webhook',
    name,
    async run(context) {
      const body = bodyFor(context);
      const hasContentType = Object.keys(headers).some((key) => key.toLowerCase() === 'content-type');
      const controller = new AbortController();
      const onAbort = () => controller.abort(context.signal.reason);
      context.signal.addEventListener('abort', onAbort, { once: true });
      const timer = context.clock.setTimeout(
        () =>
          controller.abort(new HealingError('ACTION_TIMEOUT', `${method} ${safeUrl} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const started = context.clock.monotonic();
      try {
        const response = await request(url, {
          method,
          headers: {
            ...(body !== undefined && !hasContentType ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          ...(body === undefined ? {} : { body }),
          signal: controller.signal,
          ...(dispatcher === undefined ? {} : { dispatcher }),
        });
        // Read (and bound) the answer so the connection is reused; only its size is kept.
        const text = await response.body.text();
        const durationMs = Math.round(context.clock.monotonic() - started);
        const data = { method, url: safeUrl, status: response.statusCode, durationMs };
        if (response.statusCode < 200 || response.statusCode >= 300) {
          throw new HealingError(
            'ACTION_FAILED',
            `${method} ${safeUrl} answered ${response.statusCode}${text ? `: ${redactText(text.slice(0, 200))}` : ''}`,
            { isRetryable: response.statusCode >= 500 || response.statusCode === 429 },
          );
        }
        return { detail: `${method} ${safeUrl} → ${response.statusCode} in ${durationMs} ms`, data };
      } catch (error) {
        if (HealingError.isInstance(error)) throw error;
        const reason = controller.signal.reason;
        if (HealingError.hasCode(reason, 'ACTION_TIMEOUT')) throw reason;
        throw new HealingError('ACTION_FAILED', `${method} ${safeUrl} failed: ${safeErrorMessage(error)}`, {
          cause: error,
        });
      } finally {
        timer.cancel();
        context.signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
