import { afterEach, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';
import type { NotesCache } from './cache/notes-cache.js';
import { createNotesApi } from './api.js';
import { createMemoryNotesRepository } from './notes/memory-notes-repository.js';
import { silentLogger, toNodeHandler } from '@ops/core';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(config: Parameters<typeof startReferenceBackend>[0] = {}): Promise<ReferenceBackend> {
  const directory = await mkdtemp(join(tmpdir(), 'ops-reference-test-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  const backend = await startReferenceBackend({
    sloEvaluateEvery: false,
    signals: [],
    exit: () => undefined,
    ...config,
    config: {
      port: 0,
      backupDirectory: join(directory, 'backups'),
      drainDelay: 0,
      adminEnabled: true,
      ...config.config,
    },
  });
  cleanups.push(() => backend.shutdown('test finished'));
  return backend;
}

async function json(response: Response): Promise<any> {
  return JSON.parse(await response.text());
}

describe('notes API (in-memory store)', () => {
  it('creates, reads (cache miss then hit), updates, lists and deletes notes', async () => {
    const { url } = await start();
    const created = await fetch(`${url}/notes`, {
      method: 'POST',
      body: JSON.stringify({ title: '  groceries ', body: 'milk' }),
    });
    expect(created.status).toBe(201);
    const note = await json(created);
    expect(note).toMatchObject({ title: 'groceries', body: 'milk' });
    expect(created.headers.get('location')).toBe(`/notes/${note.id}`);

    const first = await fetch(`${url}/notes/${note.id}`);
    expect(first.headers.get('x-cache')).toBe('miss');
    await first.text();
    const second = await fetch(`${url}/notes/${note.id}`);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(await json(second)).toEqual(note);

    const updated = await fetch(`${url}/notes/${note.id}`, {
      method: 'PUT',
      body: JSON.stringify({ body: 'oat milk' }),
    });
    expect(await json(updated)).toMatchObject({ id: note.id, title: 'groceries', body: 'oat milk' });
    // The update invalidated the cache entry.
    const reread = await fetch(`${url}/notes/${note.id}`);
    expect(reread.headers.get('x-cache')).toBe('miss');
    expect((await json(reread)).body).toBe('oat milk');

    await fetch(`${url}/notes`, { method: 'POST', body: JSON.stringify({ title: 'second' }) }).then((response) =>
      response.text(),
    );
    const listed = await json(await fetch(`${url}/notes?limit=1`));
    expect(listed.notes.map((entry: { title: string }) => entry.title)).toEqual(['second']);

    expect((await fetch(`${url}/notes/${note.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${url}/notes/${note.id}`)).status).toBe(404);
    expect((await fetch(`${url}/notes/${note.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses bad input with 400 naming the field, and unknown ids or methods', async () => {
    const { url } = await start();
    const missingTitle = await fetch(`${url}/notes`, { method: 'POST', body: JSON.stringify({ body: 'x' }) });
    expect(missingTitle.status).toBe(400);
    expect((await json(missingTitle)).error).toMatch(/^invalid body: title: /);
    const extra = await fetch(`${url}/notes`, { method: 'POST', body: JSON.stringify({ title: 'a', colour: 'red' }) });
    expect((await json(extra)).error).toMatch(/colour/);
    const notJson = await fetch(`${url}/notes`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect((await json(notJson)).error).toBe('body is not valid JSON');
    const badLimit = await fetch(`${url}/notes?limit=1000`);
    expect((await json(badLimit)).error).toMatch(/limit/);
    expect((await fetch(`${url}/notes/not-a-uuid`)).status).toBe(404);
    const patch = await fetch(`${url}/notes`, { method: 'PATCH' });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('GET, POST');
  });

  it('answers 503 with retry-after while the store is down, fails readiness, and records the SLO events', async () => {
    const backend = await start();
    const { url } = backend;
    await (await fetch(`${url}/notes`, { method: 'POST', body: JSON.stringify({ title: 'kept' }) })).text();
    const toggled = await fetch(`${url}/admin/faults`, {
      method: 'PUT',
      body: JSON.stringify({ storeUnavailable: true }),
    });
    expect(await json(toggled)).toMatchObject({
      storeUnavailable: true,
      storeLatencyMs: 0,
      poisonedConnections: false,
      memoryGrowthMb: 0,
      shared: null,
    });
    const failed = await fetch(`${url}/notes`);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('5');
    await failed.text();
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toMatch(/^application\/health\+json/);
    const terse = await json(ready);
    expect(terse).toMatchObject({ status: 'fail', serviceId: 'notes' });
    expect(terse.checks).toBeUndefined(); // details only with ?verbose

    // Liveness stays process-local: a database outage must not restart the instance.
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    const status = backend.slos.status('api-availability');
    expect(status.events).toEqual({ good: 1, bad: 1, total: 2 });
    const bad = await fetch(`${url}/admin/faults`, { method: 'PUT', body: JSON.stringify({ storeLatencyMs: -1 }) });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatch(/storeLatencyMs/);
  });

  it('counts slow answers against the latency SLO when latency is injected', async () => {
    const backend = await start();
    await fetch(`${backend.url}/admin/faults`, { method: 'PUT', body: JSON.stringify({ storeLatencyMs: 300 }) }).then(
      (response) => response.text(),
    );
    const slow = await fetch(`${backend.url}/notes`);
    expect(slow.status).toBe(200);
    await slow.text();
    expect(backend.slos.status('api-latency').events).toEqual({ good: 0, bad: 1, total: 1 });
    expect(backend.slos.status('api-availability').events).toEqual({ good: 1, bad: 0, total: 1 });
  });

  it('exposes Prometheus metrics: SLO series and per-route HTTP counters', async () => {
    const { url } = await start();
    await (await fetch(`${url}/notes`)).text();
    await (await fetch(`${url}/notes/00000000-0000-4000-8000-000000000000`)).text();
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^ops_slo_events_total\{service="notes",slo="api-availability"\} 2$/m);
    expect(text).toMatch(/^http_requests_total\{route="\/notes\/:id",method="GET",code="404"\} 1$/m);
    expect(text).toMatch(/^ops_slo_objective_ratio\{service="notes",slo="api-latency"\} 0\.95$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('hides admin endpoints unless enabled', async () => {
    const { url } = await start({ config: { adminEnabled: false } });
    expect((await fetch(`${url}/admin/faults`)).status).toBe(404);
  });

  it('keeps serving reads when the cache fails (the cache is an optimisation only)', async () => {
    const repository = createMemoryNotesRepository();
    const broken: NotesCache = {
      kind: 'memory',
      get: async () => Promise.reject(new Error('cache down')),
      set: async () => Promise.reject(new Error('cache down')),
      delete: async () => Promise.reject(new Error('cache down')),
      close: async () => undefined,
    };
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (_fields: Record<string, unknown>, message?: string) => void warnings.push(message ?? ''),
    };
    const server = createServer(toNodeHandler(createNotesApi({ repository, cache: broken, logger })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const note = await repository.create({ title: 'still readable', body: '' });
    const response = await fetch(`${base}/notes/${note.id}`);
    expect(response.status).toBe(200);
    expect((await json(response)).title).toBe('still readable');
    expect(warnings).toContain('notes cache failed; continuing without it');
  });
});
