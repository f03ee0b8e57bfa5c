import type { AddressInfo } from 'node:net';
import { createManualClock } from '@ops/core';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { emailNotifier } from './email-notifier.js';

// A real SMTP server (nodemailer's smtp-server) on loopback; the notifier speaks SMTP to it through nodemailer.
interface Received {
  from: string | undefined;
  recipients: string[];
  headers: Record<string, string>;
  body: string;
}

type Reply = { code: number; message: string } | undefined;

async function startSmtp(replyToRecipient: (address: string, attempt: number) => Reply = () => undefined) {
  const received: Received[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const reply = replyToRecipient(address.address, attempts);
      if (!reply) return callback();
      const error = new Error(reply.message) as Error & { responseCode: number };
      error.responseCode = reply.code;
      return callback(error);
    },
    onMailFrom(_address, _session, callback) {
      attempts++;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.indexOf('\r\n\r\n');
        const headers: Record<string, string> = {};
        for (const line of raw
          .slice(0, split)
          .replace(/\r\n[ \t]+/g, ' ')
          .split('\r\n')) {
          const at = line.indexOf(':');
          headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
        }
        let body = raw.slice(split + 4);
        if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? ''))
          body = Buffer.from(
            body
              .replace(/=\r\n/g, '')
              .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          ).toString('utf8');
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          recipients: session.envelope.rcptTo.map((recipient) => recipient.address),
          headers,
          body: body.replace(/\r\n/g, '\n'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    attempts: () => attempts,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined;
afterEach(async () => {
  await smtp?.close();
  smtp = undefined;
});

const T0 = Date.UTC(2026, 0, 13, 9, 0, 0);

function manager(port: number) {
  const clock = createManualClock(T0);
  const incidents = createIncidentManager({
    clock,
    autoStart: false,
    notifiers: {
      email: emailNotifier({
        smtp: { host: '127.0.0.1', port, ignoreTLS: true },
        from: 'Incidents <incidents@acme.example>',
        to: ['oncall@acme.example', 'cto@acme.example'],
      }),
    },
    routes: [
      {
        notify: ['email'],
        events: ['incident.triggered', 'incident.status_updated', 'incident.mitigated', 'incident.resolved'],
      },
    ],
    delivery: { random: () => 0.5, initialDelay: '10s', maxDelay: '1m', maxAttempts: 5 },
    publicUrl: (incident) => `https://status.acme.example/incidents/${incident.id}`,
  });
  const tick = async (ms: number) => {
    clock.advance(ms);
    await incidents.deliverNotifications();
  };
  return { clock, incidents, tick };
}

describe('emailNotifier over SMTP (smtp-server on loopback)', () => {
  it("sends the runbook's P0 e-mail to every recipient, with threading headers and the next update from the cadence", async () => {
    smtp = await startSmtp();
    const { incidents, tick } = manager(smtp.port);
    try {
      const { incident } = await incidents.trigger({
        service: 'checkout',
        title: 'Checkout 5xx above 90%',
        severity: 'P0',
        components: ['payments'],
      });
      await incidents.assignRole(incident!.id, 'commander', 'alice');
      await tick(0);
      expect(smtp.received).toHaveLength(1);
      const [mail] = smtp.received;
      expect(mail!.from).toBe('incidents@acme.example');
      expect(mail!.recipients).toEqual(['oncall@acme.example', 'cto@acme.example']);
      expect(mail!.headers['subject']).toBe(`[P0] ${incident!.id}: Checkout 5xx above 90%`);
      expect(mail!.headers['from']).toBe('Incidents <incidents@acme.example>');
      expect(mail!.headers['to']).toBe('oncall@acme.example, cto@acme.example');
      expect(mail!.headers['x-ops-incident-id']).toBe(incident!.id);
      expect(mail!.headers['x-ops-incident-event']).toBe('incident.triggered');
      expect(mail!.headers['references']).toBe(`<${incident!.id}@acme.example>`);
      const [row] = await incidents.notifications(incident!.id);
      expect(mail!.headers['message-id']).toBe(`<${row!.id}@acme.example>`);
      expect(mail!.body).toContain(`Incident ID: ${incident!.id}\n`);
      expect(mail!.body).toContain('Severity: P0 (high urgency, critical impact)\n');
      expect(mail!.body).toContain('Services affected: checkout (payments)\n');
      expect(mail!.body).toContain('Current status: Investigating.\n');
      expect(mail!.body).toContain('Next Update: 30 minutes\n');
      expect(mail!.body).toContain(`https://status.acme.example/incidents/${incident!.id}`);

      await incidents.postUpdate(incident!.id, { body: 'Rolled back 1.4.2; error rate falling.' });
      await tick(0);
      expect(smtp.received).toHaveLength(2);
      expect(smtp.received[1]!.headers['subject']).toBe(`[P0] Update: ${incident!.id}: Checkout 5xx above 90%`);
      expect(smtp.received[1]!.body).toContain('Current status: Rolled back 1.4.2; error rate falling.\n');
      expect(smtp.received[1]!.body).toContain('Incident Commander: alice\n');
      expect(smtp.received[1]!.headers['references']).toBe(`<${incident!.id}@acme.example>`);
    } finally {
      await incidents.close();
    }
  });

  it('retries a temporary SMTP failure (451) and delivers once, with the same Message-ID', async () => {
    smtp = await startSmtp((_address, attempt) =>
      attempt <= 2 ? { code: 451, message: 'greylisted, try again later' } : undefined,
    );
    const { incidents, tick } = manager(smtp.port);
    try {
      const { incident } = await incidents.trigger({ service: 'search', title: 'Search slow', severity: 'P2' });
      await tick(0);
      expect(smtp.received).toHaveLength(0);
      let [row] = await incidents.notifications(incident!.id);
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row!.lastError).toMatch(/email: SMTP 451: .*greylisted/);
      await tick(60_000);
      await tick(60_000);
      expect(smtp.received).toHaveLength(1);
      await tick(3_600_000);
      expect(smtp.received).toHaveLength(1); // delivered: never sent again
      [row] = await incidents.notifications(incident!.id);
      expect(row).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(smtp.received[0]!.headers['message-id']).toBe(`<${row!.id}@acme.example>`);
    } finally {
      await incidents.close();
    }
  });

  it('dead-letters a permanent SMTP failure (550) at once as a notify_failed timeline entry', async () => {
    smtp = await startSmtp(() => ({ code: 550, message: 'no such mailbox' }));
    const { incidents, tick } = manager(smtp.port);
    try {
      const { incident } = await incidents.trigger({ service: 'search', title: 'Search slow', severity: 'P2' });
      await tick(0);
      await tick(3_600_000);
      expect(smtp.attempts()).toBe(1);
      const [row] = await incidents.notifications(incident!.id);
      expect(row).toMatchObject({ status: 'dead', attempts: 1 });
      const failed = (await incidents.timeline(incident!.id)).find((event) => event.kind === 'notify_failed');
      expect(failed?.description).toMatch(/email.*SMTP 550.*no such mailbox/);
    } finally {
      await incidents.close();
    }
  });

  it('keeps the message for a retry when the SMTP server is unreachable', async () => {
    const probe = await startSmtp();
    const port = probe.port;
    await probe.close();
    const { incidents, tick } = manager(port);
    try {
      const { incident } = await incidents.trigger({ service: 'search', title: 'Search slow', severity: 'P2' });
      await tick(0);
      const [row] = await incidents.notifications(incident!.id);
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row!.lastError).toMatch(/ECONNREFUSED|ECONNECTION/);
    } finally {
      await incidents.close();
    }
  });

  it('refuses incomplete options', () => {
    expect(() => emailNotifier({ from: 'a@b.example', to: [], smtp: { host: '127.0.0.1' } })).toThrow(/to needs/);
    expect(() => emailNotifier({ from: 'a@b.example', to: 'c@d.example' })).toThrow(/give smtp .* or a transport/);
    expect(() =>
      emailNotifier({
        from: 'a@b.example',
        to: 'c@d.example',
        smtp: { host: 'x' },
        events: ['incident.nope' as never],
      }),
    ).toThrow(/no e-mail template for the event "incident.nope"/);
  });
});
