/**
 * SIGKILL of the worker process in the middle of the newer evidence (issues 12 and 13):
 * - a users snapshot killed mid-pages: a new worker finishes it, fetching again at most the page that was in flight,
 *   and the published snapshot equals the emulator's truth; nothing is published half meanwhile;
 * - a signed-proof backlog killed mid-way: a new worker finishes it; every artifact stored before the kill is never
 *   downloaded again (at most the one download in flight at the kill is repeated), and nothing is forgotten.
 * Each kill costs about 15 s of waiting: the activity's 10 s heartbeat timeout, then its 5 s retry interval.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DirectoryStore } from '../../activities/store';
import type { SnapshotRecord } from '../../activities/store/snapshots';
import { SNAPSHOT_KINDS } from '../../workflows/evidence';
import { consentGrantedSignal, syncNowSignal } from '../../workflows/messages';
import {
  sleep,
  startRig,
  startWorkerProcess,
  waitForPoller,
  waitForStatus,
  type Rig,
  type WorkerProcess,
} from '../helpers/processes';
import { devServerEnv, uniqueTaskQueue } from '../helpers/temporal';

const USERS = 1200; // 12 pages of 100
const LATENCY_MS = 60;
const PROOF_ENVELOPES = 60;

describe('SIGKILL mid-snapshot and mid-proof', { timeout: 300_000 }, () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let rig: Rig;
  const workers: WorkerProcess[] = [];
  before(async () => {
    env = await devServerEnv();
    client = env.client;
    rig = await startRig();
    rig.emu.seedDirectory(rig.accountId, { users: USERS, groups: 3, profiles: 3 });
  });
  after(async () => {
    for (const w of workers) await w.kill().catch(() => undefined);
    await rig?.close();
    if (!process.env.TEST_TEMPORAL_ADDRESS) await env?.teardown();
  });

  test('a killed users snapshot resumes after its last staged page and publishes the whole, once', async () => {
    const taskQueue = uniqueTaskQueue('snap-crash');
    const evidenceStore = path.join(rig.workDir, 'evidence');
    const startWorker = async () => {
      const worker = await startWorkerProcess({ address: env.address, taskQueue, evidenceStore, env: rig.workerEnv });
      workers.push(worker);
      await waitForPoller(client, worker, taskQueue);
      return worker;
    };
    const first = await startWorker();
    const handle: WorkflowHandle = await rig.start(client, taskQueue, rig.config('snap-crash'));
    await handle.signal(consentGrantedSignal);
    await waitForStatus(handle, (s) => s.phase === 'idle' && SNAPSHOT_KINDS.every((k) => s.evidence?.[k]));
    const store = new DirectoryStore(evidenceStore);
    const before = await store.snapshots.snapshots('snap-crash', 'users');

    rig.emu.faults.latencyMs(LATENCY_MS);
    const served = () => rig.emu.stats.calls['GET users'] ?? 0;
    const start = served();
    await handle.signal(syncNowSignal, { kinds: ['users'] });
    while (served() < start + 5) await sleep(10);
    await first.kill();
    const fetchedBeforeKill = served() - start;
    assert.deepEqual(await store.snapshots.snapshots('snap-crash', 'users'), before, 'nothing published half');

    await startWorker();
    const status = await waitForStatus(
      handle,
      (s) => s.phase === 'idle' && s.evidence?.users?.lastSnapshotAt !== before.at(-1)?.takenAt,
      120_000,
    );
    rig.emu.faults.clear();
    const pages = USERS / 100 + 1; // the impersonated user is listed too
    const refetched = served() - start - pages;
    assert.ok(refetched <= 1, `${refetched} users pages fetched again (${fetchedBeforeKill} before the kill)`);
    assert.equal(status.evidence?.users?.count, rig.emu.directory(rig.accountId).users.length);
    const latest: SnapshotRecord[] = [];
    for await (const r of store.snapshots.records('snap-crash', 'users')) latest.push(r);
    assert.deepEqual(
      latest.map((r) => r.object),
      rig.emu.directory(rig.accountId).users,
    );
    assert.equal((await store.snapshots.snapshots('snap-crash', 'users')).length, before.length + 1, 'published once');
    await store.close();
    await handle.terminate();
  });

  test('a killed proof backlog resumes: nothing stored is downloaded again, nothing is forgotten', async () => {
    const taskQueue = uniqueTaskQueue('proof-crash');
    const evidenceStore = path.join(rig.workDir, 'evidence-proof');
    const startWorker = async () => {
      const worker = await startWorkerProcess({ address: env.address, taskQueue, evidenceStore, env: rig.workerEnv });
      workers.push(worker);
      await waitForPoller(client, worker, taskQueue);
      return worker;
    };
    const envelopes = Array.from({ length: PROOF_ENVELOPES }, (_, i) =>
      rig.emu.addEnvelope(rig.accountId, { status: 'completed', subject: `Policy acknowledgement ${i}` }),
    );
    const first = await startWorker();
    rig.emu.faults.latencyMs(LATENCY_MS);
    const downloads = () => rig.emu.stats.calls['GET certificate'] ?? 0;
    const start = downloads();
    const handle: WorkflowHandle = await rig.start(
      client,
      taskQueue,
      rig.config('proof-crash', { signedProof: 'all-completed' }),
    );
    await handle.signal(consentGrantedSignal);
    while (downloads() < start + PROOF_ENVELOPES / 3) await sleep(10);
    await first.kill();

    await startWorker();
    const status = await waitForStatus(handle, (s) => s.phase === 'idle' && !!s.evidence?.signedProof, 180_000);
    rig.emu.faults.clear();
    const completed = rig.emu.envelopes(rig.accountId).filter((e) => e.status === 'completed');
    assert.deepEqual(status.evidence?.signedProof, { collected: completed.length, pending: 0, failed: 0 });
    const twice = envelopes.filter((e) => (rig.emu.stats.documentsDownloaded[e.envelopeId] ?? 0) > 1);
    assert.ok(twice.length <= 1, `${twice.length} certificates downloaded twice (at most the one in flight)`);
    const store = new DirectoryStore(evidenceStore);
    for await (const proof of store.proof.listProof('proof-crash')) assert.equal(proof.state, 'collected');
    await store.close();
    await handle.terminate();
  });
});
