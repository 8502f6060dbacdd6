/**
 * The token service's decisions on an injected clock with a fake token endpoint: when a cached token is still handed
 * out (the freshness margin), one mint shared by concurrent callers, the 401 retry, what a mint signs and reports.
 * Against the emulator (real JWT checks): test/tokens.test.ts.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AccessTokenRejectedError, type DocuSignClient } from '../activities/docusign';
import { ConnectorError } from '../activities/errors';
import { TokenService, trustedOAuthBaseUrl, type TokenCredentials } from '../activities/tokens';
import { trustPolicyOf } from '../activities/trust';
import { rsaKeys } from './helpers/keys';

const MINUTE = 60_000;
const T0 = Date.parse('2026-06-24T12:00:00Z');
const keyEnv = { DOCUSIGN_KEY_UNIT: rsaKeys().privatePem, DOCUSIGN_KEY_UNIT_2: rsaKeys().privatePem };

const creds: TokenCredentials = {
  connectionId: 'tok-unit',
  environment: 'demo',
  integrationKey: '5c0f6a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f',
  userId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  privateKeyRef: 'env:DOCUSIGN_KEY_UNIT',
};

/** A token endpoint that issues `t1`, `t2`, … valid for `lifetimeS`; `fail` makes the next request throw it. */
function fakeEndpoint(lifetimeS = 3600) {
  const endpoint = {
    requests: [] as { oauthBaseUrl: string; assertion: string }[],
    lifetimeS,
    fail: undefined as Error | undefined,
    /** While set, the next request waits for it (concurrent callers pile up). */
    gate: undefined as Promise<void> | undefined,
    client: undefined as unknown as DocuSignClient,
  };
  endpoint.client = {
    trust: trustPolicyOf(),
    requestToken: async (oauthBaseUrl: string, assertion: string) => {
      endpoint.requests.push({ oauthBaseUrl, assertion });
      const { gate, fail: failure } = endpoint;
      endpoint.gate = undefined;
      endpoint.fail = undefined;
      await gate;
      if (failure) throw failure;
      return { accessToken: `t${endpoint.requests.length}`, expiresIn: endpoint.lifetimeS };
    },
  } as unknown as DocuSignClient;
  return endpoint;
}

function service(endpoint = fakeEndpoint(), onMint?: (outcome: string) => void) {
  const clock = { now: T0 };
  const tokens = new TokenService(endpoint.client, {
    now: () => clock.now,
    env: keyEnv,
    ...(onMint ? { onMint } : {}),
  });
  return { tokens, clock, endpoint };
}

describe('TokenService on an injected clock', () => {
  test('a cached token is handed out until 5 minutes before expiry, then re-minted', async () => {
    const { tokens, clock, endpoint } = service();
    const first = await tokens.get(creds);
    assert.deepEqual(first, { accessToken: 't1', expiresAt: T0 + 60 * MINUTE, lifetimeMs: 60 * MINUTE });
    clock.now = T0 + 54 * MINUTE; // 6 minutes left
    assert.equal((await tokens.get(creds)).accessToken, 't1');
    clock.now = T0 + 55 * MINUTE - 1; // 5 minutes and 1 ms left
    assert.equal((await tokens.get(creds)).accessToken, 't1');
    clock.now = T0 + 55 * MINUTE; // exactly 5 minutes left: not fresh any more
    assert.equal((await tokens.get(creds)).accessToken, 't2');
    assert.equal(endpoint.requests.length, 2);
  });

  test('a token with 4 minutes left is never handed out, though it is still valid', async () => {
    const { tokens, clock } = service();
    await tokens.get(creds);
    clock.now = T0 + 56 * MINUTE;
    const token = await tokens.get(creds);
    assert.equal(token.accessToken, 't2');
    assert.equal(token.expiresAt, T0 + 116 * MINUTE, 'expiry counted from the new request');
  });

  test('a short-lived token keeps a quarter of its lifetime as the margin', async () => {
    const { tokens, clock } = service(fakeEndpoint(8 * 60)); // 8 minutes: margin 2 minutes, not 5
    await tokens.get(creds);
    clock.now = T0 + 6 * MINUTE - 1;
    assert.equal((await tokens.get(creds)).accessToken, 't1');
    clock.now = T0 + 6 * MINUTE;
    assert.equal((await tokens.get(creds)).accessToken, 't2');
  });

  test('fresh: true always mints; the same credentials reuse', async () => {
    const { tokens } = service();
    await tokens.get(creds);
    assert.equal((await tokens.get(creds, { fresh: true })).accessToken, 't2');
    assert.equal((await tokens.get(creds)).accessToken, 't2');
  });

  for (const [field, value] of [
    ['integrationKey', '11111111-2222-3333-4444-555555555555'],
    ['userId', '66666666-7777-8888-9999-000000000000'],
    ['privateKeyRef', 'env:DOCUSIGN_KEY_UNIT_2'],
    ['oauthBaseUrl', 'https://account.docusign.com'],
  ] as const) {
    test(`another ${field} mints a new token`, async () => {
      const { tokens } = service();
      await tokens.get(creds);
      const trust = field === 'oauthBaseUrl' ? { environment: 'production' as const } : {};
      assert.equal((await tokens.get({ ...creds, ...trust, [field]: value })).accessToken, 't2');
    });
  }

  test('the same OAuth host written with a trailing slash is the same credentials', async () => {
    const { tokens } = service();
    await tokens.get(creds);
    assert.equal((await tokens.get({ ...creds, oauthBaseUrl: 'https://account-d.docusign.com/' })).accessToken, 't1');
  });

  test('credentials are told apart field by field, not by their concatenation', async () => {
    const { tokens } = service();
    await tokens.get({ ...creds, userId: 'user1', privateKeyRef: 'env:DOCUSIGN_KEY_UNIT' });
    // The same characters with the boundary moved: another user and another key reference (which is not readable).
    const shifted = { ...creds, userId: 'user1env:DOCUSIGN_KEY_UN', privateKeyRef: 'IT' };
    await assert.rejects(
      tokens.get(shifted),
      (err: unknown) => err instanceof ConnectorError && err.code === 'private_key_unavailable',
    );
  });

  test('a caller with stale credentials never gets the token a concurrent caller minted for new ones', async () => {
    const { tokens, clock } = service();
    await tokens.get(creds);
    clock.now = T0 + 58 * MINUTE; // t1 is stale
    const moved = { ...creds, userId: '66666666-7777-8888-9999-000000000000' };
    const [old, updated] = await Promise.all([tokens.get(creds), tokens.get(moved)]);
    assert.notEqual(old.accessToken, updated.accessToken, 'each got its own mint');
    assert.deepEqual([old.accessToken, updated.accessToken].sort(), ['t2', 't3']);
  });

  test('a failed mint leaves no cache entry behind; a later successful one stays cached', async () => {
    const { tokens, endpoint } = service();
    await tokens.get(creds); // t1
    // Two callers got the 401: one re-mints (and fails: consent was revoked); the other, still holding the rejected
    // token, retries after that failure and must mint again, not share it.
    let reject!: () => void;
    const laterRejection = new Promise<void>((resolve) => (reject = resolve));
    endpoint.fail = new ConnectorError('consent_required', 'DocuSign: consent_required');
    const first = tokens.withToken(creds, async () => {
      throw new AccessTokenRejectedError('401');
    });
    const second = tokens.withToken(creds, async (token) => {
      if (token === 't1') {
        await laterRejection;
        throw new AccessTokenRejectedError('401');
      }
      return token;
    });
    await assert.rejects(first, (err: unknown) => err instanceof ConnectorError && err.code === 'consent_required');
    reject();
    assert.equal(await second, 't3');

    // A slow failing mint must not evict the newer token that replaced it meanwhile.
    let open!: () => void;
    endpoint.gate = new Promise((resolve) => (open = resolve));
    endpoint.fail = new Error('slow failure');
    const slow = tokens.get(creds, { fresh: true }); // request 4: takes the gate and the failure
    while (endpoint.requests.length < 4) await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await tokens.get(creds, { fresh: true })).accessToken, 't5');
    open();
    await assert.rejects(slow, /slow failure/);
    assert.equal((await tokens.get(creds)).accessToken, 't5');
    assert.equal(endpoint.requests.length, 5);
  });

  test('connections are cached apart', async () => {
    const { tokens } = service();
    const a = await tokens.get(creds);
    const b = await tokens.get({ ...creds, connectionId: 'tok-unit-2' });
    assert.notEqual(a.accessToken, b.accessToken);
    assert.equal((await tokens.get(creds)).accessToken, a.accessToken);
  });

  test("a cached token does not keep the minting call's async context alive (in an activity: its whole Context)", async () => {
    // Temporal's activity Context lives in an AsyncLocalStorage; a cached settled promise kept it (~30 KB) per connection.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { tokens, endpoint } = service();
    const activityContexts = new AsyncLocalStorage<object>();
    const mintInside = async (): Promise<WeakRef<object>> => {
      const context = { input: 'x'.repeat(10_000) };
      await activityContexts.run(context, () => tokens.get(creds));
      return new WeakRef(context);
    };
    const context = await mintInside();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(context.deref(), undefined, 'the cache holds on to the context the token was minted in');
    assert.equal((await tokens.get(creds)).accessToken, 't1', 'still cached');
    assert.equal(endpoint.requests.length, 1);
  });

  test('concurrent callers share one mint, also when the cached token went stale', async () => {
    const { tokens, clock, endpoint } = service();
    let open!: () => void;
    endpoint.gate = new Promise((resolve) => (open = resolve));
    const waiting = Promise.all(Array.from({ length: 5 }, () => tokens.get(creds)));
    open();
    assert.deepEqual(
      (await waiting).map((t) => t.accessToken),
      ['t1', 't1', 't1', 't1', 't1'],
    );
    clock.now = T0 + 58 * MINUTE;
    endpoint.gate = new Promise((resolve) => (open = resolve));
    const again = Promise.all(Array.from({ length: 5 }, () => tokens.get(creds)));
    open();
    assert.deepEqual(
      (await again).map((t) => t.accessToken),
      ['t2', 't2', 't2', 't2', 't2'],
    );
    assert.equal(endpoint.requests.length, 2);
  });

  test('a failed mint is not cached: the next call mints again', async () => {
    const outcomes: string[] = [];
    const { tokens, endpoint } = service(fakeEndpoint(), (o) => outcomes.push(o));
    endpoint.fail = new ConnectorError('consent_required', 'DocuSign: consent_required');
    await assert.rejects(
      tokens.get(creds),
      (err: unknown) => err instanceof ConnectorError && err.code === 'consent_required',
    );
    assert.equal((await tokens.get(creds)).accessToken, 't2');
    endpoint.fail = new Error('untyped');
    await assert.rejects(tokens.get(creds, { fresh: true }), /untyped/);
    assert.deepEqual(outcomes, ['consent_required', 'ok', 'error']);
  });

  test('the assertion: RS256, iss, sub, aud = bare OAuth host, scope, iat from the clock, 600 s', async () => {
    const { tokens, clock, endpoint } = service();
    clock.now = T0 + 1_999; // iat is whole seconds, rounded down
    await tokens.get(creds);
    const { oauthBaseUrl, assertion } = endpoint.requests[0]!;
    assert.equal(oauthBaseUrl, 'https://account-d.docusign.com');
    assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'RS256', typ: 'JWT' });
    assert.deepEqual(decodeJwt(assertion), {
      scope: 'signature impersonation',
      iss: creds.integrationKey,
      sub: creds.userId,
      aud: 'account-d.docusign.com',
      iat: (T0 + 1_000) / 1000,
      exp: (T0 + 1_000) / 1000 + 600,
    });
  });
});

describe('TokenService.withToken', () => {
  test('a 401 re-mints once and retries with the new token', async () => {
    const { tokens, endpoint } = service();
    const seen: string[] = [];
    const result = await tokens.withToken(creds, async (token) => {
      seen.push(token);
      if (token === 't1') throw new AccessTokenRejectedError('401');
      return `ok with ${token}`;
    });
    assert.equal(result, 'ok with t2');
    assert.deepEqual(seen, ['t1', 't2']);
    assert.equal(endpoint.requests.length, 2);
  });

  test('a second 401 is not retried again; other errors are not retried at all', async () => {
    const { tokens, endpoint } = service();
    let calls = 0;
    await assert.rejects(
      tokens.withToken(creds, async () => {
        calls++;
        throw new AccessTokenRejectedError('401 again');
      }),
      AccessTokenRejectedError,
    );
    assert.equal(calls, 2);
    calls = 0;
    await assert.rejects(
      tokens.withToken(creds, async () => {
        calls++;
        throw new ConnectorError('docusign_unavailable', 'HTTP 503');
      }),
      /HTTP 503/,
    );
    assert.equal(calls, 1);
    assert.equal(endpoint.requests.length, 2, 'only the 401 re-minted');
  });

  test('concurrent callers that all got the 401 share one re-mint', async () => {
    const { tokens, endpoint } = service();
    await tokens.get(creds);
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        tokens.withToken(creds, async (token) => {
          if (token === 't1') throw new AccessTokenRejectedError('401');
          return token;
        }),
      ),
    );
    assert.deepEqual(results, ['t2', 't2', 't2', 't2']);
    assert.equal(endpoint.requests.length, 2);
  });
});

describe('trustedOAuthBaseUrl', () => {
  test("the environment's DocuSign host, or an allowed host; anything else before any key is read", async () => {
    assert.equal(trustedOAuthBaseUrl({ environment: 'production' }, trustPolicyOf()), 'https://account.docusign.com');
    assert.equal(
      trustedOAuthBaseUrl(
        { environment: 'demo', oauthBaseUrl: 'http://127.0.0.1:4010/' },
        trustPolicyOf({ allowedHosts: ['127.0.0.1:4010'] }),
      ),
      'http://127.0.0.1:4010',
    );
    assert.throws(
      () => trustedOAuthBaseUrl({ environment: 'demo', oauthBaseUrl: 'https://account.docusign.com' }, trustPolicyOf()),
      (err: unknown) =>
        err instanceof ConnectorError && err.code === 'untrusted_oauth_host' && /^oauthBaseUrl: /.test(err.message),
    );
    const { tokens, endpoint } = service();
    const missingKey = { ...creds, privateKeyRef: 'env:DOCUSIGN_KEY_MISSING', oauthBaseUrl: 'https://evil.example' };
    await assert.rejects(
      tokens.get(missingKey),
      (err: unknown) => err instanceof ConnectorError && err.code === 'untrusted_oauth_host',
    );
    assert.equal(endpoint.requests.length, 0);
  });
});
