/**
 * The Postgres evidence store (design.md §5), selected by a `postgres://` / `postgresql://` URL. Its tables and
 * migrations: postgres-schema.ts; how a page is written (one statement): postgres-page.ts; its quarantine:
 * quarantine-postgres.ts.
 */
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import type { SnapshotStore } from './snapshots';
import type { PostgresAccess } from './postgres-access';
import type { ProofStore } from './proof';
import { PostgresProofStore } from './proof-postgres';
import { pageRows, writePageRows } from './postgres-page';
import { migrate } from './postgres-schema';
import { PostgresQuarantine } from './quarantine-postgres';
import { PostgresSnapshotStore } from './snapshots-postgres';
import { assertConnectionId, parseSince } from './checks';
import { parseCheckpoint } from './checkpoint';
import { EvidenceStoreError, errnoCode, unavailable } from './errors';
import { prepareWrite } from './records';
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

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 3;

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

export class PostgresStore implements EvidenceStore {
  readonly description: string;
  readonly snapshots: SnapshotStore;
  readonly proof: ProofStore;
  private readonly quarantined: PostgresQuarantine;
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
    const access: PostgresAccess = {
      description: this.description,
      ensureSchema: () => this.ensureSchema(),
      query: async <R extends QueryResultRow>(sql: string, params: unknown[]) =>
        (await this.pool.query<R>(sql, params)).rows,
      transaction: (body) => this.transaction(body),
      run: async (action, fn) => {
        try {
          await this.ensureSchema();
          return await fn();
        } catch (err) {
          throw unavailable(this.description, action, err);
        }
      },
    };
    this.snapshots = new PostgresSnapshotStore(access);
    this.quarantined = new PostgresQuarantine(access);
    this.proof = new PostgresProofStore(access);
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

    const rows = pageRows(page);
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await writePageRows(this.pool, connectionId, rows, checkpointJson);
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
      'SELECT count(*)::int AS n FROM evidence_envelopes_latest WHERE connection_id = $1',
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
          // The view's join, reading the text itself: through the view it would be checked as json for every row.
          `SELECT l.envelope_id, v.record_text
             FROM evidence_envelopes_latest l
             JOIN evidence_envelope_versions v USING (connection_id, envelope_id, status_changed_at)
            WHERE l.connection_id = $1 AND l.envelope_id > $2
            ORDER BY l.envelope_id LIMIT $3`,
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
    await this.quarantined.add(connectionId, entries);
  }

  async release(connectionId: string, envelopeIds: string[]): Promise<void> {
    this.assertOpen();
    await this.quarantined.release(connectionId, envelopeIds);
  }

  async listQuarantined(connectionId: string): Promise<QuarantinedEnvelope[]> {
    this.assertOpen();
    return this.quarantined.list(connectionId);
  }

  async countQuarantined(connectionId: string): Promise<number> {
    this.assertOpen();
    return this.quarantined.count(connectionId);
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
    this.ready ??= this.transaction(migrate).catch((err: unknown) => {
      this.ready = undefined;
      throw unavailable(this.description, 'create its schema', err);
    });
    return this.ready;
  }

  private async transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client is the caller's to listen on: a connection dropped between two statements (Postgres
    // restarted) emits 'error', which would otherwise crash the worker. The next statement fails and rolls back.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
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
      client.off('error', onError);
      client.release(broken); // a connection that cannot roll back, or that dropped, is discarded
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
