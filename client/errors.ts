/**
 * The errors the client library throws (besides InvalidConfigError from workflows/config.ts), and how the Temporal
 * service's answers are told apart. The CLI maps ConnectorClientError to exit 1 with its message alone.
 */
import { workflowIdOf } from '../workflows/messages';

/** Base class of the errors this library throws (besides InvalidConfigError). */
export class ConnectorClientError extends Error {
  override name = 'ConnectorClientError';
}

/** No workflow exists for the connection ID. */
export class ConnectionNotFoundError extends ConnectorClientError {
  override name = 'ConnectionNotFoundError';
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} not found (no workflow ${workflowIdOf(connectionId)})`);
  }
}

/** The connection's workflow has closed (disconnected, or terminated by an operator): it takes no more messages. */
export class ConnectionClosedError extends ConnectorClientError {
  override name = 'ConnectionClosedError';
  constructor(
    readonly connectionId: string,
    readonly workflowStatus: string,
  ) {
    super(
      workflowStatus === 'COMPLETED'
        ? `connection ${connectionId} is disconnected; connect it again to resume`
        : `connection ${connectionId}'s workflow is ${workflowStatus.toLowerCase()}; connect it again to resume`,
    );
  }
}

/** The status query got no answer in time: no worker is polling the connection's task queue. */
export class WorkerUnavailableError extends ConnectorClientError {
  override name = 'WorkerUnavailableError';
  constructor(
    readonly connectionId: string,
    readonly taskQueue: string,
  ) {
    super(`no worker answered for connection ${connectionId}: is a worker running on task queue ${taskQueue}?`);
  }
}

/** Temporal cannot be reached at the configured address. */
export class TemporalUnavailableError extends ConnectorClientError {
  override name = 'TemporalUnavailableError';
}

/** No worker answered: the query's deadline passed, or the server knows no poller on the task queue. */
export function isNoWorker(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; details?: unknown } } | undefined)?.cause;
  if (cause?.code === 9 && /no poller/i.test(String(cause.details))) return true; // FAILED_PRECONDITION
  return isDeadlineExceeded(err);
}

function isDeadlineExceeded(err: unknown): boolean {
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.cause?.code ??
    (err as { code?: unknown } | undefined)?.code;
  return code === 4; // grpc DEADLINE_EXCEEDED
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return e?.code === 5 || e?.cause?.code === 5; // grpc NOT_FOUND (raw, or wrapped in a ServiceError)
}
