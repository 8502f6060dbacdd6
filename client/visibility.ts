/**
 * What the Temporal server itself knows about connections, without asking a worker: the connection list from
 * visibility (search attributes), and a running sync's progress from the workflow's pending activity (its attempt,
 * last failure and last heartbeat).
 */
import type { WorkflowClient, WorkflowExecutionDescription } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { searchAttributes, WORKFLOW_TYPE, type Phase } from '../workflows/messages';
import type { DecodePayloads } from './connection-config';

export interface ConnectionSummary {
  connectionId: string;
  environment: 'demo' | 'production';
  phase: Phase;
  /** ISO time the last successful sync finished. */
  lastSyncAt?: string;
}

export interface SyncProgress {
  phase: Phase;
  /** Pages stored by the running sync attempt (from its last heartbeat). */
  pages?: number;
  /** Attempt number of the running sync activity (> 1 after a retry). */
  attempt?: number;
  /** Why the previous attempt failed, when it is being retried. */
  lastFailure?: string;
}

/** Every connection visible in the client's namespace, newest first: the latest run of each. */
export async function listConnections(workflows: WorkflowClient): Promise<ConnectionSummary[]> {
  const seen = new Map<string, ConnectionSummary & { startedAt: number }>();
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ${searchAttributes.connectionId.name} IS NOT NULL`;
  for await (const info of workflows.list({ query })) {
    const sa = info.typedSearchAttributes;
    const connectionId = sa.get(searchAttributes.connectionId);
    const environment = sa.get(searchAttributes.environment);
    if (!connectionId || (environment !== 'demo' && environment !== 'production')) continue;
    if (info.status.name === 'CONTINUED_AS_NEW') continue; // superseded by the run that followed it
    const startedAt = info.startTime.getTime();
    const previous = seen.get(connectionId);
    if (previous && previous.startedAt >= startedAt) continue; // an older run of a reconnected connection
    const closed = info.status.name !== 'RUNNING';
    const phase = closed
      ? 'disconnected'
      : ((sa.get(searchAttributes.phase) as Phase | undefined) ?? 'awaiting_consent');
    const lastSync = sa.get(searchAttributes.lastSyncAt);
    seen.set(connectionId, {
      connectionId,
      environment,
      phase,
      ...(lastSync ? { lastSyncAt: lastSync.toISOString() } : {}),
      startedAt,
    });
  }
  return [...seen.values()]
    .sort((a, b) => b.startedAt - a.startedAt || a.connectionId.localeCompare(b.connectionId))
    .map(({ startedAt: _startedAt, ...summary }) => summary);
}

/** The progress of the sync activity pending in `description`, if any; `phase` from the search attribute. */
export async function syncProgressOf(
  description: WorkflowExecutionDescription,
  decode: DecodePayloads,
): Promise<SyncProgress> {
  const phase = description.typedSearchAttributes.get(searchAttributes.phase) as Phase | undefined;
  const progress: SyncProgress = { phase: phase ?? 'syncing' };
  const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'syncEnvelopes');
  if (!activity) return progress;
  if (activity.attempt) progress.attempt = activity.attempt;
  if (activity.lastFailure?.message) progress.lastFailure = activity.lastFailure.message;
  const payloads = activity.heartbeatDetails?.payloads;
  if (payloads?.length) {
    const [details] = await decode(payloads as Payload[]).catch(() => []);
    const pages = (details as { pages?: unknown } | undefined)?.pages;
    if (typeof pages === 'number') progress.pages = pages;
  }
  return progress;
}
