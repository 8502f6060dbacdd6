/**
 * Snapshot store contract (activities/store/snapshots.ts, design.md §7): one suite for the directory store and, when
 * TEST_POSTGRES_URL is set, the Postgres store (in a schema of its own). Staging, publishing, diffs, identical
 * snapshots stored once, idempotent publish, abandoned snapshots invisible.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { DirectoryStore, EvidenceStoreError, PostgresStore, type EvidenceStore } from '../activities/store';
import type { SnapshotPart, SnapshotRecord, SnapshotStore } from '../activities/store/snapshots';

const POSTGRES_URL = process.env.TEST_POSTGRES_URL;

const newConnectionId = (): string => `snap-${randomBytes(4).toString('hex')}`;

const user = (userId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  userName: `User ${userId}`,
  userId,
  userType: 'CompanyUser',
  isAdmin: 'False',
  userStatus: 'Active',
  permissionProfileName: 'DocuSign Sender',
  ...extra,
});
const member = (userId: string): Record<string, unknown> => ({ userId, userStatus: 'active', userType: 'companyuser' });
const objects = (...users: Record<string, unknown>[]): SnapshotPart[] =>
  users.map((u) => ({ id: u.userId as string, object: u }));

async function collect(records: AsyncIterable<SnapshotRecord>): Promise<SnapshotRecord[]> {
  const out: SnapshotRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

/** Stages `pages` (each a list of parts) for a new snapshot and publishes it. */
async function take(
  store: SnapshotStore,
  c: string,
  kind: 'users' | 'groups',
  takenAt: string,
  pages: SnapshotPart[][],
) {
  for (const [i, parts] of pages.entries()) await store.stagePage(c, kind, takenAt, parts, { page: i + 1 });
  return store.publish(c, kind, takenAt, takenAt);
}

function contract(open: () => EvidenceStore): void {
  it('a first snapshot: records exactly as staged, in order, no diff; the index lists it', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const a = user('a', { nested: { list: [1, '2'], flag: true }, title: null });
    const entry = await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [
      objects(a, user('b')),
      objects(user('c')),
    ]);
    assert.equal(entry.count, 3);
    assert.equal(entry.diff, undefined);
    assert.equal(entry.sameAs, undefined);
    assert.match(entry.sha256, /^[0-9a-f]{64}$/);
    const records = await collect(snapshots.records(c, 'users'));
    assert.deepEqual(
      records.map((r) => r.id),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(records[0], { id: 'a', object: a });
    assert.deepEqual(await snapshots.snapshots(c, 'users'), [entry]);
  });

  it('the next snapshot records its diff: added, removed, and changed objects with the changed field names', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [
      objects(user('a'), user('b'), user('c'), user('d')),
    ]);
    const entry = await take(snapshots, c, 'users', '2026-01-02T00:00:00.000Z', [
      objects(
        user('a', { userStatus: 'Closed' }), // closed in DocuSign: changed, not removed
        user('b', { isAdmin: 'True', permissionProfileName: 'Account Administrator' }),
        user('c'),
        user('e'),
      ),
    ]);
    assert.deepEqual(entry.diff, {
      added: ['e'],
      removed: ['d'],
      changed: [
        { id: 'a', fields: ['userStatus'] },
        { id: 'b', fields: ['isAdmin', 'permissionProfileName'] },
      ],
    });
    assert.equal(entry.count, 4);
    const older = (await snapshots.snapshots(c, 'users'))[0]!;
    assert.deepEqual(
      (await collect(snapshots.records(c, 'users', older.snapshotId))).map((r) => r.id),
      ['a', 'b', 'c', 'd'],
      'the previous snapshot stays readable',
    );
  });

  it('groups: members staged in chunks across pages join their group; membership changes name who joined and left', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const g = (id: string) => ({ groupId: id, groupName: `Group ${id}`, groupType: 'customGroup' });
    const first = await take(snapshots, c, 'groups', '2026-01-01T00:00:00.000Z', [
      [
        { id: 'g1', object: g('g1') },
        { id: 'g2', object: g('g2') },
      ],
      [{ id: 'g1', members: [member('u1'), member('u2')] }],
      [{ id: 'g1', members: [member('u3')] }],
      [{ id: 'g2', members: [] }],
    ]);
    assert.equal(first.count, 2);
    const records = await collect(snapshots.records(c, 'groups'));
    assert.deepEqual(records[0], { id: 'g1', object: g('g1'), members: [member('u1'), member('u2'), member('u3')] });
    assert.deepEqual(records[1], { id: 'g2', object: g('g2'), members: [] });

    const next = await take(snapshots, c, 'groups', '2026-01-02T00:00:00.000Z', [
      [
        { id: 'g1', object: g('g1') },
        { id: 'g2', object: g('g2') },
      ],
      // u2 left g1 and joined g2; u1's own details changed (that is the users snapshot's to report)
      [{ id: 'g1', members: [{ ...member('u1'), userStatus: 'closed' }, member('u3')] }],
      [{ id: 'g2', members: [member('u2')] }],
    ]);
    assert.deepEqual(next.diff, {
      added: [],
      removed: [],
      changed: [
        { id: 'g1', fields: ['members'], membersAdded: [], membersRemoved: ['u2'] },
        { id: 'g2', fields: ['members'], membersAdded: ['u2'], membersRemoved: [] },
      ],
    });
  });

  it('an identical snapshot is stored once: the entry says sameAs, and reads the same records', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const pages = [objects(user('a'), user('b'))];
    const first = await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', pages);
    const second = await take(snapshots, c, 'users', '2026-01-02T00:00:00.000Z', pages);
    const third = await take(snapshots, c, 'users', '2026-01-03T00:00:00.000Z', pages);
    assert.equal(second.sha256, first.sha256);
    assert.equal(second.sameAs, first.takenAt);
    assert.equal(third.sameAs, first.takenAt, 'a chain of identical snapshots points at the stored one');
    assert.deepEqual(second.diff, { added: [], removed: [], changed: [] });
    assert.deepEqual(
      await collect(snapshots.records(c, 'users', third.snapshotId)),
      await collect(snapshots.records(c, 'users', first.snapshotId)),
    );
  });

  it('publish is idempotent; a snapshot staged but never published is invisible and replaced by the next', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const first = await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [objects(user('a'))]);
    assert.deepEqual(await snapshots.publish(c, 'users', first.snapshotId, first.takenAt), first);
    assert.equal((await snapshots.snapshots(c, 'users')).length, 1);

    // Interrupted for good after two pages: nothing published, nothing removed.
    await snapshots.stagePage(c, 'users', 'abandoned', objects(user('x')), { at: 1 });
    await snapshots.stagePage(c, 'users', 'abandoned', objects(user('y')), { at: 2 });
    assert.deepEqual(await snapshots.stagedProgress(c, 'users', 'abandoned'), { pages: 2, progress: { at: 2 } });
    assert.deepEqual(await snapshots.snapshots(c, 'users'), [first]);
    assert.deepEqual(
      (await collect(snapshots.records(c, 'users'))).map((r) => r.id),
      ['a'],
    );

    // The next snapshot of the kind discards that staging.
    const next = await take(snapshots, c, 'users', '2026-01-02T00:00:00.000Z', [objects(user('a'), user('b'))]);
    assert.equal(await snapshots.stagedProgress(c, 'users', 'abandoned'), undefined);
    assert.deepEqual(next.diff?.added, ['b']);
  });

  it("the last page published unstaged: after staged pages or alone, the same snapshot; it clears the kind's staging", async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const lastPage = objects(user('b'), user('a', { title: 'a later copy' }));
    await snapshots.stagePage(c, 'users', 's1', objects(user('a')), { at: 1 });
    const first = await snapshots.publish(c, 'users', 's1', '2026-01-01T00:00:00.000Z', lastPage);
    assert.deepEqual(
      (await collect(snapshots.records(c, 'users'))).map((r) => [r.id, r.object.title]),
      [
        ['a', undefined],
        ['b', undefined],
      ],
      'the staged pages first, then the last; the first copy of an item kept',
    );
    const allStaged = await take(snapshots, newConnectionId(), 'users', '2026-01-01T00:00:00.000Z', [
      objects(user('a')),
      lastPage,
    ]);
    assert.equal(first.sha256, allStaged.sha256, 'the same records as when every page is staged');

    // A one-page snapshot is one publish; an abandoned staging of the kind goes with it.
    await snapshots.stagePage(c, 'users', 'abandoned', objects(user('x')), { at: 1 });
    const second = await snapshots.publish(c, 'users', 's2', '2026-01-02T00:00:00.000Z', objects(user('a'), user('c')));
    assert.deepEqual([second.diff?.added, second.diff?.removed], [['c'], ['b']]);
    assert.equal(await snapshots.stagedProgress(c, 'users', 'abandoned'), undefined);
    assert.deepEqual(await snapshots.publish(c, 'users', 's2', '2026-01-02T00:00:00.000Z', objects(user('z'))), second);

    assert.equal((await snapshots.publish(c, 'groups', 'g1', '2026-01-01T00:00:00.000Z', [])).count, 0);
    await assert.rejects(snapshots.publish(c, 'permission-profiles', 'p1', '2026-01-01T00:00:00.000Z'), /no staged/);
    assert.deepEqual(await snapshots.snapshots(c, 'permission-profiles'), []);
  });

  it('a list re-read from its start repeats items: the first copy is kept, once', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const entry = await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [
      objects(user('a'), user('b')),
      objects(user('a', { title: 'later copy' }), user('b'), user('c')),
    ]);
    assert.equal(entry.count, 3);
    assert.deepEqual((await collect(snapshots.records(c, 'users')))[0], { id: 'a', object: user('a') });
  });

  it('kinds and connections are apart; an empty snapshot is complete', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [objects(user('a'))]);
    const empty = await take(snapshots, c, 'groups', '2026-01-01T00:00:00.000Z', [[]]);
    assert.equal(empty.count, 0);
    assert.deepEqual(await collect(snapshots.records(c, 'groups')), []);
    assert.deepEqual(await snapshots.snapshots(newConnectionId(), 'users'), []);
  });

  it('bad IDs are refused before anything is written', async () => {
    const { snapshots } = open();
    await assert.rejects(snapshots.stagePage('../x', 'users', 'ok', [], {}), EvidenceStoreError);
    await assert.rejects(snapshots.stagePage(newConnectionId(), 'users', '../../etc', [], {}), EvidenceStoreError);
  });
}

void describe('snapshots in the directory store', () => {
  let root: string;
  const opened: EvidenceStore[] = [];
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'snapshot-store-'));
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await fs.rm(root, { recursive: true, force: true });
  });
  const open = (): EvidenceStore => {
    const store = new DirectoryStore(root);
    opened.push(store);
    return store;
  };

  void describe('contract', () => contract(open));

  void it('lays out snapshots/<kind>/index.jsonl and <takenAt>.jsonl; an identical snapshot writes no file', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const dir = path.join(root, c, 'snapshots', 'users');
    await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [objects(user('a'))]);
    await take(snapshots, c, 'users', '2026-01-02T00:00:00.000Z', [objects(user('a'))]);
    assert.deepEqual((await fs.readdir(dir)).sort(), ['2026-01-01T00:00:00.000Z.jsonl', 'index.jsonl']);
    const lines = (await fs.readFile(path.join(dir, 'index.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(
      (await fs.readFile(path.join(dir, '2026-01-01T00:00:00.000Z.jsonl'), 'utf8')).trim(),
      JSON.stringify({ id: 'a', object: user('a') }),
    );
  });

  void it('a failed publish (records unreadable mid-way) publishes nothing and keeps the staging for the retry', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    await snapshots.stagePage(c, 'users', 's1', objects(user('a')), {});
    const staging = path.join(root, c, 'snapshots', 'users', 'staging', 's1');
    await fs.writeFile(path.join(staging, 'page-000001.jsonl'), 'not json\n');
    await assert.rejects(snapshots.publish(c, 'users', 's1', '2026-01-01T00:00:00.000Z'), EvidenceStoreError);
    assert.deepEqual(await snapshots.snapshots(c, 'users'), []);
    assert.equal((await snapshots.stagedProgress(c, 'users', 's1'))?.pages, 1);
  });
});

void describe('snapshots in the Postgres store', () => {
  if (!POSTGRES_URL) {
    void it('contract', { skip: 'TEST_POSTGRES_URL not set' }, () => undefined);
    return;
  }
  const schema = `snapshot_test_${randomBytes(5).toString('hex')}`;
  let admin: Pool;
  const opened: EvidenceStore[] = [];
  before(async () => {
    admin = new Pool({ connectionString: POSTGRES_URL, max: 2 });
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });
  const open = (): EvidenceStore => {
    const u = new URL(POSTGRES_URL);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const store = new PostgresStore(u.toString());
    opened.push(store);
    return store;
  };

  void describe('contract', () => contract(open));

  void it('identical snapshots share their record rows', async () => {
    const { snapshots } = open();
    const c = newConnectionId();
    const rows = async () =>
      Number(
        (
          await admin.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${schema}.evidence_snapshot_records WHERE connection_id = $1`,
            [c],
          )
        ).rows[0]?.n,
      );
    await take(snapshots, c, 'users', '2026-01-01T00:00:00.000Z', [objects(user('a'), user('b'))]);
    assert.equal(await rows(), 2);
    await take(snapshots, c, 'users', '2026-01-02T00:00:00.000Z', [objects(user('a'), user('b'))]);
    assert.equal(await rows(), 2, 'no new rows for an identical snapshot');
    await take(snapshots, c, 'users', '2026-01-03T00:00:00.000Z', [objects(user('a'))]);
    assert.equal(await rows(), 3);

    // Larger than one insert batch (500): written in batches under a provisional key, then keyed or dropped.
    const many = (title: string) => Array.from({ length: 1201 }, (_, i) => user(`u${i}`, i === 600 ? { title } : {}));
    const big = await take(snapshots, c, 'users', '2026-01-04T00:00:00.000Z', [objects(...many('first'))]);
    assert.equal(await rows(), 3 + 1201);
    const again = await take(snapshots, c, 'users', '2026-01-05T00:00:00.000Z', [objects(...many('first'))]);
    assert.equal(again.sameAs, big.takenAt);
    assert.equal(await rows(), 3 + 1201, 'no new rows for an identical large snapshot');
    const changed = await take(snapshots, c, 'users', '2026-01-06T00:00:00.000Z', [objects(...many('second'))]);
    assert.deepEqual(changed.diff?.changed, [{ id: 'u600', fields: ['title'] }]);
    assert.equal(await rows(), 3 + 2 * 1201);
    const read = await collect(snapshots.records(c, 'users'));
    assert.deepEqual(
      read.map((r) => r.id),
      many('').map((u) => u.userId),
    );
    assert.equal(read[600]?.object.title, 'second');
  });
});
