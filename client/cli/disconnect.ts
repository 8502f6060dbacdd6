/** `disconnect`: delivers disconnect and waits for the workflow to complete; the evidence is kept. */
import type { RegisterCommand } from './command';
import { connectionIdOf } from './flags';

export const disconnectCommand: RegisterCommand = (program, ctx) => {
  program
    .command('disconnect')
    .description('deliver disconnect (the workflow completes; evidence is kept)')
    .option('--connection <id>', 'connection ID')
    .action(async (flags: { connection?: string }) => {
      const id = connectionIdOf(flags.connection);
      const final = await (await ctx.client()).disconnect(id, { wait: true, timeoutMs: 20_000 });
      if (final) {
        ctx.io.out(`connection ${id} disconnected; ${final.totals.envelopes} envelopes kept in the evidence store`);
      } else {
        ctx.io.out(`disconnect delivered to connection ${id}; it completes when a worker processes it`);
      }
    });
};
