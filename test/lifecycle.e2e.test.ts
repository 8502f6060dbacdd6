/**
 * The connection lifecycle end to end: dev server, the DocuSign emulator verifying real RS256 signatures, the real
 * worker and activities. Ends with a secret scan of every history and log line this file produced, and records the
 * histories as replay fixtures when RECORD_HISTORIES=1.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/common';
import { ConnectorClient } from '../client/client';
import { ERROR_HINTS } from '../workflows/errors';
import { REMINT_BEFORE_EXPIRY_MS } from '../workflows/schedule';
import { SNAPSHOT_KINDS } from '../workflows/evidence';
import {
  consentGrantedSignal,
  disconnectSignal,
  searchAttributes,
  syncAndWaitUpdate,
  syncNowSignal,
  workflowIdOf,
  type ConnectionStatus,
} from '../workflows/messages';
import { findLeaks, rsaKeys, startHarness, type Harness } from './helpers/connector';
import { historyText, recordHistories, wakersOfLocalActivity } from './helpers/evidence';
import { workflowCode } from './helpers/temporal';

describe('connection lifecycle against the emulator', () => {
  let h: Harness;
  const handles: WorkflowHandle[] = [];
  before(async () => {
    h = await startHarness({ emulator: { envelopes: 30 } });
  });
  after(async () => {
    await h?.close();
  });

  const start = async (id: string, overrides = {}) => {
    const handle = await h.start(h.config(id, overrides));
    handles.push(handle);
    return handle;
  };

  test('consent → authorizing → idle with account, regional base URI and token expiry', async () => {
    const backfillFrom = new Date(Date.now() - 500 * 86_400_000).toISOString(); // the emulator spans 400 days
    const handle = await start('life-consent', { backfillFrom });
    let status = await h.waitForStatus(handle, (s) => !!s.consentUrl);
    assert.equal(status.phase, 'awaiting_consent');
    const consentUrl = new URL(status.consentUrl!);
    assert.equal(consentUrl.origin + consentUrl.pathname, `${h.emu.url}/oauth/auth`);
    assert.equal(consentUrl.searchParams.get('client_id'), h.integrationKey);
    assert.equal(consentUrl.searchParams.get('scope'), 'signature impersonation');
    assert.equal(consentUrl.searchParams.get('response_type'), 'code');

    // No sync can run before consent: sync-and-wait is refused instead of hanging.
    await assert.rejects(handle.executeUpdate(syncAndWaitUpdate, { args: [{}] }), (err: Error) =>
      /consent is not granted yet/.test((err.cause as Error | undefined)?.message ?? ''),
    );

    h.emu.grantConsent(h.integrationKey, h.userId);
    await handle.signal(consentGrantedSignal);
    status = await h.waitForStatus(handle, (s) => s.phase === 'idle');
    const defaultAccount = h.emu.accountsOf(h.userId).find((a) => a.isDefault)!;
    assert.deepEqual(status.account, {
      accountId: defaultAccount.accountId,
      accountName: defaultAccount.accountName,
      baseUri: defaultAccount.baseUri,
    });
    assert.match(defaultAccount.baseUri, /\/na3$/, 'the regional host from userinfo');
    const expiresIn = Date.parse(status.token!.expiresAt) - Date.now();
    assert.ok(expiresIn > 3500_000 && expiresIn <= 3600_000, `token expiry ${expiresIn} ms from now`);
    assert.equal(status.consentUrl, undefined);
    assert.equal(status.totals.syncs, 1);
    // status=any leaves out drafts (docusign-api.md §3.1): every other envelope is stored.
    const expected = h.emu.envelopes(defaultAccount.accountId).filter((e) => e.status !== 'created');
    assert.equal(status.totals.envelopes, expected.length);
    assert.equal(status.lastSync?.envelopes, expected.length);
    assert.equal(status.lastError, undefined);
  });

  test('wrong environment (JWT aud is not the OAuth host) → invalid_grant with the reason and hint', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    // Same server, other host name: the assertion's aud no longer names the host DocuSign answers as.
    const handle = await start('life-wrong-env', { oauthBaseUrl: h.emu.url.replace('127.0.0.1', 'localhost') });
    await handle.signal(consentGrantedSignal);
    const status = await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
    assert.equal(status.lastError?.code, 'invalid_grant');
    assert.match(status.lastError.message, /issuer_not_found/);
    assert.equal(status.lastError?.hint, ERROR_HINTS.invalid_grant);
    assert.match(status.lastError.hint, /must match the environment/);
  });

  test('a replaced public key → invalid_grant no_valid_keys_or_signatures; the old token is not used', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    const handle = await start('life-key-replaced');
    await handle.signal(consentGrantedSignal);
    await h.waitForStatus(handle, (s) => s.phase === 'idle');

    h.emu.registerApp(h.integrationKey, rsaKeys().publicPem); // the customer uploaded another key
    try {
      h.emu.faults.revokeTokens(); // and the current token dies, so the connector must mint
      await handle.signal(syncNowSignal);
      const status = await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
      assert.equal(status.lastError?.code, 'invalid_grant');
      assert.match(status.lastError.message, /no_valid_keys_or_signatures/);
      assert.match(status.lastError.hint, /Private key must match the uploaded public key/);
    } finally {
      h.emu.registerApp(h.integrationKey, h.keys.publicPem);
    }
    // Fixed: syncNow retries at once.
    await handle.signal(syncNowSignal);
    const recovered = await h.waitForStatus(handle, (s) => s.phase === 'idle' && s.totals.syncs === 2);
    assert.equal(recovered.lastError, undefined);
  });

  test('a token revoked by DocuSign is re-minted on the 401 and the sync completes', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    const handle = await start('life-revoked-token');
    await handle.signal(consentGrantedSignal);
    const before = await h.waitForStatus(handle, (s) => s.phase === 'idle');
    const minted = h.emu.stats.tokensIssued.length;

    h.emu.faults.revokeTokens();
    await handle.signal(syncNowSignal);
    // The pass ends after the envelopes and the snapshots.
    const status = await h.waitForStatus(
      handle,
      (s) => s.totals.syncs === before.totals.syncs + 1 && s.phase !== 'syncing',
    );
    assert.equal(status.phase, 'idle');
    assert.equal(status.lastError, undefined);
    assert.equal(h.emu.stats.tokensIssued.length, minted + 1, 'exactly one new token, minted on the 401');
  });

  test('a pass that outlasts the token: the workflow re-mints it while the pass runs, not after', async () => {
    // Tokens due for re-minting 3 s after they are minted; a pass of 11 envelope pages and the snapshots at 400 ms a call.
    const { userId, accountId } = h.newAccount(1000);
    let handle: WorkflowHandle;
    try {
      h.emu.setTokenLifetime(REMINT_BEFORE_EXPIRY_MS / 1000 + 3);
      h.emu.faults.latencyMs(400);
      handle = await h.connect('life-remint-in-pass', userId);
      handles.push(handle);
      const first = await h.waitForStatus(handle, (s) => s.phase === 'syncing' && !!s.token);
      const reminted = await h.waitForStatus(
        handle,
        (s) => s.phase !== 'syncing' || s.token?.expiresAt !== first.token?.expiresAt,
      );
      assert.equal(reminted.phase, 'syncing', 'the token was re-minted while the pass ran');
      assert.equal(reminted.totals.syncs, 0);
      assert.ok(Date.parse(reminted.token!.expiresAt) > Date.parse(first.token!.expiresAt));
    } finally {
      h.emu.faults.latencyMs(0);
      h.emu.setTokenLifetime(3600);
    }
    const idle = await h.waitForStatus(handle, (s) => s.phase === 'idle');
    assert.equal(idle.lastError, undefined);
    const stored = h.emu.envelopes(accountId).filter((e) => e.status !== 'created').length; // drafts are not listed
    assert.equal(idle.totals.envelopes, stored);
    const events = (await handle.fetchHistory()).events ?? [];
    // In the history: a refreshToken run after the pass's activity was scheduled and before it completed, as a local
    // activity in the task its timer woke (no activity task and no workflow task of its own).
    const passAt = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncPass');
    const passId = events[passAt]?.eventId;
    const passEndAt = events.findIndex((e) =>
      e.activityTaskCompletedEventAttributes?.scheduledEventId?.equals(passId!),
    );
    assert.ok(passAt >= 0 && passEndAt > passAt, 'the pass completed');
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.ok(!scheduled.includes('refreshToken'), `no refreshToken activity task: ${scheduled.join(', ')}`);
    // Only the re-mints while the pass ran: one just before or after it may share a task with the activity's events.
    const inPass = wakersOfLocalActivity(events, 'refreshToken').filter(({ at }) => at > passAt && at < passEndAt);
    assert.ok(inPass.length >= 1, 're-minted during the pass');
    for (const { wakers } of inPass) assert.deepEqual(wakers, ['timerFiredEventAttributes']);
  });

  test('consent revoked in DocuSign → awaiting_consent with a consent URL', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    const handle = await start('life-consent-revoked');
    await handle.signal(consentGrantedSignal);
    await h.waitForStatus(handle, (s) => s.phase === 'idle');
    h.emu.revokeConsent(h.integrationKey, h.userId);
    h.emu.faults.revokeTokens();
    await handle.signal(syncNowSignal);
    const status = await h.waitForStatus(handle, (s) => s.phase === 'awaiting_consent' && !!s.consentUrl);
    assert.equal(status.lastError?.code, 'consent_required');
    assert.match(status.consentUrl!, /\/oauth\/auth\?/);
  });

  test('disconnect completes the workflow with phase disconnected; evidence is kept', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    const handle = await start('life-disconnect');
    await handle.signal(consentGrantedSignal);
    const idle = await h.waitForStatus(handle, (s) => s.phase === 'idle');
    await handle.signal(disconnectSignal);
    const final = (await handle.result()) as ConnectionStatus;
    assert.equal(final.phase, 'disconnected');
    assert.equal(await h.connector.store.count('life-disconnect'), idle.totals.envelopes);
    assert.ok(idle.totals.envelopes > 0);
  });

  test('consent given with the start: no consent link, one patch marker, one bulk activity, attributes upserted only when they change', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    const client = await ConnectorClient.create({ connection: h.env.connection, taskQueue: h.taskQueue });
    try {
      const { created } = await client.connect(h.config('life-consented'), { consentGranted: true });
      assert.ok(created);
      const handle = h.client.workflow.getHandle(workflowIdOf('life-consented'));
      handles.push(handle);
      const status = await h.waitForStatus(handle, (s) => s.phase === 'idle');
      assert.equal(status.consentUrl, undefined);
      assert.ok(status.totals.envelopes > 0);

      const events = (await handle.fetchHistory()).events ?? [];
      const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      // The envelopes and every snapshot kind in one activity. (Workflow tasks are usually three, but not counted: the
      // SDK may report the start's local activity in a workflow task of its own when it resolves late.)
      assert.deepEqual(scheduled, ['authorize', 'syncPass']);
      assert.deepEqual(Object.keys(status.evidence ?? {}).sort(), [...SNAPSHOT_KINDS].sort());
      for (const kind of SNAPSHOT_KINDS)
        assert.equal(status.evidence?.[kind]?.lastSnapshotAt, status.lastSync?.startedAt);
      const markers = events.flatMap((e) => e.markerRecordedEventAttributes?.markerName ?? []);
      assert.deepEqual(markers.filter((m) => m === 'core_patch').length, 1, markers.join(', '));
      // The start set the connection's ID, environment and awaiting_consent: only the changes follow.
      const upserted = events.flatMap((e) => {
        const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
        return Object.entries(fields).map(([name, payload]) =>
          name === searchAttributes.phase.name
            ? `${name}=${String(defaultPayloadConverter.fromPayload(payload))}`
            : name,
        );
      });
      assert.deepEqual(upserted, [
        'TemporalChangeVersion',
        'DocuSignPhase=authorizing',
        'DocuSignPhase=syncing',
        'DocuSignLastSyncAt',
        'DocuSignPhase=idle',
      ]);
      // Visibility has what the start set and what changed since (it is written asynchronously: poll briefly).
      const listed = async () => (await client.list()).find((c) => c.connectionId === 'life-consented');
      for (let i = 0; i < 50 && (await listed())?.phase !== 'idle'; i++) await sleep(100);
      assert.deepEqual(await listed(), {
        connectionId: 'life-consented',
        environment: 'demo',
        phase: 'idle',
        lastSyncAt: status.lastSync?.finishedAt,
      });
    } finally {
      await client.close();
    }
  });

  test('no secret in any history or worker log line; histories replay deterministically', async () => {
    const histories = await Promise.all(handles.map((hd) => hd.fetchHistory()));
    // Payload bytes decoded to text, so a secret inside any input, result or failure would be found.
    const raw = histories.map((hist) => historyText(hist));
    const leaks = findLeaks(h, [...raw, ...h.logs]);
    assert.ok(h.emu.stats.tokensIssued.length > 5 && h.emu.stats.assertionsReceived.length > 5, 'secrets were in play');
    assert.ok(h.logs.length > 10, 'worker logs were captured');
    assert.deepEqual(leaks, [], 'secret material leaked');

    for (const [i, history] of histories.entries()) {
      await Worker.runReplayHistory({ ...(await workflowCode()) }, history, handles[i]!.workflowId);
    }
    recordHistories(histories, handles);
  });
});
