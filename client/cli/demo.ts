/** `demo`: the main job on embedded defaults (client/demo.ts), same as `npm run demo`. */
import type { RegisterCommand } from './command';
import { UsageError } from './flags';

export const demoCommand: RegisterCommand = (program, ctx) => {
  program
    .command('demo')
    .description('the whole flow on embedded defaults: dev server + UI, DocuSign emulator, worker, consent, first sync')
    .option('--keep', 'leave everything running until Ctrl-C')
    .option('--data-dir <dir>', 'where the demo keeps its files', './data/demo')
    .option('--envelopes <n>', 'envelopes in the emulated account', '300')
    .action(async (flags: { keep?: boolean; dataDir: string; envelopes: string }) => {
      const envelopes = Number(flags.envelopes);
      if (!/^\d{1,5}$/.test(flags.envelopes) || envelopes < 1) {
        throw new UsageError('--envelopes: must be a whole number from 1 to 99999');
      }
      const { runDemo } = await import('../demo.js');
      await runDemo({ keep: !!flags.keep, dataDir: flags.dataDir, envelopes, log: ctx.io.out });
    });
};
