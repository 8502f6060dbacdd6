/**
 * `report`: the auditor's report of a connection (issue 13) as one self-contained HTML document, Markdown, or JSON,
 * built from the evidence store; the live status and the signed-proof policy come from Temporal when it answers, and
 * the report says so when it does not (the store alone still makes a report).
 */
import { writeFile } from 'node:fs/promises';
import type { RenderedReport } from '../report';
import type { RegisterCommand } from './command';
import { REPORT_FORMATS as FORMATS } from '../report/model';
import { connectionIdOf, UsageError } from './flags';

export const reportCommand: RegisterCommand = (program, ctx) => {
  program
    .command('report')
    .description("write the auditor's report: connection, access review, security posture, signed proof, envelopes")
    .option('--connection <id>', 'connection ID')
    .option('--format <format>', `${FORMATS.join(' | ')}`, 'html')
    .option('--out <file>', 'write it there (default: standard output)')
    .option('--since <iso>', 'start of the period for signed proof and the chart (ISO date or date-time)')
    .action(async (flags: { connection?: string; format: string; out?: string; since?: string }) => {
      const { io } = ctx;
      const id = connectionIdOf(flags.connection);
      const format = FORMATS.find((f) => f === flags.format);
      if (!format) throw new UsageError(`--format: must be one of ${FORMATS.join(', ')}`);
      const { parseSince } = await import('../report/index.js');
      if (flags.since !== undefined) {
        try {
          parseSince(flags.since);
        } catch (err) {
          throw new UsageError(`--since: ${(err as Error).message.replace(/^since: /, '')}`);
        }
      }
      const options = { format, ...(flags.since !== undefined ? { since: flags.since } : {}) };
      // Temporal unreachable: the store alone still makes the report, and says so (the client does the same when
      // Temporal answers but the connection's worker does not).
      const client = await ctx.client().catch((err: Error) => err);
      let report: RenderedReport;
      if (client instanceof Error) {
        const { readReport } = await import('../evidence.js');
        const spec = (await ctx.config()).evidenceStore;
        report = await readReport(spec, id, { ...options, status: { unavailable: client.message } });
      } else {
        report = await client.report(id, options);
      }
      if (flags.out) {
        await writeFile(flags.out, report.text);
        io.out(`report written to ${flags.out}`);
      } else {
        io.write(report.text);
      }
      // On stderr as well: whoever reads only the terminal learns the report is incomplete, and why.
      if (report.incomplete) io.err(`warning: ${report.incomplete}`);
    });
};
