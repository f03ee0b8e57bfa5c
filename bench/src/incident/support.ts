import { readdirSync, readFileSync } from 'node:fs';
import type { OpsHandler, OpsRequest, OpsResponse } from '@ops/core';

/** An Alertmanager webhook v4 message with `count` firing alerts in one group. */
export function alertmanagerMessage(groupKey: string, count: number, service = 'checkout'): Record<string, unknown> {
  const startsAt = new Date(Date.UTC(2026, 0, 13, 9, 0, 0)).toISOString();
  return {
    version: '4',
    groupKey,
    status: 'firing',
    receiver: 'ops-incident',
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', service, severity: 'warning' },
    commonAnnotations: { summary: 'Error ratio above 5%' },
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    alerts: Array.from({ length: count }, (_, index) => ({
      status: 'firing',
      labels: { alertname: 'HighErrorRate', service, severity: 'warning', instance: `pod-${index}` },
      annotations: { summary: `errors on pod-${index}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=errors',
      fingerprint: `${groupKey.length.toString(16)}${index.toString(16).padStart(12, '0')}`,
    })),
  };
}

/** Calls an `OpsHandler` in-process with a POST of `body` (no socket: the store is what is measured). */
export async function post(handler: OpsHandler, path: string, body: string): Promise<OpsResponse> {
  const bytes = new TextEncoder().encode(body);
  const request: OpsRequest = {
    method: 'POST',
    path,
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) },
    readBody: async () => bytes,
  };
  const response = await handler(request);
  if (!response) throw new Error(`no handler for ${path}`);
  return response;
}

/** Runs `task(index)` for every index in [0, count) with `concurrency` workers. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Samples the process RSS every `everyMs` while `work` runs; resolves with the peak (bytes) and the work's result. */
export async function withPeakRss<T>(work: () => Promise<T>, everyMs = 20): Promise<{ value: T; peakRss: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakRss: peak };
  } finally {
    clearInterval(timer);
  }
}

/**
 * CPU time (ms, user + system) used so far by the PostgreSQL backends connected to `database` (processes named
 * `postgres*` whose title names the database; every postgres process when absent), from /proc (Linux only; 0
 * elsewhere). Other databases' users are not counted; a backend that exits meanwhile takes its time with it, so keep
 * the pool's connections open.
 */
export function postgresCpuMs(database?: string): number {
  let ticks = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (database !== undefined && !title.split(' ').includes(database)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/**
 * Measures the CPU of this process and of the backends serving `database` (every postgres process when absent) over
 * `work`, per `units` units (µs).
 */
export async function cpuPerUnit(
  units: number,
  work: () => Promise<void>,
  database?: string,
): Promise<{ node: number; postgres: number }> {
  const nodeBefore = process.cpuUsage();
  const postgresBefore = postgresCpuMs(database);
  await work();
  const node = process.cpuUsage(nodeBefore);
  return {
    node: (node.user + node.system) / units,
    postgres: ((postgresCpuMs(database) - postgresBefore) * 1000) / units,
  };
}
