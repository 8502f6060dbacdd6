/**
 * What the evidence stores throw, and how a backend failure becomes one: a message that names the store by its
 * description (never credentials) and what it could not do.
 */

export type EvidenceStoreErrorCode = 'evidence_store_unavailable' | 'invalid_evidence_record';

/**
 * `evidence_store_unavailable`: the store cannot be read or written (retrying may help); `invalid_evidence_record`:
 * the input itself is wrong (retrying will not help).
 */
export class EvidenceStoreError extends Error {
  override name = 'EvidenceStoreError';
  constructor(
    readonly code: EvidenceStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wraps a backend failure; validation errors and already-wrapped errors pass through unchanged. */
export function unavailable(description: string, action: string, err: unknown): EvidenceStoreError {
  if (err instanceof EvidenceStoreError) return err;
  return new EvidenceStoreError(
    'evidence_store_unavailable',
    `Evidence store ${description}: cannot ${action}: ${describeCause(err)}`,
    { cause: err },
  );
}

/** A one-line description of any thrown value (Node's AggregateError from a dual-stack connect has no message). */
export function describeCause(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) {
    return [...new Set(err.errors.map(describeCause))].join('; ');
  }
  if (err instanceof Error) {
    if (err.message) return err.message;
    return errnoCode(err) ?? err.name;
  }
  return String(err);
}

/** The `code` of a Node or pg error (errno name, SQLSTATE). */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
