// The maintenance window from the runbooks: pre-checks (a verified backup younger than N), stakeholders notified, a
// window opened in @ops/incident (paging silenced, the status page shows it), the tasks run, post-checks with
// synthetic probes, the window closed — also when a task fails or is interrupted.
//
//   npx tsx src/maintenance-window.ts --incidents-db "$INCIDENTS_DATABASE_URL" --title "PostgreSQL 15.8 upgrade" \
//     --service notes --component api --backup-dir /var/backups/notes --backup-max-age 24h \
//     --notify-webhook "$STAKEHOLDERS_WEBHOOK" --probe ready=http://127.0.0.1:8080/health/ready -- ./upgrade.sh
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import {
  humanizeDuration,
  parseDuration,
  safeErrorMessage,
  systemClock,
  UsageError,
  withDeadline,
  type CliContext,
  type Clock,
} from '@ops/core';
import { httpProbe } from '@ops/health';
import { signStandardWebhook, type MaintenanceWindow } from '@ops/incident';
import { checkRow, localBackupFreshness, runCheckOnce } from './lib/checks.js';
import { openIncidents } from './lib/incidents.js';
import {
  isMain,
  listOption,
  numberOption,
  optionOrEnv,
  redactUrl,
  reportRows,
  requireOptionOrEnv,
  runScript,
  urlOption,
  type ScriptDefinition,
  type StatusRow,
} from './lib/script.js';

/** What the stakeholder webhook receives (Slack-compatible `text`, plus the facts for other receivers). */
export interface MaintenanceNotice {
  event: 'maintenance.started' | 'maintenance.completed' | 'maintenance.failed';
  text: string;
  window: { id: string; title: string; services: string[]; components: string[]; startsAt: number; endsAt: number };
  at: number;
}

/** Builds the script with an injectable clock (tests); `maintenanceWindow` uses the system clock. */
export function createMaintenanceWindowScript(options: { clock?: Clock } = {}): ScriptDefinition {
  const { clock = systemClock } = options;
  return {
    name: 'maintenance-window',
    summary:
      'Runs a maintenance task inside a maintenance window: pre-checks (verified backup younger than N), stakeholders notified, window opened in @ops/incident (paging silenced, status page shows it), the task, post-check probes, window closed even when the task fails.',
    usage: '-- <command> [args...]',
    options: {
      'incidents-db': {
        type: 'string',
        valueName: 'url',
        description:
          'PostgreSQL of the @ops/incident store (or INCIDENTS_DATABASE_URL) the services and status page read',
      },
      title: { type: 'string', valueName: 'text', description: 'what the maintenance is (shown on the status page)' },
      service: { type: 'string', multiple: true, valueName: 'name', description: 'a service whose paging is silenced' },
      component: {
        type: 'string',
        multiple: true,
        valueName: 'id',
        description: 'a status-page component shown under maintenance',
      },
      duration: {
        type: 'string',
        valueName: 'duration',
        description: 'planned length of the window (default 1h); it closes as soon as the task and checks are done',
      },
      by: { type: 'string', valueName: 'name', description: 'who runs it (default the OS user)' },
      'backup-dir': {
        type: 'string',
        valueName: 'dir',
        description: 'local backup storage (or BACKUP_DIR): a verified backup must exist',
      },
      'backup-job': { type: 'string', valueName: 'name', description: 'the backup job (default notes-db)' },
      'backup-max-age': {
        type: 'string',
        valueName: 'duration',
        description: 'the verified backup must be younger than this (default 24h)',
      },
      'backup-verification': {
        type: 'string',
        valueName: 'level',
        description: 'checksum | full-read | test-restore (default full-read)',
      },
      'skip-backup-check': { type: 'boolean', description: 'run without a backup pre-check (say so in the notice)' },
      'notify-webhook': {
        type: 'string',
        multiple: true,
        valueName: 'url',
        description: 'stakeholder webhook (Slack-compatible JSON), told at start and end',
      },
      'notify-secret-env': {
        type: 'string',
        valueName: 'name',
        description:
          'sign the notices (Standard Webhooks, as @ops/incident notifiers do) with the secret in this variable',
      },
      probe: {
        type: 'string',
        multiple: true,
        valueName: 'name=url',
        description: 'a synthetic probe run after the task; all must pass',
      },
      'probe-attempts': {
        type: 'string',
        valueName: 'n',
        description: 'tries per probe while the service comes back (default 5)',
      },
      'probe-interval': { type: 'string', valueName: 'duration', description: 'wait between tries (default 2s)' },
      'task-timeout': {
        type: 'string',
        valueName: 'duration',
        description: 'the task is stopped (SIGTERM) after this (default: the window length)',
      },
    },
    examples: [
      'npx tsx src/maintenance-window.ts --incidents-db "$INCIDENTS_DATABASE_URL" --title "Reindex notes" --service notes --component api --backup-dir /var/backups/notes --probe ready=http://127.0.0.1:8080/health/ready -- psql "$DATABASE_URL" -c "REINDEX TABLE CONCURRENTLY notes"',
    ],
    exitCodes: [
      '0  pre-checks passed, the task succeeded and every post-check probe passed',
      '1  a pre-check failed (nothing was run), the task failed, or a post-check failed — the window is closed in every case',
      '2  usage or configuration error',
    ],
    run: (context) => runMaintenance(context, clock),
  };
}

async function runMaintenance(context: CliContext, clock: Clock): Promise<number> {
  const incidentsUrl = requireOptionOrEnv(
    context,
    'incidents-db',
    'INCIDENTS_DATABASE_URL',
    'the @ops/incident store the window is opened in',
  );
  urlOption(incidentsUrl, '--incidents-db', ['postgres:', 'postgresql:']);
  const title = requireOptionOrEnv(context, 'title', undefined, 'what the maintenance is');
  const services = listOption(context, 'service');
  const components = listOption(context, 'component');
  if (services.length === 0 && components.length === 0)
    throw new UsageError(
      'give --service (paging silenced) and/or --component (status page): a window covering nothing would silence everything',
    );
  const durationMs = parseDuration(optionOrEnv(context, 'duration') ?? '1h', '--duration');
  const taskTimeoutMs = parseDuration(optionOrEnv(context, 'task-timeout') ?? durationMs, '--task-timeout');
  const by = optionOrEnv(context, 'by') ?? safeUserName();
  const command = context.positionals;
  if (command.length === 0) throw new UsageError('no task: put the command after --, e.g. -- ./upgrade.sh');
  const skipBackup = context.values['skip-backup-check'] === true;
  const backupDirectory = optionOrEnv(context, 'backup-dir', 'BACKUP_DIR');
  if (backupDirectory === undefined && !skipBackup)
    throw new UsageError('--backup-dir (or BACKUP_DIR) is required for the backup pre-check (or --skip-backup-check)');
  const backupJob = optionOrEnv(context, 'backup-job') ?? 'notes-db';
  const backupMaxAge = optionOrEnv(context, 'backup-max-age') ?? '24h';
  parseDuration(backupMaxAge, '--backup-max-age');
  const verification = optionOrEnv(context, 'backup-verification') ?? 'full-read';
  if (!['checksum', 'full-read', 'test-restore'].includes(verification))
    throw new UsageError(
      `--backup-verification: expected checksum, full-read or test-restore, got ${JSON.stringify(verification)}`,
    );
  const webhooks = listOption(context, 'notify-webhook');
  for (const webhook of webhooks) urlOption(webhook, '--notify-webhook');
  const secretVariable = optionOrEnv(context, 'notify-secret-env');
  const signingSecret = secretVariable === undefined ? undefined : context.io.env[secretVariable];
  if (secretVariable !== undefined && !signingSecret)
    throw new UsageError(`--notify-secret-env: ${secretVariable} is not set (it holds the webhook signing secret)`);
  const probes = listOption(context, 'probe').map((entry) => {
    const equals = entry.indexOf('=');
    const named = equals > 0 && !entry.slice(0, equals).includes(':');
    const url = named ? entry.slice(equals + 1) : entry;
    const parsed = urlOption(url, '--probe');
    return { name: named ? entry.slice(0, equals) : `${parsed.host}${parsed.pathname}`, url };
  });
  const attempts = numberOption(context, 'probe-attempts', 5, 1, 100);
  const intervalMs = parseDuration(optionOrEnv(context, 'probe-interval') ?? '2s', '--probe-interval');

  const rows: StatusRow[] = [];
  const log = (line: string) => {
    if (!context.json) context.warn(`maintenance-window: ${line}`);
  };

  // 1. Pre-checks: nothing is announced or opened unless they pass.
  if (backupDirectory !== undefined && !skipBackup) {
    const check = localBackupFreshness({
      directory: backupDirectory,
      job: backupJob,
      maxAge: backupMaxAge,
      requiredVerification: verification as 'checksum' | 'full-read' | 'test-restore',
      clock,
    });
    const result = await runCheckOnce(check, { timeoutMs: 30_000, label: 'backup pre-check', clock });
    rows.push(
      checkRow(`pre-check backup ${backupJob}`, result, (checked) =>
        checked.status === 'fail'
          ? (checked.output ?? 'failed')
          : `verified (${verification}) ${humanizeDuration(Number(checked.observed) * 1000)} ago, younger than ${backupMaxAge}`,
      ),
    );
    if (result.status === 'fail') {
      rows.push({ check: 'task', status: 'fail', detail: 'not run: a pre-check failed' });
      return reportRows(context, rows);
    }
  } else {
    rows.push({ check: 'pre-check backup', status: 'warn', detail: 'skipped (--skip-backup-check)' });
  }

  const incidents = openIncidents(incidentsUrl, { clock });
  let window: MaintenanceWindow | undefined;
  try {
    // 2. Open the window: paging for these services is held back, the status page shows the components.
    const startsAt = clock.now();
    window = await incidents.manager.scheduleMaintenance({
      title,
      description: `${command.join(' ')} (run by ${by})`,
      ...(services.length > 0 ? { services } : {}),
      ...(components.length > 0 ? { components } : {}),
      startsAt,
      endsAt: startsAt + durationMs,
      suppressPaging: true,
      createdBy: by,
    });
    rows.push({
      check: 'window opened',
      status: 'pass',
      detail: `${window.id} until ${new Date(startsAt + durationMs).toISOString()}: paging silenced for ${services.join(', ') || '–'}, status page ${components.join(', ') || '–'}`,
    });
    log(`window ${window.id} open: ${title}`);
    const notice = (event: MaintenanceNotice['event'], text: string): MaintenanceNotice => ({
      event,
      text,
      window: {
        id: (window as MaintenanceWindow).id,
        title,
        services,
        components,
        startsAt,
        endsAt: startsAt + durationMs,
      },
      at: clock.now(),
    });
    rows.push(
      ...(await notify(
        webhooks,
        notice(
          'maintenance.started',
          `Maintenance started: ${title}. Affected: ${[...services, ...components].join(', ')}. Planned until ${new Date(startsAt + durationMs).toISOString()}.${skipBackup ? ' (no backup pre-check)' : ''}`,
        ),
        clock,
        signingSecret,
      )),
    );

    // 3. The task.
    const task = await runTask(command, {
      context,
      clock,
      timeoutMs: taskTimeoutMs,
      env: { OPS_MAINTENANCE_ID: window.id },
    });
    const taskOk = task.ok;
    let probesOk = true;
    rows.push({ check: 'task', status: task.ok ? 'pass' : 'fail', detail: task.detail });

    // 4. Post-checks, also after a failed task: the state of the service is what the next person needs to know.
    for (const probe of probes) {
      const result = await probeUntilPass(probe.url, { attempts, intervalMs, clock, label: probe.name });
      if (result.status === 'fail') probesOk = false;
      rows.push(
        checkRow(`post-check ${probe.name}`, result, (checked) =>
          checked.status === 'fail' ? (checked.output ?? 'failed') : `${redactUrl(probe.url)} ${checked.status}`,
        ),
      );
    }
    const ok = taskOk && probesOk;
    rows.push(
      ...(await notify(
        webhooks,
        notice(
          ok ? 'maintenance.completed' : 'maintenance.failed',
          ok
            ? `Maintenance completed: ${title}. Post-checks passed.`
            : `Maintenance needs attention: ${title}. ${taskOk ? 'The task succeeded but a post-check failed.' : 'The task failed.'} On-call is looking into it.`,
        ),
        clock,
        signingSecret,
      )),
    );
  } catch (error) {
    rows.push({
      check: 'maintenance',
      status: 'fail',
      detail: safeErrorMessage(error, { secrets: passwordsOf(incidentsUrl) }),
    });
  } finally {
    // 5. Close the window whatever happened, so paging resumes.
    if (window !== undefined) {
      try {
        await incidents.manager.cancelMaintenance(window.id, { by });
        rows.push({ check: 'window closed', status: 'pass', detail: `${window.id}: paging resumes` });
        log(`window ${window.id} closed`);
      } catch (error) {
        rows.push({
          check: 'window closed',
          status: 'fail',
          detail: `could not close ${window.id}: ${safeErrorMessage(error)} — it ends by itself at its planned end`,
        });
      }
    }
    await incidents.close().catch(() => undefined);
  }
  return reportRows(context, rows, window === undefined ? {} : { maintenanceId: window.id });
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'maintenance-window';
  }
}

function passwordsOf(url: string): string[] {
  try {
    const password = new URL(url).password;
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

/** Posts the notice to every webhook; a failed delivery warns (the maintenance itself goes on). */
async function notify(
  webhooks: readonly string[],
  notice: MaintenanceNotice,
  clock: Clock,
  signingSecret: string | undefined,
): Promise<StatusRow[]> {
  const body = JSON.stringify(notice);
  const signature =
    signingSecret === undefined
      ? {}
      : signStandardWebhook({
          id: `${notice.window.id}-${notice.event}`,
          timestampSeconds: Math.floor(notice.at / 1000),
          body,
          secret: signingSecret,
        });
  return Promise.all(
    webhooks.map(async (url) => {
      try {
        await withDeadline(
          async (signal) => {
            const response = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...signature },
              body,
              signal,
            });
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
          },
          { timeoutMs: 10_000, clock, label: 'notify' },
        );
        return { check: `notify ${notice.event}`, status: 'pass' as const, detail: redactUrl(url) };
      } catch (error) {
        return {
          check: `notify ${notice.event}`,
          status: 'warn' as const,
          detail: `${redactUrl(url)}: ${safeErrorMessage(error)}`,
        };
      }
    }),
  );
}

/** Runs the task with its output passed through; stopped with SIGTERM (then SIGKILL) after `timeoutMs`. */
function runTask(
  command: readonly string[],
  options: { context: CliContext; clock: Clock; timeoutMs: number; env: Record<string, string> },
): Promise<{ ok: boolean; detail: string }> {
  const { context, clock, timeoutMs, env } = options;
  const [file, ...args] = command as [string, ...string[]];
  const started = clock.monotonic();
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...context.io.env, ...env },
    });
    // With --json stdout carries one document only: the task's output goes to stderr.
    child.stdout.on('data', (chunk: Buffer) =>
      (context.json ? context.io.stderr : context.io.stdout).write(chunk.toString('utf8')),
    );
    child.stderr.on('data', (chunk: Buffer) => context.io.stderr.write(chunk.toString('utf8')));
    let timedOut = false;
    let interrupted: string | undefined;
    let killer: { cancel(): void } | undefined;
    // Ctrl-C or a SIGTERM to this script stops the task, and the window is still closed below.
    const onSignal = (signal: NodeJS.Signals) => {
      interrupted = signal;
      child.kill('SIGTERM');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const timer = clock.setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = clock.setTimeout(() => child.kill('SIGKILL'), 10_000);
    }, timeoutMs);
    const finish = (ok: boolean, detail: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      timer.cancel();
      killer?.cancel();
      resolve({ ok, detail: `${detail} after ${humanizeDuration(clock.monotonic() - started)}` });
    };
    child.once('error', (error) => finish(false, `${command.join(' ')} could not start: ${safeErrorMessage(error)}`));
    child.once('close', (code, signal) => {
      if (interrupted) finish(false, `${command.join(' ')} stopped: this script got ${interrupted}`);
      else if (timedOut) finish(false, `${command.join(' ')} stopped: longer than ${humanizeDuration(timeoutMs)}`);
      else if (code === 0) finish(true, `${command.join(' ')} exited 0`);
      else finish(false, `${command.join(' ')} ${signal ? `killed by ${signal}` : `exited ${code}`}`);
    });
  });
}

/** Tries a probe up to `attempts` times, `intervalMs` apart, until it passes (a service may still be starting). */
async function probeUntilPass(
  url: string,
  options: { attempts: number; intervalMs: number; clock: Clock; label: string },
): Promise<import('@ops/core').CheckResult> {
  const check = httpProbe({ url });
  let result = await runCheckOnce(check, { timeoutMs: 5_000, label: options.label, clock: options.clock });
  for (let attempt = 1; attempt < options.attempts && result.status === 'fail'; attempt++) {
    await options.clock.sleep(options.intervalMs);
    result = await runCheckOnce(check, { timeoutMs: 5_000, label: options.label, clock: options.clock });
  }
  return result;
}

/** The maintenance window on the system clock. */
export const maintenanceWindow = createMaintenanceWindowScript();

if (isMain(import.meta.url)) process.exitCode = await runScript(maintenanceWindow, process.argv.slice(2));
