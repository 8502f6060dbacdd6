/** The checks every store input goes through (activities/store/checks.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertConnectionId, isPlainObject, jsonOf, parseSince } from '../activities/store/checks';
import { EvidenceStoreError } from '../activities/store/errors';

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof EvidenceStoreError && err.code === 'invalid_evidence_record' && pattern.test(err.message);

describe('store input checks', () => {
  test('isPlainObject: objects only, not arrays or null', () => {
    assert.equal(isPlainObject({}), true);
    assert.equal(isPlainObject({ a: 1 }), true);
    assert.equal(isPlainObject([]), false);
    assert.equal(isPlainObject(null), false);
    assert.equal(isPlainObject('x'), false);
    assert.equal(isPlainObject(undefined), false);
  });

  test('assertConnectionId: a valid ID passes; anything else names the store, the value and the rule', () => {
    assertConnectionId('directory /d', 'acme-prod_1');
    assert.throws(
      () => assertConnectionId('directory /d', '../etc'),
      invalid(/^Evidence store directory \/d: connectionId "\.\.\/etc" must match \//),
    );
    assert.throws(() => assertConnectionId('d', ''), invalid(/connectionId "" must match/));
    assert.throws(() => assertConnectionId('d', 42), invalid(/connectionId 42 must match/));
    assert.throws(() => assertConnectionId('d', undefined), invalid(/connectionId undefined must match/));
  });

  test('parseSince: a zoned ISO time in epoch ms; a zoneless or invalid one is refused', () => {
    assert.equal(parseSince('d', '2025-01-01T00:00:00.000Z'), Date.UTC(2025, 0, 1));
    assert.equal(parseSince('d', '2025-01-01T01:00:00+01:00'), Date.UTC(2025, 0, 1));
    assert.throws(
      () => parseSince('d', '2025-01-01T00:00:00'),
      invalid(/^Evidence store d: "2025-01-01T00:00:00" is not an ISO date-time with a zone$/),
    );
    assert.throws(() => parseSince('d', 'yesterday'), invalid(/"yesterday" is not an ISO date-time/));
  });

  test('jsonOf: the JSON text; a value that cannot be serialised fails with the rule and the cause', () => {
    const fail = (rule: string): never => {
      throw new Error(`failed: ${rule}`);
    };
    assert.equal(jsonOf({ b: 1, a: [true] }, fail), '{"b":1,"a":[true]}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => jsonOf(cyclic, fail),
      /^Error: failed: envelope is not JSON-serialisable \(Converting circular/,
    );
    assert.throws(
      () => jsonOf({ n: 1n }, fail),
      /failed: envelope is not JSON-serialisable \(Do not know how to serialize a BigInt\)/,
    );
  });
});
