/**
 * The sync's position and how it moves, as pure functions of what DocuSign and the store said (sync.ts does the I/O):
 * where an attempt starts, where each page leads, and the cursor that stored pages justify.
 */
import { nextPageUrl, type EnvelopesPage, type RateLimitSnapshot } from './docusign';
import { instantKey } from './store/identity';
import type { SyncCheckpoint } from './store/types';

/** The heartbeat, and the store's checkpoint: where a retried attempt resumes. */
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

export interface ResumePoint {
  progress: SyncProgress;
  from: 'checkpoint' | 'heartbeat';
}

/**
 * Where an attempt starts: the store's checkpoint of this sync or the last heartbeat, whichever got further (the last
 * heartbeats of a worker that died may never have reached Temporal; a checkpoint is never ahead of stored pages).
 * A checkpoint of another sync is ignored, and so is a heartbeat that is not a sync position (in a sync pass the
 * snapshots after the sync heartbeat their own). Undefined: a first attempt, from the input.
 */
export function resumePoint(
  saved: SyncCheckpoint | undefined,
  syncId: string,
  lastHeartbeat: unknown,
): ResumePoint | undefined {
  const checkpoint = saved?.syncId === syncId ? (saved.progress as unknown as SyncProgress) : undefined;
  const heartbeat = isSyncProgress(lastHeartbeat) ? lastHeartbeat : undefined;
  if (checkpoint && typeof checkpoint.pages === 'number' && !(heartbeat && heartbeat.pages > checkpoint.pages)) {
    return { progress: checkpoint, from: 'checkpoint' };
  }
  return heartbeat && { progress: heartbeat, from: 'heartbeat' };
}

function isSyncProgress(value: unknown): value is SyncProgress {
  const progress = value as Partial<SyncProgress> | null | undefined;
  return (
    typeof progress?.toDate === 'string' &&
    typeof progress.windowStart === 'string' &&
    typeof progress.pages === 'number'
  );
}

/**
 * Where a first attempt starts: the previous cursor less the overlap (DocuSign's clock may run behind the worker's,
 * and a change may be listed later than it is stamped), or the backfill start before the first sync.
 */
export function syncStart(cursor: string | undefined, backfillFrom: string, overlapMs: number): string {
  return cursor ? new Date(Date.parse(cursor) - overlapMs).toISOString() : backfillFrom;
}

/** The end of the window that starts at `windowStart`: at most `days` long, never past `toDate`. */
export function windowEndOf(windowStart: string, toDate: string, days: number): string {
  return new Date(Math.min(Date.parse(windowStart) + days * 86_400_000, Date.parse(toDate))).toISOString();
}

/**
 * The position after a page: the next page of the window, the next window, or (if the result set shifted under the
 * offsets) the rest of the window re-queried from the last mark known complete. The window itself (its start, hence
 * its end) only changes when it is done, so an attempt resuming mid-window ends it where the first attempt would.
 */
export function advance(
  progress: SyncProgress,
  url: string,
  page: EnvelopesPage,
  windowEnd: string,
  restBase: string,
  firstPageFrom: (from: string) => string,
): SyncProgress {
  const next: SyncProgress = { ...progress, pages: progress.pages + 1 };
  if (progress.windowTotal !== undefined && page.totalSetSize !== progress.windowTotal) {
    // An envelope may have slid back onto a page already read: restart from before this page.
    const from = latestInstant(progress.windowStart, progress.highWater) ?? progress.windowStart;
    return { ...next, nextUrl: firstPageFrom(from), windowTotal: undefined };
  }
  next.highWater = latestInstant(progress.highWater, ...page.envelopes.map((e) => e.statusChangedDateTime));
  const nextUrl = nextPageUrl(url, page, restBase);
  if (!nextUrl) {
    // The window's last page: "window done" is saved with it, so a kill right after it does not re-fetch the window.
    return { ...next, windowStart: windowEnd, nextUrl: undefined, windowTotal: undefined };
  }
  return { ...next, nextUrl, windowTotal: page.totalSetSize };
}

/**
 * The latest of DocuSign times as a UTC instant in DocuSign's own form (`2024-10-16T12:54:00.0270000Z`): compared
 * with the store's instantKey, so 7 fractional digits count and a zoneless time is UTC, never the worker's zone.
 * Undefined if none is a time.
 */
export function latestInstant(...times: (string | undefined)[]): string | undefined {
  const keys = times.map((t) => instantKey(t ?? '')).filter((key) => key !== undefined);
  const best = keys.sort().at(-1);
  // instantKey has 9 fractional digits; 7 (truncated, so never later) is what DocuSign itself writes.
  return best && `${best.slice(0, 27)}Z`;
}

/** What a failed attempt reports: the cursor its stored pages justify (never behind the previous one), if any. */
export function progressCursor(progress: SyncProgress, previous: string | undefined): { progressCursor?: string } {
  return progress.highWater
    ? { progressCursor: latestInstant(previous, progress.highWater) ?? progress.highWater }
    : {};
}
