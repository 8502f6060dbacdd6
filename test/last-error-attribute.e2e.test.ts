/**
 * DocuSignLastError (issue 14): operators list every connection with a given error code. Where the namespace has the
 * attribute registered the workflow sets it to lastError.code and clears it on recovery; where it does not (a
 * namespace set up before the attribute existed), the workflow keeps working and simply leaves it out.
 */
import { type google, temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { consentGrantedSignal, credentialsUpdatedSignal, searchAttributes, statusQuery } from '../workflows/messages';
import { BACKFILL_ALL, startHarness, type Harness } from './helpers/connector';
import { devServerEnv } from './helpers/temporal';

async function listedWith(h: Harness, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of h.client.workflow.list({ query })) ids.push(info.workflowId);
  return ids;
}

async function eventually<T>(fn: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await fn();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250)); // visibility is eventually consistent
  }
}

describe('DocuSignLastError', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ emulator: { envelopes: 5 } });
  });
  after(async () => {
    await h?.close();
  });

  test('registered: set to the open error code, cleared once the connection recovers', async () => {
    const { userId } = h.newAccount(3);
    const handle = await h.start(
      h.config('last-error-set', { userId, backfillFrom: BACKFILL_ALL, privateKeyRef: 'env:DOCUSIGN_KEY_MISSING' }),
    );
    await handle.signal(consentGrantedSignal);
    await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
    const query = `${searchAttributes.lastError.name} = "private_key_unavailable" AND WorkflowId = "${handle.workflowId}"`;
    await eventually(
      () => listedWith(h, query),
      (ids) => ids.length === 1,
      'listed by its error code',
    );

    await handle.signal(credentialsUpdatedSignal, { privateKeyRef: `file:${h.keyPath}` });
    await h.waitForStatus(handle, (s) => s.phase === 'idle');
    const open = `${searchAttributes.lastError.name} IS NOT NULL AND WorkflowId = "${handle.workflowId}"`;
    await eventually(
      () => listedWith(h, open),
      (ids) => ids.length === 0,
      'cleared on recovery',
    );
  });
});

describe('DocuSignLastError not registered in the namespace', () => {
  let h: Harness;
  const namespace = `no-last-error-${randomBytes(4).toString('hex')}`;
  before(async () => {
    const env = await devServerEnv();
    await env.connection.workflowService.registerNamespace({
      namespace,
      // protobufjs encodes a plain number for an int64 field; the generated type only names Long.
      workflowExecutionRetentionPeriod: { seconds: 86_400 } as unknown as google.protobuf.IDuration,
    });
    // The four attributes of before, as a namespace set up then has them.
    const { KEYWORD, DATETIME } = {
      KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    };
    await env.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: {
        DocuSignConnectionId: KEYWORD,
        DocuSignEnvironment: KEYWORD,
        DocuSignPhase: KEYWORD,
        DocuSignLastSyncAt: DATETIME,
      },
    });
    h = await startHarness({ emulator: { envelopes: 5 }, env, namespace });
  });
  after(async () => {
    await h?.close();
  });

  test('the workflow keeps working: needs_attention with its error, no failed workflow task', async () => {
    const { userId } = h.newAccount(3);
    const handle = await h.start(
      h.config('last-error-unregistered', {
        userId,
        backfillFrom: BACKFILL_ALL,
        privateKeyRef: 'env:DOCUSIGN_KEY_MISSING',
      }),
    );
    await handle.signal(consentGrantedSignal);
    const status = await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
    assert.equal(status.lastError?.code, 'private_key_unavailable');
    const history = await handle.fetchHistory();
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    assert.deepEqual(failedTasks, [], 'no workflow task failed on an unknown search attribute');
    assert.equal((await handle.query(statusQuery)).phase, 'needs_attention');
    await handle.terminate();
  });
});
