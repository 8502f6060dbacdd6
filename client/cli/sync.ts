/**
 * `sync`: delivers syncNow; with --wait, shows progress and returns when the sync it triggered has finished: exit 0
 * and lastSync, or exit 1 and lastError when it ended in needs_attention.
 */
import type { RegisterCommand } from './command';
import { EVIDENCE_KINDS, SNAPSHOT_KINDS, type EvidenceStatus } from '../../workflows/evidence';
import { evidenceLines } from '../format';
import { connectionIdOf, kindsOf } from './flags';

export const syncCommand: RegisterCommand = (program, ctx) => {
  program
    .command('sync')
    .description('deliver syncNow; with --wait, return when the sync it triggered has finished')
    .option('--connection <id>', 'connection ID')
    .option('--wait', 'wait for the sync: exit 0 and lastSync, or exit 1 and lastError (needs_attention)')
    .option('--json', 'with --wait: print lastSync / lastError (and the evidence of the kinds asked for) as JSON')
    .option(
      '--kinds <kinds>',
      `only these evidence kinds, comma-separated: ${EVIDENCE_KINDS.join(', ')} (default: all)`,
    )
    .action(async (flags: { connection?: string; wait?: boolean; json?: boolean; kinds?: string }) => {
      const { io } = ctx;
      const id = connectionIdOf(flags.connection);
      const request = flags.kinds === undefined ? {} : { kinds: kindsOf(flags.kinds) };
      const c = await ctx.client();
      if (!flags.wait) {
        await c.syncNow(id, request);
        io.out(`syncNow delivered to connection ${id}${request.kinds ? ` (${request.kinds.join(', ')})` : ''}`);
        return;
      }
      // The status query first: it proves a worker answers (else the update would wait for one indefinitely), and
      // a connection that awaits consent has nothing to sync yet.
      const before = await c.status(id);
      if (before.phase === 'disconnected') {
        const { ConnectionClosedError } = await import('../errors.js');
        throw new ConnectionClosedError(id, 'COMPLETED');
      }
      if (before.phase === 'awaiting_consent') {
        io.err(`connection ${id} is awaiting consent; it syncs once consent is granted (consent URL in \`status\`)`);
        ctx.fail();
        return;
      }
      const { withProgress } = await import('./progress.js');
      const status = await withProgress(c, id, io, c.syncAndWait(id, request));
      const snapshots = SNAPSHOT_KINDS.filter((k) => !request.kinds || request.kinds.includes(k));
      const evidence: EvidenceStatus = Object.fromEntries(
        snapshots.flatMap((k) => (status.evidence?.[k] ? [[k, status.evidence[k]]] : [])),
      );
      const envelopes = !request.kinds || request.kinds.includes('envelopes');
      if (status.phase === 'needs_attention' && status.lastError) {
        const e = status.lastError;
        if (flags.json) io.out(JSON.stringify(e));
        io.err(`sync ended in needs_attention: ${e.code}: ${e.message} (fix: ${e.hint})`);
        ctx.fail();
      } else if (status.phase === 'disconnected') {
        io.err(`connection ${id} was disconnected before the sync finished`);
        ctx.fail();
      } else if (flags.json) {
        // Without --kinds the contract's shape: lastSync. With it, what those kinds did.
        io.out(
          JSON.stringify(
            request.kinds ? { lastSync: envelopes ? status.lastSync : undefined, evidence } : (status.lastSync ?? null),
          ),
        );
      } else {
        const s = status.lastSync;
        if (envelopes && s) {
          io.out(
            `synced: ${s.envelopes} envelope${s.envelopes === 1 ? '' : 's'} new or changed` +
              `${s.pages === undefined ? '' : ` in ${s.pages} page${s.pages === 1 ? '' : 's'}`}, finished ${s.finishedAt ?? '?'}; ` +
              `${status.totals.envelopes} stored in total`,
          );
        }
        for (const line of evidenceLines(evidence)) io.out(line);
      }
    });
};
