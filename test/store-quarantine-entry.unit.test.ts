/** Quarantine entries as stored (activities/store/quarantine-entry.ts): validated on write, checked on read. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EvidenceStoreError } from '../activities/store/errors';
import { parseQuarantined, prepareQuarantine } from '../activities/store/quarantine-entry';
import type { QuarantinedEnvelope } from '../activities/store/types';

const C = 'conn-1';
const entry = (overrides: Partial<Record<keyof QuarantinedEnvelope, unknown>> = {}): QuarantinedEnvelope =>
  ({
    connectionId: C,
    envelopeId: 'env-1',
    reason: 'field statusChangedDateTime is missing',
    quarantinedAt: '2025-01-01T00:00:00.000Z',
    envelope: { envelopeId: 'env-1', note: 'nul \u0000 inside' },
    ...overrides,
  }) as QuarantinedEnvelope;

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof EvidenceStoreError && err.code === 'invalid_evidence_record' && pattern.test(err.message);

describe('quarantine entries', () => {
  test('normalised to the QuarantinedEnvelope fields in order; of two for one envelope the later wins', () => {
    const later = entry({ reason: 'field status must be a non-empty string' });
    const prepared = prepareQuarantine('d', C, [{ ...entry(), extra: 1 }, entry({ envelopeId: 'env-2' }), later]);
    assert.deepEqual(
      prepared.map((p) => [p.entry.envelopeId, p.entry.reason]),
      [
        ['env-1', 'field status must be a non-empty string'],
        ['env-2', 'field statusChangedDateTime is missing'],
      ],
    );
    assert.deepEqual(Object.keys(prepared[0]!.entry), [
      'connectionId',
      'envelopeId',
      'reason',
      'quarantinedAt',
      'envelope',
    ]);
    assert.equal(prepared[0]!.json, JSON.stringify(later));
    assert.deepEqual(prepareQuarantine('d', C, []), []);
  });

  const rules: [string, unknown, RegExp][] = [
    ['not an object', null, /quarantine entry 1 for connection conn-1: must be an object$/],
    ['another connection', entry({ connectionId: 'x' }), /connectionId must equal the connection written to/],
    ['an unsafe envelope ID', entry({ envelopeId: 'a/b' }), /envelopeId must match/],
    ['no reason', entry({ reason: '' }), /reason must be a non-empty string/],
    [
      'a zoneless time',
      entry({ quarantinedAt: '2025-01-01T00:00:00' }),
      /quarantinedAt must be an ISO date-time with a zone/,
    ],
    ['no envelope object', entry({ envelope: 'raw' }), /envelope must be an object/],
    ['an envelope that cannot be serialised', entry({ envelope: { n: 1n } }), /envelope is not JSON-serialisable/],
  ];
  for (const [what, raw, message] of rules) {
    test(`an entry with ${what} is refused, naming the store, the entry and the rule`, () => {
      assert.throws(
        () => prepareQuarantine('pg', C, [entry({ envelopeId: 'ok' }), raw]),
        (err: unknown) =>
          invalid(/^Evidence store pg: quarantine entry 1 for connection conn-1: /)(err) && invalid(message)(err),
      );
    });
  }

  test('entries must be an array for a valid connection', () => {
    assert.throws(
      () => prepareQuarantine('d', C, entry()),
      invalid(/^Evidence store d: quarantine entries must be an array$/),
    );
    assert.throws(() => prepareQuarantine('d', '', [entry()]), invalid(/connectionId "" must match/));
  });

  test('parseQuarantined reads a stored entry back; anything else is not one', () => {
    const text = prepareQuarantine('d', C, [entry()])[0]!.json;
    assert.deepEqual(parseQuarantined(text), entry());
    for (const bad of [
      'not json',
      '[]',
      JSON.stringify({ ...entry(), envelopeId: '../x' }),
      JSON.stringify({ ...entry(), reason: 1 }),
      JSON.stringify({ ...entry(), quarantinedAt: null }),
      JSON.stringify({ ...entry(), envelope: [] }),
    ]) {
      assert.equal(parseQuarantined(bad), undefined, bad);
    }
  });
});
