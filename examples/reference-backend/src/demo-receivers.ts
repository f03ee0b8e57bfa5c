// The demo's own loopback receivers: a Standard-Webhooks endpoint standing in for the on-call tool, and an SMTP
// server standing in for the mail relay. Both are real servers on 127.0.0.1 and ephemeral ports.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyStandardWebhook } from '@ops/incident';
import { SMTPServer } from 'smtp-server';

/** One webhook the receiver got. */
export interface ReceivedWebhook {
  /** `x-notes-oncall-role` header: who was paged or told. */
  role: string;
  /** `type` of the body (`incident.escalated`, `incident.triggered`, …). */
  type: string;
  incidentId: string;
  severity: string;
  /** Escalation level, 1-based (L2 = 2), for `incident.escalated`. */
  level?: number;
  /** The Standard-Webhooks signature checked out against the shared secret. */
  signatureValid: boolean;
  /** The `webhook-timestamp` header (seconds, on the service's clock). */
  timestampSeconds: number;
}

/** A loopback webhook receiver. */
export interface WebhookReceiver {
  readonly url: string;
  readonly secret: string;
  readonly received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** Starts the webhook receiver; `now()` is the clock the signatures' timestamps are checked against. */
export async function startWebhookReceiver(options: { now: () => number }): Promise<WebhookReceiver> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
      );
      let signatureValid: boolean;
      try {
        signatureValid = verifyStandardWebhook({
          headers,
          body,
          secret,
          nowSeconds: Math.floor(options.now() / 1000),
        });
      } catch {
        signatureValid = false;
      }
      try {
        const parsed = JSON.parse(body) as {
          type: string;
          data: { incident: { id: string; severity: string }; level?: number };
        };
        received.push({
          role: String(headers['x-notes-oncall-role'] ?? '?'),
          type: parsed.type,
          incidentId: parsed.data.incident.id,
          severity: parsed.data.incident.severity,
          ...(parsed.data.level === undefined ? {} : { level: parsed.data.level + 1 }),
          signatureValid,
          timestampSeconds: Number(headers['webhook-timestamp'] ?? 0),
        });
        response.writeHead(204).end();
      } catch {
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/oncall`,
    secret,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One e-mail the SMTP server accepted. */
export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

/** A loopback SMTP server. */
export interface SmtpReceiver {
  /** `smtp://127.0.0.1:<port>` for `SMTP_URL`. */
  readonly url: string;
  readonly received: ReceivedMail[];
  close(): Promise<void>;
}

/** Starts an SMTP server on loopback (no TLS, no auth), as @ops/incident's e-mail tests do. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.indexOf('\r\n\r\n');
        const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
        const subject = /^subject: (.*)$/im.exec(head)?.[1] ?? '';
        received.push({
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          subject: decodeMimeWords(subject),
          text: raw.slice(split + 4),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = (server as unknown as { server: Server }).server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?…?=` / `=?UTF-8?B?…?=`) of a header. */
function decodeMimeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_match, _charset: string, encoding: string, text: string) => {
      if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
      const bytes = text
        .replace(/_/g, ' ')
        .replace(/=([0-9A-Fa-f]{2})/g, (_hex, code: string) => String.fromCharCode(parseInt(code, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    });
}
