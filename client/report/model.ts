/**
 * The auditor's report as facts (issue 13 point 3): what `loadReport` reads from the evidence store and what every
 * renderer draws. It is also `report --format json`, the shape the platform consumes, so its field names are a
 * contract: add fields, never rename them (bump `schemaVersion` on a breaking change). Times are ISO-8601 UTC
 * (DocuSign's own times normalised; a zoneless one is UTC). No secrets: no consent URL, no token, no key reference.
 */
import type { SignedProofPolicy } from '../../workflows/config';
import type { ChangeCounts, SnapshotKind } from '../../workflows/evidence';
import type { ErrorCode } from '../../workflows/errors';
import type { Phase } from '../../workflows/messages';
import type { ProofCounts, ProofState } from '../../activities/store/proof';

export const REPORT_SCHEMA_VERSION = 1;

export const REPORT_FORMATS = ['html', 'md', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The report's sections in order; every renderer shows each of them, with or without data. */
export const SECTIONS = [
  { id: 'connection', title: 'Connection' },
  { id: 'access-review', title: 'Access review' },
  { id: 'security-posture', title: 'Security posture' },
  { id: 'signed-proof', title: 'Signed proof' },
  { id: 'envelopes-by-month', title: 'Envelopes by status per month' },
] as const;

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  connectionId: string;
  generatedAt: string;
  /** The period the signed-proof rows and the chart cover; access review and posture are as of the latest snapshot. */
  period: { since?: string; until: string };
  connection: ConnectionSection;
  accessReview: AccessReviewSection;
  securityPosture: SecurityPostureSection;
  signedProof: SignedProofSection;
  envelopesByMonth: EnvelopeChart;
}

// ---- connection ----

/** Whether the live status (Temporal's `status` query) is in the report. */
export type LiveStatus = { state: 'answered' } | { state: 'unavailable'; reason: string } | { state: 'not_requested' };

export interface OpenError {
  /** The connection's own error, or the last failed snapshot of a kind. */
  scope: 'connection' | SnapshotKind;
  code: ErrorCode;
  message: string;
  /** The fix (the troubleshooting table). */
  hint: string;
  at: string;
}

export interface SnapshotRef {
  snapshotId: string;
  takenAt: string;
  count: number;
}

export interface SnapshotSummary {
  kind: SnapshotKind;
  /** Complete snapshots stored. */
  snapshots: number;
  latest?: SnapshotRef;
  /** Against the previous complete snapshot; absent for the first. */
  changes?: ChangeCounts;
}

export interface ConnectionSection {
  live: LiveStatus;
  /** From the live status (absent without it). */
  environment?: 'demo' | 'production';
  phase?: Phase;
  account?: { accountId: string; accountName?: string; baseUri: string };
  lastSync?: { startedAt: string; finishedAt?: string; envelopes: number };
  nextSyncAt?: string;
  openErrors: OpenError[];
  /** From the evidence store: always present. */
  stored: {
    envelopes: number;
    /** The newest `syncedAt` of any stored envelope version. */
    lastStoredAt?: string;
    quarantined: number;
    unreadableLines: number;
  };
  /** Every snapshot kind, in SNAPSHOT_KINDS order. */
  snapshots: SnapshotSummary[];
  /**
   * What the live status says was stored and the store read does not hold (absent when nothing is missing, or without
   * a live status). The worker's store only grows, so this means the report read another store than the worker writes
   * to (EVIDENCE_STORE), or evidence was removed from it: either way the report is incomplete.
   */
  storeBehind?: StoreBehind;
}

export interface StoreBehind {
  /** The store holds fewer envelopes than the workflow's count after its last sync. */
  envelopes?: { stored: number; counted: number };
  /** Kinds whose latest snapshot per the workflow is missing from the store (or newer than the store's latest). */
  snapshots: { kind: SnapshotKind; takenAt: string }[];
}

// ---- access review ----

export interface UserRef {
  userId: string;
  /** userName, else first and last name, else email, else the ID. */
  name: string;
  email?: string;
  status?: string;
  permissionProfile?: string;
}

export type AdminReason = 'isAdmin' | 'accountAdministratorProfile';

export interface ProfileRow {
  profileId?: string;
  name: string;
  users: number;
  activeUsers: number;
}

export interface Named {
  id: string;
  name?: string;
}

export interface ObjectChange extends Named {
  /** Top-level fields whose value changed (`members` for a membership change). */
  fields: string[];
  membersAdded?: Named[];
  membersRemoved?: Named[];
}

export interface KindChanges {
  kind: SnapshotKind;
  /** Absent: no snapshot of this kind yet. */
  snapshot?: SnapshotRef;
  /** Absent with a snapshot: it is the first, nothing to compare with. */
  previous?: SnapshotRef;
  added: Named[];
  removed: Named[];
  changed: ObjectChange[];
}

export interface AccessReviewSection {
  /** The latest users snapshot; absent when none was taken yet (then every user list below is empty). */
  users?: {
    snapshot: SnapshotRef;
    previous?: SnapshotRef;
    total: number;
    byStatus: { status: string; count: number }[];
  };
  inactivityDays: number;
  /** Profiles with their users (profiles of the permission-profiles snapshot included when they have none). */
  profiles: ProfileRow[];
  administrators: (UserRef & { reasons: AdminReason[] })[];
  /** Users whose status became Closed or Disabled, or who left the list, between the previous and latest snapshot. */
  closedOrRemoved: (UserRef & { change: 'closed' | 'removed' })[];
  /** Active users whose last login is older than `inactivityDays` or who never logged in (lastLogin null). */
  inactive: (UserRef & { lastLogin: string | null; daysSinceLogin: number | null })[];
  /** Every snapshot kind, in SNAPSHOT_KINDS order. */
  changes: KindChanges[];
}

// ---- security posture ----

export type CheckResult = 'pass' | 'fail' | 'not_reported';

export interface PostureCheck {
  id: string;
  label: string;
  /** The DocuSign fields the check reads (account settings or password rules). */
  fields: string[];
  /** What the account has, in words; null when DocuSign did not report it. */
  actual: string | null;
  baseline: string;
  why: string;
  result: CheckResult;
}

export interface SecurityPostureSection {
  /** The latest account-settings snapshot; absent when none was taken yet (every check is then not_reported). */
  snapshot?: SnapshotRef;
  checks: PostureCheck[];
}

// ---- signed proof ----

export interface Signer {
  name?: string;
  email?: string;
  status?: string;
  signedAt?: string;
}

export interface ProofRow {
  envelopeId: string;
  subject?: string;
  completedAt: string;
  signers: Signer[];
  /** The proof entry's state; `none` when the envelope has no proof entry (not looked at yet). */
  proof: ProofState | 'none';
  certificateSha256?: string;
  auditEventsSha256?: string;
}

export interface OutstandingProof {
  envelopeId: string;
  subject?: string;
  state: 'pending' | 'failed';
  attempts: number;
  nextAttemptAt?: string;
  lastError?: { code: string; message: string; at: string };
}

export interface SignedProofSection {
  /** The connection's policy; null when the caller did not know it (then every completed envelope is listed). */
  policy: SignedProofPolicy | null;
  /** The proof entries of the connection by state, whatever the period (`unselected` ones are not counted). */
  counts: ProofCounts;
  completedInPeriod: number;
  /** Completed in the period and listed: selected by the policy (a proof entry not `unselected`), or every one when the
   * policy is all-completed or unknown. */
  envelopes: ProofRow[];
  /** Completed in the period and not listed: the policy does not select them, or they were not looked at yet. */
  notSelected: number;
  /** Proof entries not collected yet (pending) or given up (failed), whatever the period. */
  outstanding: OutstandingProof[];
}

// ---- chart ----

export interface MonthBar {
  /** `YYYY-MM` (UTC). */
  month: string;
  total: number;
  /** Envelopes per status; only statuses with envelopes that month. */
  counts: Record<string, number>;
}

export interface EnvelopeChart {
  /** What places an envelope in a month: the time of its latest status change, with that status. */
  basis: 'statusChangedDateTime';
  /** Every status in the chart, in legend order. */
  statuses: string[];
  /** Every month from the first to the last with envelopes, empty months included. */
  months: MonthBar[];
  total: number;
}
