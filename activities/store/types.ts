/**
 * The evidence store contract (design.md §5). Two implementations: a directory (default) and Postgres.
 * Writes are idempotent upserts keyed by (connectionId, envelopeId); each distinct statusChangedDateTime of an
 * envelope is kept as a version, never overwritten.
 */
import type { ProofStore } from './proof';
import type { SnapshotStore } from './snapshots';

/** One stored envelope version, exactly the design.md §5 record shape. */
export interface EnvelopeRecord {
  connectionId: string;
  envelopeId: string;
  status: string;
  statusChangedDateTime: string;
  /** ISO time the connector stored this version. */
  syncedAt: string;
  /** The envelope object exactly as DocuSign returned it, recipients included. */
  envelope: Record<string, unknown>;
}

export interface PageWriteResult {
  /** Envelope IDs whose record this write created or changed (a new version). */
  changed: string[];
  /** Envelope IDs that were already stored with the same statusChangedDateTime (re-delivery: nothing written). */
  unchanged: string[];
}

/**
 * Where an interrupted sync resumes, saved with each page (design.md §6: "a killed worker resumes from the last stored
 * page"). Heartbeats say the same, but the last few may never reach Temporal when the worker dies or loses the server;
 * the store cannot disagree with itself. One per connection; `progress` is opaque JSON to the store.
 */
export interface SyncCheckpoint {
  /** Identifies one sync across its retries; a checkpoint of another sync is ignored by the reader. */
  syncId: string;
  progress: Record<string, unknown>;
}

/**
 * An envelope DocuSign listed that did not validate (e.g. no statusChangedDateTime): kept exactly as received, with
 * the reason, until a later sync fetches it again and it validates. One per (connectionId, envelopeId); it is not
 * evidence and never counts as a stored envelope.
 */
export interface QuarantinedEnvelope {
  connectionId: string;
  envelopeId: string;
  /** What failed: the field and the rule. */
  reason: string;
  /** ISO time (with zone) of the latest failed validation. */
  quarantinedAt: string;
  /** The list item exactly as DocuSign returned it. */
  envelope: Record<string, unknown>;
}

export interface EvidenceStore {
  /** Human-readable location for logs and status, with any password removed. */
  readonly description: string;
  /** The snapshot kinds (users, groups, …): design.md §7. */
  readonly snapshots: SnapshotStore;
  /** Signed proof: certificates of completion and audit events, by SHA-256, and each envelope's proof entry. */
  readonly proof: ProofStore;
  /** Creates directories / schema (idempotent; migrations run here). */
  init(): Promise<void>;
  /**
   * Stores one page atomically as far as the backend allows (Postgres: one transaction; directory: each file by
   * temp-file + rename, versions appended before the latest record is replaced). Idempotent on re-delivery.
   * An envelope older than the stored latest (same ID, earlier statusChangedDateTime) is kept as a version but
   * does not replace the latest record. The checkpoint, if given, replaces the connection's checkpoint once the
   * records are durable (Postgres: in the same transaction; directory: after them), also for an empty page.
   */
  writePage(connectionId: string, records: EnvelopeRecord[], checkpoint?: SyncCheckpoint): Promise<PageWriteResult>;
  /** The checkpoint the last writePage saved for the connection, if any. */
  readCheckpoint(connectionId: string): Promise<SyncCheckpoint | undefined>;
  /** Distinct envelopes stored for the connection. */
  count(connectionId: string): Promise<number>;
  /** Distinct envelopes with a version stored at or after `syncedAt` (ISO): what one sync created or changed. */
  countChangedSince(connectionId: string, syncedAt: string): Promise<number>;
  /** Latest record of every envelope of the connection, in envelopeId order. */
  list(connectionId: string): AsyncIterable<EnvelopeRecord>;
  /** Every stored version of one envelope, oldest first. */
  versions(connectionId: string, envelopeId: string): Promise<EnvelopeRecord[]>;
  /**
   * Adds quarantine entries, replacing any of the same envelope; durable when it resolves (a sync writes them before
   * the page's checkpoint, so the cursor never passes a quarantined envelope that is not kept). Validated first: an
   * invalid entry writes nothing.
   */
  quarantine(connectionId: string, entries: QuarantinedEnvelope[]): Promise<void>;
  /** Removes the entries of these envelopes (IDs not quarantined are ignored). */
  release(connectionId: string, envelopeIds: string[]): Promise<void>;
  /** Every quarantined envelope of the connection, in envelopeId order. */
  listQuarantined(connectionId: string): Promise<QuarantinedEnvelope[]>;
  countQuarantined(connectionId: string): Promise<number>;
  /**
   * Stored lines the store could not read and skips (directory: corrupt lines of changes.jsonl, e.g. the fragment a
   * crash mid-append leaves; Postgres validates on write and has none). Reported by `doctor` and `evidence`.
   */
  unreadableLines(connectionId: string): Promise<UnreadableLine[]>;
  close(): Promise<void>;
}

/** A stored line that could not be read. */
export interface UnreadableLine {
  file: string;
  /** Byte offset of the line in `file`, and its length without the newline. */
  offset: number;
  length: number;
}

/** Options every backend takes. */
export interface EvidenceStoreOptions {
  /** Called once per unreadable line as the store first finds it (the worker logs it and counts it in a metric). */
  onUnreadableLine?: (connectionId: string, line: UnreadableLine) => void;
}
