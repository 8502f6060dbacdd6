/**
 * A TCP proxy in front of the Temporal server whose traffic can be frozen: a worker connected through it loses
 * Temporal (no heartbeat, no completion arrives) while its process, and its calls to DocuSign, go on.
 */
import net from 'node:net';

export interface TcpProxy {
  /** host:port to give the worker instead of the server's. */
  address: string;
  /** From now on no byte passes either way, on open connections and on new ones. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = splitAddress(target);
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (frozen) {
      client.pause(); // accepted, never answered: what a partition looks like to the caller
      return;
    }
    const upstream = net.connect(port, host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${proxyPort}`,
    freeze: () => {
      frozen = true;
      // pause() alone is undone by pipe() on the next 'drain'; unpipe first so nothing resumes the flow.
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
