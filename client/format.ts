/** A connection's status as readable lines: the CLI's `status` without --json, and the demo. */
import type { ConnectionStatus } from '../workflows/messages';
import { SNAPSHOT_KINDS, type EvidenceStatus } from '../workflows/evidence';

/** A readable, multi-line summary of a status; times also relative to `now`. */
export function describeStatus(status: ConnectionStatus, now: number = Date.now()): string[] {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(12)}${value}`);
  row('connection', `${status.connectionId} (${status.environment})`);
  row('phase', status.phase);
  if (status.consentUrl) row('consent URL', status.consentUrl);
  if (status.account) {
    const name = status.account.accountName ? `${status.account.accountName} ` : '';
    row('account', `${name}${status.account.accountId} at ${status.account.baseUri}`);
  }
  if (status.token) row('token', `expires ${status.token.expiresAt} (${relative(status.token.expiresAt, now)})`);
  if (status.lastSync) {
    const s = status.lastSync;
    const pages = s.pages === undefined ? '' : `, ${s.pages} page${s.pages === 1 ? '' : 's'}`;
    row(
      'last sync',
      s.finishedAt
        ? `finished ${s.finishedAt}: ${s.envelopes} envelope${s.envelopes === 1 ? '' : 's'} new or changed${pages}`
        : `running since ${s.startedAt}`,
    );
    row('cursor', s.cursor);
  }
  row(
    'stored',
    `${status.totals.envelopes} envelope${status.totals.envelopes === 1 ? '' : 's'} in ${status.totals.syncs} sync${status.totals.syncs === 1 ? '' : 's'}`,
  );
  const held = status.totals.quarantined ?? 0;
  if (held > 0) {
    row('quarantined', `${held} envelope${held === 1 ? '' : 's'} not valid yet (evidence --quarantined)`);
  }
  evidenceLines(status.evidence ?? {}).forEach((line, i) => row(i ? '' : 'evidence', line));
  const proof = status.evidence?.signedProof;
  if (proof) row('proof', `${proof.collected} collected, ${proof.pending} pending, ${proof.failed} failed`);
  const events = status.connectEvents;
  if (events)
    row(
      'webhooks',
      `${events.received} Connect event${events.received === 1 ? '' : 's'}, the last at ${events.lastEventAt} (${relative(events.lastEventAt, now)})`,
    );
  if (status.nextSyncAt) {
    row(
      status.phase === 'needs_attention' ? 'next retry' : 'next sync',
      `${status.nextSyncAt} (${relative(status.nextSyncAt, now)})`,
    );
  }
  if (status.lastError) {
    row('last error', `${status.lastError.code} at ${status.lastError.at}: ${status.lastError.message}`);
    row('fix', status.lastError.hint);
  }
  return lines;
}

/** `in 5 min` / `2.0 h ago`: seconds under 90 s, minutes under 90 min, else hours. */
function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text =
    abs < 90_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 90 * 60_000
        ? `${Math.round(abs / 60_000)} min`
        : `${(abs / 3_600_000).toFixed(1)} h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** One line per snapshot kind: its size, and its changes against the previous snapshot. */
export function evidenceLines(evidence: EvidenceStatus): string[] {
  return SNAPSHOT_KINDS.flatMap((kind) => {
    const s = evidence[kind];
    if (!s) return [];
    if (s.lastError) return [`${kind}: failed: ${s.lastError.code}: ${s.lastError.message} (fix: ${s.lastError.hint})`];
    const c = s.lastChanges;
    const changes = c ? `; since the previous: +${c.added} added, −${c.removed} removed, ~${c.changed} changed` : '';
    return [`${kind}: ${s.count} in the snapshot of ${s.lastSnapshotAt ?? '?'}${changes}`];
  });
}
