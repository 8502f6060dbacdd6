/**
 * The Postgres store's quarantine (design.md §5): `evidence_quarantine`, one row per envelope DocuSign listed that did
 * not validate, kept as text (see postgres-schema.ts), durable when a call resolves.
 */
import { assertConnectionId } from './checks';
import { compare, isEnvelopeId } from './identity';
import type { PostgresAccess } from './postgres-access';
import { prepareQuarantine } from './quarantine-entry';
import type { QuarantinedEnvelope } from './types';

const UPSERT_QUARANTINE = `
  INSERT INTO evidence_quarantine (connection_id, envelope_id, reason, quarantined_at, entry_text)
  SELECT $1, t.envelope_id, t.reason, t.quarantined_at, t.entry_text
    FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[])
         AS t(envelope_id, reason, quarantined_at, entry_text)
  ON CONFLICT (connection_id, envelope_id) DO UPDATE SET
    reason = EXCLUDED.reason, quarantined_at = EXCLUDED.quarantined_at, entry_text = EXCLUDED.entry_text`;

export class PostgresQuarantine {
  constructor(private readonly db: PostgresAccess) {}

  async add(connectionId: string, entries: QuarantinedEnvelope[]): Promise<void> {
    // Sorted: concurrent writers take row locks in the same order.
    const rows = prepareQuarantine(this.db.description, connectionId, entries).sort((a, b) =>
      compare(a.entry.envelopeId, b.entry.envelopeId),
    );
    if (!rows.length) return;
    await this.db.run(`quarantine envelopes of connection ${connectionId}`, () =>
      this.db.query(UPSERT_QUARANTINE, [
        connectionId,
        rows.map((r) => r.entry.envelopeId),
        rows.map((r) => r.entry.reason),
        rows.map((r) => r.entry.quarantinedAt),
        rows.map((r) => r.json),
      ]),
    );
  }

  async release(connectionId: string, envelopeIds: string[]): Promise<void> {
    assertConnectionId(this.db.description, connectionId);
    const ids = envelopeIds.filter(isEnvelopeId);
    if (!ids.length) return;
    await this.db.run(`release quarantined envelopes of connection ${connectionId}`, () =>
      this.db.query('DELETE FROM evidence_quarantine WHERE connection_id = $1 AND envelope_id = ANY($2::text[])', [
        connectionId,
        ids,
      ]),
    );
  }

  async list(connectionId: string): Promise<QuarantinedEnvelope[]> {
    assertConnectionId(this.db.description, connectionId);
    return this.db.run(`list quarantined envelopes of connection ${connectionId}`, async () => {
      const rows = await this.db.query<{ entry_text: string }>(
        'SELECT entry_text FROM evidence_quarantine WHERE connection_id = $1 ORDER BY envelope_id',
        [connectionId],
      );
      return rows.map((r) => JSON.parse(r.entry_text) as QuarantinedEnvelope);
    });
  }

  async count(connectionId: string): Promise<number> {
    assertConnectionId(this.db.description, connectionId);
    return this.db.run(`count quarantined envelopes of connection ${connectionId}`, async () => {
      const rows = await this.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM evidence_quarantine WHERE connection_id = $1',
        [connectionId],
      );
      return rows[0]?.n ?? 0;
    });
  }
}
