/**
 * How a command ends: the exit code of an error (0 ok; 1 a failure, one line on stderr; 2 bad input, one line naming
 * the flag or variable and the rule), and an exit that does not drop output still queued for a pipe.
 */
import { CommanderError } from 'commander';
import { InvalidConfigError } from '../../workflows/config';
import type { Io } from './context';
import { UsageError } from './flags';

/** Reports `err` on stderr (one line) and returns the exit code. */
export async function exitCodeOf(err: unknown, io: Io): Promise<number> {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') {
      return err.exitCode === 0 ? 0 : 2; // help asked for: 0; help shown because no command was given: 2
    }
    io.err(usageLine(err));
    return 2;
  }
  if (err instanceof UsageError || err instanceof InvalidConfigError) {
    io.err(err.message);
    return 2;
  }
  // The client's own errors say everything in their message. Loaded now: only a command that failed needs it.
  const { ConnectorClientError } = await import('../errors.js');
  if (err instanceof ConnectorClientError) {
    io.err(err.message);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/Unknown encoding: binary\/encrypted/.test(message)) {
    io.err("error: the connection's payloads are encrypted: set PAYLOAD_CODEC_KEYS to the worker's keys");
    return 1;
  }
  io.err(`error: ${message.split('\n')[0] ?? message}`);
  return 1;
}

/** One line for a commander parse error, naming the flag or command. */
function usageLine(err: CommanderError): string {
  const message = err.message.replace(/^error:\s*/, '').split('\n')[0] ?? err.message;
  const flag = /'(-{1,2}[A-Za-z0-9-]+)/.exec(message)?.[1];
  switch (err.code) {
    case 'commander.unknownOption':
      return `${flag ?? message}: unknown option (see --help)`;
    case 'commander.optionMissingArgument':
      return `${flag ?? message}: needs a value`;
    case 'commander.missingMandatoryOptionValue':
      return `${flag ?? message}: is required`;
    case 'commander.unknownCommand': {
      const name = /'([^']+)'/.exec(message)?.[1];
      return `${name ?? message}: unknown command (see docusign-connector --help)`;
    }
    case 'commander.excessArguments':
      return `${message} (options take the form --flag value; see --help)`;
    default:
      return message;
  }
}

/**
 * Exits once stdout and stderr have flushed: process.exit() drops what is still queued for a pipe (a large
 * `evidence --json` lost records), and exiting explicitly stops open Temporal connections from keeping us alive.
 */
export function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
