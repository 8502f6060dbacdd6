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
import { buildReport, type LoadReportOptions, type ReportFormat } from './report';
import type { SnapshotKind } from '../workflows/evidence';

/** The stored envelope records of a connection (latest version of each, in envelopeId order). */
export async function* readEvidence(spec: string, connectionId: string): AsyncIterable<EnvelopeRecord> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    yield* store.list(connectionId);
  } finally {
    await store.close();
  }
}

/** The quarantined envelopes of a connection (in envelopeId order). */
export async function readQuarantined(spec: string, connectionId: string): Promise<QuarantinedEnvelope[]> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    return await store.listQuarantined(connectionId);
  } finally {
    await store.close();
  }
}

/** Stored lines of a connection that no reader can use (skipped by `readEvidence`). */
export async function readUnreadableLines(spec: string, connectionId: string): Promise<UnreadableLine[]> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    return await store.unreadableLines(connectionId);
  } finally {
    await store.close();
  }
}

/** The latest complete snapshot of a kind (records exactly as DocuSign sent them, in its order). */
export async function* readSnapshot(
  spec: string,
  connectionId: string,
  kind: SnapshotKind,
): AsyncIterable<SnapshotRecord> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    yield* store.snapshots.records(connectionId, kind);
  } finally {
    await store.close();
  }
}

/** Every complete snapshot of a kind, oldest first, each with its diff against the previous one. */
export async function readSnapshotHistory(
  spec: string,
  connectionId: string,
  kind: SnapshotKind,
): Promise<SnapshotEntry[]> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    return await store.snapshots.snapshots(connectionId, kind);
  } finally {
    await store.close();
  }
}

/** The auditor's report of a connection, built from the evidence store `spec` (Temporal adds the live parts). */
export async function readReport(
  spec: string,
  connectionId: string,
  options: { format: ReportFormat } & Omit<LoadReportOptions, 'store' | 'connectionId' | 'now'> & { now?: Date },
): Promise<string> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    const { format, now = new Date(), ...rest } = options;
    return await buildReport(format, { ...rest, store, connectionId, now });
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
