/**
 * The sync's decisions as pure functions (activities/sync-progress.ts, and rateLimitWaitMs in sync.ts): where an
 * attempt resumes, where a page leads, when a window restarts, the failure cursor, and how long to wait for a limit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Envelope, EnvelopesPage } from '../activities/docusign';
import { DEFAULT_SYNC_OPTIONS, rateLimitWaitMs } from '../activities/sync';
import {
  advance,
  latestInstant,
  progressCursor,
  resumePoint,
  syncStart,
  windowEndOf,
  type SyncProgress,
} from '../activities/sync-progress';

const REST = 'https://na3.docusign.net/restapi';
const LIST = `${REST}/v2.1/accounts/a/envelopes`;
const TO = '2026-06-24T12:00:00.000Z';
const START = '2026-06-01T00:00:00.000Z';
const END = '2026-06-10T00:00:00.000Z';
const firstPageFrom = (from: string) => `${LIST}?from_date=${from}&start_position=0`;

const envelope = (n: number, statusChangedDateTime: string): Envelope => ({
  envelopeId: `env-${n}`,
  status: 'sent',
  statusChangedDateTime,
});

function page(start: number, envelopes: Envelope[], total: number, nextUri?: string): EnvelopesPage {
  return {
    envelopes,
    rejected: [],
    resultSetSize: envelopes.length,
    totalSetSize: total,
    startPosition: start,
    endPosition: start + envelopes.length - 1,
    ...(nextUri === undefined ? {} : { nextUri }),
  };
}

const at = (pages: number, extra: Partial<SyncProgress> = {}): SyncProgress => ({
  toDate: TO,
  windowStart: START,
  pages,
  ...extra,
});

describe('resumePoint', () => {
  const checkpoint = (syncId: string, progress: SyncProgress) => ({ syncId, progress: { ...progress } });

  test('a first attempt (no checkpoint, no heartbeat) starts from the input', () => {
    assert.equal(resumePoint(undefined, 's1', undefined), undefined);
  });

  test('the checkpoint when it got further than the heartbeat (the last heartbeats were lost)', () => {
    assert.deepEqual(resumePoint(checkpoint('s1', at(5)), 's1', at(3)), { progress: at(5), from: 'checkpoint' });
    assert.deepEqual(resumePoint(checkpoint('s1', at(5)), 's1', undefined), { progress: at(5), from: 'checkpoint' });
  });

  test('the checkpoint when both got as far (it is the stored truth)', () => {
    const heartbeat = at(4, { nextUrl: 'from-heartbeat' });
    assert.deepEqual(resumePoint(checkpoint('s1', at(4)), 's1', heartbeat), { progress: at(4), from: 'checkpoint' });
  });

  test('the heartbeat when it got further than the checkpoint', () => {
    assert.deepEqual(resumePoint(checkpoint('s1', at(2)), 's1', at(3)), { progress: at(3), from: 'heartbeat' });
  });

  test("another sync's checkpoint is ignored: the heartbeat, or the input", () => {
    assert.deepEqual(resumePoint(checkpoint('s0', at(9)), 's1', at(1)), { progress: at(1), from: 'heartbeat' });
    assert.equal(resumePoint(checkpoint('s0', at(9)), 's1', undefined), undefined);
  });

  test("a heartbeat that is not a sync position (a sync pass's snapshots heartbeat their own) is ignored", () => {
    const snapshotBeat = { kind: 'users', pages: 9 };
    assert.deepEqual(resumePoint(checkpoint('s1', at(3)), 's1', snapshotBeat), { progress: at(3), from: 'checkpoint' });
    assert.equal(resumePoint(undefined, 's1', snapshotBeat), undefined);
  });

  test('a checkpoint without a page count is not a position', () => {
    const saved = { syncId: 's1', progress: { toDate: TO, windowStart: START } };
    assert.equal(resumePoint(saved, 's1', undefined), undefined);
    assert.deepEqual(resumePoint(saved, 's1', at(1)), { progress: at(1), from: 'heartbeat' });
  });
});

describe('where a sync starts', () => {
  test('the first sync backfills from backfillFrom', () => {
    assert.equal(syncStart(undefined, START, 600_000), START);
  });

  test('later syncs start the overlap before the previous cursor (DocuSign may stamp a change in the past)', () => {
    assert.equal(syncStart('2026-06-24T12:00:00.000Z', START, 600_000), '2026-06-24T11:50:00.000Z');
    assert.equal(syncStart('2026-06-24T12:00:00.000Z', START, 0), '2026-06-24T12:00:00.000Z');
    assert.equal(DEFAULT_SYNC_OPTIONS.overlapMs, 600_000, 'the default overlap is 10 minutes');
  });

  test('a window is at most backfillWindowDays long and never ends after to_date', () => {
    assert.equal(windowEndOf(START, TO, 9), END);
    assert.equal(windowEndOf(START, TO, 180), TO);
    assert.equal(windowEndOf(END, END, 180), END);
  });
});

describe('advance', () => {
  test('mid-window: the next page (nextUri), one more page done, the high-water mark, the window total', () => {
    const p = page(
      0,
      [envelope(1, '2026-06-02T00:00:00.0000000Z'), envelope(2, '2026-06-03T00:00:00.0000000Z')],
      5,
      '/accounts/a/envelopes?start_position=2',
    );
    const next = advance(at(3), firstPageFrom(START), p, END, REST, firstPageFrom);
    assert.deepEqual(next, {
      toDate: TO,
      windowStart: START,
      pages: 4,
      highWater: '2026-06-03T00:00:00.0000000Z',
      nextUrl: `${REST}/v2.1/accounts/a/envelopes?start_position=2`,
      windowTotal: 5,
    });
  });

  test('the high-water mark never goes back, and compares instants, not strings', () => {
    const progress = at(1, { highWater: '2026-06-05T00:00:00.0000000Z', windowTotal: 4 });
    const p = page(2, [envelope(3, '2026-06-05T01:00:00.0000000+02:00')], 4, '/next');
    assert.equal(advance(progress, 'https://x', p, END, REST, firstPageFrom).highWater, '2026-06-05T00:00:00.0000000Z');
  });

  test("the window's last page: the next window starts at this one's end; position and total are cleared", () => {
    const progress = at(1, { nextUrl: 'https://page-2', windowTotal: 3, highWater: '2026-06-02T00:00:00.0000000Z' });
    const next = advance(
      progress,
      'https://page-2',
      page(2, [envelope(3, '2026-06-04T00:00:00.0000000Z')], 3),
      END,
      REST,
      firstPageFrom,
    );
    assert.deepEqual(next, {
      toDate: TO,
      windowStart: END,
      pages: 2,
      highWater: '2026-06-04T00:00:00.0000000Z',
      nextUrl: undefined,
      windowTotal: undefined,
    });
  });

  test('counts say more remain but no nextUri: the same query from endPosition + 1', () => {
    const next = advance(
      at(0),
      `${LIST}?from_date=x&start_position=0`,
      page(0, [envelope(1, '2026-06-02T00:00:00Z')], 3),
      END,
      REST,
      firstPageFrom,
    );
    assert.equal(next.nextUrl, `${LIST}?from_date=x&start_position=1`);
    assert.equal(next.windowTotal, 3);
  });

  test('the result set shifted: the rest of the window is queried again from the high-water mark', () => {
    const progress = at(2, { nextUrl: 'https://page-3', windowTotal: 6, highWater: '2026-06-03T00:00:00.0000000Z' });
    const shifted = page(4, [envelope(5, '2026-06-09T00:00:00.0000000Z')], 5, '/next');
    const next = advance(progress, 'https://page-3', shifted, END, REST, firstPageFrom);
    assert.deepEqual(next, {
      toDate: TO,
      windowStart: START,
      pages: 3,
      highWater: '2026-06-03T00:00:00.0000000Z',
      nextUrl: firstPageFrom('2026-06-03T00:00:00.0000000Z'),
      windowTotal: undefined,
    });
  });

  test('a shift before anything is stored restarts from the window start', () => {
    const next = advance(at(1, { windowTotal: 6 }), 'https://page-2', page(2, [], 2), END, REST, firstPageFrom);
    assert.equal(next.nextUrl, firstPageFrom('2026-06-01T00:00:00.0000000Z'));
    assert.equal(next.windowStart, START, 'the window keeps its start, hence its end');
  });

  test('the first page of a window sets the total it is checked against; an empty window is done at once', () => {
    const first = advance(
      at(0),
      firstPageFrom(START),
      page(0, [envelope(1, '2026-06-02T00:00:00Z')], 2, '/p2'),
      END,
      REST,
      firstPageFrom,
    );
    assert.equal(first.windowTotal, 2);
    const empty = advance(at(0), firstPageFrom(START), page(0, [], 0), END, REST, firstPageFrom);
    assert.equal(empty.windowStart, END);
    assert.equal(empty.highWater, undefined);
  });
});

describe('latestInstant and the failure cursor', () => {
  test('the latest instant in DocuSign form (7 digits, Z); zoneless is UTC; non-times are ignored', () => {
    assert.equal(
      latestInstant('2026-06-23T14:05:59.560', '2026-06-23T09:00:00.0000000-07:00', undefined, 'garbage'),
      '2026-06-23T16:00:00.0000000Z',
    );
    assert.equal(
      latestInstant('2024-10-16T12:54:00.0270001Z', '2024-10-16T12:54:00.0270000Z'),
      '2024-10-16T12:54:00.0270001Z',
    );
    assert.equal(
      latestInstant('2024-10-16T12:54:00.123456789Z'),
      '2024-10-16T12:54:00.1234567Z',
      'truncated, never later',
    );
    assert.equal(latestInstant(), undefined);
    assert.equal(latestInstant(undefined, 'garbage'), undefined);
  });

  test('a failure carries the cursor its stored pages justify, never behind the previous cursor', () => {
    assert.deepEqual(progressCursor(at(0), '2026-06-01T00:00:00Z'), {});
    assert.deepEqual(progressCursor(at(2, { highWater: '2026-06-05T00:00:00.0000000Z' }), undefined), {
      progressCursor: '2026-06-05T00:00:00.0000000Z',
    });
    assert.deepEqual(progressCursor(at(2, { highWater: '2026-06-05T00:00:00.0000000Z' }), '2026-06-07T00:00:00.000Z'), {
      progressCursor: '2026-06-07T00:00:00.0000000Z',
    });
    assert.deepEqual(progressCursor(at(2, { highWater: 'not a time' }), undefined), { progressCursor: 'not a time' });
  });
});

describe('rateLimitWaitMs', () => {
  const NOW = 1_000_000;
  const options = { reservePercent: 10, now: () => NOW };
  const hourly = (remaining: number, resetIn = 30_000) => ({
    hourlyLimit: 1000,
    hourlyRemaining: remaining,
    hourlyResetAt: NOW + resetIn,
  });

  test('no headers yet, or budget left above the reserve: no wait', () => {
    assert.equal(rateLimitWaitMs(undefined, options, 5000), 0);
    assert.equal(rateLimitWaitMs({}, options, 5000), 0);
    assert.equal(rateLimitWaitMs(hourly(101), options, 5000), 0);
    assert.equal(rateLimitWaitMs({ ...hourly(500), burstRemaining: 1, burstLimit: 500 }, options, 5000), 0);
  });

  test('down to the reserve (10 % of the hourly limit, rounded up): wait for the hourly reset', () => {
    assert.equal(rateLimitWaitMs(hourly(100), options, 5000), 30_000);
    assert.equal(rateLimitWaitMs(hourly(0), options, 5000), 30_000);
    assert.equal(rateLimitWaitMs({ ...hourly(100), hourlyLimit: 999 }, options, 5000), 30_000, 'ceil(99.9) = 100');
    assert.equal(rateLimitWaitMs({ ...hourly(100), hourlyLimit: 990 }, options, 5000), 0, 'ceil(99) = 99');
  });

  test('a reserve of 0 % waits only at an exhausted budget; no limit header means no reserve', () => {
    const none = { ...options, reservePercent: 0 };
    assert.equal(rateLimitWaitMs(hourly(1), none, 5000), 0);
    assert.equal(rateLimitWaitMs(hourly(0), none, 5000), 30_000);
    assert.equal(rateLimitWaitMs({ hourlyRemaining: 1, hourlyResetAt: NOW + 30_000 }, options, 5000), 0);
    assert.equal(rateLimitWaitMs({ hourlyRemaining: 0, hourlyResetAt: NOW + 30_000 }, options, 5000), 30_000);
  });

  test('no reset header: nothing to wait for', () => {
    assert.equal(rateLimitWaitMs({ hourlyLimit: 1000, hourlyRemaining: 0 }, options, 5000), 0);
  });

  test('a reset already passed: no wait', () => {
    assert.ok(rateLimitWaitMs(hourly(0, -10), options, 5000) <= 0);
  });

  test('burst budget spent: the burst wait; both: the longer one', () => {
    assert.equal(rateLimitWaitMs({ burstLimit: 500, burstRemaining: 0 }, options, 5000), 5000);
    assert.equal(rateLimitWaitMs({ ...hourly(0, 2000), burstRemaining: 0 }, options, 5000), 5000);
    assert.equal(rateLimitWaitMs({ ...hourly(0, 9000), burstRemaining: 0 }, options, 5000), 9000);
  });
});
