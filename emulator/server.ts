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
 */
import { type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Account,
  type Envelope,
  FILTER_STATUSES,
  addMember,
  advanceEnvelope,
  createAccount,
  generateEnvelopes,
  newSentEnvelope,
} from './data';
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
import { PollingLimiter, RateLimiter } from './ratelimit';
import { formatTs, formatZoneless, parseDateParam } from './time';
import type {
  AccountSpec,
  AccountSummary,
  Emulator,
  EmulatorFaults,
  EmulatorOptions,
  EmulatorStats,
  EnvelopeLike,
  UserSpec,
} from './types';
import {
  accountInfoWire,
  auditEventsWire,
  documentsWire,
  envelopeJson,
  envelopeJsonBuffer,
  envelopeWire,
  groupMemberWire,
  groupWire,
  profileWire,
  recipientsWire,
  signingGroupWire,
  userDetailWire,
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
  private tokenLifetime: number;
  private consentMode: 'approve' | 'deny';
  private clockOffsetMs = 0;

  private readonly apps = new Map<string, AppRecord>();
  private readonly users = new Map<string, UserRecord>();
  private readonly accounts = new Map<string, Account>();
  private readonly consents = new Map<string, Set<string> | typeof SCOPES_ALL>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly rate = new RateLimiter();
  private readonly polling = new PollingLimiter();
  private readonly hung = new Set<ServerResponse>();
  /** setBaseUri: what userinfo answers as an account's base_uri instead of the emulator's own region URL. */
  private readonly baseUriOverrides = new Map<string, string>();

  private fault = { ...NO_FAULTS };

  readonly stats: EmulatorStats;
  readonly faults: EmulatorFaults;

  /** Set by admin.ts; handles /__admin requests. */
  adminHandler: ((req: IncomingMessage, res: ServerResponse, url: URL, body: string) => Promise<void>) | undefined;

  constructor(opts: EmulatorOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.envelopesPerAccount = opts.envelopes ?? 200;
    this.tolerance = opts.clockSkewToleranceSeconds ?? 30;
    this.maxPageSize = opts.maxPageSize ?? 100;
    this.tokenLifetime = opts.tokenLifetimeSeconds ?? 3600;
    this.consentMode = opts.consentMode ?? 'approve';
    this.rate.setConfig(opts.rateLimit);
    this.polling.set(opts.envelopePollingLimit?.limit, opts.envelopePollingLimit?.windowSeconds);

    const stats: EmulatorStats = {
      calls: {},
      pagesServed: 0,
      callsWhileLimited: 0,
      tokensIssued: [],
      assertionsReceived: [],
      reset: () => {
        for (const k of Object.keys(stats.calls)) delete stats.calls[k];
        stats.pagesServed = 0;
        stats.callsWhileLimited = 0;
        stats.tokensIssued.length = 0;
        stats.assertionsReceived.length = 0;
      },
    };
    this.stats = stats;

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

  seedEnvelopes(accountId: string, count: number, opts: { seed?: number; days?: number } = {}): void {
    const account = this.account(accountId);
    const list = generateEnvelopes(account, {
      count,
      days: opts.days ?? 400,
      now: this.now(),
      seed: opts.seed ?? this.seed,
    });
    account.envelopes.replaceAll(list);
  }

  mutate(accountId: string, k: number): string[] {
    const account = this.account(accountId);
    const t = this.now();
    const rng = account.mutationRng;
    const open = account.envelopes
      .all()
      .filter((e) => e.status === 'created' || e.status === 'sent' || e.status === 'delivered');
    const ids: string[] = [];
    const n = Math.min(Math.max(0, Math.floor(k)), open.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rng.next() * (open.length - i));
      const e = open[j]!;
      open[j] = open[i]!;
      open[i] = e;
      account.envelopes.update(e, (x) => advanceEnvelope(x, t, rng));
      ids.push(e.envelopeId);
    }
    // Too few open envelopes: the rest of the changes are new envelopes, sent now.
    for (let i = n; i < k; i++) {
      const e = newSentEnvelope(account, rng, t);
      account.envelopes.add(e);
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
    return {
      'Content-Type': JSON_TYPE,
      ...this.rate.headers(accountKey, this.nowSeconds()),
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
      case ENDPOINTS.document: {
        const e = account.envelopes.get(b!);
        if (!e) return this.sendError(res, key, ENVELOPE_DOES_NOT_EXIST);
        const resource = [c ?? '', d ?? ''].join('/');
        if (!this.polling.hit(`${key}|${e.envelopeId}|${resource}`, nowSec)) {
          return this.sendError(
            res,
            key,
            route.name === ENDPOINTS.document ? DOCUMENT_THROTTLED : ENVELOPE_POLLING_LIMIT,
          );
        }
        return this.envelopeResource(res, key, route.name, e, d, q);
      }
      case ENDPOINTS.users:
        return this.listUsers(res, account, route.accountId, q);
      case ENDPOINTS.user: {
        const u = account.users.find((x) => lc(x.userId) === lc(b!));
        return u
          ? this.sendJson(res, key, userDetailWire(account, u))
          : this.sendError(res, key, NOT_FOUND_IN_ACCOUNT('user'));
      }
      case ENDPOINTS.groups:
        return this.paged(
          res,
          key,
          route.accountId,
          'groups',
          q,
          account.groups.map((g) => groupWire(account, g)),
        );
      case ENDPOINTS.groupUsers: {
        const g = account.groups.find((x) => x.groupId === b);
        if (!g) return this.sendError(res, key, NOT_FOUND_IN_ACCOUNT('group'));
        const members = account.users.filter((u) => u.groupIds.includes(g.groupId)).map(groupMemberWire);
        // Member lists carry the counts but no nextUri (docusign-api.md §10).
        return this.paged(res, key, route.accountId, `groups/${g.groupId}/users`, q, members, 'users', false);
      }
      case ENDPOINTS.signingGroups: {
        const groups = account.signingGroups.map(signingGroupWire);
        // An account without signing groups answers {}: no `groups`, no counts (docusign-api.md §10).
        if (!groups.length) return this.sendJson(res, key, {});
        return this.paged(res, key, route.accountId, 'signing_groups', q, groups, 'groups', false);
      }
      case ENDPOINTS.permissionProfiles: {
        const include = splitList(q.get('include')).map(lc);
        return this.sendJson(res, key, {
          permissionProfiles: account.profiles.map((p) => profileWire(account, p, include)),
        });
      }
      case ENDPOINTS.permissionProfile: {
        const p = account.profiles.find((x) => x.permissionProfileId === b);
        return p
          ? this.sendJson(res, key, profileWire(account, p, ['settings', ...splitList(q.get('include')).map(lc)]))
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
    key: string,
    name: string,
    e: Envelope,
    documentId: string | undefined,
    q: URLSearchParams,
  ): Promise<void> {
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
      default: {
        const doc = e.documents.find((x) => x.documentId === documentId);
        let filename: string;
        let pdf: Buffer;
        if (documentId === 'certificate') {
          filename = 'Summary.pdf';
          pdf = buildPdf('Certificate Of Completion', certificateLines(e));
        } else if (documentId === 'combined' || documentId === 'portfolio') {
          filename = `${documentId}.pdf`;
          pdf = buildPdf(e.emailSubject, [`Envelope Id: ${e.envelopeId}`, ...e.documents.map((x) => x.name)]);
        } else if (doc) {
          filename = doc.name;
          pdf = buildPdf(doc.name, [`Envelope Id: ${e.envelopeId}`, `Pages: ${doc.pages}`]);
        } else return this.sendError(res, key, DOCUMENT_DOES_NOT_EXIST);
        return this.send(
          res,
          200,
          {
            ...this.restHeaders(key),
            'Content-Type': 'application/pdf',
            'Content-Disposition': `file; filename="${filename}"; documentid="${documentId ?? ''}"`,
          },
          pdf,
        );
      }
    }
  }

  private paginate(q: URLSearchParams): RestError | { start: number; count: number } {
    const countRaw = q.get('count');
    let count = this.maxPageSize;
    if (countRaw !== null) {
      if (!/^\d+$/.test(countRaw) || Number(countRaw) < 1)
        return invalidParameter('count', 'count must be a positive integer');
      count = Math.min(Number(countRaw), this.maxPageSize);
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

  /** Paging fields (counts as strings) and, with `links`, relative next/previous URIs without /restapi/v2.1. */
  private pageInfo(
    accountIdInPath: string,
    resource: string,
    q: URLSearchParams,
    start: number,
    count: number,
    size: number,
    total: number,
    links = true,
  ): Record<string, string> {
    const uri = (position: number): string => {
      const p = new URLSearchParams();
      p.set('start_position', String(position));
      p.set('count', String(count));
      for (const [k, v] of q) if (k !== 'start_position' && k !== 'count') p.append(k, v);
      return `/accounts/${accountIdInPath}/${resource}?${p.toString()}`;
    };
    const counts = {
      resultSetSize: String(size),
      totalSetSize: String(total),
      startPosition: String(start),
      endPosition: String(start + size - 1),
    };
    if (!links) return counts;
    return {
      ...counts,
      nextUri: start + size < total ? uri(start + size) : '',
      previousUri: start > 0 ? uri(Math.max(0, start - count)) : '',
    };
  }

  private paged(
    res: ServerResponse,
    key: string,
    accountIdInPath: string,
    resource: string,
    q: URLSearchParams,
    items: unknown[],
    field = resource,
    links = true,
  ): Promise<void> {
    const p = this.paginate(q);
    if ('status' in p) return this.sendError(res, key, p);
    const page = items.slice(p.start, p.start + p.count);
    return this.sendJson(res, key, {
      [field]: page,
      ...this.pageInfo(accountIdInPath, resource, q, p.start, p.count, page.length, items.length, links),
    });
  }

  private listUsers(res: ServerResponse, account: Account, accountIdInPath: string, q: URLSearchParams): Promise<void> {
    const statuses = splitList(q.get('status')).map(lc);
    const email = q.get('email');
    const users = account.users.filter(
      (u) =>
        (statuses.length === 0 || statuses.includes(lc(u.userStatus))) && (email === null || lc(u.email) === lc(email)),
    );
    return this.paged(
      res,
      lc(account.accountId),
      accountIdInPath,
      'users',
      q,
      users.map((u) => userWire(account, u, q.get('additional_info') === 'true')),
    );
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
    const fast =
      fromTo === 'changed' && envelopeIds.length === 0 && transactionIds.length === 0 && orderBy === 'status_changed';
    if (fast && !statusFilter) {
      // Pre-sorted index: the window is two binary searches and the page a slice.
      const [lo, hi] = store.window(from, to);
      total = hi - lo;
      page = [];
      for (let i = p.start; i < Math.min(total, p.start + p.count); i++)
        page.push(store.at(desc ? hi - 1 - i : lo + i));
    } else {
      let matched: Envelope[];
      if (fromTo === 'changed' && envelopeIds.length === 0 && transactionIds.length === 0) {
        const [lo, hi] = store.window(from, to);
        matched = [];
        for (let i = lo; i < hi; i++) {
          const e = store.at(i);
          if (!statusFilter || statusFilter.has(e.status)) matched.push(e);
        }
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
      if (orderBy !== 'status_changed') matched.sort(sortKey(orderBy));
      if (desc) matched.reverse();
      total = matched.length;
      page = matched.slice(p.start, p.start + p.count);
    }

    const links = !this.fault.omitNextUri;
    const info = this.pageInfo(accountIdInPath, 'envelopes', q, p.start, p.count, page.length, total, links);
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
    else if (n === 4 && c === 'documents' && d !== undefined && extra === undefined) name = ENDPOINTS.document;
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
