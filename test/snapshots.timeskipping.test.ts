/**
 * Snapshots in the connection lifecycle, on the time-skipping server with fake activities: their own schedule
 * (snapshotIntervalHours) beside the hourly envelope syncs, `syncNow({ kinds })`, per-kind failures that do not hold
 * up the connection, and connection failures that do. Days pass in seconds.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Activities } from '../activities';
import type { ConnectionConfig } from '../workflows/config';
import { ConnectorError } from '../activities/errors';
import { syncPass } from '../activities/pass';
import { takeSnapshotPass } from '../activities/snapshot';
import { SNAPSHOT_KINDS, type SnapshotKind, type SnapshotResult } from '../workflows/evidence';
import { ERROR_HINTS, type ErrorCode } from '../workflows/errors';
import {
  consentGrantedSignal,
  statusQuery,
  syncAndWaitUpdate,
  syncNowSignal,
  WORKFLOW_TYPE,
  workflowIdOf,
} from '../workflows/messages';
import { timeSkippingEnv, uniqueTaskQueue, withConnectionWorkers } from './helpers/temporal';
import { SkippedClock } from './helpers/time-skipping';

const HOUR = 3_600_000;

class Fake {
  consent = true;
  envelopeSyncs: number[] = [];
  snapshots: { kind: SnapshotKind; at: number }[] = [];
  /** Kinds whose snapshot fails with this code until cleared. */
  failing = new Map<SnapshotKind, ErrorCode>();
  /** Every attempt at a kind, failed or not. */
  reads: SnapshotKind[] = [];
  constructor(private readonly env: TestWorkflowEnvironment) {}

  private async token() {
    if (!this.consent) throw ApplicationFailure.nonRetryable('DocuSign: consent_required', 'consent_required');
    return { expiresAt: new Date((await this.env.currentTimeMs()) + HOUR).toISOString() };
  }

  activities(): Activities {
    return {
      consentUrl: async () => ({ url: 'https://account-d.docusign.com/oauth/auth?client_id=x' }),
      refreshToken: async () => this.token(),
      authorize: async () => ({
        account: { accountId: 'acc-1', baseUri: 'https://demo.docusign.net' },
        token: await this.token(),
      }),
      syncEnvelopes: () => this.syncEnvelopes(),
      takeSnapshot: () => Promise.reject(new Error('runs started now take their snapshots in one pass')),
      // The product's passes (per-kind failures as data; the envelopes' result carried by a failure after them) over
      // a fake sync and fake kinds.
      takeSnapshots: (input) => takeSnapshotPass(input.kinds, (kind) => this.takeOne(kind, input.takenAt)),
      syncPass: (input) =>
        syncPass(
          () => this.syncEnvelopes(),
          () => takeSnapshotPass(input.snapshotKinds, (kind) => this.takeOne(kind, input.startedAt)),
        ),
      collectProof: async () => ({ collected: 0, pending: 0, failed: 0, downloaded: 0 }),
      searchAttributeRegistered: async () => true,
      storedEnvelopeCount: async () => 1,
      storeEventEnvelopes: () => Promise.reject(new Error('no Connect events in these tests')),
    };
  }

  private async syncEnvelopes() {
    const at = await this.env.currentTimeMs();
    this.envelopeSyncs.push(at);
    const iso = new Date(at).toISOString();
    return {
      cursor: iso,
      envelopes: 1,
      pages: 1,
      totalStored: this.envelopeSyncs.length,
      quarantined: 0,
      finishedAt: iso,
    };
  }

  private async takeOne(kind: SnapshotKind, takenAt: string): Promise<SnapshotResult> {
    this.reads.push(kind);
    const code = this.failing.get(kind);
    // Typed as the product types its failures, so the pass applies its own retry rules to them.
    if (code) throw new ConnectorError(code, `${kind}: ${code}`);
    const at = await this.env.currentTimeMs();
    this.snapshots.push({ kind, at });
    const first = this.snapshotsOf(kind) === 1;
    return { kind, takenAt, count: 10, ...(first ? {} : { changes: { added: 1, removed: 0, changed: 2 } }) };
  }

  snapshotsOf(kind: SnapshotKind): number {
    return this.snapshots.filter((s) => s.kind === kind).length;
  }
}

const config = (connectionId: string, extra: Partial<ConnectionConfig> = {}): ConnectionConfig => ({
  connectionId,
  environment: 'demo',
  integrationKey: '11111111-2222-3333-4444-555555555555',
  userId: '66666666-7777-8888-9999-000000000000',
  privateKeyRef: 'file:/keys/good.pem',
  ...extra,
});

describe('snapshots in the lifecycle (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let clock: SkippedClock;
  before(async () => {
    env = await timeSkippingEnv();
    clock = new SkippedClock(env);
  });
  after(async () => {
    await env?.teardown();
  });

  async function run(
    fake: Fake,
    cfg: ConnectionConfig,
    body: (handle: Awaited<ReturnType<typeof start>>) => Promise<void>,
  ) {
    const taskQueue = uniqueTaskQueue('snap');
    const options = {
      connection: env.nativeConnection,
      taskQueue,
      activities: fake.activities(),
    };
    await withConnectionWorkers(options, async () => {
      const handle = clock.watch(await start(taskQueue, cfg));
      try {
        await body(handle);
      } finally {
        await clock.terminateAll();
      }
    });
  }
  const start = (taskQueue: string, cfg: ConnectionConfig) =>
    env.client.workflow.start(WORKFLOW_TYPE, { taskQueue, workflowId: workflowIdOf(cfg.connectionId), args: [cfg] });

  test('after the first sync every kind is snapshotted; then on its own interval beside hourly envelope syncs', async () => {
    const fake = new Fake(env);
    await run(fake, config('snap-schedule', { snapshotIntervalHours: 6 }), async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      let status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      for (const kind of SNAPSHOT_KINDS) {
        assert.equal(fake.snapshotsOf(kind), 1, `${kind} taken once after the first sync`);
        assert.deepEqual(status.evidence?.[kind], {
          lastSnapshotAt: status.evidence?.[kind]?.lastSnapshotAt,
          count: 10,
        });
      }
      assert.ok(fake.envelopeSyncs[0]! <= fake.snapshots[0]!.at, 'envelopes first, then the snapshots');

      await clock.skip('24h');
      status = await handle.query(statusQuery);
      for (const kind of SNAPSHOT_KINDS) {
        assert.equal(fake.snapshotsOf(kind), 5, `${kind}: the first plus one every 6 h over a day`);
        assert.deepEqual(status.evidence?.[kind]?.lastChanges, { added: 1, removed: 0, changed: 2 });
      }
      assert.ok(
        fake.envelopeSyncs.length >= 22 && fake.envelopeSyncs.length <= 26,
        `${fake.envelopeSyncs.length} syncs`,
      );
      const details = (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
      assert.match(details ?? '', /evidence: users 10 \(\+1 −0 ~2\) · groups 10/);
    });
  });

  test('syncNow({ kinds }) syncs only those kinds; syncAndWait({ kinds }) returns when they are done', async () => {
    const fake = new Fake(env);
    await run(fake, config('snap-kinds'), async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      const envelopeSyncs = fake.envelopeSyncs.length;
      await clock.signal(handle, syncNowSignal, { kinds: ['users', 'groups'] });
      await clock.skip('1m');
      assert.equal(fake.envelopeSyncs.length, envelopeSyncs, 'no envelope sync was asked for');
      assert.equal(fake.snapshotsOf('users'), 2);
      assert.equal(fake.snapshotsOf('groups'), 2);
      assert.equal(fake.snapshotsOf('account-settings'), 1);

      await clock.settle();
      const status = await handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['account-settings'] }] });
      assert.equal(status.phase, 'idle');
      assert.equal(fake.snapshotsOf('account-settings'), 2, 'the update returned after the snapshot it asked for');
      assert.equal(fake.envelopeSyncs.length, envelopeSyncs);

      await assert.rejects(
        handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['templates' as never] }] }),
        (err: Error) =>
          /unknown kinds templates: kinds are envelopes, users/.test((err.cause as Error | undefined)?.message ?? ''),
      );
    });
  });

  test('a kind that fails on its own shows its error and is retried in an hour; the connection stays idle', async () => {
    const fake = new Fake(env);
    fake.failing.set('signing-groups', 'request_rejected');
    await run(fake, config('snap-kind-fails'), async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      let status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(status.lastError, undefined, 'not an error of the connection');
      assert.equal(status.evidence?.['signing-groups']?.lastError?.code, 'request_rejected');
      assert.equal(status.evidence?.['signing-groups']?.lastError?.hint, ERROR_HINTS.request_rejected);
      assert.equal(fake.snapshotsOf('users'), 1, 'the other kinds were taken');

      fake.failing.delete('signing-groups');
      await clock.skip('65m');
      status = await handle.query(statusQuery);
      assert.equal(fake.snapshotsOf('signing-groups'), 1, 'retried within the hour');
      assert.equal(status.evidence?.['signing-groups']?.lastError, undefined);
      assert.equal(status.evidence?.['signing-groups']?.count, 10);
    });
  });

  test('a kind DocuSign keeps failing for: the pass is retried, then that kind shows the error and the rest are taken', async () => {
    const fake = new Fake(env);
    fake.failing.set('groups', 'docusign_unavailable');
    await run(fake, config('snap-kind-retried'), async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('45m'); // the bulk retry policy gives up after ~30 minutes
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(status.lastError, undefined, 'not an error of the connection');
      assert.equal(status.evidence?.groups?.lastError?.code, 'docusign_unavailable');
      for (const kind of SNAPSHOT_KINDS.filter((k) => k !== 'groups')) {
        assert.equal(status.evidence?.[kind]?.count, 10, `${kind} taken`);
        assert.equal(status.evidence?.[kind]?.lastError, undefined, `${kind} without an error`);
      }
      const groupReads = fake.reads.filter((k) => k === 'groups').length;
      assert.ok(groupReads > 1, `the pass was retried (${groupReads} reads of groups)`);
    });
  });

  test('a failure of the connection itself during a snapshot is the connection’s: consent revoked → awaiting_consent', async () => {
    const fake = new Fake(env);
    fake.failing.set('users', 'consent_required');
    await run(fake, config('snap-connection-fails'), async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'awaiting_consent');
      assert.equal(status.lastError?.code, 'consent_required');
      // The envelopes synced before the snapshots in the same activity: the failure carried their result.
      assert.equal(status.totals.syncs, 1);
      assert.equal(status.lastSync?.finishedAt, new Date(fake.envelopeSyncs[0]!).toISOString());
    });
  });
});
