/**
 * A page of the Postgres store, as ONE statement (`writePage`), so one round trip and its own transaction: the page's
 * rows come in as a VALUES list; versions are inserted with ON CONFLICT DO NOTHING RETURNING (what comes back is what
 * this write created), latest rows are upserted only where the new instant is later than the stored one, and the sync
 * checkpoint (if given) is replaced. Data-modifying CTEs all run, whether or not the final SELECT reads them.
 * Both upserts are safe under concurrent writers of the same rows (the unique index serialises them; a waiting insert
 * sees the other's committed row and does nothing). Rows go in sorted order to avoid lock-order deadlocks; writePage
 * retries a deadlock or serialisation failure anyway.
 *
 * Why this shape (bench/store.ts, README "where the time went"): one parameter per value, not one text[] per column
 * (node-pg escapes every quote of the JSON into an array literal that Postgres then parses back: 4× the cost of the
 * whole insert); one statement instead of BEGIN, three statements and COMMIT; the statement is prepared once per row
 * count; the record is stored once, as written (the version's text, compressed with lz4 rather than pglz: migration
 * 006), and the latest row only names its version (migration 007: its own json copy was half of the page's cost).
 */
import type { PoolClient, QueryConfig } from 'pg';
import { compare } from './identity';
import type { PreparedRecord } from './records';

/** A page's rows in lock order (concurrent writers take row locks in the same order), and each envelope's newest. */
export interface PageRows {
  versions: PreparedRecord[];
  /** The records among `versions` that are each envelope's newest in the page. */
  latest: Set<PreparedRecord>;
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
  return { versions, latest: new Set(latest.values()) };
}

/** Per row: envelope_id, status_changed_at, status_changed_key, status, synced_at, record_text, is_latest. */
const ROW_PARAMS = 7;

/** The page's statement for `rows` rows (with the checkpoint or without), prepared under its name once per pooled connection. */
function buildPageStatement(rows: number, withCheckpoint: boolean): Pick<QueryConfig, 'name' | 'text'> {
  const values = Array.from({ length: rows }, (_, i) => {
    const p = (k: number) => `$${2 + i * ROW_PARAMS + k}`;
    return `(${p(0)}::text, ${p(1)}::text, ${p(2)}::text, ${p(3)}::text, ${p(4)}::timestamptz, ${p(5)}::text, ${p(6)}::boolean, ${i})`;
  });
  const checkpointParam = `$${2 + rows * ROW_PARAMS}`;
  const text = `
    WITH t (envelope_id, status_changed_at, status_changed_key, status, synced_at, record_text, is_latest, ord) AS (
      VALUES ${values.join(',\n')}
    ),
    created AS (
      INSERT INTO evidence_envelope_versions
        (connection_id, envelope_id, status_changed_at, status_changed_key, status, synced_at, record_text)
      SELECT $1, envelope_id, status_changed_at, status_changed_key, status, synced_at, record_text
        FROM t ORDER BY ord
      ON CONFLICT (connection_id, envelope_id, status_changed_at) DO NOTHING
      RETURNING envelope_id
    ),
    latest AS (
      INSERT INTO evidence_envelopes_latest AS e
        (connection_id, envelope_id, status, status_changed_at, status_changed_key, synced_at)
      SELECT $1, envelope_id, status, status_changed_at, status_changed_key, synced_at
        FROM t WHERE is_latest ORDER BY ord
      ON CONFLICT (connection_id, envelope_id) DO UPDATE SET
        status = EXCLUDED.status,
        status_changed_at = EXCLUDED.status_changed_at,
        status_changed_key = EXCLUDED.status_changed_key,
        synced_at = EXCLUDED.synced_at
      WHERE e.status_changed_key < EXCLUDED.status_changed_key
    )${
      withCheckpoint
        ? `,
    checkpoint AS (
      INSERT INTO evidence_sync_checkpoints (connection_id, checkpoint_text) VALUES ($1, ${checkpointParam})
      ON CONFLICT (connection_id) DO UPDATE SET checkpoint_text = EXCLUDED.checkpoint_text, updated_at = now()
    )`
        : ''
    }
    SELECT envelope_id FROM created`;
  return { name: `evidence-write-page-${rows}${withCheckpoint ? '-checkpoint' : ''}`, text };
}

/** Built once per shape: the text is the same for every page of that size, and a page is the hot path. */
const statements = new Map<string, Pick<QueryConfig, 'name' | 'text'>>();
function pageStatement(rows: number, withCheckpoint: boolean): Pick<QueryConfig, 'name' | 'text'> {
  const key = `${rows}:${withCheckpoint}`;
  let statement = statements.get(key);
  if (!statement) statements.set(key, (statement = buildPageStatement(rows, withCheckpoint)));
  return statement;
}

const CHECKPOINT_ONLY = `
  INSERT INTO evidence_sync_checkpoints (connection_id, checkpoint_text) VALUES ($1, $2)
  ON CONFLICT (connection_id) DO UPDATE SET checkpoint_text = EXCLUDED.checkpoint_text, updated_at = now()`;

/** Writes a page (one statement, so one transaction); the envelope IDs that got a new version. */
export async function writePageRows(
  client: Pick<PoolClient, 'query'>,
  connectionId: string,
  { versions, latest }: PageRows,
  checkpointJson: string | undefined,
): Promise<Set<string>> {
  if (!versions.length) {
    if (checkpointJson) await client.query(CHECKPOINT_ONLY, [connectionId, checkpointJson]);
    return new Set();
  }
  const values: unknown[] = [connectionId];
  for (const r of versions) {
    const { envelopeId, statusChangedDateTime, status, syncedAt } = r.record;
    values.push(envelopeId, statusChangedDateTime, r.key, status, syncedAt, r.json, latest.has(r));
  }
  if (checkpointJson) values.push(checkpointJson);
  const { rows } = await client.query<{ envelope_id: string }>({
    ...pageStatement(versions.length, checkpointJson !== undefined),
    values,
  });
  return new Set(rows.map((r) => r.envelope_id));
}
