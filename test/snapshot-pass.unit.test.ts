/**
 * A snapshot pass as one activity (activities/snapshot.ts takeSnapshotPass): which failures are a kind's own
 * outcome, which fail the pass for Temporal to retry, which end it at once, and what the failure tells the workflow.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { DocuSignClient } from '../activities/docusign';
import { takeSnapshot, takeSnapshotPass, type SnapshotInput } from '../activities/snapshot';
import { DirectoryStore } from '../activities/store';
import type { TokenService } from '../activities/tokens';
import { ConnectorError, type FailureDetails } from '../activities/errors';
import type { SnapshotKind, SnapshotResult } from '../workflows/evidence';

const ALL: SnapshotKind[] = ['users', 'groups', 'permission-profiles', 'signing-groups', 'account-settings'];
const TAKEN_AT = '2026-12-02T08:00:00.000Z';

/** A pass where the kinds in `failures` throw that error and the others are taken; records the kinds it read. */
function pass(failures: Partial<Record<SnapshotKind, unknown>>) {
  const read: SnapshotKind[] = [];
  const run = () =>
    takeSnapshotPass(ALL, async (kind): Promise<SnapshotResult> => {
      read.push(kind);
      if (kind in failures) throw failures[kind];
      return { kind, takenAt: TAKEN_AT, count: 7 };
    });
  return { run, read };
}

const taken = (kind: SnapshotKind): SnapshotResult => ({ kind, takenAt: TAKEN_AT, count: 7 });
const detailsOf = (err: unknown) => (err as ApplicationFailure).details?.[0] as FailureDetails;

describe('a snapshot pass in one activity', () => {
  test('every kind taken: the outcomes in order, no failure', async () => {
    const { run, read } = pass({});
    assert.deepEqual(await run(), ALL.map(taken));
    assert.deepEqual(read, ALL);
  });

  test("a kind's permanent failure (a refused request) is its outcome; the rest are taken and the pass succeeds", async () => {
    const { run, read } = pass({ groups: new ConnectorError('request_rejected', 'DocuSign groups: 400 INVALID') });
    const outcomes = await run();
    assert.deepEqual(read, ALL);
    assert.deepEqual(outcomes[1], {
      kind: 'groups',
      failed: { code: 'request_rejected', message: 'DocuSign groups: 400 INVALID' },
    });
    assert.deepEqual(
      outcomes.filter((o) => !('failed' in o)),
      ALL.filter((k) => k !== 'groups').map(taken),
    );
  });

  test('a failure worth retrying lets the other kinds run, then fails the pass (retryable) with every outcome', async () => {
    const { run, read } = pass({
      users: new ConnectorError('docusign_unavailable', 'DocuSign users answered HTTP 503'),
      'signing-groups': new ConnectorError('invalid_response', 'signing groups: groups must be an array'),
    });
    const err = await run().then(
      () => assert.fail('the pass must fail'),
      (e: unknown) => e,
    );
    assert.deepEqual(read, ALL, 'no kind held up by another');
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'docusign_unavailable');
    assert.equal(err.nonRetryable, false, 'Temporal retries the pass');
    const details = detailsOf(err);
    assert.equal(details.code, 'docusign_unavailable', 'the failure keeps its own details');
    assert.deepEqual(details.snapshots, [
      { kind: 'users', failed: { code: 'docusign_unavailable', message: 'DocuSign users answered HTTP 503' } },
      taken('groups'),
      taken('permission-profiles'),
      {
        kind: 'signing-groups',
        failed: { code: 'invalid_response', message: 'signing groups: groups must be an array' },
      },
      taken('account-settings'),
    ]);
  });

  test('an unknown fault is retried like one of DocuSign (internal_error), after the other kinds', async () => {
    const { run, read } = pass({ 'account-settings': new TypeError('x is undefined') });
    await assert.rejects(run(), (err: ApplicationFailure) => err.type === 'internal_error' && !err.nonRetryable);
    assert.deepEqual(read, ALL);
  });

  test('a failure of the connection ends the pass at once, carrying the kinds done so far', async () => {
    const { run, read } = pass({
      'permission-profiles': ApplicationFailure.nonRetryable('DocuSign: consent_required', 'consent_required'),
    });
    await assert.rejects(run(), (err: ApplicationFailure) => {
      assert.equal(err.type, 'consent_required');
      assert.equal(err.nonRetryable, true);
      assert.deepEqual(detailsOf(err).snapshots, [taken('users'), taken('groups')]);
      return true;
    });
    assert.deepEqual(read, ['users', 'groups', 'permission-profiles'], 'nothing read after it');
  });

  test('the rate limit ends the pass at once and keeps its retry delay (the rest would be refused too)', async () => {
    const limited = new ConnectorError('rate_limited', 'hourly limit reached', { retryAfterMs: 90_000 });
    const { run, read } = pass({ groups: limited });
    await assert.rejects(run(), (err: ApplicationFailure) => {
      assert.equal(err.type, 'rate_limited');
      assert.equal(err.nextRetryDelay, 90_000);
      assert.deepEqual(detailsOf(err).snapshots, [taken('users')]);
      return true;
    });
    assert.deepEqual(read, ['users', 'groups']);
  });

  test('a cancellation passes through as it is', async () => {
    const cancelled = new CancelledFailure('activity cancelled');
    const { run } = pass({ users: cancelled });
    await assert.rejects(run(), (err) => err === cancelled);
  });
});

test('staging an older worker left complete (its last page staged too) is published as it is, nothing fetched', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'snapshot-upgrade-'));
  const store = new DirectoryStore(dir);
  const input: SnapshotInput = {
    config: { connectionId: 'acme', environment: 'demo', integrationKey: 'ik', userId: 'u', privateKeyRef: 'env:X' },
    account: { accountId: 'acc', baseUri: 'https://demo.docusign.net' },
    kind: 'users',
    takenAt: TAKEN_AT,
  };
  try {
    await store.init();
    const user = { userId: 'a', userName: 'User a' };
    await store.snapshots.stagePage('acme', 'users', TAKEN_AT, [{ id: 'a', object: user }], { queue: [] });
    const nothingToCall = new Proxy({}, { get: (_, name) => assert.fail(`called ${String(name)}`) });
    const deps = {
      docusign: nothingToCall as DocuSignClient,
      tokens: nothingToCall as TokenService,
      store: store.snapshots,
      options: { reservePercent: 10, maxInlineWaitMs: 0, now: Date.now },
    };
    const result = await new MockActivityEnvironment({ attempt: 2 }).run(takeSnapshot, deps, input);
    assert.deepEqual(result, { kind: 'users', takenAt: TAKEN_AT, count: 1 });
    assert.equal(await store.snapshots.stagedProgress('acme', 'users', TAKEN_AT), undefined, 'staging cleared');
  } finally {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
