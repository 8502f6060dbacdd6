/**
 * DocuSign Connect end to end (issue 16): the emulator sends signed JSON SIM events when envelopes change, the connect
 * listener verifies and debounces them, the workflow syncs at once, and the evidence is in the store within seconds
 * instead of at the next hourly poll. Forged, unsigned and replayed events signal nothing; the old and the new key
 * both work during a rotation; a burst becomes a handful of signals; events lost while the listener is down are
 * stored by the next poll (reconciliation), and no event moves the cursor.
 */
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConnectorClient } from '../client/client';
import { connectionResolver, startConnectListener, type ConnectListener } from '../client/connect-listener';
import { createLogger } from '../worker/logger';
import { BACKFILL_ALL, findLeaks, startHarness, type Harness } from './helpers/connector';
import { assertStoreMatches, historyText, recordHistories } from './helpers/evidence';
import { workflowCode } from './helpers/temporal';

const OLD_KEY = randomBytes(32).toString('base64');
const NEW_KEY = randomBytes(32).toString('base64');
/** Polling out of the way: anything stored before it is the webhook's doing. */
const TWELVE_HOURS = 720;

describe('DocuSign Connect: emulator → connect listener → workflow → evidence store', () => {
  let h: Harness;
  let client: ConnectorClient;
  let listener: ConnectListener | undefined;
  const listenerLogs: string[] = [];
  const signals: { connectionId: string; events: number }[] = [];

  const startListener = async () => {
    listener = await startConnectListener({
      port: 0,
      hmacKeys: [OLD_KEY, NEW_KEY],
      debounceMs: 300,
      retryDelaysMs: [200],
      resolveConnections: connectionResolver(client, { ttlMs: 1_000, minRefreshMs: 100 }),
      deliver: async (connectionId, events) => {
        signals.push({ connectionId, events: events.events });
        await client.connectEvents(connectionId, events);
      },
      logger: createLogger({ level: 'debug', destination: { write: (line: string) => void listenerLogs.push(line) } }),
    });
    return listener;
  };

  before(async () => {
    h = await startHarness({ emulator: { envelopes: 0 } });
    client = await ConnectorClient.create({
      connection: h.env.connection,
      taskQueue: h.taskQueue,
      evidenceStore: h.storeDir,
    });
    await startListener();
    // DocuSign signs with the new key only, mid-rotation: the listener still holds the old one too.
    h.emu.setConnect({ url: listener!.webhookUrl, hmacKeys: [NEW_KEY], retry: { attempts: 2, delaysMs: [100] } });
  });
  after(async () => {
    await listener?.close();
    await client?.close();
    await h?.close();
  });

  /** A consented account with `count` envelopes, connected with polling out of the way; resolves after sync 1. */
  async function connected(connectionId: string, count: number) {
    const { userId, accountId } = h.newAccount(count);
    const handle = await h.start(
      h.config(connectionId, { userId, backfillFrom: BACKFILL_ALL, syncIntervalMinutes: TWELVE_HOURS }),
    );
    await client.consent(connectionId);
    await h.waitForStatus(handle, (s) => s.phase === 'idle' && s.totals.syncs === 1, 60_000);
    return { handle, accountId };
  }

  const storedIds = async (connectionId: string) => {
    const ids = new Set<string>();
    for await (const rec of client.evidence(connectionId)) ids.add(rec.envelopeId);
    return ids;
  };
  const signalsFor = (connectionId: string) => signals.filter((s) => s.connectionId === connectionId);

  const listingCalls = () => h.emu.stats.calls['GET envelopes'] ?? 0;

  test('an envelope completed at DocuSign is stored within seconds from the event itself: no DocuSign call', async () => {
    const { handle, accountId } = await connected('connect-fast', 20);
    const listingsBefore = listingCalls();
    const totalBefore = (await client.status('connect-fast')).totals.envelopes;
    const started = Date.now();
    const envelope = h.emu.addEnvelope(accountId, { status: 'completed', subject: 'Webhook NDA' });
    const status = await h.waitForStatus(
      handle,
      (s) => s.totals.envelopes === totalBefore + 1 && (s.connectEvents?.received ?? 0) >= 1,
      20_000,
    );
    console.log(`# connect-fast: completed → stored in ${Date.now() - started} ms`);
    let stored: unknown;
    for await (const r of client.evidence('connect-fast'))
      if (r.envelopeId === envelope.envelopeId) stored = r.envelope;
    assert.deepEqual(stored, envelope, 'the envelope exactly as DocuSign serves it');
    assert.equal(listingCalls(), listingsBefore, 'stored from the event: no listing read');
    assert.equal(status.totals.syncs, 1, 'no sync ran');
    assert.ok(Date.parse(status.nextSyncAt!) - Date.now() > 11 * 3_600_000, 'the next poll is hours away');
    await assertStoreMatches(h.storeDir, 'connect-fast', h.emu, accountId);

    // The poll, when it comes, finds the version already stored: nothing written twice.
    await client.syncAndWait('connect-fast', { kinds: ['envelopes'] });
    assert.equal((await client.status('connect-fast')).lastSync?.envelopes, 0);
  });

  test('an event without the envelope (includeData off) makes the workflow read the listing at once', async () => {
    const { handle, accountId } = await connected('connect-nodata', 20);
    h.emu.setConnect({ url: listener!.webhookUrl, hmacKeys: [NEW_KEY], includeData: false });
    try {
      const listingsBefore = listingCalls();
      const envelope = h.emu.addEnvelope(accountId, { status: 'completed' });
      await h.waitForStatus(handle, (s) => s.totals.syncs === 2 && s.phase === 'idle', 20_000);
      assert.ok((await storedIds('connect-nodata')).has(envelope.envelopeId));
      assert.ok(listingCalls() > listingsBefore, 'the listing was read');
      await assertStoreMatches(h.storeDir, 'connect-nodata', h.emu, accountId);
    } finally {
      h.emu.setConnect({ url: listener!.webhookUrl, hmacKeys: [NEW_KEY], retry: { attempts: 2, delaysMs: [100] } });
    }
  });

  test('forged, unsigned and replayed events are refused and signal nothing; the old key still verifies', async () => {
    const { handle, accountId } = await connected('connect-forged', 5);
    await h.emu.connectSettled();
    const envelopeId = h.emu.envelopes(accountId)[0]!.envelopeId;
    const body = JSON.stringify({
      event: 'envelope-completed',
      uri: `/restapi/v2.1/accounts/${accountId}/envelopes/${envelopeId}`,
      retryCount: 0,
      configurationId: 1,
      apiVersion: 'v2.1',
      generatedDateTime: new Date().toISOString(),
      data: { accountId, userId: randomUUID(), envelopeId },
    });
    const sign = (key: string) => createHmac('sha256', key).update(body).digest('base64');
    const post = (headers: Record<string, string>) =>
      fetch(listener!.webhookUrl, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const before = signalsFor('connect-forged').length;

    assert.equal((await post({})).status, 401, 'unsigned');
    assert.equal((await post({ 'X-DocuSign-Signature-1': sign('not the key') })).status, 401, 'forged');
    assert.equal(
      (await post({ 'X-DocuSign-Signature-1': sign('not the key'), 'X-DocuSign-Signature-2': sign(OLD_KEY) })).status,
      200,
      'the second header, with the old key',
    );
    assert.equal((await post({ 'X-DocuSign-Signature-1': sign(OLD_KEY) })).status, 409, 'the same bytes again');
    await h.waitForStatus(handle, (s) => s.connectEvents !== undefined, 10_000);
    await new Promise((r) => setTimeout(r, 600)); // past the debounce window: nothing more may arrive
    assert.equal(signalsFor('connect-forged').length - before, 1, 'one signal, for the one genuine event');
    assert.equal((await client.status('connect-forged')).connectEvents?.received, 1);
    const logged = listenerLogs.join('\n');
    for (const secret of [OLD_KEY, NEW_KEY, sign(OLD_KEY), body])
      assert.ok(!logged.includes(secret), 'no secret logged');
  });

  test('a burst of 300 changes makes a handful of signals, and every change is stored', async () => {
    const { handle, accountId } = await connected('connect-burst', 400);
    await h.emu.connectSettled();
    const before = signalsFor('connect-burst').length;
    const syncsBefore = (await client.status('connect-burst')).totals.syncs;
    const sentBefore = h.emu.stats.connect.sent;
    h.emu.mutate(accountId, 300);
    await h.emu.connectSettled();
    const sent = h.emu.stats.connect.sent - sentBefore;
    assert.ok(sent >= 250, `${sent} events sent`);
    const status = await h.waitForStatus(
      handle,
      (s) => s.phase === 'idle' && (s.connectEvents?.received ?? 0) >= sent,
      60_000,
    );
    const burst = signalsFor('connect-burst').slice(before);
    // At least once, as DocuSign delivers: an answer slower than its timeout makes it send that event again.
    const signalled = burst.reduce((n, s) => n + s.events, 0);
    assert.ok(signalled >= sent && signalled <= sent + h.emu.stats.connect.retried, `${signalled} of ${sent} events`);
    assert.ok(burst.length <= 15, `${burst.length} signals for ${sent} events`);
    assert.ok(status.totals.syncs - syncsBefore <= burst.length, 'at most one sync per signal');
    await assertStoreMatches(h.storeDir, 'connect-burst', h.emu, accountId);
  });

  test('events lost while the listener is down are stored by the next poll; the cursor never passed them', async () => {
    const { accountId } = await connected('connect-down', 10);
    await h.emu.connectSettled();
    await listener!.close();
    const failedBefore = h.emu.connectFailures().length;
    const changed = h.emu.mutate(accountId, 5);
    await h.emu.connectSettled();
    assert.ok(h.emu.connectFailures().length - failedBefore >= changed.length, 'DocuSign gave the events up');
    await assert.rejects(assertStoreMatches(h.storeDir, 'connect-down', h.emu, accountId), 'not stored yet');

    // The hourly poll, brought forward: reconciliation from the cursor.
    await client.syncAndWait('connect-down');
    await assertStoreMatches(h.storeDir, 'connect-down', h.emu, accountId);
    await startListener();
    h.emu.setConnect({ url: listener!.webhookUrl, hmacKeys: [NEW_KEY], retry: { attempts: 2, delaysMs: [100] } });
  });

  test('no secret in any history or log; the histories (connectEvents, envelopes stored from events) replay', async () => {
    const histories = await Promise.all(h.handles.map((hd) => hd.fetchHistory()));
    assert.deepEqual(findLeaks(h, [...histories.map((hist) => historyText(hist)), ...h.logs, ...listenerLogs]), []);
    for (const [i, history] of histories.entries()) {
      await Worker.runReplayHistory({ ...(await workflowCode()) }, history, h.handles[i]!.workflowId);
    }
    recordHistories(histories, h.handles);
  });
});
