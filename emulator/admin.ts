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
 *                                              | exhaustBurst | clear
 *   GET  /__admin/stats                        {calls, pagesServed, callsWhileLimited, tokensIssued, assertionsReceived}
 *   POST /__admin/stats/reset
 *   POST /__admin/rate-limit                   {hourlyLimit?, hourlyWindowSeconds?, burstLimit?, burstWindowSeconds?, status?}
 *   POST /__admin/token-lifetime               {seconds}
 *   POST /__admin/polling-limit                {limit?, windowSeconds?}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { EmulatorServer } from './server';

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

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
      reply(200, route(emu, req.method ?? 'GET', url, body));
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
    case 'GET /__admin/accounts': {
      const userId = q.get('userId');
      if (!userId) throw new AdminError('userId query parameter is required');
      return emu.accountsOf(userId);
    }
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
    case 'GET /__admin/envelopes': {
      const accountId = q.get('accountId');
      if (!accountId) throw new AdminError('accountId query parameter is required');
      return emu.envelopes(accountId);
    }
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
      const { calls, pagesServed, callsWhileLimited, tokensIssued, assertionsReceived } = emu.stats;
      return { calls, pagesServed, callsWhileLimited, tokensIssued, assertionsReceived };
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
  }
  const fault = /^POST \/__admin\/faults\/([A-Za-z]+)$/.exec(key)?.[1];
  if (fault !== undefined) return runFault(emu, fault, body);
  throw new AdminError(`unknown admin route ${key}`, 404);
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
