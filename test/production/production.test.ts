/**
 * The connector on the PRODUCTION Temporal server: `npm run stack`'s topology (scripts/stack.ts runs the
 * docker-compose.yml services as local processes: Postgres, temporal-server v1.31.0 with SQL persistence and
 * visibility, the namespace and search attributes, the Web UI, the codec and consent servers), started ONCE for this
 * file, on free ports, in a throwaway directory. Payloads are encrypted as in compose, and the evidence goes to the
 * stack's Postgres as compose's worker keeps it. Workers are real processes (test/helpers/processes.ts).
 *
 * Same bounds as on the dev server (test/reliability): the store exactly equal to DocuSign's data, no version twice,
 * at most two pages fetched again per worker kill. Outages of the server and of its database run after the others,
 * so that they disturb no kill count. UI_SCREENSHOT_DIR=<dir> keeps the browser check's screenshots.
 *
 * Skipped, saying so, only when the server is not provisioned (`npm run tools -- --server`); .ci/run provisions it.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectorClient } from '../../client/client';
import { codecFromKeys, dataConverterFor, FAILURE_CONVERTER_PATH } from '../../common/codec';
import { readCompose } from '../../scripts/compose';
import { locateServerTools, NOT_PROVISIONED } from '../../scripts/server-tools';
import { freePorts, planStack, startStack, type Stack } from '../../scripts/stack';
import { ensureTemporalTools } from '../../scripts/tools';
import { consentGrantedSignal, statusQuery, workflowIdOf, type ConnectionStatus } from '../../workflows/messages';
import { BACKFILL_ALL, findLeaks, rsaKeys } from '../helpers/connector';
import { assertStoreMatches, historiesText } from '../helpers/evidence';
import {
  runningActivityWorker,
  sleep,
  startRig,
  startWorkerProcess,
  untilPagesServed,
  waitForPoller,
  waitForStatus,
  type Rig,
  type WorkerProcess,
} from '../helpers/processes';
import { quietBundlerLogger, uniqueTaskQueue, WORKFLOWS_PATH } from '../helpers/temporal';
import { checkOperatorsView } from './operators-view';

const tools = locateServerTools();
/** ~20 pages in 3 backfill windows at the worker's page size (100), as in test/reliability/crash.test.ts. */
const ENVELOPES = 2000;
/** Per DocuSign response: a sync lasts a few seconds, so a kill lands mid-sync. */
const LATENCY_MS = 30;
/** For the outages: ~19 pages at 250 ms, still syncing while the server or its database is down and back. */
const SLOW_LATENCY_MS = 250;
const DAY_MS = 86_400_000;
const idleAfterFirstSync = (s: ConnectionStatus) => s.phase === 'idle' && s.totals.syncs === 1;

void describe(
  'the connector on the production Temporal server (npm run stack)',
  {
    skip: tools ? false : NOT_PROVISIONED,
    timeout: 600_000,
  },
  () => {
    const codecKeys = `k1:${randomBytes(32).toString('base64')}`;
    const consentSecret = randomBytes(48).toString('base64');
    /** One key pair for every rig: with the same seed and count, every rig holds the same envelopes. */
    const keys = rsaKeys();
    let work: string;
    let stack: Stack | undefined;
    let connection: Connection | undefined;
    let client: Client;
    let bundlePath: string;
    const rigs: Rig[] = [];
    const workers: WorkerProcess[] = [];
    const handles: WorkflowHandle[] = [];
    const kills: { what: string; killAt: number; refetched: number }[] = [];
    let cleanRunDone!: (pages: number) => void;
    let cleanRunFailed!: (err: unknown) => void;
    /** Pages a clean sync of the rig data fetches (the baseline of "fetched again"). */
    const cleanPages = new Promise<number>((resolve, reject) => {
      cleanRunDone = resolve;
      cleanRunFailed = reject;
    });
    cleanPages.catch(() => undefined);

    before(async () => {
      work = mkdtempSync(path.join(tmpdir(), 'production-stack-'));
      chmodSync(work, 0o755); // run as root, Postgres runs as the postgres user, who must reach its directory
      const plan = planStack({
        compose: readCompose(),
        tools: tools!,
        temporalCli: ensureTemporalTools().cli,
        ports: await freePorts(),
        dataDir: work,
        env: { PAYLOAD_CODEC_KEYS: codecKeys, CONSENT_STATE_SECRET: consentSecret },
        // The workers are the tests' own (each with its emulator's trust settings); the sources, not a build.
        connectorServices: ['codec-server', 'consent-server'],
        connectorCode: 'sources',
      });
      const started = Date.now();
      // Compose's worker runs the bundle that encrypts failure messages too: the same here, built once.
      const [running, bundled] = await Promise.allSettled([
        startStack(plan, work, { log: () => undefined }).then((s) => (stack = s)),
        bundleWorkflowCode({
          workflowsPath: WORKFLOWS_PATH,
          failureConverterPath: FAILURE_CONVERTER_PATH,
          logger: quietBundlerLogger,
        }),
      ]);
      if (running.status === 'rejected') throw running.reason;
      if (bundled.status === 'rejected') throw bundled.reason;
      console.log(`# production stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plan.address}`);
      bundlePath = path.join(work, 'workflow-bundle-encrypted-failures.js');
      writeFileSync(bundlePath, bundled.value.code);
      connection = await Connection.connect({ address: plan.address });
      client = new Client({
        connection,
        namespace: plan.namespace,
        dataConverter: dataConverterFor(codecFromKeys(codecKeys)),
      });
    });

    after(async () => {
      await Promise.all(workers.map((w) => w.kill()));
      await Promise.all(rigs.map((r) => r.close()));
      await connection?.close();
      await stack?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
      if (kills.length) console.log('# production kills:', JSON.stringify(kills));
    });

    async function rig(envelopes = ENVELOPES, latencyMs = LATENCY_MS): Promise<Rig> {
      const r = await startRig({ keys, envelopes });
      rigs.push(r);
      r.emu.faults.latencyMs(latencyMs);
      return r;
    }

    /** A worker process as compose runs it (encrypted payloads and failures, evidence in Postgres), polling. */
    async function worker(r: Rig, taskQueue: string): Promise<WorkerProcess> {
      const w = await startWorkerProcess({
        address: stack!.plan.address,
        taskQueue,
        evidenceStore: stack!.plan.evidenceStore,
        env: {
          ...r.workerEnv,
          PAYLOAD_CODEC_KEYS: codecKeys,
          CONSENT_STATE_SECRET: consentSecret,
          WORKFLOW_BUNDLE_PATH: bundlePath,
        },
      });
      workers.push(w);
      await waitForPoller(client, w, taskQueue);
      return w;
    }

    /** Starts the connection with consent already given; the data spans 400 days, the backfill 500. */
    async function connect(r: Rig, taskQueue: string, connectionId: string): Promise<WorkflowHandle> {
      const backfillFrom = new Date(r.emu.now() - 500 * DAY_MS).toISOString();
      const handle = await r.start(client, taskQueue, r.config(connectionId, { backfillFrom }));
      handles.push(handle);
      await handle.signal(consentGrantedSignal);
      return handle;
    }

    /** The status, or undefined while the query cannot be answered (server or worker away). */
    const queryStatus = (handle: WorkflowHandle) => handle.query(statusQuery).catch(() => undefined);

    async function assertSynced(r: Rig, handle: WorkflowHandle, connectionId: string): Promise<ConnectionStatus> {
      const status = await waitForStatus(handle, idleAfterFirstSync, 120_000);
      const check = await assertStoreMatches(stack!.plan.evidenceStore, connectionId, r.emu, r.accountId);
      assert.equal(status.totals.envelopes, check.envelopes);
      assert.equal(status.lastError, undefined);
      return status;
    }

    // Most of a kill is waiting out the sync activity's heartbeat timeout: these run at once.
    void describe('connections and worker kills', { concurrency: true }, () => {
      void test('the lifecycle end to end: connect, consent through the consent server, first sync, idle with evidence', async () => {
        const r = await rig(300, 0);
        const taskQueue = uniqueTaskQueue('prod-lifecycle');
        const w = await worker(r, taskQueue);
        const connector = await ConnectorClient.create({
          connection: connection!,
          namespace: stack!.plan.namespace,
          taskQueue,
          dataConverter: dataConverterFor(codecFromKeys(codecKeys)),
          evidenceStore: stack!.plan.evidenceStore,
        });
        try {
          const connectionId = 'prod-lifecycle';
          const redirectUri = stack!.plan.consentCallbackUrl;
          await connector.connect(r.config(connectionId, { backfillFrom: BACKFILL_ALL, redirectUri }));
          handles.push(connector.handle(connectionId));
          const awaiting = await connector.waitForConsentUrl(connectionId, 30_000);
          assert.equal(awaiting.phase, 'awaiting_consent');
          // The customer's browser: DocuSign's consent page approves and redirects to the stack's consent server.
          const approved = await fetch(awaiting.consentUrl!, { redirect: 'manual' });
          await approved.arrayBuffer();
          const callback = approved.headers.get('location') ?? '';
          assert.ok(callback.startsWith(stack!.plan.consentCallbackUrl), callback);
          const landed = await fetch(callback);
          assert.equal(landed.status, 200, await landed.text());

          const status = await assertSynced(r, connector.handle(connectionId), connectionId);
          assert.ok(status.account?.baseUri.startsWith(r.emu.url), 'the regional base URI from userinfo');
          let stored = 0;
          for await (const record of connector.evidence(connectionId))
            stored += record.connectionId === connectionId ? 1 : 0;
          assert.equal(stored, status.totals.envelopes);
          // SQL visibility on Postgres serves the connector's search attributes.
          const query = `DocuSignConnectionId = "${connectionId}" AND DocuSignPhase = "idle" AND DocuSignLastSyncAt IS NOT NULL`;
          const listed = await waitForList(query, 1);
          assert.deepEqual(listed, [workflowIdOf(connectionId)]);
        } finally {
          await connector.close();
          await w.stop();
        }
      });

      test("a clean sync of the kill tests' data (the page baseline)", async () => {
        try {
          const r = await rig();
          const taskQueue = uniqueTaskQueue('prod-clean');
          const w = await worker(r, taskQueue);
          await assertSynced(r, await connect(r, taskQueue, 'prod-clean'), 'prod-clean');
          cleanRunDone(r.emu.stats.pagesServed);
          await w.stop();
        } catch (err) {
          cleanRunFailed(err);
          throw err;
        }
      });

      test('a worker SIGKILLed mid-sync: the next one finishes it, store exact, at most two pages fetched again', async () => {
        const r = await rig();
        const taskQueue = uniqueTaskQueue('prod-kill');
        const first = await worker(r, taskQueue);
        const handle = await connect(r, taskQueue, 'prod-kill');
        const killAt = 9; // the middle of the second backfill window
        await untilPagesServed(r.emu, killAt);
        await first.kill();
        const second = await worker(r, taskQueue);
        await assertSynced(r, handle, 'prod-kill');
        const refetched = r.emu.stats.pagesServed - (await cleanPages);
        kills.push({ what: 'worker', killAt, refetched });
        assert.ok(refetched <= 2, `killed after page ${killAt}: ${refetched} pages fetched again`);
        await second.stop();
      });

      test('two workers on one task queue, the one running the sync killed: the other finishes it', async () => {
        const r = await rig();
        const taskQueue = uniqueTaskQueue('prod-pair');
        const pair = [await worker(r, taskQueue), await worker(r, taskQueue)];
        const handle = await connect(r, taskQueue, 'prod-pair');
        const killAt = 7;
        await untilPagesServed(r.emu, killAt);
        let runner: string | undefined;
        for (let i = 0; i < 50 && !runner; i++) {
          runner = await runningActivityWorker(handle);
          if (!runner) await sleep(20);
        }
        const victim = pair.find((w) => w.identity === runner);
        assert.ok(victim, `the sync runs on one of the two workers (running on ${runner})`);
        await victim.kill();
        const survivor = pair.find((w) => w !== victim)!;
        await assertSynced(r, handle, 'prod-pair');
        assert.equal(survivor.child.exitCode, null, 'the survivor is still running');
        const refetched = r.emu.stats.pagesServed - (await cleanPages);
        kills.push({ what: 'two workers', killAt, refetched });
        assert.ok(refetched <= 2, `killed after page ${killAt}: ${refetched} pages fetched again`);
        await survivor.stop();
      });
    });

    void describe('outages', () => {
      /** Starts a slow sync, runs `outage` once 3 pages are in, then checks the sync completed exactly. */
      async function syncThrough(connectionId: string, outage: () => Promise<void>): Promise<void> {
        const r = await rig(ENVELOPES, SLOW_LATENCY_MS);
        const taskQueue = uniqueTaskQueue(connectionId);
        const w = await worker(r, taskQueue);
        const handle = await connect(r, taskQueue, connectionId);
        await untilPagesServed(r.emu, 3);
        await outage();
        const pagesWhenBack = r.emu.stats.pagesServed;
        r.emu.faults.latencyMs(20);
        // The worker must ride the outage out: if it dies, the test fails as soon as it notices, with what it died of.
        const deadline = Date.now() + 120_000;
        for (let s = await queryStatus(handle); !s || !idleAfterFirstSync(s); s = await queryStatus(handle)) {
          if (w.child.exitCode !== null || w.child.signalCode !== null) {
            const errors = w.output
              .filter((l) => /\bError\b/.test(l))
              .slice(0, 3)
              .join('\n');
            throw new Error(`the worker exited (${w.child.signalCode ?? `code ${w.child.exitCode}`}):\n${errors}`);
          }
          if (Date.now() > deadline) {
            const temporal = stack!.services.get('temporal')!;
            throw new Error(`no finished sync after 120 s; ${temporal.logFile} ends:\n${temporal.logTail(5)}`);
          }
          await sleep(150);
        }
        await assertSynced(r, handle, connectionId);
        assert.ok(pagesWhenBack < r.emu.stats.pagesServed, 'the sync was still running when the outage ended');
        console.log(`# ${connectionId}: ${pagesWhenBack} pages when back, ${r.emu.stats.pagesServed} in all`);
        await w.stop();
      }

      test('the Temporal server SIGKILLed mid-sync and started again on its Postgres: the sync completes', async () => {
        await syncThrough('prod-server-kill', async () => {
          const temporal = stack!.services.get('temporal')!;
          await temporal.stop('SIGKILL');
          await sleep(2000); // the worker keeps paging and fails to heartbeat meanwhile
          await stack!.restart('temporal');
        });
      });

      test("the Temporal database's Postgres restarted mid-sync (the evidence store's too, as in compose)", async () => {
        await syncThrough('prod-postgres-restart', async () => {
          await stack!.postgres.stop();
          await sleep(2000);
          await stack!.postgres.start();
        });
        assert.ok(stack!.services.get('temporal')!.running, 'the Temporal server rode out its database restart');
      });
    });

    test("operators' view in Chromium: lists, filters by DocuSignPhase, current details, payloads decoded", async () => {
      const r = await rig(150, 0);
      const taskQueue = uniqueTaskQueue('prod-ui');
      const w = await worker(r, taskQueue);
      const idle = await connect(r, taskQueue, 'prod-ui-idle');
      const status = await waitForStatus(idle, idleAfterFirstSync, 60_000);
      // A second connection in another phase: consent never given.
      const waiting = await r.start(client, taskQueue, r.config('prod-ui-waiting'));
      handles.push(waiting);
      await waitForStatus(waiting, (s) => s.phase === 'awaiting_consent' && !!s.consentUrl);
      for (const [id, phase] of [
        ['prod-ui-idle', 'idle'],
        ['prod-ui-waiting', 'awaiting_consent'],
      ]) {
        await waitForList(`DocuSignConnectionId = "${id}" AND DocuSignPhase = "${phase}"`, 1);
      }
      await checkOperatorsView({
        uiUrl: stack!.plan.uiUrl,
        codecUrl: stack!.plan.codecUrl,
        namespace: stack!.plan.namespace,
        client,
        idle: { handle: idle, status },
        waiting,
        screenshotDir: process.env.UI_SCREENSHOT_DIR,
      });
      await w.stop();
    });

    test('no secret in any history or worker output', async () => {
      const texts = [...(await historiesText(handles)), ...workers.flatMap((w) => w.output)];
      for (const r of rigs) assert.deepEqual(findLeaks({ emu: r.emu, keys }, texts), [], 'secret material leaked');
    });

    /** The workflow IDs a visibility query lists, once it lists `count` (visibility trails the workflow a little). */
    async function waitForList(query: string, count: number): Promise<string[]> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
        if (ids.length >= count || Date.now() > deadline) return ids.sort();
        await sleep(250);
      }
    }
  },
);
