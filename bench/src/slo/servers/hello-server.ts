// A hello-world node:http server for the middleware overhead benchmark: BENCH_MODE=bare or observed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { observeNodeRequests } from '@ops/core';
import { createSloRequestObserver, createSloTracker } from '@ops/slo';

const hello = (_request: unknown, response: import('node:http').ServerResponse) => {
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
process.on('SIGTERM', () => server.close(() => process.exit(0)));
