/**
 * Fault matrix: DocuSign misbehaving in the middle of a sync, against the real (in-process) worker, the emulator and a
 * directory store. Each case checks the phase the connection ends in, `lastError.code` where one is expected, that the
 * cursor never passed an envelope that was not stored, that nothing stored was lost, and — after recovery — that the
 * store is exactly DocuSign's data.
 *
 * Not repeated here (test/sync.e2e.test.ts covers them): hourly limit at 400 and 429, burst limit, the rate-limit
 * reserve, malformed JSON and wrong-shape pages, a 503 burst, tokens expiring mid-sync, data shifting between pages.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DocuSignClient } from '../../activities/docusign';
import { ConnectorError, toApplicationFailure } from '../../activities/errors';
import { trustPolicyOf } from '../../activities/trust';
import { ERROR_HINTS } from '../../workflows/errors';
import { consentGrantedSignal, credentialsUpdatedSignal, type ConnectionStatus } from '../../workflows/messages';
import { findLeaks, startHarness, type Harness } from '../helpers/connector';
import {
  activityAttempts,
  activityFailureTypes,
  assertCursorCovered,
  assertNothingLost,
  assertStoreMatches,
  historiesText,
  storedVersions,
} from '../helpers/evidence';
import { untilPagesServed } from '../helpers/processes';
import { capturedSdkLogs } from '../helpers/temporal';

const PAGE_SIZE = 25;

describe('fault matrix: DocuSign failing mid-sync', { timeout: 300_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      emulator: { envelopes: 0, rateLimit: { hourlyLimit: 100_000, burstLimit: 100_000 } },
      sync: { pageSize: PAGE_SIZE },
      burstRetryMs: 2000,
    });
  });
  after(async () => {
    h.emu.faults.clear();
    await h?.close();
  });

  const account = (count: number) => h.newAccount(count);
  const connect = (id: string, userId: string) => h.connect(id, userId);

  /** Starts a sync of `count` envelopes and resolves once `pages` pages of it are served (it is mid-sync then). */
  async function midSync(id: string, count: number, pages = 3) {
    const { userId, accountId } = account(count);
    h.emu.faults.latencyMs(15);
    const handle = await connect(id, userId);
    await untilPagesServed(h.emu, h.emu.stats.pagesServed + pages);
    return { handle, userId, accountId };
  }

  const idle = (syncs: number) => (s: ConnectionStatus) => s.phase === 'idle' && s.totals.syncs === syncs;

  test('a hanging response: the client times out (5 s), the retry resumes from the last page, store exact', async () => {
    const { handle, accountId } = await midSync('fault-hang', 400);
    const pagesBefore = h.emu.stats.pagesServed;
    h.emu.faults.hangNext();
    const status = await h.waitForStatus(handle, idle(1), 60_000);
    h.emu.faults.clear();
    assert.equal(status.lastError, undefined);
    await assertStoreMatches(h.storeDir, 'fault-hang', h.emu, accountId);
    const sync = (await activityAttempts(handle)).find((a) => a.activity === 'syncPass');
    assert.equal(sync?.attempt, 2, 'one retry of the sync activity');
    assert.equal(sync?.lastFailure, 'docusign_unavailable');
    assert.match(sync?.lastFailureMessage ?? '', /ETIMEDOUT|timed out/i);
    assert.ok(h.emu.stats.pagesServed > pagesBefore);
  });

  test('401 mid-sync: one re-mint, the same attempt carries on, no error', async () => {
    const { handle, accountId } = await midSync('fault-401', 400);
    const minted = h.emu.stats.tokensIssued.length;
    h.emu.faults.revokeTokens();
    const status = await h.waitForStatus(handle, idle(1));
    h.emu.faults.clear();
    assert.equal(status.lastError, undefined);
    assert.equal(h.emu.stats.tokensIssued.length, minted + 1, 'exactly one token minted after the 401');
    const sync = (await activityAttempts(handle)).find((a) => a.activity === 'syncPass');
    assert.equal(sync?.attempt, 1, 'the 401 was absorbed inside the attempt');
    await assertStoreMatches(h.storeDir, 'fault-401', h.emu, accountId);
  });

  test('consent revoked mid-sync → awaiting_consent (consent_required); granted again → completes', async () => {
    const { handle, userId, accountId } = await midSync('fault-consent', 400);
    h.emu.revokeConsent(h.integrationKey, userId);
    h.emu.faults.revokeTokens(); // DocuSign revokes the tokens with the consent
    const failed = await h.waitForStatus(handle, (s) => s.phase === 'awaiting_consent' && !!s.consentUrl);
    h.emu.faults.clear();
    assert.equal(failed.lastError?.code, 'consent_required');
    assert.equal(failed.lastError?.hint, ERROR_HINTS.consent_required);
    assert.ok(failed.lastSync?.cursor, 'the cursor of the stored pages is kept');
    const covered = assertCursorCovered(h.storeDir, 'fault-consent', h.emu, accountId, failed.lastSync.cursor);
    assert.ok(covered > 0, 'pages stored before the failure count');
    const before = storedVersions(h.storeDir, 'fault-consent');
    assert.equal(failed.totals.envelopes, new Set(before.map((v) => v.split('@')[0])).size);

    h.emu.grantConsent(h.integrationKey, userId);
    await handle.signal(consentGrantedSignal);
    const status = await h.waitForStatus(handle, idle(1));
    assert.equal(status.lastError, undefined);
    assertNothingLost(before, h.storeDir, 'fault-consent');
    await assertStoreMatches(h.storeDir, 'fault-consent', h.emu, accountId);
  });

  test('public key removed mid-sync → needs_attention (invalid_grant); key restored → completes', async () => {
    const { handle, accountId } = await midSync('fault-key', 400);
    h.emu.removeAppKey(h.integrationKey);
    h.emu.faults.revokeTokens(); // so the connector has to mint
    let failed: ConnectionStatus;
    try {
      failed = await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
    } finally {
      h.emu.faults.clear();
      h.emu.registerApp(h.integrationKey, h.keys.publicPem);
    }
    assert.equal(failed.lastError?.code, 'invalid_grant');
    assert.match(failed.lastError.message, /no_valid_keys_or_signatures/);
    assert.equal(failed.lastError.hint, ERROR_HINTS.invalid_grant);
    assert.ok(failed.lastSync?.cursor);
    assertCursorCovered(h.storeDir, 'fault-key', h.emu, accountId, failed.lastSync.cursor);
    assert.deepEqual(await activityFailureTypes(handle), ['invalid_grant'], 'not retried: a person must fix it');
    const before = storedVersions(h.storeDir, 'fault-key');

    // The customer uploaded the key again: credentialsUpdated retries at once.
    await handle.signal(credentialsUpdatedSignal, { privateKeyRef: `file:${h.keyPath}` });
    const status = await h.waitForStatus(handle, idle(1));
    assert.equal(status.lastError, undefined);
    assertNothingLost(before, h.storeDir, 'fault-key');
    await assertStoreMatches(h.storeDir, 'fault-key', h.emu, accountId);
  });

  test('account moved to another region mid-sync → wrong_base_uri → re-resolved via userinfo → completes there', async () => {
    const { handle, userId, accountId } = await midSync('fault-moved', 400);
    const oldBase = h.emu.accountsOf(userId).find((a) => a.accountId === accountId)!.baseUri;
    h.emu.moveAccount(accountId, 'na4');
    const status = await h.waitForStatus(handle, idle(1));
    h.emu.faults.clear();
    const newBase = h.emu.accountsOf(userId).find((a) => a.accountId === accountId)!.baseUri;
    assert.notEqual(newBase, oldBase);
    assert.equal(status.account?.baseUri, newBase, 'the sync finished against the new regional host');
    assert.equal(status.lastError, undefined, 'recovered by itself');
    assert.deepEqual(await activityFailureTypes(handle), ['wrong_base_uri']);
    // What DocuSign support asks for travels in the message operators read.
    const failed = (await handle.fetchHistory()).events?.find((e) => e.activityTaskFailedEventAttributes);
    assert.match(
      failed?.activityTaskFailedEventAttributes?.failure?.message ?? '',
      /PARTNER_AUTHENTICATION_FAILED .*; DocuSign trace token [0-9a-f-]{36}$/,
    );
    await assertStoreMatches(h.storeDir, 'fault-moved', h.emu, accountId);
    // The resumed sync started from the stored pages' cursor, not from the backfill start.
    const auth = (await activityAttempts(handle)).filter((a) => a.activity === 'authorize');
    assert.equal(auth.length, 2, 'authorized twice: at consent and after the move');
  });

  test('a 5xx at the token endpoint while re-minting after a 401: retried, completes', async () => {
    const { handle, accountId } = await midSync('fault-token-5xx', 300);
    const listCalls = () => h.emu.stats.calls['GET envelopes'] ?? 0;
    const before = listCalls();
    h.emu.faults.revokeTokens();
    // The next page call gets the 401 (answered after the 15 ms latency): fail the mint that follows it.
    while (listCalls() === before) await new Promise((r) => setTimeout(r, 1));
    h.emu.faults.failNext(1, 503);
    const status = await h.waitForStatus(handle, idle(1), 60_000);
    h.emu.faults.clear();
    assert.equal(status.lastError, undefined);
    const sync = (await activityAttempts(handle)).find((a) => a.activity === 'syncPass');
    assert.equal(sync?.attempt, 2, 'the failed mint failed the attempt; the retry completed');
    assert.equal(sync?.lastFailure, 'docusign_unavailable');
    assert.match(sync?.lastFailureMessage ?? '', /token endpoint answered HTTP 503/);
    await assertStoreMatches(h.storeDir, 'fault-token-5xx', h.emu, accountId);
  });

  test('per-envelope polling limit: the sync never GETs single envelopes; the client reads the error as a rate limit', async () => {
    // The sync reads recipients through the list call (include=recipients): no per-envelope GET is ever made.
    const calls = h.emu.stats.calls;
    assert.equal((calls['GET envelope'] ?? 0) + (calls['GET recipients'] ?? 0), 0, 'no per-envelope polling');

    // What DocuSignClient does with the error body: ask the emulator for one envelope twice with a limit of 1.
    const { userId, accountId } = account(20);
    h.emu.setEnvelopePollingLimit(1, 900);
    try {
      const creds = h.config('fault-polling', { userId });
      const token = await h.connector.tokens.get(creds);
      const base = h.emu.accountsOf(userId).find((a) => a.accountId === accountId)!.baseUri;
      const envelopeId = h.emu.envelopes(accountId)[0]!.envelopeId;
      const url = `${base}/restapi/v2.1/accounts/${accountId}/envelopes/${envelopeId}`;
      const client = new DocuSignClient({ timeoutMs: 5000, trust: trustPolicyOf({ allowedHosts: [h.emu.host] }) });
      await assert.rejects(client.listEnvelopes(url, token.accessToken), { code: 'invalid_response' }); // not a list
      const err = await client.listEnvelopes(url, token.accessToken).then(
        () => assert.fail('the second GET must hit the polling limit'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'rate_limited');
      assert.equal(err.extra.reason, 'Hourly_Envelope_Polling_Limit_Exceeded');
      assert.equal(err.extra.httpStatus, 400);
      assert.ok((err.extra.retryAfterMs ?? 0) > 0, 'a retry delay is given');
      const failure = toApplicationFailure(err);
      assert.equal(failure.type, 'rate_limited');
      assert.equal(failure.nonRetryable, false);
      assert.ok((failure.nextRetryDelay as number) > 0, 'the activity would wait, not hammer');
    } finally {
      h.emu.setEnvelopePollingLimit(10, 900);
    }
  });

  test('no secret in any history or worker log line', async () => {
    const texts = [
      ...(await historiesText(h.handles)),
      ...h.logs,
      ...capturedSdkLogs.map((e) => `${e.message} ${JSON.stringify(e.meta ?? {})}`),
    ];
    assert.ok(h.emu.stats.tokensIssued.length > 5 && h.emu.stats.assertionsReceived.length > 5, 'secrets in play');
    assert.deepEqual(findLeaks(h, texts), [], 'secret material leaked');
  });
});

/**
 * Rate-limit error bodies the emulator cannot produce, against a tiny local server: how DocuSignClient classifies
 * them and how long it says to wait.
 */
describe('DocuSignClient: rate-limit bodies and their retry delays', () => {
  let server: Server;
  let url = '';
  let client: DocuSignClient;
  let reply: { status: number; headers: Record<string, string>; body: string } = { status: 200, headers: {}, body: '' };
  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    url = `http://${host}/restapi/v2.1/accounts/a/envelopes?from_date=x`;
    client = new DocuSignClient({
      timeoutMs: 2000,
      burstRetryMs: 30_000,
      trust: trustPolicyOf({ allowedHosts: [host] }),
    });
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const hourFromNow = () => String(Math.floor(Date.now() / 1000) + 3600);
  async function errorFor(status: number, body: unknown, headers: Record<string, string> = {}) {
    reply = { status, headers, body: JSON.stringify(body) };
    return client.listEnvelopes(url, 'token').then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e as ConnectorError,
    );
  }
  const rateHeaders = (remaining: number) => ({
    'x-ratelimit-limit': '3000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': hourFromNow(),
  });

  test('hourly limit (400 and 429): rate_limited, wait until X-RateLimit-Reset', async () => {
    for (const status of [400, 429]) {
      const err = await errorFor(status, { errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED' }, rateHeaders(0));
      assert.equal(err.code, 'rate_limited');
      assert.ok((err.extra.retryAfterMs ?? 0) > 3_500_000, `waits for the reset (${err.extra.retryAfterMs} ms)`);
    }
  });

  test('burst limit: rate_limited, wait the 30 s burst window', async () => {
    const err = await errorFor(400, { errorCode: 'BURST_APIINVOCATION_LIMIT_EXCEEDED' }, rateHeaders(2000));
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.extra.retryAfterMs, 30_000);
  });

  test('Retry-After wins when DocuSign sends it', async () => {
    const err = await errorFor(429, { errorCode: 'TOO_MANY_REQUESTS' }, { ...rateHeaders(2000), 'retry-after': '7' });
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.extra.retryAfterMs, 7000);
  });

  test('a bare 429 while the hourly budget is left waits like a burst, not until the top of the hour', async () => {
    const err = await errorFor(429, { errorCode: 'TOO_MANY_REQUESTS' }, rateHeaders(2000));
    assert.equal(err.code, 'rate_limited');
    assert.ok((err.extra.retryAfterMs ?? 0) <= 60_000, `waits ${err.extra.retryAfterMs} ms`);
  });

  test('Burst_Envelope_Polling_Limit_Exceeded is a rate limit too', async () => {
    const err = await errorFor(400, { errorCode: 'Burst_Envelope_Polling_Limit_Exceeded' }, rateHeaders(2000));
    assert.equal(err.code, 'rate_limited', `classified as ${err.code}`);
  });
});
