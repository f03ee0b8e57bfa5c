import { startHttpServer, type TestHttpServer } from '@ops/testkit';

/** One POST the receiver got. */
export interface ReceivedWebhook {
  /** `webhook-id` (Standard Webhooks), else `idempotency-key`: the same on every retry of one message. */
  id: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** A loopback webhook receiver (the backend's `NOTIFY_WEBHOOK_URL`) that records every delivery. */
export interface WebhookReceiver {
  readonly url: string;
  /** Every delivery in arrival order, retries included. */
  readonly received: readonly ReceivedWebhook[];
  close(): Promise<void>;
}

/** Starts a receiver answering 200 to every POST and recording it. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: TestHttpServer = await startHttpServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Recorded as text.
    }
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    received.push({
      id: header('webhook-id') ?? header('idempotency-key') ?? '',
      headers: { ...request.headers },
      body,
    });
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  return { url: `${server.url}/pages`, received, close: () => server.close() };
}
