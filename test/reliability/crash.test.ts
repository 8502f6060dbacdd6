/**
 * Crash trials: the worker is a real child process (`node --import tsx worker/main.ts`, as operators run it) that is
 * killed with SIGKILL at seeded random moments during a sync; a new worker process then finishes the sync. Every
 * trial ends with the store EXACTLY equal to DocuSign's non-draft envelopes, no version twice in changes.jsonl, and
 * the retry resuming from a heartbeat. Pages fetched again per kill are counted against a clean run of the same data:
 * at most two pages per kill (the one being stored, the one in flight; asserted over all kills), including a dedicated
 * kill right after a backfill window's last page.
 *
 *   CRASH_TRIALS (default 3)   CRASH_SEED (default 1729)   CRASH_CONCURRENCY (trials at once, default 3)
 *
 * Also: two worker processes on one task queue, the one running the sync killed, the other finishes it; and a worker
 * that loses Temporal mid-sync (so its last heartbeats never arrive), goes on storing pages, then dies; and, when
 * TEST_POSTGRES_URL is set, a kill mid-sync with the Postgres store.
 * Each kill costs about 15 s of waiting: the sync activity's 10 s heartbeat timeout, then its 5 s retry interval.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { consentGrantedSignal, type ConnectionStatus } from '../../workflows/messages';
import { findLeaks, rsaKeys, type RsaKeys } from '../helpers/connector';
import { assertStoreMatches, historiesText } from '../helpers/evidence';
import {
  runningActivityWorker,
  seededRandom,
  sleep,
  startRig,
  startWorkerProcess,
  waitForPoller,
  waitForStatus,
  type Rig,
  type WorkerProcess,
} from '../helpers/processes';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { capturedSdkLogs, devServerEnv, uniqueTaskQueue } from '../helpers/temporal';

const TRIALS = Number(process.env.CRASH_TRIALS ?? 3);
const POSTGRES_URL = process.env.TEST_POSTGRES_URL;
const SEED = Number(process.env.CRASH_SEED ?? 1729);
const CONCURRENCY = Math.max(1, Number(process.env.CRASH_CONCURRENCY ?? 3));
/** With the worker's default page size (100) this is ~20 pages in 3 backfill windows. */
const ENVELOPES = 2000;
/** Per REST/OAuth response, so a sync lasts a few seconds and a kill lands mid-sync. */
const LATENCY_MS = 30;
const DAY_MS = 86_400_000;
const WINDOW_MS = 180 * DAY_MS; // activities/sync.ts DEFAULT_SYNC_OPTIONS.backfillWindowDays
const idleAfterSyncs = (n: number) => (s: ConnectionStatus) => s.phase === 'idle' && s.totals.syncs === n;

describe('crash trials: SIGKILL the worker process mid-sync', { timeout: 600_000 }, () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let keys: RsaKeys;
  const rigs: Rig[] = [];
  const workers: WorkerProcess[] = [];
  const handles: WorkflowHandle[] = [];
  /** Pages a clean (uninterrupted) sync of the trial data fetches: resolved by the clean run. */
  let cleanPages = 0;
  let cleanRunDone!: (pages: number) => void;
  let cleanRunFailed!: (err: unknown) => void;
  const cleanRun = new Promise<number>((resolve, reject) => {
    cleanRunDone = resolve;
    cleanRunFailed = reject;
  });
  cleanRun.catch(() => undefined);
  const results: {
    trial: number;
    killAt: number[];
    pages: number;
    refetched: number;
    envelopes: number;
    msBetweenLastPages: number;
  }[] = [];
  const backfillFromOf = new Map<string, string>();
  /** Every kill: how many pages the next attempt fetched again, and how fast the last two pages came. */
  const kills: { what: string; killAt: number; refetched: number; msBetweenLastPages: number }[] = [];

  before(async () => {
    env = await devServerEnv();
    client = env.client;
    keys = rsaKeys();
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await Promise.all(rigs.map((r) => r.close()));
    if (!process.env.TEST_TEMPORAL_ADDRESS) await env?.teardown();
    if (results.length) console.log(`# crash trials (seed ${SEED}, clean run ${cleanPages} pages):`, results);
    if (kills.length) console.log('# kills:', JSON.stringify(kills));
  });

  /** Same fixed IDs, seed and envelope count in every rig: every trial syncs identical data. */
  async function trialRig(): Promise<Rig> {
    const rig = await startRig({ keys, envelopes: ENVELOPES });
    rigs.push(rig);
    rig.emu.faults.latencyMs(LATENCY_MS);
    return rig;
  }

  async function worker(
    rig: Rig,
    address: string,
    taskQueue: string,
    evidenceStore: string,
    logLevel?: string,
  ): Promise<WorkerProcess> {
    const w = await startWorkerProcess({ address, taskQueue, evidenceStore, logLevel, env: rig.workerEnv });
    workers.push(w);
    return w;
  }

  /**
   * Resolves once `page` pages were served, with the milliseconds between the last two (what the heartbeat throttle
   * is up against: a page heartbeated less than 100 ms before the kill may not have reached the server).
   */
  async function pageGapAt(rig: Rig, page: number): Promise<number> {
    const servedAt: number[] = [];
    const deadline = Date.now() + 90_000;
    while (servedAt.length < page) {
      while (servedAt.length < rig.emu.stats.pagesServed) servedAt.push(Date.now());
      if (servedAt.length >= page) break;
      if (Date.now() > deadline) throw new Error(`only ${servedAt.length} of ${page} pages served`);
      await sleep(1);
    }
    return page >= 2 ? servedAt[page - 1]! - servedAt[page - 2]! : NaN;
  }

  async function connect(rig: Rig, taskQueue: string, connectionId: string): Promise<WorkflowHandle> {
    const backfillFrom = new Date(rig.emu.now() - 500 * DAY_MS).toISOString(); // the data spans 400 days
    const handle = await rig.start(client, taskQueue, rig.config(connectionId, { backfillFrom }));
    handles.push(handle);
    backfillFromOf.set(handle.workflowId, backfillFrom);
    await handle.signal(consentGrantedSignal);
    return handle;
  }

  // The clean run, the trials and the two-worker case run at once: most of a trial is waiting out a heartbeat timeout.
  describe('syncs', { concurrency: true }, () => {
    test('a clean run of the trial data (the page baseline)', async () => {
      try {
        const rig = await trialRig();
        const taskQueue = uniqueTaskQueue('crash-clean');
        const storeDir = path.join(rig.workDir, 'evidence');
        const w = await worker(rig, env.address, taskQueue, storeDir);
        const handle = await connect(rig, taskQueue, 'crash-clean');
        const status = await waitForStatus(handle, idleAfterSyncs(1), 90_000);
        cleanPages = rig.emu.stats.pagesServed;
        const check = await assertStoreMatches(storeDir, 'crash-clean', rig.emu, rig.accountId);
        assert.equal(status.totals.envelopes, check.envelopes);
        assert.ok(cleanPages >= 10, `the clean sync fetched only ${cleanPages} pages`);
        cleanRunDone(cleanPages);
        await w.stop();
      } catch (err) {
        cleanRunFailed(err);
        throw err;
      }
    });

    test(`${TRIALS} trials: kill at a random page, restart: store exact, no version twice, progress kept`, async () => {
      const random = seededRandom(SEED);
      const draws = Array.from({ length: TRIALS }, () => random());
      const failures: string[] = [];

      const runTrial = async (trial: number) => {
        const rig = await trialRig();
        const taskQueue = uniqueTaskQueue(`crash-${trial}`);
        const storeDir = path.join(rig.workDir, 'evidence');
        const connectionId = `crash-trial-${trial}`;
        const first = await worker(rig, env.address, taskQueue, storeDir);
        await waitForPoller(client, first, taskQueue);
        // Kill after page 1 .. n-1 has been served, n = the pages the non-draft envelopes fill at the worker's page
        // size (a lower bound of the clean run's pages, which also has window boundaries): always mid-sync.
        const nonDrafts = rig.emu.envelopes(rig.accountId).filter((e) => e.status !== 'created').length;
        const killAt = 1 + Math.floor(draws[trial - 1]! * (Math.ceil(nonDrafts / 100) - 1));
        const handle = await connect(rig, taskQueue, connectionId);

        const gap = await pageGapAt(rig, killAt);
        await first.kill();
        const second = await worker(rig, env.address, taskQueue, storeDir);

        const status = await waitForStatus(handle, idleAfterSyncs(1), 120_000);
        const check = await assertStoreMatches(storeDir, connectionId, rig.emu, rig.accountId);
        assert.equal(status.totals.envelopes, check.envelopes, `trial ${trial}: totals`);
        assert.equal(status.lastError, undefined, `trial ${trial}: no error left`);
        const pages = rig.emu.stats.pagesServed;
        const refetched = pages - (await cleanRun);
        results.push({
          trial,
          killAt: [killAt],
          pages,
          refetched,
          envelopes: check.envelopes,
          msBetweenLastPages: gap,
        });
        kills.push({ what: `trial ${trial}`, killAt, refetched, msBetweenLastPages: gap });
        // Hard bound here; the design's "at most two pages per kill" is asserted over all kills below.
        assert.ok(refetched >= 0 && refetched <= killAt, `trial ${trial}: ${refetched} pages fetched again`);
        await second.stop();
      };

      const queue = Array.from({ length: TRIALS }, (_, i) => i + 1);
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
          for (let trial = queue.shift(); trial; trial = queue.shift()) {
            // One failing trial must not abandon the others: all run, then all failures are reported.
            await runTrial(trial).catch((err: unknown) => failures.push(`trial ${trial}: ${(err as Error).message}`));
          }
        }),
      );
      assert.deepEqual(failures, [], 'failed trials');
      assert.equal(results.length, TRIALS);
    });

    test("a kill just after a backfill window's last page: store exact, and at most two pages fetched again", async () => {
      const rig = await trialRig();
      const taskQueue = uniqueTaskQueue('crash-window');
      const storeDir = path.join(rig.workDir, 'evidence');
      const first = await worker(rig, env.address, taskQueue, storeDir);
      await waitForPoller(client, first, taskQueue);
      const handle = await connect(rig, taskQueue, 'crash-window');
      // The first window's pages, from DocuSign's data; the kill lands as the second window's first page arrives.
      const from = Date.parse(backfillFromOf.get(handle.workflowId)!);
      const firstWindow = rig.emu
        .envelopes(rig.accountId)
        .filter((e) => e.status !== 'created')
        .filter(
          (e) => Date.parse(e.statusChangedDateTime) >= from && Date.parse(e.statusChangedDateTime) <= from + WINDOW_MS,
        );
      const killAt = Math.max(1, Math.ceil(firstWindow.length / 100)) + 1;
      const gap = await pageGapAt(rig, killAt);
      await first.kill();
      const second = await worker(rig, env.address, taskQueue, storeDir);
      await waitForStatus(handle, idleAfterSyncs(1), 120_000);
      await assertStoreMatches(storeDir, 'crash-window', rig.emu, rig.accountId);
      const refetched = rig.emu.stats.pagesServed - (await cleanRun);
      kills.push({ what: 'window boundary', killAt, refetched, msBetweenLastPages: gap });
      await second.stop();
      assert.ok(
        refetched <= 2,
        `killed after page ${killAt} (first page of window 2): ${refetched} pages fetched again`,
      );
    });

    test('Temporal unreachable from the worker mid-sync, then the worker dies: the retry resumes from the last stored page', async () => {
      const rig = await trialRig();
      const proxy = await startTcpProxy(env.address);
      const taskQueue = uniqueTaskQueue('crash-partition');
      const storeDir = path.join(rig.workDir, 'evidence');
      const first = await worker(rig, proxy.address, taskQueue, storeDir);
      await waitForPoller(client, first, taskQueue);
      const handle = await connect(rig, taskQueue, 'crash-partition');
      await pageGapAt(rig, 3);
      proxy.freeze();
      // Pages stored from here on are known to the store only: no heartbeat about them reaches Temporal.
      const killAt = rig.emu.stats.pagesServed + 5;
      const gap = await pageGapAt(rig, killAt);
      await first.kill();
      await proxy.close();
      const second = await worker(rig, env.address, taskQueue, storeDir, 'info');
      const status = await waitForStatus(handle, idleAfterSyncs(1), 120_000);
      // The retry says where it resumed from: the store's checkpoint, the heartbeats having stopped at page 3.
      const resumes = second.output.filter((line) => line.includes('sync resumes'));
      assert.equal(resumes.length, 1, resumes.join('\n'));
      assert.match(resumes[0]!, /"from":"checkpoint"/);
      // Page killAt was served when the kill came: stored or not yet, and the page before it too (pipelined).
      assert.match(resumes[0]!, new RegExp(`"pagesDone":(${killAt - 2}|${killAt - 1}|${killAt})[,}]`));
      const check = await assertStoreMatches(storeDir, 'crash-partition', rig.emu, rig.accountId);
      assert.equal(status.totals.envelopes, check.envelopes);
      const refetched = rig.emu.stats.pagesServed - (await cleanRun);
      kills.push({ what: 'Temporal unreachable', killAt, refetched, msBetweenLastPages: gap });
      await second.stop();
      assert.ok(
        refetched <= 2,
        `killed after page ${killAt}, Temporal lost after page 3: ${refetched} pages fetched again`,
      );
    });

    test(
      'Postgres store: a kill mid-sync, the store exact and at most two pages fetched again',
      { skip: POSTGRES_URL ? false : 'TEST_POSTGRES_URL not set' },
      async () => {
        const rig = await trialRig();
        const taskQueue = uniqueTaskQueue('crash-postgres');
        const storeUrl = POSTGRES_URL!;
        // The database outlives this run: a connection ID of its own keeps earlier runs' evidence out of the check.
        const connectionId = `crash-pg-${randomBytes(4).toString('hex')}`;
        const first = await worker(rig, env.address, taskQueue, storeUrl);
        await waitForPoller(client, first, taskQueue);
        const handle = await connect(rig, taskQueue, connectionId);
        const killAt = 9; // the middle of the second backfill window
        const gap = await pageGapAt(rig, killAt);
        await first.kill();
        const second = await worker(rig, env.address, taskQueue, storeUrl);
        const status = await waitForStatus(handle, idleAfterSyncs(1), 120_000);
        const check = await assertStoreMatches(storeUrl, connectionId, rig.emu, rig.accountId);
        assert.equal(status.totals.envelopes, check.envelopes);
        const refetched = rig.emu.stats.pagesServed - (await cleanRun);
        kills.push({ what: 'Postgres store', killAt, refetched, msBetweenLastPages: gap });
        await second.stop();
        assert.ok(refetched <= 2, `killed after page ${killAt}: ${refetched} pages fetched again`);
      },
    );

    test('two workers on one task queue: the one running the sync is killed, the other finishes it', async () => {
      const rig = await trialRig();
      const taskQueue = uniqueTaskQueue('crash-pair');
      const storeDir = path.join(rig.workDir, 'evidence');
      const pair = await Promise.all([
        worker(rig, env.address, taskQueue, storeDir),
        worker(rig, env.address, taskQueue, storeDir),
      ]);
      await Promise.all(pair.map((w) => waitForPoller(client, w, taskQueue)));
      const handle = await connect(rig, taskQueue, 'crash-pair');

      const gap = await pageGapAt(rig, 7); // mid-window (the windows hold 4, 8 and 7 pages)
      let runner: string | undefined;
      for (let i = 0; i < 50 && !runner; i++) {
        runner = await runningActivityWorker(handle);
        if (!runner) await sleep(20);
      }
      const victim = pair.find((w) => w.identity === runner);
      assert.ok(victim, `the sync runs on one of the two workers (running on ${runner})`);
      const survivor = pair.find((w) => w !== victim)!;
      await victim.kill();

      const status = await waitForStatus(handle, idleAfterSyncs(1), 120_000);
      const check = await assertStoreMatches(storeDir, 'crash-pair', rig.emu, rig.accountId);
      assert.equal(status.totals.envelopes, check.envelopes);
      assert.equal(survivor.child.exitCode, null, 'the survivor is still running');
      const refetched = rig.emu.stats.pagesServed - (await cleanRun);
      kills.push({ what: 'two workers', killAt: 7, refetched, msBetweenLastPages: gap });
      assert.ok(refetched >= 0 && refetched <= 7, `${refetched} pages fetched again after the kill`);
      await survivor.stop();
    });
  });

  test('at most two pages are fetched again per kill (all kills above)', () => {
    const over = kills.filter((k) => k.refetched > 2);
    assert.deepEqual(over, [], `${over.length} of ${kills.length} kills re-fetched more than two pages`);
  });

  test('no secret in any history or worker process output', async () => {
    const texts = [
      ...(await historiesText(handles)),
      ...workers.flatMap((w) => w.output),
      ...capturedSdkLogs.map((e) => `${e.message} ${JSON.stringify(e.meta ?? {})}`),
    ];
    assert.ok(handles.length >= TRIALS + 2, 'histories were produced');
    for (const rig of rigs) {
      assert.ok(rig.emu.stats.tokensIssued.length > 0, 'tokens were issued');
      assert.deepEqual(findLeaks({ emu: rig.emu, keys }, texts), [], 'secret material leaked');
    }
  });
});
