/**
 * The token service against the emulator: JWT claims as DocuSign documents them, one mint shared by concurrent
 * callers, a new mint when credentials change or on a 401, and typed failures.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AccessTokenRejectedError, DocuSignClient } from '../activities/docusign';
import { type ConnectorError } from '../activities/errors';
import { TokenService, type TokenCredentials } from '../activities/tokens';
import { trustPolicyOf } from '../activities/trust';
import { startEmulator, type Emulator } from '../emulator';
import { rsaKeys } from './helpers/connector';

describe('TokenService', () => {
  let emu: Emulator;
  let dir: string;
  let creds: TokenCredentials;
  before(async () => {
    emu = await startEmulator({ envelopes: 0 });
    dir = mkdtempSync(path.join(tmpdir(), 'tokens-'));
    const keys = rsaKeys();
    writeFileSync(path.join(dir, 'key.pem'), keys.privatePem);
    creds = {
      connectionId: 'tok',
      environment: 'demo',
      integrationKey: randomUUID(),
      userId: randomUUID(),
      privateKeyRef: `file:${path.join(dir, 'key.pem')}`,
      oauthBaseUrl: emu.url,
    };
    emu.registerApp(creds.integrationKey, keys.publicPem);
    emu.addUser({ userId: creds.userId });
    emu.grantConsent(creds.integrationKey, creds.userId);
  });
  after(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const service = () =>
    new TokenService(
      new DocuSignClient({ timeoutMs: 5000, trust: trustPolicyOf({ keysDir: dir, allowedHosts: [emu.host] }) }),
    );

  test('the assertion carries exactly the documented claims (RS256, aud = bare OAuth host, 600 s)', async () => {
    await service().get(creds);
    const assertion = emu.stats.assertionsReceived.at(-1)!;
    assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'RS256', typ: 'JWT' });
    const claims = decodeJwt(assertion);
    assert.equal(claims.iss, creds.integrationKey);
    assert.equal(claims.sub, creds.userId);
    assert.equal(claims.aud, emu.host);
    assert.doesNotMatch(String(claims.aud), /^https?:|\/$/);
    assert.equal(claims.scope, 'signature impersonation');
    assert.equal(claims.exp! - claims.iat!, 600);
  });

  test('concurrent callers share one mint; the cached token is reused', async () => {
    const tokens = service();
    const before = emu.stats.tokensIssued.length;
    const got = await Promise.all(Array.from({ length: 8 }, () => tokens.get(creds)));
    assert.equal(new Set(got.map((t) => t.accessToken)).size, 1);
    await tokens.get(creds);
    assert.equal(emu.stats.tokensIssued.length - before, 1);
  });

  test('changed credentials (another user) mint a new token; fresh=true always mints', async () => {
    const tokens = service();
    const first = await tokens.get(creds);
    const otherUser = randomUUID();
    emu.addUser({ userId: otherUser });
    emu.grantConsent(creds.integrationKey, otherUser);
    const second = await tokens.get({ ...creds, userId: otherUser });
    assert.notEqual(second.accessToken, first.accessToken);
    const third = await tokens.get({ ...creds, userId: otherUser }, { fresh: true });
    assert.notEqual(third.accessToken, second.accessToken);
  });

  test('a 401 re-mints once, shared by concurrent callers, and the call succeeds', async () => {
    const tokens = service();
    const stale = await tokens.get(creds);
    emu.faults.revokeTokens();
    const before = emu.stats.tokensIssued.length;
    const seen: string[] = [];
    const call = (token: string) => {
      seen.push(token);
      if (token === stale.accessToken) return Promise.reject(new AccessTokenRejectedError('401'));
      return Promise.resolve(token);
    };
    const results = await Promise.all(Array.from({ length: 4 }, () => tokens.withToken(creds, call)));
    assert.equal(new Set(results).size, 1);
    assert.notEqual(results[0], stale.accessToken);
    assert.equal(emu.stats.tokensIssued.length - before, 1, 'one re-mint for all four callers');
  });

  test('failures are typed: consent_required, invalid_grant with the reason, private_key_unavailable', async () => {
    const noConsent = { ...creds, userId: randomUUID() };
    emu.addUser({ userId: noConsent.userId });
    await assert.rejects(service().get(noConsent), (e: ConnectorError) => e.code === 'consent_required');
    await assert.rejects(
      service().get({ ...creds, userId: randomUUID() }),
      (e: ConnectorError) => e.code === 'invalid_grant' && e.extra.reason === 'user_not_found',
    );
    await assert.rejects(
      service().get({ ...creds, privateKeyRef: `file:${path.join(dir, 'missing.pem')}` }),
      (e: ConnectorError) => e.code === 'private_key_unavailable' && /ENOENT/.test(e.message),
    );
  });
});
