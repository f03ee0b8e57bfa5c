import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPostgresDatabase } from '@ops/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedExample } from '../examples/embedded.js';
import { startHub } from '../examples/hub.js';
import { pagingManager } from '../examples/paging.js';
import { startRecordingTarget } from './testing/recording-target.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function example(file: string): string | undefined {
  const escaped = file.replaceAll('/', '\\/').replaceAll('.', '\\.');
  return new RegExp(`<!-- example: ${escaped} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
}

describe('README', () => {
  it('includes examples/embedded.ts verbatim, and it runs', async () => {
    expect(example('examples/embedded.ts')).toBe(
      readFileSync(new URL('../examples/embedded.ts', import.meta.url), 'utf8'),
    );
    await embeddedExample();
  });

  it('includes examples/hub.ts verbatim, and the hub takes Alertmanager and PagerDuty events with the token only', async () => {
    expect(example('examples/hub.ts')).toBe(readFileSync(new URL('../examples/hub.ts', import.meta.url), 'utf8'));
    const hub = await startHub({ port: 0, token: 't0ken' });
    try {
      const post = (path: string, body: unknown, token = 't0ken') =>
        fetch(`${hub.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const amMessage = {
        version: '4',
        groupKey: '{}:{alertname="Down"}',
        status: 'firing',
        receiver: 'hub',
        groupLabels: { alertname: 'Down' },
        commonLabels: { alertname: 'Down', service: 'search', severity: 'warning' },
        commonAnnotations: {},
        externalURL: 'http://alertmanager:9093',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'Down', service: 'search', severity: 'warning' },
            annotations: {},
            startsAt: new Date().toISOString(),
            fingerprint: 'a1',
          },
        ],
      };
      expect((await post('/alertmanager', amMessage, 'wrong')).status).toBe(401);
      expect((await post('/alertmanager', amMessage)).status).toBe(200);
      const pd = await post('/v2/enqueue', {
        routing_key: 'k',
        event_action: 'trigger',
        payload: { summary: 'Queue backlog', source: 'worker-3', severity: 'error' },
      });
      expect(pd.status).toBe(202);
      const services = (await hub.incidents.list())
        .map((incident) => [incident.service.startsWith('pd-') ? 'pd' : incident.service, incident.severity])
        .sort();
      expect(services).toEqual([
        ['pd', 'P1'],
        ['search', 'P2'],
      ]);
    } finally {
      await hub.close();
    }
  });

  it('includes examples/paging.ts verbatim: a P0 runs the automation, then pages PagerDuty; a P2 opens a ticket', async () => {
    expect(example('examples/paging.ts')).toBe(readFileSync(new URL('../examples/paging.ts', import.meta.url), 'utf8'));
    const target = await startRecordingTarget();
    const incidents = pagingManager({
      slackUrl: `${target.url}/slack`,
      pagerDutyKey: 'R0UT1NGK3Y0000000000000000000000',
      pagerDutyUrl: `${target.url}/pagerduty`,
      ticketsUrl: `${target.url}/tickets`,
      hookUrl: `${target.url}/hook`,
      hookSecret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=',
    });
    try {
      await incidents.trigger({ service: 'checkout', title: 'Checkout down', severity: 'P0' });
      await incidents.trigger({ service: 'search', title: 'Slow search', severity: 'P2' });
      await incidents.runDueTimers();
      await incidents.deliverNotifications();
      expect(target.requests.map((request) => request.path).sort()).toEqual(['/slack', '/tickets']);
      const [p0] = await incidents.list({ severity: ['P0'] });
      expect((await incidents.timeline(p0!.id)).find((event) => event.kind === 'automation')?.description).toBe(
        'Automation restartWorkers: failed — no safe restart for this service',
      );
    } finally {
      await incidents.close();
      await target.close();
    }
  });
});

// Every other ```ts block is a whole program: run it as a module, imports of @ops/incident pointing at the source.
const sourceDirectory = dirname(fileURLToPath(import.meta.url));
const examplesDirectory = join(sourceDirectory, '.readme-examples');
const blocks = [...readme.matchAll(/(<!-- [^\n]*-->\n)?```ts\n([\s\S]*?)```/g)].map((match) => ({
  marker: match[1] ?? '',
  code: match[2] as string,
}));
const programs = blocks.filter((block) => block.marker === '');

describe('README programs', () => {
  afterAll(async () => {
    await rm(examplesDirectory, { recursive: true, force: true });
  });

  it('has no fragments: every block is an example file or a whole program', () => {
    expect(blocks.filter((block) => block.marker.includes('consumer: fragment'))).toEqual([]);
    expect(programs.length).toBeGreaterThanOrEqual(4);
  });

  programs.forEach(({ code }, index) => {
    const firstLine = code.split('\n').find((line) => !line.startsWith('import')) ?? '';
    it(`program ${index + 1}: ${firstLine.slice(0, 60)}`, async () => {
      await mkdir(examplesDirectory, { recursive: true });
      const source = (entry: string) => JSON.stringify(pathToFileURL(join(sourceDirectory, entry)).href);
      const rewritten = code
        .replaceAll("from '@ops/incident/testing'", `from ${source('testing/index.ts')}`)
        .replaceAll("from '@ops/incident'", `from ${source('index.ts')}`);
      const file = join(examplesDirectory, `program-${index + 1}.ts`);
      await writeFile(file, `${rewritten}\nexport {};\n`);
      const database = code.includes("from 'pg'")
        ? await createPostgresDatabase({ prefix: 'incident_readme' })
        : undefined;
      const previous = { DATABASE_URL: process.env['DATABASE_URL'], PORT: process.env['PORT'] };
      process.env['PORT'] = '0';
      if (database) process.env['DATABASE_URL'] = database.connectionString;
      try {
        await import(pathToFileURL(file).href);
      } finally {
        for (const [name, value] of Object.entries(previous)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
        await database?.dispose();
      }
    });
  });

  it('links are absolute, so they work on the npm page too', () => {
    const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^(https:\/\/|#)/.test(target));
    expect(relative).toEqual([]);
  });

  it('the install line adds every package the examples import', () => {
    const install = /```sh\nnpm install ([^\n]+)\n```/.exec(readme)?.[1]?.split(/\s+/) ?? [];
    const imported = new Set(
      blocks.flatMap(({ code }) =>
        [...code.matchAll(/from '((?:@[^/']+\/)?[^/']+)[^']*'/g)].map((match) => match[1] as string),
      ),
    );
    const missing = [...imported].filter((name) => !name.startsWith('node:') && !install.includes(name));
    expect(missing).toEqual([]);
  });
});
