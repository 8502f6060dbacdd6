/** Quarantine entries as both backends store them: validated and normalised on write, checked on read. */
import { assertConnectionId, isPlainObject, jsonOf } from './checks';
import { EvidenceStoreError } from './errors';
import { ENVELOPE_ID_PATTERN, isEnvelopeId, isZonedTime } from './identity';
import type { QuarantinedEnvelope } from './types';

/** One validated quarantine entry: the QuarantinedEnvelope fields in order, and its JSON as stored. */
export interface PreparedQuarantine {
  entry: QuarantinedEnvelope;
  json: string;
}

/**
 * Validates quarantine entries (before anything is written) and normalises them to the QuarantinedEnvelope shape;
 * of two entries for one envelope the later wins. Throws `invalid_evidence_record` naming the entry and the rule.
 */
export function prepareQuarantine(description: string, connectionId: string, entries: unknown): PreparedQuarantine[] {
  assertConnectionId(description, connectionId);
  if (!Array.isArray(entries)) {
    throw new EvidenceStoreError(
      'invalid_evidence_record',
      `Evidence store ${description}: quarantine entries must be an array`,
    );
  }
  const byId = new Map<string, PreparedQuarantine>();
  entries.forEach((raw: unknown, i) => {
    const fail = (rule: string): never => {
      throw new EvidenceStoreError(
        'invalid_evidence_record',
        `Evidence store ${description}: quarantine entry ${i} for connection ${connectionId}: ${rule}`,
      );
    };
    if (!isPlainObject(raw)) return fail('must be an object');
    const { envelopeId, reason, quarantinedAt, envelope } = raw;
    if (raw.connectionId !== connectionId) fail('connectionId must equal the connection written to');
    if (!isEnvelopeId(envelopeId)) return fail(`envelopeId must match ${String(ENVELOPE_ID_PATTERN)}`);
    if (typeof reason !== 'string' || reason === '') return fail('reason must be a non-empty string');
    if (!isZonedTime(quarantinedAt)) return fail('quarantinedAt must be an ISO date-time with a zone');
    if (!isPlainObject(envelope)) return fail('envelope must be an object');
    const entry: QuarantinedEnvelope = { connectionId, envelopeId, reason, quarantinedAt, envelope };
    byId.set(envelopeId, { entry, json: jsonOf(entry, fail) });
  });
  return [...byId.values()];
}

/** A stored quarantine entry, or undefined if the text is not one. */
export function parseQuarantined(text: string): QuarantinedEnvelope | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (
      isPlainObject(value) &&
      isEnvelopeId(value.envelopeId) &&
      typeof value.reason === 'string' &&
      typeof value.quarantinedAt === 'string' &&
      isPlainObject(value.envelope)
    ) {
      return value as unknown as QuarantinedEnvelope;
    }
  } catch {
    // fall through
  }
  return undefined;
}
