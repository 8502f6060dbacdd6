/**
 * Signed proof and the monthly chart from one pass over the stored envelopes (latest record of each), joined with the
 * proof entries. Held: the proof entries in slim form (hashes and states, a few hundred bytes each), the rows of the
 * completed envelopes the report lists, and one counter per month and status; never the envelopes themselves.
 */
import type { EnvelopeProof, ProofStore } from '../../activities/store/proof';
import type { EnvelopeRecord } from '../../activities/store/types';
import type { SignedProofPolicy } from '../../workflows/config';
import type { ConnectionSection, EnvelopeChart, OutstandingProof, ProofRow, Signer, SignedProofSection } from './model';
import { compareText, isoTime, text } from './values';

/** Legend order: the way an envelope goes, then how it ends; any other status follows alphabetically. */
const STATUS_ORDER = [
  'created',
  'sent',
  'delivered',
  'signed',
  'completed',
  'declined',
  'voided',
  'timedout',
  'deleted',
  'processing',
];

type SlimProof = Pick<EnvelopeProof, 'state' | 'attempts' | 'nextAttemptAt' | 'lastError'> & {
  certificateSha256?: string;
  auditEventsSha256?: string;
  subject?: string;
};

interface EnvelopeFacts {
  stored: Pick<ConnectionSection['stored'], 'envelopes' | 'lastStoredAt'>;
  signedProof: SignedProofSection;
  chart: EnvelopeChart;
}

function signersOf(envelope: Record<string, unknown>): Signer[] {
  const recipients = envelope.recipients;
  const signers = recipients && typeof recipients === 'object' ? (recipients as Record<string, unknown>).signers : [];
  if (!Array.isArray(signers)) return [];
  return signers
    .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null)
    .map((s) => ({
      name: text(s.name),
      email: text(s.email),
      status: text(s.status),
      signedAt: isoTime(s.signedDateTime),
    }));
}

/** `since` and the times compared with it are ISO UTC with milliseconds, so they compare as strings. */
export async function loadEnvelopeFacts(input: {
  records: AsyncIterable<EnvelopeRecord>;
  proof: ProofStore;
  connectionId: string;
  policy?: SignedProofPolicy;
  since?: string;
}): Promise<EnvelopeFacts> {
  const { records, proof, connectionId, policy, since } = input;
  const inPeriod = (iso: string) => since === undefined || iso >= since;

  const proofs = new Map<string, SlimProof>();
  const counts = { collected: 0, pending: 0, failed: 0 };
  for await (const p of proof.listProof(connectionId)) {
    if (p.state !== 'unselected') counts[p.state]++;
    proofs.set(p.envelopeId, {
      state: p.state,
      attempts: p.attempts,
      nextAttemptAt: p.nextAttemptAt,
      lastError: p.lastError,
      certificateSha256: p.certificate?.sha256,
      auditEventsSha256: p.auditEvents?.sha256,
    });
  }
  // Without a known policy every completed envelope is listed; 'all-completed' lists those not queued yet too. Other
  // policies list what they selected: an entry that is not `unselected`.
  const listAll = policy === undefined || policy === 'all-completed';

  const months = new Map<string, Map<string, number>>();
  const statuses = new Set<string>();
  const rows: ProofRow[] = [];
  let envelopes = 0;
  let lastStoredAt: string | undefined;
  let completedInPeriod = 0;
  for await (const record of records) {
    envelopes++;
    const syncedAt = isoTime(record.syncedAt);
    if (syncedAt && (lastStoredAt === undefined || syncedAt > lastStoredAt)) lastStoredAt = syncedAt;
    const { envelope } = record;
    const entry = proofs.get(record.envelopeId);
    if (entry?.state === 'pending' || entry?.state === 'failed') entry.subject = text(envelope.emailSubject);

    const changedAt = isoTime(record.statusChangedDateTime);
    if (changedAt && inPeriod(changedAt)) {
      const month = months.get(changedAt.slice(0, 7)) ?? new Map<string, number>();
      month.set(record.status, (month.get(record.status) ?? 0) + 1);
      months.set(changedAt.slice(0, 7), month);
      statuses.add(record.status);
    }

    if (record.status !== 'completed') continue;
    const completedAt = isoTime(envelope.completedDateTime) ?? changedAt;
    if (!completedAt || !inPeriod(completedAt)) continue;
    completedInPeriod++;
    if (!listAll && (!entry || entry.state === 'unselected')) continue;
    rows.push({
      envelopeId: record.envelopeId,
      subject: text(envelope.emailSubject),
      completedAt,
      signers: signersOf(envelope),
      proof: entry?.state ?? 'none',
      certificateSha256: entry?.certificateSha256,
      auditEventsSha256: entry?.auditEventsSha256,
    });
  }

  const outstanding: OutstandingProof[] = [];
  for (const [envelopeId, p] of proofs) {
    if (p.state !== 'pending' && p.state !== 'failed') continue;
    outstanding.push({
      envelopeId,
      subject: p.subject,
      state: p.state,
      attempts: p.attempts,
      nextAttemptAt: p.nextAttemptAt,
      lastError: p.lastError,
    });
  }

  return {
    stored: { envelopes, lastStoredAt },
    signedProof: {
      policy: policy ?? null,
      counts,
      completedInPeriod,
      envelopes: rows.sort(
        (a, b) => compareText(a.completedAt, b.completedAt) || compareText(a.envelopeId, b.envelopeId),
      ),
      notSelected: completedInPeriod - rows.length,
      outstanding,
    },
    chart: chartOf(months, statuses),
  };
}

/** The next `YYYY-MM`. */
function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

function chartOf(months: Map<string, Map<string, number>>, statuses: Set<string>): EnvelopeChart {
  const rank = (s: string) => {
    const i = STATUS_ORDER.indexOf(s);
    return i < 0 ? STATUS_ORDER.length : i;
  };
  const keys = [...months.keys()].sort();
  const bars: EnvelopeChart['months'] = [];
  let total = 0;
  const last = keys.at(-1);
  for (let month = keys[0]; month !== undefined && last !== undefined && month <= last; month = nextMonth(month)) {
    const counts = months.get(month) ?? new Map<string, number>();
    const sum = [...counts.values()].reduce((a, b) => a + b, 0);
    total += sum;
    bars.push({
      month,
      total: sum,
      counts: Object.fromEntries([...counts].sort(([a], [b]) => rank(a) - rank(b) || compareText(a, b))),
    });
  }
  return {
    basis: 'statusChangedDateTime',
    statuses: [...statuses].sort((a, b) => rank(a) - rank(b) || compareText(a, b)),
    months: bars,
    total,
  };
}
