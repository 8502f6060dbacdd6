/** The small HTTP servers of the connector (metrics, codec server, consent callback) listen and close one way. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningServer {
  /** `http://host:port` as bound (an IPv6 host in brackets). */
  url: string;
  /** Closes open connections too, so a keep-alive client cannot hold shutdown up. */
  close(): Promise<void>;
}

/** Listens on host:port (0 = any free port); rejects on a bind error such as EADDRINUSE. */
export async function listen(server: Server, port: number, host: string): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
