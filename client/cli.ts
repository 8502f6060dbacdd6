/**
 * `docusign-connector`: the command line (design.md §4). Temporal connection from the environment, as the worker's:
 * TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TLS / API key, PAYLOAD_CODEC_KEYS.
 *
 * Exit codes: 0 success; 1 a failure (one line on stderr: unknown connection, Temporal unreachable, a sync that ended
 * in needs_attention, a failed doctor check); 2 bad input (one line on stderr naming the flag or variable and the
 * rule; nothing is started or sent).
 *
 * This module only wires the commands: each lives in client/cli/<command>.ts and loads what it needs with
 * `await import()`, so only commander, the config schema and the trust rules load up front and bad input is rejected
 * fast. A new command is a module exporting a RegisterCommand, listed below in help order.
 */
import { Command } from 'commander';
import type { RegisterCommand } from './cli/command';
import { connectCommand } from './cli/connect';
import { connectListenerCommand } from './cli/connect-listener';
import { consentCommand } from './cli/consent';
import { createContext, defaultIo, type Io } from './cli/context';
import { demoCommand } from './cli/demo';
import { disconnectCommand } from './cli/disconnect';
import { doctorCommand } from './cli/doctor';
import { evidenceCommand } from './cli/evidence';
import { exitAfterFlush, exitCodeOf } from './cli/exit';
import { listCommand } from './cli/list';
import { reportCommand } from './cli/report';
import { codecServerCommand, consentServerCommand } from './cli/servers';
import { statusCommand } from './cli/status';
import { syncCommand } from './cli/sync';
import { workerCommand } from './cli/worker';

export type { Io } from './cli/context';
export { configFromFlags, FLAG_OF, UsageError } from './cli/flags';

const COMMANDS: RegisterCommand[] = [
  workerCommand,
  connectCommand,
  consentCommand,
  statusCommand,
  syncCommand,
  disconnectCommand,
  listCommand,
  evidenceCommand,
  reportCommand,
  doctorCommand,
  demoCommand,
  consentServerCommand,
  codecServerCommand,
  connectListenerCommand,
];

/** Runs the CLI on `args` (without node and script); resolves with the exit code. */
export async function run(args: string[], io: Io = defaultIo()): Promise<number> {
  const ctx = createContext(io);
  const program = new Command('docusign-connector')
    .description('DocuSign evidence source for Iru Compliance: connections run as Temporal workflows.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: () => undefined, // reported as one line by exitCodeOf
    })
    .addHelpText(
      'after',
      '\nTemporal from the environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE.\n' +
        'Exit codes: 0 ok, 1 failure, 2 bad input (nothing started).',
    );
  for (const register of COMMANDS) register(program, ctx);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return await exitCodeOf(err, io);
  } finally {
    await ctx.close();
  }
}

/** Entry point of bin/docusign-connector.js, `tsx client/cli.ts` and `node dist/client/cli.js`. */
export function main(argv: string[] = process.argv): void {
  run(argv.slice(2)).then(exitAfterFlush, (err: unknown) => {
    console.error(`error: ${(err as Error).message}`);
    exitAfterFlush(1);
  });
}

if (require.main === module) main();
