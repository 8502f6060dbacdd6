/**
 * The sync activity with a scripted DocuSign and a real directory store, in Temporal's mock activity environment:
 * the order of what it writes (quarantine before the page and its checkpoint), how store failures are reported
 * (reading the checkpoint included), and the cursor a failure carries when DocuSign's times have no zone.
 * End to end with the emulator: test/sync.e2e.test.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { DocuSignClient, Envelope, EnvelopesPage } from '../activities/docusign';
import { ConnectorError, type FailureDetails } from '../activities/errors';
import { DirectoryStore, EvidenceStoreError, type EvidenceStore } from '../activities/store';
import { DEFAULT_SYNC_OPTIONS, syncEnvelopes, type SyncInput } from '../activities/sync';
import type { TokenService } from '../activities/tokens';

const work = mkdtempSync(path.join(tmpdir(), 'sync-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

const BASE = 'https://na3.docusign.net';
const NOW = Date.parse('2026-06-24T12:00:00Z');

function input(connectionId: string): SyncInput {
  return {
    config: {
      connectionId,
      environment: 'demo',
      integrationKey: '5c0f6a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f',
      userId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      privateKeyRef: 'env:DOCUSIGN_KEY_TEST',
    },
    account: { accountId: 'acct', baseUri: BASE },
    backfillFrom: '2026-06-01T00:00:00Z',
    startedAt: new Date(NOW).toISOString(),
  };
}

const envelope = (n: number, statusChangedDateTime: string): Envelope => ({
  envelopeId: `env-${n}`,
  status: 'completed',
  statusChangedDateTime,
});

/** Page `i` of a scripted window (pages of 2), without nextUri: the counts say whether more remain. */
function page(i: number, envelopes: Envelope[], total: number, rejected: EnvelopesPage['rejected'] = []) {
  const size = envelopes.length + rejected.length;
  return {
    envelopes,
    rejected,
    resultSetSize: size,
    totalSetSize: total,
    startPosition: i * 2,
    endPosition: i * 2 + size - 1,
  } satisfies EnvelopesPage;
}

/** Runs one sync: DocuSign answers list calls with `answers` in order (a function may throw). */
async function run(
  store: EvidenceStore,
  connectionId: string,
  answers: (EnvelopesPage | (() => never))[],
): Promise<{ result?: unknown; failure?: ApplicationFailure; urls: string[] }> {
  const urls: string[] = [];
  const docusign = {
    burstRetryMs: 1000,
    listEnvelopes: async (url: string) => {
      urls.push(url);
      const answer = answers.shift();
      if (!answer) throw new Error(`unexpected call ${url}`);
      return { page: typeof answer === 'function' ? answer() : answer, rateLimit: {} };
    },
  } as unknown as DocuSignClient;
  const tokens = { withToken: (_c: unknown, call: (t: string) => unknown) => call('token') } as TokenService;
  const options = { ...DEFAULT_SYNC_OPTIONS, pageSize: 2, now: () => NOW };
  const env = new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR', () => undefined) });
  try {
    const result = await env.run(syncEnvelopes, { docusign, tokens, store, options }, input(connectionId));
    return { result, urls };
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `failures leave the activity typed: ${String(err)}`);
    return { failure: err, urls };
  }
}

const details = (failure: ApplicationFailure | undefined) => failure?.details?.[0] as FailureDetails | undefined;

describe('sync activity', () => {
  test('a store that cannot read the checkpoint fails the sync as evidence_store_unavailable, like any store failure', async () => {
    const store = new DirectoryStore(path.join(work, 'a'));
    store.readCheckpoint = () =>
      Promise.reject(new EvidenceStoreError('evidence_store_unavailable', 'Evidence store x: cannot read: EIO'));
    const { failure, urls } = await run(store, 'unreadable', []);
    assert.equal(failure?.type, 'evidence_store_unavailable');
    assert.match(failure?.message ?? '', /EIO/);
    assert.deepEqual(urls, [], 'DocuSign was not called');
  });

  test('zoneless times are UTC: the failure cursor is the latest one, with its zone, whatever the worker zone', async () => {
    const store = new DirectoryStore(path.join(work, 'b'));
    const zone = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      const { failure, urls } = await run(store, 'zoneless', [
        page(0, [envelope(1, '2026-06-23T14:05:59.560'), envelope(2, '2026-06-23T09:00:00.0000000-07:00')], 4),
        () => {
          throw new ConnectorError('docusign_unavailable', 'DocuSign envelopes answered HTTP 503');
        },
      ]);
      assert.equal(failure?.type, 'docusign_unavailable');
      // 16:00 UTC (09:00-07:00) is later than 14:05:59.560 UTC.
      assert.equal(details(failure)?.progressCursor, '2026-06-23T16:00:00.0000000Z');
      // No nextUri on page 1, but 4 envelopes in all: page 2 was asked for from start_position 2.
      assert.equal(new URL(urls[1]!).searchParams.get('start_position'), '2');
      assert.equal((await store.versions('zoneless', 'env-1'))[0]?.statusChangedDateTime, '2026-06-23T14:05:59.560');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test('a rejected envelope is quarantined before its page and checkpoint; if that fails, neither is written', async () => {
    const rejected = [{ envelopeId: 'env-2', reason: 'field statusChangedDateTime is missing', envelope: { a: 1 } }];
    const pages = () => [
      page(0, [envelope(1, '2026-06-23T10:00:00.0000000Z')], 3, rejected),
      page(1, [envelope(3, '2026-06-23T11:00:00.0000000Z')], 3),
    ];
    const calls: string[] = [];
    const store = new DirectoryStore(path.join(work, 'c'));
    const quarantine = store.quarantine.bind(store);
    const writePage = store.writePage.bind(store);
    store.quarantine = async (...args) => {
      calls.push('quarantine');
      return quarantine(...args);
    };
    store.writePage = async (...args) => {
      calls.push(args[2] ? 'page+checkpoint' : 'page');
      return writePage(...args);
    };
    const ok = await run(store, 'ordered', pages());
    assert.equal(ok.failure, undefined);
    assert.deepEqual(calls, ['quarantine', 'page+checkpoint', 'page+checkpoint']);
    assert.equal((ok.result as { quarantined: number }).quarantined, 1);
    assert.deepEqual(
      (await store.listQuarantined('ordered')).map((q) => [q.envelopeId, q.reason, q.envelope]),
      [['env-2', 'field statusChangedDateTime is missing', { a: 1 }]],
    );

    const failing = new DirectoryStore(path.join(work, 'd'));
    failing.quarantine = () =>
      Promise.reject(new EvidenceStoreError('evidence_store_unavailable', 'Evidence store y: cannot write: ENOSPC'));
    const failed = await run(failing, 'full-disk', pages());
    assert.equal(failed.failure?.type, 'evidence_store_unavailable');
    assert.equal(details(failed.failure)?.progressCursor, undefined, 'the cursor did not move');
    assert.equal(await failing.readCheckpoint('full-disk'), undefined, 'no checkpoint passed the envelope');
    assert.equal(await failing.count('full-disk'), 0);
  });
});
