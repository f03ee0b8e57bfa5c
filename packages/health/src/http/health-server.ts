import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A standalone health server started by {@link Health.listen}. */
export interface HealthServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Starts `server` listening (port `0`: an ephemeral one) and says where; `close()` also ends keep-alive connections. */
export async function listenHealthServer(server: Server, options: { port?: number; host?: string } = {}): Promise<HealthServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
