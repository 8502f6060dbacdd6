/**
 * Typed connector errors. Inside activities a failure is a `ConnectorError` with a stable code; at the activity
 * boundary it becomes an ApplicationFailure whose `type` is that code, so retry policies and the workflow match on it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ERROR_HINTS, NON_RETRYABLE_CODES, type ErrorCode } from '../workflows/errors';
import type { SnapshotOutcome, SyncResult } from '../workflows/evidence';
import { EvidenceStoreError } from './store';

export class ConnectorError extends Error {
  override name = 'ConnectorError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: {
      /** DocuSign's own reason, e.g. `no_valid_keys_or_signatures`. */
      reason?: string;
      httpStatus?: number;
      /** When the caller may try again (rate-limit reset). */
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
  }
}

/** Details carried by the ApplicationFailure, readable by the workflow (never secrets). */
export interface FailureDetails {
  code: ErrorCode;
  hint: string;
  reason?: string;
  httpStatus?: number;
  /** For a sync that stored some pages before failing: the cursor those pages justify. */
  progressCursor?: string;
  /** For a snapshot pass: the kinds done before (or besides) the one that failed it. */
  snapshots?: SnapshotOutcome[];
  /** For a sync pass whose snapshots failed: the envelope sync it finished first. */
  envelopes?: SyncResult;
}

export function toApplicationFailure(err: unknown, extraDetails: Partial<FailureDetails> = {}): ApplicationFailure {
  // Already typed further down: keep its type and retry rule, and still carry the caller's details (a sync's cursor).
  if (err instanceof ApplicationFailure) return Object.keys(extraDetails).length ? withDetails(err, extraDetails) : err;
  if (err instanceof EvidenceStoreError) {
    // A record the store refuses came from DocuSign's data; an unwritable store is the operator's to fix.
    const code = err.code === 'evidence_store_unavailable' ? 'evidence_store_unavailable' : 'invalid_response';
    return toApplicationFailure(new ConnectorError(code, err.message), extraDetails);
  }
  if (err instanceof ConnectorError) {
    const details: FailureDetails = {
      code: err.code,
      hint: ERROR_HINTS[err.code],
      ...(err.extra.reason ? { reason: err.extra.reason } : {}),
      ...(err.extra.httpStatus ? { httpStatus: err.extra.httpStatus } : {}),
      ...extraDetails,
    };
    return ApplicationFailure.create({
      type: err.code,
      message: err.message,
      details: [details],
      nonRetryable: NON_RETRYABLE_CODES.includes(err.code),
      ...(err.extra.retryAfterMs !== undefined ? { nextRetryDelay: Math.max(1, err.extra.retryAfterMs) } : {}),
    });
  }
  // Unknown errors keep retrying under the activity's policy; the message is the only thing carried.
  return ApplicationFailure.create({
    type: 'internal_error',
    message: err instanceof Error ? err.message : String(err),
    details: [extraDetails],
  });
}

/** The same failure (type, retry rule and delay) with more details for the workflow. */
export function withDetails(failure: ApplicationFailure, extra: Partial<FailureDetails>): ApplicationFailure {
  const [details] = failure.details ?? [];
  return new ApplicationFailure(
    failure.message,
    failure.type,
    failure.nonRetryable,
    [{ ...(details as Partial<FailureDetails> | undefined), ...extra }],
    undefined,
    failure.nextRetryDelay,
  );
}

/** Runs an activity body and converts whatever it throws into a typed ApplicationFailure. */
export async function typed<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toApplicationFailure(err);
  }
}
