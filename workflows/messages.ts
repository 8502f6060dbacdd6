/**
 * The connection workflow's public surface (design.md §3): names, signals, queries, updates, search attributes and
 * the status shape. Clients, the CLI and tests import these; the names are fixed contracts.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ConnectionConfig, CredentialsUpdate } from './config';
import type { EvidenceKind, EvidenceStatus } from './evidence';
import type { ErrorCode } from './errors';

export const WORKFLOW_TYPE = 'docusignConnection';
export const DEFAULT_TASK_QUEUE = 'docusign-connector';
/**
 * Where a connection's syncs, snapshots and signed-proof passes run: a second queue beside the workflow's, served by
 * the same worker processes with a small per-worker limit (SYNC_CONCURRENCY), so a burst of first syncs waits in
 * Temporal instead of taking the worker's CPU from workflow tasks and token re-mints.
 */
export const bulkTaskQueueOf = (taskQueue: string): string => `${taskQueue}-bulk`;
export const workflowIdOf = (connectionId: string): string => `docusign-connection-${connectionId}`;

export const consentGrantedSignal = defineSignal('consentGranted');
export const consentDeniedSignal = defineSignal<[{ error?: string }?]>('consentDenied');
/** What a sync request covers: the evidence kinds to sync now (absent: every kind). */
export interface SyncRequest {
  kinds?: EvidenceKind[];
}

export const syncNowSignal = defineSignal<[SyncRequest?]>('syncNow');

/**
 * DocuSign Connect events for this connection's account, verified and debounced by the connect listener: one signal
 * stands for a burst. The workflow syncs envelopes from its cursor at once (the events only say that something
 * changed; the listing stays the evidence, and the hourly poll reconciles anything a webhook missed).
 */
export interface ConnectEvents {
  /** How many events this signal stands for (>= 1). */
  events: number;
  /** The envelopes they named (at most a few hundred; the sync reads the whole window anyway). */
  envelopeIds: string[];
  /** ISO time of the newest event (its generatedDateTime, or when the listener received it). */
  lastEventAt: string;
  /**
   * The envelopes as the events carried them (each envelopeSummary with its envelopeId), when every event of the
   * burst carried one and they fit the signal's size budget; absent otherwise (the workflow then reads the listing).
   */
  envelopes?: Record<string, unknown>[];
}
export const connectEventsSignal = defineSignal<[ConnectEvents]>('connectEvents');
export const disconnectSignal = defineSignal('disconnect');
export const credentialsUpdatedSignal = defineSignal<[CredentialsUpdate]>('credentialsUpdated');

export const statusQuery = defineQuery<ConnectionStatus>('status');

/**
 * The config the connection runs with now: its start input plus every credentialsUpdated since. References only
 * (`file:/keys/acme.pem`), never key material. Runs started before this query existed answer "unknown query"; the
 * client then reads the config from their history.
 */
export const configQuery = defineQuery<ConnectionConfig>('config');

/**
 * Requests a sync like `syncNow` and completes when that sync has finished (or ended in `needs_attention`).
 * Used by `sync --wait`; returns the status at that moment.
 */
export const syncAndWaitUpdate = defineUpdate<ConnectionStatus, [SyncRequest]>('syncAndWait');

export const searchAttributes = {
  connectionId: defineSearchAttributeKey('DocuSignConnectionId', SearchAttributeType.KEYWORD),
  environment: defineSearchAttributeKey('DocuSignEnvironment', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('DocuSignPhase', SearchAttributeType.KEYWORD),
  lastSyncAt: defineSearchAttributeKey('DocuSignLastSyncAt', SearchAttributeType.DATETIME),
  /**
   * The code of the connection's open error (`lastError.code`), absent when there is none: `DocuSignLastError =
   * "invalid_grant"` lists every connection with that problem. Newer than the other four: the workflow sets it only
   * where the namespace has it registered.
   */
  lastError: defineSearchAttributeKey('DocuSignLastError', SearchAttributeType.KEYWORD),
} as const;

export const ALL_SEARCH_ATTRIBUTES = Object.values(searchAttributes);

/** The attributes a connection is started with, so that its first workflow task has none to upsert. */
export function startAttributesOf(
  config: Pick<ConnectionConfig, 'connectionId' | 'environment'>,
): SearchAttributePair[] {
  return [
    { key: searchAttributes.connectionId, value: config.connectionId },
    { key: searchAttributes.environment, value: config.environment },
    { key: searchAttributes.phase, value: 'awaiting_consent' },
  ];
}

export const PHASES = [
  'awaiting_consent',
  'authorizing',
  'syncing',
  'idle',
  'needs_attention',
  'disconnected',
] as const;
export type Phase = (typeof PHASES)[number];

export interface AccountInfo {
  accountId: string;
  accountName?: string;
  baseUri: string;
}

export interface LastSync {
  startedAt: string;
  finishedAt?: string;
  /** Distinct envelopes whose record this sync created or changed. */
  envelopes: number;
  /** ISO timestamp: every envelope whose status changed before it is stored. */
  cursor: string;
  pages?: number;
}

export interface LastError {
  code: ErrorCode;
  message: string;
  hint: string;
  at: string;
}

export interface ConnectionStatus {
  connectionId: string;
  environment: 'demo' | 'production';
  phase: Phase;
  consentUrl?: string;
  /** When the consent URL's signed state expires (the workflow rebuilds the URL before that). */
  consentUrlExpiresAt?: string;
  account?: AccountInfo;
  token?: { expiresAt: string };
  lastSync?: LastSync;
  lastError?: LastError;
  totals: {
    envelopes: number;
    syncs: number;
    /**
     * Envelopes DocuSign listed that did not validate, kept aside until a sync fetches them valid (`evidence
     * --quarantined`). Set by each successful sync; absent before the first and in histories older than it.
     */
    quarantined?: number;
  };
  nextSyncAt?: string;
  /** The snapshot kinds (design.md §7): latest complete snapshot, its size and its changes. */
  evidence?: EvidenceStatus;
  /** DocuSign Connect events signalled by the connect listener; absent until the first. */
  connectEvents?: { received: number; lastEventAt: string };
}
