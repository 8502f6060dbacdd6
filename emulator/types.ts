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
}

export interface AccountSpec {
  accountId: string;
  accountName: string;
  region: string;
  isDefault?: boolean;
  /** Signing groups generated for the account; default 2 for the user's default account, else 0. Addition. */
  signingGroups?: number;
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

export interface EmulatorStats {
  /** Calls received per endpoint name (see ENDPOINTS), whatever their outcome. */
  calls: Record<string, number>;
  /** Envelope-list pages served with 200 and a well-formed body. */
  pagesServed: number;
  /** Calls received while the hourly or burst budget of their account was exhausted. */
  callsWhileLimited: number;
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
  stop(): Promise<void>;
}
