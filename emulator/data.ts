/**
 * The emulator's data model and its deterministic generator: accounts with users, groups, permission profiles,
 * settings and envelopes whose recipients move through a small, coherent state machine
 * (created → sent → delivered → completed | declined | voided). Generation and `mutate` use the same transitions,
 * so generated history and live changes look alike.
 */
import { Rng, stableGuid } from './prng';

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export type EnvelopeStatus = 'created' | 'sent' | 'delivered' | 'completed' | 'declined' | 'voided';
export type RecipientStatus = 'created' | 'sent' | 'delivered' | 'completed' | 'declined';

/** Every value DocuSign accepts in the `status` filter (docusign-api.md §3.1). */
export const FILTER_STATUSES = [
  'completed',
  'created',
  'declined',
  'deleted',
  'delivered',
  'processing',
  'sent',
  'signed',
  'timedout',
  'voided',
] as const;

export interface Recipient {
  kind: 'signer' | 'carboncopy';
  recipientId: string;
  recipientIdGuid: string;
  userId: string;
  name: string;
  email: string;
  routingOrder: number;
  status: RecipientStatus;
  sent?: number;
  delivered?: number;
  signed?: number;
  declined?: number;
  declinedReason?: string;
}

export interface EnvelopeDocument {
  documentId: string;
  documentIdGuid: string;
  name: string;
  pages: number;
}

export interface AccountUser {
  userId: string;
  firstName: string;
  lastName: string;
  email: string;
  userStatus: 'Active' | 'ActivationSent' | 'Closed' | 'Disabled';
  isAdmin: boolean;
  permissionProfileId: string;
  created: number;
  lastLogin?: number;
  groupIds: string[];
}

export interface Group {
  groupId: string;
  groupName: string;
  /** DocuSign's own casing (docusign-api.md §10: "adminGroup", "everyoneGroup"). */
  groupType: 'adminGroup' | 'everyoneGroup' | 'customGroup';
  permissionProfileId?: string;
  lastModified: number;
  dsGroupId: string;
}

export interface SigningGroup {
  signingGroupId: string;
  groupName: string;
  groupEmail: string;
  created: number;
  modified: number;
  createdBy: string;
  members: { userName: string; email: string }[];
}

export interface PermissionProfile {
  permissionProfileId: string;
  permissionProfileName: string;
  modified: number;
  settings: Record<string, string>;
}

export interface Envelope {
  envelopeId: string;
  accountId: string;
  status: EnvelopeStatus;
  emailSubject: string;
  emailBlurb?: string;
  created: number;
  sent?: number;
  delivered?: number;
  completed?: number;
  declined?: number;
  voided?: number;
  voidedReason?: string;
  statusChanged: number;
  lastModified: number;
  sender: { userName: string; userId: string; accountId: string; email: string; ipAddress: string };
  signers: Recipient[];
  carbonCopies: Recipient[];
  documents: EnvelopeDocument[];
  /** Serialized wire JSON, filled lazily and cleared on every change. */
  cache: { base?: Buffer; full?: Buffer };
}

export interface Account {
  accountId: string;
  accountName: string;
  region: string;
  organizationId: string;
  created: number;
  users: AccountUser[];
  groups: Group[];
  profiles: PermissionProfile[];
  signingGroups: SigningGroup[];
  /** GET /settings: ~400 keys, mostly strings, some null, a few objects and lists (docusign-api.md §10). */
  settings: Record<string, unknown>;
  passwordRules: Record<string, string>;
  envelopes: EnvelopeStore;
  /** Drives `mutate`; seeded from (seed, accountId) so a sequence of mutations is reproducible. */
  mutationRng: Rng;
  /** The options the envelopes were last seeded with (seed of the generator), for a reproducible reseed. */
  envelopeSeq: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Envelope store: envelopes kept sorted by (statusChanged, envelopeId) so a from_date/to_date window is two binary
// searches, and a page is a slice.

export class EnvelopeStore {
  private sorted: Envelope[] = [];
  private byId = new Map<string, Envelope>();

  all(): readonly Envelope[] {
    return this.sorted;
  }

  get(id: string): Envelope | undefined {
    return this.byId.get(id.toLowerCase());
  }

  replaceAll(list: Envelope[]): void {
    this.sorted = [...list].sort(compareChanged);
    this.byId = new Map(list.map((e) => [e.envelopeId, e]));
  }

  add(e: Envelope): void {
    this.sorted.splice(this.lowerIndex(e.statusChanged, e.envelopeId), 0, e);
    this.byId.set(e.envelopeId, e);
  }

  /** Changes an envelope in place and keeps the order; `change` must not change the ID. */
  update(e: Envelope, change: (e: Envelope) => void): void {
    const at = this.lowerIndex(e.statusChanged, e.envelopeId);
    if (this.sorted[at] !== e) throw new Error(`envelope ${e.envelopeId} is not in the index`);
    this.sorted.splice(at, 1);
    change(e);
    e.cache = {};
    this.sorted.splice(this.lowerIndex(e.statusChanged, e.envelopeId), 0, e);
  }

  /** Index range [lo, hi) of envelopes with from <= statusChanged <= to. */
  window(from: number, to: number): [number, number] {
    const lo = this.lowerIndex(from, '');
    const hi = this.lowerIndex(to + 1, '');
    return [lo, Math.max(lo, hi)];
  }

  at(i: number): Envelope {
    const e = this.sorted[i];
    if (!e) throw new Error(`envelope index ${i} out of range`);
    return e;
  }

  private lowerIndex(t: number, id: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.sorted[mid]!;
      if (m.statusChanged < t || (m.statusChanged === t && m.envelopeId < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function compareChanged(a: Envelope, b: Envelope): number {
  return a.statusChanged - b.statusChanged || (a.envelopeId < b.envelopeId ? -1 : a.envelopeId > b.envelopeId ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary.

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
const COMPANIES = [
  'Acme Corp',
  'Globex',
  'Initech',
  'Umbrella Health',
  'Hooli',
  'Vandelay Industries',
  'Stark Logistics',
  'Wayne Enterprises',
  'Soylent Foods',
  'Cyberdyne Systems',
  'Tyrell Labs',
  'Wonka Confections',
];
const DOMAINS = ['example.com', 'example.org', 'example.net'];
const DOCUMENTS = [
  'Mutual NDA',
  'Master Services Agreement',
  'Offer Letter',
  'Data Processing Addendum',
  'Statement of Work',
  'Vendor Security Questionnaire',
  'Employee Handbook Acknowledgement',
  'Code of Conduct Attestation',
  'Quarterly Access Review Sign-off',
  'Change Request Approval',
  'Business Associate Agreement',
  'Order Form',
  'Contractor Agreement',
  'Information Security Policy Acknowledgement',
  'Incident Report Sign-off',
];
const VOID_REASONS = ['Sent to the wrong recipient', 'Terms changed', 'Duplicate envelope', 'Deal cancelled'];
const DECLINE_REASONS = [
  'Terms not acceptable',
  'Wrong document attached',
  'Not the right signer',
  'Needs legal review',
];

function person(rng: Rng): { first: string; last: string; name: string; email: string } {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const email = `${first}.${last}${rng.int(1, 99)}@${rng.pick(DOMAINS)}`.toLowerCase();
  return { first, last, name: `${first} ${last}`, email };
}

function ipAddress(rng: Rng): string {
  return `203.0.113.${rng.int(1, 254)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Accounts.

export function createAccount(
  seed: number,
  info: { accountId: string; accountName: string; region: string; signingGroups: number },
  now: number,
): Account {
  const rng = new Rng(`${seed}:account:${info.accountId}`);
  const created = now - rng.int(500, 3000) * DAY_MS;

  const profiles: PermissionProfile[] = [
    ['Account Administrator', { canSendEnvelope: 'true', canManageAccount: 'true', canManageUsers: 'true' }],
    ['DocuSign Sender', { canSendEnvelope: 'true', canManageAccount: 'false', canManageUsers: 'false' }],
    ['DocuSign Viewer', { canSendEnvelope: 'false', canManageAccount: 'false', canManageUsers: 'false' }],
  ].map(([name, settings]) => ({
    permissionProfileId: rng.digits(8),
    permissionProfileName: name as string,
    modified: created + rng.int(1, 400) * DAY_MS,
    settings: {
      ...(settings as Record<string, string>),
      allowEnvelopeSending: (settings as Record<string, string>).canSendEnvelope ?? 'false',
      allowApiAccess: 'true',
      allowSignerAttachments: 'true',
      enableVaulting: 'false',
    },
  }));
  const [adminProfile, senderProfile, viewerProfile] = profiles as [
    PermissionProfile,
    PermissionProfile,
    PermissionProfile,
  ];

  const groups: Group[] = [
    {
      groupName: 'Administrators',
      groupType: 'adminGroup' as const,
      permissionProfileId: adminProfile.permissionProfileId,
    },
    { groupName: 'Everyone', groupType: 'everyoneGroup' as const },
    { groupName: 'Legal', groupType: 'customGroup' as const, permissionProfileId: senderProfile.permissionProfileId },
    { groupName: 'Sales Operations', groupType: 'customGroup' as const },
    { groupName: 'People Team', groupType: 'customGroup' as const },
  ].map((g) => ({
    ...g,
    groupId: rng.digits(8),
    dsGroupId: rng.guid(),
    lastModified: created + rng.int(1, 400) * DAY_MS,
  }));
  const [adminGroup, everyone, ...custom] = groups as [Group, Group, ...Group[]];

  const users: AccountUser[] = [];
  for (let i = 0; i < 12; i++) {
    const p = person(rng);
    const isAdmin = i === 0 || rng.chance(0.1);
    const userStatus = i === 0 ? 'Active' : rng.weighted({ Active: 80, ActivationSent: 8, Closed: 7, Disabled: 5 });
    const groupIds = [everyone.groupId];
    if (isAdmin) groupIds.push(adminGroup.groupId);
    for (const g of custom) if (rng.chance(0.3)) groupIds.push(g.groupId);
    const userCreated = created + rng.int(0, 400) * DAY_MS;
    users.push({
      userId: rng.guid(),
      firstName: p.first,
      lastName: p.last,
      email: p.email,
      userStatus,
      isAdmin,
      permissionProfileId: isAdmin
        ? adminProfile.permissionProfileId
        : rng.chance(0.7)
          ? senderProfile.permissionProfileId
          : viewerProfile.permissionProfileId,
      created: userCreated,
      lastLogin: userStatus === 'Active' ? now - rng.int(0, 90) * DAY_MS - rng.int(0, DAY_MS) : undefined,
      groupIds,
    });
  }

  // Own generators: adding these left every earlier value of the account (users, groups, ...) as it was.
  const extra = new Rng(`${seed}:account-extra:${info.accountId}`);
  const signingGroups: SigningGroup[] = Array.from({ length: info.signingGroups }, (_, i) => {
    const owner = users[0]!;
    const groupCreated = created + extra.int(1, 400) * DAY_MS;
    return {
      signingGroupId: extra.digits(8),
      groupName: ['Contracts Desk', 'HR Signatories', 'Finance Approvers', 'Legal Reviewers'][i % 4]!,
      groupEmail: `signing-group-${i + 1}@example.com`,
      created: groupCreated,
      modified: groupCreated + extra.int(0, 60) * DAY_MS,
      createdBy: `${owner.firstName} ${owner.lastName}`,
      members: users
        .filter((u) => u.userStatus === 'Active' && extra.chance(0.4))
        .map((u) => ({ userName: `${u.firstName} ${u.lastName}`, email: u.email })),
    };
  });

  return {
    accountId: info.accountId,
    accountName: info.accountName,
    region: info.region,
    organizationId: stableGuid(seed, `org:${info.accountId}`),
    created,
    users,
    groups,
    profiles,
    signingGroups,
    settings: accountSettings(extra),
    passwordRules: {
      expirePassword: 'true',
      expirePasswordDays: String(rng.pick([60, 90, 180])),
      lockoutDurationMinutes: '5',
      lockoutDurationType: 'minutes',
      minimumPasswordAgeDays: '0',
      minimumPasswordLength: String(rng.pick([8, 10, 12, 14])),
      passwordIncludeDigit: 'true',
      passwordIncludeDigitOrSpecialCharacter: 'false',
      passwordIncludeLowerCase: 'true',
      passwordIncludeSpecialCharacter: String(rng.chance(0.6)),
      passwordIncludeUpperCase: 'true',
      passwordStrengthType: 'custom',
      questionsRequired: '0',
    },
    envelopes: new EnvelopeStore(),
    mutationRng: new Rng(`${seed}:mutate:${info.accountId}`),
    envelopeSeq: 0,
  };
}

/** Words the generated setting names are made of: `${verb}${noun}`, e.g. `allowBulkSend`, `enableSignerAttachments`. */
const SETTING_VERBS = ['allow', 'enable', 'disable', 'show', 'require', 'hide', 'use', 'sign'];
const SETTING_NOUNS = [
  'Envelope',
  'Signer',
  'Sender',
  'Recipient',
  'Document',
  'Template',
  'BulkSend',
  'ApiAccess',
  'SmsDelivery',
  'PhoneAuth',
  'IdVerification',
  'Kba',
  'Sso',
  'SessionLock',
  'PasswordReset',
  'SignerAttachments',
  'Comments',
  'Markup',
  'Reassign',
  'Correct',
  'Void',
  'Purge',
  'Retention',
  'Watermark',
  'Stamps',
  'Seals',
  'Notary',
  'Witness',
  'Payments',
  'PowerForms',
  'Workspaces',
  'SharedFolders',
  'Branding',
  'Connect',
  'Webhooks',
  'AuditLogs',
  'Certificates',
  'Downloads',
  'Printing',
  'OfflineSigning',
  'MobileSigning',
  'ResponsiveSigning',
  'Transfers',
  'Delegation',
  'Expiration',
  'Reminders',
  'Clickwraps',
  'SupplementalDocuments',
];

/**
 * AccountSettingsInformation as GET /settings sends it (docusign-api.md §6, §10): the keys the connector's evidence
 * names, then ~380 generated flags; strings for booleans ("true"/"false") and numbers, many nulls, a few objects and
 * lists. Key names are the same for every account; values come from the account's generator.
 */
function accountSettings(rng: Rng): Record<string, unknown> {
  const flag = (p = 0.5): string => String(rng.chance(p));
  const settings: Record<string, unknown> = {
    sessionTimeout: String(rng.pick([20, 30, 60])),
    disableMultipleSessions: flag(0.3),
    allowPhoneAuthentication: 'true',
    enableSMSAuthentication: flag(),
    senderMustAuthenticateSigning: flag(0.4),
    allowOrganizationSsoManagement: flag(),
    allowDataDownload: flag(0.7),
    attachCompletedEnvelope: flag(),
    enableKBAAuthentication: null,
    enableRecipientDomainValidation: flag(0.3),
    documentRetention: String(rng.pick([0, 365, 2555])),
    enableAccessCodeGenerator: 'true',
    signDateFormat: 'M/d/yyyy',
    signTimeFormat: 'h:mm tt',
    timezoneOffsetAPI: 'tz_01_utc',
    require21CFRpt11Compliance: 'false',
    envelopeIntegrationEnabled: 'true',
    useDerivedKeys: 'true',
    idCheckExpire: 'always',
    accountUISettings: {
      hideUseATemplate: 'false',
      enableAdminMessage: 'false',
      adminMessage: { baseMessage: '', moreInformation: '' },
    },
    externalDocumentSources: { boxnetEnabled: 'false', dropboxEnabled: 'false', googleDriveEnabled: 'true' },
    linkedExternalPrimaryAccounts: [],
    signerLoginRequirements: ['account_optional'],
  };
  for (const verb of SETTING_VERBS) {
    for (const noun of SETTING_NOUNS) {
      const key = `${verb}${noun}`;
      if (key in settings) continue;
      const roll = rng.next();
      settings[key] = roll < 0.1 ? null : roll < 0.15 ? String(rng.int(0, 120)) : flag();
    }
  }
  return settings;
}

/** Adds (or refreshes) a real member of an account, e.g. the impersonated user, to its user list. */
export function addMember(account: Account, user: { userId: string; name: string; email: string }, now: number): void {
  if (account.users.some((u) => u.userId === user.userId)) return;
  const [first, ...rest] = user.name.split(' ');
  const adminProfile = account.profiles[0]!;
  const groupIds = account.groups.filter((g) => g.groupType !== 'customGroup').map((g) => g.groupId);
  account.users.unshift({
    userId: user.userId,
    firstName: first ?? user.name,
    lastName: rest.join(' '),
    email: user.email,
    userStatus: 'Active',
    isAdmin: true,
    permissionProfileId: adminProfile.permissionProfileId,
    created: account.created,
    lastLogin: now,
    groupIds,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Envelope state machine.

function currentOrder(e: Envelope): number | undefined {
  let min: number | undefined;
  for (const s of e.signers)
    if (s.status !== 'completed' && (min === undefined || s.routingOrder < min)) min = s.routingOrder;
  return min;
}

function touch(e: Envelope, t: number, statusChanged: boolean): void {
  if (statusChanged) e.statusChanged = t;
  e.lastModified = Math.max(e.lastModified, t);
}

/** Sends the invitations of the lowest routing order that is not done yet. */
function activate(e: Envelope, t: number): void {
  const order = currentOrder(e);
  if (order === undefined) return;
  for (const s of e.signers) {
    if (s.routingOrder === order && s.status === 'created') {
      s.status = 'sent';
      s.sent = t;
    }
  }
  for (const c of e.carbonCopies) {
    if (c.routingOrder <= order && c.status === 'created') {
      c.status = 'sent';
      c.sent = t;
    }
  }
}

export function sendEnvelope(e: Envelope, t: number): void {
  e.status = 'sent';
  e.sent = t;
  activate(e, t);
  touch(e, t, true);
}

function deliver(e: Envelope, s: Recipient, t: number): void {
  if (s.status === 'sent') {
    s.status = 'delivered';
    s.delivered = t;
  }
  if (e.status === 'sent') {
    e.status = 'delivered';
    e.delivered = t;
    touch(e, t, true);
  } else touch(e, t, false);
}

function sign(e: Envelope, s: Recipient, t: number): void {
  if (s.delivered === undefined) s.delivered = t;
  s.status = 'completed';
  s.signed = t;
  touch(e, t, false);
  const order = currentOrder(e);
  if (order === undefined) complete(e, t);
  else if (order !== s.routingOrder) activate(e, t);
}

function complete(e: Envelope, t: number): void {
  e.status = 'completed';
  e.completed = t;
  if (e.delivered === undefined) e.delivered = t;
  for (const c of e.carbonCopies) {
    c.status = 'completed';
    if (c.sent === undefined) c.sent = t;
  }
  touch(e, t, true);
}

function decline(e: Envelope, s: Recipient, t: number, reason: string): void {
  if (s.delivered === undefined) s.delivered = t;
  s.status = 'declined';
  s.declined = t;
  s.declinedReason = reason;
  e.status = 'declined';
  e.declined = t;
  touch(e, t, true);
}

function voidEnvelope(e: Envelope, t: number, reason: string): void {
  e.status = 'voided';
  e.voided = t;
  e.voidedReason = reason;
  touch(e, t, true);
}

function pendingInCurrentGroup(e: Envelope): Recipient[] {
  const order = currentOrder(e);
  return e.signers.filter((s) => s.routingOrder === order && s.status !== 'completed');
}

/**
 * One live status change at time `t` (what `mutate` does): created → sent, sent → delivered,
 * delivered → completed (3 in 4) or declined. Returns false for envelopes in a final state.
 */
export function advanceEnvelope(e: Envelope, t: number, rng: Rng): boolean {
  switch (e.status) {
    case 'created':
      sendEnvelope(e, t);
      return true;
    case 'sent': {
      const s = pendingInCurrentGroup(e)[0];
      if (!s) return false;
      deliver(e, s, t);
      return true;
    }
    case 'delivered': {
      if (rng.chance(0.25)) {
        const s = pendingInCurrentGroup(e)[0];
        if (!s) return false;
        decline(e, s, t, rng.pick(DECLINE_REASONS));
        return true;
      }
      for (let guard = 0; guard < 100 && e.status === 'delivered'; guard++) {
        const s = pendingInCurrentGroup(e)[0];
        if (!s) break;
        sign(e, s, t);
      }
      if ((e.status as EnvelopeStatus) !== 'completed') complete(e, t);
      return true;
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Envelope generation.

export interface GenerateOptions {
  count: number;
  days: number;
  now: number;
  seed: number;
}

export function generateEnvelopes(account: Account, opts: GenerateOptions): Envelope[] {
  const rng = new Rng(`${opts.seed}:envelopes:${account.accountId}`);
  const senders = account.users.filter((u) => u.userStatus === 'Active');
  const out: Envelope[] = [];
  for (let i = 0; i < opts.count; i++) out.push(generateEnvelope(rng, account, senders, opts));
  return out;
}

/** A new envelope sent at `t` (used by `mutate` when there are too few open envelopes to move). */
export function newSentEnvelope(account: Account, rng: Rng, t: number): Envelope {
  const senders = account.users.filter((u) => u.userStatus === 'Active');
  const e = skeleton(rng, account, senders, t);
  sendEnvelope(e, t);
  return e;
}

function skeleton(rng: Rng, account: Account, senders: AccountUser[], created: number): Envelope {
  const sender = rng.pick(senders.length > 0 ? senders : account.users);
  const docName = rng.pick(DOCUMENTS);
  const company = rng.pick(COMPANIES);
  const nSigners = Number(rng.weighted({ 1: 45, 2: 35, 3: 20 }));
  const nCc = Number(rng.weighted({ 0: 50, 1: 35, 2: 15 }));
  const sequential = nSigners > 1 && rng.chance(0.6);
  const maxOrder = sequential ? nSigners : 1;
  let recipientNo = 0;
  const recipient = (kind: Recipient['kind'], routingOrder: number): Recipient => {
    const p = person(rng);
    recipientNo++;
    return {
      kind,
      recipientId: String(recipientNo),
      recipientIdGuid: rng.guid(),
      userId: rng.guid(),
      name: p.name,
      email: p.email,
      routingOrder,
      status: 'created',
    };
  };
  const signers = Array.from({ length: nSigners }, (_, i) => recipient('signer', sequential ? i + 1 : 1));
  const carbonCopies = Array.from({ length: nCc }, () => recipient('carboncopy', rng.chance(0.5) ? maxOrder + 1 : 1));
  const documents: EnvelopeDocument[] = [
    { documentId: '1', documentIdGuid: rng.guid(), name: `${docName}.pdf`, pages: rng.int(1, 12) },
  ];
  if (rng.chance(0.25)) {
    documents.push({ documentId: '2', documentIdGuid: rng.guid(), name: 'Exhibit A.pdf', pages: rng.int(1, 4) });
  }
  return {
    envelopeId: rng.guid(),
    accountId: account.accountId,
    status: 'created',
    emailSubject: rng.chance(0.6) ? `Please DocuSign: ${docName}` : `${docName} - ${company}`,
    emailBlurb: rng.chance(0.4) ? 'Please review and sign at your earliest convenience.' : undefined,
    created,
    statusChanged: created,
    lastModified: created,
    sender: {
      userName: `${sender.firstName} ${sender.lastName}`.trim(),
      userId: sender.userId,
      accountId: account.accountId,
      email: sender.email,
      ipAddress: ipAddress(rng),
    },
    signers,
    carbonCopies,
    documents,
    cache: {},
  };
}

function generateEnvelope(rng: Rng, account: Account, senders: AccountUser[], opts: GenerateOptions): Envelope {
  const target = rng.weighted({ completed: 58, sent: 10, delivered: 8, declined: 7, voided: 7, created: 10 });
  const created = Math.round(opts.now - rng.float(0, opts.days) * DAY_MS);
  const e = skeleton(rng, account, senders, created);
  let t = created;
  const step = (minMinutes: number, maxMinutes: number): number => {
    t = Math.min(t + Math.round(rng.float(minMinutes, maxMinutes) * MINUTE_MS), opts.now);
    return t;
  };
  if (target === 'created') return e;
  sendEnvelope(e, step(1, 90));
  if (target === 'sent') return e;

  const orders = [...new Set(e.signers.map((s) => s.routingOrder))].sort((a, b) => a - b);
  const signGroups = (n: number): void => {
    for (let g = 0; g < n; g++) {
      for (const s of pendingInCurrentGroup(e)) deliver(e, s, step(5, 2 * 24 * 60));
      for (const s of pendingInCurrentGroup(e)) sign(e, s, step(1, 24 * 60));
    }
  };
  switch (target) {
    case 'completed':
      signGroups(orders.length);
      if (e.status !== 'completed') complete(e, step(0, 1));
      return e;
    case 'delivered': {
      signGroups(rng.int(0, orders.length - 1));
      const s = pendingInCurrentGroup(e)[0];
      if (s) deliver(e, s, step(5, 3 * 24 * 60));
      return e;
    }
    case 'declined': {
      signGroups(rng.int(0, orders.length - 1));
      const s = pendingInCurrentGroup(e)[0];
      if (s) decline(e, s, step(5, 5 * 24 * 60), rng.pick(DECLINE_REASONS));
      return e;
    }
    case 'voided': {
      signGroups(rng.int(0, orders.length - 1));
      voidEnvelope(e, step(60, 20 * 24 * 60), rng.pick(VOID_REASONS));
      return e;
    }
  }
}
