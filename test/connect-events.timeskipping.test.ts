/**
 * `connectEvents` (DocuSign Connect, debounced by the connect listener) in the lifecycle, on the time-skipping server
 * with fake activities: an idle connection syncs its envelopes at once instead of within the hour; a failing one
 * only counts the events, so a webhook burst cannot turn the attention backoff into a loop.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Activities } from '../activities';
import type { ConnectionConfig } from '../workflows/config';
import type { SnapshotKind } from '../workflows/evidence';
import {
  connectEventsSignal,
  consentGrantedSignal,
  statusQuery,
  WORKFLOW_TYPE,
  workflowIdOf,
  type ConnectionStatus,
} from '../workflows/messages';
import { timeSkippingEnv, uniqueTaskQueue, withConnectionWorkers } from './helpers/temporal';
import { SkippedClock } from './helpers/time-skipping';

const HOUR = 3_600_000;

describe('connectEvents in the lifecycle (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let clock: SkippedClock;
  before(async () => {
    env = await timeSkippingEnv();
    clock = new SkippedClock(env);
  });
  after(async () => {
    await env?.teardown();
  });

  /** Counts what the workflow asks DocuSign for; `grantRevoked` makes every token request fail as invalid_grant. */
  function fakeActivities() {
    const calls = {
      envelopeSyncs: [] as number[],
      snapshots: 0,
      tokenRequests: 0,
      proofPasses: 0,
      stored: [] as Record<string, unknown>[][],
    };
    /** What storeEventEnvelopes answers: how many of the envelopes did not validate. */
    const storing = { rejected: 0 };
    let grantRevoked = false;
    const token = async () => {
      calls.tokenRequests++;
      if (grantRevoked)
        throw ApplicationFailure.nonRetryable('DocuSign: invalid_grant (no_valid_keys)', 'invalid_grant');
      return { expiresAt: new Date((await env.currentTimeMs()) + HOUR).toISOString() };
    };
    const envelopeSync = async () => {
      const at = await env.currentTimeMs();
      calls.envelopeSyncs.push(at);
      const iso = new Date(at).toISOString();
      return { cursor: iso, envelopes: 1, pages: 1, totalStored: 1, quarantined: 0, finishedAt: iso };
    };
    const snapshots = async (kinds: SnapshotKind[], takenAt: string) => {
      calls.snapshots += kinds.length;
      return kinds.map((kind) => ({ kind, takenAt, count: 1 }));
    };
    const activities: Activities = {
      consentUrl: async () => ({ url: 'https://account-d.docusign.com/oauth/auth?client_id=x' }),
      refreshToken: token,
      authorize: async () => ({
        account: { accountId: 'acc-1', baseUri: 'https://demo.docusign.net' },
        token: await token(),
      }),
      syncEnvelopes: envelopeSync,
      takeSnapshot: () => Promise.reject(new Error('runs started now take their snapshots in one pass')),
      takeSnapshots: async (input) => snapshots(input.kinds, input.takenAt),
      syncPass: async (input) => ({
        envelopes: await envelopeSync(),
        snapshots: await snapshots(input.snapshotKinds, input.startedAt),
      }),
      collectProof: async () => {
        calls.proofPasses++;
        return { collected: 0, pending: 0, failed: 0, downloaded: 0 };
      },
      searchAttributeRegistered: async () => true,
      storedEnvelopeCount: async () => 1,
      storeEventEnvelopes: async ({ envelopes }) => {
        calls.stored.push(envelopes);
        const valid = envelopes.length - storing.rejected;
        return {
          stored: valid,
          rejected: storing.rejected,
          completed: envelopes.filter((e) => e.status === 'completed').length,
          totalStored: 1 + valid,
        };
      },
    };
    return { activities, calls, storing, revokeGrant: () => (grantRevoked = true) };
  }

  async function run(
    connectionId: string,
    fake: ReturnType<typeof fakeActivities>,
    body: (handle: Awaited<ReturnType<typeof env.client.workflow.start>>) => Promise<void>,
  ) {
    const taskQueue = uniqueTaskQueue('connect-events');
    const options = {
      connection: env.nativeConnection,
      taskQueue,
      activities: fake.activities,
    };
    const config: ConnectionConfig = {
      connectionId,
      signedProof: 'all-completed',
      environment: 'demo',
      integrationKey: '11111111-2222-3333-4444-555555555555',
      userId: '66666666-7777-8888-9999-000000000000',
      privateKeyRef: 'file:/keys/good.pem',
      syncIntervalMinutes: 60,
    };
    await withConnectionWorkers(options, async () => {
      const handle = clock.watch(
        await env.client.workflow.start(WORKFLOW_TYPE, {
          taskQueue,
          workflowId: workflowIdOf(connectionId),
          args: [config],
        }),
      );
      try {
        await body(handle);
      } finally {
        await clock.terminateAll();
      }
    });
  }

  test('idle: an event syncs envelopes at once (not within the hour), counted with its time; snapshots wait', async () => {
    const fake = fakeActivities();
    await run('events-idle', fake, async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      assert.equal(fake.calls.envelopeSyncs.length, 1);
      const snapshots = fake.calls.snapshots;

      await clock.skip('10m');
      const sentAt = await env.currentTimeMs();
      await clock.signal(handle, connectEventsSignal, {
        events: 3,
        envelopeIds: ['e1', 'e2'],
        lastEventAt: '2026-12-01T10:00:02.000Z',
      });
      await clock.signal(handle, connectEventsSignal, {
        events: 1,
        envelopeIds: ['e3'],
        lastEventAt: '2026-12-01T10:00:01.000Z',
      });
      await clock.skip('1m');
      // The first signal starts a sync; the second, if it lands during it, queues exactly one follow-up.
      const eventSyncs = fake.calls.envelopeSyncs.slice(1);
      assert.ok(eventSyncs.length === 1 || eventSyncs.length === 2, `${eventSyncs.length} syncs for two signals`);
      assert.ok(
        eventSyncs.every((at) => at - sentAt < 60_000),
        'synced within a minute of the events (the hourly sync not yet due)',
      );
      assert.equal(fake.calls.snapshots, snapshots, 'events are about envelopes only');

      const status: ConnectionStatus = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.deepEqual(status.connectEvents, { received: 4, lastEventAt: '2026-12-01T10:00:02.000Z' });
      const details = (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
      assert.match(details ?? '', /Connect events: 4, last 2026-12-01T10:00:02.000Z/);
    });
  });

  test('idle: envelopes the events carried are stored with no DocuSign call, then their proof; invalid ones → a sync', async () => {
    const fake = fakeActivities();
    await run('events-carried', fake, async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      const syncs = fake.calls.envelopeSyncs.length;
      const proofPasses = fake.calls.proofPasses;
      const envelope = { envelopeId: 'e1', status: 'completed', statusChangedDateTime: '2026-12-01T10:00:00Z' };
      await clock.signal(handle, connectEventsSignal, {
        events: 1,
        envelopeIds: ['e1'],
        lastEventAt: '2026-12-01T10:00:01Z',
        envelopes: [envelope],
      });
      await clock.skip('1m');
      assert.deepEqual(fake.calls.stored, [[envelope]], 'stored as the event carried it');
      assert.equal(fake.calls.envelopeSyncs.length, syncs, 'no listing read');
      assert.equal(fake.calls.proofPasses, proofPasses + 1, 'proof collected for the completed envelope');
      assert.equal((await handle.query(statusQuery)).totals.envelopes, 2);

      fake.storing.rejected = 1;
      await clock.signal(handle, connectEventsSignal, {
        events: 1,
        envelopeIds: ['e2'],
        lastEventAt: '2026-12-01T10:00:02Z',
        envelopes: [{ envelopeId: 'e2', status: 'sent' }],
      });
      await clock.skip('1m');
      assert.equal(fake.calls.stored.length, 2);
      assert.equal(fake.calls.envelopeSyncs.length, syncs + 1, 'what did not validate is left to the listing');
    });
  });

  test('needs_attention: a burst of events is counted, and makes no attempt beyond the backoff', async () => {
    const fake = fakeActivities();
    await run('events-attention', fake, async (handle) => {
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      fake.revokeGrant();
      await clock.skip('2h'); // the next token re-mint fails: needs_attention
      // A retry due as the skip ends is not the one this test waits for: let it run first.
      await clock.settle();
      let status: ConnectionStatus = await handle.query(statusQuery);
      assert.equal(status.phase, 'needs_attention');
      assert.equal(status.lastError?.code, 'invalid_grant');
      const tokenRequests = fake.calls.tokenRequests;
      const retryAt = Date.parse(status.nextSyncAt!);

      for (let i = 0; i < 20; i++) {
        await clock.signal(handle, connectEventsSignal, {
          events: 25,
          envelopeIds: [],
          lastEventAt: new Date().toISOString(),
        });
      }
      // Up to just before the scheduled retry: nothing asked of DocuSign.
      const untilRetry = retryAt - (await env.currentTimeMs()) - 1000;
      if (untilRetry > 0) await clock.skip(untilRetry);
      status = await handle.query(statusQuery);
      assert.equal(fake.calls.tokenRequests, tokenRequests, 'the events made no attempt');
      assert.equal(status.connectEvents?.received, 500);
      assert.equal(status.phase, 'needs_attention');
    });
  });
});
