/**
 * The envelope sync: Envelopes:listStatusChanges from the connection's cursor into the evidence store, page by page.
 *
 * - `to_date` is fixed when the run starts, so the window is stable; `from_date` overlaps the cursor a little.
 * - The first sync backfills from `backfillFrom` in bounded windows.
 * - Each page is validated, then stored together with the position it leads to (the store's sync checkpoint), then
 *   that position is heartbeated. A retried attempt resumes from the checkpoint, or the heartbeat if that is further
 *   on, so a killed worker re-fetches at most one page even when its last heartbeats never reached Temporal.
 *   The returned cursor only covers stored pages.
 * - If the result set shifts between pages (an envelope changed and left the window), offset paging would skip one:
 *   the window restarts from the high-water mark instead.
 * - Rate limits: a reserve of the hourly budget is left for the account's other apps; at a limit no further call is
 *   made before the reset (short waits here, long ones by failing with nextRetryDelay so the worker slot is freed).
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import type { AccountInfo } from '../workflows/messages';
import type { ConnectionConfig } from '../workflows/config';
import type { DocuSignClient, Envelope, RateLimitSnapshot } from './docusign';
import { ConnectorError, toApplicationFailure } from './errors';
import type { EnvelopeRecord, EvidenceStore } from './store/types';
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

export interface SyncResult {
  cursor: string;
  /** Distinct envelopes whose record this sync created or changed. */
  envelopes: number;
  pages: number;
  totalStored: number;
  finishedAt: string;
}

/** The heartbeat: where a retried attempt resumes. */
export interface SyncProgress {
  toDate: string;
  /** Start of the window being worked on. */
  windowStart: string;
  /** Absolute URL of the next page of that window; absent at a window's first page. */
  nextUrl?: string;
  /** Latest statusChangedDateTime stored so far (every earlier change is stored). */
  highWater?: string;
  /** totalSetSize the window reported; a change means the result set shifted. */
  windowTotal?: number;
  pages: number;
  rateLimit?: RateLimitSnapshot;
}

export interface SyncOptions {
  pageSize: number;
  backfillWindowDays: number;
  overlapMs: number;
  /** Share of the hourly budget left for other apps on the account. */
  reservePercent: number;
  /** Waits up to this long happen inside the activity; longer ones free the worker slot. */
  maxInlineWaitMs: number;
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
};

const DAY_MS = 86_400_000;
const HEARTBEAT_EVERY_MS = 5_000;

export async function syncEnvelopes(
  deps: { docusign: DocuSignClient; tokens: TokenService; store: EvidenceStore; options: SyncOptions },
  input: SyncInput,
): Promise<SyncResult> {
  const { docusign, tokens, store, options } = deps;
  const ctx = Context.current();
  const { connectionId } = input.config;
  // One sync across its retries: this activity of this workflow run (startedAt, decided by the workflow, as well).
  const syncId = `${ctx.info.workflowExecution?.runId ?? ''}/${ctx.info.activityId}/${input.startedAt}`;
  const resumed = await resumePoint(store, connectionId, syncId, ctx.info.heartbeatDetails as SyncProgress | undefined);
  if (resumed) {
    ctx.log.info('sync resumes', {
      connectionId,
      from: resumed.from,
      pagesDone: resumed.progress.pages,
      attempt: ctx.info.attempt,
    });
  }
  const toDate = resumed?.progress.toDate ?? new Date(options.now()).toISOString();
  const fromDate = input.cursor
    ? new Date(Date.parse(input.cursor) - options.overlapMs).toISOString()
    : input.backfillFrom;
  const progress: SyncProgress = resumed?.progress ?? { toDate, windowStart: fromDate, pages: 0 };
  const restBase = `${input.account.baseUri.replace(/\/+$/, '')}/restapi`;

  // A ticker keeps heartbeats flowing during slow calls and waits, so a short heartbeat timeout detects a dead worker.
  const ticker = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
  try {
    while (Date.parse(progress.windowStart) < Date.parse(toDate)) {
      const windowEnd = new Date(
        Math.min(Date.parse(progress.windowStart) + options.backfillWindowDays * DAY_MS, Date.parse(toDate)),
      ).toISOString();
      const firstPageFrom = (from: string) => firstPageUrl(restBase, input.account.accountId, from, windowEnd, options);
      do {
        // Worker shutdown or workflow cancellation: stop between pages; the checkpoint says where to resume.
        if (ctx.cancellationSignal.aborted) await ctx.cancelled;
        await respectRateLimit(progress.rateLimit, options, docusign.burstRetryMs, ctx);
        const url = progress.nextUrl ?? firstPageFrom(progress.windowStart);
        const { page, rateLimit } = await tokens.withToken(input.config, (token) => docusign.listEnvelopes(url, token));
        const envelopes = page.envelopes ?? [];
        const next = { ...advance(progress, page, windowEnd, restBase, firstPageFrom), rateLimit };
        const syncedAt = new Date(options.now()).toISOString();
        await store.writePage(
          connectionId,
          envelopes.map((e) => recordOf(connectionId, e, syncedAt)),
          { syncId, progress: next },
        );
        options.onPage?.(envelopes.length);
        Object.assign(progress, next);
        ctx.heartbeat(progress);
      } while (progress.windowStart !== windowEnd);
    }
    return {
      cursor: toDate,
      envelopes: await store.countChangedSince(connectionId, input.startedAt),
      pages: progress.pages,
      totalStored: await store.count(connectionId),
      finishedAt: new Date(options.now()).toISOString(),
    };
  } catch (err) {
    if (err instanceof CancelledFailure) throw err;
    // The cursor this attempt's stored pages justify travels with the failure, so nothing stored is fetched again.
    throw toApplicationFailure(err, progressCursor(progress, input.cursor));
  } finally {
    clearInterval(ticker);
  }
}

/** Where an attempt starts: the store's checkpoint of this sync or the last heartbeat, whichever got further. */
async function resumePoint(
  store: EvidenceStore,
  connectionId: string,
  syncId: string,
  heartbeat: SyncProgress | undefined,
): Promise<{ progress: SyncProgress; from: 'checkpoint' | 'heartbeat' } | undefined> {
  const saved = await store.readCheckpoint(connectionId);
  const checkpoint = saved?.syncId === syncId ? (saved.progress as unknown as SyncProgress) : undefined;
  if (checkpoint && typeof checkpoint.pages === 'number' && !(heartbeat && heartbeat.pages > checkpoint.pages)) {
    return { progress: checkpoint, from: 'checkpoint' };
  }
  return heartbeat && { progress: heartbeat, from: 'heartbeat' };
}

/**
 * The position after a page: the next page of the window, the next window, or (if the result set shifted under the
 * offsets) the rest of the window re-queried from the last mark known complete. The window itself (its start, hence
 * its end) only changes when it is done, so an attempt resuming mid-window ends it where the first attempt would.
 */
function advance(
  progress: SyncProgress,
  page: { envelopes?: Envelope[] | null; nextUri?: string | null; totalSetSize?: number },
  windowEnd: string,
  restBase: string,
  firstPageFrom: (from: string) => string,
): SyncProgress {
  const next: SyncProgress = { ...progress, pages: progress.pages + 1 };
  if (progress.windowTotal !== undefined && page.totalSetSize !== progress.windowTotal) {
    // An envelope may have slid back onto a page already read: restart from before this page.
    const from = maxTime(progress.windowStart, progress.highWater) ?? progress.windowStart;
    return { ...next, nextUrl: firstPageFrom(from), windowTotal: undefined };
  }
  next.highWater = maxTime(progress.highWater, ...(page.envelopes ?? []).map((e) => e.statusChangedDateTime));
  if (!page.nextUri) {
    // The window's last page: "window done" is saved with it, so a kill right after it does not re-fetch the window.
    return { ...next, windowStart: windowEnd, nextUrl: undefined, windowTotal: undefined };
  }
  return { ...next, nextUrl: `${restBase}/v2.1${page.nextUri}`, windowTotal: page.totalSetSize };
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

/** Stop before the reserve; at an exhausted limit make no call before the reset. */
async function respectRateLimit(
  rate: RateLimitSnapshot | undefined,
  options: SyncOptions,
  burstWaitMs: number,
  ctx: Context,
): Promise<void> {
  if (!rate) return;
  let waitMs = 0;
  const reserve = rate.hourlyLimit !== undefined ? Math.ceil((rate.hourlyLimit * options.reservePercent) / 100) : 0;
  if (rate.hourlyRemaining !== undefined && rate.hourlyRemaining <= reserve && rate.hourlyResetAt !== undefined) {
    waitMs = Math.max(waitMs, rate.hourlyResetAt - options.now());
  }
  if (rate.burstRemaining !== undefined && rate.burstRemaining <= 0) waitMs = Math.max(waitMs, burstWaitMs);
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

/** Latest of ISO timestamps (DocuSign's 7-digit fractions compare correctly as instants via normalised strings). */
function maxTime(...times: (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const t of times) if (t !== undefined && (best === undefined || instant(t) > instant(best))) best = t;
  return best;
}

function instant(t: string): string {
  const ms = Date.parse(t);
  const fraction = /\.(\d+)/.exec(t)?.[1] ?? '';
  // Millisecond instant plus the sub-millisecond digits, zero-padded: sortable as a string.
  return `${String(ms).padStart(15, '0')}.${fraction.slice(3).padEnd(7, '0')}`;
}

function progressCursor(progress: SyncProgress, previous: string | undefined): { progressCursor?: string } {
  const candidate = progress.highWater;
  if (!candidate) return {};
  return { progressCursor: maxTime(previous, candidate) ?? candidate };
}
