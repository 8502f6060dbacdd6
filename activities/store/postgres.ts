/**
 * The Postgres evidence store (design.md §5), selected by a `postgres://` / `postgresql://` URL.
 *
 * Schema (created by `init()`, or lazily by the first operation, from the MIGRATIONS list; applied versions are
 * recorded in `schema_migrations`, inside one transaction holding an advisory lock, so workers starting together
 * neither race nor half-apply a migration):
 * - `evidence_envelopes`: the latest record of each (connection_id, envelope_id).
 * - `evidence_envelope_versions`: every version, keyed by (connection_id, envelope_id, status_changed_at).
 * - `evidence_sync_checkpoints`: where an interrupted sync of the connection resumes (not evidence).
 * - `evidence_quarantine`: envelopes DocuSign listed that did not validate, kept raw until they do (not evidence).
 *   Text only, no jsonb: malformed data is what lands here, and jsonb refuses some valid JSON (a \u0000 escape).
 * `status_changed_at` is DocuSign's exact string (7 fractional digits; timestamptz would keep 6);
 * `status_changed_key` is the same instant normalised (UTC, 9 digits) so string order is time order.
 * `record` (jsonb) is for querying; `record_text` holds the record exactly as written and is what reads return:
 * jsonb reorders object keys, and the envelope must come back exactly as DocuSign returned it.
 * `envelope_id` is COLLATE "C" so envelopeId order is byte order (as in the directory store) and served by the key.
 *
 * `writePage` is one transaction: versions are inserted with ON CONFLICT DO NOTHING RETURNING (what comes back is
 * what this write created), then latest rows are upserted only where the new instant is later than the stored one,
 * then the sync checkpoint (if given) is replaced.
 * Both statements are safe under concurrent writers of the same rows (the unique index serialises them; a waiting
 * insert sees the other's committed row and does nothing). Rows go in sorted order to avoid lock-order deadlocks;
 * a deadlock or serialisation failure is retried anyway.
 */
import { Pool, type PoolClient } from 'pg';
import {
  EvidenceStoreError,
  assertConnectionId,
  compare,
  errnoCode,
  parseCheckpoint,
  isEnvelopeId,
  parseSince,
  prepareQuarantine,
  prepareWrite,
  unavailable,
  type PreparedRecord,
} from './directory';
import type {
  EnvelopeRecord,
  EvidenceStore,
  PageWriteResult,
  QuarantinedEnvelope,
  SyncCheckpoint,
  UnreadableLine,
} from './types';

export interface PostgresStoreOptions {
  /** Rows per keyset batch in list() (default 500). */
  listBatchSize?: number;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before failing (default 10 s; pg's own default waits forever). */
  connectionTimeoutMillis?: number;
}

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
];

/** Arbitrary constant: the advisory lock that serialises migrations of this store. */
const MIGRATION_LOCK_KEY = '7311046525906124801';

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 3;

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

const UPSERT_QUARANTINE = `
  INSERT INTO evidence_quarantine (connection_id, envelope_id, reason, quarantined_at, entry_text)
  SELECT $1, t.envelope_id, t.reason, t.quarantined_at, t.entry_text
    FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[])
         AS t(envelope_id, reason, quarantined_at, entry_text)
  ON CONFLICT (connection_id, envelope_id) DO UPDATE SET
    reason = EXCLUDED.reason, quarantined_at = EXCLUDED.quarantined_at, entry_text = EXCLUDED.entry_text`;

/** `postgres://user@host:port/db`: the URL without password and query (which may carry credentials too). */
export function describePostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the input: it may hold a password.
    throw new EvidenceStoreError(
      'evidence_store_unavailable',
      'Evidence store: the Postgres URL is not a valid URL (expected postgres://user:password@host:port/database)',
    );
  }
  const user = parsed.username ? `${parsed.username}@` : '';
  const socketHost = parsed.searchParams.get('host');
  const host = parsed.host || (socketHost ?? '');
  return `${parsed.protocol}//${user}${host}${parsed.pathname}`;
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

export class PostgresStore implements EvidenceStore {
  readonly description: string;
  private readonly pool: Pool;
  private readonly listBatchSize: number;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.description = describePostgresUrl(url);
    this.listBatchSize = Math.max(1, Math.floor(options.listBatchSize ?? 500));
    this.pool = new Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
      application_name: 'docusign-connector evidence store',
    });
    // An idle connection dropped by the server must not crash the process; the next query gets a new one.
    this.pool.on('error', () => undefined);
  }

  async init(): Promise<void> {
    this.assertOpen();
    await this.ensureSchema();
  }

  async writePage(
    connectionId: string,
    records: EnvelopeRecord[],
    checkpoint?: SyncCheckpoint,
  ): Promise<PageWriteResult> {
    this.assertOpen();
    const write = prepareWrite(this.description, connectionId, records, checkpoint);
    if (!write) return { changed: [], unchanged: [] };
    const { page, checkpointJson } = write;
    const action = `write a page for connection ${connectionId}`;
    await this.ensureSchema();

    // Sorted rows: concurrent writers take row locks in the same order.
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

    for (let attempt = 1; ; attempt++) {
      try {
        const created = await this.transaction(async (client) => {
          const inserted = versions.length
            ? (await client.query<{ envelope_id: string }>(INSERT_VERSIONS, [connectionId, ...arrays(versions)])).rows
            : [];
          if (latest.size) await client.query(UPSERT_LATEST, [connectionId, ...arrays([...latest.values()])]);
          if (checkpointJson) await client.query(UPSERT_CHECKPOINT, [connectionId, checkpointJson]);
          return new Set(inserted.map((r) => r.envelope_id));
        });
        const pageIds = [...new Set(page.map((p) => p.record.envelopeId))];
        return {
          changed: pageIds.filter((id) => created.has(id)),
          unchanged: pageIds.filter((id) => !created.has(id)),
        };
      } catch (err) {
        if (attempt < MAX_ATTEMPTS && RETRYABLE_SQLSTATES.has(errnoCode(err) ?? '')) continue;
        throw unavailable(this.description, action, err);
      }
    }
  }

  async readCheckpoint(connectionId: string): Promise<SyncCheckpoint | undefined> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    try {
      await this.ensureSchema();
      const { rows } = await this.pool.query<{ checkpoint_text: string }>(
        'SELECT checkpoint_text FROM evidence_sync_checkpoints WHERE connection_id = $1',
        [connectionId],
      );
      return rows[0] && parseCheckpoint(rows[0].checkpoint_text);
    } catch (err) {
      throw unavailable(this.description, `read the sync checkpoint of connection ${connectionId}`, err);
    }
  }

  async count(connectionId: string): Promise<number> {
    return this.scalar(
      connectionId,
      'count envelopes',
      'SELECT count(*)::int AS n FROM evidence_envelopes WHERE connection_id = $1',
      [connectionId],
    );
  }

  async countChangedSince(connectionId: string, syncedAt: string): Promise<number> {
    parseSince(this.description, syncedAt);
    return this.scalar(
      connectionId,
      'count changed envelopes',
      `SELECT count(DISTINCT envelope_id)::int AS n FROM evidence_envelope_versions
        WHERE connection_id = $1 AND synced_at >= $2::timestamptz`,
      [connectionId, syncedAt],
    );
  }

  async *list(connectionId: string): AsyncIterable<EnvelopeRecord> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    const action = `list envelopes of connection ${connectionId}`;
    let after = '';
    for (;;) {
      let rows: { envelope_id: string; record_text: string }[];
      try {
        await this.ensureSchema();
        ({ rows } = await this.pool.query<{ envelope_id: string; record_text: string }>(
          `SELECT envelope_id, record_text FROM evidence_envelopes
            WHERE connection_id = $1 AND envelope_id > $2
            ORDER BY envelope_id LIMIT $3`,
          [connectionId, after, this.listBatchSize],
        ));
      } catch (err) {
        throw unavailable(this.description, action, err);
      }
      for (const row of rows) yield JSON.parse(row.record_text) as EnvelopeRecord;
      const last = rows[rows.length - 1];
      if (!last || rows.length < this.listBatchSize) return;
      after = last.envelope_id;
    }
  }

  async versions(connectionId: string, envelopeId: string): Promise<EnvelopeRecord[]> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    try {
      await this.ensureSchema();
      const { rows } = await this.pool.query<{ record_text: string }>(
        `SELECT record_text FROM evidence_envelope_versions
          WHERE connection_id = $1 AND envelope_id = $2
          ORDER BY status_changed_key, status_changed_at`,
        [connectionId, envelopeId],
      );
      return rows.map((r) => JSON.parse(r.record_text) as EnvelopeRecord);
    } catch (err) {
      throw unavailable(this.description, `read versions of envelope ${envelopeId}`, err);
    }
  }

  async quarantine(connectionId: string, entries: QuarantinedEnvelope[]): Promise<void> {
    this.assertOpen();
    // Sorted: concurrent writers take row locks in the same order.
    const rows = prepareQuarantine(this.description, connectionId, entries).sort((a, b) =>
      compare(a.entry.envelopeId, b.entry.envelopeId),
    );
    if (!rows.length) return;
    try {
      await this.ensureSchema();
      await this.pool.query(UPSERT_QUARANTINE, [
        connectionId,
        rows.map((r) => r.entry.envelopeId),
        rows.map((r) => r.entry.reason),
        rows.map((r) => r.entry.quarantinedAt),
        rows.map((r) => r.json),
      ]);
    } catch (err) {
      throw unavailable(this.description, `quarantine envelopes of connection ${connectionId}`, err);
    }
  }

  async release(connectionId: string, envelopeIds: string[]): Promise<void> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    const ids = envelopeIds.filter(isEnvelopeId);
    if (!ids.length) return;
    try {
      await this.ensureSchema();
      await this.pool.query(
        'DELETE FROM evidence_quarantine WHERE connection_id = $1 AND envelope_id = ANY($2::text[])',
        [connectionId, ids],
      );
    } catch (err) {
      throw unavailable(this.description, `release quarantined envelopes of connection ${connectionId}`, err);
    }
  }

  async listQuarantined(connectionId: string): Promise<QuarantinedEnvelope[]> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    try {
      await this.ensureSchema();
      const { rows } = await this.pool.query<{ entry_text: string }>(
        'SELECT entry_text FROM evidence_quarantine WHERE connection_id = $1 ORDER BY envelope_id',
        [connectionId],
      );
      return rows.map((r) => JSON.parse(r.entry_text) as QuarantinedEnvelope);
    } catch (err) {
      throw unavailable(this.description, `list quarantined envelopes of connection ${connectionId}`, err);
    }
  }

  async countQuarantined(connectionId: string): Promise<number> {
    return this.scalar(
      connectionId,
      'count quarantined envelopes',
      'SELECT count(*)::int AS n FROM evidence_quarantine WHERE connection_id = $1',
      [connectionId],
    );
  }

  /** Rows are validated on write (jsonb), so there is nothing unreadable to report. */
  async unreadableLines(connectionId: string): Promise<UnreadableLine[]> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // -------------------------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed)
      throw new EvidenceStoreError('evidence_store_unavailable', `Evidence store ${this.description} is closed`);
  }

  /** Runs the migrations once per instance; a failure is not cached, so a later call retries (Postgres was down). */
  private ensureSchema(): Promise<void> {
    this.ready ??= this.migrate().catch((err: unknown) => {
      this.ready = undefined;
      throw unavailable(this.description, 'create its schema', err);
    });
    return this.ready;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
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
    });
  }

  private async transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      client.release(broken); // a connection that cannot roll back is discarded
    }
  }

  private async scalar(connectionId: string, action: string, sql: string, params: unknown[]): Promise<number> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    try {
      await this.ensureSchema();
      const { rows } = await this.pool.query<{ n: number }>(sql, params);
      return rows[0]?.n ?? 0;
    } catch (err) {
      throw unavailable(this.description, `${action} of connection ${connectionId}`, err);
    }
  }
}
