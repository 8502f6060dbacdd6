/** A page of envelope records as both backends write it: validated, normalised and serialised before any I/O. */
import { assertConnectionId, isPlainObject, jsonOf } from './checks';
import { prepareCheckpoint } from './checkpoint';
import { EvidenceStoreError } from './errors';
import { ENVELOPE_ID_PATTERN, instantKey, isEnvelopeId, isZonedTime } from './identity';
import type { EnvelopeRecord, SyncCheckpoint } from './types';

/** One validated record of a page, with what the backends derive from it. */
export interface PreparedRecord {
  /** Exactly the six fields of design.md §5, in that order. */
  record: EnvelopeRecord;
  /** statusChangedDateTime as a comparable instant (see instantKey). */
  key: string;
  /** JSON.stringify(record): what is stored, byte for byte. */
  json: string;
}

/**
 * Validates a page and normalises each record to the design.md §5 shape. Throws (before anything is written) on the
 * first invalid record. Records repeating an (envelopeId, statusChangedDateTime) already in the page are dropped.
 */
function preparePage(description: string, connectionId: string, records: unknown): PreparedRecord[] {
  assertConnectionId(description, connectionId);
  if (!Array.isArray(records)) {
    throw new EvidenceStoreError('invalid_evidence_record', `Evidence store ${description}: a page must be an array`);
  }
  const out: PreparedRecord[] = [];
  const seen = new Set<string>();
  records.forEach((raw: unknown, i) => {
    const fail = (rule: string): never => {
      const id = isPlainObject(raw) && typeof raw.envelopeId === 'string' ? ` (envelopeId ${raw.envelopeId})` : '';
      throw new EvidenceStoreError(
        'invalid_evidence_record',
        `Evidence store ${description}: record ${i}${id} of the page for connection ${connectionId}: ${rule}`,
      );
    };
    if (!isPlainObject(raw)) return fail('must be an object');
    const { envelopeId, status, statusChangedDateTime, syncedAt, envelope } = raw;
    if (raw.connectionId !== connectionId) fail('connectionId must equal the connection written to');
    if (!isEnvelopeId(envelopeId)) return fail(`envelopeId must match ${String(ENVELOPE_ID_PATTERN)}`);
    if (typeof status !== 'string' || status === '') return fail('status must be a non-empty string');
    const key = typeof statusChangedDateTime === 'string' ? instantKey(statusChangedDateTime) : undefined;
    if (typeof statusChangedDateTime !== 'string' || key === undefined) {
      return fail('statusChangedDateTime must be an ISO date-time, e.g. 2024-10-16T12:54:00.0270000Z');
    }
    if (!isZonedTime(syncedAt)) return fail('syncedAt must be an ISO date-time with a zone');
    if (!isPlainObject(envelope)) return fail('envelope must be an object');
    const dedupKey = `${envelopeId}\u0000${statusChangedDateTime}`;
    if (seen.has(dedupKey)) return;
    seen.add(dedupKey);
    const record: EnvelopeRecord = { connectionId, envelopeId, status, statusChangedDateTime, syncedAt, envelope };
    out.push({ record, key, json: jsonOf(record, fail) });
  });
  return out;
}

/** A writePage call validated (before anything is written); undefined when it has nothing to write. */
export function prepareWrite(
  description: string,
  connectionId: string,
  records: unknown,
  checkpoint: SyncCheckpoint | undefined,
): { page: PreparedRecord[]; checkpointJson?: string } | undefined {
  const page = preparePage(description, connectionId, records);
  const checkpointJson = checkpoint && prepareCheckpoint(description, checkpoint);
  return page.length || checkpointJson ? { page, checkpointJson } : undefined;
}
