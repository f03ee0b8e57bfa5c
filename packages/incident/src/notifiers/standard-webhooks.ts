import { createHmac, timingSafeEqual } from 'node:crypto';

/** The key bytes of a Standard Webhooks secret (`whsec_<base64>`; a secret without the prefix is used as UTF-8). */
function secretBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * The Standard Webhooks headers (standardwebhooks.com) of a message: `webhook-id`, `webhook-timestamp` (Unix seconds)
 * and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
 */
export function signStandardWebhook(options: {
  id: string;
  timestampSeconds: number;
  body: string;
  secret: string;
}): Record<string, string> {
  const { id, timestampSeconds, body, secret } = options;
  const signature = createHmac('sha256', secretBytes(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

/**
 * Verifies Standard Webhooks headers on a received body: one of the space-separated `v1,` signatures must match and the
 * timestamp must be within `toleranceSeconds` (default 300) of `nowSeconds`. For receivers of our webhooks and tests.
 */
export function verifyStandardWebhook(options: {
  headers: Record<string, string | undefined>;
  body: string;
  secret: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): boolean {
  const { headers, body, secret, nowSeconds, toleranceSeconds = 300 } = options;
  const id = headers['webhook-id'];
  const timestamp = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature'];
  if (!id || !Number.isFinite(timestamp) || !signatures || Math.abs(nowSeconds - timestamp) > toleranceSeconds)
    return false;
  const expected = Buffer.from(
    signStandardWebhook({ id, timestampSeconds: timestamp, body, secret })['webhook-signature']!.slice(3),
    'base64',
  );
  return signatures.split(' ').some((candidate) => {
    if (!candidate.startsWith('v1,')) return false;
    const given = Buffer.from(candidate.slice(3), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
