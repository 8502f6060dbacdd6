/** The stores' errors (activities/store/errors.ts): what a backend failure becomes, and what its message says. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeCause, errnoCode, EvidenceStoreError, unavailable } from '../activities/store/errors';

describe('store errors', () => {
  test('EvidenceStoreError carries its code, name and cause', () => {
    const cause = new Error('EIO');
    const err = new EvidenceStoreError('evidence_store_unavailable', 'Evidence store x: cannot read', { cause });
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'EvidenceStoreError');
    assert.equal(err.code, 'evidence_store_unavailable');
    assert.equal(err.message, 'Evidence store x: cannot read');
    assert.equal(err.cause, cause);
  });

  test('unavailable names the store, the action and the cause, and keeps the cause', () => {
    const cause = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const err = unavailable('directory /data', 'write a page for connection c1', cause);
    assert.equal(err.code, 'evidence_store_unavailable');
    assert.equal(
      err.message,
      'Evidence store directory /data: cannot write a page for connection c1: no space left on device',
    );
    assert.equal(err.cause, cause);
  });

  test('unavailable passes a store error through unchanged (a validation error stays one)', () => {
    const invalid = new EvidenceStoreError('invalid_evidence_record', 'record 0: status must be a non-empty string');
    assert.equal(unavailable('d', 'write', invalid), invalid);
  });

  test('describeCause: the message, else the errno code, else the name; an AggregateError lists its causes once', () => {
    assert.equal(describeCause(new Error('boom')), 'boom');
    assert.equal(describeCause(Object.assign(new Error(''), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
    assert.equal(describeCause(new TypeError('')), 'TypeError');
    assert.equal(describeCause(Object.assign(new RangeError(''), { code: 7 })), 'RangeError');
    const refused = (host: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${host}`), { code: 'ECONNREFUSED' });
    assert.equal(
      describeCause(new AggregateError([refused('::1:5432'), refused('127.0.0.1:5432'), refused('::1:5432')], '')),
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
    assert.equal(describeCause(new AggregateError([], 'nothing inside')), 'nothing inside');
    assert.equal(describeCause('plain string'), 'plain string');
    assert.equal(describeCause(undefined), 'undefined');
  });

  test('errnoCode: a string code of a Node or pg error, else undefined', () => {
    assert.equal(errnoCode(Object.assign(new Error('x'), { code: 'ENOENT' })), 'ENOENT');
    assert.equal(errnoCode({ code: '40P01' }), '40P01');
    assert.equal(errnoCode({ code: 40 }), undefined);
    assert.equal(errnoCode(new Error('x')), undefined);
    assert.equal(errnoCode(null), undefined);
    assert.equal(errnoCode(undefined), undefined);
  });
});
