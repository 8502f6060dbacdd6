/**
 * Crash trials: the worker is a real child process (`node --import tsx worker/main.ts`, as operators run it) that is
 * killed with SIGKILL at seeded random moments during a sync; a new worker process then finishes the sync. Every
 * trial ends with the store EXACTLY equal to DocuSign's non-draft envelopes, no version twice in changes.jsonl, and
 * at most one envelope page fetched again per kill (measured against a clean run of the same data).
 *
 *   CRASH_TRIALS (default 3)   CRASH_SEED (default 1729)   CRASH_CONCURRENCY (trials at once, default 3)
 *
 * Also: two worker processes on one task queue, the one running the sync killed, the other finishes it.
 * Each kill costs about 15 s of waiting: the sync activity's 10 s heartbeat timeout, then its 5 s retry interval.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
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
  untilPagesServed,
  waitForPoller,
  waitForStatus,
  type Rig,
  type WorkerProcess,
} from '../helpers/processes';
import { capturedSdkLogs, devServerEnv, uniqueTaskQueue } from '../helpers/temporal';

const TRIALS = Number(process.env.CRASH_TRIALS ?? 3);
const SEED = Number(process.env.CRASH_SEED ?? 1729);
const CONCURRENCY = Math.max(1, Number(process.env.CRASH_CONCURRENCY ?? 3));
/** With the worker's default page size (100) this is ~20 pages in 3 backfill windows. */
const ENVELOPES = 2000;
/** Per REST/OAuth response, so a sync lasts a few seconds and a kill lands mid-sync. */
const LATENCY_MS = 30;
const DAY_MS = 86_400_000;

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
  const results: { trial: number; killAt: number[]; pages: number; refetched: number; envelopes: number }[] = [];

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
  });

  /** Same fixed IDs, seed and envelope count in every rig: every trial syncs identical data. */
  async function trialRig(): Promise<Rig> {
    const rig = await startRig({ keys, envelopes: ENVELOPES });
    rigs.push(rig);
    rig.emu.faults.latencyMs(LATENCY_MS);
    return rig;
  }

  async function worker(address: string, taskQueue: string, storeDir: string): Promise<WorkerProcess> {
    const w = await startWorkerProcess({ address, taskQueue, storeDir });
    workers.push(w);
    return w;
  }

  async function connect(rig: Rig, taskQueue: string, connectionId: string): Promise<WorkflowHandle> {
    const backfillFrom = new Date(rig.emu.now() - 500 * DAY_MS).toISOString(); // the data spans 400 days
    const handle = await rig.start(client, taskQueue, rig.config(connectionId, { backfillFrom }));
    handles.push(handle);
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
        const w = await worker(env.address, taskQueue, storeDir);
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

    test(`${TRIALS} trials: kill at a random page, restart, store exact, <= 1 page re-fetched per kill`, async () => {
      const random = seededRandom(SEED);
      const draws = Array.from({ length: TRIALS }, () => random());

      const runTrial = async (trial: number) => {
        const rig = await trialRig();
        const taskQueue = uniqueTaskQueue(`crash-${trial}`);
        const storeDir = path.join(rig.workDir, 'evidence');
        const connectionId = `crash-trial-${trial}`;
        const first = await worker(env.address, taskQueue, storeDir);
        await waitForPoller(client, first, taskQueue);
        // Kill after page 1 .. n-1 has been served, n = the pages the non-draft envelopes fill at the worker's page
        // size (a lower bound of the clean run's pages, which also has window boundaries): always mid-sync.
        const nonDrafts = rig.emu.envelopes(rig.accountId).filter((e) => e.status !== 'created').length;
        const killAt = 1 + Math.floor(draws[trial - 1]! * (Math.ceil(nonDrafts / 100) - 1));
        const handle = await connect(rig, taskQueue, connectionId);

        await untilPagesServed(rig.emu, killAt);
        await first.kill();
        const second = await worker(env.address, taskQueue, storeDir);

        const status = await waitForStatus(handle, idleAfterSyncs(1), 120_000);
        const check = await assertStoreMatches(storeDir, connectionId, rig.emu, rig.accountId);
        assert.equal(status.totals.envelopes, check.envelopes, `trial ${trial}: totals`);
        assert.equal(status.lastError, undefined, `trial ${trial}: no error left`);
        const pages = rig.emu.stats.pagesServed;
        const refetched = pages - (await cleanRun);
        results.push({ trial, killAt: [killAt], pages, refetched, envelopes: check.envelopes });
        assert.ok(
          refetched <= 1,
          `trial ${trial} (killed after page ${killAt}): ${refetched} pages fetched again (${pages} vs clean ${cleanPages})`,
        );
        await second.stop();
      };

      const queue = Array.from({ length: TRIALS }, (_, i) => i + 1);
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
          for (let trial = queue.shift(); trial; trial = queue.shift()) await runTrial(trial);
        }),
      );
      assert.equal(results.length, TRIALS);
    });

    test('two workers on one task queue: the one running the sync is killed, the other finishes it', async () => {
      const rig = await trialRig();
      const taskQueue = uniqueTaskQueue('crash-pair');
      const storeDir = path.join(rig.workDir, 'evidence');
      const pair = await Promise.all([
        worker(env.address, taskQueue, storeDir),
        worker(env.address, taskQueue, storeDir),
      ]);
      await Promise.all(pair.map((w) => waitForPoller(client, w, taskQueue)));
      const handle = await connect(rig, taskQueue, 'crash-pair');

      await untilPagesServed(rig.emu, 4);
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
      assert.ok(refetched <= 1, `${refetched} pages fetched again after the kill`);
      await survivor.stop();
    });
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
