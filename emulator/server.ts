/**
 * The DocuSign emulator's HTTP server: OAuth (JWT Grant, consent, userinfo), the eSignature REST endpoints the
 * connector reads, rate limits, faults and statistics. Written from ../shared/docs/docusign-api.md only; it shares
 * no code with the connector's DocuSign client.
 *
 * Routes
 *   POST /oauth/token                   JWT Grant (oauth.ts has the checks and their errors)
 *   GET  /oauth/auth                    consent; 302 to redirect_uri with code+state, or error=access_denied
 *   GET  /oauth/userinfo                §2 shape; base_uri = `${url}/${region}` (or the setBaseUri override)
 *   GET  /{region}/restapi/v2.1/accounts/{accountId}[...]   REST (below)
 *   /__admin/...                        control API (admin.ts)
 *
 * REST request pipeline, in order:
 *   1. stats.calls[endpoint] += 1
 *   2. faults: hangNext (no answer), failNext (injected status; rate headers sent but no budget used)
 *   3. account budgets: exhausted → HOURLY_/BURST_APIINVOCATION_LIMIT_EXCEEDED (configured status), counted in
 *      stats.callsWhileLimited; otherwise one call is taken from both budgets
 *   4. bearer token: missing, unknown, expired or revoked → 401 USER_AUTHENTICATION_FAILED
 *   5. account membership: the token's user is not a member (or no such account) → 400 USER_LACKS_MEMBERSHIP
 *   6. region: the account lives in another region (moveAccount, stale base URI, or no region prefix)
 *      → 400 PARTNER_AUTHENTICATION_FAILED "…Invalid account specified for user." (see errors.ts for why)
 *   7. the endpoint. Every REST response, errors included, carries X-RateLimit-*, X-BurstLimit-* and
 *      X-DocuSign-TraceToken.
 *
 * Envelope list choices where the docs are silent:
 *   - `status` absent → every status, drafts included; `status=any` → every status except `created` (the quirk in
 *     docusign-api.md §3.1); `status=any,created` → everything.
 *   - default `order_by=last_modified`, `order=desc`; ties broken by envelopeId.
 *   - `count` default and cap = maxPageSize; `count` < 1 or not an integer → 400 INVALID_REQUEST_PARAMETER.
 *   - from_date and to_date are inclusive; to_date defaults to now (emulator clock).
 *   - last page: `nextUri: ""`; first page: `previousUri: ""`; an empty result has endPosition = startPosition - 1.
 *   - faults can serve pages without nextUri/previousUri (as real member lists are), one envelope without its
 *     statusChangedDateTime, or statusChangedDateTime without a zone (docusign-api.md §10).
 *   - transaction_ids never match (generated envelopes have no transaction IDs).
 *   - The list carries no template information (none of its `include` values gives it, docusign-api.md §3.1): a
 *     client learns an envelope's template from GET /envelopes/{id}/templates (EnvelopeTemplates:list, S23), which
 *     answers {"templates":[{templateId, name, applied, documentId, documentName, uri}]}, or {} for an envelope not
 *     made from a template (unconfirmed; chosen like GET /signing_groups with none, §10).
 *
 * Access-review lists (docusign-api.md §6, §10):
 *   - GET /users, /groups, /groups/{id}/users, /signing_groups: `count` default and cap = min(maxPageSize, 100) (the
 *     documented 1–100; DocuSign caps v2.1 user lists at 100), string counts; member and signing-group lists carry
 *     no nextUri. GET /permission_profiles is not paged.
 *   - GET /users without `status` lists every status: a recorded real call with only count and start_position
 *     returned Closed users (S16 tests/list-users.test.json). `status` is a comma list of ActivationRequired,
 *     ActivationSent, Active, Closed, Disabled (any case); another value → 400 INVALID_REQUEST_PARAMETER.
 *     `additional_info=true` gives full user information per user, i.e. GET /users/{id}'s shape.
 *   - GET /signing_groups: members (`users`) only with include_users=true; {} when the account has none (§10).
 *
 * Envelope documents (docusign-api.md §3.2–3.3, §4.2):
 *   - every GET of an envelope resource first counts against the per-envelope polling limit
 *     (Hourly_Envelope_Polling_Limit_Exceeded, stats.pollingLimited); a document download then against its
 *     per-document limit (API_REQUEST_IS_THROTTLED, stats.throttled); a served one is counted in
 *     stats.documentsDownloaded.
 *   - the certificate of completion exists only for completed envelopes. For any other status the docs say nothing;
 *     the emulator answers as for a document the envelope does not have (400 DOCUMENT_DOES_NOT_EXIST), the same
 *     answer faults.certificateUnavailable gives. It is a pure function of the envelope, so byte-identical across
 *     calls.
 */
import { type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectSender } from './connect';
import {
  type Account,
  type Envelope,
  EnvelopeStore,
  FILTER_STATUSES,
  type Template,
  addMember,
  advanceEnvelope,
  createAccount,
  generateEnvelopes,
  newSentEnvelope,
  scriptedEnvelope,
} from './data';
import {
  type AccountUser,
  type Directory,
  type PermissionProfile,
  USER_STATUSES,
  generateDirectory,
} from './directory';
import {
  DOCUMENT_DOES_NOT_EXIST,
  DOCUMENT_THROTTLED,
  ENVELOPE_DOES_NOT_EXIST,
  ENVELOPE_POLLING_LIMIT,
  MISSING_FROM_DATE,
  NOT_FOUND_IN_ACCOUNT,
  RESOURCE_NOT_FOUND,
  type RestError,
  USER_AUTHENTICATION_FAILED,
  USER_LACKS_MEMBERSHIP,
  WRONG_BASE_URI,
  burstLimitExceeded,
  hourlyLimitExceeded,
  injectedFailure,
  invalidParameter,
} from './errors';
import { checkGrant, importRsaPublicKey } from './oauth';
import { buildPdf } from './pdf';
import { Rng, stableGuid } from './prng';
import { DownloadLimiter, PollingLimiter, RateLimiter } from './ratelimit';
import { formatTs, formatZoneless, parseDateParam } from './time';
import type {
  AccountSpec,
  AccountSummary,
  AccountUserSpec,
  ConnectConfig,
  ConnectFailure,
  DirectorySize,
  DirectoryTruth,
  Emulator,
  EmulatorFaults,
  EmulatorOptions,
  EmulatorStats,
  EnvelopeLike,
  EnvelopeSpec,
  SigningGroupMemberSpec,
  TemplateTruth,
  UserSpec,
  UserStatus,
} from './types';
import {
  accountInfoWire,
  auditEventsWire,
  documentsWire,
  envelopeJson,
  envelopeJsonBuffer,
  envelopeTemplatesWire,
  envelopeWire,
  groupMemberWire,
  groupWire,
  profileWire,
  recipientsWire,
  signingGroupWire,
  userWire,
} from './wire';

/** Endpoint names used as keys of stats.calls. */
export const ENDPOINTS = {
  token: 'POST /oauth/token',
  auth: 'GET /oauth/auth',
  userinfo: 'GET /oauth/userinfo',
  account: 'GET account',
  envelopes: 'GET envelopes',
  envelope: 'GET envelope',
  recipients: 'GET recipients',
  auditEvents: 'GET audit_events',
  documents: 'GET documents',
  document: 'GET document',
  certificate: 'GET certificate',
  envelopeTemplates: 'GET envelope templates',
  users: 'GET users',
  user: 'GET user',
  groups: 'GET groups',
  groupUsers: 'GET group users',
  permissionProfiles: 'GET permission_profiles',
  permissionProfile: 'GET permission_profile',
  signingGroups: 'GET signing_groups',
  settings: 'GET settings',
  passwordRules: 'GET password_rules',
  otherRest: 'REST other',
  other: 'other',
} as const;

const JSON_TYPE = 'application/json; charset=utf-8';
/** The documented `count` range of the user and group lists is 1–100 (docusign-api.md §6). */
const DIRECTORY_PAGE_CAP = 100;
const COMMA = Buffer.from(',');
const CLOSE_LIST = Buffer.from(']}');
const SCOPES_ALL = 'all' as const;
const ORDER_BY = [
  'last_modified',
  'action_required',
  'created',
  'completed',
  'envelope_name',
  'expire',
  'sent',
  'signer_list',
  'status',
  'subject',
  'user_name',
  'status_changed',
] as const;
const FROM_TO_STATUS = [
  'changed',
  'created',
  'sent',
  'delivered',
  'signed',
  'completed',
  'declined',
  'voided',
  'deleted',
  'timedout',
  'processing',
] as const;

interface UserRecord {
  userId: string;
  name: string;
  email: string;
  created: number;
  accounts: { accountId: string; isDefault: boolean }[];
}

interface TokenRecord {
  userId: string;
  integrationKey: string;
  expiresAt: number;
  revoked: boolean;
}

interface AppRecord {
  integrationKey: string;
  key?: KeyObject;
}

interface RestRoute {
  name: string;
  region: string | undefined;
  accountId: string;
  /** Path segments after /accounts/{accountId}. */
  rest: string[];
}

type Body = string | Buffer;

const lc = (s: string): string => s.toLowerCase();

export class EmulatorServer implements Emulator {
  url = '';
  host = '';
  private readonly server: Server;
  private readonly seed: number;
  private readonly envelopesPerAccount: number;
  private readonly tolerance: number;
  private readonly maxPageSize: number;
  private readonly directoryPageSize: number;
  private tokenLifetime: number;
  private consentMode: 'approve' | 'deny';
  private clockOffsetMs = 0;

  private readonly apps = new Map<string, AppRecord>();
  private readonly users = new Map<string, UserRecord>();
  private readonly accounts = new Map<string, Account>();
  /** opts.shareEnvelopeSets: generated sets by (count, days, seed), and the set of them to copy on write. */
  private readonly sharedSets?: Map<string, EnvelopeStore>;
  private readonly consents = new Map<string, Set<string> | typeof SCOPES_ALL>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly rate = new RateLimiter();
  private readonly polling = new PollingLimiter();
  private readonly downloads = new DownloadLimiter();
  /** faults.certificateUnavailable: envelope ID (lower case) → certificate GETs still to refuse. */
  private readonly certificateFaults = new Map<string, number>();
  private readonly hung = new Set<ServerResponse>();
  /** setBaseUri: what userinfo answers as an account's base_uri instead of the emulator's own region URL. */
  private readonly baseUriOverrides = new Map<string, string>();

  private fault = { ...NO_FAULTS };

  readonly stats: EmulatorStats;
  readonly faults: EmulatorFaults;
  private readonly connect: ConnectSender;

  /** Set by admin.ts; handles /__admin requests. */
  adminHandler: ((req: IncomingMessage, res: ServerResponse, url: URL, body: string) => Promise<void>) | undefined;

  constructor(opts: EmulatorOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.envelopesPerAccount = opts.envelopes ?? 200;
    if (opts.shareEnvelopeSets) this.sharedSets = new Map();
    this.tolerance = opts.clockSkewToleranceSeconds ?? 30;
    this.maxPageSize = opts.maxPageSize ?? 100;
    this.directoryPageSize = Math.min(this.maxPageSize, DIRECTORY_PAGE_CAP);
    this.tokenLifetime = opts.tokenLifetimeSeconds ?? 3600;
    this.consentMode = opts.consentMode ?? 'approve';
    this.rate.setConfig(opts.rateLimit);
    this.polling.set(opts.envelopePollingLimit?.limit, opts.envelopePollingLimit?.windowSeconds);
    this.downloads.set(opts.documentDownloadLimit?.perHour, opts.documentDownloadLimit?.perSixHours);

    const stats: EmulatorStats = {
      calls: {},
      pagesServed: 0,
      callsWhileLimited: 0,
      hourlyRemaining: {},
      documentsDownloaded: {},
      throttled: 0,
      pollingLimited: 0,
      connect: { sent: 0, delivered: 0, retried: 0, failed: 0 },
      tokensIssued: [],
      assertionsReceived: [],
      reset: () => {
        for (const k of Object.keys(stats.calls)) delete stats.calls[k];
        for (const k of Object.keys(stats.documentsDownloaded)) delete stats.documentsDownloaded[k];
        for (const k of Object.keys(stats.hourlyRemaining)) delete stats.hourlyRemaining[k];
        stats.pagesServed = 0;
        stats.callsWhileLimited = 0;
        stats.throttled = 0;
        stats.pollingLimited = 0;
        Object.assign(stats.connect, { sent: 0, delivered: 0, retried: 0, failed: 0 });
        stats.tokensIssued.length = 0;
        stats.assertionsReceived.length = 0;
      },
    };
    this.stats = stats;
    this.connect = new ConnectSender(stats.connect, () => this.now());

    const f = this.fault;
    this.faults = {
      failNext: (n, status = 503) => {
        f.failRemaining = Math.max(0, Math.floor(n));
        f.failStatus = status;
      },
      latencyMs: (ms) => {
        f.latencyMs = Math.max(0, ms);
      },
      malformedNext: () => {
        f.malformed = true;
      },
      invalidShapeNext: () => {
        f.invalidShape = true;
      },
      badEnvelopeNext: (envelopeId) => {
        f.badEnvelope = { envelopeId: envelopeId === undefined ? undefined : lc(envelopeId) };
      },
      omitNextUri: (on) => {
        f.omitNextUri = on;
      },
      zonelessTimes: (on) => {
        f.zonelessTimes = on;
      },
      certificateUnavailable: (envelopeId, times = 1) => {
        this.certificateFaults.set(lc(envelopeId), Math.max(0, Math.floor(times)));
      },
      hangNext: () => {
        f.hang = true;
      },
      revokeTokens: () => {
        for (const t of this.tokens.values()) t.revoked = true;
      },
      mutateBetweenPages: (k) => {
        f.mutateBetweenPages = Math.max(0, Math.floor(k));
      },
      failAfterPages: (pages, status = 503) => {
        f.failAfterPages = Math.max(0, Math.floor(pages));
        f.failAfterPagesStatus = status;
      },
      exhaustHourly: () => this.rate.exhaustHourly(this.nowSeconds()),
      exhaustBurst: () => this.rate.exhaustBurst(this.nowSeconds()),
      clear: () => {
        Object.assign(f, NO_FAULTS);
        this.certificateFaults.clear();
        this.rate.clearForced();
        this.releaseHung();
      },
    };

    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'Content-Type': JSON_TYPE });
          res.end(JSON.stringify({ errorCode: 'INTERNAL_SERVER_ERROR', message: String(err) }));
        } else res.destroy();
      });
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.host = `127.0.0.1:${addr.port}`;
    this.url = `http://${this.host}`;
  }

  async stop(): Promise<void> {
    this.connect.stop();
    this.releaseHung();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private releaseHung(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Clock.

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  setClock(offsetSeconds: number): void {
    this.clockOffsetMs = offsetSeconds * 1000;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Control.

  registerApp(integrationKey: string, publicKeyPem: string): void {
    this.apps.set(lc(integrationKey), { integrationKey, key: importRsaPublicKey(publicKeyPem) });
  }

  removeAppKey(integrationKey: string): void {
    const app = this.apps.get(lc(integrationKey));
    if (app) delete app.key;
  }

  /** Integration keys known to the emulator (for admin/info). */
  appKeys(): { integrationKey: string; hasKey: boolean }[] {
    return [...this.apps.values()].map((a) => ({ integrationKey: a.integrationKey, hasKey: a.key !== undefined }));
  }

  userIds(): string[] {
    return [...this.users.values()].map((u) => u.userId);
  }

  addUser(user: UserSpec): void {
    if (!user.userId) throw new Error('addUser: userId is required');
    const rng = new Rng(`${this.seed}:user:${lc(user.userId)}`);
    const first = rng.pick(['Morgan', 'Riley', 'Casey', 'Jordan', 'Avery', 'Quinn', 'Taylor', 'Drew']);
    const last = rng.pick(['Admin', 'Compliance', 'Operations', 'Security', 'Integration']);
    const name = user.name ?? `${first} ${last}`;
    const email = user.email ?? `${name.replace(/\s+/g, '.')}@example.com`.toLowerCase();
    const specs: AccountSpec[] = user.accounts ?? [
      {
        accountId: stableGuid(this.seed, `account:${lc(user.userId)}:0`),
        accountName: `${rng.pick(['Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware'])} Holdings`,
        region: 'na3',
        isDefault: true,
      },
      {
        accountId: stableGuid(this.seed, `account:${lc(user.userId)}:1`),
        accountName: `${rng.pick(['Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware'])} Europe`,
        region: 'eu',
        isDefault: false,
      },
    ];
    const defaultIndex = Math.max(
      0,
      specs.findIndex((a) => a.isDefault === true),
    );
    const now = this.now();
    for (const [i, spec] of specs.entries()) {
      validateRegion(spec.region);
      let account = this.accounts.get(lc(spec.accountId));
      if (!account) {
        // Like many real accounts, the user's other accounts have no signing groups (GET /signing_groups → {}).
        const signingGroups = spec.signingGroups ?? (i === defaultIndex ? 2 : 0);
        account = createAccount(this.seed, { ...spec, signingGroups }, now);
        this.accounts.set(lc(spec.accountId), account);
        this.seedEnvelopes(spec.accountId, this.envelopesPerAccount);
      }
      addMember(account, { userId: user.userId, name, email }, now);
    }
    this.users.set(lc(user.userId), {
      userId: user.userId,
      name,
      email,
      created: now - rng.int(30, 2000) * 86_400_000,
      accounts: specs.map((a, i) => ({
        accountId: this.accounts.get(lc(a.accountId))!.accountId,
        isDefault: i === defaultIndex,
      })),
    });
  }

  grantConsent(integrationKey: string, userId: string): void {
    this.consents.set(consentKey(integrationKey, userId), SCOPES_ALL);
  }

  revokeConsent(integrationKey: string, userId: string): void {
    this.consents.delete(consentKey(integrationKey, userId));
  }

  private grantScopes(integrationKey: string, userId: string, scopes: string[]): void {
    const key = consentKey(integrationKey, userId);
    const existing = this.consents.get(key);
    if (existing === SCOPES_ALL) return;
    const set = existing ?? new Set<string>();
    for (const s of scopes) set.add(s);
    this.consents.set(key, set);
  }

  private user(userId: string): UserRecord {
    const u = this.users.get(lc(userId));
    if (!u) throw new Error(`unknown user ${userId}`);
    return u;
  }

  private account(accountId: string): Account {
    const a = this.accounts.get(lc(accountId));
    if (!a) throw new Error(`unknown account ${accountId}`);
    return a;
  }

  private baseUri(account: Account): string {
    return this.baseUriOverrides.get(lc(account.accountId)) ?? `${this.url}/${account.region}`;
  }

  setBaseUri(accountId: string, baseUri: string | undefined): void {
    const key = lc(this.account(accountId).accountId);
    if (baseUri === undefined) this.baseUriOverrides.delete(key);
    else this.baseUriOverrides.set(key, baseUri);
  }

  accountsOf(userId: string): AccountSummary[] {
    return this.user(userId).accounts.map((m) => {
      const a = this.account(m.accountId);
      return { accountId: a.accountId, accountName: a.accountName, baseUri: this.baseUri(a), isDefault: m.isDefault };
    });
  }

  moveAccount(accountId: string, region: string): void {
    validateRegion(region);
    this.account(accountId).region = region;
  }

  envelopes(accountId: string): EnvelopeLike[] {
    return this.account(accountId)
      .envelopes.all()
      .map((e) => JSON.parse(envelopeJson(e, true)) as EnvelopeLike);
  }

  /**
   * How many of the account's envelopes have each status: the ground truth's size without its JSON (which, for a few
   * hundred thousand envelopes, is longer than a JS string may be).
   */
  envelopeStatusCounts(accountId: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.account(accountId).envelopes.all()) counts[e.status] = (counts[e.status] ?? 0) + 1;
    return counts;
  }

  seedEnvelopes(accountId: string, count: number, opts: { seed?: number; days?: number } = {}): void {
    const account = this.account(accountId);
    const generate = { count, days: opts.days ?? 400, now: this.now(), seed: opts.seed ?? this.seed };
    const key = `${generate.count}|${generate.days}|${generate.seed}`;
    const shared = this.sharedSets?.get(key);
    if (shared) {
      account.envelopes = shared;
      return;
    }
    account.envelopes = new EnvelopeStore();
    account.envelopes.replaceAll(generateEnvelopes(account, generate));
    this.sharedSets?.set(key, account.envelopes);
  }

  /** The account's envelopes, copied first if it shares a generated set with other accounts (shareEnvelopeSets). */
  private ownEnvelopes(account: Account): EnvelopeStore {
    if (this.sharedSets && [...this.sharedSets.values()].includes(account.envelopes)) {
      const own = new EnvelopeStore();
      own.replaceAll(account.envelopes.all().map((e) => structuredClone({ ...e, cache: {} })));
      account.envelopes = own;
    }
    return account.envelopes;
  }

  mutate(accountId: string, k: number): string[] {
    const account = this.account(accountId);
    const t = this.now();
    const rng = account.mutationRng;
    const envelopes = this.ownEnvelopes(account);
    const open = envelopes
      .all()
      .filter((e) => e.status === 'created' || e.status === 'sent' || e.status === 'delivered');
    const ids: string[] = [];
    const n = Math.min(Math.max(0, Math.floor(k)), open.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rng.next() * (open.length - i));
      const e = open[j]!;
      open[j] = open[i]!;
      open[i] = e;
      const before = e.status;
      envelopes.update(e, (x) => advanceEnvelope(x, t, rng));
      if (e.status !== before) this.connect.changed(e);
      ids.push(e.envelopeId);
    }
    // Too few open envelopes: the rest of the changes are new envelopes, sent now.
    for (let i = n; i < k; i++) {
      const e = newSentEnvelope(account, rng, t);
      envelopes.add(e);
      this.connect.changed(e);
      ids.push(e.envelopeId);
    }
    return ids;
  }

  setRateLimit(r: EmulatorOptions['rateLimit']): void {
    this.rate.setConfig(r);
  }

  setTokenLifetime(seconds: number): void {
    this.tokenLifetime = seconds;
  }

  setConsentMode(mode: 'approve' | 'deny'): void {
    this.consentMode = mode;
  }

  setEnvelopePollingLimit(limit?: number, windowSeconds?: number): void {
    this.polling.set(limit, windowSeconds);
  }

  setDocumentDownloadLimit(perHour?: number, perSixHours?: number): void {
    this.downloads.set(perHour, perSixHours);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Access review: the account's directory (directory.ts does the bookkeeping).

  private dir(accountId: string): Directory {
    return this.account(accountId).directory;
  }

  seedDirectory(accountId: string, size: DirectorySize): void {
    const account = this.account(accountId);
    const now = this.now();
    account.directory = generateDirectory(
      this.seed,
      account.accountId,
      { created: account.created, now },
      { ...size, signingGroups: size.signingGroups ?? account.directory.signingGroups.length },
    );
    // The account's real (impersonated) members stay members.
    for (const u of this.users.values()) {
      if (u.accounts.some((m) => m.accountId === account.accountId)) addMember(account, u, now);
    }
  }

  directory(accountId: string): DirectoryTruth {
    const account = this.account(accountId);
    const dir = account.directory;
    const truth: DirectoryTruth = {
      users: dir.users.map((u) => userWire(account, u, true)),
      groups: dir.groups.map(groupWire),
      groupMembers: Object.fromEntries(
        dir.groups.map((g) => [g.groupId, [...g.members].map((id) => groupMemberWire(dir.user(id)!))]),
      ),
      permissionProfiles: dir.profiles.map((p) => profileWire(p, ['settings'], [], dir.users[0])),
      signingGroups: dir.signingGroups.map((g) => signingGroupWire(g, true)),
      settings: account.settings,
      passwordRules: account.passwordRules,
    };
    // Exactly as served: what JSON drops (undefined fields) is not there either.
    return JSON.parse(JSON.stringify(truth)) as DirectoryTruth;
  }

  addAccountUser(accountId: string, spec: AccountUserSpec = {}): string {
    return this.dir(accountId).addUser(spec, this.now()).userId;
  }

  closeUser(accountId: string, userId: string): void {
    this.dir(accountId).setStatus(userId, 'Closed');
  }

  removeUser(accountId: string, userId: string): void {
    this.dir(accountId).removeUser(userId);
  }

  setUserStatus(accountId: string, userId: string, status: UserStatus): void {
    this.dir(accountId).setStatus(userId, status);
  }

  setLastLogin(accountId: string, userId: string, at: number | undefined): void {
    this.dir(accountId).setLastLogin(userId, at);
  }

  setAdmin(accountId: string, userId: string, isAdmin: boolean): void {
    this.dir(accountId).setAdmin(userId, isAdmin);
  }

  setUserProfile(accountId: string, userId: string, profile: string): void {
    this.dir(accountId).moveToProfile(userId, profile);
  }

  createGroup(accountId: string, spec: { groupName: string; permissionProfileId?: string }): string {
    return this.dir(accountId).createGroup(spec, this.now()).groupId;
  }

  deleteGroup(accountId: string, groupId: string): void {
    this.dir(accountId).deleteGroup(groupId);
  }

  addGroupMember(accountId: string, groupId: string, userId: string): void {
    this.dir(accountId).addToGroup(groupId, userId);
  }

  removeGroupMember(accountId: string, groupId: string, userId: string): void {
    this.dir(accountId).removeFromGroup(groupId, userId);
  }

  setProfileSettings(accountId: string, profile: string, settings: Record<string, string>): void {
    this.dir(accountId).setProfileSettings(profile, settings, this.now());
  }

  setAccountSettings(accountId: string, settings: Record<string, unknown>): void {
    Object.assign(this.account(accountId).settings, settings);
  }

  setPasswordRules(accountId: string, rules: Record<string, string>): void {
    Object.assign(this.account(accountId).passwordRules, rules);
  }

  addSigningGroup(accountId: string, spec: { groupName: string; members?: SigningGroupMemberSpec[] }): string {
    return this.dir(accountId).addSigningGroup(spec, this.now()).signingGroupId;
  }

  removeSigningGroup(accountId: string, signingGroupId: string): void {
    this.dir(accountId).removeSigningGroup(signingGroupId);
  }

  addSigningGroupMember(accountId: string, signingGroupId: string, member: SigningGroupMemberSpec): void {
    this.dir(accountId).addSigningGroupMember(signingGroupId, member, this.now());
  }

  removeSigningGroupMember(accountId: string, signingGroupId: string, email: string): void {
    this.dir(accountId).removeSigningGroupMember(signingGroupId, email, this.now());
  }

  // ------------------------------------------------------------------------------------------------------------
  // Signed proof.

  addEnvelope(accountId: string, spec: EnvelopeSpec = {}): EnvelopeLike {
    const account = this.account(accountId);
    let template: Template | undefined;
    if (spec.template) {
      const { templateId, name } = spec.template;
      template = account.templates.find((t) => lc(t.templateId) === lc(templateId));
      if (!template) {
        template = { templateId, name: name ?? 'Template' };
        account.templates.push(template);
      }
    }
    const e = scriptedEnvelope(account, account.mutationRng, this.now(), {
      status: spec.status ?? 'completed',
      subject: spec.subject,
      template,
    });
    this.ownEnvelopes(account).add(e);
    this.connect.changed(e);
    return JSON.parse(envelopeJson(e, true)) as EnvelopeLike;
  }

  templates(accountId: string): TemplateTruth[] {
    const account = this.account(accountId);
    const byTemplate = new Map<string, string[]>();
    for (const e of account.envelopes.all()) {
      if (e.templateId === undefined) continue;
      const ids = byTemplate.get(e.templateId);
      if (ids) ids.push(e.envelopeId);
      else byTemplate.set(e.templateId, [e.envelopeId]);
    }
    return account.templates.map((t) => ({ ...t, envelopeIds: byTemplate.get(t.templateId) ?? [] }));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Connect (connect.ts sends the events; addEnvelope and mutate report the changes, seeding does not).

  setConnect(config: ConnectConfig): number {
    return this.connect.configure(config);
  }

  clearConnect(): void {
    this.connect.clear();
  }

  connectFailures(): ConnectFailure[] {
    return this.connect.failed();
  }

  connectSettled(): Promise<void> {
    return this.connect.settled();
  }

  // ------------------------------------------------------------------------------------------------------------
  // HTTP plumbing.

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = url.pathname;
    const body = await readBody(req);

    if (path === '/__admin' || path.startsWith('/__admin/')) {
      if (!this.adminHandler)
        return this.sendRaw(res, 404, { 'Content-Type': JSON_TYPE }, '{"error":"admin API not installed"}');
      return this.adminHandler(req, res, url, body);
    }

    const method = req.method ?? 'GET';
    if (path === '/oauth/token' && method === 'POST')
      return this.oauthCall(res, ENDPOINTS.token, () => this.token(req, res, body));
    if (path === '/oauth/userinfo' && method === 'GET')
      return this.oauthCall(res, ENDPOINTS.userinfo, () => this.userinfo(req, res));
    if (path === '/oauth/auth' && method === 'GET')
      return this.oauthCall(res, ENDPOINTS.auth, () => this.consent(res, url));

    const route = parseRestPath(method, path);
    if (route) return this.rest(req, res, url, route);

    this.count(ENDPOINTS.other);
    return this.send(res, 404, { 'Content-Type': JSON_TYPE }, JSON.stringify({ error: 'not_found', path }));
  }

  private count(name: string): void {
    this.stats.calls[name] = (this.stats.calls[name] ?? 0) + 1;
  }

  /** Applies the call-level faults (hang, fail). Returns true when the call was consumed by a fault. */
  private takeFault(
    res: ServerResponse,
    failure: () => Promise<void>,
  ): { hang: boolean; fail: (() => Promise<void>) | undefined } {
    if (this.fault.hang) {
      this.fault.hang = false;
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      return { hang: true, fail: undefined };
    }
    if (this.fault.failRemaining > 0) {
      this.fault.failRemaining--;
      return { hang: false, fail: failure };
    }
    return { hang: false, fail: undefined };
  }

  private async oauthCall(res: ServerResponse, name: string, run: () => Promise<void>): Promise<void> {
    this.count(name);
    const status = this.fault.failStatus;
    const f = this.takeFault(res, () => {
      const body =
        name === ENDPOINTS.token
          ? { error: status === 503 ? 'temporarily_unavailable' : 'server_error', error_description: `HTTP ${status}` }
          : { error: 'internal_server_error', reference_id: randomUUID() };
      return this.send(res, status, this.oauthHeaders(), JSON.stringify(body));
    });
    if (f.hang) return;
    if (f.fail) return f.fail();
    return run();
  }

  private oauthHeaders(): Record<string, string> {
    return {
      'Content-Type': JSON_TYPE,
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      'X-DocuSign-TraceToken': randomUUID(),
    };
  }

  private async send(res: ServerResponse, status: number, headers: Record<string, string>, body: Body): Promise<void> {
    if (this.fault.latencyMs > 0) await sleep(this.fault.latencyMs);
    this.sendRaw(res, status, headers, body);
  }

  private sendRaw(res: ServerResponse, status: number, headers: Record<string, string>, body: Body): void {
    if (res.destroyed || res.writableEnded) return;
    res.setHeader('Date', new Date(this.now()).toUTCString());
    res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  // ------------------------------------------------------------------------------------------------------------
  // OAuth.

  private async token(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const contentType = req.headers['content-type'] ?? '';
    const form = contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')
      ? new URLSearchParams(body)
      : undefined;
    const assertion = form?.get('assertion');
    if (assertion) this.stats.assertionsReceived.push(assertion);
    const result = await checkGrant(form, {
      host: this.host,
      nowSeconds: this.nowSeconds(),
      clockSkewToleranceSeconds: this.tolerance,
      appKey: (ik) => {
        const app = this.apps.get(lc(ik));
        return { registered: app !== undefined, key: app?.key };
      },
      userExists: (id) => this.users.has(lc(id)),
      consentedScopes: (ik, uid) => this.consents.get(consentKey(ik, uid)),
    });
    if (!result.ok) return this.send(res, 400, this.oauthHeaders(), JSON.stringify(result.body));
    const accessToken = randomBytes(32).toString('base64url');
    const lifetime = this.tokenLifetime;
    this.tokens.set(accessToken, {
      userId: this.user(result.userId).userId,
      integrationKey: result.integrationKey,
      expiresAt: this.now() + lifetime * 1000,
      revoked: false,
    });
    this.stats.tokensIssued.push(accessToken);
    return this.send(
      res,
      200,
      this.oauthHeaders(),
      JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: lifetime }),
    );
  }

  private bearer(req: IncomingMessage): TokenRecord | undefined {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return undefined;
    const t = this.tokens.get(m[1]!);
    if (!t || t.revoked || this.now() >= t.expiresAt) return undefined;
    if (!this.users.has(lc(t.userId))) return undefined;
    return t;
  }

  private async userinfo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = this.bearer(req);
    if (!token) {
      // docusign-api.md §1.5: what /oauth/userinfo answers to a bad or expired token.
      return this.send(
        res,
        401,
        this.oauthHeaders(),
        JSON.stringify({ error: 'internal_server_error', reference_id: randomUUID() }),
      );
    }
    const u = this.user(token.userId);
    const [given, ...family] = u.name.split(' ');
    const body = {
      sub: u.userId,
      name: u.name,
      given_name: given ?? u.name,
      family_name: family.join(' '),
      created: formatTs(u.created).replace(/\d{5}Z$/, ''),
      email: u.email,
      accounts: u.accounts.map((m) => {
        const a = this.account(m.accountId);
        return {
          account_id: a.accountId,
          is_default: m.isDefault,
          account_name: a.accountName,
          base_uri: this.baseUri(a),
          ...(m.isDefault
            ? {
                organization: {
                  organization_id: a.organizationId,
                  links: [{ rel: 'self', href: `${this.url}/organizations/${a.organizationId}` }],
                },
              }
            : {}),
        };
      }),
    };
    return this.send(res, 200, this.oauthHeaders(), JSON.stringify(body));
  }

  private async consent(res: ServerResponse, url: URL): Promise<void> {
    const q = url.searchParams;
    const clientId = q.get('client_id') ?? '';
    const redirect = q.get('redirect_uri') ?? '';
    const state = q.get('state');
    const bad = (description: string): Promise<void> =>
      this.send(
        res,
        400,
        this.oauthHeaders(),
        JSON.stringify({ error: 'invalid_request', error_description: description }),
      );
    if (!this.apps.has(lc(clientId))) return bad('The client id provided is not registered with DocuSign.');
    let target: URL;
    try {
      target = new URL(redirect);
    } catch {
      return bad('The redirect URI is missing or not an absolute URL.');
    }
    const redirectWith = (params: Record<string, string>): Promise<void> => {
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (state !== null) target.searchParams.set('state', state);
      return this.send(res, 302, { Location: target.toString(), 'Content-Type': 'text/plain' }, '');
    };
    if (q.get('response_type') !== 'code') return redirectWith({ error: 'unsupported_response_type' });
    if (this.consentMode === 'deny') return redirectWith({ error: 'access_denied' });
    const hint = q.get('login_hint') ?? q.get('user_id');
    const userIds = hint ? [hint] : this.userIds();
    if (hint && !this.users.has(lc(hint))) return bad('Unknown user.');
    const scopes = (q.get('scope') ?? 'signature').split(/[\s+]+/).filter(Boolean);
    for (const uid of userIds) this.grantScopes(clientId, uid, scopes);
    return redirectWith({ code: randomBytes(24).toString('base64url') });
  }

  // ------------------------------------------------------------------------------------------------------------
  // REST.

  private restHeaders(accountKey: string): Record<string, string> {
    const rate = this.rate.headers(accountKey, this.nowSeconds());
    (this.stats.hourlyRemaining[accountKey] ??= []).push(Number(rate['X-RateLimit-Remaining']));
    return {
      'Content-Type': JSON_TYPE,
      ...rate,
      'X-DocuSign-TraceToken': randomUUID(),
      'X-DocuSign-Node': 'EMU1',
    };
  }

  private sendError(res: ServerResponse, accountKey: string, err: RestError): Promise<void> {
    return this.send(res, err.status, this.restHeaders(accountKey), JSON.stringify(err.body));
  }

  private sendJson(res: ServerResponse, accountKey: string, body: unknown): Promise<void> {
    const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return this.send(res, 200, this.restHeaders(accountKey), payload);
  }

  private async rest(req: IncomingMessage, res: ServerResponse, url: URL, route: RestRoute): Promise<void> {
    this.count(route.name);
    const key = lc(route.accountId);
    const f = this.takeFault(res, () => this.sendError(res, key, injectedFailure(this.fault.failStatus)));
    if (f.hang) return;
    if (f.fail) return f.fail();

    const nowSec = this.nowSeconds();
    const admission = this.rate.admit(key, nowSec);
    if (!admission.ok) {
      this.stats.callsWhileLimited++;
      const cfg = this.rate.config;
      const err =
        admission.which === 'hourly'
          ? hourlyLimitExceeded(cfg.hourlyLimit, cfg.status)
          : burstLimitExceeded(cfg.burstLimit, cfg.status);
      return this.sendError(res, key, err);
    }

    const token = this.bearer(req);
    if (!token) return this.sendError(res, key, USER_AUTHENTICATION_FAILED);
    const account = this.accounts.get(key);
    const member = account && this.user(token.userId).accounts.some((m) => lc(m.accountId) === key);
    if (!account || !member) return this.sendError(res, key, USER_LACKS_MEMBERSHIP);
    if (route.region !== account.region) return this.sendError(res, key, WRONG_BASE_URI);
    if (req.method !== 'GET') return this.sendError(res, key, RESOURCE_NOT_FOUND);

    const q = url.searchParams;
    const [, b, c, d] = route.rest;
    switch (route.name) {
      case ENDPOINTS.account:
        return this.sendJson(res, key, accountInfoWire(account, q.get('include_account_settings') === 'true'));
      case ENDPOINTS.envelopes:
        return this.listEnvelopes(res, account, route.accountId, q);
      case ENDPOINTS.envelope:
      case ENDPOINTS.recipients:
      case ENDPOINTS.auditEvents:
      case ENDPOINTS.documents:
      case ENDPOINTS.document:
      case ENDPOINTS.certificate:
      case ENDPOINTS.envelopeTemplates: {
        const e = account.envelopes.get(b!);
        if (!e) return this.sendError(res, key, ENVELOPE_DOES_NOT_EXIST);
        const resource = [c ?? '', d ?? ''].join('/');
        if (!this.polling.hit(`${key}|${e.envelopeId}|${resource}`, nowSec)) {
          this.stats.pollingLimited++;
          return this.sendError(res, key, ENVELOPE_POLLING_LIMIT);
        }
        return this.envelopeResource(res, account, route.name, e, d, q);
      }
      case ENDPOINTS.users:
        return this.listUsers(res, account, route.accountId, q);
      case ENDPOINTS.user: {
        const u = account.directory.user(b!);
        return u
          ? this.sendJson(res, key, userWire(account, u, true))
          : this.sendError(res, key, NOT_FOUND_IN_ACCOUNT('user'));
      }
      case ENDPOINTS.groups:
        return this.paged(res, key, q, account.directory.groups, groupWire, {
          field: 'groups',
          linkPath: `/accounts/${route.accountId}/groups`,
        });
      case ENDPOINTS.groupUsers: {
        const g = account.directory.group(b!);
        if (!g) return this.sendError(res, key, NOT_FOUND_IN_ACCOUNT('group'));
        // Member lists carry the counts but no nextUri (docusign-api.md §10).
        const dir = account.directory;
        return this.paged(res, key, q, [...g.members], (id) => groupMemberWire(dir.user(id)!), { field: 'users' });
      }
      case ENDPOINTS.signingGroups: {
        const groups = account.directory.signingGroups;
        // An account without signing groups answers {}: no `groups`, no counts (docusign-api.md §10).
        if (!groups.length) return this.sendJson(res, key, {});
        const includeUsers = q.get('include_users') === 'true';
        return this.paged(res, key, q, groups, (g) => signingGroupWire(g, includeUsers), { field: 'groups' });
      }
      case ENDPOINTS.permissionProfiles:
      case ENDPOINTS.permissionProfile: {
        const dir = account.directory;
        const include = splitList(q.get('include')).map(lc);
        // Only users and user_count need the users of each profile: a pass over every user otherwise saved.
        const byProfile =
          include.includes('users') || include.includes('user_count')
            ? dir.usersByProfile()
            : new Map<string, AccountUser[]>();
        const wire = (p: PermissionProfile, inc: string[]): unknown =>
          profileWire(p, inc, byProfile.get(p.permissionProfileId) ?? [], dir.users[0]);
        if (route.name === ENDPOINTS.permissionProfiles) {
          return this.sendJson(res, key, { permissionProfiles: dir.profiles.map((p) => wire(p, include)) });
        }
        const p = dir.profiles.find((x) => x.permissionProfileId === b);
        return p
          ? this.sendJson(res, key, wire(p, ['settings', ...include]))
          : this.sendError(res, key, NOT_FOUND_IN_ACCOUNT('permission profile'));
      }
      case ENDPOINTS.settings:
        return this.sendJson(res, key, account.settings);
      case ENDPOINTS.passwordRules:
        return this.sendJson(res, key, account.passwordRules);
      default:
        return this.sendError(res, key, RESOURCE_NOT_FOUND);
    }
  }

  private envelopeResource(
    res: ServerResponse,
    account: Account,
    name: string,
    e: Envelope,
    documentId: string | undefined,
    q: URLSearchParams,
  ): Promise<void> {
    const key = lc(account.accountId);
    switch (name) {
      case ENDPOINTS.envelope: {
        const include = splitList(q.get('include'));
        return this.sendJson(res, key, envelopeWire(e, include.includes('recipients')));
      }
      case ENDPOINTS.recipients:
        return this.sendJson(res, key, recipientsWire(e));
      case ENDPOINTS.auditEvents:
        return this.sendJson(res, key, auditEventsWire(e));
      case ENDPOINTS.documents:
        return this.sendJson(res, key, documentsWire(e));
      case ENDPOINTS.envelopeTemplates:
        return this.sendJson(res, key, envelopeTemplatesWire(account, e));
      default:
        return this.download(res, key, e, documentId ?? '');
    }
  }

  /** One document of an envelope as a PDF, within the per-document download limits (docusign-api.md §3.3). */
  private download(res: ServerResponse, key: string, e: Envelope, documentId: string): Promise<void> {
    let filename: string;
    let pdf: () => Buffer;
    const doc = e.documents.find((x) => x.documentId === documentId);
    if (documentId === 'certificate') {
      if (e.status !== 'completed' || this.takeCertificateFault(e.envelopeId)) {
        return this.sendError(res, key, DOCUMENT_DOES_NOT_EXIST);
      }
      filename = 'Summary.pdf';
      pdf = () => buildPdf('Certificate Of Completion', certificateLines(e));
    } else if (documentId === 'combined' || documentId === 'portfolio') {
      filename = `${documentId}.pdf`;
      pdf = () => buildPdf(e.emailSubject, [`Envelope Id: ${e.envelopeId}`, ...e.documents.map((x) => x.name)]);
    } else if (doc) {
      filename = doc.name;
      pdf = () => buildPdf(doc.name, [`Envelope Id: ${e.envelopeId}`, `Pages: ${doc.pages}`]);
    } else return this.sendError(res, key, DOCUMENT_DOES_NOT_EXIST);
    if (!this.downloads.admit(`${key}|${e.envelopeId}|${documentId}`, documentId === 'combined', this.nowSeconds())) {
      this.stats.throttled++;
      return this.sendError(res, key, DOCUMENT_THROTTLED);
    }
    this.stats.documentsDownloaded[e.envelopeId] = (this.stats.documentsDownloaded[e.envelopeId] ?? 0) + 1;
    return this.send(
      res,
      200,
      {
        ...this.restHeaders(key),
        'Content-Type': 'application/pdf',
        'Content-Disposition': `file; filename="${filename}"; documentid="${documentId}"`,
      },
      pdf(),
    );
  }

  /** faults.certificateUnavailable: true (and one fewer left) while this envelope's certificate is to be refused. */
  private takeCertificateFault(envelopeId: string): boolean {
    const left = this.certificateFaults.get(lc(envelopeId)) ?? 0;
    if (left <= 0) return false;
    this.certificateFaults.set(lc(envelopeId), left - 1);
    return true;
  }

  private paginate(q: URLSearchParams, cap = this.maxPageSize): RestError | { start: number; count: number } {
    const countRaw = q.get('count');
    let count = cap;
    if (countRaw !== null) {
      if (!/^\d+$/.test(countRaw) || Number(countRaw) < 1)
        return invalidParameter('count', 'count must be a positive integer');
      count = Math.min(Number(countRaw), cap);
    }
    const startRaw = q.get('start_position');
    let start = 0;
    if (startRaw !== null) {
      if (!/^\d+$/.test(startRaw))
        return invalidParameter('start_position', 'start_position must be a non-negative integer');
      start = Number(startRaw);
    }
    return { start, count };
  }

  /** One page of an access-review list: only the page's items are turned into wire objects. */
  private paged<T>(
    res: ServerResponse,
    key: string,
    q: URLSearchParams,
    items: readonly T[],
    toWire: (item: T) => unknown,
    shape: { field: string; linkPath?: string },
  ): Promise<void> {
    const p = this.paginate(q, this.directoryPageSize);
    if ('status' in p) return this.sendError(res, key, p);
    const page = items.slice(p.start, p.start + p.count).map(toWire);
    return this.sendJson(res, key, {
      [shape.field]: page,
      ...pageInfo(q, p.start, p.count, page.length, items.length, shape.linkPath),
    });
  }

  private listUsers(res: ServerResponse, account: Account, accountIdInPath: string, q: URLSearchParams): Promise<void> {
    const key = lc(account.accountId);
    const wanted = new Set<string>();
    for (const s of splitList(q.get('status'))) {
      const status = USER_STATUSES.find((x) => lc(x) === lc(s));
      if (!status) return this.sendError(res, key, invalidParameter('status', `'${s}' is not a valid user status`));
      wanted.add(status);
    }
    const email = q.get('email');
    const wantedEmail = email === null ? null : lc(email);
    // Every status asked for (what the connector sends) is no filter: each page is served without a pass over all.
    const byStatus = wanted.size > 0 && wanted.size < USER_STATUSES.length;
    const all = account.directory.users;
    const users =
      !byStatus && wantedEmail === null
        ? all
        : all.filter(
            (u) => (!byStatus || wanted.has(u.userStatus)) && (wantedEmail === null || lc(u.email) === wantedEmail),
          );
    const additionalInfo = q.get('additional_info') === 'true';
    return this.paged(res, key, q, users, (u) => userWire(account, u, additionalInfo), {
      field: 'users',
      linkPath: `/accounts/${accountIdInPath}/users`,
    });
  }

  private async listEnvelopes(
    res: ServerResponse,
    account: Account,
    accountIdInPath: string,
    q: URLSearchParams,
  ): Promise<void> {
    const key = lc(account.accountId);
    const fromRaw = q.get('from_date');
    const envelopeIds = splitList(q.get('envelope_ids'));
    const transactionIds = splitList(q.get('transaction_ids'));
    if (!fromRaw && envelopeIds.length === 0 && transactionIds.length === 0)
      return this.sendError(res, key, MISSING_FROM_DATE);
    let from = -Infinity;
    if (fromRaw) {
      const parsed = parseDateParam(fromRaw);
      if (parsed === undefined) return this.sendError(res, key, MISSING_FROM_DATE);
      from = parsed;
    }
    let to = this.now();
    const toRaw = q.get('to_date');
    if (toRaw) {
      const parsed = parseDateParam(toRaw);
      if (parsed === undefined)
        return this.sendError(res, key, invalidParameter('to_date', 'to_date must be a valid DateTime'));
      to = parsed;
    }
    const fromTo = q.get('from_to_status') ?? 'changed';
    if (!(FROM_TO_STATUS as readonly string[]).includes(fromTo)) {
      return this.sendError(res, key, invalidParameter('from_to_status', `'${fromTo}' is not a valid from_to_status`));
    }
    const statusList = splitList(q.get('status')).map(lc);
    for (const s of statusList) {
      if (s !== 'any' && !(FILTER_STATUSES as readonly string[]).includes(s)) {
        return this.sendError(res, key, invalidParameter('status', `'${s}' is not a valid envelope status`));
      }
    }
    let statusFilter: Set<string> | undefined;
    if (statusList.length > 0) {
      statusFilter = new Set(statusList.includes('any') ? FILTER_STATUSES.filter((s) => s !== 'created') : []);
      for (const s of statusList) if (s !== 'any') statusFilter.add(s);
    }
    const order = lc(q.get('order') ?? 'desc');
    if (order !== 'asc' && order !== 'desc')
      return this.sendError(res, key, invalidParameter('order', "order must be 'asc' or 'desc'"));
    const orderBy = lc(q.get('order_by') ?? 'last_modified');
    if (!(ORDER_BY as readonly string[]).includes(orderBy)) {
      return this.sendError(res, key, invalidParameter('order_by', `'${orderBy}' is not a valid order_by`));
    }
    const p = this.paginate(q);
    if ('status' in p) return this.sendError(res, key, p);
    const includeRecipients = splitList(q.get('include')).map(lc).includes('recipients');

    const store = account.envelopes;
    const desc = order === 'desc';
    let page: Envelope[];
    let total: number;
    const windowed = fromTo === 'changed' && envelopeIds.length === 0 && transactionIds.length === 0;
    if (windowed && orderBy === 'status_changed' && !statusFilter) {
      // Pre-sorted index: the window is two binary searches and the page a slice.
      const [lo, hi] = store.window(from, to);
      total = hi - lo;
      page = [];
      for (let i = p.start; i < Math.min(total, p.start + p.count); i++)
        page.push(store.at(desc ? hi - 1 - i : lo + i));
    } else {
      let matched: readonly Envelope[];
      if (windowed) {
        matched = store.matching(from, to, statusFilter);
      } else {
        let candidates: Envelope[];
        if (transactionIds.length > 0 && envelopeIds.length === 0) candidates = [];
        else if (envelopeIds.length > 0) {
          candidates = envelopeIds.map((id) => store.get(id)).filter((e): e is Envelope => e !== undefined);
        } else candidates = [...store.all()];
        const field = windowField(fromTo);
        matched = candidates.filter((e) => {
          if (statusFilter && !statusFilter.has(e.status)) return false;
          if (!fromRaw && !toRaw) return true;
          const t = field(e);
          return t !== undefined && t >= from && t <= to;
        });
      }
      // Copies: `matching` keeps its answer for the next page.
      if (orderBy !== 'status_changed') matched = [...matched].sort(sortKey(orderBy));
      if (desc) matched = [...matched].reverse();
      total = matched.length;
      page = matched.slice(p.start, p.start + p.count);
    }

    const links = !this.fault.omitNextUri;
    const info = pageInfo(
      q,
      p.start,
      p.count,
      page.length,
      total,
      links ? `/accounts/${accountIdInPath}/envelopes` : undefined,
    );
    const parts: Buffer[] = [Buffer.from(`${JSON.stringify(info).slice(0, -1)},"envelopes":[`)];
    const bad = this.fault.badEnvelope;
    const badAt = bad ? page.findIndex((e) => bad.envelopeId === undefined || lc(e.envelopeId) === bad.envelopeId) : -1;
    if (badAt >= 0) this.fault.badEnvelope = undefined;
    page.forEach((e, i) => {
      if (i > 0) parts.push(COMMA);
      if (i !== badAt && !this.fault.zonelessTimes) {
        parts.push(envelopeJsonBuffer(e, includeRecipients));
        return;
      }
      // Faults change one serialisation, never the envelope or its cached JSON.
      const wire = envelopeWire(e, includeRecipients);
      if (this.fault.zonelessTimes) wire.statusChangedDateTime = formatZoneless(e.statusChanged);
      if (i === badAt) delete wire.statusChangedDateTime;
      parts.push(Buffer.from(JSON.stringify(wire)));
    });
    parts.push(CLOSE_LIST);
    let body: Buffer | string = Buffer.concat(parts);

    let wellFormed = true;
    if (this.fault.malformed) {
      this.fault.malformed = false;
      wellFormed = false;
      body = body.subarray(0, Math.max(10, Math.floor(body.length / 2)));
    } else if (this.fault.invalidShape) {
      this.fault.invalidShape = false;
      wellFormed = false;
      const parsed = JSON.parse(body.toString('utf8')) as {
        envelopes: Record<string, unknown>[];
        totalSetSize: unknown;
      };
      if (parsed.envelopes[0]) parsed.envelopes[0].envelopeId = 42;
      else parsed.totalSetSize = 42;
      body = JSON.stringify(parsed);
    }
    await this.sendJson(res, key, body);
    if (!wellFormed) return;
    this.stats.pagesServed++;
    if (this.fault.failAfterPages > 0 && --this.fault.failAfterPages === 0) {
      this.faults.failNext(1, this.fault.failAfterPagesStatus);
    }
    if (this.fault.mutateBetweenPages > 0) {
      const k = this.fault.mutateBetweenPages;
      this.fault.mutateBetweenPages = 0;
      this.mutate(account.accountId, k);
    }
  }
}

// -------------------------------------------------------------------------------------------------------------
// Helpers.

/** The fault state with nothing injected; also what faults.clear() restores. */
const NO_FAULTS = {
  failRemaining: 0,
  failStatus: 503,
  latencyMs: 0,
  malformed: false,
  invalidShape: false,
  hang: false,
  mutateBetweenPages: 0,
  failAfterPages: 0,
  failAfterPagesStatus: 503,
  badEnvelope: undefined as { envelopeId: string | undefined } | undefined,
  omitNextUri: false,
  zonelessTimes: false,
};

/**
 * Paging fields, counts as strings; with `linkPath` (e.g. /accounts/{id}/users) also nextUri / previousUri, relative
 * and without /restapi/v2.1, "" at either end (docusign-api.md §3.1).
 */
function pageInfo(
  q: URLSearchParams,
  start: number,
  count: number,
  size: number,
  total: number,
  linkPath?: string,
): Record<string, string> {
  const counts = {
    resultSetSize: String(size),
    totalSetSize: String(total),
    startPosition: String(start),
    endPosition: String(start + size - 1),
  };
  if (linkPath === undefined) return counts;
  const uri = (position: number): string => {
    const p = new URLSearchParams();
    p.set('start_position', String(position));
    p.set('count', String(count));
    for (const [k, v] of q) if (k !== 'start_position' && k !== 'count') p.append(k, v);
    return `${linkPath}?${p.toString()}`;
  };
  return {
    ...counts,
    nextUri: start + size < total ? uri(start + size) : '',
    previousUri: start > 0 ? uri(Math.max(0, start - count)) : '',
  };
}

function consentKey(integrationKey: string, userId: string): string {
  return `${lc(integrationKey)}|${lc(userId)}`;
}

function validateRegion(region: string): void {
  if (
    !/^[a-z0-9-]+$/i.test(region) ||
    ['oauth', 'restapi', '__admin', 'accounts', 'organizations'].includes(lc(region))
  ) {
    throw new Error(`invalid region '${region}'`);
  }
}

function splitList(v: string | null): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function windowField(fromTo: string): (e: Envelope) => number | undefined {
  switch (fromTo) {
    case 'changed':
      return (e) => e.statusChanged;
    case 'created':
      return (e) => e.created;
    case 'sent':
      return (e) => e.sent;
    case 'delivered':
      return (e) => e.delivered;
    case 'signed':
    case 'completed':
      return (e) => e.completed;
    case 'declined':
      return (e) => e.declined;
    case 'voided':
      return (e) => e.voided;
    default:
      return () => undefined;
  }
}

function sortKey(orderBy: string): (a: Envelope, b: Envelope) => number {
  const byId = (a: Envelope, b: Envelope): number =>
    a.envelopeId < b.envelopeId ? -1 : a.envelopeId > b.envelopeId ? 1 : 0;
  const num = (f: (e: Envelope) => number | undefined) => (a: Envelope, b: Envelope) =>
    (f(a) ?? -Infinity) - (f(b) ?? -Infinity) || byId(a, b);
  const str = (f: (e: Envelope) => string) => (a: Envelope, b: Envelope) => f(a).localeCompare(f(b)) || byId(a, b);
  switch (orderBy) {
    case 'created':
      return num((e) => e.created);
    case 'sent':
      return num((e) => e.sent);
    case 'completed':
      return num((e) => e.completed);
    case 'expire':
      return num((e) => (e.sent === undefined ? undefined : e.sent + 120 * 86_400_000));
    case 'status':
      return str((e) => e.status);
    case 'subject':
    case 'envelope_name':
      return str((e) => e.emailSubject);
    case 'user_name':
      return str((e) => e.sender.userName);
    case 'signer_list':
      return str((e) => e.signers.map((s) => s.name).join(','));
    default:
      return num((e) => e.lastModified);
  }
}

function certificateLines(e: Envelope): string[] {
  const lines = [
    `Envelope Id: ${e.envelopeId}`,
    `Subject: ${e.emailSubject}`,
    `Status: ${e.status}`,
    `Envelope Originator: ${e.sender.userName} <${e.sender.email}>`,
    `Created: ${formatTs(e.created)}`,
  ];
  if (e.sent !== undefined) lines.push(`Sent: ${formatTs(e.sent)}`);
  if (e.completed !== undefined) lines.push(`Completed: ${formatTs(e.completed)}`);
  for (const s of e.signers) {
    lines.push(
      `Signer ${s.recipientId}: ${s.name} <${s.email}> ${s.status}${s.signed ? ` ${formatTs(s.signed)}` : ''}`,
    );
  }
  for (const c of e.carbonCopies) lines.push(`Carbon copy ${c.recipientId}: ${c.name} <${c.email}> ${c.status}`);
  return lines;
}

const REST_PATH = /^\/(?:([^/]+)\/)?restapi\/v2\.1\/accounts\/([^/]+)(?:\/(.*))?$/;

export function parseRestPath(method: string, path: string): RestRoute | undefined {
  const m = REST_PATH.exec(path);
  if (!m) return undefined;
  const region = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
  const accountId = decodeURIComponent(m[2]!);
  const rest = (m[3] ?? '')
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  const [a, , c, d, extra] = rest;
  let name: string = ENDPOINTS.otherRest;
  const n = rest.length;
  if (n === 0) name = ENDPOINTS.account;
  else if (a === 'envelopes') {
    if (n === 1) name = ENDPOINTS.envelopes;
    else if (n === 2) name = ENDPOINTS.envelope;
    else if (n === 3 && c === 'recipients') name = ENDPOINTS.recipients;
    else if (n === 3 && c === 'audit_events') name = ENDPOINTS.auditEvents;
    else if (n === 3 && c === 'documents') name = ENDPOINTS.documents;
    else if (n === 3 && c === 'templates') name = ENDPOINTS.envelopeTemplates;
    else if (n === 4 && c === 'documents' && d !== undefined && extra === undefined)
      name = d === 'certificate' ? ENDPOINTS.certificate : ENDPOINTS.document;
  } else if (a === 'users') name = n === 1 ? ENDPOINTS.users : n === 2 ? ENDPOINTS.user : name;
  else if (a === 'groups') name = n === 1 ? ENDPOINTS.groups : n === 3 && c === 'users' ? ENDPOINTS.groupUsers : name;
  else if (a === 'signing_groups' && n === 1) name = ENDPOINTS.signingGroups;
  else if (a === 'permission_profiles')
    name = n === 1 ? ENDPOINTS.permissionProfiles : n === 2 ? ENDPOINTS.permissionProfile : name;
  else if (a === 'settings')
    name = n === 1 ? ENDPOINTS.settings : n === 2 && rest[1] === 'password_rules' ? ENDPOINTS.passwordRules : name;
  if (method !== 'GET' && name !== ENDPOINTS.otherRest) name = `${method} ${name.slice(4)}`;
  return { name, region, accountId, rest };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_048_576) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
