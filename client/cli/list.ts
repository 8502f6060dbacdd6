/** `list`: every connection from visibility (search attributes), as a table or as JSON. */
import type { ConnectionSummary } from '../visibility';
import type { RegisterCommand } from './command';
import type { Io } from './context';

export const listCommand: RegisterCommand = (program, ctx) => {
  program
    .command('list')
    .description('all connections from visibility (search attributes)')
    .option('--json', 'print [{ connectionId, environment, phase, lastSyncAt? }]')
    .action(async (flags: { json?: boolean }) => {
      const connections = await (await ctx.client()).list();
      if (flags.json) ctx.io.out(JSON.stringify(connections, null, 2));
      else printTable(connections, ctx.io);
    });
};

function printTable(rows: ConnectionSummary[], io: Io): void {
  if (!rows.length) {
    io.out('no connections');
    return;
  }
  const header = ['CONNECTION', 'ENVIRONMENT', 'PHASE', 'LAST SYNC'];
  const cells = rows.map((r) => [r.connectionId, r.environment, r.phase, r.lastSyncAt ?? '-']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  for (const row of [header, ...cells])
    io.out(
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}
