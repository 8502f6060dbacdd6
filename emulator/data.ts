/**
 * The emulator's data model and its deterministic generator: accounts with their directory (directory.ts), settings,
 * templates and envelopes whose recipients move through a small, coherent state machine
 * (created → sent → delivered → completed | declined | voided). Generation, `mutate` and scripted envelopes use the
 * same transitions, so generated history and live changes look alike.
 */
import { type AccountUser, DEFAULT_DIRECTORY, type Directory, generateDirectory, person } from './directory';
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

/** An account template envelopes can be created from (GET /envelopes/{id}/templates). */
export interface Template {
  templateId: string;
  name: string;
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
  /** The template the envelope was created from, if any. */
  templateId?: string;
  /** Serialized wire JSON, filled lazily and cleared on every change. */
  cache: { base?: Buffer; full?: Buffer };
}

export interface Account {
  accountId: string;
  accountName: string;
  region: string;
  organizationId: string;
  created: number;
  /** Users, groups, permission profiles, signing groups (directory.ts). */
  directory: Directory;
  templates: Template[];
  /** GET /settings: ~400 keys, mostly strings, some null, a few objects and lists (docusign-api.md §10). */
  settings: Record<string, unknown>;
  passwordRules: Record<string, string>;
  envelopes: EnvelopeStore;
  /** Drives `mutate`; seeded from (seed, accountId) so a sequence of mutations is reproducible. */
  mutationRng: Rng;
}

// ---------------------------------------------------------------------------------------------------------------
// Envelope store: envelopes kept sorted by (statusChanged, envelopeId) so a from_date/to_date window is two binary
// searches, and a page is a slice.

export class EnvelopeStore {
  private sorted: Envelope[] = [];
  private byId = new Map<string, Envelope>();
  /** Bumped by every change, so a kept answer of `matching` is known to be stale. */
  private version = 0;
  private lastMatch?: { key: string; envelopes: readonly Envelope[] };

  all(): readonly Envelope[] {
    return this.sorted;
  }

  get(id: string): Envelope | undefined {
    return this.byId.get(id.toLowerCase());
  }

  replaceAll(list: Envelope[]): void {
    this.sorted = [...list].sort(compareChanged);
    this.byId = new Map(list.map((e) => [e.envelopeId, e]));
    this.version++;
  }

  add(e: Envelope): void {
    this.sorted.splice(this.lowerIndex(e.statusChanged, e.envelopeId), 0, e);
    this.byId.set(e.envelopeId, e);
    this.version++;
  }

  /** Changes an envelope in place and keeps the order; `change` must not change the ID. */
  update(e: Envelope, change: (e: Envelope) => void): void {
    const at = this.lowerIndex(e.statusChanged, e.envelopeId);
    if (this.sorted[at] !== e) throw new Error(`envelope ${e.envelopeId} is not in the index`);
    this.sorted.splice(at, 1);
    change(e);
    e.cache = {};
    this.sorted.splice(this.lowerIndex(e.statusChanged, e.envelopeId), 0, e);
    this.version++;
  }

  /** Index range [lo, hi) of envelopes with from <= statusChanged <= to. */
  window(from: number, to: number): [number, number] {
    const lo = this.lowerIndex(from, '');
    const hi = this.lowerIndex(to + 1, '');
    return [lo, Math.max(lo, hi)];
  }

  /**
   * The envelopes of window(from, to) with one of `statuses` (any, without), in order. The last answer is kept until
   * the store changes: a client pages through one query, and scanning a large account's window for every page made
   * the emulator's own time per call grow with the account (14.5 ms a page at 100,000 envelopes, bench/README.md).
   */
  matching(from: number, to: number, statuses: ReadonlySet<string> | undefined): readonly Envelope[] {
    const key = `${this.version}|${from}|${to}|${statuses ? [...statuses].sort().join(',') : '*'}`;
    if (this.lastMatch?.key === key) return this.lastMatch.envelopes;
    const [lo, hi] = this.window(from, to);
    const envelopes: Envelope[] = [];
    for (let i = lo; i < hi; i++) {
      const e = this.sorted[i]!;
      if (!statuses || statuses.has(e.status)) envelopes.push(e);
    }
    this.lastMatch = { key, envelopes };
    return envelopes;
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
  return {
    accountId: info.accountId,
    accountName: info.accountName,
    region: info.region,
    organizationId: stableGuid(seed, `org:${info.accountId}`),
    created,
    directory: generateDirectory(
      seed,
      info.accountId,
      { created, now },
      { ...DEFAULT_DIRECTORY, signingGroups: info.signingGroups },
    ),
    templates: DOCUMENTS.map((name) => ({ templateId: stableGuid(seed, `template:${info.accountId}:${name}`), name })),
    settings: accountSettings(new Rng(`${seed}:account-settings:${info.accountId}`)),
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

/** Adds a real member of an account (e.g. the impersonated user) at the top of its user list, as an administrator. */
export function addMember(account: Account, user: { userId: string; name: string; email: string }, now: number): void {
  if (account.directory.user(user.userId)) return;
  const [first, ...rest] = user.name.split(' ');
  account.directory.addUser(
    {
      userId: user.userId,
      firstName: first ?? user.name,
      lastName: rest.join(' '),
      email: user.email,
      isAdmin: true,
      created: account.created,
      lastLogin: now,
    },
    now,
    true,
  );
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
  const senders = activeUsers(account);
  const out: Envelope[] = [];
  for (let i = 0; i < opts.count; i++) out.push(generateEnvelope(rng, account, senders, opts));
  return out;
}

/** A new envelope sent at `t` (used by `mutate` when there are too few open envelopes to move). */
export function newSentEnvelope(account: Account, rng: Rng, t: number): Envelope {
  const e = skeleton(rng, account, activeUsers(account), t);
  sendEnvelope(e, t);
  return e;
}

export interface EnvelopeScript {
  status: EnvelopeStatus;
  subject?: string;
  template?: Template;
}

/**
 * An envelope driven to `script.status` with every event at `t` (addEnvelope). From a template, its first document
 * and default subject carry the template's name.
 */
export function scriptedEnvelope(account: Account, rng: Rng, t: number, script: EnvelopeScript): Envelope {
  const e = skeleton(rng, account, activeUsers(account), t);
  e.templateId = script.template?.templateId;
  if (script.template) {
    e.documents[0]!.name = `${script.template.name}.pdf`;
    e.emailSubject = `Please DocuSign: ${script.template.name}`;
  }
  if (script.subject !== undefined) e.emailSubject = script.subject;
  driveTo(e, script.status, rng, () => t);
  return e;
}

function activeUsers(account: Account): AccountUser[] {
  return account.directory.users.filter((u) => u.userStatus === 'Active');
}

function skeleton(rng: Rng, account: Account, senders: AccountUser[], created: number): Envelope {
  const sender = rng.pick(senders.length > 0 ? senders : account.directory.users);
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
  const envelopeId = rng.guid();
  // Half the envelopes come from the account's template for their document (an own generator per envelope, so the
  // rest of the data is what it was before templates existed).
  const template = account.templates.find((x) => x.name === docName);
  return {
    envelopeId,
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
    templateId: template && new Rng(`${envelopeId}:template`).chance(0.5) ? template.templateId : undefined,
    cache: {},
  };
}

function generateEnvelope(rng: Rng, account: Account, senders: AccountUser[], opts: GenerateOptions): Envelope {
  const target = rng.weighted({ completed: 58, sent: 10, delivered: 8, declined: 7, voided: 7, created: 10 });
  const created = Math.round(opts.now - rng.float(0, opts.days) * DAY_MS);
  const e = skeleton(rng, account, senders, created);
  let t = created;
  driveTo(e, target, rng, (minMinutes, maxMinutes) => {
    t = Math.min(t + Math.round(rng.float(minMinutes, maxMinutes) * MINUTE_MS), opts.now);
    return t;
  });
  return e;
}

/**
 * Drives a new envelope to `target`: sent, then some or all signing groups, then the final event.
 * `step(min, max)` gives each event's time (generation: min to max minutes after the previous one).
 */
function driveTo(
  e: Envelope,
  target: EnvelopeStatus,
  rng: Rng,
  step: (minMinutes: number, maxMinutes: number) => number,
): void {
  if (target === 'created') return;
  sendEnvelope(e, step(1, 90));
  if (target === 'sent') return;

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
      return;
    case 'delivered': {
      signGroups(rng.int(0, orders.length - 1));
      const s = pendingInCurrentGroup(e)[0];
      if (s) deliver(e, s, step(5, 3 * 24 * 60));
      return;
    }
    case 'declined': {
      signGroups(rng.int(0, orders.length - 1));
      const s = pendingInCurrentGroup(e)[0];
      if (s) decline(e, s, step(5, 5 * 24 * 60), rng.pick(DECLINE_REASONS));
      return;
    }
    case 'voided':
      signGroups(rng.int(0, orders.length - 1));
      voidEnvelope(e, step(60, 20 * 24 * 60), rng.pick(VOID_REASONS));
  }
}
