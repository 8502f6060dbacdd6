/** `status`: the status query as JSON (exactly, with --json) or as a readable summary with the last error's fix. */
import type { RegisterCommand } from './command';
import { connectionIdOf } from './flags';

export const statusCommand: RegisterCommand = (program, ctx) => {
  program
    .command('status')
    .description('print the status query (exactly the JSON with --json)')
    .option('--connection <id>', 'connection ID')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { connection?: string; json?: boolean }) => {
      const id = connectionIdOf(flags.connection);
      const status = await (await ctx.client()).status(id);
      if (flags.json) {
        ctx.io.out(JSON.stringify(status, null, 2));
        return;
      }
      const { describeStatus } = await import('../format.js');
      for (const line of describeStatus(status)) ctx.io.out(line);
    });
};
