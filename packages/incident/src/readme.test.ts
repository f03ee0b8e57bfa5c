import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { embeddedExample } from '../examples/embedded.js';
import { startHub } from '../examples/hub.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function example(file: string): string | undefined {
  const escaped = file.replaceAll('/', '\\/').replaceAll('.', '\\.');
  return new RegExp(`<!-- example: ${escaped} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
}

describe('README', () => {
  it('includes examples/embedded.ts verbatim, and it runs', async () => {
    expect(example('examples/embedded.ts')).toBe(readFileSync(new URL('../examples/embedded.ts', import.meta.url), 'utf8'));
    await embeddedExample();
  });

  it('includes examples/hub.ts verbatim, and the hub takes Alertmanager and PagerDuty events with the token only', async () => {
    expect(example('examples/hub.ts')).toBe(readFileSync(new URL('../examples/hub.ts', import.meta.url), 'utf8'));
    const hub = await startHub({ port: 0, token: 't0ken' });
    try {
      const post = (path: string, body: unknown, token = 't0ken') =>
        fetch(`${hub.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const amMessage = {
        version: '4',
        groupKey: '{}:{alertname="Down"}',
        status: 'firing',
        receiver: 'hub',
        groupLabels: { alertname: 'Down' },
        commonLabels: { alertname: 'Down', service: 'search', severity: 'warning' },
        commonAnnotations: {},
        externalURL: 'http://alertmanager:9093',
        alerts: [{ status: 'firing', labels: { alertname: 'Down', service: 'search', severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString(), fingerprint: 'a1' }],
      };
      expect((await post('/alertmanager', amMessage, 'wrong')).status).toBe(401);
      expect((await post('/alertmanager', amMessage)).status).toBe(200);
      const pd = await post('/v2/enqueue', { routing_key: 'k', event_action: 'trigger', payload: { summary: 'Queue backlog', source: 'worker-3', severity: 'error' } });
      expect(pd.status).toBe(202);
      const services = (await hub.incidents.list()).map((incident) => [incident.service.startsWith('pd-') ? 'pd' : incident.service, incident.severity]).sort();
      expect(services).toEqual([['pd', 'P1'], ['search', 'P2']]);
    } finally {
      await hub.close();
    }
  });
});
