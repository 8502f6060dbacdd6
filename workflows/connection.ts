/**
 * One DocuSign connection, for months, with no human in the loop:
 *
 *   awaiting_consent → authorizing → syncing → idle ⟲ (re-mint before expiry, sync on schedule)
 *                ↑__________________________________↓
 *                       needs_attention (slow backoff; at once on credentialsUpdated / syncNow)
 *
 * A sync pass (`syncing`): the envelopes, the snapshot kinds that are due or asked for, then signed proof. DocuSign
 * Connect events (`connectEvents`, from the connect listener) start an envelope pass at once; the schedule reconciles.
 *
 * Activities do all I/O; this file only decides. Tokens never enter it: it sees `expiresAt` only. Its timing rules
 * are pure functions in schedule.ts and its UI summary in summary.ts; the rest stays here on purpose, longer than the
 * project's other files, so the whole lifecycle reads top to bottom in one place.
 */
import type { ActivityOptions, SearchAttributeUpdatePair } from '@temporalio/common';
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
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ConsentLink } from '../activities';
import type { FailureDetails } from '../activities/errors';
import {
  checkCredentialsUpdate,
  describeIssues,
  parseConnectionConfig,
  type ConnectionConfig,
  type CredentialsUpdate,
} from './config';
import { BULK_NON_RETRYABLE_CODES, CONNECTION_FAILURES, ERROR_HINTS, isErrorCode, type ErrorCode } from './errors';
import {
  DEFAULT_SNAPSHOT_INTERVAL_HOURS,
  EVIDENCE_KINDS,
  SNAPSHOT_KINDS,
  isEvidenceKind,
  type EvidenceKind,
  type SnapshotKind,
  type SnapshotOutcome,
  type SyncResult,
} from './evidence';
import {
  bulkTaskQueueOf,
  configQuery,
  connectEventsSignal,
  consentDeniedSignal,
  consentGrantedSignal,
  credentialsUpdatedSignal,
  disconnectSignal,
  searchAttributes,
  statusQuery,
  syncAndWaitUpdate,
  syncNowSignal,
  type AccountInfo,
  type ConnectEvents,
  type ConnectionStatus,
  type Phase,
  type SyncRequest,
} from './messages';
import {
  CONSENT_PROBE_INTERVAL_MS,
  SNAPSHOT_RETRY_MS,
  attentionBackoffMs,
  consentLinkRefreshInMs,
  remintAt,
  syncDelayMs,
} from './schedule';
import { currentDetailsOf } from './summary';

const MINUTE = 60_000;
/**
 * Continue-as-new past this many events, carrying the state. A connection evicted from the worker's workflow cache
 * replays its whole history when it next wakes, at ~0.56 ms an event here (bench/replay.ts), so a short history keeps
 * a bounded cache cheap: ~300 events cap a replay near 170 ms, against ~840 ms at the earlier 1,500.
 */
export const MAX_HISTORY_EVENTS = 300;
/** The cap of runs that passed 300 events before SHORT_HISTORY_PATCH: they replay as they ran. */
const LEGACY_MAX_HISTORY_EVENTS = 1500;
const DEFAULT_BACKFILL_DAYS = 365;
/** Connect envelopes waiting to be stored at most; more are left to the listing (a sync). */
const MAX_EVENT_ENVELOPES = 1000;
const LAST_ERROR_PATCH = 'last-error-search-attribute';
/** Snapshots run from here on; histories recorded before they existed replay without them. */
const SNAPSHOTS_PATCH = 'evidence-snapshots';
const SHORT_HISTORY_PATCH = 'short-histories';
/** A snapshot pass is one activity from here on (one task per pass, not one per kind). */
const SNAPSHOT_PASS_PATCH = 'one-snapshot-activity';
/** The run start's search-attribute check is a local activity from here on (runs before it replay a regular one). */
const LOCAL_ATTRIBUTE_CHECK_PATCH = 'local-attribute-check';
/**
 * Runs from here on: every patch above taken, one marker for them all (each patch call records a marker and upserts
 * TemporalChangeVersion, five per onboarding before); search attributes upserted only when their value changes; and
 * no consent link built for a consent that came with the start. Each upsert is an event and a visibility write.
 */
const LEAN_HISTORY_PATCH = 'lean-history';
/**
 * Runs from here on are lean, and sync envelopes and the snapshots due with them in one activity (syncPass: one
 * workflow task and one activity task fewer per pass, which counts when a thousand connections onboard at once).
 * Asked first, so a new run still records one marker.
 */
const ONE_BULK_PASS_PATCH = 'one-bulk-pass';
/**
 * Runs from here on re-mint while a pass's activity runs, when the token comes due (a large backfill outlasts one):
 * status never shows an expired token, and re-mints do not pile up behind passes. Implies ONE_BULK_PASS_PATCH; asked
 * first, so a new run still records one marker.
 */
const REMINT_DURING_PASS_PATCH = 'remint-during-pass';
/**
 * Runs from here on re-mint a token the connection holds as a local activity, in the workflow task that found it due
 * (the re-mint timer's own, or the one a pass starts in): one workflow task and one activity task fewer per re-mint,
 * so a re-mint during a pass costs no more tasks than deferring it did (bench/README.md). Implies
 * REMINT_DURING_PASS_PATCH; asked first, so a new run still records one marker.
 */
const LOCAL_REMINT_PATCH = 'local-remint';

// Token and account calls are quick; invalid_grant gets a few retries because key or clock fixes propagate.
const AUTH_RETRY = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 };
const auth = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: AUTH_RETRY });
// Re-mints as local activities, with the same retries; every retry waits on a workflow timer (a backoff over the
// threshold does), so a failing re-mint does not hold its workflow task open through the backoff.
const localAuth = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: AUTH_RETRY,
  localRetryThreshold: '1s',
});
// The search-attribute check answers from the worker's cache after its first call: as a local activity (a marker in
// history) it costs a run start no activity task of its own, which counts when a thousand connections start at once
// (onboarding took 5 workflow tasks instead of 6, bench/README.md). A failed check answers false, so retries are for a
// lost worker only.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});
// The sync and the snapshots heartbeat after every page and every 5 s while waiting, so a dead worker is noticed within 10 s and the
// retry resumes from the last stored page. They run on the bulk queue (bulkTaskQueueOf; the proxy is made per run).
// Rate limits retry with the server-given delay (nextRetryDelay); wrong_base_uri and invalid_response need the
// workflow (re-resolve the account / record the error), so they are not retried here.
const BULK_ACTIVITY_OPTIONS = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [...BULK_NON_RETRYABLE_CODES],
  },
} satisfies ActivityOptions;

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
  /** Evidence kinds a request or the schedule asked for and no sync has done yet. */
  owedKinds?: EvidenceKind[];
  /** Epoch ms each snapshot kind is next due (absent: due now). */
  snapshotDueAt?: Partial<Record<SnapshotKind, number>>;
}

export async function docusignConnection(input: ConnectionConfig, carried?: CarriedState): Promise<ConnectionStatus> {
  const localRemint = patched(LOCAL_REMINT_PATCH);
  const remintDuringPass = localRemint || patched(REMINT_DURING_PASS_PATCH);
  const onePass = remintDuringPass || patched(ONE_BULK_PASS_PATCH);
  const lean = onePass || patched(LEAN_HISTORY_PATCH);
  /** An earlier patch: implied by a lean run, asked of the history (as those runs recorded it) otherwise. */
  const since = (patchId: string) => lean || patched(patchId);
  let config = validated(input);
  const sync = proxyActivities<Activities>({
    ...BULK_ACTIVITY_OPTIONS,
    taskQueue: bulkTaskQueueOf(workflowInfo().taskQueue),
  });
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
  let owed = new Set<EvidenceKind>(carried?.owedKinds ?? []);
  const snapshotDueAt: Partial<Record<SnapshotKind, number>> = { ...carried?.snapshotDueAt };
  /** Envelopes Connect events carried, to store without a DocuSign call (idle only; bounded, see the handler). */
  let eventEnvelopes: Record<string, unknown>[] = [];
  /** Sync passes finished in this run: what syncAndWait waits for. */
  let completedRuns = 0;
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
  const requestSync = (request: SyncRequest | undefined) => {
    syncRequested = true;
    for (const kind of request?.kinds ?? EVIDENCE_KINDS) if (isEvidenceKind(kind)) owed.add(kind);
  };
  setHandler(syncNowSignal, requestSync, {
    description:
      'Sync now ({ kinds? }: envelopes and snapshot kinds; absent = all); from needs_attention, one immediate retry.',
  });
  setHandler(
    connectEventsSignal,
    (events: ConnectEvents) => {
      const at = Date.parse(events?.lastEventAt) ? events.lastEventAt : new Date().toISOString();
      const previous = status.connectEvents;
      status.connectEvents = {
        received: (previous?.received ?? 0) + Math.max(1, Math.floor(Number(events?.events) || 1)),
        lastEventAt: previous && Date.parse(previous.lastEventAt) > Date.parse(at) ? previous.lastEventAt : at,
      };
      // Envelopes the events carried are stored as they are (no DocuSign call) while idle; otherwise, or when they
      // did not all come with the envelope, the listing is read now. A webhook is news, not a reason to retry a
      // failing connection: that stays with the backoff and with people.
      const carried = Array.isArray(events?.envelopes) ? events.envelopes : [];
      if (status.phase === 'idle' && carried.length && eventEnvelopes.length + carried.length <= MAX_EVENT_ENVELOPES) {
        eventEnvelopes.push(...carried);
      } else if (status.phase === 'idle' || status.phase === 'syncing' || status.phase === 'authorizing') {
        requestSync({ kinds: ['envelopes'] });
      }
      describeForOperators();
    },
    {
      description:
        'DocuSign Connect events from the connect listener ({ events, envelopeIds, lastEventAt, envelopes? }): store the envelopes they carried, else sync envelopes now; only counted while the connection needs attention or awaits consent.',
    },
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
      const parsed = checkCredentialsUpdate(update);
      if (!parsed.ok) {
        log.warn('credentialsUpdated ignored', { reason: describeIssues(parsed.issues) });
        return;
      }
      const { signedProof, ...credentials } = parsed.value;
      config = validated({ ...config, ...parsed.value });
      // New credentials re-authorize; a new signed-proof policy only needs a pass to apply it to stored envelopes.
      if (signedProof !== undefined && !Object.keys(credentials).length) requestSync({ kinds: ['envelopes'] });
      else credentialsChanged = true;
    },
    {
      description:
        'New references for integrationKey, userId, privateKeyRef or accountId (re-authorize at once), or a new signedProof policy.',
    },
  );
  setHandler(
    syncAndWaitUpdate,
    async (request: SyncRequest) => {
      const target = completedRuns + (status.phase === 'syncing' ? 2 : 1);
      requestSync(request);
      const attentionBefore = status.lastError?.at;
      await condition(
        () =>
          completedRuns >= target ||
          disconnectRequested ||
          (status.phase === 'needs_attention' && status.lastError?.at !== attentionBefore),
      );
      return status;
    },
    {
      description: 'Sync now and return the status once that sync finished or ended in needs_attention.',
      // Rejected before it is accepted (nothing enters history): no sync can run until consent is granted.
      validator: (request: SyncRequest) => {
        const unknown = request?.kinds?.filter((kind) => !isEvidenceKind(kind)) ?? [];
        if (unknown.length)
          throw new Error(`unknown kinds ${unknown.join(', ')}: kinds are ${EVIDENCE_KINDS.join(', ')}`);
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
    index([{ key: searchAttributes.phase, value: phase }]);
    describeForOperators();
  };
  /** Upserts the attributes (a lean run only those whose value changes: the start or the last run may have set them). */
  const index = (pairs: SearchAttributeUpdatePair[]) => {
    const changed = lean ? pairs.filter((pair) => !isIndexed(pair)) : pairs;
    if (changed.length) upsertSearchAttributes(changed);
  };
  const describeForOperators = () => setCurrentDetails(currentDetailsOf(status));
  /** DocuSignLastError is set only where the namespace has it registered (an unknown attribute fails the task). */
  let lastErrorIndexed = false;
  const indexLastError = () => {
    if (lastErrorIndexed) index([{ key: searchAttributes.lastError, value: status.lastError?.code ?? null }]);
  };
  const recordError = (code: ErrorCode, message: string) => {
    status.lastError = { code, message, hint: ERROR_HINTS[code], at: new Date().toISOString() };
    indexLastError();
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

  /** A new token in place of the one the connection holds (the consent probe stays an activity). */
  const remint = () => (localRemint ? localAuth : auth).refreshToken(config);
  /** Whether the token is due for its re-mint now (a pass about to start re-mints first). */
  const tokenDue = () => Date.now() >= remintAt(status.token, Date.now());

  /**
   * Waits for a pass's bulk activity, re-minting whenever the token comes due meanwhile (runs from
   * REMINT_DURING_PASS_PATCH on). A re-mint that fails is left to the pass: its activities mint their own tokens and
   * fail with the cause, and the idle loop re-mints (and routes a failure) after it.
   */
  const remintingWhile = async <T>(activity: Promise<T>): Promise<T> => {
    if (!remintDuringPass) return activity;
    let running = true;
    const done = activity.finally(() => (running = false));
    done.catch(() => undefined); // awaited below: not an unhandled rejection while the re-mints run
    while (!(await condition(() => !running, Math.max(1, remintAt(status.token, Date.now()) - Date.now())))) {
      try {
        status.token = await remint();
        describeForOperators();
      } catch (err) {
        log.warn('re-mint during a pass failed: left to the pass', { error: failureOf(err).message });
        break;
      }
    }
    return done;
  };

  /** A failure of a sync pass: the account moved region (re-resolve it), or the connection's error and phase. */
  const routeFailure = (err: unknown) => {
    const { code, message } = failureOf(err);
    if (code === 'wrong_base_uri') {
      // The account moved region: resolve it again from userinfo, then sync.
      recordError('wrong_base_uri', message);
      syncRequested = true;
      setPhase('authorizing');
    } else {
      setPhase(fail(err));
    }
  };
  /**
   * The envelope sync of a pass, with the snapshot kinds due in runs from ONE_BULK_PASS_PATCH on (one activity); false
   * when it failed (the phase then says what happens next).
   */
  const syncEnvelopesNow = async (kinds: ReadonlySet<EvidenceKind>): Promise<boolean> => {
    const startedAt = new Date().toISOString();
    backfillFrom ??= new Date(Date.parse(startedAt) - DEFAULT_BACKFILL_DAYS * 24 * 60 * MINUTE).toISOString();
    status.lastSync = { startedAt, envelopes: 0, cursor: cursor ?? backfillFrom };
    describeForOperators();
    const due = onePass ? snapshotsDue(kinds) : [];
    try {
      if (tokenDue()) status.token = await remint();
      const account = status.account;
      if (!account) {
        setPhase('authorizing');
        return false;
      }
      const input = { config, account, cursor, backfillFrom, startedAt };
      if (!onePass) {
        recordSync(startedAt, await sync.syncEnvelopes(input));
        return true;
      }
      const { envelopes, snapshots } = await remintingWhile(sync.syncPass({ ...input, snapshotKinds: due }));
      recordSync(startedAt, envelopes);
      for (const outcome of snapshots) recordSnapshot(outcome);
      describeForOperators();
      return true;
    } catch (err) {
      const details = detailsOf(err);
      if (details?.envelopes) {
        // The envelopes were stored; the snapshots after them failed.
        recordSync(startedAt, details.envelopes);
        const passGoesOn = snapshotPassFailed(err, due);
        describeForOperators();
        return passGoesOn;
      }
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
      routeFailure(err);
      return false;
    }
  };
  const recordSync = (startedAt: string, result: SyncResult) => {
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
    if (status.lastError) {
      status.lastError = undefined;
      indexLastError();
    }
    attentionAttempts = 0;
    attentionRetryAt = undefined;
    status.nextSyncAt = new Date(Date.now() + nextSyncDelayMs(config, since)).toISOString();
    index([{ key: searchAttributes.lastSyncAt, value: new Date(result.finishedAt) }]);
  };
  /**
   * A snapshot or proof activity failed: a failure of the connection itself (consent, keys, account, region) is the
   * pass's — routed like an envelope sync's, and undefined returned; any other is that evidence's own.
   */
  const evidenceFailure = (err: unknown): { code: ErrorCode; message: string } | undefined => {
    const failure = failureOf(err);
    if (!CONNECTION_FAILURES.includes(failure.code)) return failure;
    routeFailure(err);
    return undefined;
  };
  /** An evidence kind's own error, as status shows it (and the log, for operators). */
  const evidenceError = (what: string, { code, message }: { code: ErrorCode; message: string }) => {
    log.warn('evidence collection failed', { what, code, message });
    return { code, message, hint: ERROR_HINTS[code], at: new Date().toISOString() };
  };
  const snapshotIsDue = (kind: SnapshotKind) => (snapshotDueAt[kind] ?? 0) <= Date.now();
  /** The snapshot kinds a pass takes: those asked for and those due (none in runs from before snapshots). */
  const snapshotsDue = (kinds: ReadonlySet<EvidenceKind>): SnapshotKind[] => {
    const due = SNAPSHOT_KINDS.filter((kind) => kinds.has(kind) || snapshotIsDue(kind));
    return due.length && since(SNAPSHOTS_PATCH) ? due : [];
  };
  const snapshotIntervalMs = () => (config.snapshotIntervalHours ?? DEFAULT_SNAPSHOT_INTERVAL_HOURS) * 60 * MINUTE;
  const nextSnapshotDue = () => Math.min(...SNAPSHOT_KINDS.map((kind) => snapshotDueAt[kind] ?? 0));
  /** A kind's snapshot taken (next due after the interval) or failed on its own (kept, retried within the hour). */
  const recordSnapshot = (outcome: SnapshotOutcome) => {
    const intervalMs = snapshotIntervalMs();
    const { kind } = outcome;
    if ('failed' in outcome) {
      const lastError = evidenceError(kind, outcome.failed);
      status.evidence = { ...status.evidence, [kind]: { count: 0, ...status.evidence?.[kind], lastError } };
      snapshotDueAt[kind] = Date.now() + Math.min(intervalMs, SNAPSHOT_RETRY_MS);
      return;
    }
    status.evidence = {
      ...status.evidence,
      [kind]: {
        lastSnapshotAt: outcome.takenAt,
        count: outcome.count,
        ...(outcome.changes ? { lastChanges: outcome.changes } : {}),
      },
    };
    snapshotDueAt[kind] = Date.now() + intervalMs;
  };
  /**
   * The snapshots of a pass: the kinds asked for and the kinds due, in one activity. A kind that fails for its own
   * reasons (a rate limit, DocuSign unavailable, a refused request) keeps its last snapshot, shows the error and is
   * retried later without holding up the rest; a failure of the connection itself (consent, keys, account) is the
   * pass's failure.
   */
  const takeSnapshots = async (kinds: ReadonlySet<EvidenceKind>): Promise<boolean> => {
    const due = snapshotsDue(kinds);
    if (!due.length) return true;
    try {
      if (tokenDue()) status.token = await remint();
    } catch (err) {
      routeFailure(err);
      return false;
    }
    const account = status.account;
    if (!account) {
      setPhase('authorizing');
      return false;
    }
    if (!since(SNAPSHOT_PASS_PATCH)) return takeSnapshotsOneByOne(due, account);
    try {
      const takenAt = new Date().toISOString();
      const outcomes = await remintingWhile(sync.takeSnapshots({ config, account, kinds: due, takenAt }));
      for (const outcome of outcomes) recordSnapshot(outcome);
    } catch (err) {
      if (!snapshotPassFailed(err, due)) return false;
    }
    describeForOperators();
    return true;
  };
  /**
   * A failed snapshot pass: the kinds done before the failure (they come with it) are recorded, the rest get its
   * error; false when it is the connection's failure (routed: the pass ends).
   */
  const snapshotPassFailed = (err: unknown, due: SnapshotKind[]): boolean => {
    const done = detailsOf(err)?.snapshots ?? [];
    for (const outcome of done) recordSnapshot(outcome);
    const failed = evidenceFailure(err);
    if (!failed) return false;
    for (const kind of due) if (!done.some((o) => o.kind === kind)) recordSnapshot({ kind, failed });
    return true;
  };
  /** A snapshot pass as runs recorded before SNAPSHOT_PASS_PATCH took it: one activity per kind. */
  const takeSnapshotsOneByOne = async (due: SnapshotKind[], account: AccountInfo) => {
    for (const kind of due) {
      try {
        recordSnapshot(await sync.takeSnapshot({ config, account, kind, takenAt: new Date().toISOString() }));
      } catch (err) {
        const failed = evidenceFailure(err);
        if (!failed) return false;
        recordSnapshot({ kind, failed });
      }
      describeForOperators();
    }
    return true;
  };

  /**
   * Signed proof after the envelopes (and the snapshots): it spends only the budget they left. A failure of its own
   * shows on `evidence.signedProof` and is retried by the next pass; a failure of the connection is the pass's.
   */
  const collectProofNow = async (): Promise<boolean> => {
    const account = status.account;
    if (!config.signedProof || config.signedProof === 'none' || !account) return true;
    try {
      const { collected, pending, failed } = await remintingWhile(sync.collectProof({ config, account }));
      status.evidence = { ...status.evidence, signedProof: { collected, pending, failed } };
    } catch (err) {
      const failed = evidenceFailure(err);
      if (!failed) return false;
      const lastError = evidenceError('signedProof', failed);
      const previous = status.evidence?.signedProof ?? { collected: 0, pending: 0, failed: 0 };
      status.evidence = { ...status.evidence, signedProof: { ...previous, lastError } };
    }
    describeForOperators();
    return true;
  };

  /**
   * Stores the envelopes Connect events carried (no DocuSign call), then collects proof for the completed ones. Any
   * that did not validate, or a failure to store, leaves it to the listing: a sync is requested instead.
   */
  const storeEventEnvelopesNow = async () => {
    const envelopes = eventEnvelopes;
    eventEnvelopes = [];
    try {
      const result = await auth.storeEventEnvelopes({ connectionId: config.connectionId, envelopes });
      status.totals = { ...status.totals, envelopes: result.totalStored };
      if (result.rejected) requestSync({ kinds: ['envelopes'] });
      else if (result.completed) await collectProofNow();
    } catch (err) {
      log.warn('Connect envelopes not stored: syncing instead', { error: failureOf(err).message });
      requestSync({ kinds: ['envelopes'] });
    }
    describeForOperators();
  };

  index([
    { key: searchAttributes.connectionId, value: config.connectionId },
    { key: searchAttributes.environment, value: config.environment },
  ]);
  setPhase(status.phase);
  // Runs recorded before DocuSignLastError existed replay without the check.
  if (since(LAST_ERROR_PATCH)) {
    const check = since(LOCAL_ATTRIBUTE_CHECK_PATCH) ? local : auth;
    lastErrorIndexed = await check.searchAttributeRegistered(searchAttributes.lastError.name);
    indexLastError();
  }

  // ---- the lifecycle ----
  while (!disconnectRequested) {
    if (historyIsLong(since)) {
      await condition(allHandlersFinished);
      if (eventEnvelopes.length) requestSync({ kinds: ['envelopes'] }); // not carried: the listing reads them
      const next: CarriedState = {
        status,
        cursor,
        backfillFrom,
        attentionAttempts,
        attentionRetryAt,
        syncRequested,
        credentialsChanged,
        owedKinds: [...owed],
        snapshotDueAt,
      };
      await continueAsNew<typeof docusignConnection>(config, next);
    }
    switch (status.phase) {
      case 'awaiting_consent': {
        status.nextSyncAt = undefined;
        const answered = () =>
          consentGranted || consentDenied !== undefined || credentialsChanged || disconnectRequested;
        // A consent that came with the start (signalWithStart) needs no link and no wait.
        const answeredAtOnce = lean && answered();
        if (!answeredAtOnce && consentLinkDue()) await refreshConsentLink();
        const refreshIn = consentLinkRefreshInMs(status.consentUrlExpiresAt, Date.now());
        const woke =
          answeredAtOnce ||
          (await condition(
            answered,
            refreshIn === undefined
              ? CONSENT_PROBE_INTERVAL_MS
              : Math.max(1, Math.min(refreshIn, CONSENT_PROBE_INTERVAL_MS)),
          ));
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
        // A pass with nothing owed (entered before kinds existed) syncs envelopes, as every pass once did.
        const kinds: ReadonlySet<EvidenceKind> = owed.size ? owed : new Set(['envelopes']);
        owed = new Set();
        if (kinds.has('envelopes') && !(await syncEnvelopesNow(kinds))) break;
        // Runs before ONE_BULK_PASS_PATCH take the snapshots after the sync, in an activity of their own.
        if (!(onePass && kinds.has('envelopes')) && !(await takeSnapshots(kinds))) break;
        if (kinds.has('envelopes') && !(await collectProofNow())) break;
        completedRuns += 1;
        setPhase('idle');
        break;
      }

      case 'idle': {
        const nextSyncAt = Date.parse(status.nextSyncAt ?? new Date().toISOString());
        const remintDue = remintAt(status.token, Date.now());
        // Histories from before snapshots existed replay without their wake-ups.
        const snapshotsOn = since(SNAPSHOTS_PATCH);
        const snapshotDue = snapshotsOn ? nextSnapshotDue() : Infinity;
        const wakeAt = Math.min(nextSyncAt, remintDue, snapshotDue);
        // (condition's timeout must be > 0: a zero timeout means "no timeout")
        if (wakeAt > Date.now()) {
          await condition(
            () => syncRequested || credentialsChanged || disconnectRequested || eventEnvelopes.length > 0,
            wakeAt - Date.now(),
          );
        }
        if (disconnectRequested) break;
        if (credentialsChanged) {
          setPhase('authorizing');
        } else if (eventEnvelopes.length && !syncRequested) {
          await storeEventEnvelopesNow();
        } else if (syncRequested || Date.now() >= nextSyncAt || Date.now() >= snapshotDue) {
          if (Date.now() >= nextSyncAt) owed.add('envelopes');
          if (snapshotsOn) for (const kind of SNAPSHOT_KINDS) if (snapshotIsDue(kind)) owed.add(kind);
          setPhase('syncing');
        } else if (Date.now() >= remintDue) {
          try {
            status.token = await remint();
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
        if (woke && syncRequested && !credentialsChanged && since('attention-sync-request-consumed')) {
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

/** Asks whether a run takes an earlier patch (see LEAN_HISTORY_PATCH). */
type Since = (patchId: string) => boolean;

function nextSyncDelayMs(config: ConnectionConfig, since: Since): number {
  // Workflow Math.random is seeded per run, so replays agree. Histories from before the jitter replay without it.
  return since('sync-schedule-jitter') ? syncDelayMs(config, Math.random()) : syncDelayMs(config, 0);
}

function historyIsLong(since: Since): boolean {
  const info = workflowInfo();
  if (info.continueAsNewSuggested) return true;
  if (info.historyLength <= MAX_HISTORY_EVENTS) return false;
  return since(SHORT_HISTORY_PATCH) || info.historyLength > LEGACY_MAX_HISTORY_EVENTS;
}

/** The run's search attribute already has this value (null: it is unset). */
function isIndexed({ key, value }: SearchAttributeUpdatePair): boolean {
  const current: unknown = workflowInfo().typedSearchAttributes.get(key);
  if (value === null) return current === undefined;
  if (value instanceof Date) return current instanceof Date && current.getTime() === value.getTime();
  return current === value;
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
