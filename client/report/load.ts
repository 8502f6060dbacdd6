/**
 * Builds the report's facts from the evidence store alone, so it works with Temporal down; the live status is added
 * when the caller got one, and the report says when Temporal did not answer.
 */
import type { ProofStore } from '../../activities/store/proof';
import { changeCounts } from '../../activities/store/snapshots';
import type { EvidenceStore } from '../../activities/store/types';
import { InvalidConfigError, type SignedProofPolicy } from '../../workflows/config';
import { SNAPSHOT_KINDS } from '../../workflows/evidence';
import type { ConnectionStatus } from '../../workflows/messages';
import { loadAccessReview, refOf, snapshotHistory, type SnapshotHistory } from './access-review';
import { loadEnvelopeFacts } from './envelopes';
import {
  REPORT_SCHEMA_VERSION,
  type ConnectionSection,
  type OpenError,
  type Report,
  type SecurityPostureSection,
} from './model';
import { postureChecks } from './posture';
import { isoTime } from './values';

export interface LoadReportOptions {
  store: EvidenceStore;
  connectionId: string;
  /** Start of the period (ISO date-time, or a date meaning midnight UTC); default: everything stored. */
  since?: string;
  /** The live status, `{ unavailable: why }` when Temporal did not answer, absent when not asked. */
  status?: ConnectionStatus | { unavailable: string };
  /** The connection's signedProof policy; absent when unknown. */
  policy?: SignedProofPolicy;
  /** The signed-proof entries; default the store's own. */
  proof?: ProofStore;
  now: Date;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** `since` as ISO UTC; a bad value is an InvalidConfigError naming the rule. */
export function parseSince(since: string): string {
  const iso = isoTime(DATE_ONLY.test(since) ? `${since}T00:00:00Z` : since);
  if (iso === undefined)
    throw new InvalidConfigError(`since: must be an ISO date (2026-01-31) or date-time, got ${JSON.stringify(since)}`);
  return iso;
}

export async function loadReport(options: LoadReportOptions): Promise<Report> {
  const { store, connectionId, status, policy, now } = options;
  const proof = options.proof ?? store.proof;
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const history = await snapshotHistory(store.snapshots, connectionId);
  const accessReview = await loadAccessReview(store.snapshots, connectionId, history, now);
  const securityPosture = await loadPosture(store, connectionId, history);
  const envelopes = await loadEnvelopeFacts({ records: store.list(connectionId), proof, connectionId, policy, since });
  const stored = {
    ...envelopes.stored,
    quarantined: await store.countQuarantined(connectionId),
    unreadableLines: (await store.unreadableLines(connectionId)).length,
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    connectionId,
    generatedAt: now.toISOString(),
    period: { ...(since && { since }), until: now.toISOString() },
    connection: {
      ...liveFacts(status),
      stored,
      snapshots: snapshotSummaries(history),
      ...storeBehindFacts(status, stored.envelopes, history),
    },
    accessReview,
    securityPosture,
    signedProof: envelopes.signedProof,
    envelopesByMonth: envelopes.chart,
  };
}

function snapshotSummaries(history: SnapshotHistory): ConnectionSection['snapshots'] {
  return SNAPSHOT_KINDS.map((kind) => {
    const latest = history.get(kind)?.latest;
    if (!latest) return { kind, snapshots: 0 };
    const d = latest.diff;
    return {
      kind,
      snapshots: history.get(kind)?.count ?? 0,
      latest: refOf(latest),
      ...(d && { changes: changeCounts(d) }),
    };
  });
}

/**
 * The live status against the store read: the status is read before the store and the worker's store only grows, so
 * anything the status counts that the store lacks is evidence this report does not show.
 */
function storeBehindFacts(
  status: LoadReportOptions['status'],
  storedEnvelopes: number,
  history: SnapshotHistory,
): Pick<ConnectionSection, 'storeBehind'> {
  if (status === undefined || 'unavailable' in status) return {};
  const counted = status.totals.envelopes;
  const snapshots = SNAPSHOT_KINDS.flatMap((kind) => {
    const takenAt = status.evidence?.[kind]?.lastSnapshotAt;
    const latest = history.get(kind)?.latest?.takenAt;
    return takenAt && (!latest || Date.parse(latest) < Date.parse(takenAt)) ? [{ kind, takenAt }] : [];
  });
  if (storedEnvelopes >= counted && !snapshots.length) return {};
  return {
    storeBehind: { ...(storedEnvelopes < counted && { envelopes: { stored: storedEnvelopes, counted } }), snapshots },
  };
}

/** What the live status adds: phase, account, last sync and the open errors with their fixes (never the consent URL). */
function liveFacts(status: LoadReportOptions['status']): Omit<ConnectionSection, 'stored' | 'snapshots'> {
  if (status === undefined) return { live: { state: 'not_requested' }, openErrors: [] };
  if ('unavailable' in status) return { live: { state: 'unavailable', reason: status.unavailable }, openErrors: [] };
  const openErrors: OpenError[] = [];
  if (status.lastError) openErrors.push({ scope: 'connection', ...status.lastError });
  for (const kind of SNAPSHOT_KINDS) {
    const error = status.evidence?.[kind]?.lastError;
    if (error) openErrors.push({ scope: kind, ...error });
  }
  const { lastSync, account } = status;
  return {
    live: { state: 'answered' },
    environment: status.environment,
    phase: status.phase,
    ...(account && {
      account: { accountId: account.accountId, accountName: account.accountName, baseUri: account.baseUri },
    }),
    ...(lastSync && {
      lastSync: { startedAt: lastSync.startedAt, finishedAt: lastSync.finishedAt, envelopes: lastSync.envelopes },
    }),
    nextSyncAt: status.nextSyncAt,
    openErrors,
  };
}

async function loadPosture(
  store: EvidenceStore,
  connectionId: string,
  history: SnapshotHistory,
): Promise<SecurityPostureSection> {
  const entry = history.get('account-settings')?.latest;
  if (!entry) return { checks: postureChecks(undefined, undefined) };
  let settings: Record<string, unknown> | undefined;
  let passwordRules: Record<string, unknown> | undefined;
  for await (const { id, object } of store.snapshots.records(connectionId, 'account-settings', entry.snapshotId)) {
    if (id === 'accountSettings') settings = object;
    else if (id === 'passwordRules') passwordRules = object;
  }
  return { snapshot: refOf(entry), checks: postureChecks(settings, passwordRules) };
}
