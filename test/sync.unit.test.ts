/**
 * The sync activity with a scripted DocuSign and a real directory store, in Temporal's mock activity environment
 * (heartbeats captured, heartbeat details injected, cancellation): pages and windows, the window restart, where a
 * retry resumes, rate-limit waits, cancellation, the order of writes (quarantine, page and checkpoint, heartbeat),
 * and how failures are reported. The pure decisions: test/sync-progress.unit.test.ts. End to end with the emulator:
 * test/sync.e2e.test.ts.
 */
import { CancelledFailure, type Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { DocuSignClient, Envelope, EnvelopesPage, RateLimitSnapshot } from '../activities/docusign';
import { ConnectorError, type FailureDetails } from '../activities/errors';
import { DirectoryStore, EvidenceStoreError, type EvidenceStore, type SyncCheckpoint } from '../activities/store';
import { DEFAULT_SYNC_OPTIONS, syncEnvelopes, type SyncInput, type SyncOptions } from '../activities/sync';
import type { SyncProgress } from '../activities/sync-progress';
import type { TokenService } from '../activities/tokens';
import type { SyncResult } from '../workflows/evidence';

const work = mkdtempSync(path.join(tmpdir(), 'sync-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

const BASE = 'https://na3.docusign.net';
const NOW = Date.parse('2026-06-24T12:00:00Z');
const BACKFILL_FROM = '2026-06-01T00:00:00Z';

let stores = 0;
const newStore = () => new DirectoryStore(path.join(work, `store-${++stores}`));

function input(connectionId: string, overrides: Partial<SyncInput> = {}): SyncInput {
  return {
    config: {
      connectionId,
      environment: 'demo',
      integrationKey: '5c0f6a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f',
      userId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      privateKeyRef: 'env:DOCUSIGN_KEY_TEST',
    },
    account: { accountId: 'acct', baseUri: BASE },
    backfillFrom: BACKFILL_FROM,
    startedAt: new Date(NOW).toISOString(),
    ...overrides,
  };
}

const envelope = (n: number, statusChangedDateTime: string): Envelope => ({
  envelopeId: `env-${n}`,
  status: 'completed',
  statusChangedDateTime,
});

/** Page `i` of a scripted window (pages of 2), without nextUri: the counts say whether more remain. */
function page(i: number, envelopes: Envelope[], total: number, rejected: EnvelopesPage['rejected'] = []) {
  const size = envelopes.length + rejected.length;
  return {
    envelopes,
    rejected,
    resultSetSize: size,
    totalSetSize: total,
    startPosition: i * 2,
    endPosition: i * 2 + size - 1,
  } satisfies EnvelopesPage;
}

/** Three pages of one window: env-1 … env-6, changed an hour apart from 2026-06-23T08:00Z. */
const SIX = [1, 2, 3, 4, 5, 6].map((n) => envelope(n, `2026-06-23T${String(7 + n).padStart(2, '0')}:00:00.0000000Z`));
const threePages = () => [page(0, SIX.slice(0, 2), 6), page(1, SIX.slice(2, 4), 6), page(2, SIX.slice(4), 6)];

/** One list call's answer: a page (with the rate-limit headers it came with), or a function that throws. */
type Answer = EnvelopesPage | { page: EnvelopesPage; rateLimit: RateLimitSnapshot } | (() => never);

interface Run {
  result?: SyncResult;
  failure?: ApplicationFailure;
  error?: unknown;
  urls: string[];
  /** When each list call was made (Date.now()). */
  calledAt: number[];
  heartbeats: SyncProgress[];
  /** What the activity logged at info level and above. */
  logs: LogEntry[];
  env: MockActivityEnvironment;
}

/**
 * Runs one attempt of one sync: DocuSign answers list calls with `answers` in order; `onCall(n, env)` runs as call n
 * (0-based) is answered. `heartbeat` is what Temporal hands a retried attempt.
 */
async function run(
  store: EvidenceStore,
  connectionId: string,
  answers: Answer[],
  opts: {
    /** Any shape: in a sync pass the snapshots after the sync heartbeat their own. */
    heartbeat?: unknown;
    attempt?: number;
    info?: Partial<Info>;
    input?: Partial<SyncInput>;
    options?: Partial<SyncOptions>;
    burstRetryMs?: number;
    onCall?: (n: number, env: MockActivityEnvironment) => void;
    /** What the account's last REST response said, whichever activity made it (the DocuSign client keeps it). */
    lastRateLimit?: RateLimitSnapshot;
  } = {},
): Promise<Run> {
  const urls: string[] = [];
  const calledAt: number[] = [];
  const heartbeats: SyncProgress[] = [];
  const logs: LogEntry[] = [];
  const env = new MockActivityEnvironment(
    { attempt: opts.attempt ?? 1, heartbeatDetails: opts.heartbeat, ...opts.info },
    { logger: new DefaultLogger('INFO', (entry) => logs.push(entry)) },
  );
  env.on('heartbeat', (details: SyncProgress) => heartbeats.push(structuredClone(details)));
  const docusign = {
    burstRetryMs: opts.burstRetryMs ?? 1000,
    lastRateLimit: () => opts.lastRateLimit,
    listEnvelopes: async (url: string) => {
      const n = urls.push(url) - 1;
      calledAt.push(Date.now());
      const answer = answers.shift();
      if (!answer) throw new Error(`unexpected call ${url}`);
      opts.onCall?.(n, env);
      if (typeof answer === 'function') return answer();
      return 'page' in answer ? answer : { page: answer, rateLimit: {} };
    },
  } as unknown as DocuSignClient;
  const tokens = { withToken: (_c: unknown, call: (t: string) => unknown) => call('token') } as TokenService;
  const options = { ...DEFAULT_SYNC_OPTIONS, pageSize: 2, now: () => NOW, ...opts.options };
  const base = { urls, calledAt, heartbeats, logs, env };
  try {
    const args: Parameters<typeof syncEnvelopes> = [
      { docusign, tokens, store, options },
      input(connectionId, opts.input),
    ];
    const result = await env.run<typeof args, SyncResult, typeof syncEnvelopes>(syncEnvelopes, ...args);
    return { ...base, result };
  } catch (err) {
    return err instanceof ApplicationFailure ? { ...base, failure: err } : { ...base, error: err };
  }
}

const details = (failure: ApplicationFailure | undefined) => failure?.details?.[0] as FailureDetails | undefined;
const param = (url: string | undefined, name: string) => (url ? new URL(url).searchParams.get(name) : null);
const startPositions = (urls: string[]) => urls.map((u) => param(u, 'start_position'));
/** Each log entry with this message, with the fields the sync gave it (the SDK adds the activity's own). */
const logged = (logs: LogEntry[], message: string, ...fields: string[]) =>
  logs.filter((l) => l.message === message).map((l) => Object.fromEntries(fields.map((f) => [f, l.meta?.[f]])));
const RESUMED = ['connectionId', 'from', 'pagesDone', 'attempt'];

async function storedIds(store: EvidenceStore, connectionId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const record of store.list(connectionId)) ids.push(record.envelopeId);
  return ids;
}

/** Records every checkpoint the sync saves, in order. */
function recordCheckpoints(store: EvidenceStore): SyncCheckpoint[] {
  const saved: SyncCheckpoint[] = [];
  const writePage = store.writePage.bind(store);
  store.writePage = async (connectionId, records, checkpoint) => {
    const result = await writePage(connectionId, records, checkpoint);
    if (checkpoint) saved.push(structuredClone(checkpoint));
    return result;
  };
  return saved;
}

const unavailable = (what: string) => new EvidenceStoreError('evidence_store_unavailable', `Evidence store x: ${what}`);
const http503 = (): never => {
  throw new ConnectorError('docusign_unavailable', 'DocuSign envelopes answered HTTP 503');
};

describe('sync activity: pages and windows', () => {
  test('a window page by page: each page stored with its position, then that position heartbeated', async () => {
    const store = newStore();
    const checkpoints = recordCheckpoints(store);
    const { result, urls, heartbeats } = await run(store, 'pages', threePages());
    assert.deepEqual(startPositions(urls), ['0', '2', '4']);
    assert.equal(param(urls[0], 'from_date'), BACKFILL_FROM);
    assert.equal(param(urls[0], 'to_date'), '2026-06-24T12:00:00.000Z', 'to_date fixed at the start of the run');
    const query = Object.fromEntries(new URL(urls[0]!).searchParams);
    assert.deepEqual(query, {
      from_date: BACKFILL_FROM,
      to_date: '2026-06-24T12:00:00.000Z',
      status: 'any',
      from_to_status: 'changed',
      order_by: 'status_changed',
      order: 'asc',
      include: 'recipients',
      count: '2',
      start_position: '0',
    });
    assert.ok(urls[0]!.startsWith(`${BASE}/restapi/v2.1/accounts/acct/envelopes?`), urls[0]);
    assert.deepEqual(result && { cursor: result.cursor, pages: result.pages, stored: result.totalStored }, {
      cursor: '2026-06-24T12:00:00.000Z',
      pages: 3,
      stored: 6,
    });
    assert.equal(result?.envelopes, 6, 'every envelope is new');
    assert.deepEqual(
      heartbeats.map((h) => h.pages),
      [1, 2, 3],
    );
    assert.deepEqual(
      heartbeats,
      checkpoints.map((c) => c.progress),
      'each heartbeat is the checkpoint stored with its page',
    );
    assert.equal(heartbeats[2]?.highWater, '2026-06-23T13:00:00.0000000Z');
  });

  test('a backfill in windows of backfillWindowDays, the last one ending at to_date', async () => {
    const store = newStore();
    const { result, urls } = await run(store, 'windows', [page(0, [], 0), page(0, [], 0), page(0, [], 0)], {
      options: { backfillWindowDays: 10 },
    });
    assert.deepEqual(
      urls.map((u) => [param(u, 'from_date'), param(u, 'to_date')]),
      [
        [BACKFILL_FROM, '2026-06-11T00:00:00.000Z'],
        ['2026-06-11T00:00:00.000Z', '2026-06-21T00:00:00.000Z'],
        ['2026-06-21T00:00:00.000Z', '2026-06-24T12:00:00.000Z'],
      ],
    );
    assert.equal(result?.pages, 3);
  });

  test("the account's base URI with trailing slashes: one slash before /restapi", async () => {
    const { urls } = await run(newStore(), 'slashes', [page(0, [], 0)], {
      input: { account: { accountId: 'acct', baseUri: `${BASE}//` } },
    });
    assert.ok(urls[0]!.startsWith(`${BASE}/restapi/v2.1/accounts/acct/envelopes?`), urls[0]);
  });

  test('an incremental sync starts overlapMs before the previous cursor', async () => {
    const { urls } = await run(newStore(), 'incremental', [page(0, [], 0)], {
      input: { cursor: '2026-06-24T11:00:00.000Z' },
    });
    assert.equal(param(urls[0], 'from_date'), '2026-06-24T10:50:00.000Z');
  });

  test('the result set shifts between pages: the window is queried again from the high-water mark', async () => {
    const store = newStore();
    const [a, b, c] = [
      envelope(1, '2026-06-23T10:00:00Z'),
      envelope(2, '2026-06-23T11:00:00Z'),
      envelope(3, '2026-06-23T12:00:00Z'),
    ];
    const { result, urls } = await run(store, 'shifted', [
      page(0, [a, b], 4),
      page(1, [c], 3), // an envelope left the window: offsets moved, one may have slid onto page 0
      { ...page(0, [b, c], 2), startPosition: 0, endPosition: 1 },
    ]);
    assert.deepEqual(startPositions(urls), ['0', '2', '0']);
    assert.equal(param(urls[2], 'from_date'), '2026-06-23T11:00:00.0000000Z', 'from the last complete mark');
    assert.equal(param(urls[2], 'to_date'), param(urls[0], 'to_date'), 'the same window end');
    assert.equal(result?.pages, 3);
    assert.deepEqual(await storedIds(store, 'shifted'), ['env-1', 'env-2', 'env-3']);
  });
});

describe('sync activity: where a retry resumes', () => {
  test('a store that fails on page 2: only page 1 was heartbeated, and the retry fetches page 2 again', async () => {
    const store = newStore();
    const writePage = store.writePage.bind(store);
    let checkpointed = 0;
    store.writePage = async (connectionId, records, checkpoint) => {
      if (checkpoint && ++checkpointed === 2) throw unavailable('cannot write: EIO (once)');
      return writePage(connectionId, records, checkpoint);
    };
    const first = await run(store, 'fails-once', threePages());
    assert.equal(first.failure?.type, 'evidence_store_unavailable');
    assert.deepEqual(
      first.heartbeats.map((h) => [h.pages, param(h.nextUrl, 'start_position')]),
      [[1, '2']],
      'nothing heartbeated for the page that was not stored',
    );
    assert.equal(details(first.failure)?.progressCursor, '2026-06-23T09:00:00.0000000Z', 'page 1 is what was stored');

    const retry = await run(store, 'fails-once', threePages().slice(1), {
      attempt: 2,
      heartbeat: first.heartbeats.at(-1),
    });
    assert.equal(retry.failure, undefined);
    assert.deepEqual(startPositions(retry.urls), ['2', '4'], 'page 2 fetched again, page 1 not');
    assert.deepEqual(
      await storedIds(store, 'fails-once'),
      SIX.map((e) => e.envelopeId),
    );
    assert.equal(retry.result?.pages, 3);
  });

  test('heartbeats lost (a worker cut off from Temporal): the retry resumes from the store checkpoint', async () => {
    const store = newStore();
    const first = await run(store, 'lost-heartbeats', [...threePages().slice(0, 2), http503]);
    assert.equal(first.failure?.type, 'docusign_unavailable');
    assert.equal(first.heartbeats.length, 2);
    const retry = await run(store, 'lost-heartbeats', threePages().slice(2), {
      attempt: 2,
      heartbeat: first.heartbeats[0], // the last one that reached Temporal
    });
    assert.deepEqual(startPositions(retry.urls), ['4']);
    assert.deepEqual(
      await storedIds(store, 'lost-heartbeats'),
      SIX.map((e) => e.envelopeId),
    );
    assert.deepEqual(logged(first.logs, 'sync resumes', ...RESUMED), [], 'a first attempt starts from its input');
    assert.deepEqual(logged(retry.logs, 'sync resumes', ...RESUMED), [
      { connectionId: 'lost-heartbeats', from: 'checkpoint', pagesDone: 2, attempt: 2 },
    ]);
  });

  test('a sync pass retried for its snapshots: the finished sync resumes from its checkpoint and lists nothing', async () => {
    const store = newStore();
    const first = await run(store, 'pass-retried', threePages());
    assert.equal(first.result?.pages, 3);
    // The pass's snapshots heartbeated after the sync (their own shape, more pages), then the attempt failed.
    const retry = await run(store, 'pass-retried', [], { attempt: 2, heartbeat: { kind: 'users', pages: 9 } });
    assert.deepEqual(retry.urls, [], 'no page listed again');
    assert.deepEqual(retry.result, first.result);
    assert.deepEqual(logged(retry.logs, 'sync resumes', ...RESUMED), [
      { connectionId: 'pass-retried', from: 'checkpoint', pagesDone: 3, attempt: 2 },
    ]);
  });

  test('the heartbeat when it is further on than the checkpoint', async () => {
    const store = newStore();
    await run(store, 'heartbeat-ahead', [threePages()[0]!, http503]);
    const heartbeat: SyncProgress = {
      toDate: '2026-06-24T12:00:00.000Z',
      windowStart: BACKFILL_FROM,
      nextUrl: `${BASE}/restapi/v2.1/accounts/acct/envelopes?from_date=x&start_position=4`,
      highWater: '2026-06-23T11:00:00.0000000Z',
      windowTotal: 6,
      pages: 2,
    };
    const resumeAt = heartbeat.nextUrl;
    const retry = await run(store, 'heartbeat-ahead', threePages().slice(2), { attempt: 2, heartbeat });
    assert.deepEqual(retry.urls, [resumeAt]);
    assert.equal(retry.result?.pages, 3);
    assert.deepEqual(logged(retry.logs, 'sync resumes', ...RESUMED), [
      { connectionId: 'heartbeat-ahead', from: 'heartbeat', pagesDone: 2, attempt: 2 },
    ]);
  });

  test("another sync's checkpoint is ignored: a new sync starts from its own cursor", async () => {
    const store = newStore();
    await run(store, 'other-sync', [threePages()[0]!, http503]);
    assert.ok(await store.readCheckpoint('other-sync'), 'the first sync left a checkpoint');
    const next = await run(store, 'other-sync', threePages(), { input: { startedAt: '2026-06-24T13:00:00.000Z' } });
    assert.deepEqual(startPositions(next.urls), ['0', '2', '4']);
    assert.equal(param(next.urls[0], 'from_date'), BACKFILL_FROM);
    assert.equal(next.result?.pages, 3);
  });

  test("another workflow run's checkpoint is ignored, though its activity and start time match", async () => {
    const store = newStore();
    const runOf = (runId: string) => ({ info: { workflowExecution: { workflowId: 'wf', runId } } });
    await run(store, 'other-run', [threePages()[0]!, http503], runOf('run-a'));
    const next = await run(store, 'other-run', threePages(), { attempt: 2, ...runOf('run-b') });
    assert.deepEqual(startPositions(next.urls), ['0', '2', '4']);
  });
});

describe('sync activity: rate limits and cancellation', () => {
  const limited = (p: EnvelopesPage, rateLimit: RateLimitSnapshot) => ({ page: p, rateLimit });

  test('down to the reserve with the reset close: waits inside the activity, then goes on', async () => {
    const resetAt = Date.now() + 60;
    const { result, calledAt } = await run(
      newStore(),
      'reserve-inline',
      [
        limited(page(0, SIX.slice(0, 2), 4), { hourlyLimit: 100, hourlyRemaining: 10, hourlyResetAt: resetAt }),
        page(1, SIX.slice(2, 4), 4),
      ],
      { options: { now: Date.now, backfillWindowDays: 3650 } },
    );
    assert.equal(result?.pages, 2);
    assert.ok(calledAt[1]! >= resetAt - 5, `the second call came ${resetAt - calledAt[1]!} ms before the reset`);
  });

  test('the budget another activity left at the reserve is kept: the first call waits for the reset', async () => {
    const resetAt = Date.now() + 80;
    const { result, calledAt } = await run(newStore(), 'reserve-shared', [page(0, SIX.slice(0, 2), 2)], {
      options: { now: Date.now, backfillWindowDays: 3650 },
      lastRateLimit: { hourlyLimit: 100, hourlyRemaining: 10, hourlyResetAt: resetAt },
    });
    assert.equal(result?.pages, 1);
    assert.ok(calledAt[0]! >= resetAt - 5, `the first call came ${resetAt - calledAt[0]!} ms before the reset`);
  });

  test('budget left above the reserve: no wait', async () => {
    const resetAt = Date.now() + 5_000;
    const started = Date.now();
    const { result } = await run(
      newStore(),
      'above-reserve',
      [
        limited(page(0, SIX.slice(0, 2), 4), { hourlyLimit: 100, hourlyRemaining: 11, hourlyResetAt: resetAt }),
        page(1, SIX.slice(2, 4), 4),
      ],
      { options: { now: Date.now, backfillWindowDays: 3650 } },
    );
    assert.equal(result?.pages, 2);
    assert.ok(Date.now() - started < 2_000, 'did not wait for the reset');
  });

  test('down to the reserve with the reset far: fails rate_limited with nextRetryDelay, frees the slot', async () => {
    const store = newStore();
    const { failure, urls } = await run(store, 'reserve-long', [
      limited(page(0, SIX.slice(0, 2), 4), { hourlyLimit: 100, hourlyRemaining: 3, hourlyResetAt: NOW + 1_800_000 }),
    ]);
    assert.equal(urls.length, 1, 'no call into the reserve');
    assert.equal(failure?.type, 'rate_limited');
    assert.equal(failure?.nonRetryable, false);
    assert.equal(failure?.nextRetryDelay, 1_800_000);
    assert.match(failure?.message ?? '', /down to its reserve; waiting 1800 s for the reset/);
    assert.equal(details(failure)?.reason, 'reserve_reached');
    assert.equal(details(failure)?.progressCursor, '2026-06-23T09:00:00.0000000Z', 'the stored page counts');
    assert.equal((await store.readCheckpoint('reserve-long'))?.progress.pages, 1);
  });

  test('the longest inline wait is maxInlineWaitMs; a millisecond more fails instead', async () => {
    const rate = { hourlyLimit: 100, hourlyRemaining: 0, hourlyResetAt: NOW + 40 };
    const at = await run(
      newStore(),
      'inline-edge',
      [limited(page(0, SIX.slice(0, 2), 4), rate), page(1, SIX.slice(2, 4), 4)],
      {
        options: { maxInlineWaitMs: 40 },
      },
    );
    assert.equal(at.result?.pages, 2);
    const over = await run(newStore(), 'inline-over', [limited(page(0, SIX.slice(0, 2), 4), rate)], {
      options: { maxInlineWaitMs: 39 },
    });
    assert.equal(over.failure?.type, 'rate_limited');
    assert.equal(over.failure?.nextRetryDelay, 40);
  });

  test('heartbeats keep flowing during a wait, with the stored position; none before the resume point is known', async () => {
    const store = newStore();
    const readCheckpoint = store.readCheckpoint.bind(store);
    store.readCheckpoint = async (connectionId) => {
      await new Promise((resolve) => setTimeout(resolve, 60)); // several ticks
      return readCheckpoint(connectionId);
    };
    const rate = { hourlyLimit: 100, hourlyRemaining: 0, hourlyResetAt: Date.now() + 200 };
    const { result, heartbeats } = await run(
      store,
      'ticker',
      [limited(page(0, SIX.slice(0, 2), 4), rate), page(1, SIX.slice(2, 4), 4)],
      { options: { now: Date.now, backfillWindowDays: 3650, heartbeatEveryMs: 10 } },
    );
    assert.equal(result?.pages, 2);
    assert.ok(
      heartbeats.every((h) => typeof h === 'object' && h !== null),
      'no empty heartbeat',
    );
    const waiting = heartbeats.filter((h) => h.pages === 1);
    assert.ok(waiting.length >= 5, `${waiting.length} heartbeats while waiting for the reset`);
    assert.equal(heartbeats.at(-1)?.pages, 2);
  });

  test('burst budget spent: waits burstRetryMs before the next call', async () => {
    const { result, calledAt } = await run(
      newStore(),
      'burst',
      [limited(page(0, SIX.slice(0, 2), 4), { burstLimit: 200, burstRemaining: 0 }), page(1, SIX.slice(2, 4), 4)],
      { burstRetryMs: 50 },
    );
    assert.equal(result?.pages, 2);
    assert.ok(calledAt[1]! - calledAt[0]! >= 45, `waited ${calledAt[1]! - calledAt[0]!} ms`);
  });

  test('cancelled between pages: the stored page stays, no further call, CancelledFailure (not a typed error)', async () => {
    const store = newStore();
    const { error, failure, urls, heartbeats } = await run(store, 'cancelled', threePages(), {
      onCall: (n, env) => {
        if (n === 0) env.cancel();
      },
    });
    assert.equal(failure, undefined);
    assert.ok(error instanceof CancelledFailure, String(error));
    assert.equal(urls.length, 1);
    assert.deepEqual(await storedIds(store, 'cancelled'), ['env-1', 'env-2']);
    assert.deepEqual(
      heartbeats.map((h) => h.pages),
      [1],
    );
  });

  test('cancelled during a rate-limit wait: stops at once instead of sleeping to the reset', async () => {
    const started = Date.now();
    const { error, urls } = await run(
      newStore(),
      'cancelled-waiting',
      [limited(page(0, SIX.slice(0, 2), 4), { hourlyLimit: 100, hourlyRemaining: 0, hourlyResetAt: NOW + 30_000 })],
      {
        options: { maxInlineWaitMs: 60_000 },
        onCall: (_n, env) => setTimeout(() => env.cancel(), 20),
      },
    );
    assert.ok(error instanceof CancelledFailure, String(error));
    assert.equal(urls.length, 1);
    assert.ok(Date.now() - started < 5_000, 'did not sleep 30 s');
  });
});

describe('sync activity: failures and the order of writes', () => {
  test('a store that cannot read the checkpoint fails the sync as evidence_store_unavailable, like any store failure', async () => {
    const store = newStore();
    store.readCheckpoint = () => Promise.reject(unavailable('cannot read: EIO'));
    const { failure, urls } = await run(store, 'unreadable', []);
    assert.equal(failure?.type, 'evidence_store_unavailable');
    assert.match(failure?.message ?? '', /EIO/);
    assert.deepEqual(urls, [], 'DocuSign was not called');
  });

  test('a bug (an untyped error) is internal_error, still with the cursor of the stored pages', async () => {
    const { failure } = await run(newStore(), 'bug', [
      threePages()[0]!,
      () => {
        throw new TypeError("Cannot read properties of undefined (reading 'envelopes')");
      },
    ]);
    assert.equal(failure?.type, 'internal_error');
    assert.equal(details(failure)?.progressCursor, '2026-06-23T09:00:00.0000000Z');
  });

  test('zoneless times are UTC: the failure cursor is the latest one, with its zone, whatever the worker zone', async () => {
    const store = newStore();
    const zone = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      const { failure, urls } = await run(store, 'zoneless', [
        page(0, [envelope(1, '2026-06-23T14:05:59.560'), envelope(2, '2026-06-23T09:00:00.0000000-07:00')], 4),
        http503,
      ]);
      assert.equal(failure?.type, 'docusign_unavailable');
      // 16:00 UTC (09:00-07:00) is later than 14:05:59.560 UTC.
      assert.equal(details(failure)?.progressCursor, '2026-06-23T16:00:00.0000000Z');
      // No nextUri on page 1, but 4 envelopes in all: page 2 was asked for from start_position 2.
      assert.equal(param(urls[1], 'start_position'), '2');
      assert.equal((await store.versions('zoneless', 'env-1'))[0]?.statusChangedDateTime, '2026-06-23T14:05:59.560');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test('a rejected envelope is quarantined before its page and checkpoint; if that fails, neither is written', async () => {
    const rejected = [{ envelopeId: 'env-2', reason: 'field statusChangedDateTime is missing', envelope: { a: 1 } }];
    const pages = () => [
      page(0, [envelope(1, '2026-06-23T10:00:00.0000000Z')], 3, rejected),
      page(1, [envelope(3, '2026-06-23T11:00:00.0000000Z')], 3),
    ];
    const calls: string[] = [];
    const store = newStore();
    const quarantine = store.quarantine.bind(store);
    const writePage = store.writePage.bind(store);
    store.quarantine = async (...args) => {
      calls.push('quarantine');
      return quarantine(...args);
    };
    store.writePage = async (...args) => {
      calls.push(args[2] ? 'page+checkpoint' : 'page');
      return writePage(...args);
    };
    const ok = await run(store, 'ordered', pages());
    assert.equal(ok.failure, undefined);
    assert.deepEqual(calls, ['quarantine', 'page+checkpoint', 'page+checkpoint']);
    assert.deepEqual(logged(ok.logs, 'envelopes quarantined', 'connectionId', 'envelopes'), [
      {
        connectionId: 'ordered',
        envelopes: [{ envelopeId: 'env-2', reason: 'field statusChangedDateTime is missing' }],
      },
    ]);
    assert.equal(ok.result?.quarantined, 1);
    assert.deepEqual(
      (await store.listQuarantined('ordered')).map((q) => [q.envelopeId, q.reason, q.envelope]),
      [['env-2', 'field statusChangedDateTime is missing', { a: 1 }]],
    );

    const failing = newStore();
    failing.quarantine = () => Promise.reject(unavailable('cannot write: ENOSPC'));
    const failed = await run(failing, 'full-disk', pages());
    assert.equal(failed.failure?.type, 'evidence_store_unavailable');
    assert.equal(details(failed.failure)?.progressCursor, undefined, 'the cursor did not move');
    assert.equal(await failing.readCheckpoint('full-disk'), undefined, 'no checkpoint passed the envelope');
    assert.equal(await failing.count('full-disk'), 0);
  });

  test('quarantined envelopes are fetched again by ID first: stored and released if valid, kept if not', async () => {
    const store = newStore();
    const at = new Date(NOW - 86_400_000).toISOString();
    const held = (id: string) => ({
      connectionId: 'requery',
      envelopeId: id,
      reason: 'r',
      quarantinedAt: at,
      envelope: {},
    });
    await store.quarantine('requery', [held('env-1'), held('env-2'), held('env-3')]);
    const { result, urls } = await run(store, 'requery', [
      page(0, [envelope(1, '2026-06-20T10:00:00Z')], 2, [
        { envelopeId: 'env-2', reason: 'still bad', envelope: { b: 2 } },
      ]),
      page(0, [envelope(3, '2026-06-20T11:00:00Z')], 1),
      page(0, [], 0),
    ]);
    // pageSize (2) IDs per query: the query itself, not a window.
    assert.deepEqual(Object.fromEntries(new URL(urls[0]!).searchParams), {
      envelope_ids: 'env-1,env-2',
      include: 'recipients',
      count: '2',
      start_position: '0',
    });
    assert.equal(param(urls[1], 'envelope_ids'), 'env-3');
    assert.equal(param(urls[1], 'count'), '1');
    assert.equal(param(urls[2], 'from_date'), BACKFILL_FROM, 'then the window');
    assert.deepEqual(await storedIds(store, 'requery'), ['env-1', 'env-3']);
    assert.deepEqual(
      (await store.listQuarantined('requery')).map((q) => [q.envelopeId, q.reason]),
      [['env-2', 'still bad']],
    );
    assert.equal(result?.quarantined, 1);
  });
});
