/** A local HTTP server that gives every request the answer currently scripted, and records what it received. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  /** A string or Buffer is sent as is, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (the client's timeout is what ends the call). */
  hang?: boolean;
}

export interface Received {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  host: string;
  answer: Answer;
  requests: Received[];
  close(): Promise<void>;
}

export async function scriptedServer(): Promise<ScriptedServer> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const { status, body, headers, hang } = scripted.answer;
      if (hang) return;
      const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body ?? {});
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scripted: ScriptedServer = {
    base: `http://${host}`,
    host,
    answer: { status: 200 },
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return scripted;
}
