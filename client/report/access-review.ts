/**
 * The access review from the snapshot kinds (design.md §7): read as streams, so a 10,000-user account is never held
 * whole. Held: counts per profile and status, the users the report names (administrators, inactive, closed or removed),
 * and the names of the objects the latest diffs mention. The previous snapshot of a kind is read only when its diff
 * removed something (the removed objects' names are there) or named group members the latest users do not hold.
 */
import type { SnapshotEntry, SnapshotRecord, SnapshotStore } from '../../activities/store/snapshots';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../../workflows/evidence';
import type { AccessReviewSection, AdminReason, KindChanges, Named, ProfileRow, SnapshotRef, UserRef } from './model';
import { compareText, flag, isoTime, sameText, text } from './values';

/** Users who have not signed in for this long are listed (a common quarterly access-review threshold). */
const INACTIVITY_DAYS = 90;
/** DocuSign's built-in profile that makes its users account administrators. */
const ACCOUNT_ADMINISTRATOR_PROFILE = 'Account Administrator';

const DAY_MS = 86_400_000;
/** Statuses that end a user's access. */
const ACCESS_ENDED = ['closed', 'disabled'];

/** The latest and previous complete snapshots of every kind, and how many there are. */
export type SnapshotHistory = Map<SnapshotKind, { latest?: SnapshotEntry; previous?: SnapshotEntry; count: number }>;

export async function snapshotHistory(store: SnapshotStore, connectionId: string): Promise<SnapshotHistory> {
  const history: SnapshotHistory = new Map();
  for (const kind of SNAPSHOT_KINDS) {
    const entries = await store.snapshots(connectionId, kind);
    history.set(kind, { latest: entries.at(-1), previous: entries.at(-2), count: entries.length });
  }
  return history;
}

export const refOf = (entry: SnapshotEntry): SnapshotRef => ({
  snapshotId: entry.snapshotId,
  takenAt: entry.takenAt,
  count: entry.count,
});

/** How a record of a kind is called in the report. */
function labelOf(kind: SnapshotKind, record: SnapshotRecord): string | undefined {
  const o = record.object;
  switch (kind) {
    case 'users':
      return userName(o);
    case 'groups':
    case 'signing-groups':
      return text(o.groupName);
    case 'permission-profiles':
      return text(o.permissionProfileName);
    case 'account-settings':
      return record.id === 'passwordRules' ? 'Password rules' : 'Account settings';
  }
}

function userName(o: Record<string, unknown>): string | undefined {
  const full = [text(o.firstName), text(o.lastName)].filter(Boolean).join(' ');
  return text(o.userName) ?? (full || text(o.email));
}

const userRef = (record: SnapshotRecord): UserRef => {
  const o = record.object;
  return {
    userId: record.id,
    name: userName(o) ?? record.id,
    email: text(o.email),
    status: text(o.userStatus),
    permissionProfile: text(o.permissionProfileName),
  };
};

/** Streams a snapshot's records, keeping the labels of `want` (found IDs are taken out of it). */
async function scan(
  records: AsyncIterable<SnapshotRecord>,
  kind: SnapshotKind,
  want: Set<string>,
  labels: Map<string, string>,
  visit: (record: SnapshotRecord) => void = () => undefined,
): Promise<void> {
  for await (const record of records) {
    visit(record);
    if (!want.delete(record.id)) continue;
    const label = labelOf(kind, record);
    if (label !== undefined) labels.set(record.id, label);
  }
}

const byName = <T extends { name: string }>(a: T, b: T): number => compareText(a.name, b.name);

export async function loadAccessReview(
  store: SnapshotStore,
  connectionId: string,
  history: SnapshotHistory,
  now: Date,
): Promise<AccessReviewSection> {
  const latestOf = (kind: SnapshotKind) => history.get(kind)?.latest;
  const previousOf = (kind: SnapshotKind) => history.get(kind)?.previous;

  // Profiles first (a handful): their names and which IDs are the administrator profile.
  const profiles = new Map<string, ProfileRow>();
  const adminProfileIds = new Set<string>();
  const profileEntry = latestOf('permission-profiles');
  if (profileEntry) {
    for await (const { id, object } of store.records(connectionId, 'permission-profiles', profileEntry.snapshotId)) {
      const name = text(object.permissionProfileName) ?? id;
      profiles.set(id, { profileId: id, name, users: 0, activeUsers: 0 });
      if (sameText(name, ACCOUNT_ADMINISTRATOR_PROFILE)) adminProfileIds.add(id);
    }
  }

  // Names the latest diffs need, per kind (latest snapshot: added and changed; previous: removed).
  const wantLatest = new Map<SnapshotKind, Set<string>>();
  const wantPrevious = new Map<SnapshotKind, Set<string>>();
  const wanted = (m: Map<SnapshotKind, Set<string>>, kind: SnapshotKind) =>
    m.get(kind) ?? m.set(kind, new Set()).get(kind)!;
  for (const kind of SNAPSHOT_KINDS) {
    const diff = latestOf(kind)?.diff;
    if (!diff) continue;
    for (const id of [...diff.added, ...diff.changed.map((c) => c.id)]) wanted(wantLatest, kind).add(id);
    for (const id of diff.removed) wanted(wantPrevious, kind).add(id);
    // Group members are users: named from the users snapshots.
    for (const c of diff.changed) {
      for (const id of [...(c.membersAdded ?? []), ...(c.membersRemoved ?? [])]) wanted(wantLatest, 'users').add(id);
    }
  }
  const labels = new Map<SnapshotKind, Map<string, string>>(SNAPSHOT_KINDS.map((k) => [k, new Map()]));

  // The users: one pass over the latest snapshot.
  const usersEntry = latestOf('users');
  const usersDiff = usersEntry?.diff;
  const statusChanged = new Set(
    usersDiff?.changed.filter((c) => c.fields.includes('userStatus')).map((c) => c.id) ?? [],
  );
  const added = new Set(usersDiff?.added ?? []);
  const byStatus = new Map<string, number>();
  const administrators: AccessReviewSection['administrators'] = [];
  const closedOrRemoved: AccessReviewSection['closedOrRemoved'] = [];
  const inactive: AccessReviewSection['inactive'] = [];
  const cutoff = now.getTime() - INACTIVITY_DAYS * DAY_MS;
  let total = 0;
  if (usersEntry) {
    const userLabels = labels.get('users')!;
    await scan(
      store.records(connectionId, 'users', usersEntry.snapshotId),
      'users',
      wanted(wantLatest, 'users'),
      userLabels,
      (record) => {
        const o = record.object;
        const user = userRef(record);
        const status = user.status ?? 'unknown';
        total++;
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        const active = sameText(status, 'active');

        const profileId = text(o.permissionProfileId);
        const key = profileId ?? `name:${user.permissionProfile ?? ''}`;
        const profile = profiles.get(key) ?? {
          profileId,
          name: user.permissionProfile ?? '(no profile)',
          users: 0,
          activeUsers: 0,
        };
        profile.users++;
        if (active) profile.activeUsers++;
        profiles.set(key, profile);

        const reasons: AdminReason[] = [];
        if (flag(o.isAdmin)) reasons.push('isAdmin');
        if (sameText(user.permissionProfile, ACCOUNT_ADMINISTRATOR_PROFILE) || adminProfileIds.has(profileId ?? '')) {
          reasons.push('accountAdministratorProfile');
        }
        if (reasons.length) administrators.push({ ...user, reasons });

        if (ACCESS_ENDED.includes(status.toLowerCase()) && (statusChanged.has(record.id) || added.has(record.id))) {
          closedOrRemoved.push({ ...user, change: 'closed' });
        }

        if (active) {
          // An unreadable lastLogin proves no recent sign-in: it is listed like a missing one.
          const lastLogin = isoTime(o.lastLogin) ?? null;
          const at = lastLogin === null ? undefined : Date.parse(lastLogin);
          if (at === undefined || at < cutoff) {
            const daysSinceLogin = at === undefined ? null : Math.floor((now.getTime() - at) / DAY_MS);
            inactive.push({ ...user, lastLogin, daysSinceLogin });
          }
        }
      },
    );
  }

  // Users removed from the list: their details are in the previous snapshot, as are members who left with them.
  const previousUsers = previousOf('users');
  const removedUsers = new Set(usersDiff?.removed ?? []);
  const missingUsers = new Set([...wanted(wantLatest, 'users'), ...wanted(wantPrevious, 'users')]);
  if (previousUsers && missingUsers.size) {
    await scan(
      store.records(connectionId, 'users', previousUsers.snapshotId),
      'users',
      missingUsers,
      labels.get('users')!,
      (record) => {
        if (removedUsers.has(record.id)) closedOrRemoved.push({ ...userRef(record), change: 'removed' });
      },
    );
  }

  // The other kinds: their latest (added, changed) and previous (removed) objects' names.
  for (const kind of SNAPSHOT_KINDS) {
    if (kind === 'users') continue;
    for (const [want, entry] of [
      [wantLatest.get(kind), latestOf(kind)],
      [wantPrevious.get(kind), previousOf(kind)],
    ] as const) {
      if (entry && want?.size)
        await scan(store.records(connectionId, kind, entry.snapshotId), kind, want, labels.get(kind)!);
    }
  }

  const changes = SNAPSHOT_KINDS.map((kind): KindChanges => {
    const latest = latestOf(kind);
    const previous = previousOf(kind);
    const diff = latest?.diff;
    const kindLabels = labels.get(kind)!;
    const userLabels = labels.get('users')!;
    const named =
      (names: Map<string, string>) =>
      (id: string): Named => {
        const name = names.get(id);
        return name === undefined ? { id } : { id, name };
      };
    return {
      kind,
      ...(latest && { snapshot: refOf(latest) }),
      ...(latest && previous && { previous: refOf(previous) }),
      added: (diff?.added ?? []).map(named(kindLabels)),
      removed: (diff?.removed ?? []).map(named(kindLabels)),
      changed: (diff?.changed ?? []).map((c) => ({
        ...named(kindLabels)(c.id),
        fields: c.fields,
        ...(c.membersAdded && { membersAdded: c.membersAdded.map(named(userLabels)) }),
        ...(c.membersRemoved && { membersRemoved: c.membersRemoved.map(named(userLabels)) }),
      })),
    };
  });

  return {
    ...(usersEntry && {
      users: {
        snapshot: refOf(usersEntry),
        ...(previousUsers && { previous: refOf(previousUsers) }),
        total,
        byStatus: [...byStatus]
          .map(([status, count]) => ({ status, count }))
          .sort((a, b) => b.count - a.count || compareText(a.status, b.status)),
      },
    }),
    inactivityDays: INACTIVITY_DAYS,
    profiles: [...profiles.values()].sort(byName),
    administrators: administrators.sort(byName),
    closedOrRemoved: closedOrRemoved.sort(byName),
    inactive: inactive.sort(byName),
    changes,
  };
}
