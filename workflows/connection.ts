/**
 * One DocuSign connection, for months, with no human in the loop:
 *
 *   awaiting_consent → authorizing → syncing → idle ⟲ (re-mint before expiry, sync on schedule)
 *                ↑__________________________________↓
 *                       needs_attention (slow backoff; at once on credentialsUpdated / syncNow)
 *
 * Activities do all I/O; this file only decides. Tokens never enter it: it sees `expiresAt` only.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ConsentLink } from '../activities';
import type { FailureDetails } from '../activities/errors';
import type { SyncResult } from '../activities/sync';
import {
  credentialsUpdateSchema,
  describeIssues,
  parseConnectionConfig,
  type ConnectionConfig,
  type CredentialsUpdate,
} from './config';
import { ERROR_HINTS, isErrorCode, type ErrorCode } from './errors';
import {
  configQuery,
  consentDeniedSignal,
  consentGrantedSignal,
  credentialsUpdatedSignal,
  disconnectSignal,
  searchAttributes,
  statusQuery,
  syncAndWaitUpdate,
  syncNowSignal,
  type ConnectionStatus,
  type Phase,
} from './messages';
import {
  CONSENT_PROBE_INTERVAL_MS,
  attentionBackoffMs,
  consentLinkRefreshInMs,
  remintAt,
  syncDelayMs,
} from './schedule';
import { currentDetailsOf } from './summary';

const MINUTE = 60_000;
/** Each run's history stays far below the server's limits; continue-as-new carries the state. */
export const MAX_HISTORY_EVENTS = 1500;
const DEFAULT_BACKFILL_DAYS = 365;

// Token and account calls are quick; invalid_grant gets a few retries because key or clock fixes propagate.
const auth = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
});
// The sync heartbeats after every page and every 5 s while waiting, so a dead worker is noticed within 10 s and the
// retry resumes from the last stored page.
// Rate limits retry with the server-given delay (nextRetryDelay); wrong_base_uri and invalid_response need the
// workflow (re-resolve the account / record the error), so they are not retried here.
const sync = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [
      'wrong_base_uri',
      'invalid_response',
      'request_rejected',
      'consent_required',
      'invalid_grant',
    ],
  },
});

/** State carried across continue-as-new (no secrets: references and timestamps only). */
export interface CarriedState {
  status: ConnectionStatus;
  cursor?: string;
  backfillFrom?: string;
  attentionAttempts: number;
  /** Epoch ms of the next timer-driven retry from needs_attention, while one is scheduled. */
  attentionRetryAt?: number;
  syncRequested: boolean;
  credentialsChanged: boolean;
}

export async function docusignConnection(input: ConnectionConfig, carried?: CarriedState): Promise<ConnectionStatus> {
  let config = validated(input);
  const status: ConnectionStatus = carried?.status ?? {
    connectionId: config.connectionId,
    environment: config.environment,
    phase: 'awaiting_consent',
    totals: { envelopes: 0, syncs: 0 },
  };
  let cursor = carried?.cursor;
  let backfillFrom = carried?.backfillFrom ?? config.backfillFrom;
  let attentionAttempts = carried?.attentionAttempts ?? 0;
  let attentionRetryAt = carried?.attentionRetryAt;
  let syncRequested = carried?.syncRequested ?? false;
  let credentialsChanged = carried?.credentialsChanged ?? false;
  let consentGranted = false;
  let consentDenied: string | undefined;
  let disconnectRequested = false;

  // ---- messages: always accepted, acted on by the state machine below ----
  setHandler(statusQuery, () => status, {
    description: 'The connection: phase, account, token expiry (never the token), last sync, last error and its fix.',
  });
  setHandler(configQuery, () => config, {
    description: 'The config in force: the start input plus every credentialsUpdated since (references, no secrets).',
  });
  setHandler(
    consentGrantedSignal,
    () => {
      if (status.phase === 'awaiting_consent' || consentWasDenied()) consentGranted = true;
    },
    { description: 'Browser consent completed: authorize now. Ignored unless the connection awaits consent.' },
  );
  setHandler(
    consentDeniedSignal,
    (arg) => {
      if (status.phase === 'awaiting_consent') consentDenied = arg?.error ?? 'access_denied';
    },
    { description: 'Consent was declined on the DocuSign page: needs_attention until accepted ({ error? }).' },
  );
  setHandler(
    syncNowSignal,
    () => {
      syncRequested = true;
    },
    { description: 'Sync now; from needs_attention, one immediate retry (then the backoff resumes).' },
  );
  setHandler(
    disconnectSignal,
    () => {
      disconnectRequested = true;
    },
    { description: 'Stop the connection: the workflow completes with its final status; evidence is kept.' },
  );
  setHandler(
    credentialsUpdatedSignal,
    (update: CredentialsUpdate) => {
      const parsed = credentialsUpdateSchema.safeParse(update);
      if (!parsed.success) {
        log.warn('credentialsUpdated ignored', { reason: describeIssues(parsed.error) });
        return;
      }
      config = validated({ ...config, ...parsed.data });
      credentialsChanged = true;
    },
    { description: 'New references for integrationKey, userId, privateKeyRef or accountId: re-authorize at once.' },
  );
  setHandler(
    syncAndWaitUpdate,
    async () => {
      const target = status.totals.syncs + (status.phase === 'syncing' ? 2 : 1);
      syncRequested = true;
      const attentionBefore = status.lastError?.at;
      await condition(
        () =>
          status.totals.syncs >= target ||
          disconnectRequested ||
          (status.phase === 'needs_attention' && status.lastError?.at !== attentionBefore),
      );
      return status;
    },
    {
      description: 'Sync now and return the status once that sync finished or ended in needs_attention.',
      // Rejected before it is accepted (nothing enters history): no sync can run until consent is granted.
      validator: () => {
        if (status.phase === 'awaiting_consent') {
          throw new Error('consent is not granted yet: finish consent (consentUrl) first');
        }
        if (disconnectRequested || status.phase === 'disconnected') throw new Error('the connection is disconnected');
      },
    },
  );

  const setPhase = (phase: Phase) => {
    status.phase = phase;
    if (phase !== 'awaiting_consent' && !consentWasDenied()) {
      status.consentUrl = undefined;
      status.consentUrlExpiresAt = undefined;
    }
    upsertSearchAttributes([{ key: searchAttributes.phase, value: phase }]);
    describeForOperators();
  };
  const describeForOperators = () => setCurrentDetails(currentDetailsOf(status));
  const recordError = (code: ErrorCode, message: string) => {
    status.lastError = { code, message, hint: ERROR_HINTS[code], at: new Date().toISOString() };
    log.warn('connection needs attention', { code, message });
  };
  /** Routes a failed activity: consent problems go back to awaiting consent, everything else to needs_attention. */
  const fail = (err: unknown): Phase => {
    const { code, message } = failureOf(err);
    recordError(code, message);
    return code === 'consent_required' ? 'awaiting_consent' : 'needs_attention';
  };
  /**
   * (Re)builds the consent link. Its signed state expires, so it is rebuilt before that; a failure keeps the old link
   * (if any), shows the error, and is retried at the next wake instead of failing the workflow.
   */
  const refreshConsentLink = async () => {
    try {
      const link: ConsentLink | string = await auth.consentUrl(config);
      // A plain string is a result recorded before links carried their expiry.
      status.consentUrl = typeof link === 'string' ? link : link.url;
      status.consentUrlExpiresAt = typeof link === 'string' ? undefined : link.expiresAt;
    } catch (err) {
      const { code, message } = failureOf(err);
      recordError(code, `the consent URL could not be built: ${message}`);
      describeForOperators();
    }
  };
  const consentLinkDue = () => {
    const refreshIn = consentLinkRefreshInMs(status.consentUrlExpiresAt, Date.now());
    return !status.consentUrl || (refreshIn !== undefined && refreshIn <= 0);
  };

  upsertSearchAttributes([
    { key: searchAttributes.connectionId, value: config.connectionId },
    { key: searchAttributes.environment, value: config.environment },
  ]);
  setPhase(status.phase);

  // ---- the lifecycle ----
  while (!disconnectRequested) {
    if (historyIsLong()) {
      await condition(allHandlersFinished);
      const next: CarriedState = {
        status,
        cursor,
        backfillFrom,
        attentionAttempts,
        attentionRetryAt,
        syncRequested,
        credentialsChanged,
      };
      await continueAsNew<typeof docusignConnection>(config, next);
    }
    switch (status.phase) {
      case 'awaiting_consent': {
        status.nextSyncAt = undefined;
        if (consentLinkDue()) await refreshConsentLink();
        const refreshIn = consentLinkRefreshInMs(status.consentUrlExpiresAt, Date.now());
        const woke = await condition(
          () => consentGranted || consentDenied !== undefined || credentialsChanged || disconnectRequested,
          refreshIn === undefined
            ? CONSENT_PROBE_INTERVAL_MS
            : Math.max(1, Math.min(refreshIn, CONSENT_PROBE_INTERVAL_MS)),
        );
        if (disconnectRequested) break;
        if (consentDenied !== undefined) {
          recordError('consent_denied', `Consent was declined in DocuSign (${consentDenied})`);
          consentDenied = undefined;
          setPhase('needs_attention');
          break;
        }
        if (woke) {
          // Granted, or new credentials: try at once.
          consentGranted = false;
          credentialsChanged = false;
          setPhase('authorizing');
          break;
        }
        try {
          await auth.refreshToken(config); // the slow consent probe
          setPhase('authorizing');
        } catch (err) {
          if (failureOf(err).code !== 'consent_required') setPhase(fail(err));
        }
        break;
      }

      case 'authorizing': {
        credentialsChanged = false;
        try {
          const { account, token } = await auth.authorize(config);
          status.account = account;
          status.token = token;
          setPhase('syncing');
        } catch (err) {
          const next = fail(err);
          if (next === 'awaiting_consent') status.consentUrl = undefined; // rebuilt with fresh state
          setPhase(next);
        }
        break;
      }

      case 'syncing': {
        syncRequested = false; // a syncNow during this sync queues exactly one follow-up
        const startedAt = new Date().toISOString();
        backfillFrom ??= new Date(Date.parse(startedAt) - DEFAULT_BACKFILL_DAYS * 24 * 60 * MINUTE).toISOString();
        status.lastSync = { startedAt, envelopes: 0, cursor: cursor ?? backfillFrom };
        describeForOperators();
        try {
          if (Date.now() >= remintAt(status.token, Date.now())) status.token = await auth.refreshToken(config);
          const account = status.account;
          if (!account) {
            setPhase('authorizing');
            break;
          }
          const result: SyncResult = await sync.syncEnvelopes({ config, account, cursor, backfillFrom, startedAt });
          cursor = result.cursor;
          status.lastSync = {
            startedAt,
            finishedAt: result.finishedAt,
            envelopes: result.envelopes,
            cursor: result.cursor,
            pages: result.pages,
          };
          status.totals = {
            envelopes: result.totalStored,
            syncs: status.totals.syncs + 1,
            quarantined: result.quarantined,
          };
          status.lastError = undefined;
          attentionAttempts = 0;
          attentionRetryAt = undefined;
          status.nextSyncAt = new Date(Date.now() + nextSyncDelayMs(config)).toISOString();
          upsertSearchAttributes([{ key: searchAttributes.lastSyncAt, value: new Date(result.finishedAt) }]);
          setPhase('idle');
        } catch (err) {
          const details = detailsOf(err);
          if (details?.progressCursor) {
            cursor = details.progressCursor; // pages stored before the failure are not fetched again
            status.lastSync.cursor = cursor;
          }
          try {
            status.totals.envelopes = await auth.storedEnvelopeCount(config.connectionId);
          } catch (countErr) {
            // The store is likely what failed the sync: keep the last total rather than fail the whole workflow.
            if (isCancellation(countErr)) throw countErr;
            log.warn('stored envelope count unavailable', { error: failureOf(countErr).message });
          }
          if (failureOf(err).code === 'wrong_base_uri') {
            // The account moved region: resolve it again from userinfo, then sync.
            recordError('wrong_base_uri', failureOf(err).message);
            syncRequested = true;
            setPhase('authorizing');
          } else {
            setPhase(fail(err));
          }
        }
        break;
      }

      case 'idle': {
        const nextSyncAt = Date.parse(status.nextSyncAt ?? new Date().toISOString());
        const remintDue = remintAt(status.token, Date.now());
        const wakeAt = Math.min(nextSyncAt, remintDue);
        // (condition's timeout must be > 0: a zero timeout means "no timeout")
        if (wakeAt > Date.now()) {
          await condition(() => syncRequested || credentialsChanged || disconnectRequested, wakeAt - Date.now());
        }
        if (disconnectRequested) break;
        if (credentialsChanged) {
          setPhase('authorizing');
        } else if (syncRequested || Date.now() >= nextSyncAt) {
          setPhase('syncing');
        } else if (Date.now() >= remintDue) {
          try {
            status.token = await auth.refreshToken(config);
            describeForOperators();
          } catch (err) {
            setPhase(fail(err));
          }
        }
        break;
      }

      case 'needs_attention': {
        if (consentWasDenied()) {
          // A declined consent is not retried by a timer: it waits for a person to accept at consentUrl (still
          // shown, and rebuilt before its state expires), send new credentials, or ask for a sync.
          const waitFor = () => consentGranted || syncRequested || credentialsChanged || disconnectRequested;
          const refreshIn = consentLinkRefreshInMs(status.consentUrlExpiresAt, Date.now());
          if (refreshIn === undefined) await condition(waitFor);
          else if (refreshIn <= 0 || !(await condition(waitFor, refreshIn))) {
            await refreshConsentLink();
            break;
          }
          if (disconnectRequested) break;
          consentGranted = false;
          setPhase('authorizing');
          break;
        }
        // One retry time per failure streak: a syncNow or syncAndWait makes one immediate attempt, and if that fails
        // the wait resumes towards the same retry time, so requests cannot turn the backoff into a loop.
        if (attentionRetryAt === undefined || attentionRetryAt <= Date.now()) {
          attentionRetryAt = Date.now() + attentionBackoffMs(attentionAttempts);
        }
        status.nextSyncAt = new Date(attentionRetryAt).toISOString();
        describeForOperators();
        const woke = await condition(
          () => syncRequested || credentialsChanged || disconnectRequested,
          attentionRetryAt - Date.now(),
        );
        if (disconnectRequested) break;
        if (woke && syncRequested && !credentialsChanged && patched('attention-sync-request-consumed')) {
          syncRequested = false; // this attempt answers the request; the scheduled retry stays where it was
        } else {
          attentionAttempts += 1;
          attentionRetryAt = undefined;
        }
        setPhase('authorizing');
        break;
      }

      case 'disconnected':
        disconnectRequested = true;
        break;
    }
  }

  status.nextSyncAt = undefined;
  status.consentUrl = undefined;
  status.consentUrlExpiresAt = undefined;
  setPhase('disconnected');
  await condition(allHandlersFinished);
  return status;

  function consentWasDenied(): boolean {
    return status.phase === 'needs_attention' && status.lastError?.code === 'consent_denied';
  }
}

function validated(config: ConnectionConfig): ConnectionConfig {
  try {
    return parseConnectionConfig(config);
  } catch (err) {
    // The client validates first; reaching this means someone bypassed it. Fail the run, not the task.
    throw ApplicationFailure.nonRetryable((err as Error).message, 'invalid_config');
  }
}

function nextSyncDelayMs(config: ConnectionConfig): number {
  // Workflow Math.random is seeded per run, so replays agree. Histories from before the jitter replay without it.
  return patched('sync-schedule-jitter') ? syncDelayMs(config, Math.random()) : syncDelayMs(config, 0);
}

function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS;
}

function detailsOf(err: unknown): FailureDetails | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.details?.[0] as FailureDetails | undefined;
  return undefined;
}

/**
 * The code of a failed activity. Typed failures carry their code; an activity that timed out (after its retries)
 * means DocuSign or the network did not answer; anything else is a bug, not DocuSign's doing.
 */
function failureOf(err: unknown): { code: ErrorCode; message: string } {
  if (isCancellation(err)) throw err;
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) {
    return { code: cause.type, message: cause.message };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof TimeoutFailure) return { code: 'docusign_unavailable', message: `timed out: ${message}` };
  return { code: 'internal_error', message };
}
