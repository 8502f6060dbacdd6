/**
 * Wire shapes: how the emulator's records look on the wire, following docusign-api.md §2–§3 and §6.
 * Like the real service (docusign-api.md §10), counts and most flags are JSON strings: "True"/"False" in user lists,
 * "true"/"false" elsewhere, a real boolean in places; timestamps carry seven fractional digits and `Z`, except group
 * `lastModifiedOn` (three digits, no zone); URIs inside objects are relative to the account (`/envelopes/{id}`).
 */
import type { Account, Envelope, Recipient } from './data';
import type { AccountUser, Group, PermissionProfile, SigningGroup } from './directory';
import { formatTs, formatZoneless } from './time';

type Json = Record<string, unknown>;

function ts(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : formatTs(ms);
}

function recipientWire(r: Recipient): Json {
  const common: Json = {
    creationReason: 'sender',
    isBulkRecipient: 'false',
    recipientSuppliesTabs: 'false',
    requireUploadSignature: 'false',
    name: r.name,
    email: r.email,
    recipientId: r.recipientId,
    recipientIdGuid: r.recipientIdGuid,
    requireIdLookup: 'false',
    userId: r.userId,
    routingOrder: String(r.routingOrder),
    status: r.status,
    completedCount: r.status === 'completed' ? '1' : '0',
    sentDateTime: ts(r.sent),
    deliveredDateTime: ts(r.delivered),
    deliveryMethod: 'email',
    recipientType: r.kind,
  };
  if (r.kind === 'signer') {
    common.signedDateTime = ts(r.signed);
    common.declinedDateTime = ts(r.declined);
    common.declinedReason = r.declinedReason;
    common.recipientAuthenticationStatus = undefined;
    common.signInEachLocation = 'false';
    common.agentCanEditEmail = 'false';
    common.agentCanEditName = 'false';
  }
  return common;
}

/** Recipients:list shape (S23 model/Recipients.js). */
export function recipientsWire(e: Envelope): Json {
  const open = e.signers.filter((s) => s.status !== 'completed');
  const current =
    open.length > 0
      ? Math.min(...open.map((s) => s.routingOrder))
      : Math.max(...e.signers.map((s) => s.routingOrder), 1);
  return {
    signers: e.signers.map(recipientWire),
    agents: [],
    editors: [],
    intermediaries: [],
    carbonCopies: e.carbonCopies.map(recipientWire),
    certifiedDeliveries: [],
    inPersonSigners: [],
    seals: [],
    witnesses: [],
    notaries: [],
    recipientCount: String(e.signers.length + e.carbonCopies.length),
    currentRoutingOrder: String(current),
  };
}

/** Envelope object (S23 model/Envelope.js). `recipients` only with include=recipients. */
export function envelopeWire(e: Envelope, includeRecipients: boolean): Json {
  const base = `/envelopes/${e.envelopeId}`;
  const out: Json = {
    status: e.status,
    documentsUri: `${base}/documents`,
    recipientsUri: `${base}/recipients`,
    attachmentsUri: `${base}/attachments`,
    envelopeUri: base,
    emailSubject: e.emailSubject,
    emailBlurb: e.emailBlurb,
    envelopeId: e.envelopeId,
    signingLocation: 'online',
    customFieldsUri: `${base}/custom_fields`,
    notificationUri: `${base}/notification`,
    enableWetSign: 'true',
    allowMarkup: 'false',
    allowReassign: 'true',
    createdDateTime: formatTs(e.created),
    lastModifiedDateTime: formatTs(e.lastModified),
    deliveredDateTime: ts(e.delivered),
    initialSentDateTime: ts(e.sent),
    sentDateTime: ts(e.sent),
    completedDateTime: ts(e.completed),
    declinedDateTime: ts(e.declined),
    voidedDateTime: ts(e.voided),
    voidedReason: e.voidedReason,
    statusChangedDateTime: formatTs(e.statusChanged),
    documentsCombinedUri: `${base}/documents/combined`,
    certificateUri: `${base}/documents/certificate`,
    templatesUri: `${base}/templates`,
    expireEnabled: 'true',
    expireDateTime: e.sent === undefined ? undefined : formatTs(e.sent + 120 * 86_400_000),
    expireAfter: '120',
    sender: {
      userName: e.sender.userName,
      userId: e.sender.userId,
      accountId: e.sender.accountId,
      email: e.sender.email,
    },
    purgeState: 'unpurged',
    envelopeIdStamping: 'true',
    is21CFRPart11: 'false',
    signerCanSignOnMobile: 'true',
    autoNavigation: 'true',
    isSignatureProviderEnvelope: 'false',
    uSigState: 'esign',
    hasFormDataChanged: 'false',
    allowComments: 'true',
    hasComments: 'false',
    allowViewHistory: 'true',
    anySigner: null,
    envelopeLocation: 'current_site',
    isDynamicEnvelope: 'false',
    burnDefaultTabData: 'false',
    isTicketRelatedEnvelope: 'false',
  };
  if (includeRecipients) out.recipients = recipientsWire(e);
  return out;
}

/** Serialized envelope (UTF-8), cached on the envelope until it changes: a page is a concatenation of buffers. */
export function envelopeJsonBuffer(e: Envelope, includeRecipients: boolean): Buffer {
  if (includeRecipients) return (e.cache.full ??= Buffer.from(JSON.stringify(envelopeWire(e, true))));
  return (e.cache.base ??= Buffer.from(JSON.stringify(envelopeWire(e, false))));
}

export function envelopeJson(e: Envelope, includeRecipients: boolean): string {
  return envelopeJsonBuffer(e, includeRecipients).toString('utf8');
}

/**
 * Documents:list (S23): the content documents and, like DocuSign (docusign-api.md §10), the certificate of
 * completion as a `summary` document, listed once the envelope is completed (the only state in which the emulator
 * serves it; see server.ts).
 */
export function documentsWire(e: Envelope): Json {
  const docs: Json[] = e.documents.map((d, i) => ({
    documentId: d.documentId,
    documentIdGuid: d.documentIdGuid,
    name: d.name,
    type: 'content',
    uri: `/envelopes/${e.envelopeId}/documents/${d.documentId}`,
    order: String(i + 1),
    pages: Array.from({ length: d.pages }, (_, p) => ({
      pageId: `${d.documentIdGuid.slice(0, 8)}-p${p + 1}`,
      sequence: String(p + 1),
      height: '792',
      width: '612',
      dpi: '72',
    })),
    display: 'inline',
    includeInDownload: 'true',
    signerMustAcknowledge: 'no_interaction',
    templateRequired: 'false',
    authoritativeCopy: 'false',
    availableDocumentTypes: [{ type: 'electronic', isDefault: 'true' }],
  }));
  if (e.status === 'completed') {
    docs.push({
      documentId: 'certificate',
      name: 'Summary',
      type: 'summary',
      uri: `/envelopes/${e.envelopeId}/documents/certificate`,
      order: '999',
      display: 'inline',
      includeInDownload: 'true',
      signerMustAcknowledge: 'no_interaction',
      templateRequired: 'false',
      authoritativeCopy: 'false',
    });
  }
  return { envelopeId: e.envelopeId, envelopeDocuments: docs };
}

/** AuditEvents:list (S23): `auditEvents[].eventFields[{name, value}]`, derived from the envelope's timeline. */
export function auditEventsWire(e: Envelope): Json {
  interface Ev {
    t: number;
    user: string;
    userId: string;
    action: string;
    message: string;
    status: string;
    ip: string;
  }
  const sender = e.sender;
  const evs: Ev[] = [
    {
      t: e.created,
      user: sender.userName,
      userId: sender.userId,
      action: 'Registered',
      message: 'The envelope was created by ' + sender.userName,
      status: 'created',
      ip: sender.ipAddress,
    },
  ];
  const recipients = [...e.signers, ...e.carbonCopies];
  if (e.sent !== undefined) {
    for (const r of recipients.filter((x) => x.sent !== undefined)) {
      evs.push({
        t: r.sent!,
        user: sender.userName,
        userId: sender.userId,
        action: 'Sent Invitations',
        message: `${sender.userName} sent an invitation to ${r.name} [${r.email}]`,
        status: 'sent',
        ip: sender.ipAddress,
      });
    }
  }
  for (const s of e.signers) {
    const ip = `198.51.100.${(parseInt(s.recipientIdGuid.slice(0, 2), 16) % 254) + 1}`;
    if (s.delivered !== undefined) {
      evs.push({
        t: s.delivered,
        user: s.name,
        userId: s.userId,
        action: 'Viewed',
        message: `${s.name} viewed the envelope`,
        status: 'delivered',
        ip,
      });
    }
    if (s.signed !== undefined) {
      evs.push({
        t: s.signed,
        user: s.name,
        userId: s.userId,
        action: 'Signed',
        message: `${s.name} signed the envelope`,
        status: 'delivered',
        ip,
      });
    }
    if (s.declined !== undefined) {
      evs.push({
        t: s.declined,
        user: s.name,
        userId: s.userId,
        action: 'Declined',
        message: `${s.name} declined to sign the envelope. Reason: ${s.declinedReason ?? ''}`,
        status: 'declined',
        ip,
      });
    }
  }
  if (e.voided !== undefined) {
    evs.push({
      t: e.voided,
      user: sender.userName,
      userId: sender.userId,
      action: 'Voided',
      message: `The envelope was voided by ${sender.userName}. Reason: ${e.voidedReason ?? ''}`,
      status: 'voided',
      ip: sender.ipAddress,
    });
  }
  evs.sort((a, b) => a.t - b.t);
  const last = evs.filter((x) => x.action === 'Signed').at(-1);
  if (e.status === 'completed' && last) last.status = 'completed';
  return {
    auditEvents: evs.map((ev) => ({
      eventFields: [
        { name: 'logTime', value: formatTs(ev.t) },
        { name: 'Source', value: ev.userId === sender.userId ? 'API' : 'web' },
        { name: 'UserName', value: ev.user },
        { name: 'UserId', value: ev.userId },
        { name: 'Action', value: ev.action },
        { name: 'Message', value: ev.message },
        { name: 'EnvelopeStatus', value: ev.status },
        { name: 'ClientIPAddress', value: ev.ip },
        { name: 'Information', value: '' },
        { name: 'InformationLocalized', value: '' },
        { name: 'GeoLocation', value: '' },
        { name: 'Language', value: 'english' },
      ],
    })),
  };
}

const capitalised = (flag: boolean): string => (flag ? 'True' : 'False');
const fullName = (u: AccountUser): string => `${u.firstName} ${u.lastName}`.trim();

/**
 * A user in GET /users: flags as "True"/"False". With additional_info=true the list carries full user information
 * (the docs: "full user information is returned for each user"), i.e. what GET /users/{id} answers: login, settings,
 * groups.
 */
export function userWire(account: Account, u: AccountUser, additionalInfo: boolean): Json {
  const profile = account.directory.profile(u.permissionProfileId);
  const base: Json = {
    userName: fullName(u),
    userId: u.userId,
    userType: 'CompanyUser',
    isAdmin: capitalised(u.isAdmin),
    isAlternateAdmin: 'False',
    userStatus: u.userStatus,
    uri: `/users/${u.userId}`,
    email: u.email,
    title: '',
    createdDateTime: formatTs(u.created),
    userAddedToAccountDateTime: formatTs(u.created),
    firstName: u.firstName,
    middleName: '',
    lastName: u.lastName,
    suffixName: '',
    jobTitle: '',
    company: account.accountName,
    permissionProfileId: u.permissionProfileId,
    permissionProfileName: profile?.permissionProfileName,
    isManagedByScim: 'False',
    isMembershipManagedByScim: 'False',
  };
  if (!additionalInfo) return base;
  // Assigned, not spread: a page of full users builds 100 of these, and spreading costs several times more.
  base.lastLogin = u.lastLogin === undefined ? undefined : formatTs(u.lastLogin);
  base.loginStatus = u.lastLogin === undefined ? 'NeverLoggedIn' : 'LoggedIn';
  base.userSettings = userSettingsWire(u);
  base.groupList = groupListWire(account, u);
  base.forgottenPasswordInfo = { forgottenPasswordQuestion1: '', forgottenPasswordQuestion2: '' };
  base.workAddress = { address1: '', city: '', stateOrProvince: '', postalCode: '', country: '', phone: '' };
  base.defaultAccountId = account.accountId;
  base.userProfileLastModifiedDate = formatTs(u.created);
  base.isNAREnabled = 'false';
  base.sendActivationOnInvalidLogin = 'false';
  base.enableConnectForUser = 'false';
  return base;
}

/**
 * A user's groups: here isManagedByScim is a real boolean and lastModifiedOn has no zone; built-in groups are
 * "SystemAccount", custom ones "LocalAccount" (docusign-api.md §10, S16's recorded user).
 */
function groupListWire(account: Account, u: AccountUser): Json[] {
  return account.directory.groupsOf(u.userId).map((g) => ({
    groupId: g.groupId,
    groupName: g.groupName,
    permissionProfileId: g.permissionProfileId,
    groupType: g.groupType,
    lastModifiedOn: formatZoneless(g.lastModified),
    isManagedByScim: false,
    userGroupType: g.groupType === 'customGroup' ? 'LocalAccount' : 'SystemAccount',
  }));
}

const USER_SETTING_NAMES = [
  'canManageAccount',
  'canSendEnvelope',
  'canSendAPIRequests',
  'apiAccountWideAccess',
  'enableVaulting',
  'canManageTemplates',
  'canSignEnvelope',
  'canEditSharedAddressbook',
  'canManageOrganization',
  'canUseScratchpad',
  'canCreateWorkspaces',
  'allowBulkRecipients',
  'allowRecipientLanguageSelection',
  'allowSendOnBehalfOf',
  'allowTransactions',
  'allowPowerFormsAdmin',
  'allowAccessToAllAccountAgreements',
  'allowAutoTagging',
  'allowEnvelopeTransferTo',
  'allowEsealRecipients',
  'allowSupplementalDocuments',
  'apiCanExportAC',
  'bulkSend',
  'canChargeAccount',
  'canLockEnvelopes',
  'canManageDistributor',
  'canUseSmartContracts',
  'disableDocumentUpload',
  'disableOtherActions',
  'enableDSPro',
  'enableSequentialSigningAPI',
  'enableSequentialSigningUI',
  'enableSignerAttachments',
  'enableSignOnPaperOverride',
  'enableTransactionPoint',
  'manageClickwrapsMode',
  'modifiedBy',
  'powerFormMode',
  'recipientViewedNotification',
  'selfSignedRecipientEmailDocument',
  'sendingAllowedForExternalGroups',
  'supplementalDocumentIncludeInDownload',
  'supplementalDocumentsMustAccept',
  'supplementalDocumentsMustRead',
  'supplementalDocumentsMustView',
  'templateActiveCreation',
  'templateApplyNotify',
  'templateAutoMatching',
  'templateMatchingSensitivity',
  'templatePageLevelMatching',
  'timezoneDST',
  'timezoneMask',
  'timezoneOffset',
  'timezoneSendingPref',
  'timezoneSigningPref',
  'transactionPointSiteNameURL',
  'transactionPointUserName',
  'vaultingMode',
  'webForms',
  'expressSendOnly',
];

/**
 * ~60 user settings, every one a lower-case string ("true", "false", enum words). Built by assignment from entries
 * made once: copying a 60-key object with spread or Object.assign costs ~30 times more, on every user of a page.
 */
function userSettingsWire(u: AccountUser): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of u.isAdmin ? ADMIN_SETTINGS : OTHER_SETTINGS) {
    out[name] = name === 'modifiedBy' ? u.email : value;
  }
  return out;
}

function userSettingEntries(admin: string): [string, string][] {
  return USER_SETTING_NAMES.map((name, i) => {
    if (name === 'canManageAccount' || name === 'canManageOrganization' || name === 'apiAccountWideAccess') {
      return [name, admin];
    }
    if (name.startsWith('timezone') || name.endsWith('Mode') || name.endsWith('Name')) return [name, 'none'];
    return [name, String(i % 3 !== 2)];
  });
}
const ADMIN_SETTINGS = userSettingEntries('true');
const OTHER_SETTINGS = userSettingEntries('false');

/** A member in GET /groups/{id}/users: slim, and userType / userStatus lower-case here (docusign-api.md §10). */
export function groupMemberWire(u: AccountUser): Json {
  return {
    userName: fullName(u),
    userId: u.userId,
    email: u.email,
    userType: 'companyuser',
    userStatus: u.userStatus.toLowerCase(),
    uri: `/users/${u.userId}`,
  };
}

export function groupWire(g: Group): Json {
  return {
    groupId: g.groupId,
    groupName: g.groupName,
    groupType: g.groupType,
    permissionProfileId: g.permissionProfileId,
    usersCount: String(g.members.size),
    lastModifiedOn: formatZoneless(g.lastModified),
    isManagedByScim: 'false',
    dsGroupId: g.dsGroupId,
  };
}

/**
 * A permission profile: only ID (a numeric string), name and modification; `settings`, `userCount` and `users` only
 * when `include` asks (docusign-api.md §10). `users` are the profile's users, `admin` the account's first user.
 */
export function profileWire(
  p: PermissionProfile,
  include: readonly string[],
  users: readonly AccountUser[],
  admin: AccountUser | undefined,
): Json {
  return {
    permissionProfileId: p.permissionProfileId,
    permissionProfileName: p.permissionProfileName,
    modifiedDateTime: formatTs(p.modified),
    modifiedByUsername: p.permissionProfileName === 'DocuSign Viewer' || !admin ? '' : fullName(admin),
    ...(include.includes('settings') || include.includes('metadata') ? { settings: { ...p.settings } } : {}),
    ...(include.includes('user_count') ? { userCount: String(users.length) } : {}),
    ...(include.includes('users')
      ? { users: users.map((u) => ({ userId: u.userId, userName: fullName(u), email: u.email })) }
      : {}),
  };
}

/** A signing group; its members (`users`) only with include_users=true. */
export function signingGroupWire(g: SigningGroup, includeUsers: boolean): Json {
  return {
    signingGroupId: g.signingGroupId,
    groupName: g.groupName,
    groupType: 'sharedSigningGroup',
    groupEmail: g.groupEmail,
    created: formatTs(g.created),
    createdBy: g.createdBy,
    modified: formatTs(g.modified),
    modifiedBy: g.createdBy,
    ...(includeUsers ? { users: g.members.map((m) => ({ userName: m.userName, email: m.email })) } : {}),
  };
}

/**
 * EnvelopeTemplates:list (TemplateInformation of TemplateSummary items, S23). An envelope not made from a template
 * answers `{}`: unconfirmed, chosen like GET /signing_groups with none (docusign-api.md §10), so a client must
 * treat a missing `templates` as none.
 */
export function envelopeTemplatesWire(account: Account, e: Envelope): Json {
  const t = account.templates.find((x) => x.templateId === e.templateId);
  if (!t) return {};
  const doc = e.documents[0]!;
  return {
    templates: [
      {
        templateId: t.templateId,
        name: t.name,
        applied: 'true',
        documentId: doc.documentId,
        documentName: doc.name,
        uri: `/templates/${t.templateId}`,
      },
    ],
  };
}

export function accountInfoWire(account: Account, includeSettings: boolean): Json {
  return {
    currentPlanId: account.organizationId,
    planName: 'Business Pro',
    planStartDate: formatTs(account.created),
    accountName: account.accountName,
    accountIdGuid: account.accountId,
    externalAccountId: String(parseInt(account.accountId.slice(0, 7), 16)),
    connectPermission: 'full',
    suspensionStatus: '',
    createdDate: formatTs(account.created),
    isDowngrade: 'false',
    billingProfile: 'web',
    status21CFRPart11: 'not_enabled',
    allowTransactionRooms: 'false',
    accountSettings: includeSettings ? { ...account.settings } : undefined,
  };
}
