/**
 * Envelope sync end to end: dev server + emulator + real worker + directory evidence store.
 * Every test uses its own DocuSign user and account, and checks the store against the emulator's ground truth:
 * every envelope present, exactly once, with the version history DocuSign showed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EnvelopeRecord, QuarantinedEnvelope } from '../activities/store';
import { run as cli } from '../client/cli';
import { ConnectorClient } from '../client/client';
import { statusQuery, syncNowSignal, type ConnectionStatus } from '../workflows/messages';
import { startHarness, type Harness } from './helpers/connector';
import { assertStoreMatches as assertStoreMatchesEmulator } from './helpers/evidence';

const PAGE_SIZE = 25;
/**
 * How far DocuSign's clock runs behind the worker's in the overlap test: within the sync's 10-minute from_date
 * overlap, and longer than a small first sync takes. The emulator accepts assertions issued that far ahead of its
 * clock: here it is DocuSign's clock that is off.
 */
const DOCUSIGN_CLOCK_BEHIND_S = 120;

describe('envelope sync against the emulator', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      emulator: {
        envelopes: 0,
        rateLimit: { hourlyLimit: 100_000, burstLimit: 100_000, burstWindowSeconds: 2 },
        clockSkewToleranceSeconds: DOCUSIGN_CLOCK_BEHIND_S + 30,
      },
      sync: { pageSize: PAGE_SIZE },
      burstRetryMs: 2000,
    });
  });
  after(async () => {
    h.emu.faults.clear();
    await h?.close();
  });

  const syncs = (n: number) => (s: ConnectionStatus) => s.phase === 'idle' && s.totals.syncs === n;
  const account = (count: number) => h.newAccount(count);
  const connect = (id: string, userId: string) => h.connect(id, userId);
  const assertStoreMatches = async (connectionId: string, accountId: string) =>
    (await assertStoreMatchesEmulator(h.storeDir, connectionId, h.emu, accountId)).envelopes;

  async function stored(connectionId: string): Promise<EnvelopeRecord[]> {
    const out: EnvelopeRecord[] = [];
    for await (const record of h.connector.store.list(connectionId)) out.push(record);
    return out;
  }

  /** The `evidence` command, in process, reading this worker's store. */
  async function evidence(...args: string[]): Promise<{ code: number; stdout: string[]; stderr: string }> {
    const stdout: string[] = [];
    let stderr = '';
    const code = await cli(['evidence', ...args], {
      out: (line) => stdout.push(line),
      err: (line) => (stderr += `${line}\n`),
      write: () => undefined,
      progress: process.stderr,
      env: { TEMPORAL_ADDRESS: h.env.address, TEMPORAL_TASK_QUEUE: h.taskQueue, EVIDENCE_STORE: h.storeDir },
    });
    return { code, stdout, stderr };
  }

  /** Resolves once `n` more envelope pages were served than when called. */
  async function afterPages(n: number): Promise<void> {
    const target = h.emu.stats.pagesServed + n;
    while (h.emu.stats.pagesServed < target) await new Promise((r) => setTimeout(r, 2));
  }

  test('initial backfill of 5,000 envelopes, then an incremental sync records new versions', async () => {
    const { userId, accountId } = account(5000);
    const handle = await connect('sync-5000', userId);
    let status = await h.waitForStatus(handle, syncs(1), 120_000);
    const total = await assertStoreMatches('sync-5000', accountId);
    assert.ok(total > 4000, `backfilled ${total}`);
    assert.equal(status.totals.envelopes, total);
    assert.equal(status.lastSync?.envelopes, total);
    assert.equal(status.lastSync?.cursor, status.lastSync?.finishedAt && status.lastSync.cursor);

    const moved = h.emu.mutate(accountId, 40);
    await handle.signal(syncNowSignal);
    status = await h.waitForStatus(handle, syncs(2));
    assert.equal(status.lastSync?.envelopes, 40, 'the incremental sync changed exactly the mutated envelopes');
    await assertStoreMatches('sync-5000', accountId);
    for (const id of moved) {
      const versions = await h.connector.store.versions('sync-5000', id);
      const truth = h.emu.envelopes(accountId).find((e) => e.envelopeId === id)!;
      assert.equal(versions.at(-1)?.statusChangedDateTime, truth.statusChangedDateTime);
      if (versions.length === 1) assert.equal(truth.status, 'sent', 'only a draft that was just sent has one version');
      else assert.equal(versions.length, 2, `history of ${id} kept`);
    }
    // The incremental window starts at the previous cursor (minus the overlap), not at the backfill start.
    assert.ok((status.lastSync?.pages ?? 99) <= 4, `incremental sync fetched ${status.lastSync?.pages} pages`);
  });

  for (const limitStatus of [400, 429] as const) {
    test(`hourly limit exhausted mid-sync (reported as ${limitStatus}): waits for the reset, then completes`, async () => {
      h.emu.setRateLimit({ hourlyLimit: 100_000, hourlyWindowSeconds: 3, status: limitStatus });
      const { userId, accountId } = account(1000);
      h.emu.faults.latencyMs(15);
      const limitedBefore = h.emu.stats.callsWhileLimited;
      const handle = await connect(`sync-hourly-${limitStatus}`, userId);
      await afterPages(4);
      // Not in the last second of the 3-second "hour": the next call must land in the exhausted window, not after
      // its reset, which would leave the limit never hit.
      while (h.emu.now() % 3000 >= 2000) await new Promise((r) => setTimeout(r, 2));
      h.emu.faults.exhaustHourly(); // another app on the account used the budget up
      const status = await h.waitForStatus(handle, syncs(1), 60_000);
      h.emu.faults.clear();
      assert.equal(await assertStoreMatches(`sync-hourly-${limitStatus}`, accountId), status.totals.envelopes);
      const limitedCalls = h.emu.stats.callsWhileLimited - limitedBefore;
      assert.ok(limitedCalls <= 1, `${limitedCalls} calls hit the exhausted limit`);
      assert.equal(limitedCalls, 1, 'the limit was actually hit once');
    });
  }

  test('burst limit: backs off, then completes', async () => {
    h.emu.setRateLimit({ hourlyLimit: 100_000, burstLimit: 100_000, burstWindowSeconds: 2, status: 429 });
    const { userId, accountId } = account(500);
    h.emu.faults.latencyMs(15);
    const limitedBefore = h.emu.stats.callsWhileLimited;
    const handle = await connect('sync-burst', userId);
    await afterPages(3);
    h.emu.faults.exhaustBurst();
    await h.waitForStatus(handle, syncs(1), 60_000);
    h.emu.faults.clear();
    await assertStoreMatches('sync-burst', accountId);
    assert.ok(h.emu.stats.callsWhileLimited - limitedBefore <= 1);
  });

  test('the rate-limit reserve: the sync uses the budget down to the reserve, pauses for the reset, never hits the limit', async () => {
    // 20 calls per 4-second "hour", of which 10 % (2) are left for other apps: 18 per window for the sync. 1,300
    // envelopes (drafts are not listed) take over 45 pages of 25: the sync must reach the reserve at least twice.
    const limit = 20;
    const reserve = 2;
    h.emu.setRateLimit({ hourlyLimit: limit, hourlyWindowSeconds: 4, burstLimit: 100_000, status: 429 });
    const { userId, accountId } = account(1300);
    const handle = await connect('sync-reserve', userId);
    const status = await h.waitForStatus(handle, syncs(1), 120_000);
    h.emu.setRateLimit({ hourlyLimit: 100_000, hourlyWindowSeconds: 3600, burstLimit: 100_000 });
    await assertStoreMatches('sync-reserve', accountId);
    // X-RateLimit-Remaining of each of the account's calls as DocuSign (the emulator) sent it: the sync's, then the
    // snapshots' that follow on the same budget (which they share). A call into the limit would show 0. (The
    // emulator's callsWhileLimited is not used: it also counts other connections' calls under this tight limit.)
    const remaining = h.emu.stats.hourlyRemaining[accountId.toLowerCase()] ?? [];
    assert.ok(remaining.length > (status.lastSync?.pages ?? 0), 'the snapshots called on the same budget');
    assert.equal(Math.min(...remaining), reserve, `lowest remaining count seen: the reserve (${remaining.join(' ')})`);
    const pauses = remaining.flatMap((left, i) => (left === reserve && i + 1 < remaining.length ? [i] : []));
    assert.ok(pauses.length >= 2, `the sync reached the reserve ${pauses.length} times`);
    for (const i of pauses) {
      assert.equal(remaining[i + 1], limit - 1, `after call ${i} it waited for the reset: ${remaining.join(' ')}`);
    }
  });

  test("DocuSign's clock behind the worker's: changes stamped before the cursor are synced (the overlap)", async () => {
    const { userId, accountId } = account(60);
    const handle = await connect('sync-clock-behind', userId);
    const first = await h.waitForStatus(handle, syncs(1));
    const cursor = Date.parse(first.lastSync!.cursor);
    h.emu.setClock(-DOCUSIGN_CLOCK_BEHIND_S); // from now on DocuSign stamps changes 2 minutes in the worker's past
    try {
      const moved = new Set(h.emu.mutate(accountId, 10));
      const changed = h.emu.envelopes(accountId).filter((e) => moved.has(e.envelopeId));
      // Only the overlap can find these: each change is stamped before the cursor the first sync ended at.
      for (const e of changed) assert.ok(Date.parse(e.statusChangedDateTime) < cursor, `${e.statusChangedDateTime}`);
      await handle.signal(syncNowSignal);
      const second = await h.waitForStatus(handle, syncs(2));
      assert.equal(second.lastError, undefined);
      assert.equal(second.lastSync?.envelopes, moved.size, 'every change stamped before the cursor was synced');
      await assertStoreMatches('sync-clock-behind', accountId);
    } finally {
      h.emu.setClock(0);
    }
  });

  test('a malformed page: nothing from it is stored, the cursor does not pass it, the next sync completes', async () => {
    const { userId, accountId } = account(300);
    const handle = await connect('sync-malformed', userId);
    await h.waitForStatus(handle, syncs(1));
    const cursorBefore = await handle.query(statusQuery);
    const moved = h.emu.mutate(accountId, 30);
    const versionCounts = async () =>
      Promise.all(moved.map(async (id) => (await h.connector.store.versions('sync-malformed', id)).length));
    const before = await versionCounts();

    h.emu.faults.invalidShapeNext();
    await handle.signal(syncNowSignal);
    const failed = await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
    assert.equal(failed.lastError?.code, 'invalid_response');
    assert.match(failed.lastError.message, /envelopes\.0\.envelopeId/);
    assert.equal(failed.lastSync?.cursor, cursorBefore.lastSync?.cursor, 'cursor not advanced past the bad page');
    assert.deepEqual(await versionCounts(), before, 'nothing from the malformed page was written');

    h.emu.faults.malformedNext(); // invalid JSON this time: the retry fails the same way
    await handle.signal(syncNowSignal);
    await h.waitForStatus(handle, (s) => s.phase === 'needs_attention' && s.lastError?.at !== failed.lastError?.at);
    await handle.signal(syncNowSignal);
    const status = await h.waitForStatus(handle, syncs(2));
    assert.equal(status.lastError, undefined);
    assert.equal(status.lastSync?.envelopes, moved.length);
    await assertStoreMatches('sync-malformed', accountId);
  });

  test('pages without nextUri mid-window: the counts say more remain, so every envelope is synced', async () => {
    const { userId, accountId } = account(300);
    h.emu.faults.omitNextUri(true); // every page: only resultSetSize, totalSetSize, startPosition, endPosition
    try {
      const handle = await connect('sync-no-next-uri', userId);
      const status = await h.waitForStatus(handle, syncs(1));
      const total = await assertStoreMatches('sync-no-next-uri', accountId);
      assert.ok(total > PAGE_SIZE * 4, `${total} envelopes span several pages`);
      assert.equal(status.totals.envelopes, total);
      // Each 180-day backfill window (three span the 400 days) ends with a page of its own, full or not; no page twice.
      const pages = status.lastSync?.pages ?? 0;
      assert.ok(pages >= Math.ceil(total / PAGE_SIZE) && pages <= Math.ceil(total / PAGE_SIZE) + 3, `${pages} pages`);
    } finally {
      h.emu.faults.omitNextUri(false);
    }
  });

  test('zoneless statusChangedDateTime (UTC, worker in another zone): all stored, incremental from the right cursor', async () => {
    const { userId, accountId } = account(200);
    const zone = process.env.TZ;
    process.env.TZ = 'America/St_Johns'; // -02:30 or -03:30: read as local time, a zoneless time would be late
    h.emu.faults.zonelessTimes(true); // statusChangedDateTime like 2026-06-23T14:05:59.560
    try {
      const handle = await connect('sync-zoneless', userId);
      await h.waitForStatus(handle, syncs(1));
      h.emu.mutate(accountId, 10);
      await handle.signal(syncNowSignal);
      const status = await h.waitForStatus(handle, syncs(2));
      assert.equal(status.lastError, undefined);
      assert.equal(status.lastSync?.envelopes, 10, 'exactly the changed envelopes');
      assert.ok((status.lastSync?.pages ?? 99) <= 2, `incremental sync fetched ${status.lastSync?.pages} pages`);
      const truth = new Map(
        h.emu
          .envelopes(accountId)
          .filter((e) => e.status !== 'created')
          .map((e) => [e.envelopeId, e.statusChangedDateTime]),
      );
      const records = await stored('sync-zoneless');
      assert.equal(records.length, truth.size);
      for (const r of records) assert.equal(r.statusChangedDateTime, truth.get(r.envelopeId)?.slice(0, 23));
    } finally {
      h.emu.faults.zonelessTimes(false);
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test('one malformed envelope: the rest stored, it is quarantined and shown; the next sync fetches and releases it', async () => {
    const id = 'sync-quarantine';
    const { userId, accountId } = account(150);
    const truth = h.emu.envelopes(accountId).filter((e) => e.status !== 'created');
    const bad = truth[Math.floor(truth.length / 2)]!; // on a page in the middle of the window
    h.emu.faults.badEnvelopeNext(bad.envelopeId); // served without statusChangedDateTime, once
    const handle = await connect(id, userId);
    const first = await h.waitForStatus(handle, syncs(1));
    assert.equal(first.lastError, undefined, 'the page did not fail');
    assert.equal(first.totals.quarantined, 1);
    assert.equal(first.totals.envelopes, truth.length - 1);
    const ids = new Set((await stored(id)).map((r) => r.envelopeId));
    assert.ok(!ids.has(bad.envelopeId));
    assert.ok(
      truth.every((e) => e === bad || ids.has(e.envelopeId)),
      'every other envelope stored',
    );
    // The cursor went past the page: only the quarantine keeps the envelope.
    assert.ok(Date.parse(first.lastSync!.cursor) > Date.parse(bad.statusChangedDateTime));

    const client = await ConnectorClient.create({
      address: h.env.address,
      taskQueue: h.taskQueue,
      evidenceStore: h.storeDir,
    });
    try {
      const [held, ...more] = await client.quarantined(id);
      assert.ok(held);
      assert.deepEqual(more, []);
      assert.equal(held.envelopeId, bad.envelopeId);
      assert.match(held.reason, /^field statusChangedDateTime /);
      assert.equal(held.envelope.statusChangedDateTime, undefined, 'kept exactly as DocuSign sent it');
      assert.equal(held.envelope.status, bad.status);
      const json = await evidence('--connection', id, '--quarantined', '--json');
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(
        json.stdout.map((l) => JSON.parse(l) as QuarantinedEnvelope),
        [held],
      );
      const text = await evidence('--connection', id, '--quarantined');
      assert.equal(text.stdout.length, 1);
      assert.ok(text.stdout[0]!.startsWith(bad.envelopeId) && text.stdout[0]!.includes(held.reason), text.stdout[0]);
      assert.match(text.stderr, /^1 quarantined envelope$/m);
      assert.equal((await client.status(id)).totals.quarantined, 1);

      // DocuSign serves it valid again: the next sync fetches it by ID (its window is long past) and releases it.
      await handle.signal(syncNowSignal);
      const second = await h.waitForStatus(handle, syncs(2));
      assert.equal(second.lastError, undefined);
      assert.equal(second.totals.quarantined, 0);
      assert.equal(second.lastSync?.envelopes, 1, 'the released envelope is what this sync stored');
      assert.equal(await assertStoreMatches(id, accountId), truth.length);
      assert.deepEqual(await client.quarantined(id), []);
      const none = await evidence('--connection', id, '--quarantined');
      assert.equal(none.code, 0, none.stderr);
      assert.deepEqual(none.stdout, []);
      assert.match(
        none.stderr,
        /^no quarantined envelopes for connection sync-quarantine in \S+ \S+ \(EVIDENCE_STORE\)$/m,
      );
      // With --json too: stdout stays empty, and stderr names the store that was read (it may be the wrong one).
      const noneJson = await evidence('--connection', id, '--quarantined', '--json');
      assert.deepEqual(noneJson.stdout, []);
      assert.match(noneJson.stderr, /no quarantined envelopes for connection sync-quarantine in /);
    } finally {
      await client.close();
    }
  });

  test('5xx bursts and a token that expires mid-sync are absorbed without an error', async () => {
    const { userId, accountId } = account(500);
    h.emu.setTokenLifetime(2); // tokens die every 2 s: the sync outlives several
    h.emu.faults.latencyMs(40);
    const tokensBefore = h.emu.stats.tokensIssued.length;
    const handle = await connect('sync-5xx', userId);
    await afterPages(3);
    h.emu.faults.failNext(3, 503);
    const status = await h.waitForStatus(handle, syncs(1), 60_000);
    h.emu.faults.clear();
    h.emu.setTokenLifetime(3600);
    assert.equal(status.lastError, undefined);
    await assertStoreMatches('sync-5xx', accountId);
    assert.ok(h.emu.stats.tokensIssued.length - tokensBefore >= 2, 'tokens were re-minted during the sync');
  });

  test('data changing between pages: nothing is missed', async () => {
    const { userId, accountId } = account(400);
    // While the backfill pages through, envelopes it already passed change status and leave its window: with plain
    // offset paging every later envelope would move up one place and one per change would be skipped.
    h.emu.faults.mutateBetweenPages(40);
    const handle = await connect('sync-shifting', userId);
    await h.waitForStatus(handle, syncs(1));
    // The changes happened after the first sync's to_date: the next sync picks up their new versions.
    await handle.signal(syncNowSignal);
    await h.waitForStatus(handle, syncs(2));
    await assertStoreMatches('sync-shifting', accountId);
  });

  test('data changing between pages, then a failed page: the retry finishes the same window, nothing is missed', async () => {
    const { userId, accountId } = account(400);
    // Page 2 of the first backfill window sees the shift and the window is re-queried from its high-water mark; the
    // second page of that re-query fails, so the retry resumes in the middle of it. It must keep that window's end.
    h.emu.faults.mutateBetweenPages(40);
    h.emu.faults.failAfterPages(3);
    const handle = await connect('sync-shift-retry', userId);
    const status = await h.waitForStatus(handle, syncs(1), 60_000);
    assert.equal(status.lastError, undefined);
    await handle.signal(syncNowSignal); // the mutated envelopes' new versions are after the first sync's to_date
    await h.waitForStatus(handle, syncs(2));
    await assertStoreMatches('sync-shift-retry', accountId);
  });
});
