/** A page of envelope records as both backends write it (activities/store/records.ts): validated before any I/O. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EvidenceStoreError } from '../activities/store/errors';
import { prepareWrite } from '../activities/store/records';
import type { EnvelopeRecord } from '../activities/store/types';

const C = 'conn-1';
const record = (overrides: Partial<Record<keyof EnvelopeRecord, unknown>> = {}): EnvelopeRecord =>
  ({
    connectionId: C,
    envelopeId: 'env-1',
    status: 'sent',
    statusChangedDateTime: '2024-10-16T12:54:00.0270000Z',
    syncedAt: '2025-01-01T00:00:00.000Z',
    envelope: { status: 'sent', envelopeId: 'env-1' },
    ...overrides,
  }) as EnvelopeRecord;

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof EvidenceStoreError && err.code === 'invalid_evidence_record' && pattern.test(err.message);

describe('prepareWrite', () => {
  test('each record in the design.md §5 shape and order, its instant key, and its JSON as stored', () => {
    const extra = { ...record(), extra: 'dropped' } as EnvelopeRecord;
    const write = prepareWrite('d', C, [extra], undefined);
    assert.ok(write);
    const [prepared, ...rest] = write.page;
    assert.deepEqual(rest, []);
    assert.deepEqual(Object.keys(prepared!.record), [
      'connectionId',
      'envelopeId',
      'status',
      'statusChangedDateTime',
      'syncedAt',
      'envelope',
    ]);
    assert.equal(prepared!.key, '2024-10-16T12:54:00.027000000Z');
    assert.equal(prepared!.json, JSON.stringify(record()));
    assert.equal(write.checkpointJson, undefined);
  });

  test('a repeated (envelopeId, statusChangedDateTime) is written once; another version of it is kept', () => {
    const v2 = record({ statusChangedDateTime: '2024-10-16T12:54:00.0270001Z' });
    const write = prepareWrite('d', C, [record(), record(), v2, record({ envelopeId: 'env-2' })], undefined);
    assert.deepEqual(
      write?.page.map((p) => [p.record.envelopeId, p.record.statusChangedDateTime]),
      [
        ['env-1', '2024-10-16T12:54:00.0270000Z'],
        ['env-1', '2024-10-16T12:54:00.0270001Z'],
        ['env-2', '2024-10-16T12:54:00.0270000Z'],
      ],
    );
  });

  test('nothing to write: undefined; a checkpoint alone is written', () => {
    assert.equal(prepareWrite('d', C, [], undefined), undefined);
    const write = prepareWrite('d', C, [], { syncId: 's', progress: { pages: 1 } });
    assert.deepEqual(write, { page: [], checkpointJson: '{"syncId":"s","progress":{"pages":1}}' });
  });

  test('an invalid checkpoint fails the write before anything is written', () => {
    assert.throws(
      () => prepareWrite('d', C, [record()], { syncId: '', progress: {} }),
      invalid(/sync checkpoint syncId must be a non-empty string/),
    );
  });

  const rules: [string, unknown, RegExp][] = [
    ['not an object', 'x', /record 0 of the page for connection conn-1: must be an object$/],
    ['an array', [], /record 0 of the page for connection conn-1: must be an object$/],
    [
      'another connection',
      record({ connectionId: 'other' }),
      /record 0 \(envelopeId env-1\) .*connectionId must equal/,
    ],
    [
      'an unsafe envelope ID',
      record({ envelopeId: '../x' }),
      /record 0 \(envelopeId \.\.\/x\) .*envelopeId must match/,
    ],
    ['no envelope ID', record({ envelopeId: undefined }), /record 0 of the page .*envelopeId must match/],
    ['an empty status', record({ status: '' }), /status must be a non-empty string/],
    ['a status that is not a string', record({ status: 3 }), /status must be a non-empty string/],
    [
      'a date that is not an instant',
      record({ statusChangedDateTime: '2024-02-30T00:00:00Z' }),
      /statusChangedDateTime must be an ISO date-time/,
    ],
    [
      'no statusChangedDateTime',
      record({ statusChangedDateTime: undefined }),
      /statusChangedDateTime must be an ISO date-time/,
    ],
    [
      'a zoneless syncedAt',
      record({ syncedAt: '2025-01-01T00:00:00' }),
      /syncedAt must be an ISO date-time with a zone/,
    ],
    ['an envelope that is a list', record({ envelope: [] }), /envelope must be an object/],
    [
      'an envelope with a BigInt',
      record({ envelope: { n: 1n } }),
      /envelope is not JSON-serialisable \(Do not know how to serialize a BigInt\)/,
    ],
  ];
  for (const [what, raw, message] of rules) {
    test(`a record with ${what} fails the whole page, naming the store, the record and the rule`, () => {
      assert.throws(
        () => prepareWrite('directory /d', C, [record({ envelopeId: 'ok' }), raw].reverse(), undefined),
        (err: unknown) => invalid(/^Evidence store directory \/d: /)(err) && invalid(message)(err),
      );
    });
  }

  test('the page must be an array and the connection ID valid', () => {
    assert.throws(
      () => prepareWrite('d', C, { 0: record() }, undefined),
      invalid(/^Evidence store d: a page must be an array$/),
    );
    assert.throws(
      () => prepareWrite('d', 'bad/id', [record()], undefined),
      invalid(/connectionId "bad\/id" must match/),
    );
  });
});
