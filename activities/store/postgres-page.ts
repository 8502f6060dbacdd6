/**
 * A page of the Postgres store, in one transaction (`writePage`): versions are inserted with ON CONFLICT DO NOTHING
 * RETURNING (what comes back is what this write created), then latest rows are upserted only where the new instant is
 * later than the stored one, then the sync checkpoint (if given) is replaced.
 * Both statements are safe under concurrent writers of the same rows (the unique index serialises them; a waiting
 * insert sees the other's committed row and does nothing). Rows go in sorted order to avoid lock-order deadlocks;
 * writePage retries a deadlock or serialisation failure anyway.
 */
import type { PoolClient } from 'pg';
import { compare } from './identity';
import type { PreparedRecord } from './records';

const COLUMNS_FROM_ARRAYS = `
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
       WITH ORDINALITY AS t(envelope_id, status_changed_at, status_changed_key, status, synced_at, record_text, ord)
  ORDER BY t.ord`;

const INSERT_VERSIONS = `
  INSERT INTO evidence_envelope_versions
    (connection_id, envelope_id, status_changed_at, status_changed_key, status, synced_at, record, record_text)
  SELECT $1, t.envelope_id, t.status_changed_at, t.status_changed_key, t.status, t.synced_at, t.record_text::jsonb,
         t.record_text
  ${COLUMNS_FROM_ARRAYS}
  ON CONFLICT (connection_id, envelope_id, status_changed_at) DO NOTHING
  RETURNING envelope_id`;

const UPSERT_LATEST = `
  INSERT INTO evidence_envelopes AS e
    (connection_id, envelope_id, status, status_changed_at, status_changed_key, synced_at, record, record_text)
  SELECT $1, t.envelope_id, t.status, t.status_changed_at, t.status_changed_key, t.synced_at, t.record_text::jsonb,
         t.record_text
  ${COLUMNS_FROM_ARRAYS}
  ON CONFLICT (connection_id, envelope_id) DO UPDATE SET
    status = EXCLUDED.status,
    status_changed_at = EXCLUDED.status_changed_at,
    status_changed_key = EXCLUDED.status_changed_key,
    synced_at = EXCLUDED.synced_at,
    record = EXCLUDED.record,
    record_text = EXCLUDED.record_text
  WHERE e.status_changed_key < EXCLUDED.status_changed_key`;

const UPSERT_CHECKPOINT = `
  INSERT INTO evidence_sync_checkpoints (connection_id, checkpoint_text) VALUES ($1, $2)
  ON CONFLICT (connection_id) DO UPDATE SET checkpoint_text = EXCLUDED.checkpoint_text, updated_at = now()`;

/** A page's rows in lock order (concurrent writers take row locks in the same order), and each envelope's newest. */
export interface PageRows {
  versions: PreparedRecord[];
  latest: PreparedRecord[];
}

export function pageRows(page: readonly PreparedRecord[]): PageRows {
  const versions = [...page].sort(
    (a, b) =>
      compare(a.record.envelopeId, b.record.envelopeId) ||
      compare(a.record.statusChangedDateTime, b.record.statusChangedDateTime),
  );
  const latest = new Map<string, PreparedRecord>();
  for (const p of versions) {
    const best = latest.get(p.record.envelopeId);
    if (!best || p.key > best.key) latest.set(p.record.envelopeId, p);
  }
  return { versions, latest: [...latest.values()] };
}

/** Writes a page in the caller's transaction; the envelope IDs that got a new version. */
export async function writePageRows(
  client: PoolClient,
  connectionId: string,
  { versions, latest }: PageRows,
  checkpointJson: string | undefined,
): Promise<Set<string>> {
  const inserted = versions.length
    ? (await client.query<{ envelope_id: string }>(INSERT_VERSIONS, [connectionId, ...arrays(versions)])).rows
    : [];
  if (latest.length) await client.query(UPSERT_LATEST, [connectionId, ...arrays(latest)]);
  if (checkpointJson) await client.query(UPSERT_CHECKPOINT, [connectionId, checkpointJson]);
  return new Set(inserted.map((r) => r.envelope_id));
}

function arrays(rows: readonly PreparedRecord[]): [string[], string[], string[], string[], string[], string[]] {
  return [
    rows.map((r) => r.record.envelopeId),
    rows.map((r) => r.record.statusChangedDateTime),
    rows.map((r) => r.key),
    rows.map((r) => r.record.status),
    rows.map((r) => r.record.syncedAt),
    rows.map((r) => r.json),
  ];
}
