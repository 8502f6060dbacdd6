/**
 * Who can do what in an account (docusign-api.md §6, §10): users, groups and their members, permission profiles and
 * signing groups; a deterministic generator for any size, linear in users and memberships; and the changes tests
 * script (add, close, remove, promote, move between profiles and groups, ...). Indexed so that serving one page never
 * walks the account: users and groups by ID, group members both ways; every change goes through this class, so the
 * indexes and every endpoint stay consistent.
 */
import { Rng } from './prng';
import type { AccountUserSpec, DirectorySize, SigningGroupMemberSpec, UserStatus } from './types';

const DAY_MS = 86_400_000;

/** Every user status DocuSign knows (docusign-api.md §6, the `status` filter of GET /users). */
export const USER_STATUSES = [
  'ActivationRequired',
  'ActivationSent',
  'Active',
  'Closed',
  'Disabled',
] as const satisfies readonly UserStatus[];

const ADMIN_PROFILE = 'Account Administrator';
const SENDER_PROFILE = 'DocuSign Sender';
const VIEWER_PROFILE = 'DocuSign Viewer';

export interface AccountUser {
  userId: string;
  firstName: string;
  lastName: string;
  email: string;
  userStatus: UserStatus;
  /** Follows the profile the user was last moved into (its canManageAccount), with the Administrators group. */
  isAdmin: boolean;
  permissionProfileId: string;
  created: number;
  lastLogin?: number;
}

export interface Group {
  groupId: string;
  groupName: string;
  /** DocuSign's own casing (docusign-api.md §10: "adminGroup", "everyoneGroup"). */
  groupType: 'adminGroup' | 'everyoneGroup' | 'customGroup';
  permissionProfileId?: string;
  lastModified: number;
  dsGroupId: string;
  /** Creation order: the group list's order, and each user's groupList's. */
  order: number;
  /** User IDs in member-list order (generated in user-list order, then in the order added). Change via Directory. */
  members: Set<string>;
}

export interface PermissionProfile {
  permissionProfileId: string;
  permissionProfileName: string;
  modified: number;
  settings: Record<string, string>;
}

export interface SigningGroup {
  signingGroupId: string;
  groupName: string;
  groupEmail: string;
  created: number;
  modified: number;
  createdBy: string;
  members: SigningGroupMemberSpec[];
}

/** A new account user; `created` only for generated users and impersonated members. */
type NewUser = AccountUserSpec & { created?: number };

const lc = (s: string): string => s.toLowerCase();

export class Directory {
  readonly users: AccountUser[] = [];
  readonly groups: Group[] = [];
  readonly profiles: PermissionProfile[] = [];
  readonly signingGroups: SigningGroup[] = [];
  private readonly byId = new Map<string, AccountUser>();
  private readonly groupById = new Map<string, Group>();
  /** The reverse of Group.members: user ID (lower case) → its groups. join/leave keep both. */
  private readonly memberships = new Map<string, Set<Group>>();
  private groupsCreated = 0;

  /** `ids` draws the IDs of objects created later (addUser, createGroup, ...), so scripted changes are reproducible. */
  constructor(private readonly ids: Rng) {}

  user(userId: string): AccountUser | undefined {
    return this.byId.get(lc(userId));
  }

  private requireUser(userId: string): AccountUser {
    const u = this.user(userId);
    if (!u) throw new Error(`unknown user ${userId} in this account`);
    return u;
  }

  group(groupId: string): Group | undefined {
    return this.groupById.get(groupId);
  }

  private requireGroup(groupId: string): Group {
    const g = this.group(groupId);
    if (!g) throw new Error(`unknown group ${groupId} in this account`);
    return g;
  }

  /** A profile by ID or name. */
  profile(idOrName: string): PermissionProfile | undefined {
    return this.profiles.find((p) => p.permissionProfileId === idOrName || p.permissionProfileName === idOrName);
  }

  private requireProfile(idOrName: string): PermissionProfile {
    const p = this.profile(idOrName);
    if (!p) throw new Error(`unknown permission profile '${idOrName}' in this account`);
    return p;
  }

  private systemGroup(type: 'adminGroup' | 'everyoneGroup'): Group | undefined {
    return this.groups.find((g) => g.groupType === type);
  }

  /** The user's groups in group-list order. */
  groupsOf(userId: string): Group[] {
    return [...(this.memberships.get(lc(userId)) ?? [])].sort((a, b) => a.order - b.order);
  }

  private join(g: Group, userId: string): void {
    g.members.add(userId);
    const mine = this.memberships.get(lc(userId));
    if (mine) mine.add(g);
    else this.memberships.set(lc(userId), new Set([g]));
  }

  private leave(g: Group, userId: string): void {
    g.members.delete(userId);
    this.memberships.get(lc(userId))?.delete(g);
  }

  /** The users of each profile, in user-list order, in one pass. */
  usersByProfile(): Map<string, AccountUser[]> {
    const out = new Map<string, AccountUser[]>();
    for (const u of this.users) {
      const list = out.get(u.permissionProfileId);
      if (list) list.push(u);
      else out.set(u.permissionProfileId, [u]);
    }
    return out;
  }

  private uniqueId(make: (rng: Rng) => string, taken: (id: string) => boolean): string {
    for (;;) {
      const id = make(this.ids);
      if (!taken(id)) return id;
    }
  }

  private newGroupId(): string {
    return this.uniqueId(
      (r) => r.digits(8),
      (id) => this.group(id) !== undefined,
    );
  }

  private newProfileId(): string {
    return this.uniqueId(
      (r) => r.digits(8),
      (id) => this.profiles.some((p) => p.permissionProfileId === id),
    );
  }

  addProfile(name: string, settings: Record<string, string>, modified: number): PermissionProfile {
    const p = { permissionProfileId: this.newProfileId(), permissionProfileName: name, modified, settings };
    this.profiles.push(p);
    return p;
  }

  addGroup(spec: Omit<Group, 'groupId' | 'dsGroupId' | 'order' | 'members'>): Group {
    const g: Group = {
      ...spec,
      groupId: this.newGroupId(),
      dsGroupId: this.ids.guid(),
      order: this.groupsCreated++,
      members: new Set(),
    };
    this.groups.push(g);
    this.groupById.set(g.groupId, g);
    return g;
  }

  /** Adds a user to the account; `first` puts it at the top of the user list (the impersonated user). */
  addUser(spec: NewUser, now: number, first = false): AccountUser {
    if (spec.userId !== undefined && this.user(spec.userId)) throw new Error(`user ${spec.userId} already exists`);
    const userId =
      spec.userId ??
      this.uniqueId(
        (r) => r.guid(),
        (id) => this.user(id) !== undefined,
      );
    const profile = this.requireProfile(spec.profile ?? (spec.isAdmin ? ADMIN_PROFILE : SENDER_PROFILE));
    const groups = (spec.groupIds ?? []).map((id) => this.requireGroup(id));
    const firstName = spec.firstName ?? 'New';
    const lastName = spec.lastName ?? 'User';
    const u: AccountUser = {
      userId,
      firstName,
      lastName,
      email: spec.email ?? `${firstName}.${lastName}.${userId.slice(0, 8)}@example.com`.toLowerCase(),
      userStatus: spec.status ?? 'Active',
      isAdmin: false,
      permissionProfileId: profile.permissionProfileId,
      created: spec.created ?? now,
      lastLogin: spec.lastLogin,
    };
    if (first) this.users.unshift(u);
    else this.users.push(u);
    this.byId.set(lc(userId), u);
    const everyone = this.systemGroup('everyoneGroup');
    if (everyone) this.join(everyone, userId);
    this.applyProfile(u, profile, spec.isAdmin);
    for (const g of groups) this.join(g, userId);
    return u;
  }

  /** Gone from every list: users, group members, profile user lists, and signing groups holding its email. */
  removeUser(userId: string): void {
    const u = this.requireUser(userId);
    this.users.splice(this.users.indexOf(u), 1);
    this.byId.delete(lc(userId));
    for (const g of this.groupsOf(u.userId)) this.leave(g, u.userId);
    this.memberships.delete(lc(userId));
    for (const s of this.signingGroups) {
      const kept = s.members.filter((m) => lc(m.email) !== lc(u.email));
      if (kept.length !== s.members.length) s.members = kept;
    }
  }

  setStatus(userId: string, status: UserStatus): void {
    this.requireUser(userId).userStatus = status;
  }

  setLastLogin(userId: string, at: number | undefined): void {
    this.requireUser(userId).lastLogin = at;
  }

  /** Moves a user to a profile; isAdmin and Administrators membership follow the profile's canManageAccount. */
  moveToProfile(userId: string, profile: string): void {
    this.applyProfile(this.requireUser(userId), this.requireProfile(profile));
  }

  /** Promote: the Account Administrator profile. Demote: DocuSign Sender. */
  setAdmin(userId: string, isAdmin: boolean): void {
    this.moveToProfile(userId, isAdmin ? ADMIN_PROFILE : SENDER_PROFILE);
  }

  private applyProfile(u: AccountUser, p: PermissionProfile, isAdmin = p.settings.canManageAccount === 'true'): void {
    u.permissionProfileId = p.permissionProfileId;
    u.isAdmin = isAdmin;
    const admins = this.systemGroup('adminGroup');
    if (admins && isAdmin) this.join(admins, u.userId);
    else if (admins) this.leave(admins, u.userId);
  }

  createGroup(spec: { groupName: string; permissionProfileId?: string }, now: number): Group {
    if (spec.permissionProfileId !== undefined) this.requireProfile(spec.permissionProfileId);
    return this.addGroup({
      groupName: spec.groupName,
      groupType: 'customGroup',
      permissionProfileId: spec.permissionProfileId,
      lastModified: now,
    });
  }

  /** Custom groups only: DocuSign does not let anyone delete Administrators or Everyone. */
  deleteGroup(groupId: string): void {
    const g = this.requireGroup(groupId);
    if (g.groupType !== 'customGroup') throw new Error(`group ${groupId} (${g.groupType}) cannot be deleted`);
    for (const id of [...g.members]) this.leave(g, id);
    this.groups.splice(this.groups.indexOf(g), 1);
    this.groupById.delete(groupId);
  }

  /** Membership only: the group's lastModifiedOn stays (whether DocuSign changes it is unconfirmed). */
  addToGroup(groupId: string, userId: string): void {
    this.join(this.requireGroup(groupId), this.requireUser(userId).userId);
  }

  removeFromGroup(groupId: string, userId: string): void {
    this.leave(this.requireGroup(groupId), this.requireUser(userId).userId);
  }

  setProfileSettings(profile: string, settings: Record<string, string>, now: number): void {
    const p = this.requireProfile(profile);
    p.settings = { ...p.settings, ...settings };
    p.modified = now;
  }

  addSigningGroup(spec: { groupName: string; members?: SigningGroupMemberSpec[] }, now: number): SigningGroup {
    const n = this.signingGroups.length + 1;
    const owner = this.users[0];
    const g: SigningGroup = {
      signingGroupId: this.uniqueId(
        (r) => r.digits(8),
        (id) => this.signingGroups.some((s) => s.signingGroupId === id),
      ),
      groupName: spec.groupName,
      groupEmail: `signing-group-${n}@example.com`,
      created: now,
      modified: now,
      createdBy: owner ? `${owner.firstName} ${owner.lastName}`.trim() : '',
      members: [...(spec.members ?? [])],
    };
    this.signingGroups.push(g);
    return g;
  }

  private requireSigningGroup(id: string): SigningGroup {
    const g = this.signingGroups.find((s) => s.signingGroupId === id);
    if (!g) throw new Error(`unknown signing group ${id} in this account`);
    return g;
  }

  removeSigningGroup(id: string): void {
    this.signingGroups.splice(this.signingGroups.indexOf(this.requireSigningGroup(id)), 1);
  }

  /** Members are part of the signing group object, so a change moves its `modified`. */
  addSigningGroupMember(id: string, member: SigningGroupMemberSpec, now: number): void {
    const g = this.requireSigningGroup(id);
    g.members = [...g.members.filter((m) => lc(m.email) !== lc(member.email)), member];
    g.modified = now;
  }

  removeSigningGroupMember(id: string, email: string, now: number): void {
    const g = this.requireSigningGroup(id);
    g.members = g.members.filter((m) => lc(m.email) !== lc(email));
    g.modified = now;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generation.

const FIRST_NAMES = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Ken',
  'Barbara',
  'Dennis',
  'Frances',
  'Edsger',
  'Radia',
  'Tim',
  'Katherine',
  'John',
  'Hedy',
  'Donald',
  'Shafi',
  'Leslie',
  'Anita',
  'Vint',
  'Sophie',
  'Niklaus',
  'Karen',
  'Guido',
  'Mary',
  'Bjarne',
  'Lynn',
  'James',
  'Adele',
  'Whitfield',
  'Jean',
  'Robert',
  'Carol',
  'Ivan',
  'Evelyn',
  'Butler',
];
const LAST_NAMES = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Berners-Lee',
  'Johnson',
  'McCarthy',
  'Lamarr',
  'Knuth',
  'Goldwasser',
  'Lamport',
  'Borg',
  'Cerf',
  'Wilson',
  'Wirth',
  'Jones',
  'Rossum',
  'Keller',
  'Stroustrup',
  'Conway',
  'Gosling',
  'Goldberg',
  'Diffie',
  'Sammet',
  'Kahn',
  'Shaw',
  'Sutherland',
  'Berners',
  'Lampson',
];
const DOMAINS = ['example.com', 'example.org', 'example.net'];

/** A made-up person (account users and envelope recipients). */
export function person(rng: Rng): { first: string; last: string; name: string; email: string } {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const email = `${first}.${last}${rng.int(1, 99)}@${rng.pick(DOMAINS)}`.toLowerCase();
  return { first, last, name: `${first} ${last}`, email };
}
/** Custom group and profile names; the first three are the small default account's groups. */
const DEPARTMENTS = [
  'Legal',
  'Sales Operations',
  'People Team',
  'Finance',
  'Procurement',
  'Engineering',
  'Security',
  'Customer Success',
  'Marketing',
  'Facilities',
  'IT Service Desk',
  'Compliance',
  'Partnerships',
  'Research',
  'Support',
  'Operations',
  'Product',
  'Data Platform',
  'Internal Audit',
  'Treasury',
];
const GROUP_QUALIFIERS = ['EMEA', 'APAC', 'Americas', 'Contractors', 'Managers', 'Approvers', 'Reviewers', 'Leads'];
const PROFILE_ROLES = ['Sender', 'Viewer', 'Approver', 'Manager'];
const SIGNING_GROUP_NAMES = ['Contracts Desk', 'HR Signatories', 'Finance Approvers', 'Legal Reviewers'];

/** The i-th of an endless list of distinct names: `words[i]`, then `${word} ${qualifier}`, then numbered. */
function nthName(i: number, words: readonly string[], qualifiers: readonly string[], plainFirst: boolean): string {
  const j = plainFirst ? i - words.length : i;
  if (j < 0) return words[i]!;
  const round = Math.floor(j / (words.length * qualifiers.length));
  const base = `${words[j % words.length]!} ${qualifiers[Math.floor(j / words.length) % qualifiers.length]!}`;
  return round === 0 ? base : `${base} ${round + 1}`;
}

/** The small account every new account gets (the emulator's data before sizes existed). */
export const DEFAULT_DIRECTORY: Required<Omit<DirectorySize, 'groupMembers'>> = {
  users: 12,
  groups: 5,
  profiles: 3,
  signingGroups: 0,
};

/**
 * A directory of the given size, deterministic in (seed, accountId): Administrators and Everyone plus custom groups
 * whose sizes follow an exponential distribution around `groupMembers` (default 30 % of the users), so some groups
 * need more than one 100-member page; the three built-in profiles plus custom ones; users of every status, about
 * 5 % administrators, most active users logged in within 60 days, some not for over 90 days, some never.
 * Linear in users + memberships.
 */
export function generateDirectory(
  seed: number,
  accountId: string,
  span: { created: number; now: number },
  size: DirectorySize,
): Directory {
  const users = size.users ?? DEFAULT_DIRECTORY.users;
  const groups = Math.max(2, size.groups ?? DEFAULT_DIRECTORY.groups);
  const profiles = Math.max(3, size.profiles ?? DEFAULT_DIRECTORY.profiles);
  const meanMembers = Math.max(1, size.groupMembers ?? Math.round(users * 0.3));
  const rng = new Rng(`${seed}:directory:${accountId}`);
  const dir = new Directory(new Rng(`${seed}:directory-ids:${accountId}`));
  const { created, now } = span;
  const someDay = (): number => created + rng.int(1, 400) * DAY_MS;

  const builtIn: [string, Record<string, string>][] = [
    [ADMIN_PROFILE, { canSendEnvelope: 'true', canManageAccount: 'true', canManageUsers: 'true' }],
    [SENDER_PROFILE, { canSendEnvelope: 'true', canManageAccount: 'false', canManageUsers: 'false' }],
    [VIEWER_PROFILE, { canSendEnvelope: 'false', canManageAccount: 'false', canManageUsers: 'false' }],
  ];
  for (let i = 0; i < profiles; i++) {
    const [name, base] = builtIn[i] ?? [
      nthName(i - 3, DEPARTMENTS, PROFILE_ROLES, false),
      { canSendEnvelope: String(rng.chance(0.6)), canManageAccount: 'false', canManageUsers: String(rng.chance(0.1)) },
    ];
    dir.addProfile(
      name,
      {
        ...base,
        allowEnvelopeSending: base.canSendEnvelope!,
        allowApiAccess: String(i === 0 || rng.chance(0.8)),
        allowSignerAttachments: 'true',
        enableVaulting: 'false',
      },
      someDay(),
    );
  }
  const [adminProfile, senderProfile, viewerProfile, ...customProfiles] = dir.profiles as [
    PermissionProfile,
    PermissionProfile,
    PermissionProfile,
    ...PermissionProfile[],
  ];
  const nonAdmin = [senderProfile, viewerProfile, ...customProfiles];

  dir.addGroup({
    groupName: 'Administrators',
    groupType: 'adminGroup',
    permissionProfileId: adminProfile.permissionProfileId,
    lastModified: someDay(),
  });
  dir.addGroup({ groupName: 'Everyone', groupType: 'everyoneGroup', lastModified: someDay() });
  for (let i = 0; i < groups - 2; i++) {
    dir.addGroup({
      groupName: nthName(i, DEPARTMENTS, GROUP_QUALIFIERS, true),
      groupType: 'customGroup',
      permissionProfileId: rng.chance(0.3) ? rng.pick(nonAdmin).permissionProfileId : undefined,
      lastModified: someDay(),
    });
  }

  const emails = new Set<string>();
  for (let i = 0; i < users; i++) {
    const { first, last, email: drawn } = person(rng);
    const email = emails.has(drawn) ? drawn.replace('@', `.${i}@`) : drawn;
    emails.add(email);
    const status: UserStatus =
      i === 0
        ? 'Active'
        : rng.weighted({ Active: 80, ActivationSent: 6, ActivationRequired: 2, Closed: 7, Disabled: 5 });
    const isAdmin = i === 0 || rng.chance(0.05);
    const userCreated = created + Math.floor(rng.next() * (now - created));
    const roll = rng.next();
    let lastLogin: number | undefined;
    if (status === 'Active' && roll < 0.85) lastLogin = now - rng.float(0, 60) * DAY_MS;
    else if ((status === 'Active' && roll < 0.95) || status === 'Closed' || status === 'Disabled')
      lastLogin = now - rng.float(91, 700) * DAY_MS;
    dir.addUser(
      {
        userId: rng.guid(),
        firstName: first,
        lastName: last,
        email,
        status,
        isAdmin,
        profile: isAdmin
          ? adminProfile.permissionProfileId
          : (rng.chance(0.7) ? senderProfile : rng.pick(nonAdmin)).permissionProfileId,
        created: userCreated,
        lastLogin: lastLogin === undefined ? undefined : Math.max(userCreated, Math.round(lastLogin)),
      },
      now,
    );
  }

  // Members of each custom group: distinct random users, kept in user-list order. Sizes are exponentially spread,
  // scaled so that their mean is `groupMembers`.
  const custom = dir.groups.filter((g) => g.groupType === 'customGroup');
  const raw = custom.map(() => -Math.log(1 - rng.next()));
  const scale = (meanMembers * raw.length) / raw.reduce((sum, x) => sum + x, 0);
  for (const [k, g] of custom.entries()) {
    if (users === 0) break;
    const n = Math.min(users, Math.max(1, Math.round(raw[k]! * scale)));
    const picked = new Set<number>();
    while (picked.size < n) picked.add(rng.int(0, users - 1));
    for (const i of [...picked].sort((a, b) => a - b)) dir.addToGroup(g.groupId, dir.users[i]!.userId);
  }

  const active = dir.users.filter((u) => u.userStatus === 'Active');
  for (let i = 0; i < (size.signingGroups ?? DEFAULT_DIRECTORY.signingGroups); i++) {
    const name = nthName(i, SIGNING_GROUP_NAMES, ['Team'], true);
    const g = dir.addSigningGroup({ groupName: name }, someDay());
    g.modified = g.created + rng.int(0, 60) * DAY_MS;
    g.members = active
      .filter(() => rng.chance(Math.min(0.4, 10 / Math.max(1, active.length))))
      .map((u) => ({ userName: `${u.firstName} ${u.lastName}`, email: u.email }));
  }
  return dir;
}
