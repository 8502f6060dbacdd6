/**
 * Signed proof (design.md §7, issue 13): for completed envelopes the connection's policy selects, DocuSign's
 * certificate of completion (PDF) and the envelope's audit events, each stored once, addressed by its SHA-256, and one
 * proof entry per envelope that links them (the envelope record itself stays exactly as DocuSign sent it).
 *
 * The proof entries are also the durable backlog: an envelope whose proof is not collected yet is `pending` (with
 * when to try again), one DocuSign will never give proof for is `failed`. Each artifact is linked as soon as it is
 * stored, so after a crash nothing stored is downloaded again.
 */

/** A stored artifact: its content address and what it is. */
export interface ArtifactLink {
  sha256: string;
  size: number;
  contentType: string;
  /** When it was downloaded (ISO). */
  fetchedAt: string;
}

/**
 * `pending`: selected, not collected yet; `failed`: DocuSign will not give it (given up after repeated refusals);
 * `unselected`: looked at (its templates are known) but the policy does not select it — a later policy may.
 */
export type ProofState = 'collected' | 'pending' | 'failed' | 'unselected';

export interface EnvelopeProof {
  envelopeId: string;
  state: ProofState;
  /** The certificate of completion (`documents/certificate`, application/pdf). */
  certificate?: ArtifactLink;
  /** The audit events (`audit_events`), the JSON exactly as DocuSign sent it. */
  auditEvents?: ArtifactLink;
  /** The templates the envelope was sent from, once read (only a template policy needs them). */
  templateIds?: string[];
  /** Download attempts that failed so far. */
  attempts: number;
  /** Pending: not before this (ISO). */
  nextAttemptAt?: string;
  lastError?: { code: string; message: string; at: string };
}

export interface ProofCounts {
  collected: number;
  pending: number;
  failed: number;
}

export interface ProofStore {
  /** Stores bytes under their SHA-256 (once: storing the same bytes again writes nothing) and returns the address. */
  putArtifact(connectionId: string, bytes: Buffer): Promise<{ sha256: string; size: number }>;
  /** The bytes stored under `sha256`; an evidence_store_unavailable error when there are none. */
  readArtifact(connectionId: string, sha256: string): Promise<Buffer>;
  /** Creates or replaces the proof entry of an envelope (durable when it resolves). */
  putProof(connectionId: string, proof: EnvelopeProof): Promise<void>;
  getProof(connectionId: string, envelopeId: string): Promise<EnvelopeProof | undefined>;
  /** Every proof entry of the connection, in envelopeId order. */
  listProof(connectionId: string): AsyncIterable<EnvelopeProof>;
}
