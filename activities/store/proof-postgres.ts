/**
 * Signed proof in the Postgres store (design.md §7): `evidence_artifacts` holds each artifact once per connection,
 * keyed by its SHA-256 (bytea); `evidence_proof` one entry per envelope (its state, links and attempts).
 */
import { assertConnectionId, assertEnvelopeId } from './checks';
import { sha256 as sha256Of } from './snapshots';
import { EvidenceStoreError } from './errors';
import type { PostgresAccess } from './postgres-access';
import type { EnvelopeProof, ProofStore } from './proof';

export const PROOF_MIGRATION = {
  version: 'evidence_store_005_signed_proof',
  sql: `
    CREATE TABLE evidence_artifacts (
      connection_id text NOT NULL,
      sha256        text NOT NULL,
      size          integer NOT NULL,
      bytes         bytea NOT NULL,
      PRIMARY KEY (connection_id, sha256)
    );
    CREATE TABLE evidence_proof (
      connection_id text NOT NULL,
      envelope_id   text COLLATE "C" NOT NULL,
      state         text NOT NULL,
      entry_text    text NOT NULL,
      updated_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, envelope_id)
    );
  `,
};

const LIST_BATCH = 500;

export class PostgresProofStore implements ProofStore {
  constructor(private readonly db: PostgresAccess) {}

  async putArtifact(connectionId: string, bytes: Buffer): Promise<{ sha256: string; size: number }> {
    assertConnectionId(this.db.description, connectionId);
    const sha256 = sha256Of(bytes);
    await this.db.run(`store artifact ${sha256}`, () =>
      this.db.query(
        `INSERT INTO evidence_artifacts (connection_id, sha256, size, bytes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (connection_id, sha256) DO NOTHING`,
        [connectionId, sha256, bytes.length, bytes],
      ),
    );
    return { sha256, size: bytes.length };
  }

  async readArtifact(connectionId: string, sha256: string): Promise<Buffer> {
    assertConnectionId(this.db.description, connectionId);
    const rows = await this.db.run(`read artifact ${sha256}`, () =>
      this.db.query<{ bytes: Buffer }>(
        'SELECT bytes FROM evidence_artifacts WHERE connection_id = $1 AND sha256 = $2',
        [connectionId, sha256],
      ),
    );
    const row = rows[0];
    if (!row)
      throw new EvidenceStoreError(
        'evidence_store_unavailable',
        `Evidence store ${this.db.description}: no artifact ${sha256}`,
      );
    return row.bytes;
  }

  async putProof(connectionId: string, proof: EnvelopeProof): Promise<void> {
    this.check(connectionId, proof.envelopeId);
    await this.db.run(`write the proof of envelope ${proof.envelopeId}`, () =>
      this.db.query(
        `INSERT INTO evidence_proof (connection_id, envelope_id, state, entry_text) VALUES ($1, $2, $3, $4)
         ON CONFLICT (connection_id, envelope_id) DO UPDATE
           SET state = EXCLUDED.state, entry_text = EXCLUDED.entry_text, updated_at = now()`,
        [connectionId, proof.envelopeId, proof.state, JSON.stringify(proof)],
      ),
    );
  }

  async getProof(connectionId: string, envelopeId: string): Promise<EnvelopeProof | undefined> {
    this.check(connectionId, envelopeId);
    const rows = await this.db.run(`read the proof of envelope ${envelopeId}`, () =>
      this.db.query<{ entry_text: string }>(
        'SELECT entry_text FROM evidence_proof WHERE connection_id = $1 AND envelope_id = $2',
        [connectionId, envelopeId],
      ),
    );
    return rows[0] && (JSON.parse(rows[0].entry_text) as EnvelopeProof);
  }

  async *listProof(connectionId: string): AsyncIterable<EnvelopeProof> {
    assertConnectionId(this.db.description, connectionId);
    for (let after = ''; ;) {
      const rows = await this.db.run(`list the proof of connection ${connectionId}`, () =>
        this.db.query<{ envelope_id: string; entry_text: string }>(
          `SELECT envelope_id, entry_text FROM evidence_proof
            WHERE connection_id = $1 AND envelope_id > $2 ORDER BY envelope_id LIMIT $3`,
          [connectionId, after, LIST_BATCH],
        ),
      );
      for (const row of rows) yield JSON.parse(row.entry_text) as EnvelopeProof;
      const last = rows.at(-1);
      if (!last || rows.length < LIST_BATCH) return;
      after = last.envelope_id;
    }
  }

  private check(connectionId: string, envelopeId: string): void {
    assertConnectionId(this.db.description, connectionId);
    assertEnvelopeId(envelopeId);
  }
}
