import { existsSync } from 'node:fs';

import { request } from 'undici';
import { describe, expect, it } from 'vitest';

import { startHttpServer } from '../http/http-server.js';
import { isProcessAlive, waitFor } from '../process/process-utilities.js';
import { startAlertmanager } from './alertmanager.js';

describe('startAlertmanager', () => {
  it('is ready on a loopback port and delivers a posted alert to a webhook', async () => {
    const received: unknown[] = [];
    const webhook = await startHttpServer(async (incoming, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of incoming) chunks.push(chunk as Buffer);
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200).end();
    });
    const alertmanager = await startAlertmanager({
      configYaml: [
        'route:',
        '  receiver: ops',
        '  group_wait: 0s',
        '  group_interval: 1s',
        'receivers:',
        '  - name: ops',
        '    webhook_configs:',
        `      - url: '${webhook.url}/alerts'`,
        '',
      ].join('\n'),
    });
    try {
      expect(alertmanager.url).toBe(`http://127.0.0.1:${alertmanager.port}`);
      const ready = await request(`${alertmanager.url}/-/ready`);
      expect(ready.statusCode).toBe(200);
      await ready.body.dump();

      const posted = await request(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels: { alertname: 'TestkitAlert', severity: 'page' } }]),
      });
      expect(posted.statusCode).toBe(200);
      await posted.body.dump();

      const delivery = await waitFor(() => received[0], {
        timeoutMs: 20_000,
        intervalMs: 100,
        description: 'Alertmanager calling the webhook',
      });
      expect(delivery).toMatchObject({ status: 'firing', alerts: [{ labels: { alertname: 'TestkitAlert' } }] });
    } finally {
      await alertmanager.stop();
      await webhook.close();
    }
    expect(isProcessAlive(alertmanager.pid)).toBe(false);
    expect(existsSync(alertmanager.dir)).toBe(false);
  });
});
