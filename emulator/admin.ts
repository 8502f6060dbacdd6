/**
 * The emulator's control API over HTTP, for the standalone emulator and for code in another process.
 * Bodies are JSON; answers are JSON; errors are 400 `{"error": "..."}` (404 for an unknown route).
 *
 *   GET  /__admin/info                         url, host, apps, users, OAuth/REST hints
 *   POST /__admin/apps                         {integrationKey, publicKeyPem}   → registerApp
 *   POST /__admin/apps/remove-key              {integrationKey}                 → removeAppKey
 *   POST /__admin/users                        {userId, name?, email?, accounts?} → addUser; answers accountsOf
 *   GET  /__admin/accounts?userId=             → accountsOf
 *   POST /__admin/accounts/move                {accountId, region}
 *   POST /__admin/accounts/base-uri            {accountId, baseUri?}            → setBaseUri (omit baseUri to restore)
 *   POST /__admin/consent                      {integrationKey, userId}         → grantConsent
 *   POST /__admin/consent/revoke               {integrationKey, userId}         → revokeConsent
 *   POST /__admin/consent-mode                 {mode: 'approve'|'deny'}
 *   GET  /__admin/envelopes?accountId=         → envelopes (ground truth)
 *   POST /__admin/envelopes/seed               {accountId, count, seed?, days?}
 *   POST /__admin/envelopes/mutate             {accountId, k}                   → {envelopeIds}
 *   POST /__admin/clock                        {offsetSeconds}                  → setClock
 *   POST /__admin/faults/{name}                failNext {n, status?} | latencyMs {ms} | malformedNext | invalidShapeNext
 *                                              | badEnvelopeNext {envelopeId?} | omitNextUri {on} | zonelessTimes {on}
 *                                              | hangNext | revokeTokens | mutateBetweenPages {k} | exhaustHourly
 *                                              | exhaustBurst | clear | certificateUnavailable (below)
 *   GET  /__admin/stats                        {calls, pagesServed, callsWhileLimited, documentsDownloaded, throttled,
 *                                               pollingLimited, connect, tokensIssued, assertionsReceived}
 *   POST /__admin/stats/reset
 *   POST /__admin/rate-limit                   {hourlyLimit?, hourlyWindowSeconds?, burstLimit?, burstWindowSeconds?, status?}
 *   POST /__admin/token-lifetime               {seconds}
 *   POST /__admin/polling-limit                {limit?, windowSeconds?}
 *   POST /__admin/download-limit               {perHour?, perSixHours?}             → setDocumentDownloadLimit
 *
 * Access review (every body also has accountId; each answers {ok: true} unless said otherwise):
 *   GET  /__admin/directory?accountId=         → directory (ground truth of the access-review endpoints)
 *   POST /__admin/directory/seed               {users?, groups?, groupMembers?, profiles?, signingGroups?}
 *   POST /__admin/account-users                {userId?, firstName?, lastName?, email?, status?, profile?, isAdmin?,
 *                                               groupIds?, lastLogin? (ISO)}                  → {userId}
 *   POST /__admin/account-users/close          {userId}
 *   POST /__admin/account-users/remove         {userId}
 *   POST /__admin/account-users/status         {userId, status}
 *   POST /__admin/account-users/last-login     {userId, lastLogin: ISO | null}
 *   POST /__admin/account-users/admin          {userId, isAdmin}
 *   POST /__admin/account-users/profile        {userId, profile (ID or name)}
 *   POST /__admin/groups                       {groupName, permissionProfileId?}             → {groupId}
 *   POST /__admin/groups/delete                {groupId}
 *   POST /__admin/groups/members/add           {groupId, userId}
 *   POST /__admin/groups/members/remove        {groupId, userId}
 *   POST /__admin/permission-profiles/settings {profile (ID or name), settings: {name: string}}
 *   POST /__admin/settings                     {settings: {name: value}}
 *   POST /__admin/password-rules               {rules: {name: string}}
 *   POST /__admin/signing-groups               {groupName, members?: [{userName, email}]}    → {signingGroupId}
 *   POST /__admin/signing-groups/delete        {signingGroupId}
 *   POST /__admin/signing-groups/members/add   {signingGroupId, userName, email}
 *   POST /__admin/signing-groups/members/remove {signingGroupId, email}
 *
 * Signed proof:
 *   POST /__admin/envelopes/add                {accountId, status?, subject?, template?: {templateId, name?}}
 *                                              → the envelope, as GET /__admin/envelopes lists it
 *   GET  /__admin/templates?accountId=         → templates (each with the envelopes made from it)
 *   POST /__admin/faults/certificateUnavailable {envelopeId, times?}
 *
 * Connect (connect.ts):
 *   POST /__admin/connect                      {url, hmacKeys, includeData?, events?, retry?: {attempts?, delaysMs?},
 *                                               timeoutMs?}                                   → {configurationId}
 *   POST /__admin/connect/clear                → clearConnect (Connect off)
 *   GET  /__admin/connect/failures             → connectFailures
 *   POST /__admin/connect/settled              answers once every queued event is delivered or failed
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CONNECT_EVENTS } from './connect';
import { USER_STATUSES } from './directory';
import type { EmulatorServer } from './server';

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const account = z.object({ accountId: z.string().min(1) });
/** An ISO 8601 time with a zone, as epoch ms. */
const isoTime = z.iso.datetime({ offset: true }).transform((v) => Date.parse(v));
const signingGroupMember = z.object({ userName: z.string(), email: z.string().min(1) });

const schemas = {
  app: z.object({ integrationKey: z.string().min(1), publicKeyPem: z.string().min(1) }),
  appKey: z.object({ integrationKey: z.string().min(1) }),
  user: z.object({
    userId: z.string().min(1),
    name: z.string().optional(),
    email: z.string().optional(),
    accounts: z
      .array(
        z.object({
          accountId: z.string().min(1),
          accountName: z.string(),
          region: z.string().min(1),
          isDefault: z.boolean().optional(),
          signingGroups: nonNegInt.optional(),
        }),
      )
      .optional(),
  }),
  move: z.object({ accountId: z.string().min(1), region: z.string().min(1) }),
  baseUri: z.object({ accountId: z.string().min(1), baseUri: z.url().optional() }),
  consent: z.object({ integrationKey: z.string().min(1), userId: z.string().min(1) }),
  consentMode: z.object({ mode: z.enum(['approve', 'deny']) }),
  seed: z.object({
    accountId: z.string().min(1),
    count: nonNegInt,
    seed: z.number().int().optional(),
    days: z.number().positive().optional(),
  }),
  mutate: z.object({ accountId: z.string().min(1), k: nonNegInt }),
  clock: z.object({ offsetSeconds: z.number() }),
  failNext: z.object({ n: nonNegInt, status: z.number().int().min(100).max(599).optional() }),
  latency: z.object({ ms: z.number().nonnegative() }),
  mutateBetweenPages: z.object({ k: nonNegInt }),
  badEnvelopeNext: z.object({ envelopeId: z.string().min(1).optional() }),
  toggle: z.object({ on: z.boolean() }),
  rateLimit: z.object({
    hourlyLimit: nonNegInt.optional(),
    hourlyWindowSeconds: positiveInt.optional(),
    burstLimit: nonNegInt.optional(),
    burstWindowSeconds: positiveInt.optional(),
    status: z.union([z.literal(400), z.literal(429)]).optional(),
  }),
  tokenLifetime: z.object({ seconds: positiveInt }),
  pollingLimit: z.object({ limit: nonNegInt.optional(), windowSeconds: positiveInt.optional() }),
  downloadLimit: z.object({ perHour: nonNegInt.optional(), perSixHours: nonNegInt.optional() }),
  certificateUnavailable: z.object({ envelopeId: z.string().min(1), times: nonNegInt.optional() }),
  seedDirectory: account.extend({
    users: nonNegInt.max(200_000).optional(),
    groups: z.number().int().min(2).max(10_000).optional(),
    groupMembers: positiveInt.optional(),
    profiles: z.number().int().min(3).max(1_000).optional(),
    signingGroups: nonNegInt.max(1_000).optional(),
  }),
  accountUser: account.extend({
    userId: z.string().min(1).optional(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    email: z.string().optional(),
    status: z.enum(USER_STATUSES).optional(),
    profile: z.string().min(1).optional(),
    isAdmin: z.boolean().optional(),
    groupIds: z.array(z.string().min(1)).optional(),
    lastLogin: isoTime.optional(),
  }),
  accountUserId: account.extend({ userId: z.string().min(1) }),
  userStatus: account.extend({ userId: z.string().min(1), status: z.enum(USER_STATUSES) }),
  lastLogin: account.extend({ userId: z.string().min(1), lastLogin: isoTime.nullable() }),
  admin: account.extend({ userId: z.string().min(1), isAdmin: z.boolean() }),
  profile: account.extend({ userId: z.string().min(1), profile: z.string().min(1) }),
  group: account.extend({ groupName: z.string().min(1), permissionProfileId: z.string().min(1).optional() }),
  groupId: account.extend({ groupId: z.string().min(1) }),
  groupMember: account.extend({ groupId: z.string().min(1), userId: z.string().min(1) }),
  profileSettings: account.extend({ profile: z.string().min(1), settings: z.record(z.string(), z.string()) }),
  settings: account.extend({ settings: z.record(z.string(), z.unknown()) }),
  passwordRules: account.extend({ rules: z.record(z.string(), z.string()) }),
  signingGroup: account.extend({ groupName: z.string().min(1), members: z.array(signingGroupMember).optional() }),
  signingGroupId: account.extend({ signingGroupId: z.string().min(1) }),
  signingGroupMember: account.extend({ signingGroupId: z.string().min(1) }).extend(signingGroupMember.shape),
  signingGroupEmail: account.extend({ signingGroupId: z.string().min(1), email: z.string().min(1) }),
  envelope: account.extend({
    status: z.enum(['created', 'sent', 'delivered', 'completed', 'declined', 'voided']).optional(),
    subject: z.string().optional(),
    template: z.object({ templateId: z.string().min(1), name: z.string().optional() }).optional(),
  }),
  connect: z.object({
    url: z.url({ protocol: /^https?$/ }),
    hmacKeys: z.array(z.string().min(1)),
    includeData: z.boolean().optional(),
    events: z.array(z.enum(CONNECT_EVENTS)).optional(),
    retry: z.object({ attempts: positiveInt.optional(), delaysMs: z.array(nonNegInt).optional() }).optional(),
    timeoutMs: positiveInt.optional(),
  }),
};

class AdminError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, body: string): T {
  let json: unknown;
  try {
    json = body.trim() === '' ? {} : JSON.parse(body);
  } catch {
    throw new AdminError('body is not valid JSON');
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    throw new AdminError(r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  }
  return r.data;
}

export function installAdmin(emu: EmulatorServer): void {
  emu.adminHandler = async (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => {
    const reply = (status: number, value: unknown): void => {
      const text = JSON.stringify(value);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(text)),
      });
      res.end(text);
    };
    try {
      reply(200, await route(emu, req.method ?? 'GET', url, body));
    } catch (err) {
      if (err instanceof AdminError) reply(err.status, { error: err.message });
      else reply(400, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}

function route(emu: EmulatorServer, method: string, url: URL, body: string): unknown {
  const path = url.pathname.replace(/\/+$/, '');
  const q = url.searchParams;
  const key = `${method} ${path}`;
  const ok = { ok: true };
  switch (key) {
    case 'GET /__admin/info':
      return {
        url: emu.url,
        host: emu.host,
        jwtAudience: emu.host,
        tokenEndpoint: `${emu.url}/oauth/token`,
        userinfoEndpoint: `${emu.url}/oauth/userinfo`,
        consentEndpoint: `${emu.url}/oauth/auth`,
        apps: emu.appKeys(),
        users: emu.userIds().map((userId) => ({ userId, accounts: emu.accountsOf(userId) })),
      };
    case 'POST /__admin/apps': {
      const b = parse(schemas.app, body);
      emu.registerApp(b.integrationKey, b.publicKeyPem);
      return ok;
    }
    case 'POST /__admin/apps/remove-key':
      emu.removeAppKey(parse(schemas.appKey, body).integrationKey);
      return ok;
    case 'POST /__admin/users': {
      const b = parse(schemas.user, body);
      emu.addUser(b);
      return { ok: true, accounts: emu.accountsOf(b.userId) };
    }
    case 'GET /__admin/accounts':
      return emu.accountsOf(requiredQuery(q, 'userId'));
    case 'POST /__admin/accounts/move': {
      const b = parse(schemas.move, body);
      emu.moveAccount(b.accountId, b.region);
      return ok;
    }
    case 'POST /__admin/accounts/base-uri': {
      const b = parse(schemas.baseUri, body);
      emu.setBaseUri(b.accountId, b.baseUri);
      return ok;
    }
    case 'POST /__admin/consent': {
      const b = parse(schemas.consent, body);
      emu.grantConsent(b.integrationKey, b.userId);
      return ok;
    }
    case 'POST /__admin/consent/revoke': {
      const b = parse(schemas.consent, body);
      emu.revokeConsent(b.integrationKey, b.userId);
      return ok;
    }
    case 'POST /__admin/consent-mode':
      emu.setConsentMode(parse(schemas.consentMode, body).mode);
      return ok;
    case 'GET /__admin/envelopes':
      return emu.envelopes(requiredQuery(q, 'accountId'));
    case 'GET /__admin/envelopes/status-counts':
      return emu.envelopeStatusCounts(requiredQuery(q, 'accountId'));
    case 'POST /__admin/envelopes/seed': {
      const b = parse(schemas.seed, body);
      emu.seedEnvelopes(b.accountId, b.count, { seed: b.seed, days: b.days });
      return ok;
    }
    case 'POST /__admin/envelopes/mutate': {
      const b = parse(schemas.mutate, body);
      return { envelopeIds: emu.mutate(b.accountId, b.k) };
    }
    case 'POST /__admin/clock':
      emu.setClock(parse(schemas.clock, body).offsetSeconds);
      return { ok: true, now: new Date(emu.now()).toISOString() };
    case 'GET /__admin/stats': {
      const s = emu.stats;
      return {
        calls: s.calls,
        pagesServed: s.pagesServed,
        callsWhileLimited: s.callsWhileLimited,
        documentsDownloaded: s.documentsDownloaded,
        throttled: s.throttled,
        pollingLimited: s.pollingLimited,
        connect: s.connect,
        tokensIssued: s.tokensIssued,
        assertionsReceived: s.assertionsReceived,
      };
    }
    case 'POST /__admin/stats/reset':
      emu.stats.reset();
      return ok;
    case 'POST /__admin/rate-limit':
      emu.setRateLimit(parse(schemas.rateLimit, body));
      return ok;
    case 'POST /__admin/token-lifetime':
      emu.setTokenLifetime(parse(schemas.tokenLifetime, body).seconds);
      return ok;
    case 'POST /__admin/polling-limit': {
      const b = parse(schemas.pollingLimit, body);
      emu.setEnvelopePollingLimit(b.limit, b.windowSeconds);
      return ok;
    }
    case 'POST /__admin/download-limit': {
      const b = parse(schemas.downloadLimit, body);
      emu.setDocumentDownloadLimit(b.perHour, b.perSixHours);
      return ok;
    }
    case 'GET /__admin/directory':
      return emu.directory(requiredQuery(q, 'accountId'));
    case 'GET /__admin/templates':
      return emu.templates(requiredQuery(q, 'accountId'));
    case 'POST /__admin/envelopes/add': {
      const { accountId, ...spec } = parse(schemas.envelope, body);
      return emu.addEnvelope(accountId, spec);
    }
    case 'POST /__admin/connect':
      return { ok: true, configurationId: emu.setConnect(parse(schemas.connect, body)) };
    case 'POST /__admin/connect/clear':
      emu.clearConnect();
      return ok;
    case 'GET /__admin/connect/failures':
      return emu.connectFailures();
    case 'POST /__admin/connect/settled':
      return emu.connectSettled().then(() => ok);
  }
  const access = accessReviewRoute(emu, key, body);
  if (access !== undefined) return access;
  const fault = /^POST \/__admin\/faults\/([A-Za-z]+)$/.exec(key)?.[1];
  if (fault !== undefined) return runFault(emu, fault, body);
  throw new AdminError(`unknown admin route ${key}`, 404);
}

function requiredQuery(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (!v) throw new AdminError(`${name} query parameter is required`);
  return v;
}

/** The access-review changes (issue 12); undefined when `key` is none of them. */
function accessReviewRoute(emu: EmulatorServer, key: string, body: string): unknown {
  const ok = { ok: true };
  switch (key) {
    case 'POST /__admin/directory/seed': {
      const { accountId, ...size } = parse(schemas.seedDirectory, body);
      emu.seedDirectory(accountId, size);
      return ok;
    }
    case 'POST /__admin/account-users': {
      const { accountId, ...spec } = parse(schemas.accountUser, body);
      return { ok: true, userId: emu.addAccountUser(accountId, spec) };
    }
    case 'POST /__admin/account-users/close': {
      const b = parse(schemas.accountUserId, body);
      emu.closeUser(b.accountId, b.userId);
      return ok;
    }
    case 'POST /__admin/account-users/remove': {
      const b = parse(schemas.accountUserId, body);
      emu.removeUser(b.accountId, b.userId);
      return ok;
    }
    case 'POST /__admin/account-users/status': {
      const b = parse(schemas.userStatus, body);
      emu.setUserStatus(b.accountId, b.userId, b.status);
      return ok;
    }
    case 'POST /__admin/account-users/last-login': {
      const b = parse(schemas.lastLogin, body);
      emu.setLastLogin(b.accountId, b.userId, b.lastLogin ?? undefined);
      return ok;
    }
    case 'POST /__admin/account-users/admin': {
      const b = parse(schemas.admin, body);
      emu.setAdmin(b.accountId, b.userId, b.isAdmin);
      return ok;
    }
    case 'POST /__admin/account-users/profile': {
      const b = parse(schemas.profile, body);
      emu.setUserProfile(b.accountId, b.userId, b.profile);
      return ok;
    }
    case 'POST /__admin/groups': {
      const { accountId, ...spec } = parse(schemas.group, body);
      return { ok: true, groupId: emu.createGroup(accountId, spec) };
    }
    case 'POST /__admin/groups/delete': {
      const b = parse(schemas.groupId, body);
      emu.deleteGroup(b.accountId, b.groupId);
      return ok;
    }
    case 'POST /__admin/groups/members/add': {
      const b = parse(schemas.groupMember, body);
      emu.addGroupMember(b.accountId, b.groupId, b.userId);
      return ok;
    }
    case 'POST /__admin/groups/members/remove': {
      const b = parse(schemas.groupMember, body);
      emu.removeGroupMember(b.accountId, b.groupId, b.userId);
      return ok;
    }
    case 'POST /__admin/permission-profiles/settings': {
      const b = parse(schemas.profileSettings, body);
      emu.setProfileSettings(b.accountId, b.profile, b.settings);
      return ok;
    }
    case 'POST /__admin/settings': {
      const b = parse(schemas.settings, body);
      emu.setAccountSettings(b.accountId, b.settings);
      return ok;
    }
    case 'POST /__admin/password-rules': {
      const b = parse(schemas.passwordRules, body);
      emu.setPasswordRules(b.accountId, b.rules);
      return ok;
    }
    case 'POST /__admin/signing-groups': {
      const { accountId, ...spec } = parse(schemas.signingGroup, body);
      return { ok: true, signingGroupId: emu.addSigningGroup(accountId, spec) };
    }
    case 'POST /__admin/signing-groups/delete': {
      const b = parse(schemas.signingGroupId, body);
      emu.removeSigningGroup(b.accountId, b.signingGroupId);
      return ok;
    }
    case 'POST /__admin/signing-groups/members/add': {
      const { accountId, signingGroupId, ...member } = parse(schemas.signingGroupMember, body);
      emu.addSigningGroupMember(accountId, signingGroupId, member);
      return ok;
    }
    case 'POST /__admin/signing-groups/members/remove': {
      const b = parse(schemas.signingGroupEmail, body);
      emu.removeSigningGroupMember(b.accountId, b.signingGroupId, b.email);
      return ok;
    }
  }
  return undefined;
}

function runFault(emu: EmulatorServer, name: string, body: string): unknown {
  const f = emu.faults;
  switch (name) {
    case 'failNext': {
      const b = parse(schemas.failNext, body);
      f.failNext(b.n, b.status);
      break;
    }
    case 'latencyMs':
      f.latencyMs(parse(schemas.latency, body).ms);
      break;
    case 'mutateBetweenPages':
      f.mutateBetweenPages(parse(schemas.mutateBetweenPages, body).k);
      break;
    case 'badEnvelopeNext':
      f.badEnvelopeNext(parse(schemas.badEnvelopeNext, body).envelopeId);
      break;
    case 'certificateUnavailable': {
      const b = parse(schemas.certificateUnavailable, body);
      f.certificateUnavailable(b.envelopeId, b.times);
      break;
    }
    case 'omitNextUri':
    case 'zonelessTimes':
      f[name](parse(schemas.toggle, body).on);
      break;
    case 'malformedNext':
    case 'invalidShapeNext':
    case 'hangNext':
    case 'revokeTokens':
    case 'exhaustHourly':
    case 'exhaustBurst':
    case 'clear':
      f[name]();
      break;
    default:
      throw new AdminError(`unknown fault '${name}'`, 404);
  }
  return { ok: true, fault: name };
}
