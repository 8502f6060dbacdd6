/**
 * Snapshots in the Postgres store (design.md §7), the same contract as the directory's:
 *
 *   evidence_snapshots          one row per complete snapshot: the index entry (with its diff), in publish order
 *   evidence_snapshot_records   the records, keyed by the snapshot's SHA-256: identical snapshots share their rows
 *   evidence_snapshot_staging   the snapshot in progress, one row per fetched page with the position after it
 *
 * `publish` is one transaction (under an advisory lock per connection and kind): it assembles the staged parts and
 * diffs them against the previous snapshot's rows (their hashes are stored, so only changed records are read back).
 * A snapshot of one batch (most) is inserted under its content hash, unless rows with that hash exist (an unchanged
 * snapshot writes no records); a larger one is inserted in batches under a provisional key, then keyed by the hash or
 * dropped. Then the index row goes in and the staging goes: 7 statements for a one-batch snapshot, because round
 * trips are most of a publish's cost when a thousand connections onboard (bench/README.md).
 */
import type { PoolClient } from 'pg';
import type { PostgresAccess } from './postgres-access';
import type { SnapshotKind } from '../../workflows/evidence';
import { assertConnectionId } from './checks';
import { EvidenceStoreError } from './errors';
import {
  SNAPSHOT_ID,
  parseRecordLine,
  publishedParts,
  sha256,
  snapshotEntry,
  writeSnapshot,
  type PreviousRecordRef,
  type SnapshotEntry,
  type SnapshotPart,
  type SnapshotRecord,
  type SnapshotStore,
  type StagedProgress,
} from './snapshots';

export const SNAPSHOT_MIGRATION = {
  version: 'evidence_store_004_snapshots',
  sql: `
    CREATE TABLE evidence_snapshots (
      seq           bigserial PRIMARY KEY,
      connection_id text NOT NULL,
      kind          text NOT NULL,
      snapshot_id   text NOT NULL,
      entry_text    text NOT NULL,
      UNIQUE (connection_id, kind, snapshot_id)
    );
    CREATE TABLE evidence_snapshot_records (
      connection_id text NOT NULL,
      kind          text NOT NULL,
      snapshot_sha  text NOT NULL,
      ord           integer NOT NULL,
      record_id     text NOT NULL,
      record_sha    text NOT NULL,
      record_text   text NOT NULL,
      PRIMARY KEY (connection_id, kind, snapshot_sha, ord)
    );
    CREATE TABLE evidence_snapshot_staging (
      connection_id text NOT NULL,
      kind          text NOT NULL,
      snapshot_id   text NOT NULL,
      page          integer NOT NULL,
      parts_text    text NOT NULL,
      progress_text text NOT NULL,
      PRIMARY KEY (connection_id, kind, snapshot_id, page)
    );
  `,
};

const BATCH = 500;

export class PostgresSnapshotStore implements SnapshotStore {
  constructor(
    private readonly db: PostgresAccess,
    private readonly now: () => number = Date.now,
  ) {}

  async stagePage(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
    parts: SnapshotPart[],
    progress: Record<string, unknown>,
  ): Promise<void> {
    this.check(connectionId, snapshotId);
    await this.db.run(`stage a ${kind} page`, () =>
      this.db.transaction(async (client) => {
        await lock(client, connectionId, kind);
        // One snapshot per kind in progress: any other staging is a snapshot that will never complete.
        await client.query(
          'DELETE FROM evidence_snapshot_staging WHERE connection_id = $1 AND kind = $2 AND snapshot_id <> $3',
          [connectionId, kind, snapshotId],
        );
        await client.query(
          `INSERT INTO evidence_snapshot_staging (connection_id, kind, snapshot_id, page, parts_text, progress_text)
           SELECT $1, $2, $3, coalesce(max(page), 0) + 1, $4, $5 FROM evidence_snapshot_staging
            WHERE connection_id = $1 AND kind = $2 AND snapshot_id = $3`,
          [connectionId, kind, snapshotId, parts.map((p) => JSON.stringify(p)).join('\n'), JSON.stringify(progress)],
        );
      }),
    );
  }

  async stagedProgress(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
  ): Promise<StagedProgress | undefined> {
    this.check(connectionId, snapshotId);
    const rows = await this.db.run(`read the ${kind} staging`, () =>
      this.db.query<{ page: number; progress_text: string }>(
        `SELECT page, progress_text FROM evidence_snapshot_staging
          WHERE connection_id = $1 AND kind = $2 AND snapshot_id = $3 ORDER BY page DESC LIMIT 1`,
        [connectionId, kind, snapshotId],
      ),
    );
    const last = rows[0];
    return last && { pages: last.page, progress: JSON.parse(last.progress_text) as Record<string, unknown> };
  }

  async publish(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
    takenAt: string,
    lastPage?: SnapshotPart[],
  ): Promise<SnapshotEntry> {
    this.check(connectionId, snapshotId);
    return this.db.run(`publish a ${kind} snapshot`, () =>
      this.db.transaction(async (client) => {
        await lock(client, connectionId, kind);
        const key = [connectionId, kind] as const;
        // Round trips count here (one publish per kind per pass, thousands of connections): one read for all three.
        const state = await client.query<{ done: string | null; pages: number | null; last: string | null }>(
          `SELECT
             (SELECT entry_text FROM evidence_snapshots
               WHERE connection_id = $1 AND kind = $2 AND snapshot_id = $3) AS done,
             (SELECT max(page) FROM evidence_snapshot_staging
               WHERE connection_id = $1 AND kind = $2 AND snapshot_id = $3) AS pages,
             (SELECT entry_text FROM evidence_snapshots
               WHERE connection_id = $1 AND kind = $2 ORDER BY seq DESC LIMIT 1) AS last`,
          [...key, snapshotId],
        );
        const { done, pages, last } = state.rows[0] ?? { done: null, pages: null, last: null };
        if (done) {
          await deleteStaging(client, connectionId, kind, snapshotId);
          return JSON.parse(done) as SnapshotEntry;
        }
        const pageCount = pages ?? 0;
        if (!pageCount && !lastPage) throw new Error(`no staged ${kind} snapshot ${snapshotId} to publish`);

        const previous = last === null ? undefined : (JSON.parse(last) as SnapshotEntry);
        const provisional = `staging:${snapshotId}`;
        let batch: { id: string; line: string; ord: number }[] = [];
        let spilled = false;
        /** Inserts the batch under `sha` (with `ifAbsent`, only when no rows have that snapshot hash yet). */
        const insert = async (sha: string, ifAbsent: boolean) => {
          const [first] = batch;
          if (!first) return;
          await client.query(
            `INSERT INTO evidence_snapshot_records
               (connection_id, kind, snapshot_sha, ord, record_id, record_sha, record_text)
             SELECT $1, $2, $3, $4 + t.n - 1, t.id, t.sha, t.line
               FROM unnest($5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS t(id, sha, line, n)
              WHERE NOT ($8 AND EXISTS (SELECT 1 FROM evidence_snapshot_records
                                         WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $3))`,
            [
              ...key,
              sha,
              first.ord,
              batch.map((b) => b.id),
              batch.map((b) => sha256(b.line)),
              batch.map((b) => b.line),
              ifAbsent,
            ],
          );
          batch = [];
        };
        const parts = publishedParts(stagedParts(client, connectionId, kind, snapshotId, pageCount), lastPage);
        const index = previous && (await previousIndex(client, connectionId, kind, previous.sha256));
        const written = await writeSnapshot(parts, kind, index, async (record, line, ord) => {
          batch.push({ id: record.id, line, ord });
          if (batch.length < BATCH) return;
          spilled = true;
          await insert(provisional, false);
        });
        if (!spilled) {
          // The whole snapshot in one batch (most kinds): written straight under its hash, or not at all when rows
          // with that content are stored already (an unchanged snapshot, the usual case).
          await insert(written.sha256, true);
        } else {
          await insert(provisional, false);
          // Keep one copy: drop the provisional rows when rows with this content exist, else key them by the hash.
          await client.query(
            `WITH stored AS (SELECT 1 FROM evidence_snapshot_records
                              WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $4 LIMIT 1),
                  dropped AS (DELETE FROM evidence_snapshot_records
                               WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $3
                                 AND EXISTS (SELECT 1 FROM stored))
             UPDATE evidence_snapshot_records SET snapshot_sha = $4
              WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $3 AND NOT EXISTS (SELECT 1 FROM stored)`,
            [...key, provisional, written.sha256],
          );
        }
        const entry = snapshotEntry(
          { snapshotId, kind, takenAt, completedAt: new Date(this.now()).toISOString() },
          written,
          previous,
        );
        // Any staging of the kind is this snapshot's, or one that will never complete.
        await client.query(
          `WITH cleared AS (DELETE FROM evidence_snapshot_staging WHERE connection_id = $1 AND kind = $2)
           INSERT INTO evidence_snapshots (connection_id, kind, snapshot_id, entry_text) VALUES ($1, $2, $3, $4)`,
          [...key, snapshotId, JSON.stringify(entry)],
        );
        return entry;
      }),
    );
  }

  async snapshots(connectionId: string, kind: SnapshotKind): Promise<SnapshotEntry[]> {
    this.check(connectionId);
    const rows = await this.db.run(`read the ${kind} snapshot index`, () =>
      this.db.query<{ entry_text: string }>(
        'SELECT entry_text FROM evidence_snapshots WHERE connection_id = $1 AND kind = $2 ORDER BY seq',
        [connectionId, kind],
      ),
    );
    return rows.map((r) => JSON.parse(r.entry_text) as SnapshotEntry);
  }

  async *records(connectionId: string, kind: SnapshotKind, snapshotId?: string): AsyncIterable<SnapshotRecord> {
    const entries = await this.snapshots(connectionId, kind);
    const entry = snapshotId === undefined ? entries.at(-1) : entries.find((e) => e.snapshotId === snapshotId);
    if (!entry) {
      if (snapshotId === undefined) return;
      throw new EvidenceStoreError('invalid_evidence_record', `no ${kind} snapshot ${snapshotId}`);
    }
    for (let after = -1; ;) {
      const rows = await this.db.run(`read the ${kind} snapshot ${entry.takenAt}`, () =>
        this.db.query<{ ord: number; record_text: string }>(
          `SELECT ord, record_text FROM evidence_snapshot_records
            WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $3 AND ord > $4 ORDER BY ord LIMIT $5`,
          [connectionId, kind, entry.sha256, after, BATCH],
        ),
      );
      for (const row of rows) yield parsed(row.record_text, row.ord);
      const last = rows.at(-1);
      if (!last || rows.length < BATCH) return;
      after = last.ord;
    }
  }

  // -------------------------------------------------------------------------------------------------------------------

  private check(connectionId: string, snapshotId?: string): void {
    assertConnectionId(this.db.description, connectionId);
    if (snapshotId !== undefined && !SNAPSHOT_ID.test(snapshotId)) {
      throw new EvidenceStoreError('invalid_evidence_record', `snapshot ID ${JSON.stringify(snapshotId)} is not valid`);
    }
  }
}

/** Serialises writers of one connection's kind (two attempts of a snapshot must not interleave their pages). */
async function lock(client: PoolClient, connectionId: string, kind: SnapshotKind): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext('evidence-snapshot/' || $1 || '/' || $2))", [
    connectionId,
    kind,
  ]);
}

async function deleteStaging(client: PoolClient, connectionId: string, kind: SnapshotKind, snapshotId: string) {
  await client.query(
    'DELETE FROM evidence_snapshot_staging WHERE connection_id = $1 AND kind = $2 AND snapshot_id = $3',
    [connectionId, kind, snapshotId],
  );
}

async function* stagedParts(
  client: PoolClient,
  connectionId: string,
  kind: SnapshotKind,
  snapshotId: string,
  pages: number,
): AsyncIterable<SnapshotPart> {
  for (let page = 1; page <= pages; page++) {
    const { rows } = await client.query<{ parts_text: string }>(
      `SELECT parts_text FROM evidence_snapshot_staging
        WHERE connection_id = $1 AND kind = $2 AND snapshot_id = $3 AND page = $4`,
      [connectionId, kind, snapshotId, page],
    );
    const text = rows[0]?.parts_text ?? '';
    for (const line of text.split('\n')) if (line) yield JSON.parse(line) as SnapshotPart;
  }
}

/** The previous snapshot as an index (ID → record hash), its records read back one by one when they changed. */
async function previousIndex(
  client: PoolClient,
  connectionId: string,
  kind: SnapshotKind,
  snapshotSha: string,
): Promise<Map<string, PreviousRecordRef>> {
  const { rows } = await client.query<{ ord: number; record_id: string; record_sha: string }>(
    `SELECT ord, record_id, record_sha FROM evidence_snapshot_records
      WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $3 ORDER BY ord`,
    [connectionId, kind, snapshotSha],
  );
  return new Map(
    rows.map((row) => [
      row.record_id,
      {
        hash: row.record_sha,
        read: async () => {
          const { rows: found } = await client.query<{ record_text: string }>(
            `SELECT record_text FROM evidence_snapshot_records
              WHERE connection_id = $1 AND kind = $2 AND snapshot_sha = $3 AND ord = $4`,
            [connectionId, kind, snapshotSha, row.ord],
          );
          return parsed(found[0]?.record_text ?? '', row.ord);
        },
      },
    ]),
  );
}

function parsed(text: string, ord: number): SnapshotRecord {
  const record = parseRecordLine(text);
  if (!record) throw new Error(`snapshot record ${ord} is unreadable`);
  return record;
}
