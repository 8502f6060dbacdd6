/** `consent`: delivers consentGranted (the browser consent happened elsewhere, e.g. admin consent). */
import type { RegisterCommand } from './command';
import { connectionIdOf } from './flags';

export const consentCommand: RegisterCommand = (program, ctx) => {
  program
    .command('consent')
    .description('deliver consentGranted (exit 0 whenever the connection exists)')
    .option('--connection <id>', 'connection ID')
    .action(async (flags: { connection?: string }) => {
      const id = connectionIdOf(flags.connection);
      await (await ctx.client()).consent(id);
      ctx.io.out(`consentGranted delivered to connection ${id}`);
    });
};
