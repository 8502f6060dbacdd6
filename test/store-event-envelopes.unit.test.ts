/**
 * storeEventEnvelopes (activities/sync.ts): the envelopes Connect events carried, stored without a DocuSign call.
 * A real directory store; no Temporal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createEvidenceStore } from '../activities/store';
import { storeEventEnvelopes } from '../activities/sync';

const dir = mkdtempSync(path.join(tmpdir(), 'event-envelopes-'));
const store = createEvidenceStore(dir);
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
const NOW = () => Date.parse('2026-12-01T12:00:00Z');
const E1 = '11111111-1111-4111-8111-111111111111';
const E2 = '22222222-2222-4222-8222-222222222222';

test('the newest version of each envelope is stored; invalid ones are counted, not stored; re-delivery writes nothing', async () => {
  await store.init();
  const sent = { envelopeId: E1, status: 'sent', statusChangedDateTime: '2026-12-01T10:00:00.0000000Z' };
  const completed = { envelopeId: E1, status: 'completed', statusChangedDateTime: '2026-12-01T10:05:00.0000000Z' };
  const other = { envelopeId: E2, status: 'delivered', statusChangedDateTime: '2026-12-01T09:00:00' };
  const invalid = { envelopeId: E2, status: 'completed' }; // no statusChangedDateTime

  const first = await storeEventEnvelopes(
    store,
    { connectionId: 'c1', envelopes: [completed, sent, other, invalid] },
    NOW,
  );
  assert.deepEqual(first, { stored: 2, rejected: 1, completed: 1, totalStored: 2 });
  const latest = new Map<string, unknown>();
  for await (const r of store.list('c1')) latest.set(r.envelopeId, r.envelope);
  assert.deepEqual(latest.get(E1), completed, 'the newer event wins whatever the order, exactly as carried');
  assert.deepEqual(latest.get(E2), other);
  assert.deepEqual(
    (await store.versions('c1', E1)).map((v) => v.status),
    ['completed'],
  );

  const again = await storeEventEnvelopes(store, { connectionId: 'c1', envelopes: [completed] }, NOW);
  assert.deepEqual(again, { stored: 0, rejected: 0, completed: 0, totalStored: 2 });
});
