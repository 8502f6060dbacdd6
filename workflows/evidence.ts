/**
 * The kinds of evidence a connection collects (design.md §7) and what `status` says about each. Pure: clients, the
 * CLI and the workflow import it.
 *
 * `envelopes` sync incrementally (a cursor); the snapshot kinds are full refreshes, each stored only when complete,
 * with its diff against the previous complete snapshot.
 */
import type { ErrorCode } from './errors';

export const SNAPSHOT_KINDS = ['users', 'groups', 'permission-profiles', 'signing-groups', 'account-settings'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

export const EVIDENCE_KINDS = ['envelopes', ...SNAPSHOT_KINDS] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export const isEvidenceKind = (value: unknown): value is EvidenceKind =>
  typeof value === 'string' && (EVIDENCE_KINDS as readonly string[]).includes(value);

export const DEFAULT_SNAPSHOT_INTERVAL_HOURS = 24;
export const SNAPSHOT_INTERVAL_HOURS = { min: 1, max: 168 } as const;

/** How many objects a snapshot added, removed and changed against the previous complete one. */
export interface ChangeCounts {
  added: number;
  removed: number;
  changed: number;
}

/** A snapshot taken: what the workflow shows of it. */
export interface SnapshotResult {
  kind: SnapshotKind;
  takenAt: string;
  count: number;
  /** Against the previous complete snapshot; absent for the first. */
  changes?: ChangeCounts;
  /** Identical to the snapshot taken then (stored once). */
  sameAs?: string;
}

/** A kind whose snapshot failed for its own reasons (the connection is fine): it keeps its last snapshot. */
export interface SnapshotFailure {
  kind: SnapshotKind;
  failed: { code: ErrorCode; message: string };
}

/** Each kind of a snapshot pass, in order: taken or failed. */
export type SnapshotOutcome = SnapshotResult | SnapshotFailure;

/** An envelope sync done: its cursor and counts, what `status.lastSync` and `status.totals` show. */
export interface SyncResult {
  cursor: string;
  /** Distinct envelopes whose record this sync created or changed. */
  envelopes: number;
  pages: number;
  totalStored: number;
  /** Envelopes of the connection in quarantine after this sync: listed by DocuSign, not valid (yet). */
  quarantined: number;
  finishedAt: string;
}

/** `status.evidence[kind]` (design.md §7), plus the last failure of this kind, if its last attempt failed. */
export interface KindStatus {
  lastSnapshotAt?: string;
  count: number;
  /** Absent for the first snapshot (nothing to compare with). */
  lastChanges?: ChangeCounts;
  lastError?: { code: ErrorCode; message: string; hint: string; at: string };
}

/** `status.evidence.signedProof` (issue 13): completed envelopes the policy selects, by the state of their proof. */
export interface ProofStatus {
  collected: number;
  pending: number;
  failed: number;
  lastError?: KindStatus['lastError'];
}

/** `status.evidence`: each snapshot kind, and signed proof. */
export type EvidenceStatus = Partial<Record<SnapshotKind, KindStatus>> & { signedProof?: ProofStatus };

/** The one-line summary for the Temporal UI, e.g. `users 120 (+2 −1 ~3) · groups 8 · proof 40 (2 pending)`. */
export function evidenceLine(evidence: EvidenceStatus): string | undefined {
  const parts = SNAPSHOT_KINDS.filter((kind) => evidence[kind]).map((kind) => {
    const s = evidence[kind]!;
    const changes = s.lastChanges
      ? ` (+${s.lastChanges.added} −${s.lastChanges.removed} ~${s.lastChanges.changed})`
      : '';
    const failed = s.lastError ? ` [${s.lastError.code}]` : '';
    return `${kind} ${s.count}${changes}${failed}`;
  });
  const proof = evidence.signedProof;
  if (proof) {
    const open = [proof.pending && `${proof.pending} pending`, proof.failed && `${proof.failed} failed`].filter(
      Boolean,
    );
    parts.push(`proof ${proof.collected}${open.length ? ` (${open.join(', ')})` : ''}`);
  }
  return parts.length ? parts.join(' · ') : undefined;
}
