// A hello-world node:http server for the middleware overhead benchmark: BENCH_MODE=bare or observed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { observeNodeRequests } from '@ops/core';
import { createSloRequestObserver, createSloTracker } from '@ops/slo';

let requests = 0;
const hello = (_request: unknown, response: import('node:http').ServerResponse) => {
  requests++;
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end('hello world');
};

let listener = hello as Parameters<typeof createServer>[1];
if (process.env.BENCH_MODE === 'observed') {
  const tracker = createSloTracker({
    slos: [
      { service: 'bench', name: 'availability', objective: 0.999, sli: { type: 'availability' }, groupBy: ['route'] },
      { service: 'bench', name: 'latency', objective: 0.99, sli: { type: 'latency', threshold: '100ms' } },
    ],
  });
  const observer = createSloRequestObserver({ tracker, availability: 'availability', latency: 'latency' });
  listener = observeNodeRequests(hello, { observer, route: () => '/' });
}
const server = createServer(listener);
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
// The parent asks for CPU time and request count around each load run (CPU per request is steadier than req/s on a
// shared machine).
process.on('message', (message) => {
  if (message === 'usage') {
    const cpu = process.cpuUsage();
    process.send?.({ cpuMicros: cpu.user + cpu.system, requests });
  }
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
