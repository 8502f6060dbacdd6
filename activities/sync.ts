/**
 * The envelope sync: Envelopes:listStatusChanges from the connection's cursor into the evidence store, page by page
 * (its I/O; the position and how it moves, as pure functions: sync-progress.ts).
 *
 * - `to_date` is fixed when the run starts, so the window is stable; `from_date` overlaps the cursor a little.
 * - The first sync backfills from `backfillFrom` in bounded windows.
 * - Each page is validated, then stored together with the position it leads to (the store's sync checkpoint), then
 *   that position is heartbeated; the next page is fetched while one is stored. A retried attempt resumes from the
 *   checkpoint, or the heartbeat if that is further on, so a killed worker re-fetches at most two pages (the one being
 *   stored and the one in flight) even when its last heartbeats never reached Temporal. The returned cursor only
 *   covers stored pages.
 * - If the result set shifts between pages (an envelope changed and left the window), offset paging would skip one:
 *   the window restarts from the high-water mark instead. Paging follows DocuSign's counts, not only `nextUri`
 *   (docusign-api.md §10: it may be missing while more remain).
 * - An envelope that fails validation in an otherwise valid page is quarantined (kept raw with the reason) before the
 *   page and its checkpoint are stored, so the cursor may pass it without losing it. Each sync first fetches the
 *   quarantined envelopes again by ID (the windows have moved past them): the valid ones are stored and released.
 *   Once per sync is within DocuSign's polling rule (one status request per envelope per 15 minutes).
 * - Rate limits: a reserve of the hourly budget is left for the account's other apps; at a limit no further call is
 *   made before the reset (short waits here, long ones by failing with nextRetryDelay so the worker slot is freed).
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { setImmediate } from 'node:timers/promises';
import type { AccountInfo } from '../workflows/messages';
import type { ConnectionConfig } from '../workflows/config';
import type { SyncResult } from '../workflows/evidence';
import {
  checkEnvelope,
  nextPageUrl,
  type DocuSignClient,
  type Envelope,
  type EnvelopesPage,
  type RateLimitSnapshot,
} from './docusign';
import { ConnectorError, toApplicationFailure } from './errors';
import { instantKey } from './store/identity';
import type { EnvelopeRecord, EvidenceStore } from './store/types';
import { advance, progressCursor, resumePoint, syncStart, windowEndOf, type SyncProgress } from './sync-progress';
import type { TokenService } from './tokens';

export interface SyncInput {
  config: ConnectionConfig;
  account: AccountInfo;
  /** Everything that changed before this instant is stored; undefined before the first sync. */
  cursor?: string;
  backfillFrom: string;
  /** Decided by the workflow, so retries agree on it; versions stored from then on count as this sync's. */
  startedAt: string;
}

export interface EventEnvelopesInput {
  connectionId: string;
  /** The envelope objects DocuSign Connect events carried (each event's envelopeSummary, with its envelopeId). */
  envelopes: Record<string, unknown>[];
}

export interface EventEnvelopesResult {
  /** Distinct envelopes whose record this created or changed. */
  stored: number;
  /** Envelopes that did not validate: left to the listing, which quarantines what stays invalid. */
  rejected: number;
  /** Completed envelopes among those stored: their signed proof is due. */
  completed: number;
  totalStored: number;
}

export interface SyncOptions {
  pageSize: number;
  backfillWindowDays: number;
  overlapMs: number;
  /** Share of the hourly budget left for other apps on the account. */
  reservePercent: number;
  /** Waits up to this long happen inside the activity; longer ones free the worker slot. */
  maxInlineWaitMs: number;
  /** Heartbeats keep flowing this often during slow calls and waits, so a short heartbeat timeout finds a dead worker. */
  heartbeatEveryMs: number;
  now: () => number;
  /** Called once per stored page (metrics). */
  onPage?: (stored: number) => void;
}

export const DEFAULT_SYNC_OPTIONS: Omit<SyncOptions, 'now'> = {
  pageSize: 100,
  backfillWindowDays: 180,
  overlapMs: 10 * 60_000,
  reservePercent: 10,
  maxInlineWaitMs: 60_000,
  heartbeatEveryMs: 5_000,
};

export async function syncEnvelopes(
  deps: { docusign: DocuSignClient; tokens: TokenService; store: EvidenceStore; options: SyncOptions },
  input: SyncInput,
): Promise<SyncResult> {
  const { docusign, tokens, store, options } = deps;
  const ctx = Context.current();
  const { connectionId } = input.config;
  // One sync across its retries: this activity of this workflow run (startedAt, decided by the workflow, as well).
  const syncId = `${ctx.info.workflowExecution?.runId ?? ''}/${ctx.info.activityId}/${input.startedAt}`;
  const restBase = `${input.account.baseUri.replace(/\/+$/, '')}/restapi`;
  // Known once the resume point is read: the ticker heartbeats it, a failure reports the cursor it justifies.
  let progress: SyncProgress | undefined;
  // Never before the resume point is known: an empty heartbeat would erase the last attempt's position.
  const ticker = setInterval(() => {
    if (progress) ctx.heartbeat(progress);
  }, options.heartbeatEveryMs);
  try {
    const resumed = resumePoint(await store.readCheckpoint(connectionId), syncId, ctx.info.heartbeatDetails);
    if (resumed) {
      ctx.log.info('sync resumes', {
        connectionId,
        from: resumed.from,
        pagesDone: resumed.progress.pages,
        attempt: ctx.info.attempt,
      });
    }
    const toDate = resumed?.progress.toDate ?? new Date(options.now()).toISOString();
    const current: SyncProgress = resumed?.progress ?? {
      toDate,
      windowStart: syncStart(input.cursor, input.backfillFrom, options.overlapMs),
      pages: 0,
    };
    progress = current;

    /** One list call, after any rate-limit wait; worker shutdown or cancellation stops the sync between calls. */
    const fetchPage = async (url: string): Promise<EnvelopesPage> => {
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;
      const budget = docusign.lastRateLimit(input.account.accountId) ?? current.rateLimit;
      await respectRateLimit(budget, options, docusign.burstRetryMs, ctx);
      const { page, rateLimit } = await tokens.withToken(input.config, (token) => docusign.listEnvelopes(url, token));
      current.rateLimit = rateLimit;
      return page;
    };
    /** Quarantines a page's rejected envelopes (first: so nothing saved after them can claim to have passed them). */
    const quarantine = async (page: EnvelopesPage, at: string): Promise<void> => {
      if (!page.rejected.length) return;
      await store.quarantine(
        connectionId,
        page.rejected.map(({ envelopeId, reason, envelope }) => ({
          connectionId,
          envelopeId,
          reason,
          quarantinedAt: at,
          envelope,
        })),
      );
      ctx.log.warn('envelopes quarantined', {
        connectionId,
        envelopes: page.rejected.map(({ envelopeId, reason }) => ({ envelopeId, reason })),
      });
    };

    // What earlier syncs quarantined, fetched again by ID: the cursor has passed them, so no window would.
    const held = (await store.listQuarantined(connectionId)).map((q) => q.envelopeId);
    for (let i = 0; i < held.length; i += options.pageSize) {
      let url: string | undefined = byIdsUrl(restBase, input.account.accountId, held.slice(i, i + options.pageSize));
      while (url) {
        const page = await fetchPage(url);
        const syncedAt = new Date(options.now()).toISOString();
        await quarantine(page, syncedAt);
        // Stored before released: a crash in between leaves it quarantined, to be fetched again. One an ID query
        // no longer returns stays quarantined too: never dropped unseen.
        await store.writePage(
          connectionId,
          page.envelopes.map((e) => recordOf(connectionId, e, syncedAt)),
        );
        await store.release(
          connectionId,
          page.envelopes.map((e) => e.envelopeId),
        );
        options.onPage?.(page.envelopes.length);
        url = nextPageUrl(url, page, restBase);
      }
    }

    /** The page at a position, and the position after it; a window keeps its end until its last page moves past it. */
    const fetchAt = async (at: SyncProgress): Promise<{ page: EnvelopesPage; next: SyncProgress }> => {
      const windowEnd = windowEndOf(at.windowStart, toDate, options.backfillWindowDays);
      const firstPageFrom = (from: string) => firstPageUrl(restBase, input.account.accountId, from, windowEnd, options);
      const url = at.nextUrl ?? firstPageFrom(at.windowStart);
      const page = await fetchPage(url);
      return { page, next: advance(at, url, page, windowEnd, restBase, firstPageFrom) };
    };
    const hasMore = (at: SyncProgress) => Date.parse(at.windowStart) < Date.parse(toDate);

    // Pipelined: while a page is stored, the next one is fetched (still one DocuSign call at a time). The checkpoint
    // and heartbeat only ever name stored pages, so a kill re-fetches at most the page being stored and the one in
    // flight.
    let fetching = hasMore(current) ? fetchAt({ ...current }) : undefined;
    while (fetching) {
      const { page, next } = await fetching;
      fetching = hasMore(next) ? fetchAt(next) : undefined;
      // A failed store is the error to report; the fetch in flight is abandoned (its failure, if any, is moot).
      fetching?.catch(() => undefined);
      // got puts the request on the wire a few ticks after it is made; storing first (validation and serialisation are
      // synchronous) held it back behind the page's store, so the two did not overlap (bench/README.md, goal 3).
      await setImmediate();
      const syncedAt = new Date(options.now()).toISOString();
      await quarantine(page, syncedAt);
      await store.writePage(
        connectionId,
        page.envelopes.map((e) => recordOf(connectionId, e, syncedAt)),
        { syncId, progress: { ...next, rateLimit: current.rateLimit } },
      );
      options.onPage?.(page.envelopes.length);
      // The newest budget is the one the fetch in flight may have just read, not the one `next` was built with.
      Object.assign(current, next, { rateLimit: current.rateLimit });
      ctx.heartbeat(current);
    }
    return {
      cursor: toDate,
      envelopes: await store.countChangedSince(connectionId, input.startedAt),
      pages: current.pages,
      totalStored: await store.count(connectionId),
      quarantined: await store.countQuarantined(connectionId),
      finishedAt: new Date(options.now()).toISOString(),
    };
  } catch (err) {
    if (err instanceof CancelledFailure) throw err;
    // The cursor this attempt's stored pages justify travels with the failure, so nothing stored is fetched again.
    throw toApplicationFailure(err, progress ? progressCursor(progress, input.cursor) : {});
  } finally {
    clearInterval(ticker);
  }
}

function firstPageUrl(restBase: string, accountId: string, from: string, to: string, options: SyncOptions): string {
  const query = new URLSearchParams({
    from_date: from,
    to_date: to,
    status: 'any',
    from_to_status: 'changed',
    order_by: 'status_changed',
    order: 'asc',
    include: 'recipients',
    count: String(options.pageSize),
    start_position: '0',
  });
  return `${restBase}/v2.1/accounts/${encodeURIComponent(accountId)}/envelopes?${query.toString()}`;
}

/**
 * How long to wait before the next call, from the last response's rate-limit headers: until the hourly reset once the
 * budget is down to the reserve, the burst window once that is spent, 0 (or less) when a call may go now.
 */
export function rateLimitWaitMs(
  rate: RateLimitSnapshot | undefined,
  options: Pick<SyncOptions, 'reservePercent' | 'now'>,
  burstWaitMs: number,
): number {
  if (!rate) return 0;
  let waitMs = 0;
  const reserve = rate.hourlyLimit !== undefined ? Math.ceil((rate.hourlyLimit * options.reservePercent) / 100) : 0;
  // An absent count is no limit.
  if ((rate.hourlyRemaining ?? Infinity) <= reserve && rate.hourlyResetAt !== undefined) {
    waitMs = Math.max(waitMs, rate.hourlyResetAt - options.now());
  }
  if ((rate.burstRemaining ?? Infinity) <= 0) waitMs = Math.max(waitMs, burstWaitMs);
  return waitMs;
}

/** Stop before the reserve; at an exhausted limit make no call before the reset. */
export async function respectRateLimit(
  rate: RateLimitSnapshot | undefined,
  options: Pick<SyncOptions, 'reservePercent' | 'maxInlineWaitMs' | 'now'>,
  burstWaitMs: number,
  ctx: Context,
): Promise<void> {
  const waitMs = rateLimitWaitMs(rate, options, burstWaitMs);
  if (waitMs <= 0) return;
  if (waitMs > options.maxInlineWaitMs) {
    throw new ConnectorError(
      'rate_limited',
      `DocuSign hourly budget down to its reserve; waiting ${Math.ceil(waitMs / 1000)} s for the reset`,
      {
        reason: 'reserve_reached',
        retryAfterMs: waitMs,
      },
    );
  }
  await ctx.sleep(waitMs);
}

/** Envelopes:listStatusChanges for given envelope IDs (docusign-api.md §3.1: envelope_ids needs no from_date). */
function byIdsUrl(restBase: string, accountId: string, envelopeIds: string[]): string {
  const query = new URLSearchParams({
    envelope_ids: envelopeIds.join(','),
    include: 'recipients',
    count: String(envelopeIds.length),
    start_position: '0',
  });
  return `${restBase}/v2.1/accounts/${encodeURIComponent(accountId)}/envelopes?${query.toString()}`;
}

/**
 * Stores the envelopes Connect events carried, checked as a listing's items are, as versions: idempotent, so the
 * next listing finds them unchanged. No DocuSign call, and the cursor is untouched: only a listing moves it, so an
 * event never stands in for what the poll must still read. Of several events for one envelope the newest is kept,
 * as a listing would show it.
 */
export async function storeEventEnvelopes(
  store: EvidenceStore,
  input: EventEnvelopesInput,
  now: () => number,
): Promise<EventEnvelopesResult> {
  const syncedAt = new Date(now()).toISOString();
  const newest = new Map<string, EnvelopeRecord>();
  let rejected = 0;
  for (const item of input.envelopes) {
    const checked = checkEnvelope(item);
    if (!('envelope' in checked)) {
      rejected++;
      continue;
    }
    const record = recordOf(input.connectionId, checked.envelope, syncedAt);
    const held = newest.get(record.envelopeId);
    if (!held || instantKey(record.statusChangedDateTime)! > instantKey(held.statusChangedDateTime)!) {
      newest.set(record.envelopeId, record);
    }
  }
  const records = [...newest.values()];
  const changed = new Set(records.length ? (await store.writePage(input.connectionId, records)).changed : []);
  return {
    stored: changed.size,
    rejected,
    completed: records.filter((r) => changed.has(r.envelopeId) && r.status === 'completed').length,
    totalStored: await store.count(input.connectionId),
  };
}

/** The record of one envelope; the envelope object itself is DocuSign's, untouched. */
function recordOf(connectionId: string, envelope: Envelope, syncedAt: string): EnvelopeRecord {
  return {
    connectionId,
    envelopeId: envelope.envelopeId,
    status: envelope.status,
    statusChangedDateTime: envelope.statusChangedDateTime,
    syncedAt,
    envelope,
  };
}
