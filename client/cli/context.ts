/**
 * What every command gets: where its output goes (Io), the worker environment (read and checked once per command, on
 * first use), the Temporal client (connected on first use, closed when the command ends), and a way to exit 1 after
 * reporting a failure itself. Heavy modules are loaded here and in the commands with `await import()`, so bad input
 * is rejected before any of them loads.
 */
import type { WorkerConfig } from '../../worker/config';
import type { ConnectorClient } from '../client';
import { UsageError } from './flags';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Raw writes (help text). */
  write: (text: string) => void;
  /** Progress output (stderr); `isTTY` decides between a rewritten line and plain lines. */
  progress: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export const defaultIo = (): Io => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  write: (text) => process.stdout.write(text),
  progress: process.stderr,
  env: process.env,
});

export interface CommandContext {
  readonly io: Io;
  /** The worker environment (Temporal, codec keys, evidence store, trust rules); a bad variable is a UsageError. */
  config(): Promise<WorkerConfig>;
  /** The client library on that environment's Temporal connection. */
  client(): Promise<ConnectorClient>;
  /** The command reported its own failure: exit 1 when it returns. */
  fail(): void;
}

/** The context of one `run()`: also its exit code so far and the clean-up once the command ended. */
interface RunContext extends CommandContext {
  readonly exitCode: number;
  close(): Promise<void>;
}

export function createContext(io: Io): RunContext {
  let exitCode = 0;
  let config: Promise<WorkerConfig> | undefined;
  let client: Promise<ConnectorClient> | undefined;
  const context: RunContext = {
    io,
    get exitCode() {
      return exitCode;
    },
    config: () => (config ??= workerConfigOf(io.env)),
    client: () =>
      (client ??= (async () => {
        const { ConnectorClient } = await import('../client.js');
        return ConnectorClient.fromConfig(await context.config());
      })()),
    fail: () => {
      exitCode = 1;
    },
    close: async () => {
      const open = await client?.catch(() => undefined);
      await open?.close().catch(() => undefined);
    },
  };
  return context;
}

async function workerConfigOf(env: NodeJS.ProcessEnv): Promise<WorkerConfig> {
  const { ConfigError, loadWorkerConfig } = await import('../../worker/config.js');
  try {
    return loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message.split('\n').join('; '));
    throw err;
  }
}
