/**
 * `evidence`: the stored envelope records (or, with --quarantined, the envelopes held back with their reason), or with
 * --kind the latest snapshot of a kind (--changes: every snapshot with its diff), read from EVIDENCE_STORE directly;
 * Temporal is asked only to tell an unknown connection from one with nothing stored.
 */
import type { SnapshotEntry, SnapshotRecord } from '../../activities/store/snapshots';
import { EVIDENCE_KINDS, SNAPSHOT_KINDS, type SnapshotKind } from '../../workflows/evidence';
import type { RegisterCommand } from './command';
import { connectionIdOf, kindOf, UsageError } from './flags';

export const evidenceCommand: RegisterCommand = (program, ctx) => {
  program
    .command('evidence')
    .description('the stored envelope records (one JSON object per line with --json)')
    .option('--connection <id>', 'connection ID')
    .option('--json', 'one JSON record per line')
    .option('--quarantined', 'the quarantined envelopes instead: listed by DocuSign, not valid yet, with the reason')
    .option('--kind <kind>', `${EVIDENCE_KINDS.join(' | ')} (default envelopes): the latest snapshot of that kind`)
    .option('--changes', 'with a snapshot --kind: every snapshot, oldest first, with its diff against the one before')
    .action(
      async (flags: {
        connection?: string;
        json?: boolean;
        quarantined?: boolean;
        kind?: string;
        changes?: boolean;
      }) => {
        const { io } = ctx;
        const id = connectionIdOf(flags.connection);
        const kind = flags.kind === undefined ? 'envelopes' : kindOf(flags.kind);
        if (kind !== 'envelopes' && flags.quarantined)
          throw new UsageError('--quarantined: applies to --kind envelopes');
        if (kind === 'envelopes' && flags.changes) {
          throw new UsageError(
            `--changes: applies to the snapshot kinds (${SNAPSHOT_KINDS.join(', ')}), not envelopes`,
          );
        }
        const spec = (await ctx.config()).evidenceStore;
        const {
          describeEvidenceStore,
          readEvidence,
          readQuarantined,
          readSnapshot,
          readSnapshotHistory,
          readUnreadableLines,
        } = await import('../evidence.js');
        // Nothing found: said on stderr (--json output stays clean), naming the store read, in case it is the wrong one.
        const nothing = async (what: string) => {
          await (await ctx.client()).describe(id); // throws ConnectionNotFoundError for an unknown connection
          io.err(`${what} for connection ${id} in ${await describeEvidenceStore(spec)} (EVIDENCE_STORE)`);
        };
        let count = 0;
        if (kind !== 'envelopes') {
          if (flags.changes) {
            for (const entry of await readSnapshotHistory(spec, id, kind)) {
              count += 1;
              for (const line of flags.json ? [JSON.stringify(entry)] : historyLines(entry)) io.out(line);
            }
          } else {
            for await (const record of readSnapshot(spec, id, kind)) {
              count += 1;
              io.out(flags.json ? JSON.stringify(record) : recordLine(kind, record));
            }
          }
          if (count === 0) {
            await nothing(`no complete ${kind} snapshot stored yet`);
          } else if (!flags.json) {
            io.err(
              flags.changes
                ? `${count} ${kind} snapshot${count === 1 ? '' : 's'}`
                : `${count} ${kind} record${count === 1 ? '' : 's'} in the latest snapshot`,
            );
          }
          return;
        }
        if (flags.quarantined) {
          for (const entry of await readQuarantined(spec, id)) {
            count += 1;
            io.out(flags.json ? JSON.stringify(entry) : `${entry.envelopeId}  ${entry.quarantinedAt}  ${entry.reason}`);
          }
        } else {
          for await (const record of readEvidence(spec, id)) {
            count += 1;
            if (flags.json) {
              io.out(JSON.stringify(record));
            } else {
              const subject =
                typeof record.envelope.emailSubject === 'string' ? `  ${record.envelope.emailSubject}` : '';
              io.out(`${record.envelopeId}  ${record.status.padEnd(9)}  ${record.statusChangedDateTime}${subject}`);
            }
          }
        }
        if (count === 0) {
          await nothing(flags.quarantined ? 'no quarantined envelopes' : 'no evidence stored yet');
        } else if (!flags.json) {
          const what = flags.quarantined ? 'quarantined envelope' : 'envelope record';
          io.err(`${count} ${what}${count === 1 ? '' : 's'}`);
        }
        // Lines no reader can use are skipped everywhere; say so (on stderr, so --json output stays clean).
        const unreadable = flags.quarantined ? [] : await readUnreadableLines(spec, id);
        if (unreadable.length) {
          io.err(
            `warning: ${unreadable.length} unreadable stored line${unreadable.length === 1 ? '' : 's'} skipped ` +
              `(${unreadable.map((l) => `${l.file} at byte ${l.offset}`).join(', ')}); see \`doctor\``,
          );
        }
      },
    );
};

/** What one record of a snapshot is, in a line: its ID and the fields an auditor reads first. */
function recordLine(kind: SnapshotKind, record: SnapshotRecord): string {
  const o = record.object;
  const text = (key: string) => (typeof o[key] === 'string' ? o[key] : '');
  const fields: Record<SnapshotKind, string[]> = {
    users: [
      text('userName'),
      text('email'),
      text('userStatus'),
      text('permissionProfileName'),
      /^true$/i.test(text('isAdmin')) ? 'admin' : '',
    ],
    groups: [text('groupName'), text('groupType'), `${record.members?.length ?? 0} members`],
    'permission-profiles': [text('permissionProfileName')],
    'signing-groups': [text('groupName'), `${Array.isArray(o.users) ? o.users.length : 0} members`],
    'account-settings': [`${Object.keys(o).length} settings`],
  };
  return [record.id, ...fields[kind].filter(Boolean)].join('  ');
}

/** A snapshot of the history: when, how big, and what changed against the one before. */
function historyLines(entry: SnapshotEntry): string[] {
  const head = `${entry.takenAt}  ${entry.count} records${entry.sameAs ? ` (identical to ${entry.sameAs})` : ''}`;
  if (!entry.diff) return [`${head}  (first snapshot)`];
  const { added, removed, changed } = entry.diff;
  return [
    `${head}  +${added.length} −${removed.length} ~${changed.length}`,
    ...added.map((id) => `  + ${id}`),
    ...removed.map((id) => `  − ${id}`),
    ...changed.map((c) => {
      const members = [...(c.membersAdded ?? []).map((m) => `+${m}`), ...(c.membersRemoved ?? []).map((m) => `−${m}`)];
      return `  ~ ${c.id}: ${c.fields.join(', ')}${members.length ? ` (${members.join(' ')})` : ''}`;
    }),
  ];
}
