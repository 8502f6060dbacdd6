/** What identifies and orders evidence (activities/store/identity.ts): envelope IDs, instants, byte order. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compare, instantKey, isEnvelopeId, isZonedTime } from '../activities/store/identity';

describe('instantKey', () => {
  test('UTC with 9 fractional digits, whatever the precision DocuSign sent', () => {
    assert.equal(instantKey('2024-10-16T12:54:00.0270000Z'), '2024-10-16T12:54:00.027000000Z');
    assert.equal(instantKey('2024-10-16T12:54:00.0270001Z'), '2024-10-16T12:54:00.027000100Z');
    assert.equal(instantKey('2024-10-16T12:54:00.123456789Z'), '2024-10-16T12:54:00.123456789Z');
    assert.equal(instantKey('2024-10-16T12:54:00Z'), '2024-10-16T12:54:00.000000000Z');
  });

  test('offsets are applied, with or without a colon, across a day boundary', () => {
    assert.equal(instantKey('2026-06-23T16:05:59.560+02:00'), '2026-06-23T14:05:59.560000000Z');
    assert.equal(instantKey('2026-06-23T16:05:59.560+0200'), '2026-06-23T14:05:59.560000000Z');
    assert.equal(instantKey('2026-06-23T23:30:00-01:30'), '2026-06-24T01:00:00.000000000Z');
    assert.equal(instantKey('2026-01-01T00:15:00+00:30'), '2025-12-31T23:45:00.000000000Z');
  });

  test('a time without a zone is UTC, never the worker zone', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/St_Johns';
    try {
      assert.equal(instantKey('2026-06-23T14:05:59.560'), '2026-06-23T14:05:59.560000000Z');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test('keys sort in instant order where the strings do not', () => {
    const times = ['2024-10-16T14:00:00.5+02:00', '2024-10-16T12:00:00.1000000Z', '2024-10-16T11:59:59.9999999-00:00'];
    const keys = times.map((t) => instantKey(t)!);
    assert.deepEqual([...keys].sort(), [keys[2], keys[1], keys[0]]);
  });

  for (const bad of [
    '',
    '2024-10-16',
    '2024-10-16 12:54:00Z',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-10-00T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-10-16T24:00:00Z',
    '2024-10-16T12:60:00Z',
    '2024-10-16T12:54:60Z',
    '2024-10-16T12:54:00.1234567890Z',
    '2024-10-16T12:54:00.Z',
    '2024-10-16T12:54:00+2',
    '2024-10-16T12:54:00z',
    ' 2024-10-16T12:54:00Z',
    '2024-10-16T12:54:00Z ',
    '9999-12-31T23:59:59-23:59',
  ]) {
    test(`not an instant: ${JSON.stringify(bad)}`, () => assert.equal(instantKey(bad), undefined));
  }

  test('leap day of a leap year is accepted', () => {
    assert.equal(instantKey('2024-02-29T00:00:00Z'), '2024-02-29T00:00:00.000000000Z');
    assert.equal(instantKey('2000-02-29T00:00:00Z'), '2000-02-29T00:00:00.000000000Z');
    assert.equal(instantKey('0004-02-29T01:00:00+02:00'), '0004-02-28T23:00:00.000000000Z');
  });
});

describe('isZonedTime', () => {
  test('a time the connector writes must carry its zone', () => {
    assert.equal(isZonedTime('2025-01-01T00:00:00.000Z'), true);
    assert.equal(isZonedTime('2025-01-01T00:00:00+01:00'), true);
    assert.equal(isZonedTime('2025-01-01T00:00:00-0130'), true);
    assert.equal(isZonedTime('2025-01-01T00:00:00.000'), false);
    assert.equal(isZonedTime('2025-02-30T00:00:00Z'), false, 'a zone alone is not enough');
    assert.equal(isZonedTime(1735689600000), false);
    assert.equal(isZonedTime(undefined), false);
  });
});

describe('isEnvelopeId', () => {
  test('GUIDs and other safe file names', () => {
    assert.equal(isEnvelopeId('4c2b9a39-0d1e-4f2a-9a8b-7c6d5e4f3a2b'), true);
    assert.equal(isEnvelopeId('env-1'), true);
    assert.equal(isEnvelopeId('A.b_c-9'), true);
    assert.equal(isEnvelopeId('a'.repeat(200)), true);
  });
  for (const bad of ['', '.hidden', '-x', '_x', 'a/b', 'a\\b', '..', 'a b', 'a'.repeat(201), 'é', 42, null]) {
    test(`not an envelope ID: ${JSON.stringify(bad)}`, () => assert.equal(isEnvelopeId(bad), false));
  }
});

describe('compare', () => {
  test('byte order (as COLLATE "C"), not locale order', () => {
    assert.equal(compare('a', 'b'), -1);
    assert.equal(compare('b', 'a'), 1);
    assert.equal(compare('a', 'a'), 0);
    assert.equal(compare('Z', 'a'), -1, 'upper case sorts first');
    assert.deepEqual(['b', 'a', 'B', 'a-1', 'a1'].sort(compare), ['B', 'a', 'a-1', 'a1', 'b']);
  });
});
