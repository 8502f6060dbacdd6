/**
 * The embedded Temporal dev server (`temporal server start-dev`): the default when no TEMPORAL_ADDRESS is given, and
 * the shared server of a test run. SQLite file, search attributes registered, Web UI optional.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/messages';

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file; undefined = in memory. */
  dbFilename?: string;
  /** 0 = a free port. */
  port: number;
  /** undefined = headless. */
  uiPort?: number;
  /** Browser origin allowed to call the codec server (the UI's own URL is the default). */
  codecEndpoint?: string;
  readyTimeoutMs?: number;
  /** Keep the server's whole log in this file, at `logLevel` (default: only the last words, for a failed start). */
  logFile?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Prometheus metrics on this port (default: a free port the CLI picks and prints). */
  metricsPort?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** 'KEYWORD' → 'Keyword', 'DATETIME' → 'Datetime': the CLI's spelling of search attribute types. */
const cliTypeName = (type: string) => type.charAt(0) + type.slice(1).toLowerCase();

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const port = options.port || (await freePort());
  const address = `127.0.0.1:${port}`;
  if (options.dbFilename) mkdirSync(path.dirname(options.dbFilename), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    options.logLevel ?? 'error',
    ...(options.metricsPort ? ['--metrics-port', String(options.metricsPort)] : []),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...(options.uiPort && options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
    ...ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${cliTypeName(k.type)}`]),
  ];
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const logFile = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    logFile?.write(chunk);
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  if (logFile) child.once('exit', () => logFile.end());
  const stop = async () => {
    if (hasExited(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(address, child, options.readyTimeoutMs ?? 30_000, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    ...(options.uiPort ? { uiUrl: `http://127.0.0.1:${options.uiPort}` } : {}),
    process: child,
    stop,
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitUntilServing(address: string, child: ChildProcess, timeoutMs: number, stderr: () => string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(child)) {
      throw new Error(
        `Temporal dev server exited with ${child.exitCode !== null ? `code ${child.exitCode}` : `signal ${child.signalCode}`}: ${stderr().trim().split('\n').at(-1) ?? ''}`,
      );
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.healthService.check({});
        // The default namespace is registered a moment after the frontend answers.
        await conn.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Temporal dev server not ready at ${address}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
