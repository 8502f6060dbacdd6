/**
 * DocuSign emulator tests: every behaviour over real HTTP, assertions signed by jose with RSA keys as DocuSign's
 * "Generate RSA" gives them (PKCS#1) and as PKCS#8.
 *
 *   node --import tsx --test --test-force-exit test/emulator.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type KeyObject, createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { SignJWT, importPKCS8 } from 'jose';
import {
  DOCUSIGN_TS_PATTERN,
  type DirectoryTruth,
  ENDPOINTS,
  ZONELESS_TS_PATTERN,
  type Emulator,
  type EnvelopeLike,
  startEmulator,
} from '../emulator/index';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const IK = '0b4c5f0e-1a2b-4c3d-8e9f-000000000001';
const IK2 = '0b4c5f0e-1a2b-4c3d-8e9f-000000000002';
const USER = '7d0c1e2f-3a4b-4c5d-9e6f-000000000010';
const OTHER_USER = '7d0c1e2f-3a4b-4c5d-9e6f-000000000011';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AUTH_FAILED = {
  errorCode: 'USER_AUTHENTICATION_FAILED',
  message: 'One or both of Username and Password are invalid. Invalid access token',
};

// DocuSign's "Generate RSA" gives a PKCS#1 private key (BEGIN RSA PRIVATE KEY); key B is PKCS#8.
const pairA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pairB = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PKCS1_PRIVATE_A = pairA.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const SPKI_PUBLIC_A = pairA.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const PKCS8_PRIVATE_B = pairB.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PKCS1_PUBLIC_B = pairB.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const keyA: KeyObject = createPrivateKey(PKCS1_PRIVATE_A);

interface Claims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  iat?: number;
  exp?: number;
  nbf?: number;
  scope?: string;
}

let emu: Emulator;
type SigningKey = Parameters<SignJWT['sign']>[0];

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

async function assertion(
  overrides: Partial<Claims> & { omit?: (keyof Claims)[] } = {},
  key: SigningKey = keyA,
): Promise<string> {
  // The client's clock is the emulator's unless a test says otherwise (setClock models the server's skew).
  const iat = Math.floor(emu.now() / 1000);
  const claims: Claims = {
    iss: IK,
    sub: USER,
    aud: emu.host,
    iat,
    exp: iat + 600,
    scope: 'signature impersonation',
    ...overrides,
  };
  for (const k of overrides.omit ?? []) delete claims[k];
  delete (claims as { omit?: unknown }).omit;
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(key);
}

async function tokenRequest(
  jwt: string,
  grantType = GRANT,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${emu.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: grantType, assertion: jwt }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function mint(overrides: Partial<Claims> = {}): Promise<string> {
  const r = await tokenRequest(await assertion(overrides));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token as string;
}

async function get(url: string, token?: string): Promise<Response> {
  return fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, redirect: 'manual' });
}

async function getJson<T = Record<string, unknown>>(
  url: string,
  token?: string,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await get(url, token);
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

function defaultAccount(userId = USER): { accountId: string; baseUri: string } {
  const a = emu.accountsOf(userId).find((x) => x.isDefault);
  assert.ok(a);
  return a;
}

function restBase(userId = USER): string {
  const a = defaultAccount(userId);
  return `${a.baseUri}/restapi/v2.1/accounts/${a.accountId}`;
}

async function expectGrantError(jwt: string, error: string, description?: string): Promise<void> {
  const r = await tokenRequest(jwt);
  assert.equal(r.status, 400);
  if (description === undefined) assert.deepEqual(r.body, { error });
  else assert.deepEqual(r.body, { error, error_description: description });
}

interface EnvelopePage {
  envelopes: EnvelopeLike[];
  resultSetSize: string;
  totalSetSize: string;
  startPosition: string;
  endPosition: string;
  nextUri: string;
  previousUri: string;
}

/** Follows nextUri the way a client must: prefix the REST base + /restapi/v2.1 to the relative URI. */
async function listAll(token: string, query: string): Promise<{ pages: EnvelopePage[]; envelopes: EnvelopeLike[] }> {
  const { baseUri, accountId } = defaultAccount();
  const pages: EnvelopePage[] = [];
  let url: string | undefined = `${baseUri}/restapi/v2.1/accounts/${accountId}/envelopes?${query}`;
  while (url) {
    const r: { status: number; body: EnvelopePage } = await getJson<EnvelopePage>(url, token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pages.push(r.body);
    url = r.body.nextUri ? `${baseUri}/restapi/v2.1${r.body.nextUri}` : undefined;
    assert.ok(pages.length < 100, 'runaway paging');
  }
  return { pages, envelopes: pages.flatMap((p) => p.envelopes) };
}

before(async () => {
  emu = await startEmulator({ seed: 7, envelopes: 250 });
  emu.registerApp(IK, SPKI_PUBLIC_A);
  emu.addUser({ userId: USER, name: 'Casey Compliance', email: 'casey@example.com' });
  emu.grantConsent(IK, USER);
});

after(async () => {
  await emu.stop();
});

afterEach(() => {
  emu.faults.clear();
  emu.setClock(0);
  emu.setRateLimit(undefined);
  emu.setTokenLifetime(3600);
  emu.setConsentMode('approve');
  emu.setEnvelopePollingLimit(10, 900);
  emu.setDocumentDownloadLimit(10, 20);
  emu.registerApp(IK, SPKI_PUBLIC_A);
  emu.grantConsent(IK, USER);
});

// ---------------------------------------------------------------------------------------------------------------

void describe('POST /oauth/token', () => {
  void test('PKCS#1 private key, SPKI public key: 200 with Bearer token, expires_in, no refresh_token; recorded', async () => {
    emu.stats.reset();
    const jwt = await assertion();
    const r = await tokenRequest(jwt);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(r.body.token_type, 'Bearer');
    assert.equal(r.body.expires_in, 3600);
    assert.equal(typeof r.body.access_token, 'string');
    assert.ok((r.body.access_token as string).length >= 32);
    assert.ok(!('refresh_token' in r.body));
    assert.deepEqual(emu.stats.tokensIssued, [r.body.access_token]);
    assert.deepEqual(emu.stats.assertionsReceived, [jwt]);
    assert.equal(emu.stats.calls['POST /oauth/token'], 1);
  });

  void test('PKCS#8 private key with a PKCS#1 ("RSA PUBLIC KEY") registered public key', async () => {
    emu.registerApp(IK2, PKCS1_PUBLIC_B);
    emu.grantConsent(IK2, USER);
    const key = await importPKCS8(PKCS8_PRIVATE_B, 'RS256');
    const r = await tokenRequest(await assertion({ iss: IK2 }, key));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Key A cannot sign for IK2.
    await expectGrantError(await assertion({ iss: IK2 }), 'invalid_grant', 'no_valid_keys_or_signatures');
  });

  void test('issued tokens are distinct; setTokenLifetime changes expires_in', async () => {
    emu.setTokenLifetime(120);
    const a = await tokenRequest(await assertion());
    const b = await tokenRequest(await assertion());
    assert.equal(a.body.expires_in, 120);
    assert.notEqual(a.body.access_token, b.body.access_token);
  });

  void test('wrong grant_type or non-form body → invalid_grant/unsupported_grant_type', async () => {
    const r = await tokenRequest(await assertion(), 'authorization_code');
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { error: 'invalid_grant', error_description: 'unsupported_grant_type' });
    const res = await fetch(`${emu.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: GRANT, assertion: await assertion() }),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: 'invalid_grant', error_description: 'unsupported_grant_type' });
  });

  void test('garbage assertion or HS256 → no_valid_keys_or_signatures', async () => {
    await expectGrantError('not.a.jwt', 'invalid_grant', 'no_valid_keys_or_signatures');
    const hs = await new SignJWT({
      iss: IK,
      sub: USER,
      aud: emu.host,
      iat: nowSec(),
      exp: nowSec() + 600,
      scope: 'signature impersonation',
    })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expectGrantError(hs, 'invalid_grant', 'no_valid_keys_or_signatures');
  });

  void test('unknown iss → issuer_not_found', async () => {
    await expectGrantError(
      await assertion({ iss: '99999999-9999-4999-8999-999999999999' }),
      'invalid_grant',
      'issuer_not_found',
    );
  });

  void test('aud: scheme or trailing slash → no_valid_keys_or_signatures; other host → issuer_not_found', async () => {
    await expectGrantError(
      await assertion({ aud: `https://${emu.host}` }),
      'invalid_grant',
      'no_valid_keys_or_signatures',
    );
    await expectGrantError(await assertion({ aud: `${emu.host}/` }), 'invalid_grant', 'no_valid_keys_or_signatures');
    await expectGrantError(await assertion({ aud: 'account-d.docusign.com' }), 'invalid_grant', 'issuer_not_found');
    await expectGrantError(await assertion({ aud: 'localhost:1' }), 'invalid_grant', 'issuer_not_found');
  });

  void test('signature by another key, or no key registered → no_valid_keys_or_signatures', async () => {
    await expectGrantError(await assertion({}, pairB.privateKey), 'invalid_grant', 'no_valid_keys_or_signatures');
    emu.removeAppKey(IK);
    await expectGrantError(await assertion(), 'invalid_grant', 'no_valid_keys_or_signatures');
    // Re-registering (replacing) the key restores access; a new key replaces the old one.
    emu.registerApp(IK, PKCS1_PUBLIC_B);
    assert.equal((await tokenRequest(await assertion({}, pairB.privateKey))).status, 200);
    await expectGrantError(await assertion(), 'invalid_grant', 'no_valid_keys_or_signatures');
  });

  void test('exp missing → no_valid_keys_or_signatures; exp past → expired_grant; exp-iat > 3600 → no_valid_keys', async () => {
    await expectGrantError(await assertion({ omit: ['exp'] }), 'invalid_grant', 'no_valid_keys_or_signatures');
    await expectGrantError(
      await assertion({ iat: nowSec() - 700, exp: nowSec() - 100 }),
      'invalid_grant',
      'expired_grant',
    );
    await expectGrantError(await assertion({ exp: nowSec() + 3601 }), 'invalid_grant', 'no_valid_keys_or_signatures');
    assert.equal((await tokenRequest(await assertion({ exp: nowSec() + 3600 }))).status, 200);
  });

  void test('iat ahead beyond tolerance and nbf in the future → no_valid_keys_or_signatures; within tolerance OK', async () => {
    const t = nowSec();
    await expectGrantError(
      await assertion({ iat: t + 120, exp: t + 700 }),
      'invalid_grant',
      'no_valid_keys_or_signatures',
    );
    assert.equal((await tokenRequest(await assertion({ iat: t + 20, exp: t + 620 }))).status, 200);
    await expectGrantError(await assertion({ nbf: t + 300 }), 'invalid_grant', 'no_valid_keys_or_signatures');
    assert.equal((await tokenRequest(await assertion({ nbf: t - 5 }))).status, 200);
  });

  void test('emulator clock skew (setClock) makes a fresh assertion fail; Date header follows the clock', async () => {
    const client = { iat: nowSec(), exp: nowSec() + 600 }; // the client's clock is the real one
    emu.setClock(-300); // emulator 5 min behind the client
    await expectGrantError(await assertion(client), 'invalid_grant', 'no_valid_keys_or_signatures');
    const res = await fetch(`${emu.url}/oauth/userinfo`);
    const date = Date.parse(res.headers.get('date') ?? '');
    assert.ok(Math.abs(date - (Date.now() - 300_000)) < 5000, `Date header ${res.headers.get('date')}`);
    emu.setClock(7200); // emulator 2 h ahead: the assertion has expired
    await expectGrantError(await assertion(client), 'invalid_grant', 'expired_grant');
  });

  void test('unknown or missing sub → user_not_found', async () => {
    await expectGrantError(
      await assertion({ sub: '11111111-1111-4111-8111-111111111111' }),
      'invalid_grant',
      'user_not_found',
    );
    await expectGrantError(await assertion({ omit: ['sub'] }), 'invalid_grant', 'user_not_found');
  });

  void test('consent: missing impersonation scope, never granted, revoked → 400 {"error":"consent_required"}', async () => {
    await expectGrantError(await assertion({ scope: 'signature' }), 'consent_required');
    emu.addUser({ userId: OTHER_USER });
    await expectGrantError(await assertion({ sub: OTHER_USER }), 'consent_required');
    emu.revokeConsent(IK, USER);
    await expectGrantError(await assertion(), 'consent_required');
    emu.grantConsent(IK, USER);
    assert.equal((await tokenRequest(await assertion())).status, 200);
  });
});

void describe('GET /oauth/auth (consent)', () => {
  const consentUrl = (params: Record<string, string>): string =>
    `${emu.url}/oauth/auth?${new URLSearchParams({ response_type: 'code', scope: 'signature impersonation', redirect_uri: 'https://app.example.com/cb', ...params }).toString()}`;

  void test('approve: 302 to redirect_uri with code and state, and consent is recorded', async () => {
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000020';
    emu.addUser({ userId: uid });
    await expectGrantError(await assertion({ sub: uid }), 'consent_required');
    const res = await get(consentUrl({ client_id: IK, state: 'xyz', login_hint: uid }));
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location') ?? '');
    assert.equal(loc.origin + loc.pathname, 'https://app.example.com/cb');
    assert.equal(loc.searchParams.get('state'), 'xyz');
    assert.ok((loc.searchParams.get('code') ?? '').length > 10);
    assert.equal((await tokenRequest(await assertion({ sub: uid }))).status, 200);
  });

  void test('approve without a user hint consents for every known user', async () => {
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000021';
    emu.addUser({ userId: uid });
    const res = await get(consentUrl({ client_id: IK }));
    assert.equal(res.status, 302);
    assert.equal((await tokenRequest(await assertion({ sub: uid }))).status, 200);
  });

  void test('consent for "signature" only still yields consent_required for impersonation', async () => {
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000022';
    emu.addUser({ userId: uid });
    assert.equal((await get(consentUrl({ client_id: IK, scope: 'signature', login_hint: uid }))).status, 302);
    await expectGrantError(await assertion({ sub: uid }), 'consent_required');
  });

  void test('deny mode: 302 with error=access_denied and state; nothing recorded', async () => {
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000023';
    emu.addUser({ userId: uid });
    emu.setConsentMode('deny');
    const res = await get(consentUrl({ client_id: IK, state: 's1', login_hint: uid }));
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location') ?? '');
    assert.equal(loc.searchParams.get('error'), 'access_denied');
    assert.equal(loc.searchParams.get('state'), 's1');
    assert.equal(loc.searchParams.get('code'), null);
    await expectGrantError(await assertion({ sub: uid }), 'consent_required');
  });

  void test('unknown client_id → 400', async () => {
    const res = await get(consentUrl({ client_id: '12345678-1234-4234-8234-123456789012' }));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
  });
});

void describe('GET /oauth/userinfo', () => {
  void test('snake_case shape, boolean is_default, base_uri = url/region, two accounts (na3 default, eu)', async () => {
    const token = await mint();
    const r = await getJson<{
      sub: string;
      name: string;
      email: string;
      given_name: string;
      family_name: string;
      created: string;
      accounts: { account_id: string; is_default: unknown; account_name: string; base_uri: string }[];
    }>(`${emu.url}/oauth/userinfo`, token);
    assert.equal(r.status, 200);
    assert.equal(r.body.sub, USER);
    assert.equal(r.body.name, 'Casey Compliance');
    assert.equal(r.body.given_name, 'Casey');
    assert.equal(r.body.family_name, 'Compliance');
    assert.equal(r.body.email, 'casey@example.com');
    assert.equal(typeof r.body.created, 'string');
    assert.equal(r.body.accounts.length, 2);
    const [a, b] = r.body.accounts;
    assert.equal(a?.is_default, true);
    assert.equal(b?.is_default, false);
    assert.equal(a?.base_uri, `${emu.url}/na3`);
    assert.equal(b?.base_uri, `${emu.url}/eu`);
    assert.match(a?.account_id ?? '', GUID);
    assert.deepEqual(
      emu.accountsOf(USER).map((x) => [x.accountId, x.baseUri, x.isDefault]),
      r.body.accounts.map((x) => [x.account_id, x.base_uri, x.is_default]),
    );
  });

  void test('explicit accounts are honoured', async () => {
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000030';
    const acct = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000001';
    emu.addUser({ userId: uid, accounts: [{ accountId: acct, accountName: 'Solo', region: 'na2', isDefault: true }] });
    emu.grantConsent(IK, uid);
    const token = await mint({ sub: uid });
    const r = await getJson<{ accounts: { account_id: string; base_uri: string; account_name: string }[] }>(
      `${emu.url}/oauth/userinfo`,
      token,
    );
    assert.deepEqual(
      r.body.accounts.map((x) => [x.account_id, x.account_name, x.base_uri]),
      [[acct, 'Solo', `${emu.url}/na2`]],
    );
  });

  void test('bad, expired and revoked tokens → 401 {"error":"internal_server_error","reference_id":<guid>}', async () => {
    const check = async (token: string | undefined): Promise<void> => {
      const r = await getJson<{ error: string; reference_id: string }>(`${emu.url}/oauth/userinfo`, token);
      assert.equal(r.status, 401);
      assert.deepEqual(Object.keys(r.body).sort(), ['error', 'reference_id']);
      assert.equal(r.body.error, 'internal_server_error');
      assert.match(r.body.reference_id, GUID);
    };
    await check(undefined);
    await check('not-a-token');
    emu.setTokenLifetime(60);
    const shortLived = await mint();
    assert.equal((await get(`${emu.url}/oauth/userinfo`, shortLived)).status, 200);
    emu.setClock(61);
    await check(shortLived);
    emu.setClock(0);
    const t = await mint();
    emu.faults.revokeTokens();
    await check(t);
    assert.equal(
      (await get(`${emu.url}/oauth/userinfo`, await mint())).status,
      200,
      'tokens minted after revocation work',
    );
  });
});

void describe('REST authentication, membership and region', () => {
  void test('missing, unknown, expired, revoked bearer → 401 USER_AUTHENTICATION_FAILED with rate-limit headers', async () => {
    const url = `${restBase()}/settings`;
    for (const token of [undefined, 'bogus']) {
      const r = await getJson(url, token);
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, AUTH_FAILED);
      assert.ok(r.headers.get('x-ratelimit-limit'));
      assert.match(r.headers.get('x-docusign-tracetoken') ?? '', GUID);
    }
    const t = await mint();
    assert.equal((await get(url, t)).status, 200);
    emu.faults.revokeTokens();
    assert.deepEqual((await getJson(url, t)).body, AUTH_FAILED);
    emu.setTokenLifetime(30);
    const t2 = await mint();
    emu.setClock(31);
    const r = await getJson(url, t2);
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, AUTH_FAILED);
  });

  void test('wrong region or no region → 400 PARTNER_AUTHENTICATION_FAILED; moveAccount moves base_uri', async () => {
    const token = await mint();
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000040';
    emu.addUser({ userId: uid });
    emu.grantConsent(IK, uid);
    const t = await mint({ sub: uid });
    const { accountId } = defaultAccount(uid);
    const wrong = {
      errorCode: 'PARTNER_AUTHENTICATION_FAILED',
      message: 'The specified Integrator Key was not found or is disabled. Invalid account specified for user.',
    };
    let r = await getJson(`${emu.url}/eu/restapi/v2.1/accounts/${accountId}/settings`, t);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, wrong);
    r = await getJson(`${emu.url}/restapi/v2.1/accounts/${accountId}/settings`, t);
    assert.deepEqual(r.body, wrong);
    assert.equal((await get(`${emu.url}/na3/restapi/v2.1/accounts/${accountId}/settings`, t)).status, 200);

    emu.moveAccount(accountId, 'na4');
    r = await getJson(`${emu.url}/na3/restapi/v2.1/accounts/${accountId}/settings`, t);
    assert.deepEqual(r.body, wrong);
    assert.equal((await get(`${emu.url}/na4/restapi/v2.1/accounts/${accountId}/settings`, t)).status, 200);
    const ui = await getJson<{ accounts: { account_id: string; base_uri: string }[] }>(`${emu.url}/oauth/userinfo`, t);
    assert.equal(ui.body.accounts.find((a) => a.account_id === accountId)?.base_uri, `${emu.url}/na4`);
    void token;
  });

  void test('account of another user, or unknown account → 400 USER_LACKS_MEMBERSHIP', async () => {
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000041';
    emu.addUser({ userId: uid });
    const token = await mint();
    const other = defaultAccount(uid);
    for (const acct of [other.accountId, '00000000-0000-4000-8000-000000000000']) {
      const r = await getJson(`${emu.url}/na3/restapi/v2.1/accounts/${acct}/envelopes?from_date=2020-01-01`, token);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, {
        errorCode: 'USER_LACKS_MEMBERSHIP',
        message: 'The UserID does not have a valid membership in this Account.',
      });
    }
  });
});

void describe('GET envelopes (listStatusChanges)', () => {
  void test('no from_date/envelope_ids/transaction_ids → 400 INVALID_REQUEST_PARAMETER with the documented message', async () => {
    const token = await mint();
    for (const q of ['', '?status=any', '?from_date=yesterday-ish']) {
      const r = await getJson(`${restBase()}/envelopes${q}`, token);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, {
        errorCode: 'INVALID_REQUEST_PARAMETER',
        message:
          "The request contained at least one invalid parameter. Query parameter 'from_date' must be set to a valid DateTime, or 'envelope_ids' or 'transaction_ids' must be specified.",
      });
    }
  });

  void test('paging with nextUri returns exactly the ground truth (status=any excludes drafts), counts as strings', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const truth = emu.envelopes(accountId);
    const from = '2000-01-01T00:00:00.000Z';
    const { pages, envelopes } = await listAll(
      token,
      `from_date=${from}&status=any&order_by=status_changed&order=asc&count=40&include=recipients`,
    );
    const expected = truth.filter((e) => e.status !== 'created');
    assert.ok(
      truth.some((e) => e.status === 'created'),
      'the data has drafts',
    );
    assert.equal(envelopes.length, expected.length);
    assert.deepEqual(envelopes, expected);
    // Shape of the paging fields.
    const first = pages[0]!;
    assert.equal(first.resultSetSize, '40');
    assert.equal(first.startPosition, '0');
    assert.equal(first.endPosition, '39');
    assert.equal(first.totalSetSize, String(expected.length));
    assert.equal(first.previousUri, '');
    assert.equal(
      first.nextUri,
      `/accounts/${accountId}/envelopes?start_position=40&count=40&from_date=${encodeURIComponent(from)}&status=any&order_by=status_changed&order=asc&include=recipients`,
    );
    assert.ok(!first.nextUri.includes('/restapi'));
    const second = pages[1]!;
    assert.equal(second.startPosition, '40');
    assert.ok(second.previousUri.includes('start_position=0'));
    const last = pages.at(-1)!;
    assert.equal(last.nextUri, '');
    assert.equal(Number(last.endPosition), expected.length - 1);
    for (const p of pages)
      for (const k of ['resultSetSize', 'totalSetSize', 'startPosition', 'endPosition'] as const)
        assert.equal(typeof p[k], 'string');
  });

  void test('a status-filtered window paged again after a change answers from the changed data, not the last answer', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    // A fixed to_date, as a sync sends: the same query before and after the change.
    const query = `from_date=2000-01-01T00:00:00.000Z&to_date=2100-01-01T00:00:00.000Z&status=any&order_by=status_changed&order=asc&count=40`;
    const ids = (envelopes: { envelopeId: string }[]) => envelopes.map((e) => e.envelopeId);
    const truth = () => ids(emu.envelopes(accountId).filter((e) => e.status !== 'created'));
    assert.deepEqual(ids((await listAll(token, query)).envelopes), truth());
    const before = truth();
    emu.mutate(accountId, 6);
    assert.notDeepEqual(truth(), before, 'the change moves envelopes in the order');
    assert.deepEqual(ids((await listAll(token, query)).envelopes), truth());
  });

  void test('order asc/desc by statusChangedDateTime; from_date/to_date window; timestamps have 7 fractional digits', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const truth = emu.envelopes(accountId);
    const mid = truth[Math.floor(truth.length / 2)]!.statusChangedDateTime;
    const end = truth[Math.floor((truth.length * 3) / 4)]!.statusChangedDateTime;
    const expected = truth.filter((e) => e.statusChangedDateTime >= mid && e.statusChangedDateTime <= end);
    const asc = await listAll(
      token,
      `from_date=${encodeURIComponent(mid)}&to_date=${encodeURIComponent(end)}&order_by=status_changed&order=asc`,
    );
    assert.deepEqual(
      asc.envelopes.map((e) => e.envelopeId),
      expected.map((e) => e.envelopeId),
    );
    const desc = await listAll(
      token,
      `from_date=${encodeURIComponent(mid)}&to_date=${encodeURIComponent(end)}&order_by=status_changed&order=desc`,
    );
    assert.deepEqual(
      desc.envelopes.map((e) => e.envelopeId),
      expected.map((e) => e.envelopeId).reverse(),
    );
    for (const e of asc.envelopes) {
      for (const f of [
        'createdDateTime',
        'statusChangedDateTime',
        'lastModifiedDateTime',
        'sentDateTime',
        'completedDateTime',
      ] as const) {
        if (e[f] !== undefined) assert.match(e[f], DOCUSIGN_TS_PATTERN);
      }
    }
  });

  void test('recipients only with include=recipients; signers and carbon copies camelCase with string counts', async () => {
    const token = await mint();
    const without = await getJson<EnvelopePage>(`${restBase()}/envelopes?from_date=2000-01-01&count=5`, token);
    assert.equal(without.body.envelopes.length, 5);
    for (const e of without.body.envelopes) assert.equal(e.recipients, undefined);
    const withR = await getJson<EnvelopePage>(
      `${restBase()}/envelopes?from_date=2000-01-01&count=100&include=recipients&status=completed`,
      token,
    );
    let ccSeen = false;
    for (const e of withR.body.envelopes) {
      const r = e.recipients!;
      assert.ok(r.signers.length >= 1 && r.signers.length <= 3);
      assert.ok(r.carbonCopies.length <= 2);
      ccSeen ||= r.carbonCopies.length > 0;
      assert.equal(r.recipientCount, String(r.signers.length + r.carbonCopies.length));
      assert.equal(typeof r.currentRoutingOrder, 'string');
      for (const s of r.signers) {
        assert.equal(s.status, 'completed');
        assert.match(s.signedDateTime as string, DOCUSIGN_TS_PATTERN);
        assert.equal(typeof s.routingOrder, 'string');
        assert.equal(typeof s.recipientId, 'string');
        assert.equal(typeof s.email, 'string');
      }
      assert.equal(e.status, 'completed');
      assert.match(e.completedDateTime!, DOCUSIGN_TS_PATTERN);
    }
    assert.ok(ccSeen);
  });

  void test('list items carry the real keys (docusign-api.md §10): ~37 envelope keys, sender, extra signer keys', async () => {
    const token = await mint();
    const r = await getJson<EnvelopePage>(
      `${restBase()}/envelopes?from_date=2000-01-01&count=20&include=recipients&status=completed`,
      token,
    );
    for (const e of r.body.envelopes) {
      const keys = Object.keys(e);
      assert.ok(keys.length >= 37, `${keys.length} keys`);
      for (const k of [
        'anySigner',
        'isTicketRelatedEnvelope',
        'uSigState',
        'purgeState',
        'envelopeLocation',
        'certificateUri',
        'burnDefaultTabData',
        'envelopeUri',
        'documentsUri',
        'recipientsUri',
        'customFieldsUri',
        'notificationUri',
      ]) {
        assert.ok(keys.includes(k), k);
      }
      assert.deepEqual(Object.keys(e.sender as object).sort(), ['accountId', 'email', 'userId', 'userName']);
      for (const signer of e.recipients!.signers) {
        for (const k of [
          'recipientSuppliesTabs',
          'recipientIdGuid',
          'creationReason',
          'deliveryMethod',
          'completedCount',
          'requireUploadSignature',
        ]) {
          assert.equal(typeof signer[k], 'string', k);
        }
      }
    }
  });

  void test('status filter, drafts, count cap at maxPageSize, envelope_ids without from_date, bad parameters', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const truth = emu.envelopes(accountId);
    const drafts = await listAll(token, 'from_date=2000-01-01&status=created');
    assert.equal(drafts.envelopes.length, truth.filter((e) => e.status === 'created').length);
    const all = await listAll(token, 'from_date=2000-01-01');
    assert.equal(all.envelopes.length, truth.length, 'no status filter → every status including drafts');
    const two = await listAll(token, 'from_date=2000-01-01&status=voided,declined');
    assert.deepEqual(new Set(two.envelopes.map((e) => e.status)), new Set(['voided', 'declined']));
    const capped = await getJson<EnvelopePage>(`${restBase()}/envelopes?from_date=2000-01-01&count=1000`, token);
    assert.equal(capped.body.envelopes.length, 100);
    assert.ok(capped.body.nextUri.includes('count=100'));
    const ids = [truth[3]!.envelopeId, truth[9]!.envelopeId];
    const byId = await getJson<EnvelopePage>(`${restBase()}/envelopes?envelope_ids=${ids.join(',')}`, token);
    assert.equal(byId.status, 200);
    assert.deepEqual(new Set(byId.body.envelopes.map((e) => e.envelopeId)), new Set(ids));
    for (const bad of [
      'count=0',
      'count=abc',
      'start_position=-1',
      'order=sideways',
      'order_by=colour',
      'status=happy',
      'to_date=never',
    ]) {
      const r = await getJson<{ errorCode: string }>(`${restBase()}/envelopes?from_date=2000-01-01&${bad}`, token);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.errorCode, 'INVALID_REQUEST_PARAMETER', bad);
    }
    const empty = await getJson<EnvelopePage>(`${restBase()}/envelopes?from_date=2100-01-01`, token);
    assert.equal(empty.body.resultSetSize, '0');
    assert.equal(empty.body.totalSetSize, '0');
    assert.deepEqual(empty.body.envelopes, []);
    assert.equal(empty.body.nextUri, '');
  });

  void test('maxPageSize option caps count', async () => {
    const small = await startEmulator({ seed: 3, envelopes: 30, maxPageSize: 7 });
    try {
      small.registerApp(IK, SPKI_PUBLIC_A);
      small.addUser({ userId: USER });
      small.grantConsent(IK, USER);
      const iat = nowSec();
      const jwt = await new SignJWT({
        iss: IK,
        sub: USER,
        aud: small.host,
        iat,
        exp: iat + 600,
        scope: 'signature impersonation',
      })
        .setProtectedHeader({ alg: 'RS256' })
        .sign(keyA);
      const tok = (await (
        await fetch(`${small.url}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: GRANT, assertion: jwt }),
        })
      ).json()) as { access_token: string };
      const a = small.accountsOf(USER)[0]!;
      const r = await getJson<EnvelopePage>(
        `${a.baseUri}/restapi/v2.1/accounts/${a.accountId}/envelopes?from_date=2000-01-01&count=50`,
        tok.access_token,
      );
      assert.equal(r.body.resultSetSize, '7');
      assert.equal(r.body.totalSetSize, '30');
    } finally {
      await small.stop();
    }
  });

  void test('mutate(k): k envelopes change status at the emulator clock and an incremental query finds exactly them', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const before = new Map(emu.envelopes(accountId).map((e) => [e.envelopeId, e]));
    await new Promise((r) => setTimeout(r, 5));
    const cursor = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const ids = emu.mutate(accountId, 6);
    assert.equal(ids.length, 6);
    assert.equal(new Set(ids).size, 6);
    const after = new Map(emu.envelopes(accountId).map((e) => [e.envelopeId, e]));
    for (const id of ids) {
      const prev = before.get(id);
      const now = after.get(id)!;
      if (prev) assert.notEqual(now.status, prev.status);
      assert.ok(Math.abs(Date.parse(now.statusChangedDateTime) - Date.now()) < 5000);
    }
    const inc = await listAll(
      token,
      `from_date=${encodeURIComponent(cursor)}&order_by=status_changed&order=asc&include=recipients`,
    );
    assert.deepEqual(new Set(inc.envelopes.map((e) => e.envelopeId)), new Set(ids));
    for (const e of inc.envelopes) assert.deepEqual(e, after.get(e.envelopeId));
  });

  void test('seedEnvelopes replaces data; same seed is deterministic, other seed differs; realistic spread', async () => {
    const { accountId } = defaultAccount();
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000050';
    emu.addUser({ userId: uid });
    const acct = defaultAccount(uid).accountId;
    emu.seedEnvelopes(acct, 300, { seed: 42 });
    const a = emu.envelopes(acct);
    emu.seedEnvelopes(acct, 300, { seed: 42 });
    const b = emu.envelopes(acct);
    assert.equal(a.length, 300);
    assert.deepEqual(
      a.map((e) => [e.envelopeId, e.status]),
      b.map((e) => [e.envelopeId, e.status]),
    );
    emu.seedEnvelopes(acct, 300, { seed: 43 });
    assert.notDeepEqual(
      emu.envelopes(acct).map((e) => e.envelopeId),
      a.map((e) => e.envelopeId),
    );
    const statuses = new Set(a.map((e) => e.status));
    for (const s of ['completed', 'sent', 'delivered', 'declined', 'voided', 'created']) assert.ok(statuses.has(s), s);
    const completed = a.filter((e) => e.status === 'completed').length;
    assert.ok(completed > 300 * 0.4, 'completed is the most common status');
    const oldest = Math.min(...a.map((e) => Date.parse(e.createdDateTime)));
    assert.ok(Date.now() - oldest <= 401 * 86_400_000 && Date.now() - oldest > 300 * 86_400_000);
    for (const e of a) assert.ok(Date.parse(e.statusChangedDateTime) <= Date.now() + 1000);
    // Another emulator with the same seed and user gives the same account IDs and envelopes.
    const twin = await startEmulator({ seed: 7, envelopes: 250 });
    try {
      twin.addUser({ userId: USER });
      assert.deepEqual(
        twin.accountsOf(USER).map((x) => x.accountId),
        emu.accountsOf(USER).map((x) => x.accountId),
      );
      const twinIds = new Set(twin.envelopes(accountId).map((e) => e.envelopeId));
      // The shared emulator has been mutated by other tests; most IDs are still the generated ones.
      const overlap = emu.envelopes(accountId).filter((e) => twinIds.has(e.envelopeId)).length;
      assert.ok(overlap >= 250, `overlap ${overlap}`);
    } finally {
      await twin.stop();
    }
  });
});

void describe('envelope sub-resources', () => {
  void test('GET envelope (include=recipients), recipients, audit_events, documents', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const e = emu
      .envelopes(accountId)
      .find((x) => x.status === 'completed' && (x.recipients?.carbonCopies.length ?? 0) > 0)!;
    const base = `${restBase()}/envelopes/${e.envelopeId}`;
    const plain = await getJson<EnvelopeLike>(base, token);
    assert.equal(plain.status, 200);
    assert.equal(plain.body.envelopeId, e.envelopeId);
    assert.equal(plain.body.recipients, undefined);
    assert.equal(plain.body.envelopeUri, `/envelopes/${e.envelopeId}`);
    const full = await getJson<EnvelopeLike>(`${base}?include=recipients`, token);
    assert.deepEqual(full.body, e);
    const rec = await getJson<Record<string, unknown>>(`${base}/recipients`, token);
    assert.deepEqual(rec.body, e.recipients);
    assert.ok(Array.isArray(rec.body.carbonCopies) && Array.isArray(rec.body.inPersonSigners));
    const audit = await getJson<{ auditEvents: { eventFields: { name: string; value: string }[] }[] }>(
      `${base}/audit_events`,
      token,
    );
    assert.ok(audit.body.auditEvents.length >= 3);
    const actions = audit.body.auditEvents.map((ev) => ev.eventFields.find((f) => f.name === 'Action')?.value);
    assert.equal(actions[0], 'Registered');
    assert.ok(actions.includes('Signed'));
    for (const ev of audit.body.auditEvents) {
      for (const f of ev.eventFields) assert.deepEqual(Object.keys(f).sort(), ['name', 'value']);
      assert.match(ev.eventFields.find((f) => f.name === 'logTime')!.value, DOCUSIGN_TS_PATTERN);
    }
    const docs = await getJson<{
      envelopeId: string;
      envelopeDocuments: { documentId: string; name: string; type: string; uri: string }[];
    }>(`${base}/documents`, token);
    assert.equal(docs.body.envelopeId, e.envelopeId);
    assert.ok(
      docs.body.envelopeDocuments.some((d) => d.documentId === '1' && d.type === 'content' && d.name.endsWith('.pdf')),
    );
    assert.ok(docs.body.envelopeDocuments.some((d) => d.documentId === 'certificate'));
  });

  void test('certificate of completion is a valid PDF with Content-Disposition', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const e = emu.envelopes(accountId).find((x) => x.status === 'completed')!;
    const res = await get(`${restBase()}/envelopes/${e.envelopeId}/documents/certificate`, token);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/pdf');
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /^file; filename="[^"]+\.pdf"; documentid="certificate"$/,
    );
    assert.ok(res.headers.get('x-ratelimit-remaining'));
    const pdf = Buffer.from(await res.arrayBuffer());
    const text = pdf.toString('latin1');
    assert.ok(text.startsWith('%PDF-1.'));
    assert.ok(text.trimEnd().endsWith('%%EOF'));
    assert.ok(text.includes(e.envelopeId));
    // startxref points at the xref table, and every xref entry at its object.
    const startxref = Number(/startxref\n(\d+)\n%%EOF/.exec(text)?.[1]);
    assert.equal(text.slice(startxref, startxref + 4), 'xref');
    const entries = [...text.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    assert.ok(entries.length >= 5);
    entries.forEach((off, i) => assert.equal(text.slice(off, off + `${i + 1} 0 obj`.length), `${i + 1} 0 obj`));
    const len = Number(/\/Length (\d+)/.exec(text)?.[1]);
    const streamStart = text.indexOf('stream\n') + 'stream\n'.length;
    assert.equal(text.slice(streamStart + len, streamStart + len + '\nendstream'.length), '\nendstream');
    const doc1 = await get(`${restBase()}/envelopes/${e.envelopeId}/documents/1`, token);
    assert.equal(doc1.status, 200);
    assert.equal(doc1.headers.get('content-type'), 'application/pdf');
  });

  void test('unknown envelope → 400 ENVELOPE_DOES_NOT_EXIST; unknown document → DOCUMENT_DOES_NOT_EXIST', async () => {
    const token = await mint();
    const r = await getJson<{ errorCode: string }>(
      `${restBase()}/envelopes/00000000-0000-4000-8000-000000000000`,
      token,
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.errorCode, 'ENVELOPE_DOES_NOT_EXIST');
    const e = emu.envelopes(defaultAccount().accountId)[0]!;
    const d = await getJson<{ errorCode: string }>(`${restBase()}/envelopes/${e.envelopeId}/documents/77`, token);
    assert.equal(d.body.errorCode, 'DOCUMENT_DOES_NOT_EXIST');
  });

  void test('per-envelope polling limit → 400 Hourly_Envelope_Polling_Limit_Exceeded; other envelopes unaffected', async () => {
    emu.setEnvelopePollingLimit(3, 900);
    const token = await mint();
    const [e1, e2] = emu.envelopes(defaultAccount().accountId).slice(-2);
    const url = `${restBase()}/envelopes/${e1!.envelopeId}`;
    for (let i = 0; i < 3; i++) assert.equal((await get(url, token)).status, 200);
    const r = await getJson<{ errorCode: string; message: string }>(url, token);
    assert.equal(r.status, 400);
    assert.equal(r.body.errorCode, 'Hourly_Envelope_Polling_Limit_Exceeded');
    assert.equal((await get(`${restBase()}/envelopes/${e2!.envelopeId}`, token)).status, 200);
    emu.setClock(900); // the token (1 h) is still valid 15 min later
    assert.equal((await get(url, token)).status, 200, 'a new window resets the counter');
  });
});

void describe('users, groups, permission profiles, settings, account', () => {
  void test('users: paging with string counts and nextUri; the impersonated user is listed', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const r = await getJson<{ users: Record<string, unknown>[] } & Omit<EnvelopePage, 'envelopes'>>(
      `${restBase()}/users?count=5`,
      token,
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.users.length, 5);
    assert.equal(r.body.resultSetSize, '5');
    assert.equal(r.body.startPosition, '0');
    assert.equal(r.body.endPosition, '4');
    assert.ok(Number(r.body.totalSetSize) >= 13);
    assert.equal(r.body.nextUri, `/accounts/${accountId}/users?start_position=5&count=5`);
    const u = r.body.users[0]!;
    assert.equal(u.userId, USER);
    assert.equal(u.email, 'casey@example.com');
    for (const k of ['userName', 'userType', 'userStatus', 'isAdmin', 'permissionProfileId', 'createdDateTime'])
      assert.ok(k in u, k);
    assert.ok(u.isAdmin === 'True' || u.isAdmin === 'False');
    const all: Record<string, unknown>[] = [];
    let next: string | undefined = `${restBase()}/users?count=4`;
    while (next) {
      const p: { body: { users: Record<string, unknown>[]; nextUri: string } } = await getJson<{
        users: Record<string, unknown>[];
        nextUri: string;
      }>(next, token);
      all.push(...p.body.users);
      next = p.body.nextUri ? `${defaultAccount().baseUri}/restapi/v2.1${p.body.nextUri}` : undefined;
    }
    assert.equal(all.length, Number(r.body.totalSetSize));
    assert.equal(new Set(all.map((x) => x.userId)).size, all.length);
  });

  void test('users (docusign-api.md §10): "True"/"False" flags in lists; login and groups only with additional_info', async () => {
    const token = await mint();
    const plain = await getJson<{ users: Record<string, unknown>[] }>(`${restBase()}/users?count=100`, token);
    for (const u of plain.body.users) {
      for (const k of ['isAdmin', 'isAlternateAdmin', 'isManagedByScim', 'isMembershipManagedByScim']) {
        assert.ok(u[k] === 'True' || u[k] === 'False', `${k} ${String(u[k])}`);
      }
      assert.equal(u.userType, 'CompanyUser');
      assert.match(u.permissionProfileId as string, /^\d+$/);
      for (const k of ['lastLogin', 'loginStatus', 'groupList', 'userSettings']) assert.ok(!(k in u), k);
    }
    const extra = await getJson<{ users: Record<string, unknown>[] }>(
      `${restBase()}/users?count=100&additional_info=true`,
      token,
    );
    assert.ok(extra.body.users.every((u) => typeof u.loginStatus === 'string' && Array.isArray(u.groupList)));
  });

  void test('one user: lower-case "true"/"false" settings; groupList with a boolean and a zoneless lastModifiedOn', async () => {
    const token = await mint();
    const u = await getJson<Record<string, unknown>>(`${restBase()}/users/${USER}`, token);
    assert.equal(u.status, 200);
    assert.equal(u.body.isAdmin, 'True');
    const settings = u.body.userSettings as Record<string, unknown>;
    assert.ok(Object.keys(settings).length >= 55, `${Object.keys(settings).length} user settings`);
    assert.equal(settings.canManageAccount, 'true');
    assert.ok(Object.values(settings).every((v) => typeof v === 'string'));
    assert.ok(Object.values(settings).includes('false'));
    const groups = u.body.groupList as Record<string, unknown>[];
    assert.ok(groups.length >= 2);
    for (const g of groups) {
      assert.equal(g.isManagedByScim, false);
      assert.match(g.lastModifiedOn as string, ZONELESS_TS_PATTERN);
      assert.equal(g.userGroupType, 'SystemAccount');
    }
    assert.deepEqual(groups.map((g) => g.groupType).sort(), ['adminGroup', 'everyoneGroup']);
    for (const k of ['forgottenPasswordInfo', 'workAddress', 'defaultAccountId', 'userProfileLastModifiedDate']) {
      assert.ok(k in u.body, k);
    }
  });

  void test('groups: zoneless lastModifiedOn; members slim, lower-case, with counts and no nextUri', async () => {
    const token = await mint();
    const groups = await getJson<{
      groups: { groupId: string; groupType: string; usersCount: string; lastModifiedOn: string }[];
      totalSetSize: string;
    }>(`${restBase()}/groups`, token);
    assert.equal(groups.status, 200);
    assert.deepEqual([...new Set(groups.body.groups.map((g) => g.groupType))].sort(), [
      'adminGroup',
      'customGroup',
      'everyoneGroup',
    ]);
    for (const g of groups.body.groups) assert.match(g.lastModifiedOn, ZONELESS_TS_PATTERN);
    assert.equal(groups.body.totalSetSize, String(groups.body.groups.length));
    const everyone = groups.body.groups.find((g) => g.groupType === 'everyoneGroup')!;
    const first = await getJson<Record<string, unknown> & { users: Record<string, unknown>[] }>(
      `${restBase()}/groups/${everyone.groupId}/users?count=5`,
      token,
    );
    assert.equal(first.body.users.length, 5);
    assert.equal(first.body.resultSetSize, '5');
    assert.equal(first.body.endPosition, '4');
    assert.equal(first.body.totalSetSize, everyone.usersCount);
    assert.ok(Number(everyone.usersCount) > 5, 'more members remain');
    assert.ok(!('nextUri' in first.body) && !('previousUri' in first.body), 'counts only');
    for (const m of first.body.users) {
      assert.deepEqual(Object.keys(m).sort(), ['email', 'uri', 'userId', 'userName', 'userStatus', 'userType']);
      assert.equal(m.userType, 'companyuser');
      assert.equal(m.userStatus, (m.userStatus as string).toLowerCase());
    }
    const rest = await getJson<{ users: unknown[]; startPosition: string }>(
      `${restBase()}/groups/${everyone.groupId}/users?count=100&start_position=5`,
      token,
    );
    assert.equal(rest.body.startPosition, '5');
    assert.equal(5 + rest.body.users.length, Number(everyone.usersCount));
  });

  void test('permission profiles: numeric-string IDs, settings / userCount / users only on request', async () => {
    const token = await mint();
    const plain = await getJson<{ permissionProfiles: Record<string, unknown>[] }>(
      `${restBase()}/permission_profiles`,
      token,
    );
    const names = plain.body.permissionProfiles.map((p) => p.permissionProfileName);
    assert.deepEqual(names, ['Account Administrator', 'DocuSign Sender', 'DocuSign Viewer']);
    for (const p of plain.body.permissionProfiles) {
      assert.match(p.permissionProfileId as string, /^\d{8}$/);
      assert.deepEqual(Object.keys(p).sort(), [
        'modifiedByUsername',
        'modifiedDateTime',
        'permissionProfileId',
        'permissionProfileName',
      ]);
    }
    assert.ok(plain.body.permissionProfiles.some((p) => p.modifiedByUsername === ''));
    const full = await getJson<{ permissionProfiles: Record<string, unknown>[] }>(
      `${restBase()}/permission_profiles?include=settings,user_count,users`,
      token,
    );
    for (const p of full.body.permissionProfiles) {
      assert.equal(typeof p.settings, 'object');
      assert.match(p.userCount as string, /^\d+$/);
      assert.ok(Array.isArray(p.users));
    }
  });

  void test('signing groups: groups with counts, members only with include_users=true, and {} for an account with none', async () => {
    const token = await mint();
    const some = await getJson<{ groups: Record<string, unknown>[]; resultSetSize: string }>(
      `${restBase()}/signing_groups`,
      token,
    );
    assert.equal(some.status, 200);
    assert.equal(some.body.groups.length, 2);
    assert.equal(some.body.resultSetSize, '2');
    for (const g of some.body.groups) {
      assert.match(g.signingGroupId as string, /^\d+$/);
      assert.equal(g.groupType, 'sharedSigningGroup');
      assert.ok(!('users' in g), 'members only when asked');
    }
    const withUsers = await getJson<{ groups: Record<string, unknown>[] }>(
      `${restBase()}/signing_groups?include_users=true`,
      token,
    );
    for (const g of withUsers.body.groups) assert.ok(Array.isArray(g.users));
    const other = emu.accountsOf(USER).find((a) => !a.isDefault)!;
    const none = await getJson(`${other.baseUri}/restapi/v2.1/accounts/${other.accountId}/signing_groups`, token);
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, {});
  });

  void test('settings: ~400 keys, mostly strings, the real keys, nulls, a few objects and lists; password rules', async () => {
    const token = await mint();
    const { body: settings } = await getJson<Record<string, unknown>>(`${restBase()}/settings`, token);
    const values = Object.values(settings);
    assert.ok(values.length >= 380 && values.length <= 440, `${values.length} keys`);
    const strings = values.filter((v) => typeof v === 'string').length;
    assert.ok(strings / values.length > 0.8, `${strings} string values`);
    assert.ok(values.filter((v) => v === null).length >= 10, 'many nulls');
    assert.ok(values.some((v) => Array.isArray(v)));
    assert.ok(values.some((v) => typeof v === 'object' && v !== null && !Array.isArray(v)));
    for (const k of [
      'sessionTimeout',
      'enableSMSAuthentication',
      'allowOrganizationSsoManagement',
      'disableMultipleSessions',
      'allowDataDownload',
      'attachCompletedEnvelope',
      'allowPhoneAuthentication',
      'senderMustAuthenticateSigning',
    ]) {
      assert.equal(typeof settings[k], 'string', k);
    }
    assert.match(settings.sessionTimeout as string, /^\d+$/);
    assert.equal(settings.enableKBAAuthentication, null);
    assert.equal(typeof settings.accountUISettings, 'object');
    const again = await getJson<Record<string, unknown>>(`${restBase()}/settings`, token);
    assert.deepEqual(again.body, settings, 'deterministic');
    const rules = await getJson<Record<string, unknown>>(`${restBase()}/settings/password_rules`, token);
    assert.equal(typeof rules.body.minimumPasswordLength, 'string');
    const account = await getJson<Record<string, unknown>>(`${restBase()}?include_account_settings=true`, token);
    assert.equal(account.body.accountIdGuid, defaultAccount().accountId);
    assert.equal(typeof account.body.accountSettings, 'object');
  });
});

/** Sets the emulator clock to 1 s into a fixed window, so a test cannot straddle a window boundary. */
function alignClock(windowSeconds: number, plusSeconds = 0): void {
  const now = Date.now() / 1000;
  emu.setClock(windowSeconds - (now % windowSeconds) + 1 + plusSeconds);
}

void describe('rate limits', () => {
  void test('headers on every REST response; remaining decrements; reset is the end of the hourly window', async () => {
    alignClock(3600);
    const token = await mint();
    const a = await get(`${restBase()}/settings`, token);
    const b = await get(`${restBase()}/settings`, token);
    assert.equal(a.headers.get('x-ratelimit-limit'), '3000');
    assert.equal(a.headers.get('x-burstlimit-limit'), '500');
    assert.equal(Number(a.headers.get('x-ratelimit-remaining')) - 1, Number(b.headers.get('x-ratelimit-remaining')));
    assert.equal(Number(a.headers.get('x-burstlimit-remaining')) - 1, Number(b.headers.get('x-burstlimit-remaining')));
    const reset = Number(a.headers.get('x-ratelimit-reset'));
    const emuNow = Math.floor(emu.now() / 1000);
    assert.equal(reset % 3600, 0);
    assert.ok(reset > emuNow && reset <= emuNow + 3600);
    assert.match(a.headers.get('x-docusign-tracetoken') ?? '', GUID);
    assert.notEqual(a.headers.get('x-docusign-tracetoken'), b.headers.get('x-docusign-tracetoken'));
  });

  void test('hourly limit: exhausted → HOURLY_APIINVOCATION_LIMIT_EXCEEDED (400 by default, 429 if configured); resets', async () => {
    const token = await mint();
    emu.setRateLimit({ hourlyLimit: 3, hourlyWindowSeconds: 60 });
    alignClock(60);
    emu.stats.reset();
    const url = `${restBase()}/settings`;
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await get(url, token);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 400, 400]);
    assert.deepEqual(await last!.json(), {
      errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED',
      message: 'The maximum number of hourly API invocations has been exceeded. The hourly limit is 3.',
    });
    assert.equal(last!.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(emu.stats.callsWhileLimited, 2);
    emu.setRateLimit({ status: 429 });
    assert.equal((await get(url, token)).status, 429);
    alignClock(60, 60);
    assert.equal((await get(url, token)).status, 200, 'next window');
  });

  void test('burst limit → BURST_APIINVOCATION_LIMIT_EXCEEDED; exhaustHourly / exhaustBurst; callsWhileLimited', async () => {
    alignClock(3600);
    const token = await mint();
    const url = `${restBase()}/settings`;
    emu.setRateLimit({ burstLimit: 2, burstWindowSeconds: 3600 });
    await get(url, token);
    await get(url, token);
    const r = await getJson<{ errorCode: string; message: string }>(url, token);
    assert.equal(r.status, 400);
    assert.equal(r.body.errorCode, 'BURST_APIINVOCATION_LIMIT_EXCEEDED');
    assert.equal(r.headers.get('x-burstlimit-remaining'), '0');
    emu.setRateLimit(undefined);

    emu.stats.reset();
    emu.faults.exhaustHourly();
    const h = await getJson<{ errorCode: string }>(url, token);
    assert.equal(h.body.errorCode, 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED');
    assert.equal(h.headers.get('x-ratelimit-remaining'), '0');
    emu.faults.clear();
    emu.faults.exhaustBurst();
    const b = await getJson<{ errorCode: string }>(`${restBase()}/envelopes?from_date=2020-01-01`, token);
    assert.equal(b.body.errorCode, 'BURST_APIINVOCATION_LIMIT_EXCEEDED');
    assert.equal(emu.stats.callsWhileLimited, 2);
    emu.faults.clear();
    assert.equal((await get(url, token)).status, 200);
  });
});

void describe('faults', () => {
  void test('failNext(n) fails the next n REST/OAuth calls with 503 (or the status), then recovers', async () => {
    const token = await mint();
    emu.faults.failNext(2);
    const a = await getJson<{ errorCode: string }>(`${restBase()}/settings`, token);
    assert.equal(a.status, 503);
    assert.equal(a.body.errorCode, 'SERVICE_UNAVAILABLE');
    assert.ok(a.headers.get('x-ratelimit-limit'));
    const b = await tokenRequest(await assertion());
    assert.equal(b.status, 503);
    assert.equal(typeof b.body.error, 'string');
    assert.equal((await get(`${restBase()}/settings`, token)).status, 200);
    emu.faults.failNext(1, 500);
    assert.equal((await get(`${emu.url}/oauth/userinfo`, token)).status, 500);
    assert.equal((await get(`${emu.url}/oauth/userinfo`, token)).status, 200);
  });

  void test('latencyMs delays responses', async () => {
    const token = await mint();
    emu.faults.latencyMs(150);
    const t0 = performance.now();
    assert.equal((await get(`${restBase()}/settings`, token)).status, 200);
    assert.ok(performance.now() - t0 >= 140);
  });

  void test('malformedNext → invalid JSON once; invalidShapeNext → envelopes[0].envelopeId = 42 once', async () => {
    const token = await mint();
    const url = `${restBase()}/envelopes?from_date=2000-01-01&count=3`;
    emu.stats.reset();
    emu.faults.malformedNext();
    const m = await get(url, token);
    assert.equal(m.status, 200);
    const text = await m.text();
    assert.throws(() => JSON.parse(text) as unknown);
    emu.faults.invalidShapeNext();
    const s = await getJson<{ envelopes: { envelopeId: unknown }[] }>(url, token);
    assert.equal(s.body.envelopes[0]!.envelopeId, 42);
    assert.equal(emu.stats.pagesServed, 0, 'bad pages are not counted as served');
    const ok = await getJson<EnvelopePage>(url, token);
    assert.equal(typeof ok.body.envelopes[0]!.envelopeId, 'string');
    assert.equal(emu.stats.pagesServed, 1);
  });

  void test('badEnvelopeNext(id): that envelope loses statusChangedDateTime in the next page holding it, once', async () => {
    const token = await mint();
    const url = `${restBase()}/envelopes?from_date=2000-01-01&count=10&order_by=status_changed&order=asc`;
    const target = (await getJson<EnvelopePage>(url, token)).body.envelopes[3]!;
    emu.stats.reset();
    emu.faults.badEnvelopeNext(target.envelopeId.toUpperCase());
    const bad = await getJson<EnvelopePage>(url, token);
    assert.equal(bad.body.resultSetSize, '10', 'the page itself stays valid');
    const served = bad.body.envelopes.find((e) => e.envelopeId === target.envelopeId)!;
    assert.equal(served.statusChangedDateTime, undefined);
    assert.equal(served.status, target.status);
    assert.ok(bad.body.envelopes.filter((e) => e !== served).every((e) => typeof e.statusChangedDateTime === 'string'));
    assert.equal(emu.stats.pagesServed, 1);
    const again = await getJson<EnvelopePage>(url, token);
    assert.deepEqual(again.body.envelopes[3], target, 'once; the envelope itself is unchanged');
    emu.faults.badEnvelopeNext(); // no ID: the first envelope of the next page
    const first = await getJson<EnvelopePage>(url, token);
    assert.equal(first.body.envelopes[0]!.statusChangedDateTime, undefined);
  });

  void test('omitNextUri: pages carry only the counts while on; zonelessTimes: statusChangedDateTime without zone', async () => {
    const token = await mint();
    const url = `${restBase()}/envelopes?from_date=2000-01-01&count=10&order_by=status_changed&order=asc`;
    const normal = await getJson<EnvelopePage>(url, token);
    emu.faults.omitNextUri(true);
    emu.faults.zonelessTimes(true);
    const r = await getJson<EnvelopePage>(url, token);
    assert.deepEqual(
      Object.keys(r.body).filter((k) => k.endsWith('Uri')),
      [],
    );
    assert.ok(Number(r.body.endPosition) + 1 < Number(r.body.totalSetSize), 'more remain');
    for (const [i, e] of r.body.envelopes.entries()) {
      assert.match(e.statusChangedDateTime, ZONELESS_TS_PATTERN);
      assert.equal(
        `${e.statusChangedDateTime}0000Z`,
        normal.body.envelopes[i]!.statusChangedDateTime,
        'same instant, UTC',
      );
    }
    emu.faults.omitNextUri(false);
    emu.faults.zonelessTimes(false);
    assert.deepEqual(await getJson<EnvelopePage>(url, token).then((x) => x.body), normal.body);
  });

  void test('hangNext: the next call never answers (client times out); the one after works', async () => {
    const token = await mint();
    emu.faults.hangNext();
    await assert.rejects(
      fetch(`${restBase()}/settings`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(300),
      }),
    );
    assert.equal((await get(`${restBase()}/settings`, token)).status, 200);
  });

  void test('mutateBetweenPages(k): after the next page, k envelopes change', async () => {
    const token = await mint();
    const { accountId } = defaultAccount();
    const before = emu.envelopes(accountId);
    const cursor = new Date(Date.now() - 1).toISOString();
    emu.faults.mutateBetweenPages(4);
    const first = await getJson<EnvelopePage>(`${restBase()}/envelopes?from_date=2000-01-01&count=10`, token);
    assert.equal(first.status, 200);
    const changed = emu.envelopes(accountId).filter((e) => Date.parse(e.statusChangedDateTime) >= Date.parse(cursor));
    assert.equal(changed.length, 4);
    assert.ok(emu.envelopes(accountId).length >= before.length);
    await getJson(`${restBase()}/envelopes?from_date=2000-01-01&count=10`, token);
    const changedAgain = emu
      .envelopes(accountId)
      .filter((e) => Date.parse(e.statusChangedDateTime) >= Date.parse(cursor));
    assert.equal(changedAgain.length, 4, 'only once');
  });
});

void describe('stats', () => {
  void test('calls per endpoint, pagesServed, tokens and assertions; reset', async () => {
    emu.stats.reset();
    const token = await mint();
    await get(`${emu.url}/oauth/userinfo`, token);
    await get(`${restBase()}/envelopes?from_date=2000-01-01&count=2`, token);
    await get(`${restBase()}/envelopes?from_date=2000-01-01&count=2&start_position=2`, token);
    await get(`${restBase()}/users`, token);
    assert.equal(emu.stats.calls['POST /oauth/token'], 1);
    assert.equal(emu.stats.calls['GET /oauth/userinfo'], 1);
    assert.equal(emu.stats.calls['GET envelopes'], 2);
    assert.equal(emu.stats.calls['GET users'], 1);
    assert.equal(emu.stats.pagesServed, 2);
    assert.deepEqual(emu.stats.tokensIssued, [token]);
    assert.equal(emu.stats.assertionsReceived.length, 1);
    const calls = emu.stats.calls;
    emu.stats.reset();
    assert.deepEqual(calls, {});
    assert.equal(emu.stats.pagesServed, 0);
    assert.deepEqual(emu.stats.tokensIssued, []);
  });
});

async function post(path: string, body: unknown = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emu.url}/__admin/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

void describe('/__admin HTTP control API', () => {
  void test('register an app, add a user, consent, then a full flow; faults, envelopes and stats over HTTP', async () => {
    const ik = '0b4c5f0e-1a2b-4c3d-8e9f-000000000099';
    const uid = '7d0c1e2f-3a4b-4c5d-9e6f-000000000099';
    assert.equal((await post('apps', { integrationKey: ik, publicKeyPem: PKCS1_PUBLIC_B })).status, 200);
    const added = await post('users', { userId: uid, name: 'Admin Api' });
    assert.equal(added.status, 200);
    const accounts = added.body.accounts as { accountId: string; baseUri: string; isDefault: boolean }[];
    assert.equal(accounts.length, 2);
    await expectGrantError(await assertion({ iss: ik, sub: uid }, pairB.privateKey), 'consent_required');
    assert.equal((await post('consent', { integrationKey: ik, userId: uid })).status, 200);
    const tok = await tokenRequest(await assertion({ iss: ik, sub: uid }, pairB.privateKey));
    assert.equal(tok.status, 200);
    const token = tok.body.access_token as string;

    const acct = accounts.find((a) => a.isDefault)!;
    const truth = (await (
      await fetch(`${emu.url}/__admin/envelopes?accountId=${acct.accountId}`)
    ).json()) as EnvelopeLike[];
    assert.equal(truth.length, 250);
    assert.deepEqual(truth, emu.envelopes(acct.accountId));
    const counts = (await (
      await fetch(`${emu.url}/__admin/envelopes/status-counts?accountId=${acct.accountId}`)
    ).json()) as Record<string, number>;
    const expected: Record<string, number> = {};
    for (const e of truth) expected[e.status] = (expected[e.status] ?? 0) + 1;
    assert.deepEqual(counts, expected);
    assert.ok(Object.keys(counts).length > 1, 'several statuses');

    assert.equal((await post('faults/failNext', { n: 1, status: 502 })).status, 200);
    assert.equal((await get(`${acct.baseUri}/restapi/v2.1/accounts/${acct.accountId}/settings`, token)).status, 502);
    const mutated = await post('envelopes/mutate', { accountId: acct.accountId, k: 3 });
    assert.equal((mutated.body.envelopeIds as string[]).length, 3);
    assert.equal((await post('envelopes/seed', { accountId: acct.accountId, count: 12 })).status, 200);
    assert.equal(emu.envelopes(acct.accountId).length, 12);
    assert.equal((await post('accounts/move', { accountId: acct.accountId, region: 'eu2' })).status, 200);
    assert.equal(emu.accountsOf(uid).find((a) => a.isDefault)?.baseUri, `${emu.url}/eu2`);

    const stats = (await (await fetch(`${emu.url}/__admin/stats`)).json()) as {
      tokensIssued: string[];
      calls: Record<string, number>;
    };
    assert.ok(stats.tokensIssued.includes(token));
    assert.ok((stats.calls['GET settings'] ?? 0) >= 1);
    assert.equal((await post('faults/revokeTokens')).status, 200);
    assert.equal((await get(`${emu.url}/oauth/userinfo`, token)).status, 401);
    assert.equal((await post('consent/revoke', { integrationKey: ik, userId: uid })).status, 200);
    await expectGrantError(await assertion({ iss: ik, sub: uid }, pairB.privateKey), 'consent_required');
    assert.equal((await post('apps/remove-key', { integrationKey: ik })).status, 200);
    await expectGrantError(
      await assertion({ iss: ik, sub: uid }, pairB.privateKey),
      'invalid_grant',
      'no_valid_keys_or_signatures',
    );
    assert.equal((await post('clock', { offsetSeconds: 10 })).status, 200);
    assert.ok(Math.abs(emu.now() - Date.now() - 10_000) < 1000);
    assert.equal((await post('rate-limit', { hourlyLimit: 5 })).status, 200);
    assert.equal((await post('token-lifetime', { seconds: 99 })).status, 200);
    assert.equal((await tokenRequest(await assertion())).body.expires_in, 99);
    assert.equal((await post('consent-mode', { mode: 'deny' })).status, 200);
    assert.equal((await post('stats/reset')).status, 200);
    assert.deepEqual(emu.stats.calls, {});
    const info = (await (await fetch(`${emu.url}/__admin/info`)).json()) as { host: string };
    assert.equal(info.host, emu.host);
  });

  void test('bad bodies → 400 naming the field; unknown routes and faults → 404', async () => {
    const r = await post('apps', { integrationKey: 'x' });
    assert.equal(r.status, 400);
    assert.match(r.body.error as string, /publicKeyPem/);
    assert.equal((await post('apps', { integrationKey: 'x', publicKeyPem: 'not a pem' })).status, 400);
    assert.equal((await post('faults/explode')).status, 404);
    assert.equal((await post('nothing-here')).status, 404);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Access review (issue 12) and signed proof (issue 13).

type Rec = Record<string, unknown>;

interface ListPage extends Rec {
  resultSetSize: string;
  totalSetSize: string;
  startPosition: string;
  endPosition: string;
}

/** An account of its own for a test: a new OAuth user (its default account) with a fresh token. */
async function ownAccount(userId: string): Promise<{ accountId: string; base: string; token: string }> {
  emu.addUser({ userId, name: 'Audit Runner', email: `${userId.slice(-4)}@example.com` });
  emu.grantConsent(IK, userId);
  const { accountId } = defaultAccount(userId);
  return { accountId, base: restBase(userId), token: await mint({ sub: userId }) };
}

/**
 * Every item of a paged list, the way a full-refresh client pages by counts (docusign-api.md §10); checks the
 * counts of every page on the way.
 */
async function allPages(token: string, url: string, field: string, count = 100): Promise<Rec[]> {
  const items: Rec[] = [];
  for (let start = 0; ;) {
    const sep = url.includes('?') ? '&' : '?';
    const r = await getJson<ListPage>(`${url}${sep}count=${count}&start_position=${start}`, token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (start === 0 && !('totalSetSize' in r.body)) {
      assert.deepEqual(r.body, {}, 'an empty list without counts is {} (signing groups, §10)');
      return items;
    }
    const page = (r.body[field] ?? []) as Rec[];
    assert.equal(r.body.resultSetSize, String(page.length));
    assert.equal(r.body.startPosition, String(start));
    assert.equal(r.body.endPosition, String(start + page.length - 1));
    assert.ok(page.length <= 100, 'a page holds at most 100');
    items.push(...page);
    if (Number(r.body.endPosition) + 1 >= Number(r.body.totalSetSize)) return items;
    start += page.length;
  }
}

/** A full refresh of every access-review kind over REST, shaped like emu.directory(). */
async function fullRefresh(token: string, base: string): Promise<DirectoryTruth> {
  const groups = await allPages(token, `${base}/groups`, 'groups');
  const groupMembers: Record<string, Rec[]> = {};
  for (const g of groups)
    groupMembers[g.groupId as string] = await allPages(token, `${base}/groups/${String(g.groupId)}/users`, 'users');
  return {
    users: await allPages(token, `${base}/users?additional_info=true`, 'users'),
    groups,
    groupMembers,
    permissionProfiles: (
      await getJson<{ permissionProfiles: Rec[] }>(`${base}/permission_profiles?include=settings`, token)
    ).body.permissionProfiles,
    signingGroups: await allPages(token, `${base}/signing_groups?include_users=true`, 'groups'),
    settings: (await getJson<Rec>(`${base}/settings`, token)).body,
    passwordRules: (await getJson<Record<string, string>>(`${base}/settings/password_rules`, token)).body,
  };
}

/** What changed between two lists of records keyed by `id`: added and removed IDs, changed IDs with field names. */
function diff(
  before: Rec[],
  after: Rec[],
  id: string,
): { added: string[]; removed: string[]; changed: Record<string, string[]> } {
  const index = (list: Rec[]) => new Map(list.map((r) => [r[id] as string, r]));
  const [b, a] = [index(before), index(after)];
  const changed: Record<string, string[]> = {};
  for (const [key, next] of a) {
    const prev = b.get(key);
    if (!prev) continue;
    const fields = [...new Set([...Object.keys(prev), ...Object.keys(next)])]
      .filter((f) => JSON.stringify(prev[f]) !== JSON.stringify(next[f]))
      .sort();
    if (fields.length) changed[key] = fields;
  }
  return {
    added: [...a.keys()].filter((k) => !b.has(k)).sort(),
    removed: [...b.keys()].filter((k) => !a.has(k)).sort(),
    changed,
  };
}

const objectDiff = (before: Rec, after: Rec): string[] =>
  diff([{ k: 'x', ...before }], [{ k: 'x', ...after }], 'k').changed.x ?? [];

void describe('access review: list endpoints', () => {
  let acct: { accountId: string; base: string; token: string };
  before(async () => {
    acct = await ownAccount('7d0c1e2f-3a4b-4c5d-9e6f-0000000000a1');
    emu.seedDirectory(acct.accountId, { users: 250, groups: 130, groupMembers: 20, profiles: 6, signingGroups: 3 });
  });

  void test('GET /users: every status by default, status as a comma list, bad status → 400; string counts', async () => {
    const all = await allPages(acct.token, `${acct.base}/users`, 'users');
    assert.equal(all.length, 251, '250 generated + the impersonated user');
    const statuses = new Set(all.map((u) => u.userStatus));
    for (const s of ['Active', 'ActivationSent', 'ActivationRequired', 'Closed', 'Disabled'])
      assert.ok(statuses.has(s), s);
    const some = await allPages(acct.token, `${acct.base}/users?status=Closed,disabled`, 'users');
    assert.deepEqual(
      some.map((u) => u.userId),
      all.filter((u) => u.userStatus === 'Closed' || u.userStatus === 'Disabled').map((u) => u.userId),
    );
    const bad = await getJson<{ errorCode: string; message: string }>(
      `${acct.base}/users?status=Active,Gone`,
      acct.token,
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorCode, 'INVALID_REQUEST_PARAMETER');
    assert.match(bad.body.message, /Gone/);
  });

  void test('GET /users: count capped at 100, 0 → 400; nextUri follows; additional_info=true is GET /users/{id} per user', async () => {
    const big = await getJson<ListPage & { users: Rec[]; nextUri: string }>(`${acct.base}/users?count=500`, acct.token);
    assert.equal(big.body.users.length, 100);
    assert.equal(big.body.resultSetSize, '100');
    assert.equal(big.body.totalSetSize, '251');
    assert.equal(big.body.nextUri, `/accounts/${acct.accountId}/users?start_position=100&count=100`);
    assert.equal((await get(`${acct.base}/users?count=0`, acct.token)).status, 400);
    assert.ok(!('userSettings' in big.body.users[0]!));
    const full = await getJson<{ users: Rec[] }>(
      `${acct.base}/users?count=3&start_position=7&additional_info=true`,
      acct.token,
    );
    for (const u of full.body.users) {
      const one = await getJson<Rec>(`${acct.base}/users/${String(u.userId)}`, acct.token);
      assert.deepEqual(u, one.body);
      for (const k of ['loginStatus', 'userSettings', 'groupList', 'workAddress']) assert.ok(k in u, k);
    }
  });

  void test('GET /groups and members: count capped at 100 with nextUri for groups, counts only for members', async () => {
    const first = await getJson<ListPage & { groups: Rec[]; nextUri: string }>(
      `${acct.base}/groups?count=100`,
      acct.token,
    );
    assert.equal(first.body.groups.length, 100);
    assert.equal(first.body.totalSetSize, '130');
    assert.equal(first.body.nextUri, `/accounts/${acct.accountId}/groups?start_position=100&count=100`);
    const everyone = first.body.groups.find((g) => g.groupType === 'everyoneGroup')!;
    assert.equal(everyone.usersCount, '251');
    const members = await getJson<ListPage & { users: Rec[] }>(
      `${acct.base}/groups/${String(everyone.groupId)}/users?count=250&start_position=200`,
      acct.token,
    );
    assert.equal(members.body.users.length, 51);
    assert.equal(members.body.endPosition, '250');
    assert.ok(!('nextUri' in members.body));
    const capped = await getJson<{ users: Rec[] }>(
      `${acct.base}/groups/${String(everyone.groupId)}/users?count=101`,
      acct.token,
    );
    assert.equal(capped.body.users.length, 100);
    const past = await getJson<ListPage & { users: Rec[] }>(
      `${acct.base}/groups/${String(everyone.groupId)}/users?start_position=400`,
      acct.token,
    );
    assert.deepEqual([past.body.users.length, past.body.resultSetSize, past.body.totalSetSize], [0, '0', '251']);
  });

  void test('a full refresh equals directory() record for record, in ⌈users/100⌉ + ⌈groups/100⌉ + Σ⌈members/100⌉ + 4 calls', async () => {
    emu.stats.reset();
    const served = await fullRefresh(acct.token, acct.base);
    assert.deepEqual(served, emu.directory(acct.accountId));
    const memberPages = Object.values(served.groupMembers).reduce(
      (n, m) => n + Math.max(1, Math.ceil(m.length / 100)),
      0,
    );
    assert.deepEqual(emu.stats.calls, {
      [ENDPOINTS.users]: 3,
      [ENDPOINTS.groups]: 2,
      [ENDPOINTS.groupUsers]: memberPages,
      [ENDPOINTS.permissionProfiles]: 1,
      [ENDPOINTS.signingGroups]: 1,
      [ENDPOINTS.settings]: 1,
      [ENDPOINTS.passwordRules]: 1,
    });
    assert.equal(served.permissionProfiles.length, 6);
    for (const p of served.permissionProfiles) assert.equal(typeof p.settings, 'object');
    assert.equal(served.signingGroups.length, 3);
  });

  void test('groupList: built-in groups "SystemAccount", custom ones "LocalAccount" (S16)', async () => {
    const { users } = emu.directory(acct.accountId);
    const types = new Set(
      users.flatMap((u) => (u.groupList as Rec[]).map((g) => `${String(g.groupType)}:${String(g.userGroupType)}`)),
    );
    assert.deepEqual([...types].sort(), [
      'adminGroup:SystemAccount',
      'customGroup:LocalAccount',
      'everyoneGroup:SystemAccount',
    ]);
  });
});

void describe('access review: scripted changes', () => {
  void test("an auditor's week: each change shows on every endpoint, and nothing else changes", async () => {
    const acct = await ownAccount('7d0c1e2f-3a4b-4c5d-9e6f-0000000000a2');
    const { accountId } = acct;
    emu.seedDirectory(accountId, { users: 80, groups: 6, groupMembers: 8, profiles: 4, signingGroups: 1 });
    const start = emu.directory(accountId);
    const admins = start.groups.find((g) => g.groupType === 'adminGroup')!.groupId as string;
    const everyone = start.groups.find((g) => g.groupType === 'everyoneGroup')!.groupId as string;
    const [custom, other] = start.groups
      .filter((g) => g.groupType === 'customGroup')
      .map((g) => g.groupId as string) as [string, string];
    const inGroup = (gid: string) => new Set(start.groupMembers[gid]!.map((m) => m.userId as string));
    // Distinct active, logged-in, non-admin users, none in `custom` except Y, R only in `other`.
    const pool = start.users
      .filter((u) => u.userStatus === 'Active' && u.isAdmin === 'False' && u.lastLogin !== undefined)
      .filter((u) => u.permissionProfileName === 'DocuSign Sender')
      .map((u) => u.userId as string);
    const notIn = (gid: string) => pool.filter((id) => !inGroup(gid).has(id));
    const [P, C, M, X, L, R] = notIn(custom).filter((id) => !inGroup(other).has(id)) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    assert.ok(R, 'enough candidates');
    const Y = [...inGroup(custom)].find((id) => pool.includes(id) && !inGroup(other).has(id))!;
    assert.ok(Y);
    emu.addGroupMember(accountId, other, R);
    const signingGroupId = start.signingGroups[0]!.signingGroupId as string;
    const r = start.users.find((u) => u.userId === R)!;
    emu.addSigningGroupMember(accountId, signingGroupId, { userName: r.userName as string, email: r.email as string });
    emu.setAccountSettings(accountId, { sessionTimeout: '20' });
    emu.setPasswordRules(accountId, { minimumPasswordLength: '8' });
    const before = await fullRefresh(acct.token, acct.base);

    emu.setAdmin(accountId, P, true);
    emu.closeUser(accountId, C);
    emu.removeUser(accountId, R);
    emu.setUserProfile(accountId, M, 'DocuSign Viewer');
    emu.addGroupMember(accountId, custom, X);
    emu.removeGroupMember(accountId, custom, Y);
    emu.setLastLogin(accountId, L, emu.now() - 120 * 86_400_000);
    emu.setAccountSettings(accountId, { sessionTimeout: '30' });
    emu.setPasswordRules(accountId, { minimumPasswordLength: '14' });
    const after = await fullRefresh(acct.token, acct.base);
    assert.deepEqual(after, emu.directory(accountId), 'what is served is the truth');

    assert.deepEqual(diff(before.users, after.users, 'userId'), {
      added: [],
      removed: [R],
      changed: {
        [P]: ['groupList', 'isAdmin', 'permissionProfileId', 'permissionProfileName', 'userSettings'],
        [C]: ['userStatus'],
        [M]: ['permissionProfileId', 'permissionProfileName'],
        [X]: ['groupList'],
        [Y]: ['groupList'],
        [L]: ['lastLogin'],
      },
    });
    const promoted = after.users.find((u) => u.userId === P)!;
    assert.deepEqual([promoted.isAdmin, promoted.permissionProfileName], ['True', 'Account Administrator']);
    assert.equal((promoted.userSettings as Rec).canManageAccount, 'true');
    assert.equal(after.users.find((u) => u.userId === M)!.permissionProfileName, 'DocuSign Viewer');

    assert.deepEqual(diff(before.groups, after.groups, 'groupId'), {
      added: [],
      removed: [],
      changed: { [admins]: ['usersCount'], [everyone]: ['usersCount'], [other]: ['usersCount'] },
    });
    const ids = (gid: string, t: DirectoryTruth) => t.groupMembers[gid]!.map((m) => m.userId);
    assert.ok(ids(admins, after).includes(P));
    for (const gid of Object.keys(after.groupMembers))
      assert.ok(!ids(gid, after).includes(R), 'removed from every member list');
    assert.deepEqual(ids(custom, after), [...ids(custom, before).filter((id) => id !== Y), X]);
    const closed = after.groupMembers[everyone]!.find((m) => m.userId === C)!;
    assert.equal(closed.userStatus, 'closed', 'member lists say it in lower case');

    assert.deepEqual(diff(before.permissionProfiles, after.permissionProfiles, 'permissionProfileId').changed, {});
    assert.deepEqual(diff(before.signingGroups, after.signingGroups, 'signingGroupId').changed, {
      [signingGroupId]: ['users'],
    });
    assert.deepEqual(objectDiff(before.settings, after.settings), ['sessionTimeout']);
    assert.equal(after.settings.sessionTimeout, '30');
    assert.deepEqual(objectDiff(before.passwordRules, after.passwordRules), ['minimumPasswordLength']);

    const gone = await getJson<{ errorCode: string }>(`${acct.base}/users/${R}`, acct.token);
    assert.deepEqual([gone.status, gone.body.errorCode], [400, 'USER_DOES_NOT_EXIST_IN_SYSTEM']);
    const viewers = await getJson<{ permissionProfiles: Rec[] }>(
      `${acct.base}/permission_profiles?include=users`,
      acct.token,
    );
    const byName = (n: string) =>
      viewers.body.permissionProfiles.find((p) => p.permissionProfileName === n)!.users as Rec[];
    assert.ok(byName('DocuSign Viewer').some((u) => u.userId === M));
    assert.ok(byName('Account Administrator').some((u) => u.userId === P));
    assert.ok(!viewers.body.permissionProfiles.some((p) => (p.users as Rec[]).some((u) => u.userId === R)));
  });

  void test('add users, statuses, demote, groups, profile settings and signing groups; bad references throw', async () => {
    const acct = await ownAccount('7d0c1e2f-3a4b-4c5d-9e6f-0000000000a3');
    const { accountId } = acct;
    const groupId = emu.createGroup(accountId, { groupName: 'Auditors' });
    const userId = emu.addAccountUser(accountId, {
      firstName: 'Ada',
      lastName: 'Auditor',
      email: 'ada.auditor@example.com',
      status: 'ActivationSent',
      profile: 'DocuSign Viewer',
      groupIds: [groupId],
    });
    const admin = emu.addAccountUser(accountId, { isAdmin: true, lastLogin: emu.now() - 86_400_000 });
    let t = emu.directory(accountId);
    const ada = t.users.find((u) => u.userId === userId)!;
    assert.deepEqual(
      [
        ada.userName,
        ada.email,
        ada.userStatus,
        ada.permissionProfileName,
        ada.isAdmin,
        ada.loginStatus,
        'lastLogin' in ada,
      ],
      ['Ada Auditor', 'ada.auditor@example.com', 'ActivationSent', 'DocuSign Viewer', 'False', 'NeverLoggedIn', false],
    );
    assert.deepEqual(
      (ada.groupList as Rec[]).map((g) => g.groupName),
      ['Everyone', 'Auditors'],
    );
    const boss = t.users.find((u) => u.userId === admin)!;
    assert.deepEqual(
      [boss.isAdmin, boss.permissionProfileName, boss.loginStatus],
      ['True', 'Account Administrator', 'LoggedIn'],
    );
    assert.equal(t.groups.find((g) => g.groupId === groupId)!.usersCount, '1');

    emu.setUserStatus(accountId, userId, 'Active');
    emu.setAdmin(accountId, admin, false);
    emu.setProfileSettings(accountId, 'DocuSign Viewer', { canSendEnvelope: 'true' });
    const sg = emu.addSigningGroup(accountId, {
      groupName: 'Board',
      members: [{ userName: 'Ada Auditor', email: 'ada.auditor@example.com' }],
    });
    emu.addSigningGroupMember(accountId, sg, { userName: 'Bo Board', email: 'bo@example.com' });
    emu.removeSigningGroupMember(accountId, sg, 'ADA.AUDITOR@example.com');
    t = emu.directory(accountId);
    assert.equal(t.users.find((u) => u.userId === userId)!.userStatus, 'Active');
    const demoted = t.users.find((u) => u.userId === admin)!;
    assert.deepEqual([demoted.isAdmin, demoted.permissionProfileName], ['False', 'DocuSign Sender']);
    const admins = t.groups.find((g) => g.groupType === 'adminGroup')!.groupId as string;
    assert.ok(!t.groupMembers[admins]!.some((m) => m.userId === admin));
    const viewer = t.permissionProfiles.find((p) => p.permissionProfileName === 'DocuSign Viewer')!;
    assert.equal((viewer.settings as Rec).canSendEnvelope, 'true');
    assert.equal(Date.parse(viewer.modifiedDateTime as string) > emu.now() - 60_000, true, 'modified now');
    const board = t.signingGroups.find((g) => g.signingGroupId === sg)!;
    assert.deepEqual(board.users, [{ userName: 'Bo Board', email: 'bo@example.com' }]);
    // Served the same way.
    const served = await getJson<{ groups: Rec[] }>(`${acct.base}/signing_groups?include_users=true`, acct.token);
    assert.deepEqual(
      served.body.groups.find((g) => g.signingGroupId === sg),
      board,
    );

    emu.deleteGroup(accountId, groupId);
    emu.removeSigningGroup(accountId, sg);
    t = emu.directory(accountId);
    assert.ok(!t.groups.some((g) => g.groupId === groupId));
    assert.ok(!(t.users.find((u) => u.userId === userId)!.groupList as Rec[]).some((g) => g.groupId === groupId));
    assert.ok(!t.signingGroups.some((g) => g.signingGroupId === sg));
    assert.equal((await get(`${acct.base}/groups/${groupId}/users`, acct.token)).status, 400);

    assert.throws(() => emu.deleteGroup(accountId, admins), /cannot be deleted/);
    assert.throws(() => emu.setUserProfile(accountId, userId, 'No Such Profile'), /unknown permission profile/);
    assert.throws(() => emu.closeUser(accountId, '00000000-0000-4000-8000-000000000000'), /unknown user/);
    assert.throws(() => emu.addAccountUser(accountId, { userId }), /already exists/);
    // The signing groups of the user's second account: none at all → {}.
    const second = emu.accountsOf('7d0c1e2f-3a4b-4c5d-9e6f-0000000000a3').find((a) => !a.isDefault)!;
    emu.addSigningGroup(second.accountId, { groupName: 'Only' });
    emu.removeSigningGroup(
      second.accountId,
      emu.directory(second.accountId).signingGroups[0]!.signingGroupId as string,
    );
    const none = await getJson(
      `${second.baseUri}/restapi/v2.1/accounts/${second.accountId}/signing_groups`,
      acct.token,
    );
    assert.deepEqual(none.body, {});
  });
});

void describe('large account', () => {
  void test('10,000 users, 200 groups (custom ones 50 members on average), 20 profiles: sizes, determinism, page cost', async (t) => {
    const acct = await ownAccount('7d0c1e2f-3a4b-4c5d-9e6f-0000000000a4');
    const t0 = performance.now();
    const seeded = await post('directory/seed', {
      accountId: acct.accountId,
      users: 10_000,
      groups: 200,
      groupMembers: 50,
      profiles: 20,
    });
    assert.equal(seeded.status, 200, JSON.stringify(seeded.body));
    t.diagnostic(`seeded 10,000 users in ${Math.round(performance.now() - t0)} ms`);

    const users = await getJson<ListPage & { users: Rec[] }>(
      `${acct.base}/users?count=100&start_position=9900`,
      acct.token,
    );
    assert.deepEqual([users.body.totalSetSize, users.body.resultSetSize], ['10001', '100']);
    const groups = await allPages(acct.token, `${acct.base}/groups`, 'groups');
    assert.equal(groups.length, 200);
    const custom = groups.filter((g) => g.groupType === 'customGroup').map((g) => Number(g.usersCount));
    const mean = custom.reduce((a, b) => a + b, 0) / custom.length;
    assert.ok(Math.abs(mean - 50) < 1, `mean custom group size ${mean}`);
    assert.ok(custom.filter((n) => n > 100).length >= 5, 'some groups need two member pages');
    assert.equal(groups.find((g) => g.groupType === 'everyoneGroup')!.usersCount, '10001');
    const profiles = await getJson<{ permissionProfiles: Rec[] }>(`${acct.base}/permission_profiles`, acct.token);
    assert.equal(profiles.body.permissionProfiles.length, 20);
    assert.equal(new Set(profiles.body.permissionProfiles.map((p) => p.permissionProfileName)).size, 20);

    // Deterministic: the same seed and size give the same directory, times relative to the emulator clock (a smaller
    // one, to keep the test quick).
    const other = await startEmulator({ seed: 7, envelopes: 0 });
    try {
      const spec = { users: 1000, groups: 30, profiles: 5 };
      const [a, b] = [emu, other].map((e) => {
        e.addUser({ userId: '7d0c1e2f-3a4b-4c5d-9e6f-0000000000a5' });
        const id = e.accountsOf('7d0c1e2f-3a4b-4c5d-9e6f-0000000000a5').find((x) => x.isDefault)!.accountId;
        e.seedDirectory(id, spec);
        const text = JSON.stringify(e.directory(id)).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, 'T');
        return createHash('sha256').update(text).digest('hex');
      });
      assert.equal(a, b);
    } finally {
      await other.stop();
    }

    // (What one page costs on a large account is a benchmark's business: bench/snapshots.ts, never a timed test.)
  });
});

void describe('shared envelope sets (shareEnvelopeSets, for scale benchmarks)', () => {
  void test('accounts seeded alike share one set until one changes; then only that account changes', async () => {
    const userA = '7d0c1e2f-3a4b-4c5d-9e6f-0000000000c1';
    const userB = '7d0c1e2f-3a4b-4c5d-9e6f-0000000000c2';
    const defaultOf = (e: Emulator, user: string) => e.accountsOf(user).find((a) => a.isDefault)!.accountId;
    const ids = (e: Emulator, account: string) => e.envelopes(account).map((x) => x.envelopeId);
    const separate = await startEmulator({ envelopes: 30 });
    const shared = await startEmulator({ envelopes: 30, shareEnvelopeSets: true });
    try {
      for (const e of [separate, shared]) for (const user of [userA, userB]) e.addUser({ userId: user });
      assert.notDeepEqual(ids(separate, defaultOf(separate, userA)), ids(separate, defaultOf(separate, userB)));
      const [a, b] = [defaultOf(shared, userA), defaultOf(shared, userB)];
      const before = shared.envelopes(b);
      assert.equal(before.length, 30);
      assert.deepEqual(shared.envelopes(a), before);

      const changed = shared.mutate(a, 3);
      const statusOf = (account: string, id: string) => shared.envelopes(account).find((x) => x.envelopeId === id);
      assert.ok(
        changed.some((id) => statusOf(a, id)?.statusChangedDateTime !== statusOf(b, id)?.statusChangedDateTime),
      );
      assert.deepEqual(shared.envelopes(b), before, 'the other account kept the shared set unchanged');
      shared.addEnvelope(a, { status: 'completed' });
      assert.equal(
        shared.envelopes(a).length,
        31 + changed.filter((id) => !before.some((x) => x.envelopeId === id)).length,
      );
      assert.deepEqual(shared.envelopes(b), before);

      shared.seedEnvelopes(b, 5);
      assert.equal(shared.envelopes(b).length, 5);
      assert.ok(shared.envelopes(a).length >= 31);
    } finally {
      await Promise.all([separate.stop(), shared.stop()]);
    }
  });
});

void describe('signed proof', () => {
  let acct: { accountId: string; base: string; token: string };
  before(async () => {
    acct = await ownAccount('7d0c1e2f-3a4b-4c5d-9e6f-0000000000b1');
  });
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const download = async (envelopeId: string, documentId = 'certificate', token = acct.token) => {
    const res = await get(`${acct.base}/envelopes/${envelopeId}/documents/${documentId}`, token);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body, json: res.status === 200 ? undefined : (JSON.parse(body.toString()) as Rec) };
  };

  void test('certificate: byte-identical on every call, one per envelope; counted per envelope', async () => {
    const [e1, e2] = emu.envelopes(acct.accountId).filter((e) => e.status === 'completed');
    emu.stats.reset();
    const a = await download(e1!.envelopeId);
    const b = await download(e1!.envelopeId);
    const c = await download(e2!.envelopeId);
    assert.equal(a.status, 200);
    assert.equal(sha256(a.body), sha256(b.body));
    assert.notEqual(sha256(a.body), sha256(c.body));
    const text = a.body.toString('latin1');
    assert.ok(text.includes(e1!.envelopeId));
    for (const s of e1!.recipients!.signers) assert.ok(text.includes(s.name as string), 'every signer is on it');
    assert.deepEqual(emu.stats.documentsDownloaded, { [e1!.envelopeId]: 2, [e2!.envelopeId]: 1 });
    assert.equal(emu.stats.calls[ENDPOINTS.certificate], 3);
    assert.equal(emu.stats.calls[ENDPOINTS.document] ?? 0, 0);
  });

  void test('only completed envelopes have one: listed and served; others → 400 DOCUMENT_DOES_NOT_EXIST, not counted', async () => {
    emu.stats.reset();
    for (const status of ['created', 'sent', 'delivered', 'declined', 'voided', 'completed'] as const) {
      const e = emu.addEnvelope(acct.accountId, { status });
      assert.equal(e.status, status);
      const docs = await getJson<{ envelopeDocuments: Rec[] }>(
        `${acct.base}/envelopes/${e.envelopeId}/documents`,
        acct.token,
      );
      const listed = docs.body.envelopeDocuments.some((d) => d.documentId === 'certificate');
      const r = await download(e.envelopeId);
      if (status === 'completed') {
        assert.ok(listed);
        assert.equal(r.status, 200);
      } else {
        assert.ok(!listed, status);
        assert.deepEqual([r.status, r.json?.errorCode], [400, 'DOCUMENT_DOES_NOT_EXIST'], status);
      }
    }
    assert.equal(
      Object.values(emu.stats.documentsDownloaded).reduce((a, b) => a + b, 0),
      1,
    );
  });

  void test('audit events: the §10 field names, string values, stable; the last one completes the envelope', async () => {
    const e = emu.addEnvelope(acct.accountId, { subject: 'Audit me' });
    const url = `${acct.base}/envelopes/${e.envelopeId}/audit_events`;
    const first = await getJson<{ auditEvents: { eventFields: { name: string; value: string }[] }[] }>(url, acct.token);
    assert.deepEqual((await getJson(url, acct.token)).body, first.body);
    for (const ev of first.body.auditEvents) {
      assert.deepEqual(
        ev.eventFields.map((f) => f.name),
        [
          'logTime',
          'Source',
          'UserName',
          'UserId',
          'Action',
          'Message',
          'EnvelopeStatus',
          'ClientIPAddress',
          'Information',
          'InformationLocalized',
          'GeoLocation',
          'Language',
        ],
      );
      assert.ok(ev.eventFields.every((f) => typeof f.value === 'string'));
    }
    const last = first.body.auditEvents.at(-1)!.eventFields;
    assert.equal(last.find((f) => f.name === 'EnvelopeStatus')!.value, 'completed');
  });

  void test('addEnvelope with subject and template: in the list at the emulator clock; GET /envelopes/{id}/templates; templates()', async () => {
    const templateId = '5a1b2c3d-0000-4000-8000-00000000c0de';
    const since = new Date(emu.now() - 1000).toISOString();
    const made = emu.addEnvelope(acct.accountId, {
      subject: 'NDA for Casey',
      template: { templateId, name: 'Mutual NDA 2026' },
    });
    const plain = emu.addEnvelope(acct.accountId, { subject: 'No template', status: 'sent' });
    assert.equal(made.status, 'completed');
    assert.equal(made.emailSubject, 'NDA for Casey');
    const listed = await getJson<{ envelopes: EnvelopeLike[] }>(
      `${acct.base}/envelopes?from_date=${encodeURIComponent(since)}&include=recipients`,
      acct.token,
    );
    assert.deepEqual(
      listed.body.envelopes.find((e) => e.envelopeId === made.envelopeId),
      made,
    );
    assert.ok(listed.body.envelopes.some((e) => e.envelopeId === plain.envelopeId));
    assert.ok(!('templateId' in made), 'the envelope itself carries no template ID (as DocuSign)');
    const tpl = await getJson<{ templates: Rec[] }>(`${acct.base}/envelopes/${made.envelopeId}/templates`, acct.token);
    assert.deepEqual(
      tpl.body.templates.map((x) => [x.templateId, x.name, x.applied, x.documentName]),
      [[templateId, 'Mutual NDA 2026', 'true', 'Mutual NDA 2026.pdf']],
    );
    assert.deepEqual((await getJson(`${acct.base}/envelopes/${plain.envelopeId}/templates`, acct.token)).body, {});
    const truth = emu.templates(acct.accountId);
    assert.deepEqual(
      truth.find((x) => x.templateId === templateId),
      { templateId, name: 'Mutual NDA 2026', envelopeIds: [made.envelopeId] },
    );
    // Generated envelopes: about half come from the account's template for their document.
    const generated = truth.filter((x) => x.templateId !== templateId);
    const fromTemplates = generated.reduce((n, x) => n + x.envelopeIds.length, 0);
    assert.ok(fromTemplates > 80 && fromTemplates < 170, `${fromTemplates} of 250 generated envelopes`);
    const sample = generated.find((x) => x.envelopeIds.length > 0)!;
    const served = await getJson<{ templates: Rec[] }>(
      `${acct.base}/envelopes/${sample.envelopeIds[0]!}/templates`,
      acct.token,
    );
    assert.equal(served.body.templates[0]!.name, sample.name);
    assert.equal(emu.stats.calls[ENDPOINTS.envelopeTemplates]! >= 3, true);
  });

  void test('per-document limit (§3.3): 10 per hour and 20 per 6 hours → API_REQUEST_IS_THROTTLED; counted; combined 3', async () => {
    emu.setTokenLifetime(86_400);
    const token = await mint({ sub: '7d0c1e2f-3a4b-4c5d-9e6f-0000000000b1' });
    emu.setEnvelopePollingLimit(1000, 900);
    const e = emu.addEnvelope(acct.accountId);
    emu.stats.reset();
    const status = async (documentId = 'certificate') => (await download(e.envelopeId, documentId, token)).status;
    const throttled = async () => {
      const r = await download(e.envelopeId, 'certificate', token);
      assert.deepEqual(
        [r.status, r.json],
        [400, { errorCode: 'API_REQUEST_IS_THROTTLED', message: 'GetDocument call blocked' }],
      );
    };
    for (let i = 0; i < 10; i++) assert.equal(await status(), 200);
    await throttled();
    assert.equal(await status('1'), 200, 'the limit is per document');
    emu.setClock(3601);
    for (let i = 0; i < 10; i++) assert.equal(await status(), 200);
    await throttled();
    emu.setClock(3 * 3600);
    await throttled(); // 20 within the last 6 hours
    emu.setClock(6 * 3600 + 1);
    assert.equal(await status(), 200);
    assert.equal(emu.stats.throttled, 3);
    assert.equal(emu.stats.documentsDownloaded[e.envelopeId], 22);
    for (let i = 0; i < 3; i++) assert.equal(await status('combined'), 200);
    assert.equal(await status('combined'), 400);
    emu.setDocumentDownloadLimit(1, 1);
    const f = emu.addEnvelope(acct.accountId);
    assert.equal((await download(f.envelopeId, 'certificate', token)).status, 200);
    assert.equal((await download(f.envelopeId, 'certificate', token)).status, 400);
  });

  void test('the per-envelope polling limit applies to downloads first, counted in pollingLimited', async () => {
    emu.setEnvelopePollingLimit(2, 900);
    const e = emu.addEnvelope(acct.accountId);
    emu.stats.reset();
    assert.equal((await download(e.envelopeId)).status, 200);
    assert.equal((await download(e.envelopeId)).status, 200);
    const r = await download(e.envelopeId);
    assert.deepEqual([r.status, r.json?.errorCode], [400, 'Hourly_Envelope_Polling_Limit_Exceeded']);
    assert.deepEqual([emu.stats.pollingLimited, emu.stats.throttled], [1, 0]);
  });

  void test('faults.certificateUnavailable(id, n): not available n times, then the same bytes; clear() ends it', async () => {
    const e = emu.addEnvelope(acct.accountId);
    const good = await download(e.envelopeId);
    emu.faults.certificateUnavailable(e.envelopeId, 2);
    for (let i = 0; i < 2; i++) {
      const r = await download(e.envelopeId);
      assert.deepEqual([r.status, r.json?.errorCode], [400, 'DOCUMENT_DOES_NOT_EXIST']);
    }
    assert.equal(sha256((await download(e.envelopeId)).body), sha256(good.body));
    assert.equal((await post('faults/certificateUnavailable', { envelopeId: e.envelopeId, times: 5 })).status, 200);
    assert.equal((await download(e.envelopeId)).status, 400);
    emu.faults.clear();
    assert.equal((await download(e.envelopeId)).status, 200);
  });
});

void describe('/__admin: access review and proof over HTTP', () => {
  void test('every change route, the truth routes, stats and limits', async () => {
    const acct = await ownAccount('7d0c1e2f-3a4b-4c5d-9e6f-0000000000c1');
    const { accountId } = acct;
    const ok = async (path: string, body: Rec): Promise<Rec> => {
      const r = await post(path, { accountId, ...body });
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const truth = async (): Promise<DirectoryTruth> =>
      (await (await fetch(`${emu.url}/__admin/directory?accountId=${accountId}`)).json()) as DirectoryTruth;
    await ok('directory/seed', { users: 30, groups: 4, profiles: 4, signingGroups: 1 });
    let t = await truth();
    assert.deepEqual(t, emu.directory(accountId));
    assert.deepEqual(
      [t.users.length, t.groups.length, t.permissionProfiles.length, t.signingGroups.length],
      [31, 4, 4, 1],
    );

    const { groupId } = (await ok('groups', { groupName: 'Finance Approvers' })) as { groupId: string };
    const { userId } = (await ok('account-users', {
      firstName: 'Http',
      lastName: 'User',
      status: 'Active',
      profile: 'DocuSign Viewer',
      groupIds: [groupId],
      lastLogin: '2026-01-02T03:04:05Z',
    })) as { userId: string };
    const other = t.users.find((x) => x.isAdmin === 'False')!.userId as string;
    await ok('account-users/status', { userId, status: 'Disabled' });
    await ok('account-users/last-login', { userId, lastLogin: null });
    await ok('account-users/admin', { userId: other, isAdmin: true });
    await ok('account-users/profile', { userId, profile: 'DocuSign Sender' });
    await ok('groups/members/add', { groupId, userId: other });
    await ok('groups/members/remove', { groupId, userId });
    await ok('permission-profiles/settings', { profile: 'DocuSign Viewer', settings: { canSendEnvelope: 'true' } });
    await ok('settings', { settings: { sessionTimeout: '30', enableKBAAuthentication: 'true' } });
    await ok('password-rules', { rules: { minimumPasswordLength: '14' } });
    const { signingGroupId } = (await ok('signing-groups', { groupName: 'Desk', members: [] })) as {
      signingGroupId: string;
    };
    await ok('signing-groups/members/add', { signingGroupId, userName: 'A B', email: 'a.b@example.com' });
    t = await truth();
    const u = t.users.find((x) => x.userId === userId)!;
    assert.deepEqual(
      [u.userStatus, u.loginStatus, u.permissionProfileName],
      ['Disabled', 'NeverLoggedIn', 'DocuSign Sender'],
    );
    assert.equal(t.users.find((x) => x.userId === other)!.isAdmin, 'True');
    assert.deepEqual(
      t.groupMembers[groupId]!.map((m) => m.userId),
      [other],
    );
    assert.equal(
      (t.permissionProfiles.find((p) => p.permissionProfileName === 'DocuSign Viewer')!.settings as Rec)
        .canSendEnvelope,
      'true',
    );
    assert.deepEqual(
      [t.settings.sessionTimeout, t.settings.enableKBAAuthentication, t.passwordRules.minimumPasswordLength],
      ['30', 'true', '14'],
    );
    assert.deepEqual(t.signingGroups.find((g) => g.signingGroupId === signingGroupId)!.users, [
      { userName: 'A B', email: 'a.b@example.com' },
    ]);

    await ok('signing-groups/members/remove', { signingGroupId, email: 'a.b@example.com' });
    await ok('signing-groups/delete', { signingGroupId });
    await ok('groups/delete', { groupId });
    await ok('account-users/close', { userId: other });
    await ok('account-users/remove', { userId });
    t = await truth();
    assert.ok(!t.users.some((x) => x.userId === userId));
    assert.equal(t.users.find((x) => x.userId === other)!.userStatus, 'Closed');
    assert.ok(!t.groups.some((g) => g.groupId === groupId));
    assert.ok(!t.signingGroups.some((g) => g.signingGroupId === signingGroupId));

    const e = await ok('envelopes/add', {
      subject: 'Policy ack',
      template: { templateId: 'tpl-1', name: 'Security Policy' },
    });
    assert.deepEqual([e.status, e.emailSubject], ['completed', 'Policy ack']);
    const templates = (await (await fetch(`${emu.url}/__admin/templates?accountId=${accountId}`)).json()) as Rec[];
    assert.deepEqual(
      templates.find((x) => x.templateId === 'tpl-1'),
      { templateId: 'tpl-1', name: 'Security Policy', envelopeIds: [e.envelopeId] },
    );
    assert.equal((await post('download-limit', { perHour: 1 })).status, 200);
    assert.equal(
      (await get(`${acct.base}/envelopes/${String(e.envelopeId)}/documents/certificate`, acct.token)).status,
      200,
    );
    assert.equal(
      (await get(`${acct.base}/envelopes/${String(e.envelopeId)}/documents/certificate`, acct.token)).status,
      400,
    );
    const stats = (await (await fetch(`${emu.url}/__admin/stats`)).json()) as Rec;
    assert.equal((stats.documentsDownloaded as Record<string, number>)[e.envelopeId as string], 1);
    assert.ok((stats.throttled as number) >= 1);
    assert.equal(typeof stats.pollingLimited, 'number');
  });

  void test('bad bodies → 400 naming the field; unknown objects → 400 with the reason', async () => {
    const { accountId } = defaultAccount();
    const bad = await post('account-users/status', { accountId, userId: 'x', status: 'Gone' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error as string, /status/);
    assert.match(
      (await post('account-users/last-login', { accountId, userId: 'x', lastLogin: 'yesterday' })).body.error as string,
      /lastLogin/,
    );
    assert.match((await post('directory/seed', { accountId, groups: 1 })).body.error as string, /groups/);
    const unknown = await post('account-users/close', { accountId, userId: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error as string, /unknown user/);
    assert.equal((await post('envelopes/add', { accountId, status: 'signed' })).status, 400);
  });
});

void describe('standalone entry', () => {
  void test('main.ts starts, prints the URL, the JWT aud, the user and how to register a key', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'emulator/main.ts',
        '--port',
        '0',
        '--envelopes',
        '20',
        '--seed',
        '5',
        '--users',
        '300',
        '--groups',
        '8',
        '--group-members',
        '40',
        '--profiles',
        '5',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 10_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m && out.includes('/__admin/consent')) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      assert.match(out, /JWT aud = "127\.0\.0\.1:\d+"/);
      assert.match(out, /POST .*\/__admin\/apps/);
      const info = (await (await fetch(`${url}/__admin/info`)).json()) as {
        users: { accounts: { accountId: string; isDefault: boolean }[] }[];
      };
      assert.equal(info.users.length, 1);
      assert.equal(info.users[0]!.accounts.length, 2);
      // --users and friends size the default account.
      assert.match(out, /301 users, 8 groups, 5 permission profiles/);
      const account = info.users[0]!.accounts.find((a) => a.isDefault)!;
      const truth = (await (
        await fetch(`${url}/__admin/directory?accountId=${account.accountId}`)
      ).json()) as DirectoryTruth;
      assert.deepEqual([truth.users.length, truth.groups.length, truth.permissionProfiles.length], [301, 8, 5]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
