/** The checks every input of a store goes through before anything is written: shapes, connection IDs, times, JSON. */
import { CONNECTION_ID } from '../../workflows/config';
import { describeCause, EvidenceStoreError } from './errors';
import { isEnvelopeId, isZonedTime } from './identity';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Proof entries are addressed by envelope ID: anything else is refused before it reaches a path or a query. */
export function assertEnvelopeId(envelopeId: string): void {
  if (!isEnvelopeId(envelopeId)) {
    throw new EvidenceStoreError('invalid_evidence_record', `envelopeId ${JSON.stringify(envelopeId)} is not valid`);
  }
}

export function assertConnectionId(description: string, connectionId: unknown): asserts connectionId is string {
  if (typeof connectionId !== 'string' || !CONNECTION_ID.test(connectionId)) {
    throw new EvidenceStoreError(
      'invalid_evidence_record',
      `Evidence store ${description}: connectionId ${JSON.stringify(connectionId)} must match ${String(CONNECTION_ID)}`,
    );
  }
}

/** Parses an ISO time argument (countChangedSince) or throws. */
export function parseSince(description: string, since: string): number {
  const ms = isZonedTime(since) ? Date.parse(since) : NaN;
  if (!Number.isFinite(ms)) {
    throw new EvidenceStoreError(
      'invalid_evidence_record',
      `Evidence store ${description}: ${JSON.stringify(since)} is not an ISO date-time with a zone`,
    );
  }
  return ms;
}

/** What is stored for `value`, byte for byte; `fail` names the rule when DocuSign's envelope cannot be serialised. */
export function jsonOf(value: object, fail: (rule: string) => never): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    return fail(`envelope is not JSON-serialisable (${describeCause(err)})`);
  }
}
