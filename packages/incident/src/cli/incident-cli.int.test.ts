import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built command, as a user runs it, against a real PostgreSQL.
const bin = fileURLToPath(new URL('../../bin/ops-incident.js', import.meta.url));
const built = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

let database: PostgresDatabase;
beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_cli' });
});
afterAll(async () => {
  await database?.dispose();
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: { ...process.env, OPS_INCIDENT_DATABASE_URL: database.connectionString, USER: 'alice', ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

const json = (ran: Ran) => JSON.parse(ran.stdout) as any;

// Each call starts a process (a second or more on a busy machine): generous timeouts.
describe('ops-incident (built) against PostgreSQL', { timeout: 180_000 }, () => {
  it('is built', () => {
    expect(existsSync(built), 'build @ops/incident first: pnpm --filter @ops/incident build').toBe(true);
  });

  it('takes an incident from trigger to resolve, refusing wrong moves with exit 1 and bad usage with exit 2', async () => {
    const first = await cli([
      'trigger',
      '--service',
      'checkout',
      '--title',
      'Checkout 5xx above 90%',
      '--severity',
      'P0',
      '--dedup-key',
      'checkout-5xx',
      '--label',
      'team=payments',
      '--json',
    ]);
    expect(first.code, first.stderr).toBe(0);
    const created = json(first) as { action: string; incident: { id: string; severity: string; labels: object } };
    expect(created.action).toBe('created');
    expect(created.incident.severity).toBe('P0');
    expect(created.incident.labels).toMatchObject({ team: 'payments' });
    const id = created.incident.id;
    expect(id).toMatch(/^INC-\d{4}-\d{4}-\d{3}$/);

    const again = await cli(['trigger', '--service', 'checkout', '--title', 'again', '--dedup-key', 'checkout-5xx']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`appended ${id} [P0 triggered] checkout: Checkout 5xx above 90%\n`);

    const listed = await cli(['list', '--open', '--json']);
    expect((json(listed) as { incidents: { id: string; occurrences: number }[] }).incidents).toEqual([
      expect.objectContaining({ id, occurrences: 2 }),
    ]);
    const table = await cli(['list', '--open']);
    expect(table.stdout).toMatch(/^ID\s+STATUS\s+SEV\s+SERVICE/);
    expect(table.stdout).toContain(`${id}  triggered  P0`);

    expect((await cli(['ack', id, '--note', 'looking'])).stdout).toBe(
      `acknowledged ${id} [P0 acknowledged] checkout: Checkout 5xx above 90%\n`,
    );
    expect((await cli(['note', id, 'replica', 'lag', '40s'])).stdout).toBe(`note added to ${id}\n`);
    expect((await cli(['note', id, '--public', 'We are investigating.'])).stdout).toBe(
      `status update added to ${id}\n`,
    );
    expect((await cli(['mitigate', id, '--by', 'bob'])).code).toBe(0);

    const noNote = await cli(['resolve', id]);
    expect(noNote.code).toBe(2);
    expect(noNote.stderr).toMatch(/--note is required/);
    const resolved = await cli(['resolve', id, '--note', 'rolled back 1.4.2', '--json']);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect((json(resolved) as { incident: { status: string; resolveReason: string } }).incident).toMatchObject({
      status: 'resolved',
      resolveReason: 'user',
    });

    const wrongMove = await cli(['mitigate', id, '--json']);
    expect(wrongMove.code).toBe(1);
    expect(json(wrongMove)).toMatchObject({ ok: false, error: { code: 'TRANSITION_INVALID' } });
    expect(wrongMove.stderr).toMatch(/cannot mitigate .*: it is resolved; mitigate is allowed from/);

    const shown = await cli(['show', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status\s+resolved/);
    for (const kind of ['triggered', 'acknowledged', 'note', 'status_update', 'mitigated', 'resolved'])
      expect(shown.stdout).toMatch(new RegExp(`^  \\S+  ${kind}\\s`, 'm'));
    expect(shown.stdout).toContain('[public] We are investigating.');
    expect(shown.stdout).toContain('by bob');

    const postmortem = await cli(['postmortem', id]);
    expect(postmortem.code, postmortem.stderr).toBe(0);
    expect(postmortem.stdout).toMatch(/^# /);
    expect(postmortem.stdout).toContain('## Timeline');

    const metrics = await cli(['metrics', '--json']);
    expect((json(metrics) as { report: { overall: { count: number } } }).report.overall.count).toBe(1);
    expect((await cli(['metrics'])).stdout).toMatch(/checkout\s+P0\s+1\s/);

    const missing = await cli(['show', 'INC-2000-0101-001']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/INC-2000-0101-001/);
  });

  it('keeps silences and maintenance windows', async () => {
    const added = await cli([
      'silence',
      'add',
      '--matcher',
      'service=search',
      '--matcher',
      'severity=~P[23]',
      '--duration',
      '30m',
      '--comment',
      'reindexing',
      '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const silence = (json(added) as { silence: { id: string; createdBy: string; matchers: object[] } }).silence;
    expect(silence.createdBy).toBe('alice');
    expect(silence.matchers).toEqual([
      expect.objectContaining({ name: 'service', value: 'search' }),
      expect.objectContaining({ name: 'severity', value: 'P[23]', isRegex: true }),
    ]);
    expect((await cli(['silence', 'list'])).stdout).toContain(silence.id);
    expect((await cli(['silence', 'expire', silence.id])).code).toBe(0);
    expect((await cli(['silence', 'list'])).stdout).toBe('no silences\n');
    const forever = await cli(['silence', 'add', '--matcher', 'service=x', '--comment', 'no end']);
    expect(forever.code).toBe(2);
    expect(forever.stderr).toMatch(/give --duration or --until: silences are always temporary/);

    const window = await cli([
      'maintenance',
      'add',
      '--title',
      'Nightly vacuum',
      '--service',
      'checkout',
      '--every',
      'daily',
      '--start',
      '02:00',
      '--duration',
      '3h',
      '--time-zone',
      'Europe/Berlin',
      '--json',
    ]);
    expect(window.code, window.stderr).toBe(0);
    const windowId = (json(window) as { window: { id: string } }).window.id;
    const occurrences = json(await cli(['maintenance', 'list', '--json'])) as {
      occurrences: { window: { id: string }; endsAt: number; startsAt: number }[];
    };
    expect(occurrences.occurrences.length).toBeGreaterThanOrEqual(7);
    expect(occurrences.occurrences.every((entry) => entry.endsAt - entry.startsAt === 3 * 3_600_000)).toBe(true);
    expect((await cli(['maintenance', 'cancel', windowId])).code).toBe(0);
    const typo = await cli([
      'maintenance',
      'add',
      '--title',
      'x',
      '--every',
      'dayly',
      '--start',
      '01:00',
      '--duration',
      '1h',
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--every: unknown frequency "dayly".*\(did you mean "daily"\?\)/);
  });

  it('refuses bad flags with exit 2, naming the flag and the one meant', async () => {
    const flag = await cli(['trigger', '--service', 'a', '--title', 'b', '--sevrity', 'P0']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^ops-incident trigger: unknown option --sevrity \(did you mean --severity\?\)$/m);
    const command = await cli(['trigerr']);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/unknown command "trigerr" \(did you mean "trigger"\?\)/);
    const level = await cli(['trigger', '--service', 'a', '--title', 'b', '--severity', 'P5']);
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/--severity: unknown level "P5"; one of P0, P1, P2, P3/);
    const duration = await cli(['list', '--since', '7 days']);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toMatch(/--since/);
    const noStore = await cli(['list'], { OPS_INCIDENT_DATABASE_URL: '' });
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/set OPS_INCIDENT_DATABASE_URL=postgres:\/\/user@host\/database/);
    expect((await cli(['list', '--help'])).stdout).toMatch(/--database-url <url>/);
  });

  it('never shows the database password, also when the store is unreachable', async () => {
    const url = 'postgres://incident:s3cr3t-pa55@127.0.0.1:1/incidents';
    for (const args of [['list'], ['list', '--json'], ['--database-url', url]]) {
      const ran = await cli(args[0] === '--database-url' ? ['show', 'INC-2026-0101-001', ...args] : args, {
        OPS_INCIDENT_DATABASE_URL: url,
      });
      expect(ran.code).toBe(1);
      expect(`${ran.stdout}${ran.stderr}`).not.toContain('s3cr3t-pa55');
      expect(ran.stderr).toMatch(/ECONNREFUSED/);
    }
  });

  it('serves the status page, and with --receivers takes Alertmanager webhooks with the token only', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'status-page', 'serve', '--port', '0', '--receivers', '--component', 'payments=Payments', '--json'],
      {
        env: {
          ...process.env,
          OPS_INCIDENT_DATABASE_URL: database.connectionString,
          OPS_INCIDENT_TOKEN: 'hub-token-123',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let output = '';
      const started = await new Promise<{ url: string; page: string }>((done, fail) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          try {
            done(JSON.parse(output) as { url: string; page: string });
          } catch {
            // not the whole document yet
          }
        });
        child.once('exit', (code) => fail(new Error(`exited ${code}: ${output}`)));
      });
      expect(started.page).toBe(`${started.url}/status/`);
      const message = {
        version: '4',
        groupKey: '{}:{alertname="PaymentsDown"}',
        status: 'firing',
        receiver: 'hub',
        groupLabels: { alertname: 'PaymentsDown' },
        commonLabels: { alertname: 'PaymentsDown', service: 'payments', severity: 'critical' },
        commonAnnotations: { summary: 'Payments down' },
        externalURL: 'http://alertmanager:9093',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'PaymentsDown', service: 'payments', severity: 'critical' },
            annotations: { summary: 'Payments down' },
            startsAt: new Date().toISOString(),
            fingerprint: 'p1',
          },
        ],
      };
      const post = (token: string) =>
        fetch(`${started.url}/webhooks/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(message),
        });
      expect((await post('wrong')).status).toBe(401);
      expect((await post('hub-token-123')).status).toBe(200);
      const summary = (await (await fetch(`${started.url}/status/api/v2/summary.json`)).json()) as {
        components: { id: string; status: string }[];
        incidents: { name: string }[];
      };
      expect(summary.components).toEqual([expect.objectContaining({ id: 'payments', status: 'major_outage' })]);
      expect(summary.incidents.map((incident) => incident.name)).toEqual(['Payments down']);
      const html = await (await fetch(started.page)).text();
      expect(html).toContain('Payments');
    } finally {
      const exited =
        child.exitCode !== null
          ? Promise.resolve(child.exitCode)
          : new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      expect(await exited).toBe(0);
    }
    const listed = json(await cli(['list', '--service', 'payments', '--json'])) as { incidents: { source: string }[] };
    expect(listed.incidents).toEqual([expect.objectContaining({ source: 'alertmanager' })]);
  });
});
