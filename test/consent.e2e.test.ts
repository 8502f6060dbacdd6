/**
 * consent_required while authorizing, end to end (dev server, emulator, real worker): whoever says consent was given,
 * the connection believes DocuSign. Refused, it goes back to awaiting_consent with a consent URL (never to
 * needs_attention, whose backoff would not wait for the person who has to consent), and recovers once consent exists.
 */
import type { WorkflowHandle } from '@temporalio/client';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ERROR_HINTS } from '../workflows/errors';
import {
  consentGrantedSignal,
  credentialsUpdatedSignal,
  statusQuery,
  type ConnectionStatus,
} from '../workflows/messages';
import { startHarness, type Harness } from './helpers/connector';

describe('consent_required during authorize', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ emulator: { envelopes: 5 } });
  });
  after(async () => {
    await h?.close();
  });

  /**
   * The status once an authorize attempt (a token request after `since` assertions) was refused for consent and the
   * connection settled: out of authorizing, and in awaiting_consent only once its new consent URL is built.
   */
  function refusedForConsent(handle: WorkflowHandle, since: number): Promise<ConnectionStatus> {
    return h.waitForStatus(
      handle,
      (s) =>
        h.emu.stats.assertionsReceived.length > since &&
        s.lastError?.code === 'consent_required' &&
        s.phase !== 'authorizing' &&
        (s.phase !== 'awaiting_consent' || !!s.consentUrl),
    );
  }

  function assertAwaitingConsent(status: ConnectionStatus): void {
    assert.equal(status.phase, 'awaiting_consent', `back to awaiting consent, not ${status.phase}`);
    assert.equal(status.lastError?.code, 'consent_required');
    assert.equal(status.lastError?.hint, ERROR_HINTS.consent_required);
    assert.match(status.consentUrl ?? '', /\/oauth\/auth\?/, 'a consent URL to act on');
    assert.equal(status.nextSyncAt, undefined, 'no retry is scheduled: consent is awaited');
  }

  test('consentGranted while DocuSign still refuses: back to awaiting_consent, then idle once consent exists', async () => {
    const userId = randomUUID();
    h.emu.addUser({ userId });
    const handle = await h.start(h.config('consent-not-yet', { userId }));
    await h.waitForStatus(handle, (s) => s.phase === 'awaiting_consent' && !!s.consentUrl);
    const before = h.emu.stats.assertionsReceived.length;

    await handle.signal(consentGrantedSignal); // the callback fired, but DocuSign has no consent on record
    assertAwaitingConsent(await refusedForConsent(handle, before));

    h.emu.grantConsent(h.integrationKey, userId);
    await handle.signal(consentGrantedSignal);
    const idle = await h.waitForStatus(handle, (s) => s.phase === 'idle');
    assert.equal(idle.lastError, undefined);
    assert.equal(idle.consentUrl, undefined);
    await handle.terminate();
  });

  test('credentialsUpdated to a user who never consented: awaiting_consent, then idle with that user’s account', async () => {
    const consented = randomUUID();
    h.emu.addUser({ userId: consented });
    h.emu.grantConsent(h.integrationKey, consented);
    const handle = await h.start(h.config('consent-new-user', { userId: consented }));
    await handle.signal(consentGrantedSignal);
    await h.waitForStatus(handle, (s) => s.phase === 'idle');

    const newUser = randomUUID();
    h.emu.addUser({ userId: newUser });
    const before = h.emu.stats.assertionsReceived.length;
    await handle.signal(credentialsUpdatedSignal, { userId: newUser });
    assertAwaitingConsent(await refusedForConsent(handle, before));

    h.emu.grantConsent(h.integrationKey, newUser);
    await handle.signal(consentGrantedSignal);
    const idle = await h.waitForStatus(handle, (s) => s.phase === 'idle' && s.lastError === undefined);
    const newAccount = h.emu.accountsOf(newUser).find((a) => a.isDefault)!;
    assert.equal(idle.account?.accountId, newAccount.accountId, "the new user's account");
    assert.equal((await handle.query(statusQuery)).phase, 'idle');
    await handle.terminate();
  });
});
