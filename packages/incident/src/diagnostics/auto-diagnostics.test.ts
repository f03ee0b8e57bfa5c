import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createIncidentManager, type IncidentManagerOptions } from '../lifecycle/incident-manager.js';
import type { DiagnosticResult, DiagnosticsOptions } from './auto-diagnostics.js';
import { diagnosticFromCheck } from './auto-diagnostics.js';

const T0 = Date.UTC(2026, 0, 13, 9, 0, 0);
const settle = () => new Promise<void>((done) => setImmediate(done));

function setup(diagnostics: DiagnosticsOptions, options: Partial<IncidentManagerOptions> = {}) {
  const clock = createManualClock(T0);
  const incidents = createIncidentManager({ clock, autoStart: false, diagnostics, ...options });
  const completed: { incidentId: string; results: DiagnosticResult[] }[] = [];
  incidents.on('diagnostics.completed', (event) =>
    completed.push({ incidentId: event.incident.id, results: event.results }),
  );
  const next = () =>
    new Promise<DiagnosticResult[]>((done) => {
      const stop = incidents.on('diagnostics.completed', (event) => {
        stop();
        done(event.results);
      });
    });
  return { clock, incidents, completed, next };
}

describe('auto-diagnostics', () => {
  it('run on a P0 with a deadline: redacted output on the timeline (internal), a hanging one cut and recorded as timed out', async () => {
    const seen: string[] = [];
    const { clock, incidents, next } = setup({
      timeout: '5s',
      run: {
        health: (incident) => {
          seen.push(incident.id);
          return {
            status: 'pass',
            details: { password: 'hunter2', dsn: 'postgres://app:hunter2@db:5432/app', replicas: 3 },
          };
        },
        slo: diagnosticFromCheck(async () => ({ status: 'fail', output: 'checkout burning budget 14x' })),
        hang: (_incident, { signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        broken: () => {
          throw new Error('cannot reach http://admin:s3cret@metrics.internal/');
        },
      },
    });
    const done = next();
    const { incident } = await incidents.trigger({ service: 'checkout', title: 'Checkout down', severity: 'P0' });
    await settle();
    expect(seen).toEqual([incident!.id]);
    clock.advance(5000);
    const results = await done;
    expect(Object.fromEntries(results.map((result) => [result.name, result.outcome]))).toEqual({
      health: 'completed',
      slo: 'completed',
      hang: 'timed_out',
      broken: 'failed',
    });

    const entries = (await incidents.timeline(incident!.id)).filter((event) => event.kind === 'diagnostics');
    expect(entries.map((event) => event.description).sort()).toEqual([
      'Diagnostic broken failed: cannot reach http://admin:[REDACTED]@metrics.internal/',
      'Diagnostic hang timed out: timed out after 5000 ms',
      'Diagnostic health completed in 0 ms: pass',
      'Diagnostic slo completed in 0 ms: fail — checkout burning budget 14x',
    ]);
    expect(entries.every((event) => event.visibility === 'internal')).toBe(true);
    expect(entries.every((event) => event.actor.id === 'diagnostics')).toBe(true);
    const health = entries.find((event) => event.description.startsWith('Diagnostic health'))!;
    expect(health.details).toMatchObject({
      name: 'health',
      outcome: 'completed',
      output: { status: 'pass', details: { password: '[REDACTED]', replicas: 3 } },
    });
    expect(JSON.stringify(entries)).not.toContain('hunter2');
    expect(JSON.stringify(entries)).not.toContain('s3cret');
    expect(await incidents.timeline(incident!.id, { visibility: 'public' })).toEqual([]);
    await incidents.close();
  });

  it('do not run for P2/P3, run when an incident is raised to a paging severity, and on demand', async () => {
    const calls: string[] = [];
    const { incidents, next } = setup({ run: { snapshot: (incident) => void calls.push(incident.severity) } });
    const { incident } = await incidents.trigger({ service: 'search', title: 'Slow search', severity: 'P2' });
    await settle();
    expect(calls).toEqual([]);
    const raised = next();
    await incidents.setSeverity(incident!.id, 'P1');
    await raised;
    expect(calls).toEqual(['P1']);
    await incidents.setSeverity(incident!.id, 'P0'); // already paging: not again
    await settle();
    expect(calls).toEqual(['P1']);
    const results = await incidents.diagnose(incident!.id);
    expect(results).toEqual([{ name: 'snapshot', outcome: 'completed', durationMs: 0 }]);
    expect(calls).toEqual(['P1', 'P0']);
    await incidents.close();
  });

  it('close() cuts diagnostics in progress and records them', async () => {
    const { incidents } = setup({
      timeout: '1h',
      run: {
        hang: (_incident, { signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      },
    });
    const { incident } = await incidents.trigger({ service: 'checkout', title: 'Checkout down', severity: 'P0' });
    await settle();
    await incidents.close();
    const [entry] = (await incidents.timeline(incident!.id)).filter((event) => event.kind === 'diagnostics');
    expect(entry?.description).toBe('Diagnostic hang failed: the incident manager closed');
  });

  it('refuses a diagnostic that is not a function', () => {
    expect(() => createIncidentManager({ autoStart: false, diagnostics: { run: { x: 'health' as never } } })).toThrow(
      /diagnostics\.run\.x must be a function/,
    );
  });
});
