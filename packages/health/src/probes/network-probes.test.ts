import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { withDeadline } from '@ops/core';
import { createManualClock } from '@ops/core/testing';
import { startHttpServer, tempDir, type TempDir } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { httpProbe } from './http-probe.js';
import { dnsProbe, tcpProbe, tlsCertificateProbe } from './network-probes.js';

const within = <T>(work: (signal: AbortSignal) => Promise<T>, timeoutMs = 3_000) => withDeadline(work, { timeoutMs });

let certificates: TempDir;
let key: Buffer;
let certificate: Buffer;
beforeAll(async () => {
  certificates = await tempDir('health-tls');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-days',
      '10',
      '-keyout',
      join(certificates.path, 'key.pem'),
      '-out',
      join(certificates.path, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  key = readFileSync(join(certificates.path, 'key.pem'));
  certificate = readFileSync(join(certificates.path, 'cert.pem'));
});
afterAll(async () => {
  await certificates?.dispose();
});

describe('httpProbe', () => {
  it('applies the status predicate and reports the response time', async () => {
    const server = await startHttpServer((request, response) => {
      response.statusCode = request.url === '/teapot' ? 418 : 200;
      response.end('ok');
    });
    try {
      expect(await within((signal) => httpProbe({ url: `${server.url}/` })(signal))).toMatchObject({
        status: 'pass',
        observedUnit: 'ms',
        details: { statusCode: 200 },
      });
      expect(await within((signal) => httpProbe({ url: `${server.url}/teapot` })(signal))).toMatchObject({
        status: 'fail',
        output: expect.stringContaining('answered 418'),
      });
      expect(
        (await within((signal) => httpProbe({ url: `${server.url}/teapot`, expectStatus: [418] })(signal))).status,
      ).toBe('pass');
      expect(
        (
          await within((signal) =>
            httpProbe({ url: `${server.url}/`, expectStatus: (status) => status === 204 })(signal),
          )
        ).status,
      ).toBe('fail');
      expect(
        (await within((signal) => httpProbe({ url: `${server.url}/`, expectBodyIncludes: 'nope' })(signal))).status,
      ).toBe('fail');
    } finally {
      await server.close();
    }
  });

  it('caps the body it reads', async () => {
    const server = await startHttpServer((_request, response) => {
      response.end(Buffer.alloc(1024 * 1024, 97));
    });
    try {
      const result = await within((signal) =>
        httpProbe({ url: server.url, maxBodyBytes: 1024, expectBodyIncludes: 'aaa' })(signal),
      );
      expect(result).toMatchObject({ status: 'pass', details: { bodyBytesRead: 1024, bodyTruncated: true } });
    } finally {
      await server.close();
    }
  });

  it('a slow dependency: the endpoint answers at the deadline and the request is really aborted', async () => {
    let closedByClient = 0;
    const server = await startHttpServer((request) => {
      request.socket.once('close', () => closedByClient++);
    });
    const health = createHealth({ startReady: true, shutdown: { signals: [] } });
    health.register({
      name: 'payments',
      check: httpProbe({ url: `http://user:hunter2@127.0.0.1:${server.port}/slow` }),
      timeout: '200ms',
    });
    try {
      const report = await health.ready();
      expect(report.status).toBe('fail');
      expect(report.checks[0]).toMatchObject({ timedOut: true });
      for (let attempt = 0; attempt < 100 && closedByClient === 0; attempt++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(closedByClient).toBe(1);
    } finally {
      health.close();
      await server.close();
    }
  });

  it('https with a private CA passes; an untrusted chain fails; credentials never show', async () => {
    const server = createTlsServer({ key, cert: certificate }, (_request, response) => response.end('secure'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      expect((await within((signal) => httpProbe({ url, tls: { ca: certificate } })(signal))).status).toBe('pass');
      await expect(within((signal) => httpProbe({ url })(signal))).rejects.toThrow(/self.signed|certificate/i);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('tlsCertificateProbe', () => {
  it('reports the days left and warns or fails under the thresholds', async () => {
    const server = createTlsServer({ key, cert: certificate }, (_request, response) => response.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const warn = await within((signal) =>
        tlsCertificateProbe({ host: '127.0.0.1', port, tls: { ca: certificate } })(signal),
      );
      expect(warn.status).toBe('warn');
      expect(warn.observedUnit).toBe('days');
      expect(warn.observed).toBeGreaterThan(9);
      expect(warn.observed).toBeLessThanOrEqual(10);
      expect(
        (
          await within((signal) =>
            tlsCertificateProbe({ host: '127.0.0.1', port, tls: { ca: certificate }, warnDays: 5, failDays: 1 })(
              signal,
            ),
          )
        ).status,
      ).toBe('pass');
      const later = createManualClock(Date.now() + 20 * 86_400_000);
      expect(
        await within((signal) =>
          tlsCertificateProbe({ host: '127.0.0.1', port, tls: { ca: certificate }, clock: later })(signal),
        ),
      ).toMatchObject({ status: 'fail', output: expect.stringMatching(/expired/) });
      await expect(within((signal) => tlsCertificateProbe({ host: '127.0.0.1', port })(signal))).rejects.toThrow(
        /self.signed|certificate/i,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('tcpProbe and dnsProbe', () => {
  it('tcp: passes on an open port, fails on a closed one', async () => {
    const server = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      expect((await within((signal) => tcpProbe({ host: '127.0.0.1', port })(signal))).status).toBe('pass');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(within((signal) => tcpProbe({ host: '127.0.0.1', port })(signal))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('dns: lookup of localhost passes; a resolver that cannot be reached fails', async () => {
    expect(await within((signal) => dnsProbe({ hostname: 'localhost' })(signal))).toMatchObject({
      status: 'pass',
      details: { answers: expect.any(Number) },
    });
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(
      within(
        (signal) => dnsProbe({ hostname: 'example.internal', mode: 'resolve', servers: [`127.0.0.1:${port}`] })(signal),
        10_000,
      ),
    ).rejects.toThrow();
  });

  it('dns: a lookup that never returns is not started again on the next check (no pile-up in the thread pool)', async () => {
    const calls: string[] = [];
    let answer: (addresses: unknown[]) => void = () => undefined;
    // The first lookup hangs until answered (a resolver that does not reply); later ones answer at once.
    const hangingLookup = (hostname: string) => {
      calls.push(hostname);
      if (calls.length > 1) return Promise.resolve([{ address: '10.0.0.7', family: 4 }]);
      return new Promise<unknown[]>((resolve) => {
        answer = resolve;
      });
    };
    const probe = dnsProbe({ hostname: 'db.internal', lookup: hangingLookup });
    await expect(within((signal) => probe(signal), 50)).rejects.toThrow();
    expect(await within((signal) => probe(signal), 50)).toMatchObject({
      status: 'fail',
      output: expect.stringMatching(/still pending: the previous lookup of db\.internal has not returned/),
    });
    expect(calls).toEqual(['db.internal']);
    answer([{ address: '10.0.0.7', family: 4 }]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await within((signal) => probe(signal))).toMatchObject({ status: 'pass', details: { answers: 1 } });
    expect(calls).toEqual(['db.internal', 'db.internal']);
  });
});
