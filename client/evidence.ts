/**
 * Reading a connection's evidence straight from the evidence store (EVIDENCE_STORE: a directory or a postgres://
 * URL): no Temporal connection needed, so it works while the worker is down and after a disconnect. Used by
 * ConnectorClient, the CLI's `evidence` and the demo.
 */
import {
  createEvidenceStore,
  type EnvelopeRecord,
  type EvidenceStore,
  type QuarantinedEnvelope,
  type UnreadableLine,
} from '../activities/store';
import type { SnapshotEntry, SnapshotRecord } from '../activities/store/snapshots';
import { CONNECTION_ID, InvalidConfigError } from '../workflows/config';
import { buildReport, type LoadReportOptions, type RenderedReport, type ReportFormat } from './report';
import type { SnapshotKind } from '../workflows/evidence';

/** The stored envelope records of a connection (latest version of each, in envelopeId order). */
export const readEvidence = (spec: string, connectionId: string): AsyncIterable<EnvelopeRecord> =>
  streamStore(spec, connectionId, (store) => store.list(connectionId));

/** The quarantined envelopes of a connection (in envelopeId order). */
export const readQuarantined = (spec: string, connectionId: string): Promise<QuarantinedEnvelope[]> =>
  withStore(spec, connectionId, (store) => store.listQuarantined(connectionId));

/** Stored lines of a connection that no reader can use (skipped by `readEvidence`). */
export const readUnreadableLines = (spec: string, connectionId: string): Promise<UnreadableLine[]> =>
  withStore(spec, connectionId, (store) => store.unreadableLines(connectionId));

/** The latest complete snapshot of a kind (records exactly as DocuSign sent them, in its order). */
export const readSnapshot = (spec: string, connectionId: string, kind: SnapshotKind): AsyncIterable<SnapshotRecord> =>
  streamStore(spec, connectionId, (store) => store.snapshots.records(connectionId, kind));

/** Every complete snapshot of a kind, oldest first, each with its diff against the previous one. */
export const readSnapshotHistory = (spec: string, connectionId: string, kind: SnapshotKind): Promise<SnapshotEntry[]> =>
  withStore(spec, connectionId, (store) => store.snapshots.snapshots(connectionId, kind));

/** How the store `spec` is named in messages: its kind and place, never a password. */
export async function describeEvidenceStore(spec: string): Promise<string> {
  const store = createEvidenceStore(spec);
  await store.close();
  return store.description;
}

/** The auditor's report of a connection, built from the evidence store `spec` (Temporal adds the live parts). */
export function readReport(
  spec: string,
  connectionId: string,
  options: { format: ReportFormat } & Omit<LoadReportOptions, 'store' | 'connectionId' | 'now'> & { now?: Date },
): Promise<RenderedReport> {
  const { format, now = new Date(), ...rest } = options;
  return withStore(spec, connectionId, (store) => buildReport(format, { ...rest, store, connectionId, now }));
}

/** Opens the store `spec` for one connection, runs `use`, and closes it whatever happens. */
async function withStore<T>(spec: string, connectionId: string, use: (store: EvidenceStore) => Promise<T>): Promise<T> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    return await use(store);
  } finally {
    await store.close();
  }
}

/** As withStore, for a stream: the store stays open until the reader is done (or stops early). */
async function* streamStore<T>(
  spec: string,
  connectionId: string,
  use: (store: EvidenceStore) => AsyncIterable<T>,
): AsyncIterable<T> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    yield* use(store);
  } finally {
    await store.close();
  }
}

/** The evidence store `spec`, to read one (valid) connection from; not opened yet. */
function storeOf(spec: string, connectionId: string): EvidenceStore {
  if (!CONNECTION_ID.test(connectionId))
    throw new InvalidConfigError(`connectionId: must match ${String(CONNECTION_ID)}`);
  return createEvidenceStore(spec);
}
