/** Public types of the DocuSign emulator (see index.ts). */

export interface RateLimitOptions {
  hourlyLimit?: number;
  hourlyWindowSeconds?: number;
  burstLimit?: number;
  burstWindowSeconds?: number;
  status?: 400 | 429;
}

export interface EmulatorOptions {
  /** Default 0 (random). The host is always 127.0.0.1. */
  port?: number;
  /** Seed of all generated data, default 1. */
  seed?: number;
  /** Envelopes generated for each new account, default 200, spread over the last 400 days. */
  envelopes?: number;
  /**
   * Accounts seeded with the same count, days and seed share one generated set (the first account's envelopes: same
   * IDs, senders and template IDs) until one of them changes; that account then gets its own copy. Default false.
   * For scale benchmarks: a million distinct envelopes would measure the emulator's memory, not the connector.
   * Addition.
   */
  shareEnvelopeSets?: boolean;
  /** `expires_in` of issued tokens, default 3600. */
  tokenLifetimeSeconds?: number;
  /** How far `iat` (and `nbf`) may be ahead of the emulator clock, default 30. */
  clockSkewToleranceSeconds?: number;
  /** Cap on `count` for list endpoints, default 100. */
  maxPageSize?: number;
  /** Defaults: hourly 3000 / 3600 s, burst 500 / 30 s, status 400. */
  rateLimit?: RateLimitOptions;
  /** What GET /oauth/auth does, default 'approve'. */
  consentMode?: 'approve' | 'deny';
  /**
   * Per-envelope polling limit (docusign-api.md §4.2): GETs of one envelope resource (the envelope, its recipients,
   * its audit events, its document list, one document) allowed per window; default 10 per 900 s. Addition.
   */
  envelopePollingLimit?: { limit?: number; windowSeconds?: number };
  /**
   * Per-document download limit (docusign-api.md §3.3): downloads of one document (certificate included) started
   * within the last hour / 6 hours; default 10 / 20. `combined` keeps its documented 3 / 5. Addition.
   */
  documentDownloadLimit?: { perHour?: number; perSixHours?: number };
}

export interface AccountSpec {
  accountId: string;
  accountName: string;
  region: string;
  isDefault?: boolean;
  /** Signing groups generated for the account; default 2 for the user's default account, else 0. Addition. */
  signingGroups?: number;
}

/** The user statuses of GET /users (docusign-api.md §6). */
export type UserStatus = 'ActivationRequired' | 'ActivationSent' | 'Active' | 'Closed' | 'Disabled';

/**
 * Size of an account's generated directory (seedDirectory); every field optional. Defaults are the small account
 * every new account gets: 12 users, 5 groups, 3 profiles.
 */
export interface DirectorySize {
  /** Generated users; the account's impersonated users (addUser) come on top. */
  users?: number;
  /** Groups, counting the built-in Administrators and Everyone (at least 2). */
  groups?: number;
  /**
   * Mean member count of the custom groups, default 30 % of users. Sizes are exponentially spread (scaled to this
   * mean), so some groups need more than one 100-member page.
   */
  groupMembers?: number;
  /** Permission profiles, counting Account Administrator, DocuSign Sender and DocuSign Viewer (at least 3). */
  profiles?: number;
  /** Signing groups; default as many as the account has now. */
  signingGroups?: number;
}

/** A user added to one account's user list (not an OAuth user: see UserSpec). */
export interface AccountUserSpec {
  /** Default: a new GUID. */
  userId?: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  /** Default Active. */
  status?: UserStatus;
  /** Permission profile ID or name; default DocuSign Sender, or Account Administrator with isAdmin. */
  profile?: string;
  isAdmin?: boolean;
  /** Groups besides Everyone (and Administrators for an administrator). */
  groupIds?: string[];
  /** Epoch ms; default never logged in. */
  lastLogin?: number;
}

export interface SigningGroupMemberSpec {
  userName: string;
  email: string;
}

/** An envelope created by addEnvelope; every event happens at the emulator's now. */
export interface EnvelopeSpec {
  /** Default completed. */
  status?: 'created' | 'sent' | 'delivered' | 'completed' | 'declined' | 'voided';
  /** emailSubject; default from the template's name, else generated. */
  subject?: string;
  /** The template it is created from; a template ID the account does not have yet is added (name default "Template"). */
  template?: { templateId: string; name?: string };
}

/**
 * What a full refresh of the access-review endpoints returns, exactly as served (ground truth for snapshot tests):
 * GET /users?additional_info=true (every status), GET /groups and each GET /groups/{id}/users, GET
 * /permission_profiles?include=settings, GET /signing_groups?include_users=true (the `groups`, [] when none),
 * GET /settings and GET /settings/password_rules.
 */
export interface DirectoryTruth {
  users: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  /** groupId → members in list order. */
  groupMembers: Record<string, Record<string, unknown>[]>;
  permissionProfiles: Record<string, unknown>[];
  signingGroups: Record<string, unknown>[];
  settings: Record<string, unknown>;
  passwordRules: Record<string, string>;
}

/** An account template and the envelopes created from it. */
export interface TemplateTruth {
  templateId: string;
  name: string;
  envelopeIds: string[];
}

export interface UserSpec {
  userId: string;
  name?: string;
  email?: string;
  accounts?: AccountSpec[];
}

export interface AccountSummary {
  accountId: string;
  accountName: string;
  baseUri: string;
  isDefault: boolean;
}

/** An envelope exactly as the emulator serves it with include=recipients. */
export interface EnvelopeLike {
  envelopeId: string;
  status: string;
  emailSubject: string;
  createdDateTime: string;
  statusChangedDateTime: string;
  lastModifiedDateTime: string;
  sentDateTime?: string;
  completedDateTime?: string;
  recipients?: {
    signers: Record<string, unknown>[];
    carbonCopies: Record<string, unknown>[];
    recipientCount: string;
    currentRoutingOrder: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface EmulatorFaults {
  /** The next n REST/OAuth calls fail with `status` (default 503) and a DocuSign-style body. */
  failNext(n: number, status?: number): void;
  /** Delay every REST/OAuth response by ms. */
  latencyMs(ms: number): void;
  /** The next envelope-list page is invalid JSON. */
  malformedNext(): void;
  /** The next envelope-list page is valid JSON of the wrong shape (envelopes[0].envelopeId = 42). */
  invalidShapeNext(): void;
  /**
   * The next envelope-list page holding this envelope (any envelope without an ID) serves it without its
   * statusChangedDateTime; the page itself stays valid. Addition.
   */
  badEnvelopeNext(envelopeId?: string): void;
  /** While on, envelope-list pages carry only the counts, no nextUri / previousUri (as real member lists). Addition. */
  omitNextUri(on: boolean): void;
  /** While on, envelope-list items carry statusChangedDateTime with 3 digits and no zone, UTC (§10). Addition. */
  zonelessTimes(on: boolean): void;
  /**
   * The next `times` (default 1) GETs of this envelope's certificate answer as for an envelope without one (400
   * DOCUMENT_DOES_NOT_EXIST): proof not available yet. Addition.
   */
  certificateUnavailable(envelopeId: string, times?: number): void;
  /** The next REST/OAuth call never gets a response. */
  hangNext(): void;
  /** Every token issued so far now gets 401. */
  revokeTokens(): void;
  /** After the next envelope-list page is served, mutate k envelopes of that account. */
  mutateBetweenPages(k: number): void;
  /** Once `pages` more envelope-list pages were served, the next REST/OAuth call fails with `status` (default 503). */
  failAfterPages(pages: number, status?: number): void;
  exhaustHourly(): void;
  exhaustBurst(): void;
  clear(): void;
}

/** The envelope events the emulator sends over Connect (docusign-api.md §5): one per status it can reach. */
export type ConnectEventName =
  'envelope-sent' | 'envelope-delivered' | 'envelope-completed' | 'envelope-declined' | 'envelope-voided';

/** A Connect configuration (docusign-api.md §5, JSON SIM); see connect.ts. Addition (issue 16). */
export interface ConnectConfig {
  /** The listener, http: or https:. */
  url: string;
  /** One X-DocuSign-Signature-i header per key, i from 1; [] sends none. */
  hmacKeys: string[];
  /** data.envelopeSummary: the envelope as the envelope list serves it with recipients; default true. */
  includeData?: boolean;
  /** Events sent; default every ConnectEventName. */
  events?: ConnectEventName[];
  /**
   * Attempts per event, the first included (default 3); delaysMs[i] is waited before retry i + 1, the last delay
   * repeating (default [100, 200]).
   */
  retry?: { attempts?: number; delaysMs?: number[] };
  /** An attempt with no response status after this long fails as `timeout`; default 5000. */
  timeoutMs?: number;
}

/** An event given up after its last attempt, as GET /connect/failures would list it (loosely). Addition. */
export interface ConnectFailure {
  failureId: string;
  configurationId: number;
  configUrl: string;
  accountId: string;
  envelopeId: string;
  event: ConnectEventName;
  /** Why the last attempt failed: `HTTP <status>`, a socket error code (e.g. ECONNREFUSED) or `timeout`. */
  error: string;
  /** retryCount of the last attempt. */
  retryCount: number;
  /** The event's generatedDateTime. */
  created: string;
  lastTry: string;
}

export interface EmulatorStats {
  /** Calls received per endpoint name (see ENDPOINTS), whatever their outcome. */
  calls: Record<string, number>;
  /** Envelope-list pages served with 200 and a well-formed body. */
  pagesServed: number;
  /** Calls received while the hourly or burst budget of their account was exhausted. */
  callsWhileLimited: number;
  /** X-RateLimit-Remaining of every REST response, in order, per account ID (lower case). Addition. */
  hourlyRemaining: Record<string, number[]>;
  /** Documents served (200) per envelope ID, the certificate included. Addition. */
  documentsDownloaded: Record<string, number>;
  /** Downloads refused with API_REQUEST_IS_THROTTLED (docusign-api.md §3.3). Addition. */
  throttled: number;
  /** Envelope GETs refused with Hourly_Envelope_Polling_Limit_Exceeded (docusign-api.md §4.2). Addition. */
  pollingLimited: number;
  /**
   * Connect events (addition): sent = first attempts, retried = later attempts, delivered = answered 2xx, failed =
   * given up after the last attempt.
   */
  connect: { sent: number; delivered: number; retried: number; failed: number };
  tokensIssued: string[];
  assertionsReceived: string[];
  reset(): void;
}

export interface Emulator {
  /** e.g. http://127.0.0.1:4010 — the OAuth base URL. */
  url: string;
  /** e.g. 127.0.0.1:4010 — the JWT `aud` the emulator requires. */
  host: string;
  registerApp(integrationKey: string, publicKeyPem: string): void;
  removeAppKey(integrationKey: string): void;
  addUser(user: UserSpec): void;
  grantConsent(integrationKey: string, userId: string): void;
  revokeConsent(integrationKey: string, userId: string): void;
  accountsOf(userId: string): AccountSummary[];
  moveAccount(accountId: string, region: string): void;
  /**
   * Addition: userinfo names `baseUri` (any URL, e.g. a foreign host) as the account's base_uri; undefined restores the
   * emulator's own. REST calls still need the emulator's URL.
   */
  setBaseUri(accountId: string, baseUri: string | undefined): void;
  envelopes(accountId: string): EnvelopeLike[];
  seedEnvelopes(accountId: string, count: number, opts?: { seed?: number; days?: number }): void;
  /**
   * Moves k envelopes one step (created → sent, sent → delivered, delivered → completed or declined) with
   * statusChangedDateTime = emulator now; returns their IDs. If fewer than k envelopes are open, the rest are new
   * envelopes sent now.
   */
  mutate(accountId: string, k: number): string[];
  setClock(offsetSeconds: number): void;
  /** Emulator clock in epoch ms (real clock + offset). Addition. */
  now(): number;
  faults: EmulatorFaults;
  stats: EmulatorStats;
  setRateLimit(r: EmulatorOptions['rateLimit']): void;
  setTokenLifetime(seconds: number): void;
  setConsentMode(mode: 'approve' | 'deny'): void;
  /** Addition: change the per-envelope polling limit (resets its counters). */
  setEnvelopePollingLimit(limit?: number, windowSeconds?: number): void;
  /** Addition: change the per-document download limit (resets its counters). */
  setDocumentDownloadLimit(perHour?: number, perSixHours?: number): void;

  // Access review (issue 12). Every change shows at once, consistently, on every endpoint. Additions.
  /** Replaces the account's users, groups, profiles and signing groups with a generated directory of this size. */
  seedDirectory(accountId: string, size: DirectorySize): void;
  /** Ground truth of the access-review endpoints. */
  directory(accountId: string): DirectoryTruth;
  /** Adds a user to the account's user list; returns its userId. */
  addAccountUser(accountId: string, spec?: AccountUserSpec): string;
  /** userStatus Closed; the user stays listed (what DocuSign's own user deletion does, S16). */
  closeUser(accountId: string, userId: string): void;
  /** Gone from every list: users, group members, profile users, signing groups holding its email. */
  removeUser(accountId: string, userId: string): void;
  setUserStatus(accountId: string, userId: string, status: UserStatus): void;
  /** Epoch ms; undefined = never logged in. */
  setLastLogin(accountId: string, userId: string, at: number | undefined): void;
  /** Promote: isAdmin, Account Administrator profile, Administrators group. Demote: DocuSign Sender, out of it. */
  setAdmin(accountId: string, userId: string, isAdmin: boolean): void;
  /** Profile ID or name; isAdmin and the Administrators group follow the profile's canManageAccount. */
  setUserProfile(accountId: string, userId: string, profile: string): void;
  /** A custom group; returns its groupId. */
  createGroup(accountId: string, spec: { groupName: string; permissionProfileId?: string }): string;
  /** Custom groups only. */
  deleteGroup(accountId: string, groupId: string): void;
  addGroupMember(accountId: string, groupId: string, userId: string): void;
  removeGroupMember(accountId: string, groupId: string, userId: string): void;
  /** Merges into the profile's settings (profile ID or name); its modifiedDateTime becomes now. */
  setProfileSettings(accountId: string, profile: string, settings: Record<string, string>): void;
  /** Merges into GET /settings, e.g. { sessionTimeout: '30' }. */
  setAccountSettings(accountId: string, settings: Record<string, unknown>): void;
  /** Merges into GET /settings/password_rules, e.g. { minimumPasswordLength: '14' }. */
  setPasswordRules(accountId: string, rules: Record<string, string>): void;
  /** Returns the signingGroupId. */
  addSigningGroup(accountId: string, spec: { groupName: string; members?: SigningGroupMemberSpec[] }): string;
  removeSigningGroup(accountId: string, signingGroupId: string): void;
  addSigningGroupMember(accountId: string, signingGroupId: string, member: SigningGroupMemberSpec): void;
  removeSigningGroupMember(accountId: string, signingGroupId: string, email: string): void;

  // Signed proof (issue 13). Additions.
  /** Adds an envelope (default completed) at the emulator's now; returns it as envelopes() would. */
  addEnvelope(accountId: string, spec?: EnvelopeSpec): EnvelopeLike;
  /** The account's templates with the envelopes created from each. */
  templates(accountId: string): TemplateTruth[];

  // Connect (issue 16). Additions.
  /**
   * Turns Connect on, replacing any configuration, and returns its configurationId. From now on every envelope
   * created (except as a draft) or changing status by addEnvelope or mutate is POSTed, in order, to config.url; seeded
   * envelopes send nothing. Events already queued keep the configuration they were queued under.
   */
  setConnect(config: ConnectConfig): number;
  /** Turns Connect off; queued events are still delivered. */
  clearConnect(): void;
  /** Events given up so far, oldest first. */
  connectFailures(): ConnectFailure[];
  /** Resolves once every queued event is delivered or failed, events queued meanwhile included. */
  connectSettled(): Promise<void>;
  stop(): Promise<void>;
}
