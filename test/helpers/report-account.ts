/**
 * A scripted DocuSign account for the report's tests and `npm run report:screenshot`: envelopes, two snapshots of
 * users, groups, permission profiles and account settings, and signed-proof entries, written through the real
 * evidence-store API, with the truth the report must tell about them spelled out beside the data.
 */
import { createHash } from 'node:crypto';
import type { EnvelopeProof, ProofStore } from '../../activities/store/proof';
import type { SnapshotPart } from '../../activities/store/snapshots';
import type { EnvelopeRecord, EvidenceStore } from '../../activities/store/types';
import type { SnapshotKind } from '../../workflows/evidence';
import type { ConnectionStatus } from '../../workflows/messages';

export const NOW = new Date('2026-06-30T12:00:00.000Z');
export const FIRST_SNAPSHOT = '2026-06-29T00:00:00.000Z';
export const SECOND_SNAPSHOT = '2026-06-30T00:00:00.000Z';
export const HOSTILE = '<script>alert("owned")</script>';

const DAY = 86_400_000;
/** A DocuSign time (7 fractional digits, Z) `days` before NOW. */
const daysAgo = (days: number): string => new Date(NOW.getTime() - days * DAY).toISOString().replace('Z', '0000Z');

const PROFILES = {
  admin: { permissionProfileId: '101', permissionProfileName: 'Account Administrator' },
  sender: { permissionProfileId: '102', permissionProfileName: 'DocuSign Sender' },
  viewer: { permissionProfileId: '103', permissionProfileName: 'DocuSign Viewer' },
  legal: { permissionProfileId: '104', permissionProfileName: 'Legal Reviewers' },
};

const user = (
  userId: string,
  userName: string,
  profile: { permissionProfileId: string; permissionProfileName: string },
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  userName,
  userId,
  userType: 'CompanyUser',
  isAdmin: 'False',
  userStatus: 'Active',
  email: `${userId}@example.test`,
  createdDateTime: '2025-01-01T00:00:00.0000000Z',
  ...profile,
  ...extra,
});

const alice = user('u-alice', 'Alice Admin', PROFILES.admin, { isAdmin: 'True', lastLogin: daysAgo(1) });
const bob = user('u-bob', 'Bob Builder', PROFILES.sender, { lastLogin: daysAgo(100) });
// The administrator profile named in another casing, and a login time without a zone (UTC).
const carol = user(
  'u-carol',
  'Carol Casing',
  { ...PROFILES.admin, permissionProfileName: 'account administrator' },
  {
    lastLogin: '2026-06-20T09:00:00.123',
  },
);
const dave = user('u-dave', 'Dave Never', PROFILES.sender);
const erin = user('u-erin', 'Erin Leaver', PROFILES.sender, { lastLogin: daysAgo(200) });
const frank = user('u-frank', 'Frank Gone', PROFILES.viewer, { lastLogin: daysAgo(3) });
const mallory = user('u-mallory', HOSTILE, PROFILES.viewer, {
  email: 'mallory@evil.test"><img src=x onerror=alert(1)>',
  lastLogin: daysAgo(95),
});
const gina = user('u-gina', 'Gina New', PROFILES.viewer, { userStatus: 'ActivationSent' });
const harry = user('u-harry', 'Harry Ninety-One', PROFILES.sender, { lastLogin: daysAgo(91) });
const ivan = user('u-ivan', 'Ivan Eighty-Nine', PROFILES.sender, { lastLogin: daysAgo(89) });

const USERS_BEFORE = [alice, bob, carol, dave, erin, frank, mallory, harry, ivan];
const USERS_AFTER = [
  alice,
  { ...bob, isAdmin: 'true' }, // made an administrator, in DocuSign's other casing
  carol,
  dave,
  { ...erin, userStatus: 'Closed' },
  mallory,
  gina,
  harry,
  ivan,
];

/** What the report must say about the users (names in code-unit order, as the report sorts them). */
export const TRUTH = {
  users: USERS_AFTER.length,
  administrators: ['Alice Admin', 'Bob Builder', 'Carol Casing'],
  closed: ['Erin Leaver'],
  removed: ['Frank Gone'],
  /** Active, last login more than 90 days before NOW or never; with the days since. */
  inactive: [
    { name: HOSTILE, days: 95 },
    { name: 'Bob Builder', days: 100 },
    { name: 'Dave Never', days: null },
    { name: 'Harry Ninety-One', days: 91 },
  ],
  profiles: [
    { name: 'Account Administrator', users: 2, activeUsers: 2 },
    { name: 'DocuSign Sender', users: 5, activeUsers: 4 },
    { name: 'DocuSign Viewer', users: 2, activeUsers: 1 },
    { name: 'Legal Reviewers', users: 0, activeUsers: 0 },
  ],
};

const member = (u: Record<string, unknown>) => ({
  userName: u.userName,
  userId: u.userId,
  email: u.email,
  userType: 'companyuser',
  userStatus: 'active',
});
const group = (groupId: string, groupName: string) => ({ groupId, groupName, groupType: 'customGroup' });

const passwordRules = {
  expirePassword: 'true',
  expirePasswordDays: '90',
  lockoutDurationMinutes: '5',
  lockoutDurationType: 'minutes',
  minimumPasswordAgeDays: '0',
  minimumPasswordLength: '8',
  passwordIncludeDigit: 'true',
  passwordIncludeDigitOrSpecialCharacter: 'false',
  passwordIncludeLowerCase: 'true',
  passwordIncludeSpecialCharacter: 'false',
  passwordIncludeUpperCase: 'true',
  passwordStrengthType: 'custom',
  questionsRequired: '0',
};
// enableSMSAuthentication is null and allowOrganizationSsoManagement absent: both "not reported".
const settings = (sessionTimeout: string) => ({
  sessionTimeout,
  allowPhoneAuthentication: 'True',
  enableSMSAuthentication: null,
  disableMultipleSessions: 'false',
  attachCompletedEnvelope: 'true',
});

/** Expected security-posture results by check ID. */
export const POSTURE_TRUTH = {
  'password-minimum-length': 'fail',
  'password-complexity': 'pass',
  'password-expiry': 'pass',
  'password-lockout': 'fail',
  'session-timeout': 'fail',
  'phone-authentication': 'pass',
  'sms-authentication': 'not_reported',
  'sso-management': 'not_reported',
} as const;

const SNAPSHOTS: Partial<Record<SnapshotKind, [SnapshotPart[][], SnapshotPart[][]]>> = {
  users: [[USERS_BEFORE.map(objectPart('userId'))], [USERS_AFTER.map(objectPart('userId'))]],
  'permission-profiles': [
    [Object.values(PROFILES).map(objectPart('permissionProfileId'))],
    [Object.values(PROFILES).map(objectPart('permissionProfileId'))],
  ],
  groups: [
    [
      [
        { id: 'g-fin', object: group('g-fin', 'Finance') },
        { id: 'g-all', object: group('g-all', 'Everyone') },
      ],
      [{ id: 'g-fin', members: [member(alice), member(frank)] }],
      [{ id: 'g-all', members: USERS_BEFORE.map(member) }],
    ],
    [
      [
        { id: 'g-fin', object: group('g-fin', 'Finance') },
        { id: 'g-all', object: group('g-all', 'Everyone') },
        { id: 'g-legal', object: group('g-legal', 'Legal') },
      ],
      [{ id: 'g-fin', members: [member(alice), member(dave)] }],
      [{ id: 'g-all', members: USERS_BEFORE.map(member) }],
      [{ id: 'g-legal', members: [] }],
    ],
  ],
  'account-settings': [
    [
      [
        { id: 'accountSettings', object: settings('20') },
        { id: 'passwordRules', object: passwordRules },
      ],
    ],
    [
      [
        { id: 'accountSettings', object: settings('60') },
        { id: 'passwordRules', object: passwordRules },
      ],
    ],
  ],
};

function objectPart(idField: string) {
  return (object: Record<string, unknown>): SnapshotPart => ({ id: object[idField] as string, object });
}

const signer = (name: string, email: string, signedDateTime: string) => ({
  recipientId: email,
  recipientType: 'signer',
  name,
  email,
  status: 'completed',
  signedDateTime,
});

interface ScriptedEnvelope {
  envelopeId: string;
  status: string;
  statusChangedDateTime: string;
  subject: string;
  /** Completed envelopes: the time and the signers. */
  completedDateTime?: string;
  signers?: ReturnType<typeof signer>[];
}

/** Months 2026-01 to 2026-06; February has none. */
export const ENVELOPES: ScriptedEnvelope[] = [
  {
    envelopeId: 'e01',
    status: 'completed',
    statusChangedDateTime: '2026-01-10T10:00:00.0000000Z',
    completedDateTime: '2026-01-10T10:00:00.0000000Z',
    subject: 'NDA: Alice',
    signers: [signer('Alice Admin', 'u-alice@example.test', '2026-01-10T09:59:00.0000000Z')],
  },
  {
    envelopeId: 'e02',
    status: 'voided',
    statusChangedDateTime: '2026-01-20T10:00:00.0000000Z',
    subject: 'Draft offer',
  },
  {
    envelopeId: 'e03',
    status: 'completed',
    statusChangedDateTime: '2026-03-02T10:00:00.0000000Z',
    completedDateTime: '2026-03-02T10:00:00.0000000Z',
    subject: 'Security policy acknowledgement',
    signers: [
      signer('Bob Builder', 'u-bob@example.test', '2026-03-01T10:00:00.0000000Z'),
      signer('Carol Casing', 'u-carol@example.test', '2026-03-02T09:00:00.0000000Z'),
    ],
  },
  {
    envelopeId: 'e04',
    status: 'completed',
    statusChangedDateTime: '2026-03-15T10:00:00.0000000Z',
    completedDateTime: '2026-03-15T10:00:00.0000000Z',
    subject: 'Vendor contract: Acme',
    signers: [signer('Vera Vendor', 'vera@acme.test', '2026-03-15T09:30:00.0000000Z')],
  },
  {
    envelopeId: 'e05',
    status: 'declined',
    statusChangedDateTime: '2026-03-20T10:00:00.0000000Z',
    subject: 'NDA: Declined',
  },
  { envelopeId: 'e06', status: 'sent', statusChangedDateTime: '2026-04-01T10:00:00.0000000Z', subject: 'NDA: Pending' },
  {
    envelopeId: 'e07',
    status: 'delivered',
    statusChangedDateTime: '2026-04-02T10:00:00.0000000Z',
    subject: 'Policy: Delivered',
  },
  {
    envelopeId: 'e08',
    status: 'completed',
    statusChangedDateTime: '2026-05-05T10:00:00.0000000Z',
    completedDateTime: '2026-05-05T10:00:00.0000000Z',
    subject: 'NDA: Dave',
    signers: [signer('Dave Never', 'u-dave@example.test', '2026-05-05T09:00:00.0000000Z')],
  },
  {
    envelopeId: 'e09',
    status: 'completed',
    statusChangedDateTime: '2026-06-10T10:00:00.0000000Z',
    completedDateTime: '2026-06-10T10:00:00.0000000Z',
    subject: `Contract ${HOSTILE}`,
    signers: [signer(HOSTILE, 'mallory@evil.test', '2026-06-10T09:00:00.0000000Z')],
  },
  {
    envelopeId: 'e10',
    status: 'completed',
    statusChangedDateTime: '2026-06-15T23:30:00.000',
    completedDateTime: '2026-06-15T23:30:00.000', // zoneless: UTC
    subject: 'NDA: Harry',
    signers: [signer('Harry Ninety-One', 'u-harry@example.test', '2026-06-15T23:00:00.000')],
  },
  { envelopeId: 'e11', status: 'sent', statusChangedDateTime: '2026-06-20T10:00:00.0000000Z', subject: 'NDA: Ivan' },
];

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The account's proof entries: e10 is completed but not looked at yet (no entry). */
export function proofEntries(): EnvelopeProof[] {
  const link = (text: string, contentType: string) => ({
    sha256: sha256(text),
    size: text.length,
    contentType,
    fetchedAt: '2026-06-29T12:00:00.000Z',
  });
  const collected = (envelopeId: string): EnvelopeProof => ({
    envelopeId,
    state: 'collected',
    certificate: link(`certificate of ${envelopeId}`, 'application/pdf'),
    auditEvents: link(`audit events of ${envelopeId}`, 'application/json'),
    attempts: 0,
  });
  return [
    collected('e01'),
    collected('e03'),
    {
      envelopeId: 'e04',
      state: 'pending',
      attempts: 1,
      nextAttemptAt: '2026-06-30T13:00:00.000Z',
      lastError: { code: 'rate_limited', message: 'API_REQUEST_IS_THROTTLED', at: '2026-06-30T11:00:00.000Z' },
    },
    {
      envelopeId: 'e08',
      state: 'failed',
      attempts: 5,
      lastError: { code: 'request_rejected', message: 'ENVELOPE_DOES_NOT_EXIST', at: '2026-06-29T11:00:00.000Z' },
    },
    collected('e09'),
  ];
}

/** A ProofStore in memory: the store's implementation does not exist yet (activities/store/proof.ts). */
export class FakeProofStore implements ProofStore {
  private readonly entries = new Map<string, EnvelopeProof>();
  constructor(entries: EnvelopeProof[] = []) {
    for (const e of entries) this.entries.set(e.envelopeId, e);
  }
  putArtifact(): Promise<{ sha256: string; size: number }> {
    return Promise.reject(new Error('not used by the report'));
  }
  readArtifact(): Promise<Buffer> {
    return Promise.reject(new Error('not used by the report'));
  }
  async putProof(_connectionId: string, proof: EnvelopeProof): Promise<void> {
    this.entries.set(proof.envelopeId, proof);
  }
  async getProof(_connectionId: string, envelopeId: string): Promise<EnvelopeProof | undefined> {
    return this.entries.get(envelopeId);
  }
  async *listProof(): AsyncIterable<EnvelopeProof> {
    yield* [...this.entries.values()].sort((a, b) => (a.envelopeId < b.envelopeId ? -1 : 1));
  }
}

/** A live status: needs attention with a rate limit, and a users snapshot that failed last time. */
export function liveStatus(connectionId: string): ConnectionStatus {
  return {
    connectionId,
    environment: 'demo',
    phase: 'needs_attention',
    consentUrl: 'https://account-d.docusign.com/oauth/auth?state=SECRET-STATE',
    account: { accountId: 'acc-1', accountName: 'Acme Corp', baseUri: 'https://demo.docusign.net' },
    lastSync: {
      startedAt: '2026-06-30T11:00:00.000Z',
      finishedAt: '2026-06-30T11:00:05.000Z',
      envelopes: 2,
      cursor: '2026-06-30T10:50:00.000Z',
    },
    lastError: {
      code: 'rate_limited',
      message: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED',
      hint: "DocuSign's hourly or burst API limit is exhausted; syncing resumes after the reset.",
      at: '2026-06-30T11:30:00.000Z',
    },
    totals: { envelopes: ENVELOPES.length, syncs: 12 },
    nextSyncAt: '2026-06-30T12:30:00.000Z',
    evidence: {
      users: {
        lastSnapshotAt: SECOND_SNAPSHOT,
        count: USERS_AFTER.length,
        lastError: {
          code: 'docusign_unavailable',
          message: 'GET /users answered 503',
          hint: 'DocuSign did not answer or answered with a server error; the connector retries with backoff.',
          at: '2026-06-30T11:40:00.000Z',
        },
      },
    },
  };
}

async function takeSnapshot(
  store: EvidenceStore,
  c: string,
  kind: SnapshotKind,
  takenAt: string,
  pages: SnapshotPart[][],
) {
  for (const [i, parts] of pages.entries()) await store.snapshots.stagePage(c, kind, takenAt, parts, { page: i + 1 });
  await store.snapshots.publish(c, kind, takenAt, takenAt);
}

/** Writes the account into `store` (initialised): envelopes, then both snapshots of each kind. */
export async function scriptAccount(store: EvidenceStore, connectionId: string): Promise<void> {
  const records: EnvelopeRecord[] = ENVELOPES.map((e) => ({
    connectionId,
    envelopeId: e.envelopeId,
    status: e.status,
    statusChangedDateTime: e.statusChangedDateTime,
    syncedAt: '2026-06-30T11:00:03.000Z',
    envelope: {
      envelopeId: e.envelopeId,
      status: e.status,
      emailSubject: e.subject,
      statusChangedDateTime: e.statusChangedDateTime,
      ...(e.completedDateTime && { completedDateTime: e.completedDateTime }),
      recipients: { signers: e.signers ?? [], carbonCopies: [], recipientCount: String(e.signers?.length ?? 0) },
    },
  }));
  await store.writePage(connectionId, records);
  for (const [kind, [first, second]] of Object.entries(SNAPSHOTS) as [
    SnapshotKind,
    [SnapshotPart[][], SnapshotPart[][]],
  ][]) {
    await takeSnapshot(store, connectionId, kind, FIRST_SNAPSHOT, first);
    await takeSnapshot(store, connectionId, kind, SECOND_SNAPSHOT, second);
  }
}
