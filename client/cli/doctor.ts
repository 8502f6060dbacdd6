/**
 * `doctor`: the troubleshooting checks (client/doctor.ts) run live with the connection's config, each PASS/FAIL with
 * the fix; exit 1 when any did not pass. It works while no worker runs (the config then comes from history).
 */
import type { RegisterCommand } from './command';
import { connectionIdOf } from './flags';

export const doctorCommand: RegisterCommand = (program, ctx) => {
  program
    .command('doctor')
    .description('run the troubleshooting checks live; PASS/FAIL with the fix for each')
    .option('--connection <id>', 'connection ID')
    .action(async (flags: { connection?: string }) => {
      const { io } = ctx;
      const id = connectionIdOf(flags.connection);
      const { consent, rateLimitReservePercent, docusignHttpTimeoutMs, trust, evidenceStore } = await ctx.config();
      const c = await ctx.client();
      // Both wait for the worker (at most the query timeout), so at the same time.
      const [config, status] = await Promise.allSettled([c.config(id), c.status(id)]);
      if (config.status === 'rejected') throw config.reason;
      if (status.status === 'rejected') io.out(`connection ${id}: ${(status.reason as Error).message}`);
      else io.out(`connection ${id} (${config.value.environment}): phase ${status.value.phase}`);
      const doctor = await import('../doctor.js');
      const consentUrl = status.status === 'fulfilled' ? status.value.consentUrl : undefined;
      const checks = await doctor.runDoctor(config.value, {
        trust,
        env: io.env,
        ...(consentUrl ? { consentUrl } : {}),
        ...(consent.redirectUri ? { defaultRedirectUri: consent.redirectUri } : {}),
        reservePercent: rateLimitReservePercent,
        timeoutMs: docusignHttpTimeoutMs,
      });
      const counted = status.status === 'fulfilled' ? status.value.totals.envelopes : undefined;
      checks.push(await doctor.evidenceStoreCheck(evidenceStore, id, counted));
      for (const check of checks) for (const line of doctor.formatCheck(check)) io.out(line);
      const failed = checks.filter((check) => check.result !== 'PASS').length;
      io.out(failed ? `${failed} of ${checks.length} checks did not pass` : `all ${checks.length} checks passed`);
      if (failed) ctx.fail();
    });
};
