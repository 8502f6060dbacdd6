/** `worker`: the worker process (same as `npm start`), configured from the environment like the other commands. */
import type { RegisterCommand } from './command';

export const workerCommand: RegisterCommand = (program, ctx) => {
  program
    .command('worker')
    .description('run the worker (same as npm start); with TEMPORAL_ADDRESS it never starts an embedded server')
    .action(async () => {
      const config = await ctx.config();
      const { runWorker } = await import('../../worker/main.js');
      await runWorker(config);
    });
};
