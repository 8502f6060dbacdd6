/**
 * Evidence store contract (design.md §5, activities/store/types.ts): one suite, run against the directory store and,
 * when TEST_POSTGRES_URL is set, the Postgres store; then each backend's own crash / transaction cases.
 *
 *   TEST_POSTGRES_URL=$(scripts/start-postgres.sh) node --import tsx --test --test-force-exit test/store.test.ts
 *
 * Every run uses random connection IDs; the Postgres suite also works in a schema of its own, dropped at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import {
  createEvidenceStore,
  DEFAULT_EVIDENCE_STORE,
  DirectoryStore,
  EvidenceStoreError,
  PostgresStore,
  instantKey,
  type EnvelopeRecord,
  type EvidenceStore,
  type QuarantinedEnvelope,
} from '../activities/store';
import { freePort } from '../worker/dev-server';

const POSTGRES_URL = process.env.TEST_POSTGRES_URL;
const RECORD_KEYS = ['connectionId', 'envelopeId', 'status', 'statusChangedDateTime', 'syncedAt', 'envelope'];

const T1 = '2025-01-01T00:00:00.000Z';
const T2 = '2025-01-02T00:00:00.000Z';
// Differ only in the 7th fractional digit: the same millisecond, different DocuSign instants.
const V1 = '2024-10-16T12:54:00.0270000Z';
const V2 = '2024-10-16T12:54:00.0270001Z';
const V3 = '2024-10-16T12:54:00.0270002Z';

function newConnectionId(): string {
  return `t-${randomBytes(6).toString('hex')}`;
}

function guid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A DocuSign-like envelope. Long keys come first on purpose: jsonb would reorder them. */
function envelopeObject(envelopeId: string, statusChangedDateTime: string, status: string): Record<string, unknown> {
  return {
    statusChangedDateTime,
    envelopeId,
    status,
    emailSubject: `Please sign: NDA für Zoë ✓ "quoted" \\ back\u2028slash`,
    createdDateTime: '2024-10-16T12:50:00.0000000Z',
    sentDateTime: '2024-10-16T12:51:00.1230000Z',
    envelopeUri: `/envelopes/${envelopeId}`,
    customFields: { textCustomFields: [{ name: 'deal', value: '{a,b}' }], listCustomFields: [] },
    recipients: {
      signers: [
        { name: 'Zoë Example', email: 'zoe@example.com', recipientId: '1', routingOrder: '1', status: 'sent' },
        { name: 'B', email: 'b@example.com', recipientId: '2', routingOrder: '2', status: 'created', note: null },
      ],
      carbonCopies: [],
      recipientCount: '2',
    },
    is21CFRPart11: 'false',
    z: 1.5,
    a: [true, false, 0, -1e-7],
  };
}

function rec(
  connectionId: string,
  envelopeId: string,
  statusChangedDateTime: string,
  syncedAt: string,
  status = 'sent',
): EnvelopeRecord {
  return {
    connectionId,
    envelopeId,
    status,
    statusChangedDateTime,
    syncedAt,
    envelope: envelopeObject(envelopeId, statusChangedDateTime, status),
  };
}

/** A quarantine entry as the sync writes it: a DocuSign list item that failed validation, kept raw. */
function held(
  connectionId: string,
  envelopeId: string,
  reason = 'field statusChangedDateTime is missing',
): QuarantinedEnvelope {
  const envelope: Record<string, unknown> = { ...envelopeObject(envelopeId, V1, 'sent') };
  delete envelope.statusChangedDateTime;
  // Malformed data is what lands here: a NUL escape (which jsonb refuses) must survive as well.
  envelope.note = 'nul \u0000 inside';
  return { connectionId, envelopeId, reason, quarantinedAt: T1, envelope };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function sorted(ids: readonly string[]): string[] {
  return [...ids].sort();
}

/** The record as stored must be the §5 shape exactly, with the envelope byte-for-byte as given. */
function assertSameRecord(actual: EnvelopeRecord | undefined, expected: EnvelopeRecord): void {
  assert.ok(actual, `record ${expected.envelopeId} missing`);
  assert.deepEqual(Object.keys(actual), RECORD_KEYS);
  assert.deepEqual(actual, expected);
  assert.equal(JSON.stringify(actual.envelope), JSON.stringify(expected.envelope));
}

interface Harness {
  /** A new store instance on the backend's shared storage (same directory / same database schema). */
  open(): EvidenceStore;
  /** A store that cannot work, the cause its errors must name, and a secret they must not contain. */
  broken(): Promise<{ store: EvidenceStore; cause: RegExp; secret?: string }>;
}

/** The contract both backends must meet. */
function contractSuite(getHarness: () => Harness): void {
  let store: EvidenceStore;
  before(async () => {
    store = getHarness().open();
    await store.init();
  });

  void it('init() is idempotent and a new connection is empty', async () => {
    await store.init();
    await getHarness().open().init();
    const c = newConnectionId();
    assert.equal(await store.count(c), 0);
    assert.equal(await store.countChangedSince(c, T1), 0);
    assert.deepEqual(await collect(store.list(c)), []);
    assert.deepEqual(await store.versions(c, guid()), []);
    assert.deepEqual(await store.writePage(c, []), { changed: [], unchanged: [] });
    assert.equal(await store.count(c), 0);
  });

  void it('creates records: changed names them, list returns the exact §5 record', async () => {
    const c = newConnectionId();
    const page = [rec(c, 'b-2', V1, T1), rec(c, 'a-1', V1, T1, 'completed'), rec(c, 'c-3', V2, T1)];
    // Fields beyond the §5 record are not stored.
    const withExtra = page.map((r) => ({ ...r, extra: 'not part of the record' }));
    const result = await store.writePage(c, withExtra);
    assert.deepEqual(sorted(result.changed), ['a-1', 'b-2', 'c-3']);
    assert.deepEqual(result.unchanged, []);
    assert.equal(await store.count(c), 3);
    const listed = await collect(store.list(c));
    assert.deepEqual(
      listed.map((r) => r.envelopeId),
      ['a-1', 'b-2', 'c-3'],
    );
    for (const r of listed)
      assertSameRecord(
        r,
        page.find((p) => p.envelopeId === r.envelopeId)!,
      );
    for (const p of page) {
      const versions = await store.versions(c, p.envelopeId);
      assert.equal(versions.length, 1);
      assertSameRecord(versions[0], p);
    }
  });

  void it('re-delivery of a page is idempotent: nothing changed, no new version, original syncedAt kept', async () => {
    const c = newConnectionId();
    const ids = [guid(), guid(), guid()];
    const first = ids.map((id) => rec(c, id, V1, T1));
    await store.writePage(c, first);
    // The sync stamps every delivery with its own time; the version is the same.
    const again = await store.writePage(
      c,
      ids.map((id) => rec(c, id, V1, T2)),
    );
    assert.deepEqual(again.changed, []);
    assert.deepEqual(sorted(again.unchanged), sorted(ids));
    assert.equal(await store.count(c), 3);
    assert.equal(await store.countChangedSince(c, T2), 0);
    for (const [i, id] of ids.entries()) {
      const versions = await store.versions(c, id);
      assert.equal(versions.length, 1);
      assertSameRecord(versions[0], first[i]!);
    }
    const listed = await collect(store.list(c));
    assert.deepEqual(
      listed.map((r) => r.syncedAt),
      [T1, T1, T1],
    );
  });

  void it('a later statusChangedDateTime (beyond ms precision) adds a version and replaces the latest record', async () => {
    const c = newConnectionId();
    const id = guid();
    const other = guid();
    await store.writePage(c, [rec(c, id, V1, T1, 'sent'), rec(c, other, V1, T1)]);
    const v2 = rec(c, id, V2, T2, 'completed');
    const result = await store.writePage(c, [v2, rec(c, other, V1, T2)]);
    assert.deepEqual(result.changed, [id]);
    assert.deepEqual(result.unchanged, [other]);
    assert.equal(await store.count(c), 2);
    const versions = await store.versions(c, id);
    assert.deepEqual(
      versions.map((v) => [v.statusChangedDateTime, v.status]),
      [
        [V1, 'sent'],
        [V2, 'completed'],
      ],
    );
    const latest = (await collect(store.list(c))).find((r) => r.envelopeId === id);
    assertSameRecord(latest, v2);
  });

  void it('an older statusChangedDateTime is kept as a version but does not replace the latest record', async () => {
    const c = newConnectionId();
    const id = guid();
    const newer = rec(c, id, V3, T1, 'completed');
    await store.writePage(c, [newer]);
    const result = await store.writePage(c, [rec(c, id, V2, T2, 'delivered')]);
    assert.deepEqual(result.changed, [id]); // a new version was stored
    const [latest] = await collect(store.list(c));
    assertSameRecord(latest, newer);
    assert.deepEqual(
      (await store.versions(c, id)).map((v) => v.statusChangedDateTime),
      [V2, V3],
    );
  });

  void it('instants compare across zone offsets and fraction lengths, not as raw strings', async () => {
    const c = newConnectionId();
    const id = guid();
    const base = rec(c, id, '2024-10-16T12:54:00.0270001Z', T1);
    await store.writePage(c, [base]);
    // Lexically later, but 11:54Z: earlier.
    await store.writePage(c, [rec(c, id, '2024-10-16T13:54:00.0270001+02:00', T1, 'voided')]);
    assertSameRecord((await collect(store.list(c)))[0], base);
    // 10 ns later than base.
    const later = rec(c, id, '2024-10-16T12:54:00.02700011Z', T1, 'completed');
    await store.writePage(c, [later]);
    assertSameRecord((await collect(store.list(c)))[0], later);
    assert.deepEqual(
      (await store.versions(c, id)).map((v) => v.status),
      ['voided', 'sent', 'completed'],
    );
  });

  void it('a page holding two versions of one envelope stores both, the newer as latest', async () => {
    const c = newConnectionId();
    const id = guid();
    const v2 = rec(c, id, V2, T1, 'completed');
    const v1 = rec(c, id, V1, T1, 'sent');
    const result = await store.writePage(c, [v2, v1, v2]);
    assert.deepEqual(result, { changed: [id], unchanged: [] });
    assert.deepEqual(
      (await store.versions(c, id)).map((v) => v.statusChangedDateTime),
      [V1, V2],
    );
    assertSameRecord((await collect(store.list(c)))[0], v2);
    assert.equal(await store.count(c), 1);
  });

  void it('countChangedSince counts distinct envelopes with a version stored at or after the time', async () => {
    const c = newConnectionId();
    await store.writePage(c, [rec(c, 'a', V1, T1), rec(c, 'b', V1, T1), rec(c, 'c', V1, T1)]);
    // Second sync: a changes (twice), d is new, b is re-delivered.
    await store.writePage(c, [rec(c, 'a', V2, T2), rec(c, 'd', V1, T2), rec(c, 'b', V1, T2)]);
    await store.writePage(c, [rec(c, 'a', V3, T2)]);
    assert.equal(await store.countChangedSince(c, T2), 2);
    assert.equal(await store.countChangedSince(c, T1), 4);
    assert.equal(await store.countChangedSince(c, '2025-01-01T23:59:59.999Z'), 2);
    assert.equal(await store.countChangedSince(c, '2025-01-02T00:00:00.001Z'), 0);
    assert.equal(await store.countChangedSince(c, '2025-01-02T01:00:00+01:00'), 2); // same instant as T2
    assert.equal(await store.count(c), 4);
    await assert.rejects(store.countChangedSince(c, 'yesterday'), EvidenceStoreError);
  });

  void it('list yields every latest record once, in envelopeId (byte) order', async () => {
    const c = newConnectionId();
    // 'a' sorts before 'a-1', although 'a.json' sorts after 'a-1.json': the order is by ID, not file name.
    const ids = ['b', 'A1', 'a1', '0x', 'Z-9', 'a', 'a-1', 'a.1', 'a_1', ...Array.from({ length: 23 }, () => guid())];
    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    const page = shuffled.map((id) => rec(c, id, V1, T1));
    await store.writePage(c, page.slice(0, 15));
    await store.writePage(c, page.slice(15));
    // One envelope moves on: list shows its newer record.
    const newer = rec(c, 'a1', V2, T2, 'completed');
    await store.writePage(c, [newer]);
    const byteOrder = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const listed = await collect(store.list(c));
    assert.deepEqual(
      listed.map((r) => r.envelopeId),
      byteOrder,
    );
    for (const r of listed) {
      assertSameRecord(r, r.envelopeId === 'a1' ? newer : page.find((p) => p.envelopeId === r.envelopeId)!);
    }
    // Stopping early is fine.
    const firstTwo: string[] = [];
    for await (const r of store.list(c)) {
      firstTwo.push(r.envelopeId);
      if (firstTwo.length === 2) break;
    }
    assert.deepEqual(firstTwo, byteOrder.slice(0, 2));
  });

  void it('connections are isolated', async () => {
    const c1 = newConnectionId();
    const c2 = newConnectionId();
    const id = guid();
    await store.writePage(c1, [rec(c1, id, V1, T1)]);
    const result = await store.writePage(c2, [rec(c2, id, V1, T1)]);
    assert.deepEqual(result.changed, [id]);
    await store.writePage(c2, [rec(c2, id, V2, T1, 'completed')]);
    assert.equal((await store.versions(c1, id)).length, 1);
    assert.equal((await store.versions(c2, id)).length, 2);
    assert.equal((await collect(store.list(c1)))[0]?.status, 'sent');
  });

  void it('concurrent writes of the same page from two store instances store each version once', async () => {
    const c = newConnectionId();
    const a = getHarness().open();
    const b = getHarness().open();
    for (let round = 0; round < 5; round++) {
      const ids = Array.from({ length: 20 }, () => guid());
      const stamp = `2024-10-16T12:54:0${round}.0000000Z`;
      const page = ids.map((id) => rec(c, id, stamp, T1));
      // B delivers the same envelopes in reverse order (lock order must not matter), plus a newer version of one.
      const pageB = [...page].reverse().concat(rec(c, ids[0]!, `2024-10-16T12:54:0${round}.0000001Z`, T1));
      const [ra, rb] = await Promise.all([a.writePage(c, page), b.writePage(c, pageB)]);
      for (const id of ids.slice(1)) {
        assert.equal(
          Number(ra.changed.includes(id)) + Number(rb.changed.includes(id)),
          1,
          `exactly one writer created ${id}`,
        );
        assert.equal((await store.versions(c, id)).length, 1);
      }
      assert.equal((await store.versions(c, ids[0]!)).length, 2);
      assert.equal(
        (await collect(store.list(c))).find((r) => r.envelopeId === ids[0])?.statusChangedDateTime,
        pageB.at(-1)?.statusChangedDateTime,
      );
    }
    assert.equal(await store.count(c), 100);
    await Promise.all([a.close(), b.close()]);
  });

  void it('a page with one invalid record writes nothing and says which record is wrong', async () => {
    const c = newConnectionId();
    const good = [rec(c, 'good-1', V1, T1), rec(c, 'good-2', V1, T1)];
    const cases: [string, unknown, RegExp][] = [
      ['status null', { ...rec(c, 'bad', V1, T1), status: null }, /record 2 \(envelopeId bad\).*status/],
      ['other connection', { ...rec(c, 'bad', V1, T1), connectionId: 'someone-else' }, /record 2.*connectionId/],
      ['path in envelopeId', rec(c, '../../escape', V1, T1), /record 2.*envelopeId/],
      ['bad statusChangedDateTime', rec(c, 'bad', '16/10/2024 12:54', T1), /record 2.*statusChangedDateTime/],
      ['impossible date', rec(c, 'bad', '2024-02-30T00:00:00Z', T1), /record 2.*statusChangedDateTime/],
      ['bad syncedAt', rec(c, 'bad', V1, 'now'), /record 2.*syncedAt/],
      ['envelope not an object', { ...rec(c, 'bad', V1, T1), envelope: [] }, /record 2.*envelope/],
    ];
    for (const [name, bad, message] of cases) {
      await assert.rejects(store.writePage(c, [...good, bad as EnvelopeRecord]), (err: unknown) => {
        assert.ok(err instanceof EvidenceStoreError, name);
        assert.equal(err.code, 'invalid_evidence_record', name);
        assert.match(err.message, message, name);
        assert.ok(err.message.includes(store.description), name);
        return true;
      });
    }
    assert.equal(await store.count(c), 0);
    assert.deepEqual(await store.versions(c, 'good-1'), []);
    assert.deepEqual(await collect(store.list(c)), []);
    await assert.rejects(store.writePage('Not Valid!', []), /connectionId/);
  });

  void it('the sync checkpoint is saved with a page (an empty one too), replaced by the next, seen by every instance', async () => {
    const c = newConnectionId();
    assert.equal(await store.readCheckpoint(c), undefined);
    const first = { syncId: 'run-1/3', progress: { pages: 1, nextUrl: 'https://x/restapi/v2.1/a?start_position=100' } };
    await store.writePage(c, [rec(c, 'a', V1, T1)], first);
    assert.deepEqual(await store.readCheckpoint(c), first);
    const second = { syncId: 'run-1/3', progress: { pages: 2, windowStart: V2, highWater: V1 } };
    assert.deepEqual(await store.writePage(c, [], second), { changed: [], unchanged: [] });
    const other = getHarness().open();
    assert.deepEqual(await other.readCheckpoint(c), second);
    // A page without a checkpoint leaves it alone; another connection has none.
    await store.writePage(c, [rec(c, 'b', V1, T1)]);
    assert.deepEqual(await other.readCheckpoint(c), second);
    assert.equal(await store.readCheckpoint(newConnectionId()), undefined);
  });

  void it('a page with an invalid record or checkpoint writes neither', async () => {
    const c = newConnectionId();
    const saved = { syncId: 's', progress: { pages: 1 } };
    await store.writePage(c, [rec(c, 'a', V1, T1)], saved);
    const next = { syncId: 's', progress: { pages: 2 } };
    await assert.rejects(store.writePage(c, [rec(c, 'b', 'yesterday', T1)], next), /record 0.*statusChangedDateTime/);
    await assert.rejects(
      store.writePage(c, [rec(c, 'b', V1, T1)], { syncId: '', progress: { pages: 2 } }),
      (err: unknown) =>
        err instanceof EvidenceStoreError && /sync checkpoint syncId must be a non-empty string/.test(err.message),
    );
    assert.deepEqual(await store.readCheckpoint(c), saved);
    assert.equal(await store.count(c), 1);
  });

  void it('quarantine: entries kept exactly, in envelopeId order, replaced by ID, apart from the evidence', async () => {
    const c = newConnectionId();
    assert.deepEqual(await store.listQuarantined(c), []);
    assert.equal(await store.countQuarantined(c), 0);
    await store.quarantine(c, []);
    await store.release(c, ['nothing-here', '../../escape']);
    const b = held(c, 'b-2');
    const a = held(c, 'a-1', 'field status must be a non-empty string');
    await store.quarantine(c, [b, a]);
    assert.equal(await store.countQuarantined(c), 2);
    const listed = await store.listQuarantined(c);
    assert.deepEqual(listed, [a, b]);
    assert.deepEqual(Object.keys(listed[0]!), ['connectionId', 'envelopeId', 'reason', 'quarantinedAt', 'envelope']);
    assert.equal(JSON.stringify(listed[1]!.envelope), JSON.stringify(b.envelope), 'the envelope byte for byte');
    // Not evidence: no envelope counted or listed.
    assert.equal(await store.count(c), 0);
    assert.deepEqual(await collect(store.list(c)), []);
    // Quarantined again (a later sync, another reason): replaced, not added.
    const again = { ...held(c, 'b-2', 'field statusChangedDateTime must be an ISO date-time'), quarantinedAt: T2 };
    await store.quarantine(c, [again]);
    assert.deepEqual(await getHarness().open().listQuarantined(c), [a, again], 'seen by every instance');
    // Other connections are apart.
    assert.equal(await store.countQuarantined(newConnectionId()), 0);
  });

  void it('release removes only the named envelopes; the valid version is then evidence', async () => {
    const c = newConnectionId();
    await store.quarantine(c, [held(c, 'a'), held(c, 'b'), held(c, 'c')]);
    await store.writePage(c, [rec(c, 'b', V1, T2)]);
    await store.release(c, ['b', 'not-quarantined']);
    assert.deepEqual(
      (await store.listQuarantined(c)).map((q) => q.envelopeId),
      ['a', 'c'],
    );
    assert.equal(await store.countQuarantined(c), 2);
    assert.equal(await store.count(c), 1);
    await store.release(c, ['a', 'c', 'c']);
    assert.deepEqual(await store.listQuarantined(c), []);
    assert.equal(await store.countQuarantined(c), 0);
  });

  void it('an invalid quarantine entry writes nothing and says which entry is wrong', async () => {
    const c = newConnectionId();
    const good = held(c, 'good');
    const cases: [string, unknown, RegExp][] = [
      ['path in envelopeId', held(c, '../../escape'), /quarantine entry 1 .*envelopeId/],
      ['other connection', { ...held(c, 'x'), connectionId: 'someone-else' }, /quarantine entry 1 .*connectionId/],
      ['no reason', { ...held(c, 'x'), reason: '' }, /quarantine entry 1 .*reason/],
      ['zoneless quarantinedAt', { ...held(c, 'x'), quarantinedAt: '2025-01-01T00:00:00' }, /quarantinedAt/],
      ['envelope a list', { ...held(c, 'x'), envelope: [] }, /quarantine entry 1 .*envelope must be an object/],
    ];
    for (const [name, bad, message] of cases) {
      await assert.rejects(store.quarantine(c, [good, bad as QuarantinedEnvelope]), (err: unknown) => {
        assert.ok(err instanceof EvidenceStoreError, name);
        assert.equal(err.code, 'invalid_evidence_record', name);
        assert.match(err.message, message, name);
        assert.ok(err.message.includes(store.description), name);
        return true;
      });
    }
    assert.equal(await store.countQuarantined(c), 0);
  });

  void it('a zoneless statusChangedDateTime is UTC: stored, ordered by its instant, never rejected', async () => {
    const c = newConnectionId();
    const id = guid();
    assert.equal(instantKey('2026-06-23T14:05:59.560'), '2026-06-23T14:05:59.560000000Z');
    assert.equal(instantKey('2026-06-23T16:05:59.560+0200'), '2026-06-23T14:05:59.560000000Z');
    const zoneless = rec(c, id, '2026-06-23T14:05:59.560', T1);
    await store.writePage(c, [zoneless]);
    assertSameRecord((await collect(store.list(c)))[0], zoneless);
    // 1 ms later in UTC: newer, whatever the worker's own zone.
    const later = rec(c, id, '2026-06-23T14:05:59.5610000Z', T2, 'completed');
    await store.writePage(c, [later]);
    assertSameRecord((await collect(store.list(c)))[0], later);
    await store.writePage(c, [rec(c, id, '2026-06-23T14:05:59.559', T2, 'delivered')]);
    assertSameRecord((await collect(store.list(c)))[0], later);
    assert.deepEqual(
      (await store.versions(c, id)).map((v) => v.status),
      ['delivered', 'sent', 'completed'],
    );
  });

  void it('errors name the store and the cause, never credentials', async () => {
    const { store: broken, cause, secret } = await getHarness().broken();
    try {
      if (secret) assert.ok(!broken.description.includes(secret), 'description without the password');
      const c = newConnectionId();
      for (const attempt of [
        () => broken.init(),
        () => broken.writePage(c, [rec(c, guid(), V1, T1)]),
        () => broken.quarantine(c, [held(c, guid())]),
        () => broken.release(c, [guid()]),
      ]) {
        await assert.rejects(attempt(), (err: unknown) => {
          assert.ok(err instanceof EvidenceStoreError);
          assert.equal(err.code, 'evidence_store_unavailable');
          assert.ok(err.message.includes(broken.description), err.message);
          assert.match(err.message, cause);
          if (secret) assert.ok(!inspect(err, { depth: 10 }).includes(secret), 'no password in the error or its cause');
          return true;
        });
      }
    } finally {
      await broken.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------------

void describe('createEvidenceStore', () => {
  void it('selects Postgres for postgres:// and postgresql:// URLs, a directory otherwise', async () => {
    assert.equal(DEFAULT_EVIDENCE_STORE, './data/evidence');
    const stores = [
      createEvidenceStore('postgres://u:hunter2@db.example:5432/evidence?sslmode=require&password=hunter2'),
      createEvidenceStore('POSTGRESQL://u:hunter2@db.example/evidence'),
      createEvidenceStore(DEFAULT_EVIDENCE_STORE),
      createEvidenceStore('/var/lib/evidence'),
    ];
    try {
      assert.ok(stores[0] instanceof PostgresStore);
      assert.ok(stores[1] instanceof PostgresStore);
      assert.ok(stores[2] instanceof DirectoryStore);
      assert.ok(stores[3] instanceof DirectoryStore);
      assert.equal(stores[0].description, 'postgres://u@db.example:5432/evidence');
      assert.ok(!stores[1].description.includes('hunter2'));
      assert.equal(stores[2].description, `directory ${path.resolve('data/evidence')}`);
      assert.throws(() => createEvidenceStore('  '), /EVIDENCE_STORE/);
      assert.throws(
        () => createEvidenceStore('postgres://u:hunter2@[bad'),
        (err: Error) => !err.message.includes('hunter2'),
      );
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

void describe('DirectoryStore', () => {
  let root: string;
  const opened: EvidenceStore[] = [];
  const open = (): DirectoryStore => {
    const s = new DirectoryStore(path.join(root, 'evidence'));
    opened.push(s);
    return s;
  };
  const harness: Harness = {
    open,
    broken: async () => {
      const file = path.join(root, 'a-file');
      await fs.writeFile(file, 'not a directory');
      return { store: new DirectoryStore(path.join(file, 'evidence')), cause: /ENOTDIR/ };
    },
  };
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'evidence-store-test-'));
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await fs.rm(root, { recursive: true, force: true });
  });

  void describe('contract', () => contractSuite(() => harness));

  void describe('directory specifics', () => {
    const connDir = (c: string): string => path.join(root, 'evidence', c);
    const changesFile = (c: string): string => path.join(connDir(c), 'changes.jsonl');
    const latestFile = (c: string, id: string): string => path.join(connDir(c), 'envelopes', `${id}.json`);
    const lines = async (c: string): Promise<string[]> =>
      (await fs.readFile(changesFile(c), 'utf8')).split('\n').filter((l) => l !== '');
    const readLatest = async (c: string, id: string): Promise<EnvelopeRecord> =>
      JSON.parse(await fs.readFile(latestFile(c, id), 'utf8')) as EnvelopeRecord;

    void it('lays out envelopes/<id>.json (latest) and changes.jsonl (one line per version)', async () => {
      const store = open();
      const c = newConnectionId();
      const a1 = rec(c, 'a', V1, T1);
      const a2 = rec(c, 'a', V2, T2, 'completed');
      const b1 = rec(c, 'b', V1, T1);
      await store.writePage(c, [a1, b1]);
      await store.writePage(c, [a2, b1]);
      assert.deepEqual(sorted(await fs.readdir(path.join(connDir(c), 'envelopes'))), ['a.json', 'b.json']);
      const stored = (await lines(c)).map((l) => JSON.parse(l) as EnvelopeRecord);
      assert.equal(stored.length, 3);
      [a1, b1, a2].forEach((expected, i) => assertSameRecord(stored[i], expected));
      assertSameRecord(await readLatest(c, 'a'), a2);
      assertSameRecord(await readLatest(c, 'b'), b1);
    });

    void it('lays out quarantine/<envelopeId>.json, one entry per file, and only once something is quarantined', async () => {
      const store = open();
      const c = newConnectionId();
      await store.writePage(c, [rec(c, 'a', V1, T1)]);
      assert.deepEqual(sorted(await fs.readdir(connDir(c))), ['changes.jsonl', 'envelopes']);
      await store.quarantine(c, [held(c, 'b'), held(c, 'c')]);
      const dir = path.join(connDir(c), 'quarantine');
      assert.deepEqual(sorted(await fs.readdir(dir)), ['b.json', 'c.json'], 'no temp files remain');
      assert.deepEqual(JSON.parse(await fs.readFile(path.join(dir, 'b.json'), 'utf8')), held(c, 'b'));
      // A temp file left by a crash mid-write is not an entry.
      await fs.writeFile(path.join(dir, '.d.json.123.abc.tmp'), '{');
      assert.equal(await store.countQuarantined(c), 2);
      await store.release(c, ['b', 'c']);
      assert.deepEqual(await fs.readdir(dir), ['.d.json.123.abc.tmp']);
      assert.deepEqual(await store.listQuarantined(c), []);
    });

    void it('a quarantine file that is not an entry fails the read, naming it', async () => {
      const store = open();
      const c = newConnectionId();
      await store.quarantine(c, [held(c, 'b')]);
      await fs.writeFile(path.join(connDir(c), 'quarantine', 'b.json'), 'not json');
      await assert.rejects(store.listQuarantined(c), (err: unknown) => {
        assert.ok(err instanceof EvidenceStoreError);
        assert.equal(err.code, 'evidence_store_unavailable');
        assert.match(err.message, /quarantine\/b\.json is not a quarantine entry/);
        return true;
      });
    });

    void it('replaces latest files atomically: a concurrent reader never sees a partial file, no temp files remain', async () => {
      const store = open();
      const c = newConnectionId();
      const id = guid();
      const big = (sca: string, i: number): EnvelopeRecord => {
        const r = rec(c, id, sca, T1);
        r.envelope.documentsCombined = `${i}`.padEnd(500_000, 'x');
        return r;
      };
      await store.writePage(c, [big('2024-10-16T12:00:00.0000000Z', 0)]);
      let writing = true;
      let reads = 0;
      const reader = (async () => {
        while (writing) {
          const parsed = JSON.parse(await fs.readFile(latestFile(c, id), 'utf8')) as EnvelopeRecord;
          assert.equal(parsed.envelopeId, id);
          reads++;
        }
      })();
      try {
        for (let i = 1; i <= 12; i++) {
          await store.writePage(c, [big(`2024-10-16T12:00:${String(i).padStart(2, '0')}.0000000Z`, i)]);
        }
      } finally {
        writing = false;
      }
      await reader;
      assert.ok(reads > 0);
      assert.deepEqual(await fs.readdir(path.join(connDir(c), 'envelopes')), [`${id}.json`]);
      assert.deepEqual(sorted(await fs.readdir(connDir(c))), ['changes.jsonl', 'envelopes']);
      assert.equal((await readLatest(c, id)).statusChangedDateTime, '2024-10-16T12:00:12.0000000Z');
    });

    void it('a failed latest write removes its temp file, names the store, and is completed by re-delivery', async () => {
      const store = open();
      const c = newConnectionId();
      const record = rec(c, 'blocked', V1, T1);
      // The rename of the temp file fails (as on a full or failing disk).
      const realRename = fs.rename;
      let failed = 0;
      fs.rename = async (from, to) => {
        if (String(to).endsWith(`${path.sep}blocked.json`)) {
          failed++;
          throw Object.assign(new Error(`EIO: i/o error, rename '${String(from)}'`), { code: 'EIO' });
        }
        return realRename(from, to);
      };
      try {
        await assert.rejects(store.writePage(c, [record], { syncId: 's', progress: { pages: 1 } }), (err: unknown) => {
          assert.ok(err instanceof EvidenceStoreError);
          assert.equal(err.code, 'evidence_store_unavailable');
          assert.ok(err.message.includes(store.description), err.message);
          assert.match(err.message, /EIO/);
          return true;
        });
      } finally {
        fs.rename = realRename;
      }
      assert.equal(failed, 1);
      assert.deepEqual(await fs.readdir(path.join(connDir(c), 'envelopes')), []);
      assert.equal(await store.readCheckpoint(c), undefined, 'no checkpoint claims a page that is not durable');
      // The version was stored before the latest file; re-delivery completes the latest file.
      assert.deepEqual(await store.writePage(c, [record]), { changed: [], unchanged: ['blocked'] });
      assertSameRecord(await readLatest(c, 'blocked'), record);
      assert.deepEqual(await fs.readdir(path.join(connDir(c), 'envelopes')), ['blocked.json']);
    });

    void it('tolerates a torn last line in changes.jsonl and re-appends that version on re-delivery', async () => {
      const writer = open();
      const c = newConnectionId();
      await writer.writePage(c, [rec(c, 'a', V1, T1)]);
      // Crash in the middle of appending the next page (a v2, b v1): half a line, no newline.
      const page2 = [rec(c, 'a', V2, T2, 'completed'), rec(c, 'b', V1, T2)];
      const torn = JSON.stringify(page2[0]).slice(0, 150);
      await fs.appendFile(changesFile(c), torn);

      for (const store of [writer, open()]) {
        assert.equal(await store.count(c), 1);
        assert.deepEqual(
          (await store.versions(c, 'a')).map((v) => v.statusChangedDateTime),
          [V1],
        );
        assert.equal((await collect(store.list(c))).length, 1);
      }

      const restarted = open();
      const result = await restarted.writePage(c, page2);
      assert.deepEqual(sorted(result.changed), ['a', 'b']);
      assert.deepEqual(await restarted.writePage(c, page2), { changed: [], unchanged: ['a', 'b'] });
      const fresh = open();
      assert.equal(await fresh.count(c), 2);
      assert.deepEqual(
        (await fresh.versions(c, 'a')).map((v) => v.statusChangedDateTime),
        [V1, V2],
      );
      assertSameRecord((await fresh.versions(c, 'a'))[1], page2[0]!);
      assertSameRecord(await readLatest(c, 'a'), page2[0]!);
      // The fragment became a line of its own; every other line is a whole record, each version once.
      const all = await lines(c);
      assert.equal(all.length, 4);
      assert.equal(all[1], torn);
      assert.deepEqual(
        [all[0], all[2], all[3]].map((l) => (JSON.parse(l!) as EnvelopeRecord).envelopeId),
        ['a', 'a', 'b'],
      );
    });

    void it('reports every unreadable journal line (offset, once to the callback, to every reader) instead of dropping it', async () => {
      const seen: { connectionId: string; offset: number }[] = [];
      const c = newConnectionId();
      const writer = new DirectoryStore(path.join(root, 'evidence'), {
        onUnreadableLine: (connectionId, line) => seen.push({ connectionId, offset: line.offset }),
      });
      opened.push(writer);
      await writer.writePage(c, [rec(c, 'a', V1, T1)]);
      assert.deepEqual(await writer.unreadableLines(c), [], 'a sound journal has none');
      const garbageAt = (await fs.stat(changesFile(c))).size;
      await fs.appendFile(changesFile(c), '{"envelopeId":"x","statusChan\n'); // a corrupt line in the middle
      await writer.writePage(c, [rec(c, 'b', V1, T1)]);

      const expected = [{ file: changesFile(c), offset: garbageAt, length: '{"envelopeId":"x","statusChan'.length }];
      assert.deepEqual(await writer.unreadableLines(c), expected);
      assert.deepEqual(await open().unreadableLines(c), expected, 'a fresh reader finds it too');
      await writer.count(c);
      assert.deepEqual(seen, [{ connectionId: c, offset: garbageAt }], 'the callback hears of it exactly once');
      assert.deepEqual(sorted((await collect(writer.list(c))).map((r) => r.envelopeId)), ['a', 'b'], 'the rest reads');
    });

    void it('repairs a crash between appending versions and replacing latest files on re-delivery, without re-appending', async () => {
      const writer = open();
      const c = newConnectionId();
      await writer.writePage(c, [rec(c, 'a', V1, T1)]);
      // Crash after step 1 of page 2: its versions are in changes.jsonl, the latest files are untouched.
      const page2 = [rec(c, 'a', V2, T2, 'completed'), rec(c, 'b', V1, T2)];
      await fs.appendFile(changesFile(c), page2.map((r) => `${JSON.stringify(r)}\n`).join(''));
      // and, for a third envelope, a crash that left a newer version than anything re-delivered later.
      const c3 = rec(c, 'c', V3, T2, 'completed');
      await writer.writePage(c, [rec(c, 'c', V1, T1)]);
      await fs.appendFile(changesFile(c), `${JSON.stringify(c3)}\n`);
      const before = (await lines(c)).length;

      for (const store of [writer, open()]) {
        // Re-delivery by the instance that saw the crash (its index is warm) and by a restarted one.
        const result = await store.writePage(c, page2);
        assert.deepEqual(result, { changed: [], unchanged: ['a', 'b'] });
      }
      assertSameRecord(await readLatest(c, 'a'), page2[0]!);
      assertSameRecord(await readLatest(c, 'b'), page2[1]!);
      // An older re-delivery of c still brings its latest file to the newest stored version.
      assert.deepEqual(await open().writePage(c, [rec(c, 'c', V1, T2)]), { changed: [], unchanged: ['c'] });
      assertSameRecord(await readLatest(c, 'c'), c3);
      assert.equal((await lines(c)).length, before);
      assert.equal(await open().count(c), 3);
      assert.deepEqual(
        (await collect(open().list(c))).map((r) => r.statusChangedDateTime),
        [V2, V1, V3],
      );
    });

    void it('sees lines appended by another process and reads a duplicated line once', async () => {
      const store = open();
      const c = newConnectionId();
      const a1 = rec(c, 'a', V1, T1);
      await store.writePage(c, [a1]);
      assert.equal(await store.count(c), 1);
      // Another process (or a raced writer) appended the same version and a new one.
      const b1 = rec(c, 'b', V1, T2);
      await fs.appendFile(changesFile(c), `${JSON.stringify(a1)}\n${JSON.stringify(b1)}\n`);
      assert.equal(await store.count(c), 2);
      assert.equal(await store.countChangedSince(c, T2), 1);
      assert.equal((await store.versions(c, 'a')).length, 1);
      assert.deepEqual(await store.writePage(c, [a1, b1]), { changed: [], unchanged: ['a', 'b'] });
      // A replaced changes.jsonl (restored from backup) is reloaded, not appended to blindly.
      await fs.writeFile(changesFile(c) + '.new', `${JSON.stringify(a1)}\n`);
      await fs.rename(changesFile(c) + '.new', changesFile(c));
      assert.equal(await store.count(c), 1);
    });
  });
});

void describe('PostgresStore', () => {
  if (!POSTGRES_URL) {
    // Counted as skipped in the run's summary (a skipped describe() would not be).
    void it('contract and Postgres specifics', { skip: 'TEST_POSTGRES_URL not set' }, () => undefined);
    return;
  }
  const schema = `evidence_test_${randomBytes(5).toString('hex')}`;
  let admin: Pool;
  const opened: EvidenceStore[] = [];
  /** The test URL, pointed at a schema of this run via the `options` startup parameter. */
  const urlFor = (s: string): string => {
    const u = new URL(POSTGRES_URL);
    u.searchParams.set('options', `-c search_path=${s}`);
    return u.toString();
  };
  const open = (s = schema, listBatchSize = 7): PostgresStore => {
    // A small batch size makes list() cross keyset batch boundaries in the contract tests.
    const store = new PostgresStore(urlFor(s), { listBatchSize });
    opened.push(store);
    return store;
  };
  const harness: Harness = {
    open: () => open(),
    broken: async () => {
      const port = await freePort();
      const secret = 'S3cret-pw-never-shown';
      return {
        store: new PostgresStore(`postgres://evidence:${secret}@127.0.0.1:${port}/evidence_test`),
        cause: /ECONNREFUSED/,
        secret,
      };
    },
  };

  before(async () => {
    admin = new Pool({ connectionString: POSTGRES_URL, max: 2 });
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const { rows } = await admin.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [
      `${schema}%`,
    ]);
    for (const { nspname } of rows) await admin.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
    await admin.end();
  });

  void describe('contract', () => contractSuite(() => harness));

  void describe('postgres specifics', () => {
    void it('init() twice and from several instances at once, on a fresh database schema', async () => {
      for (let round = 0; round < 3; round++) {
        const fresh = `${schema}_m${round}`;
        await admin.query(`CREATE SCHEMA ${fresh}`);
        const stores = Array.from({ length: 4 }, () => open(fresh));
        await Promise.all(stores.map((s) => s.init()));
        await stores[0]!.init();
        await open(fresh).init();
        const { rows } = await admin.query<{ version: string }>(`SELECT version FROM ${fresh}.schema_migrations`);
        // The envelope store's migrations, then those of the snapshot and proof stores (their own suites).
        assert.deepEqual(
          rows
            .map((r) => r.version)
            .sort()
            .slice(0, 3),
          ['evidence_store_001_tables', 'evidence_store_002_sync_checkpoints', 'evidence_store_003_quarantine'],
        );
        const tables = await admin.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
          [fresh],
        );
        const envelopeTables = [
          'evidence_envelope_versions',
          'evidence_envelopes', // a view since migration 007
          'evidence_envelopes_latest',
          'evidence_quarantine',
          'evidence_sync_checkpoints',
          'schema_migrations',
        ];
        assert.deepEqual(
          tables.rows.map((r) => r.table_name).filter((name) => envelopeTables.includes(name)),
          envelopeTables,
        );
        const c = newConnectionId();
        await stores[1]!.writePage(c, [rec(c, 'a', V1, T1)]);
        assert.equal(await stores[2]!.count(c), 1);
      }
    });

    void it('a database created before the checkpoint table is migrated on start, its evidence untouched', async () => {
      const fresh = `${schema}_upgrade`;
      await admin.query(`CREATE SCHEMA ${fresh}`);
      const before = open(fresh);
      const c = newConnectionId();
      await before.writePage(c, [rec(c, 'a', V1, T1)]);
      // Back to the schema as the first release left it.
      await admin.query(`DROP TABLE ${fresh}.evidence_sync_checkpoints`);
      await admin.query(`DELETE FROM ${fresh}.schema_migrations WHERE version = 'evidence_store_002_sync_checkpoints'`);
      const upgraded = open(fresh);
      await upgraded.init();
      assert.equal(await upgraded.readCheckpoint(c), undefined);
      await upgraded.writePage(c, [], { syncId: 's', progress: { pages: 1 } });
      assert.deepEqual(await upgraded.readCheckpoint(c), { syncId: 's', progress: { pages: 1 } });
      assertSameRecord((await collect(upgraded.list(c)))[0], rec(c, 'a', V1, T1));
    });

    void it('a database from before the quarantine table is migrated on start, its evidence untouched', async () => {
      const fresh = `${schema}_upgrade_q`;
      await admin.query(`CREATE SCHEMA ${fresh}`);
      const before = open(fresh);
      const c = newConnectionId();
      await before.writePage(c, [rec(c, 'a', V1, T1)], { syncId: 's', progress: { pages: 1 } });
      await admin.query(`DROP TABLE ${fresh}.evidence_quarantine`);
      await admin.query(`DELETE FROM ${fresh}.schema_migrations WHERE version = 'evidence_store_003_quarantine'`);
      const upgraded = open(fresh);
      await upgraded.init();
      assert.equal(await upgraded.countQuarantined(c), 0);
      await upgraded.quarantine(c, [held(c, 'b')]);
      assert.deepEqual(await upgraded.listQuarantined(c), [held(c, 'b')]);
      assertSameRecord((await collect(upgraded.list(c)))[0], rec(c, 'a', V1, T1));
      assert.deepEqual(await upgraded.readCheckpoint(c), { syncId: 's', progress: { pages: 1 } });
    });

    /** Back to the layout migration 007 replaced: the latest record's own json copy in a table. */
    const layoutBefore007 = (fresh: string) =>
      admin.query(`
        DROP VIEW ${fresh}.evidence_envelopes;
        CREATE TABLE ${fresh}.evidence_envelopes (
          connection_id text NOT NULL, envelope_id text COLLATE "C" NOT NULL, status text NOT NULL,
          status_changed_at text NOT NULL, status_changed_key text NOT NULL, synced_at timestamptz NOT NULL,
          record json NOT NULL, PRIMARY KEY (connection_id, envelope_id));
        INSERT INTO ${fresh}.evidence_envelopes
          SELECT l.connection_id, l.envelope_id, l.status, l.status_changed_at, l.status_changed_key, l.synced_at,
                 v.record_text::json
            FROM ${fresh}.evidence_envelopes_latest l
            JOIN ${fresh}.evidence_envelope_versions v USING (connection_id, envelope_id, status_changed_at);
        DROP TABLE ${fresh}.evidence_envelopes_latest;
        DELETE FROM ${fresh}.schema_migrations WHERE version = 'evidence_store_007_latest_names_version';`);

    void it('a database from before migration 007 (the latest record copied) is migrated; reads, queries, writes go on', async () => {
      const fresh = `${schema}_upgrade_latest`;
      await admin.query(`CREATE SCHEMA ${fresh}`);
      const c = newConnectionId();
      const [a1, a2, b1] = [rec(c, 'a', V1, T1), rec(c, 'a', V2, T2, 'completed'), rec(c, 'b', V1, T1)];
      await open(fresh).writePage(c, [a1, a2, b1]);
      await layoutBefore007(fresh);
      // A latest record whose version row is missing (never written so): the migration makes it one.
      const d1 = rec(c, 'd', V1, T1);
      await admin.query(`INSERT INTO ${fresh}.evidence_envelopes VALUES ($1, 'd', 'sent', $2, $3, $4, $5::json)`, [
        c,
        V1,
        '2024-10-16T12:54:00.027000000Z',
        T1,
        JSON.stringify(d1),
      ]);
      const upgraded = open(fresh);
      await upgraded.init();
      const listed = await collect(upgraded.list(c));
      assert.deepEqual(
        listed.map((r) => r.envelopeId),
        ['a', 'b', 'd'],
      );
      assertSameRecord(listed[0], a2);
      assertSameRecord(listed[1], b1);
      assertSameRecord(listed[2], d1);
      assert.deepEqual(await upgraded.versions(c, 'a'), [a1, a2]);
      assert.deepEqual(await upgraded.versions(c, 'd'), [d1]);
      assert.equal(await upgraded.count(c), 3);
      const { rows } = await admin.query<{ envelope_id: string; status: string; subject: string }>(
        `SELECT envelope_id, status, record->'envelope'->>'emailSubject' AS subject
           FROM ${fresh}.evidence_envelopes WHERE connection_id = $1 ORDER BY envelope_id`,
        [c],
      );
      assert.deepEqual(
        rows.map((r) => [r.envelope_id, r.status, r.subject]),
        [
          ['a', 'completed', a2.envelope.emailSubject],
          ['b', 'sent', b1.envelope.emailSubject],
          ['d', 'sent', d1.envelope.emailSubject],
        ],
      );
      // Writes go on in the new layout: a later version becomes the latest, an earlier one does not.
      const b2 = rec(c, 'b', V2, T2, 'completed');
      assert.deepEqual((await upgraded.writePage(c, [b2, rec(c, 'a', V1, T2)])).changed, ['b']);
      assertSameRecord((await collect(upgraded.list(c)))[1], b2);
      assertSameRecord((await collect(upgraded.list(c)))[0], a2);
    });

    void it('a database from before migration 006 (jsonb beside the text) is migrated; records read back exactly', async () => {
      const fresh = `${schema}_upgrade_json`;
      await admin.query(`CREATE SCHEMA ${fresh}`);
      const c = newConnectionId();
      const [v1, v2] = [rec(c, 'a', V1, T1), rec(c, 'a', V2, T2, 'completed')];
      await open(fresh).writePage(c, [v1, v2]);
      await layoutBefore007(fresh);
      // Back to the layout before 006: a jsonb copy (keys reordered) beside the exact text, in both tables.
      await admin.query(`
        ALTER TABLE ${fresh}.evidence_envelope_versions ADD COLUMN record jsonb;
        UPDATE ${fresh}.evidence_envelope_versions SET record = record_text::jsonb;
        ALTER TABLE ${fresh}.evidence_envelopes ADD COLUMN record_text text;
        UPDATE ${fresh}.evidence_envelopes SET record_text = record::text;
        ALTER TABLE ${fresh}.evidence_envelopes ALTER COLUMN record TYPE jsonb USING record::jsonb;
        DELETE FROM ${fresh}.schema_migrations WHERE version = 'evidence_store_006_json_records';`);
      const upgraded = open(fresh);
      await upgraded.init();
      assertSameRecord((await collect(upgraded.list(c)))[0], v2);
      assert.deepEqual(await upgraded.versions(c, 'a'), [v1, v2]);
      const { rows } = await admin.query<{ type: string }>(
        `SELECT pg_typeof(record)::text AS type FROM ${fresh}.evidence_envelopes WHERE connection_id = $1`,
        [c],
      );
      assert.deepEqual(rows, [{ type: 'json' }]);
    });

    void it('writePage is one transaction: a failure after the versions were inserted leaves nothing behind', async () => {
      const store = open();
      await store.init();
      const c = newConnectionId();
      await store.writePage(c, [rec(c, 'a', V1, T1)]);
      // Make the latest-record upsert fail for this connection only; the version inserts before it succeed.
      const fn = `${schema}.fail_${c.replace(/-/g, '_')}`;
      await admin.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.connection_id = '${c}' THEN RAISE EXCEPTION 'injected failure'; END IF;
          RETURN NEW;
        END $$`);
      await admin.query(
        `CREATE TRIGGER fail_${c.replace(/-/g, '_')} BEFORE INSERT OR UPDATE ON ${schema}.evidence_envelopes_latest
         FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
      );
      const saved = { syncId: 's', progress: { pages: 1 } };
      await store.writePage(c, [], saved);
      try {
        await assert.rejects(
          store.writePage(c, [rec(c, 'a', V2, T2), rec(c, 'b', V1, T2)], { syncId: 's', progress: { pages: 2 } }),
          (err: unknown) => err instanceof EvidenceStoreError && /injected failure/.test(err.message),
        );
      } finally {
        await admin.query(`DROP TRIGGER fail_${c.replace(/-/g, '_')} ON ${schema}.evidence_envelopes_latest`);
        await admin.query(`DROP FUNCTION ${fn}()`);
      }
      assert.equal(await store.count(c), 1);
      assert.equal(await store.countChangedSince(c, T2), 0);
      assert.deepEqual(
        (await store.versions(c, 'a')).map((v) => v.statusChangedDateTime),
        [V1],
      );
      assert.deepEqual(await store.versions(c, 'b'), []);
      assert.deepEqual(await store.readCheckpoint(c), saved, 'the checkpoint rolled back with the page');
      // And the same page goes through once the failure is gone.
      assert.deepEqual(sorted((await store.writePage(c, [rec(c, 'a', V2, T2), rec(c, 'b', V1, T2)])).changed), [
        'a',
        'b',
      ]);
    });

    void it('stores an envelope with a NUL escape or a lone surrogate exactly (json keeps what jsonb would refuse)', async () => {
      const store = open();
      const c = newConnectionId();
      const odd = rec(c, 'z-odd', V1, T1);
      odd.envelope.emailSubject = 'nul \u0000 here, lone \ud800 surrogate';
      assert.deepEqual((await store.writePage(c, [rec(c, 'a', V1, T1), odd])).changed, ['a', 'z-odd']);
      assertSameRecord(
        (await collect(store.list(c))).find((r) => r.envelopeId === 'z-odd'),
        odd,
      );
      assertSameRecord((await store.versions(c, 'z-odd'))[0], odd);
    });

    void it('keeps the exact DocuSign timestamp and a queryable json record; the description hides the password', async () => {
      const store = open();
      const { password } = new URL(POSTGRES_URL);
      assert.ok(!store.description.includes(`:${password}@`) && !store.description.includes('options'));
      const c = newConnectionId();
      await store.writePage(c, [rec(c, 'a', V1, T1), rec(c, 'a', V2, T2, 'completed')]);
      const { rows } = await admin.query<{ status_changed_at: string; subject: string; signer: string }>(
        `SELECT status_changed_at, record->'envelope'->>'emailSubject' AS subject,
                record #>> '{envelope,recipients,signers,0,name}' AS signer
           FROM ${schema}.evidence_envelopes WHERE connection_id = $1`,
        [c],
      );
      assert.deepEqual(rows, [
        { status_changed_at: V2, subject: envelopeObject('a', V2, 'x').emailSubject, signer: 'Zoë Example' },
      ]);
      const versions = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${schema}.evidence_envelope_versions WHERE connection_id = $1`,
        [c],
      );
      assert.equal(versions.rows[0]?.n, '2');
    });

    void it('list() pages through many envelopes with the default batch size', async () => {
      const store = open(schema, 500);
      const c = newConnectionId();
      const ids = Array.from({ length: 1203 }, (_, i) => `env-${String(i).padStart(5, '0')}`);
      for (let i = 0; i < ids.length; i += 100) {
        await store.writePage(
          c,
          ids.slice(i, i + 100).map((id) => rec(c, id, V1, T1)),
        );
      }
      const listed = (await collect(store.list(c))).map((r) => r.envelopeId);
      assert.deepEqual(listed, ids);
      assert.equal(await store.count(c), 1203);
    });
  });
});
