/** The sync checkpoint as stored (activities/store/checkpoint.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCheckpoint, prepareCheckpoint } from '../activities/store/checkpoint';
import { EvidenceStoreError } from '../activities/store/errors';
import type { SyncCheckpoint } from '../activities/store/types';

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof EvidenceStoreError && err.code === 'invalid_evidence_record' && pattern.test(err.message);

describe('sync checkpoint', () => {
  test('stored as exactly { syncId, progress }, and read back the same', () => {
    const checkpoint = { progress: { pages: 3, nextUrl: 'https://x' }, syncId: 'run/1/t', extra: true };
    const text = prepareCheckpoint('d', checkpoint);
    assert.equal(text, '{"syncId":"run/1/t","progress":{"pages":3,"nextUrl":"https://x"}}');
    assert.deepEqual(parseCheckpoint(text), { syncId: 'run/1/t', progress: { pages: 3, nextUrl: 'https://x' } });
  });

  test('a checkpoint without a syncId or progress object is refused, naming the store and the field', () => {
    const bad = (value: unknown) => () => prepareCheckpoint('directory /d', value as SyncCheckpoint);
    assert.throws(
      bad({ syncId: '', progress: {} }),
      invalid(/^Evidence store directory \/d: sync checkpoint syncId must be a non-empty string$/),
    );
    assert.throws(bad({ syncId: 7, progress: {} }), invalid(/syncId must be a non-empty string/));
    assert.throws(
      bad({ syncId: 's', progress: [] }),
      invalid(/^Evidence store directory \/d: sync checkpoint progress must be an object$/),
    );
    assert.throws(bad({ syncId: 's' }), invalid(/progress must be an object/));
  });

  test('text that is not a checkpoint reads as none (the sync resumes from its heartbeat)', () => {
    for (const text of [
      '',
      '{',
      'null',
      '[]',
      '{"syncId":1,"progress":{}}',
      '{"syncId":"s","progress":[]}',
      '{"syncId":"s"}',
    ]) {
      assert.equal(parseCheckpoint(text), undefined, text);
    }
  });
});
