/**
 * The connection lifecycle on the time-skipping server, with fake activities that model DocuSign's decisions
 * (consent, key validity) on the server's skipped clock. Days pass in seconds.
 */
import { Context } from '@temporalio/activity';
import { WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Activities } from '../activities';
import type { ConnectionConfig } from '../workflows/config';
import type { SyncInput } from '../activities/sync';
import { MAX_HISTORY_EVENTS } from '../workflows/connection';
import { ATTENTION_BACKOFF_MS, REMINT_BEFORE_EXPIRY_MS, SYNC_JITTER } from '../workflows/schedule';
import { ERROR_HINTS } from '../workflows/errors';
import type { SyncResult } from '../workflows/evidence';
import {
  consentDeniedSignal,
  consentGrantedSignal,
  credentialsUpdatedSignal,
  disconnectSignal,
  statusQuery,
  syncAndWaitUpdate,
  syncNowSignal,
  WORKFLOW_TYPE,
  workflowIdOf,
  type ConnectionStatus,
} from '../workflows/messages';
import { eventsOfEachRun, wakersOfLocalActivity } from './helpers/evidence';
import { timeSkippingEnv, uniqueTaskQueue, withConnectionWorkers } from './helpers/temporal';
import { SkippedClock } from './helpers/time-skipping';

const HOUR = 3_600_000;
/** Every test body ends well within this (days pass in seconds); one that does not has hung. */
const BODY_LIMIT_MS = 120_000;

/** What the SDK's built-in `__temporal_workflow_metadata` query answers (the UI reads it). */
interface WorkflowMetadata {
  currentDetails?: string;
  definition?: Record<
    'queryDefinitions' | 'signalDefinitions' | 'updateDefinitions',
    { name: string; description?: string }[] | undefined
  >;
}

/** DocuSign as the fake activities see it; every decision is made on the test server's (skipped) clock. */
class FakeDocuSign {
  consent = false;
  goodKeyRef = 'file:/keys/good.pem';
  tokenLifetimeMs = HOUR;
  mints: { at: number; expiresAt: number }[] = [];
  /** Every token request, refused ones included. */
  mintAttempts = 0;
  /** Lifetime of the consent URL's signed state; undefined = an unsigned link that never expires. */
  consentStateTtlMs?: number;
  consentLinks: { at: number; expiresAt?: string }[] = [];
  /** While set, building the consent URL fails with this (a plain Error: a bug, not a typed failure). */
  consentUrlError?: string;
  /** While set, authorize fails with an untyped Error (a bug in the connector). */
  authorizeBug?: string;
  syncs: { at: number; cursor?: string }[] = [];
  /** authorize attempts (an activity retried 4 times counts 4). */
  authorizeCalls = 0;
  /** authorize activities scheduled by the workflow (first attempts only). */
  authorizeActivities = 0;
  /** While set, the evidence store is down: syncs and counts fail. */
  storeDown = false;
  /** While set, a sync waits for it: tests deliver signals while a sync is running. */
  syncGate?: Promise<void>;
  runningSyncs = 0;
  maxConcurrentSyncs = 0;

  constructor(private readonly env: TestWorkflowEnvironment) {}

  private async mint(config: ConnectionConfig): Promise<{ expiresAt: string }> {
    this.mintAttempts += 1;
    if (config.privateKeyRef !== this.goodKeyRef) {
      throw ApplicationFailure.create({
        type: 'invalid_grant',
        message: 'DocuSign: invalid_grant (no_valid_keys_or_signatures)',
        details: [{ code: 'invalid_grant', reason: 'no_valid_keys_or_signatures' }],
      });
    }
    if (!this.consent) {
      throw ApplicationFailure.nonRetryable('DocuSign: consent_required', 'consent_required');
    }
    const at = await this.env.currentTimeMs();
    const expiresAt = at + this.tokenLifetimeMs;
    this.mints.push({ at, expiresAt });
    return { expiresAt: new Date(expiresAt).toISOString() };
  }

  private async syncEnvelopes(input: SyncInput): Promise<SyncResult> {
    if (this.storeDown) throw storeUnavailable();
    this.runningSyncs += 1;
    this.maxConcurrentSyncs = Math.max(this.maxConcurrentSyncs, this.runningSyncs);
    // Also ends on cancellation (the worker shutting down after a failed test), never holding the shutdown.
    await Promise.race([this.syncGate, Context.current().cancelled]);
    this.runningSyncs -= 1;
    const at = await this.env.currentTimeMs();
    this.syncs.push({ at, cursor: input.cursor });
    return {
      cursor: new Date(at).toISOString(),
      envelopes: 3,
      pages: 1,
      totalStored: 3 * this.syncs.length,
      quarantined: 0,
      finishedAt: new Date(at).toISOString(),
    };
  }

  activities(): Activities {
    return {
      consentUrl: async (config) => {
        if (this.consentUrlError) throw new Error(this.consentUrlError);
        const at = await this.env.currentTimeMs();
        const expiresAt = this.consentStateTtlMs ? new Date(at + this.consentStateTtlMs).toISOString() : undefined;
        this.consentLinks.push({ at, expiresAt });
        const url = `https://account-d.docusign.com/oauth/auth?client_id=${config.integrationKey}&state=${at}`;
        return expiresAt ? { url, expiresAt } : { url };
      },
      refreshToken: async (config) => this.mint(config),
      authorize: async (config) => {
        this.authorizeCalls += 1;
        if (Context.current().info.attempt === 1) this.authorizeActivities += 1;
        if (this.authorizeBug) throw new Error(this.authorizeBug);
        const token = await this.mint(config);
        return { account: { accountId: 'acc-1', accountName: 'Acme', baseUri: 'https://demo.docusign.net' }, token };
      },
      syncEnvelopes: (input) => this.syncEnvelopes(input),
      syncPass: async (input) => ({
        envelopes: await this.syncEnvelopes(input),
        snapshots: input.snapshotKinds.map((kind) => ({ kind, takenAt: input.startedAt, count: 0 })),
      }),
      collectProof: async () => ({ collected: 0, pending: 0, failed: 0, downloaded: 0 }),
      takeSnapshot: () => Promise.reject(new Error('runs started now take their snapshots in one pass')),
      takeSnapshots: async (input) => input.kinds.map((kind) => ({ kind, takenAt: input.takenAt, count: 0 })),
      searchAttributeRegistered: async () => true,
      storeEventEnvelopes: () => Promise.reject(new Error('no Connect events in these tests')),
      storedEnvelopeCount: async () => {
        if (this.storeDown) throw storeUnavailable();
        return 3 * this.syncs.length;
      },
    };
  }
}

const storeUnavailable = () =>
  ApplicationFailure.nonRetryable(
    'Evidence store postgres://x@db/evidence: cannot connect',
    'evidence_store_unavailable',
  );

const baseConfig = (connectionId: string): ConnectionConfig => ({
  connectionId,
  environment: 'demo',
  integrationKey: '11111111-2222-3333-4444-555555555555',
  userId: '66666666-7777-8888-9999-000000000000',
  privateKeyRef: 'file:/keys/good.pem',
});

describe('docusignConnection on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let clock: SkippedClock;
  before(async () => {
    env = await timeSkippingEnv();
    clock = new SkippedClock(env);
  });
  after(async () => {
    await env?.teardown();
  });

  /**
   * Runs `body` with a worker on a task queue of its own, and always cleans up, so a failing test fails in seconds
   * instead of hanging the file: a workflow left running (its worker gone) would stall time skipping for every later
   * test. The body gets BODY_LIMIT_MS; the worker's shutdown cannot wait on a stuck activity for more than 10 s.
   * Whatever the test does, the workflows it started are terminated after it.
   */
  async function withWorker<T>(fake: FakeDocuSign, body: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = uniqueTaskQueue('ts');
    const options = {
      connection: env.nativeConnection,
      taskQueue,
      activities: fake.activities(),
      shutdownForceTime: '10s',
    };
    return withConnectionWorkers(options, async () => {
      let deadline: NodeJS.Timeout | undefined;
      try {
        const limit = new Promise<never>((_, reject) => {
          deadline = setTimeout(
            () => reject(new Error(`test body did not settle in ${BODY_LIMIT_MS} ms`)),
            BODY_LIMIT_MS,
          );
        });
        return await Promise.race([body(taskQueue), limit]);
      } finally {
        clearTimeout(deadline);
        await clock.terminateAll();
      }
    });
  }

  const start = async (taskQueue: string, config: ConnectionConfig) => {
    const handle = await env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue,
      workflowId: workflowIdOf(config.connectionId),
      args: [config],
    });
    return clock.watch(handle);
  };

  test('waits for consent, then authorizes, syncs and re-mints before every expiry for 48 hours', async () => {
    const fake = new FakeDocuSign(env);
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-lifecycle'));
      await clock.skip('2h');
      let status = await handle.query(statusQuery);
      assert.equal(status.phase, 'awaiting_consent');
      assert.match(status.consentUrl ?? '', /oauth\/auth/);
      assert.equal(fake.mints.length, 0, 'no token can be minted before consent');

      // The consent probe due now must fire before the consent exists, or it would mint the first token itself.
      await clock.settle();
      fake.consent = true;
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('48h');
      status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(status.account?.baseUri, 'https://demo.docusign.net');
      assert.equal(status.consentUrl, undefined);

      // Every token was replaced before it expired, at most REMINT_BEFORE_EXPIRY_MS (+ slack) early: no gap, no churn.
      assert.ok(fake.mints.length >= 48, `expected hourly mints, got ${fake.mints.length}`);
      for (let i = 1; i < fake.mints.length; i++) {
        const prev = fake.mints[i - 1]!;
        const cur = fake.mints[i]!;
        assert.ok(cur.at < prev.expiresAt, `mint ${i} at ${new Date(cur.at).toISOString()} came after expiry`);
        assert.ok(prev.expiresAt - cur.at <= REMINT_BEFORE_EXPIRY_MS + 60_000, `mint ${i} came too early`);
      }
      const now = await env.currentTimeMs();
      assert.ok(fake.mints.at(-1)!.expiresAt > now, 'the current token is valid');
      assert.equal(status.token?.expiresAt, new Date(fake.mints.at(-1)!.expiresAt).toISOString());
      // Each re-mint is a local activity in the task its timer woke: no activity task or workflow task of its own.
      const runs = await eventsOfEachRun(handle);
      const scheduled = runs.flat().flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      const afterConsent = scheduled.slice(scheduled.indexOf('authorize')); // refreshToken before it: consent probes
      assert.ok(!afterConsent.includes('refreshToken'), `no refreshToken activity task: ${afterConsent.join(', ')}`);
      const remints = runs.flatMap((events) => wakersOfLocalActivity(events, 'refreshToken'));
      assert.equal(
        remints.length,
        fake.mints.length - 1,
        'every token after the first was re-minted in a local activity',
      );
      // (or, when the run continued as new as the token came due, the next run's first task)
      for (const { wakers } of remints)
        assert.match(wakers.join(), /^(timerFired|workflowExecutionStarted)EventAttributes$/);

      // Hourly syncs (default interval, up to 10 % later), each from the previous cursor.
      assert.ok(fake.syncs.length >= 43 && fake.syncs.length <= 49, `syncs: ${fake.syncs.length}`);
      for (let i = 1; i < fake.syncs.length; i++) {
        const gap = fake.syncs[i]!.at - fake.syncs[i - 1]!.at;
        assert.ok(gap >= HOUR && gap <= HOUR * (1 + SYNC_JITTER) + 60_000, `sync ${i} came ${gap} ms after the last`);
      }
      assert.equal(fake.syncs[0]!.cursor, undefined);
      assert.equal(fake.syncs[1]!.cursor, new Date(fake.syncs[0]!.at).toISOString());
      assert.equal(status.totals.syncs, fake.syncs.length);

      await clock.signal(handle, disconnectSignal);
      const final = (await handle.result()) as ConnectionStatus;
      assert.equal(final.phase, 'disconnected');
    });
  });

  test('connections started together do not sync in lockstep: each next sync is 0-10 % later than the interval', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const handles = await Promise.all(
        Array.from({ length: 6 }, (_, i) => start(taskQueue, baseConfig(`ts-jitter-${i}`))),
      );
      await Promise.all(handles.map((h) => clock.signal(h, consentGrantedSignal)));
      await clock.skip('5m');
      const delays: number[] = [];
      for (const handle of handles) {
        const status = await handle.query(statusQuery);
        assert.equal(status.phase, 'idle');
        delays.push(Date.parse(status.nextSyncAt!) - Date.parse(status.lastSync!.finishedAt!));
      }
      for (const delay of delays) {
        assert.ok(delay >= HOUR && delay <= HOUR * (1 + SYNC_JITTER) + 1_000, `next sync ${delay} ms after the last`);
      }
      // Six draws over a 6-minute range all falling within 30 s of each other: odds of about 1 in 40,000.
      const spread = Math.max(...delays) - Math.min(...delays);
      assert.ok(spread >= 30_000, `next syncs spread over ${spread} ms only: ${delays.join(', ')}`);
    });
  });

  test('the evidence store down during a sync: needs_attention (not a failed workflow), recovers once it is back', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-store-down'));
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('5m');
      assert.equal((await handle.query(statusQuery)).totals.syncs, 1);

      fake.storeDown = true;
      await clock.signal(handle, syncNowSignal);
      await clock.skip('1m');
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'needs_attention');
      assert.equal(status.lastError?.code, 'evidence_store_unavailable');
      assert.equal(status.totals.envelopes, 3, 'the last known total is kept');

      fake.storeDown = false;
      await clock.signal(handle, syncNowSignal);
      await clock.skip('1m');
      assert.equal((await handle.query(statusQuery)).phase, 'idle');
    });
  });

  test('consent revoked mid-life returns to awaiting_consent with the consent URL, then recovers', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-revoked'));
      await clock.skip('30m');
      assert.equal((await handle.query(statusQuery)).phase, 'idle');

      fake.consent = false; // revoked in DocuSign: the next re-mint finds out
      await clock.skip('2h');
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'awaiting_consent');
      assert.equal(status.lastError?.code, 'consent_required');
      assert.equal(status.lastError?.hint, ERROR_HINTS.consent_required);
      assert.match(status.consentUrl ?? '', /oauth\/auth/);

      // Consent granted again elsewhere (admin consent): the slow probe notices without a signal.
      fake.consent = true;
      await clock.skip('20m');
      assert.equal((await handle.query(statusQuery)).phase, 'idle');
    });
  });

  test('invalid_grant lands in needs_attention with the hint, and credentialsUpdated recovers at once', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const config = { ...baseConfig('ts-invalid-grant'), privateKeyRef: 'file:/keys/wrong.pem' };
      const handle = await start(taskQueue, config);
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('10m');
      let status = await handle.query(statusQuery);
      assert.equal(status.phase, 'needs_attention');
      assert.equal(status.lastError?.code, 'invalid_grant');
      assert.match(status.lastError?.message ?? '', /no_valid_keys_or_signatures/);
      assert.equal(status.lastError?.hint, ERROR_HINTS.invalid_grant);

      // The slow backoff retries (and fails again) by itself ...
      const before = fake.authorizeCalls;
      await clock.skip('1h');
      assert.ok(fake.authorizeCalls > before, 'needs_attention retries on a timer');
      assert.equal((await handle.query(statusQuery)).phase, 'needs_attention');

      // ... and a fixed key is used at once.
      await clock.signal(handle, credentialsUpdatedSignal, { privateKeyRef: fake.goodKeyRef });
      await clock.skip('1m');
      status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(status.lastError, undefined);
      assert.equal(status.totals.syncs, 1);
    });
  });

  test('consent declined → needs_attention with the consent URL still shown; accepting later recovers', async () => {
    const fake = new FakeDocuSign(env);
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-consent-denied'));
      await clock.skip('1m');
      await clock.signal(handle, consentDeniedSignal, { error: 'access_denied' });
      await clock.skip('1d');
      let status = await handle.query(statusQuery);
      assert.equal(status.phase, 'needs_attention');
      assert.equal(status.lastError?.code, 'consent_denied');
      assert.equal(status.lastError?.hint, ERROR_HINTS.consent_denied);
      assert.match(status.consentUrl ?? '', /oauth\/auth/, 'the URL to accept at stays visible');
      assert.equal(fake.authorizeCalls, 0, 'a declined consent is not retried by a timer');

      fake.consent = true;
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('1m');
      status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(status.consentUrl, undefined);
    });
  });

  test('syncNow during a sync queues exactly one follow-up, never a concurrent sync', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    let open!: () => void;
    fake.syncGate = new Promise((resolve) => (open = resolve));
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-sync-queue'));
      await clock.signal(handle, consentGrantedSignal);
      while (fake.runningSyncs === 0) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await handle.query(statusQuery)).phase, 'syncing');
      for (let i = 0; i < 3; i++) await clock.signal(handle, syncNowSignal);
      fake.syncGate = undefined;
      open();
      await clock.skip('5m');
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(fake.syncs.length, 2, 'the first sync plus exactly one follow-up');
      assert.equal(fake.maxConcurrentSyncs, 1);
    });
  });

  test('continue-as-new keeps state, and signals keep working across runs', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const config = { ...baseConfig('ts-can'), syncIntervalMinutes: 15 };
      const handle = await start(taskQueue, config);
      await clock.skip('2d');
      const desc = await handle.describe();
      assert.notEqual(desc.runId, handle.firstExecutionRunId, 'the workflow continued as new');
      assert.ok(desc.historyLength <= MAX_HISTORY_EVENTS + 100, `history ${desc.historyLength} stays bounded`);

      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'idle');
      assert.equal(status.totals.syncs, fake.syncs.length, 'sync count carried across runs');
      assert.equal(fake.authorizeCalls, 1, 'the new run did not re-authorize: account and token were carried');
      // The cursor was carried too: each sync started where the previous one ended.
      for (let i = 1; i < fake.syncs.length; i++) {
        assert.equal(fake.syncs[i]!.cursor, new Date(fake.syncs[i - 1]!.at).toISOString());
      }

      const syncsBefore = fake.syncs.length;
      await clock.signal(handle, syncNowSignal);
      await clock.skip('1m');
      assert.equal(fake.syncs.length, syncsBefore + 1, 'syncNow reaches the continued run');
      await clock.signal(handle, disconnectSignal);
      const final = (await handle.result()) as ConnectionStatus;
      assert.equal(final.phase, 'disconnected');
      assert.equal(final.totals.syncs, fake.syncs.length);
    });
  });

  test('syncNow and syncAndWait on a failing connection: one attempt each, then the backoff resumes (bounded over a day)', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, {
        ...baseConfig('ts-attention-requests'),
        privateKeyRef: 'file:/keys/wrong.pem',
      });
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('2m');
      assert.equal((await handle.query(statusQuery)).phase, 'needs_attention');
      const failedAt = await env.currentTimeMs();
      const authorizeBefore = fake.authorizeActivities;
      const mintsBefore = fake.mintAttempts;

      let requests = 0;
      for (let i = 0; i < 6; i++) {
        const scheduled = (await handle.query(statusQuery)).nextSyncAt;
        const attemptsBefore = fake.authorizeActivities;
        if (i % 2 === 0) {
          await clock.signal(handle, syncNowSignal);
          await clock.skip('2m');
        } else {
          await clock.settle();
          const update = await handle.startUpdate(syncAndWaitUpdate, {
            args: [{}],
            waitForStage: WorkflowUpdateStage.ACCEPTED,
          });
          await clock.skip('2m');
          const answered = await update.result();
          assert.equal(answered.phase, 'needs_attention', 'syncAndWait returns once the attempt failed');
          assert.equal(answered.lastError?.code, 'invalid_grant');
        }
        requests += 1;
        const status = await handle.query(statusQuery);
        assert.equal(status.phase, 'needs_attention', 'back in needs_attention after the one attempt');
        assert.equal(fake.authorizeActivities, attemptsBefore + 1, `request ${i}: exactly one immediate attempt`);
        assert.equal(status.nextSyncAt, scheduled, `request ${i}: the backoff resumes towards the same retry time`);
        assert.ok(Date.parse(status.nextSyncAt!) > (await env.currentTimeMs()), 'nextSyncAt is the next real attempt');
        await clock.skip('3h');
      }
      await clock.skip(Math.max(1, failedAt + 24 * HOUR - (await env.currentTimeMs())));

      // The timer alone retries at 5, 15, 35, ... minutes after the failure (doubling, at most every 6 h).
      let timerRetries = 0;
      for (
        let at = 0, n = 0;
        (at += Math.min(ATTENTION_BACKOFF_MS.initial * 2 ** n, ATTENTION_BACKOFF_MS.max)) <= 24 * HOUR;
        n++
      ) {
        timerRetries += 1;
      }
      const attempts = fake.authorizeActivities - authorizeBefore;
      assert.ok(
        attempts <= timerRetries + requests,
        `${attempts} attempts in a day (timer ${timerRetries} + requests ${requests})`,
      );
      assert.ok(attempts >= timerRetries, `the timer kept retrying: ${attempts} attempts`);
      // Each attempt is one authorize activity, retried at most 4 times on invalid_grant.
      assert.ok(
        fake.mintAttempts - mintsBefore <= 4 * (timerRetries + requests),
        `${fake.mintAttempts - mintsBefore} token requests`,
      );
    });
  });

  test("needs_attention: the UI's current details show the error, its fix and the next retry; handlers are described", async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, {
        ...baseConfig('ts-attention-details'),
        privateKeyRef: 'file:/keys/wrong.pem',
      });
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('2m');
      const status = await handle.query(statusQuery);
      const metadata = await handle.query<WorkflowMetadata>('__temporal_workflow_metadata');
      const details = metadata.currentDetails ?? '';
      assert.match(details, /\*\*needs_attention\*\*/);
      assert.ok(details.includes(`fix: ${ERROR_HINTS.invalid_grant}`), details);
      assert.ok(details.includes(`next retry: ${status.nextSyncAt}`), details);
      const described = [
        ...(metadata.definition?.queryDefinitions ?? []),
        ...(metadata.definition?.signalDefinitions ?? []),
        ...(metadata.definition?.updateDefinitions ?? []),
      ];
      for (const name of [
        'status',
        'consentGranted',
        'consentDenied',
        'syncNow',
        'disconnect',
        'credentialsUpdated',
        'syncAndWait',
      ]) {
        const found = described.find((d) => d.name === name);
        assert.ok(found?.description, `${name} has a description for the UI`);
      }
    });
  });

  test('the consent URL is rebuilt before its signed state expires, while awaiting consent and after a decline', async () => {
    const fake = new FakeDocuSign(env);
    fake.consentStateTtlMs = 2 * HOUR;
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-consent-expiry'));
      for (let i = 0; i < 24; i++) {
        await clock.skip('25m');
        const status = await handle.query(statusQuery);
        assert.equal(status.phase, 'awaiting_consent');
        assert.ok(
          Date.parse(status.consentUrlExpiresAt!) > (await env.currentTimeMs()),
          `check ${i}: the link shown is valid`,
        );
        assert.ok(
          status.consentUrl?.includes(`state=${fake.consentLinks.at(-1)!.at}`),
          'the status shows the newest link',
        );
      }
      assert.ok(
        fake.consentLinks.length >= 6 && fake.consentLinks.length <= 12,
        `${fake.consentLinks.length} links in 10 h`,
      );

      await clock.signal(handle, consentDeniedSignal, { error: 'access_denied' });
      const linksBefore = fake.consentLinks.length;
      for (let i = 0; i < 12; i++) {
        await clock.skip('50m');
        const status = await handle.query(statusQuery);
        assert.equal(status.phase, 'needs_attention');
        assert.ok(
          Date.parse(status.consentUrlExpiresAt!) > (await env.currentTimeMs()),
          `declined ${i}: the link is valid`,
        );
      }
      assert.ok(fake.consentLinks.length > linksBefore, 'rebuilt after the decline too');
      assert.equal(fake.authorizeCalls, 0, 'rebuilding the link does not retry a declined consent');
    });
  });

  test('a failing consent URL does not fail the run: the error shows, and the URL appears once it can be built', async () => {
    const fake = new FakeDocuSign(env);
    fake.consentUrlError = 'state signing broke';
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-consent-url-fails'));
      await clock.skip('5m');
      let status = await handle.query(statusQuery);
      assert.equal(status.phase, 'awaiting_consent');
      assert.equal(status.consentUrl, undefined);
      assert.equal(status.lastError?.code, 'internal_error');
      assert.match(status.lastError?.message ?? '', /consent URL could not be built: state signing broke/);
      assert.equal((await handle.describe()).status.name, 'RUNNING');

      fake.consentUrlError = undefined;
      await clock.skip('20m');
      status = await handle.query(statusQuery);
      assert.match(status.consentUrl ?? '', /oauth\/auth/);
    });
  });

  test('a bug in an activity is internal_error, not docusign_unavailable', async () => {
    const fake = new FakeDocuSign(env);
    fake.consent = true;
    fake.authorizeBug = "Cannot read properties of undefined (reading 'accounts')";
    await withWorker(fake, async (taskQueue) => {
      const handle = await start(taskQueue, baseConfig('ts-internal-error'));
      await clock.signal(handle, consentGrantedSignal);
      await clock.skip('2m');
      const status = await handle.query(statusQuery);
      assert.equal(status.phase, 'needs_attention');
      assert.equal(status.lastError?.code, 'internal_error');
      assert.equal(status.lastError?.hint, ERROR_HINTS.internal_error);
    });
  });
});
