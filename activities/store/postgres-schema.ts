/**
 * The Postgres store's schema, created by `init()` (or lazily by the first operation) from the MIGRATIONS list;
 * applied versions are recorded in `schema_migrations` inside one transaction holding an advisory lock, so workers
 * starting together neither race nor half-apply a migration:
 * - `evidence_envelope_versions`: every version, keyed by (connection_id, envelope_id, status_changed_at), as
 *   `record_text` (since migration 006; its jsonb copy was never read).
 * - `evidence_envelopes_latest`: which version is the latest of each (connection_id, envelope_id) (since 007).
 * - `evidence_envelopes`: the latest record of each envelope, `record json` (a view since 007: the latest version's
 *   text, so each record is written once; before, a second copy was written and checked as json with every page).
 * - `evidence_sync_checkpoints`: where an interrupted sync of the connection resumes (not evidence).
 * - `evidence_quarantine`: envelopes DocuSign listed that did not validate, kept raw until they do (not evidence).
 *   Text only, no jsonb: malformed data is what lands here, and jsonb refuses some valid JSON (a \u0000 escape).
 * `status_changed_at` is DocuSign's exact string (7 fractional digits; timestamptz would keep 6);
 * `status_changed_key` is the same instant normalised (UTC, 9 digits) so string order is time order.
 * Records are kept exactly as written, which is what reads return: the envelope must come back exactly as DocuSign
 * returned it, so json (which keeps the text) rather than jsonb (which reorders keys and refuses \u0000).
 * `envelope_id` is COLLATE "C" so envelopeId order is byte order (as in the directory store) and served by the key.
 * The snapshot and proof tables are migrated from their own modules' migrations, listed here in order.
 */
import type { PoolClient } from 'pg';
import { PROOF_MIGRATION } from './proof-postgres';
import { SNAPSHOT_MIGRATION } from './snapshots-postgres';

interface Migration {
  version: string;
  sql: string;
}

/** Append only: never edit an applied migration, add a new one. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 'evidence_store_001_tables',
    sql: `
      CREATE TABLE evidence_envelopes (
        connection_id      text NOT NULL,
        envelope_id        text COLLATE "C" NOT NULL,
        status             text NOT NULL,
        status_changed_at  text NOT NULL,
        status_changed_key text NOT NULL,
        synced_at          timestamptz NOT NULL,
        record             jsonb NOT NULL,
        record_text        text NOT NULL,
        PRIMARY KEY (connection_id, envelope_id)
      );
      CREATE TABLE evidence_envelope_versions (
        connection_id      text NOT NULL,
        envelope_id        text COLLATE "C" NOT NULL,
        status_changed_at  text NOT NULL,
        status_changed_key text NOT NULL,
        status             text NOT NULL,
        synced_at          timestamptz NOT NULL,
        record             jsonb NOT NULL,
        record_text        text NOT NULL,
        PRIMARY KEY (connection_id, envelope_id, status_changed_at)
      );
      CREATE INDEX evidence_envelope_versions_synced_at ON evidence_envelope_versions (connection_id, synced_at);
    `,
  },
  {
    version: 'evidence_store_002_sync_checkpoints',
    sql: `
      CREATE TABLE evidence_sync_checkpoints (
        connection_id   text PRIMARY KEY,
        checkpoint_text text NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 'evidence_store_003_quarantine',
    sql: `
      CREATE TABLE evidence_quarantine (
        connection_id  text NOT NULL,
        envelope_id    text COLLATE "C" NOT NULL,
        reason         text NOT NULL,
        quarantined_at timestamptz NOT NULL,
        entry_text     text NOT NULL,
        PRIMARY KEY (connection_id, envelope_id)
      );
    `,
  },
  SNAPSHOT_MIGRATION,
  PROOF_MIGRATION,
  {
    // Write cost (bench/store.ts): parsing every record into jsonb cost more than the rest of the insert, and pglz
    // compression of four ~3.6 KB values per envelope as much again. The latest row's record becomes json: the text
    // exactly as written (key order, \u0000 escapes and all), still queryable with ->, checked but not re-encoded.
    // The version's jsonb copy was never read. lz4 applies to values written from now on; older rows read the same.
    version: 'evidence_store_006_json_records',
    sql: `
      ALTER TABLE evidence_envelope_versions DROP COLUMN record;
      ALTER TABLE evidence_envelope_versions ALTER COLUMN record_text SET COMPRESSION lz4;
      ALTER TABLE evidence_envelopes ALTER COLUMN record TYPE json USING record_text::json;
      ALTER TABLE evidence_envelopes DROP COLUMN record_text;
      ALTER TABLE evidence_envelopes ALTER COLUMN record SET COMPRESSION lz4;
    `,
  },
  {
    // Write cost (bench/README.md, goal 3): the latest row's copy of the record, checked as json, was half of
    // Postgres's work per page. The latest row now names its version, and evidence_envelopes becomes a view with the
    // same columns, so queries of it (record->…) keep working. A latest record with no version row of its instant (none
    // is written so; kept safe) becomes one.
    version: 'evidence_store_007_latest_names_version',
    sql: `
      CREATE TABLE evidence_envelopes_latest (
        connection_id      text NOT NULL,
        envelope_id        text COLLATE "C" NOT NULL,
        status             text NOT NULL,
        status_changed_at  text NOT NULL,
        status_changed_key text NOT NULL,
        synced_at          timestamptz NOT NULL,
        PRIMARY KEY (connection_id, envelope_id)
      );
      INSERT INTO evidence_envelope_versions
        (connection_id, envelope_id, status_changed_at, status_changed_key, status, synced_at, record_text)
      SELECT connection_id, envelope_id, status_changed_at, status_changed_key, status, synced_at, record::text
        FROM evidence_envelopes
      ON CONFLICT (connection_id, envelope_id, status_changed_at) DO NOTHING;
      INSERT INTO evidence_envelopes_latest
        (connection_id, envelope_id, status, status_changed_at, status_changed_key, synced_at)
      SELECT connection_id, envelope_id, status, status_changed_at, status_changed_key, synced_at
        FROM evidence_envelopes;
      DROP TABLE evidence_envelopes;
      CREATE VIEW evidence_envelopes AS
        SELECT l.connection_id, l.envelope_id, l.status, l.status_changed_at, l.status_changed_key, l.synced_at,
               v.record_text::json AS record
          FROM evidence_envelopes_latest l
          JOIN evidence_envelope_versions v USING (connection_id, envelope_id, status_changed_at);
    `,
  },
];

/** Arbitrary constant: the advisory lock that serialises migrations of this store. */
const MIGRATION_LOCK_KEY = '7311046525906124801';

/** Applies the migrations not applied yet, in order; call inside a transaction (the lock is held until its end). */
export async function migrate(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((r) => r.version));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
  }
}
