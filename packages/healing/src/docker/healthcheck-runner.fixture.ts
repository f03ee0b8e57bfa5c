import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from 'dockerode';

export { execInContainer } from '@ops/testkit';

/**
 * Runs a container's HEALTHCHECK once through podman's libpod API (`GET /libpod/containers/{id}/healthcheck`).
 * Podman schedules healthchecks with systemd timers, which the test machines do not have; tests play the timer.
 */
export function runHealthcheck(socketPath: string, id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { socketPath, method: 'GET', path: `/v4.0.0/libpod/containers/${id}/healthcheck`, timeout: 15_000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          if (response.statusCode !== 200) return reject(new Error(`healthcheck ${response.statusCode}: ${body}`));
          resolve((JSON.parse(body) as { Status: string }).Status);
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('healthcheck run timed out')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Plays podman's healthcheck timer: runs the HEALTHCHECK of each container every `everyMs` until stopped. */
export function healthcheckTimer(socketPath: string, ids: () => string[], everyMs = 400): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(ids().map((id) => runHealthcheck(socketPath, id).catch(() => undefined)));
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** A HEALTHCHECK that passes while /tmp/ok exists (the command creates it at start); `rm /tmp/ok` makes it fail. */
export const FILE_HEALTHCHECK = {
  cmd: ['sh', '-c', 'touch /tmp/ok; exec sleep 600'],
  healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 3_600_000_000_000, Retries: 1 },
};
