/**
 * The workflow's "current details" (the Temporal UI's User Metadata tab): what an operator watching hundreds of
 * connections needs at a glance. Markdown, a few short lines; never a secret (the status holds none).
 */
import { evidenceLine } from './evidence';
import type { ConnectionStatus } from './messages';

export function currentDetailsOf(status: ConnectionStatus): string {
  const envelopes = `${status.totals.envelopes} envelope${status.totals.envelopes === 1 ? '' : 's'}`;
  const lines = [`**${status.phase}** · ${status.environment} · ${envelopes}`];
  const evidence = status.evidence && evidenceLine(status.evidence);
  if (evidence) lines.push(`evidence: ${evidence}`);
  if (status.lastSync)
    lines.push(`last sync: ${status.lastSync.finishedAt ?? `running since ${status.lastSync.startedAt}`}`);
  if (status.connectEvents)
    lines.push(`Connect events: ${status.connectEvents.received}, last ${status.connectEvents.lastEventAt}`);
  if (status.lastError) {
    lines.push(`last error: ${status.lastError.code}: ${status.lastError.message}`);
    lines.push(`fix: ${status.lastError.hint}`);
  }
  if (status.nextSyncAt)
    lines.push(`${status.phase === 'needs_attention' ? 'next retry' : 'next sync'}: ${status.nextSyncAt}`);
  if (status.consentUrl) lines.push(`consent URL: ${status.consentUrl}`);
  return lines.join('\n');
}
