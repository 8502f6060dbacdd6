/**
 * Access-review and security-posture snapshots end to end (issue 12): dev server, the emulator with a scripted
 * directory (users over several pages, groups with members, profiles, signing groups, settings), the real worker and
 * stores. The stored snapshots equal the emulator's truth record for record; an auditor's week of changes comes back
 * as exactly those changes; failures, 401s and rate limits mid-snapshot; an account without signing groups.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SnapshotRecord } from '../activities/store/snapshots';
import type { DirectoryTruth } from '../emulator';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../workflows/evidence';
import { consentGrantedSignal, syncAndWaitUpdate, type ConnectionStatus } from '../workflows/messages';
import { BACKFILL_ALL, findLeaks, startHarness, type Harness } from './helpers/connector';
import { activityAttempts, historiesText } from './helpers/evidence';

async function collect(records: AsyncIterable<SnapshotRecord>): Promise<SnapshotRecord[]> {
  const out: SnapshotRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

describe('snapshots against the emulator', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ emulator: { envelopes: 10 } });
  });
  after(async () => {
    await h?.close();
  });

  const allTaken = (s: ConnectionStatus) =>
    s.phase === 'idle' && SNAPSHOT_KINDS.every((k) => s.evidence?.[k]?.lastSnapshotAt);
  const records = (connectionId: string, kind: SnapshotKind, snapshotId?: string) =>
    collect(h.connector.store.snapshots.records(connectionId, kind, snapshotId));
  const entries = (connectionId: string, kind: SnapshotKind) =>
    h.connector.store.snapshots.snapshots(connectionId, kind);

  /** A consented account with a directory big enough to page (users over 3 pages, groups over 100 members). */
  async function account(connectionId: string, size: Parameters<Harness['emu']['seedDirectory']>[1]) {
    const { userId, accountId } = h.newAccount(5);
    h.emu.seedDirectory(accountId, size);
    const handle = await h.start(h.config(connectionId, { userId, backfillFrom: BACKFILL_ALL }));
    await handle.signal(consentGrantedSignal);
    return { handle, accountId, status: await h.waitForStatus(handle, allTaken, 60_000) };
  }

  /** The stored latest snapshots equal what a full refresh of the emulator returns, record for record. */
  async function assertMatchesTruth(connectionId: string, truth: DirectoryTruth) {
    const objects = (rs: SnapshotRecord[]) => rs.map((r) => r.object);
    assert.deepEqual(objects(await records(connectionId, 'users')), truth.users);
    const groups = await records(connectionId, 'groups');
    assert.deepEqual(objects(groups), truth.groups);
    for (const g of groups) assert.deepEqual(g.members, truth.groupMembers[g.id], `members of group ${g.id}`);
    assert.deepEqual(objects(await records(connectionId, 'permission-profiles')), truth.permissionProfiles);
    assert.deepEqual(objects(await records(connectionId, 'signing-groups')), truth.signingGroups);
    assert.deepEqual(await records(connectionId, 'account-settings'), [
      { id: 'accountSettings', object: truth.settings },
      { id: 'passwordRules', object: truth.passwordRules },
    ]);
  }

  test('the first snapshot of each kind equals the emulator’s truth; calls: one per page, nothing more', async () => {
    const callsBefore = { ...h.emu.stats.calls };
    // Every page but a kind's last is staged; the last goes with the publish.
    const store = h.connector.store.snapshots;
    const stagePage = store.stagePage.bind(store);
    const staged = new Map<string, number>();
    store.stagePage = (connectionId, kind, ...rest) => {
      if (connectionId === 'snap-truth') staged.set(kind, (staged.get(kind) ?? 0) + 1);
      return stagePage(connectionId, kind, ...rest);
    };
    const { accountId, status } = await account('snap-truth', {
      users: 250,
      groups: 6,
      groupMembers: 120,
      profiles: 5,
    });
    const truth = h.emu.directory(accountId);
    assert.ok(truth.users.length > 200 && Object.values(truth.groupMembers).some((m) => m.length > 100), 'pages');
    await assertMatchesTruth('snap-truth', truth);
    assert.equal(status.evidence?.users?.count, truth.users.length);
    assert.equal(status.evidence?.users?.lastChanges, undefined, 'nothing to compare the first snapshot with');

    const calls = (name: string) => (h.emu.stats.calls[name] ?? 0) - (callsBefore[name] ?? 0);
    const pages = (n: number) => Math.max(1, Math.ceil(n / 100));
    assert.equal(calls('GET users'), pages(truth.users.length));
    assert.equal(calls('GET groups'), pages(truth.groups.length));
    assert.equal(
      calls('GET group users'),
      Object.values(truth.groupMembers).reduce((n, m) => n + pages(m.length), 0),
    );
    assert.equal(calls('GET permission_profiles'), 1);
    assert.equal(calls('GET settings'), 1);
    assert.equal(calls('GET password_rules'), 1);
    store.stagePage = stagePage;
    assert.deepEqual(Object.fromEntries(staged), {
      users: calls('GET users') - 1,
      groups: calls('GET groups') + calls('GET group users') - 1,
      'account-settings': 1,
    });
  });

  test('an auditor’s week: scripted changes come back as exactly those changes', async () => {
    const { handle, accountId } = await account('snap-week', { users: 150, groups: 5, groupMembers: 20, profiles: 4 });
    const before = h.emu.directory(accountId);
    const userIds = before.users.map((u) => u.userId as string);
    const plain = (id: string) => {
      const u = before.users.find((x) => x.userId === id)!;
      return !/^true$/i.test(String(u.isAdmin)) && u.userStatus === 'Active';
    };
    const [promoted, closed, removed, joiner] = userIds.filter(plain).slice(0, 4) as [string, string, string, string];
    const custom = before.groups.find(
      (g) =>
        g.groupType === 'customGroup' && !before.groupMembers[g.groupId as string]!.some((m) => m.userId === joiner),
    )!.groupId as string;
    const groupsOf = (userId: string) =>
      Object.entries(before.groupMembers)
        .filter(([, members]) => members.some((m) => m.userId === userId))
        .map(([groupId]) => groupId);

    h.emu.setAdmin(accountId, promoted, true);
    h.emu.closeUser(accountId, closed);
    h.emu.removeUser(accountId, removed);
    h.emu.addGroupMember(accountId, custom, joiner);
    h.emu.setAccountSettings(accountId, { sessionTimeout: String(Number(before.settings.sessionTimeout ?? 20) + 10) });
    h.emu.setPasswordRules(accountId, {
      minimumPasswordLength: String(Number(before.passwordRules.minimumPasswordLength ?? 8) + 4),
    });

    const status = await handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: [...SNAPSHOT_KINDS] }] });
    assert.equal(status.phase, 'idle');
    const latest = async (kind: SnapshotKind) => (await entries('snap-week', kind)).at(-1)!;

    const users = (await latest('users')).diff!;
    assert.deepEqual(users.added, []);
    assert.deepEqual(users.removed, [removed], 'a user gone from the list is removed');
    const changed = Object.fromEntries(users.changed.map((c) => [c.id, c.fields]));
    assert.deepEqual(Object.keys(changed).sort(), [closed, joiner, promoted].sort(), JSON.stringify(changed));
    assert.ok(changed[closed]!.includes('userStatus'), 'a user closed in DocuSign is changed: userStatus');
    assert.ok(changed[promoted]!.includes('isAdmin') && changed[promoted]!.includes('permissionProfileName'));
    assert.ok(changed[joiner]!.includes('groupList'));

    const groups = (await latest('groups')).diff!;
    const admins = before.groups.find((g) => g.groupType === 'adminGroup')!.groupId as string;
    const expected = new Map<string, { membersAdded: string[]; membersRemoved: string[] }>();
    const touch = (g: string) => expected.get(g) ?? expected.set(g, { membersAdded: [], membersRemoved: [] }).get(g)!;
    touch(admins).membersAdded.push(promoted);
    touch(custom).membersAdded.push(joiner);
    for (const g of groupsOf(removed)) touch(g).membersRemoved.push(removed);
    assert.deepEqual(groups.added, []);
    assert.deepEqual(groups.removed, []);
    assert.deepEqual(
      Object.fromEntries(
        groups.changed.map((c) => [c.id, { membersAdded: c.membersAdded, membersRemoved: c.membersRemoved }]),
      ),
      Object.fromEntries(expected),
    );
    // Membership, and the member count the group list carries with it when it moved.
    for (const c of groups.changed) {
      const moved = c.membersAdded!.length !== c.membersRemoved!.length;
      assert.deepEqual(c.fields, moved ? ['members', 'usersCount'] : ['members'], JSON.stringify(c));
    }

    assert.deepEqual((await latest('account-settings')).diff, {
      added: [],
      removed: [],
      changed: [
        { id: 'accountSettings', fields: ['sessionTimeout'] },
        { id: 'passwordRules', fields: ['minimumPasswordLength'] },
      ],
    });
    const profiles = await latest('permission-profiles');
    assert.deepEqual(profiles.diff, { added: [], removed: [], changed: [] });
    assert.ok(profiles.sameAs, 'an identical snapshot is stored once');
    assert.deepEqual(status.evidence?.users?.lastChanges, { added: 0, removed: 1, changed: 3 });
    await assertMatchesTruth('snap-week', h.emu.directory(accountId));
  });

  test('a 401 mid-snapshot re-mints once; a burst limit mid-snapshot waits; the snapshot completes', async () => {
    const { handle, accountId } = await account('snap-401', { users: 400, groups: 3, profiles: 3 });
    const minted = h.emu.stats.tokensIssued.length;
    h.emu.faults.latencyMs(150);
    try {
      const usersCalls = h.emu.stats.calls['GET users'] ?? 0;
      const update = handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['users'] }] });
      while ((h.emu.stats.calls['GET users'] ?? 0) < usersCalls + 1) await new Promise((r) => setTimeout(r, 20));
      h.emu.faults.revokeTokens();
      while ((h.emu.stats.calls['GET users'] ?? 0) < usersCalls + 3) await new Promise((r) => setTimeout(r, 20));
      const limitedBefore = h.emu.stats.callsWhileLimited;
      h.emu.faults.exhaustBurst();
      const status = await update;
      assert.equal(status.phase, 'idle');
      assert.equal(status.evidence?.users?.lastError, undefined);
      assert.equal(h.emu.stats.tokensIssued.length, minted + 1, 'exactly one new token, minted on the 401');
      assert.ok(h.emu.stats.callsWhileLimited - limitedBefore <= 1, 'at most one call into the burst limit');
    } finally {
      h.emu.faults.clear();
    }
    assert.deepEqual(
      (await records('snap-401', 'users')).map((r) => r.object),
      h.emu.directory(accountId).users,
    );
  });

  test('DocuSign down for one kind mid-pass: the other kinds go on; the retried pass re-reads only what is missing', async () => {
    const { handle, accountId } = await account('snap-503', { users: 250, groups: 3, profiles: 3 });
    const callsBefore = { ...h.emu.stats.calls };
    const calls = (name: string) => (h.emu.stats.calls[name] ?? 0) - (callsBefore[name] ?? 0);
    h.emu.faults.latencyMs(100);
    try {
      const update = handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['users', 'groups'] }] });
      while (calls('GET users') < 1) await new Promise((r) => setTimeout(r, 10));
      h.emu.faults.failNext(1, 503); // the second users page: docusign_unavailable, worth a retry
      const status = await update;
      assert.equal(status.phase, 'idle');
      assert.equal(status.evidence?.users?.lastError, undefined);
      assert.equal(status.evidence?.groups?.lastError, undefined);
    } finally {
      h.emu.faults.clear();
    }
    const truth = h.emu.directory(accountId);
    assert.equal(calls('GET users'), 3 + 1, 'three pages and the refused one: the retry resumed after page 1');
    assert.equal(calls('GET groups'), 1, 'groups, published before the retry, were not read again');
    assert.ok(
      (await activityAttempts(handle)).some(
        (a) => a.activity === 'takeSnapshots' && a.attempt === 2 && a.lastFailure === 'docusign_unavailable',
      ),
      'one activity for the pass, retried once',
    );
    assert.deepEqual(
      (await records('snap-503', 'users')).map((r) => r.object),
      truth.users,
    );
    assert.deepEqual(
      (await records('snap-503', 'groups')).map((r) => r.object),
      truth.groups,
    );
  });

  test('a snapshot that fails for good publishes nothing: the previous one stays the latest', async () => {
    const { handle } = await account('snap-fails', { users: 250, groups: 3, profiles: 3 });
    const before = await entries('snap-fails', 'users');
    h.emu.faults.latencyMs(100);
    try {
      const usersCalls = h.emu.stats.calls['GET users'] ?? 0;
      const update = handle.executeUpdate(syncAndWaitUpdate, { args: [{ kinds: ['users'] }] });
      while ((h.emu.stats.calls['GET users'] ?? 0) < usersCalls + 1) await new Promise((r) => setTimeout(r, 10));
      h.emu.faults.failNext(1, 400); // the next page is refused: request_rejected, not retried
      const status = await update;
      assert.equal(status.phase, 'idle', 'a kind failing on its own does not stop the connection');
      assert.equal(status.evidence?.users?.lastError?.code, 'request_rejected');
    } finally {
      h.emu.faults.clear();
    }
    assert.deepEqual(await entries('snap-fails', 'users'), before, 'nothing published');
  });

  test('an account without signing groups ({}): an empty, complete snapshot', async () => {
    const { status } = await account('snap-no-signing', { users: 5, groups: 2, profiles: 3, signingGroups: 0 });
    assert.equal(status.evidence?.['signing-groups']?.count, 0);
    assert.equal(status.evidence?.['signing-groups']?.lastError, undefined);
    assert.equal((await entries('snap-no-signing', 'signing-groups')).length, 1);
  });

  test('no secret in any history or worker log line (snapshot activities included)', async () => {
    const haystacks = [...h.logs, ...(await historiesText(h.handles))];
    assert.deepEqual(findLeaks(h, haystacks), []);
  });
});
