/**
 * The trust policy (activities/trust.ts) on its own, then where it is enforced below the workflow: the DocuSign client
 * refuses to send an assertion or a bearer token to an untrusted host (a local "foreign" server proves nothing
 * arrives), and the token service refuses an untrusted OAuth host or key reference before anything is signed (the
 * emulator proves no assertion arrives).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DocuSignClient } from '../activities/docusign';
import { ConnectorError } from '../activities/errors';
import { TokenService, type TokenCredentials } from '../activities/tokens';
import {
  KeyRefViolation,
  keyRefViolation,
  oauthUrlViolation,
  parseAllowedHosts,
  resolveKeyFile,
  restUrlViolation,
  trustPolicyOf,
} from '../activities/trust';
import { startEmulator, type Emulator } from '../emulator';
import { rsaKeys } from './helpers/connector';

describe('trust policy: settings', () => {
  test('DOCUSIGN_ALLOWED_HOSTS: host:port entries, normalised; anything else names the entry', () => {
    assert.deepEqual(parseAllowedHosts(' 127.0.0.1:4010, Emulator.Local:80 ,[::1]:443,'), [
      '127.0.0.1:4010',
      'emulator.local:80',
      '[::1]:443',
    ]);
    assert.deepEqual(parseAllowedHosts(''), []);
    for (const bad of ['emulator', 'http://emulator:4010', 'emulator:0', 'emulator:65536', 'a b:1', 'host:80/path']) {
      assert.throws(() => parseAllowedHosts(`ok:1,${bad}`), {
        message: new RegExp(`^entry '.*': must be a comma list`),
      });
    }
  });

  test('defaults: ./keys under the working directory, DOCUSIGN_KEY_, no extra host', () => {
    assert.deepEqual(trustPolicyOf(), {
      keysDir: path.resolve('keys'),
      keyEnvPrefix: 'DOCUSIGN_KEY_',
      allowedHosts: [],
    });
  });
});

describe('trust policy: key references', () => {
  let root: string;
  let keysDir: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'trust-keys-'));
    keysDir = path.join(root, 'keys');
    mkdirSync(path.join(keysDir, 'team'), { recursive: true });
    writeFileSync(path.join(keysDir, 'team', 'a.pem'), 'A');
    writeFileSync(path.join(root, 'outside.pem'), 'OUT');
    symlinkSync(path.join(keysDir, 'team', 'a.pem'), path.join(keysDir, 'alias.pem')); // stays inside
    symlinkSync(path.join(root, 'outside.pem'), path.join(keysDir, 'escape.pem'));
    symlinkSync(root, path.join(keysDir, 'up')); // a directory link leading out
    symlinkSync(keysDir, path.join(root, 'keys-link')); // the keys directory itself reached through a link
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const policy = () => trustPolicyOf({ keysDir });

  test('as written: inside the directory, no `..` out of it, the prefix on variables', () => {
    assert.equal(keyRefViolation(`file:${keysDir}/team/a.pem`, policy()), undefined);
    assert.equal(keyRefViolation(`file:${keysDir}/team/../team/a.pem`, policy()), undefined);
    assert.match(keyRefViolation(`file:${keysDir}/../outside.pem`, policy()) ?? '', /must be a file inside .*keys/);
    assert.match(keyRefViolation(`file:${root}/outside.pem`, policy()) ?? '', /\(DOCUSIGN_KEYS_DIR\)$/);
    // A sibling whose name merely starts like the directory is outside it.
    assert.match(keyRefViolation(`file:${keysDir}-old/a.pem`, policy()) ?? '', /must be a file inside/);
    assert.equal(keyRefViolation('env:DOCUSIGN_KEY_ACME', policy()), undefined);
    for (const ref of ['env:AWS_SECRET_ACCESS_KEY', 'env:DOCUSIGN_KEY_', 'env:docusign_key_acme']) {
      assert.match(
        keyRefViolation(ref, policy()) ?? '',
        /starting with DOCUSIGN_KEY_ \(DOCUSIGN_KEY_ENV_PREFIX\)/,
        ref,
      );
    }
    assert.equal(keyRefViolation('env:ACME_1', trustPolicyOf({ keysDir, keyEnvPrefix: 'ACME_' })), undefined);
  });

  test('after realpath: links that stay inside pass, links that lead out are a KeyRefViolation', async () => {
    assert.equal(await resolveKeyFile(path.join(keysDir, 'alias.pem'), keysDir), path.join(keysDir, 'team', 'a.pem'));
    assert.equal(
      await resolveKeyFile(path.join(root, 'keys-link', 'team', 'a.pem'), path.join(root, 'keys-link')),
      path.join(keysDir, 'team', 'a.pem'),
    );
    for (const file of [path.join(keysDir, 'escape.pem'), path.join(keysDir, 'up', 'outside.pem')]) {
      await assert.rejects(resolveKeyFile(file, keysDir), (err: unknown) => {
        assert.ok(err instanceof KeyRefViolation, file);
        assert.match(err.message, /resolves outside .* \(DOCUSIGN_KEYS_DIR\) through a symlink/);
        return true;
      });
    }
    await assert.rejects(resolveKeyFile(path.join(keysDir, 'missing.pem'), keysDir), { code: 'ENOENT' });
  });
});

describe('trust policy: hosts', () => {
  const none = trustPolicyOf();
  const emulator = trustPolicyOf({ allowedHosts: ['127.0.0.1:4010', 'proxy.example.com:443'] });

  test('OAuth: the environment’s DocuSign host, or an allowed host:port (http or https)', () => {
    const ok: [string, 'demo' | 'production' | undefined, typeof none][] = [
      ['https://account-d.docusign.com', 'demo', none],
      ['https://ACCOUNT-D.docusign.com:443/', 'demo', none],
      ['https://account.docusign.com', 'production', none],
      ['https://account.docusign.com', undefined, none],
      ['https://account-d.docusign.com', undefined, none],
      ['http://127.0.0.1:4010', 'production', emulator],
      ['https://127.0.0.1:4010', 'demo', emulator],
      ['https://proxy.example.com', 'demo', emulator],
    ];
    for (const [url, environment, policy] of ok)
      assert.equal(oauthUrlViolation(url, environment, policy), undefined, url);
    const refused: [string, 'demo' | 'production' | undefined, typeof none, RegExp][] = [
      ['https://account.docusign.com', 'demo', none, /a demo connection uses https:\/\/account-d\.docusign\.com/],
      ['https://account-d.docusign.com', 'production', none, /production connection uses https:\/\/account\.docusign/],
      ['http://account-d.docusign.com', 'demo', none, /^http:\/\/account-d\.docusign\.com is not a trusted OAuth host/],
      ['https://account-d.docusign.com:8443', 'demo', none, /is not a trusted OAuth host/],
      ['https://evil.example.com', undefined, none, /DocuSign's OAuth hosts are .* and /],
      ['http://127.0.0.1:4011', 'demo', emulator, /host:port in DOCUSIGN_ALLOWED_HOSTS$/],
      ['http://proxy.example.com', 'demo', emulator, /is not a trusted OAuth host/], // port 80 is not listed
      ['https://user:pw@account-s.docusign.com', 'demo', none, /^https:\/\/account-s\.docusign\.com is not/],
    ];
    for (const [url, environment, policy, rule] of refused) {
      assert.match(oauthUrlViolation(url, environment, policy) ?? '(trusted)', rule, url);
    }
  });

  test('REST: https on *.docusign.net / *.docusign.com, or an allowed host:port', () => {
    for (const url of ['https://na3.docusign.net', 'https://demo.docusign.net/restapi', 'https://eu.docusign.com']) {
      assert.equal(restUrlViolation(url, none), undefined, url);
    }
    assert.equal(restUrlViolation('http://127.0.0.1:4010/na3', emulator), undefined);
    const refused = [
      'http://na3.docusign.net',
      'https://docusign.net',
      'https://na3.docusign.net.evil.com',
      'https://evil-docusign.net',
      'https://na3.docusign.org',
      'https://127.0.0.1:4010', // allowed for the emulator policy only
      'ftp://na3.docusign.net',
    ];
    for (const url of refused) assert.ok(restUrlViolation(url, none), url);
    assert.match(
      restUrlViolation('http://na3.docusign.net/x', none) ?? '',
      /^http:\/\/na3\.docusign\.net is not a trusted REST host: must be https on \*\.docusign\.net or \*\.docusign\.com/,
    );
  });
});

/** A server standing for a host the connector must not talk to: it records every connection and request. */
async function foreignHost(): Promise<{
  url: string;
  host: string;
  connections: number;
  requests: string[];
  close(): Promise<void>;
}> {
  const seen = { connections: 0, requests: [] as string[] };
  const server: Server = createServer((req, res) => {
    seen.requests.push(`${req.method} ${req.url} authorization=${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.on('connection', () => (seen.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    get connections() {
      return seen.connections;
    },
    requests: seen.requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('DocuSignClient: never sends an assertion or a bearer token to an untrusted host', () => {
  let foreign: Awaited<ReturnType<typeof foreignHost>>;
  before(async () => {
    foreign = await foreignHost();
  });
  after(() => foreign?.close());
  const TOKEN = 'secret-access-token-0123456789';

  test('token, userinfo and envelope calls to a foreign host are refused; nothing reaches it', async () => {
    const client = new DocuSignClient({ timeoutMs: 2000, trust: trustPolicyOf({ allowedHosts: ['127.0.0.1:1'] }) });
    const calls: [string, () => Promise<unknown>, string][] = [
      ['token', () => client.requestToken(foreign.url, 'signed.assertion.jwt'), 'untrusted_oauth_host'],
      ['userinfo', () => client.userInfo(foreign.url, TOKEN), 'untrusted_oauth_host'],
      [
        'envelopes',
        () => client.listEnvelopes(`${foreign.url}/restapi/v2.1/accounts/a/envelopes`, TOKEN),
        'untrusted_base_uri',
      ],
      // http on a DocuSign REST host: refused before any DNS lookup or connection.
      [
        'envelopes',
        () => client.listEnvelopes('http://na3.docusign.net/restapi/v2.1/accounts/a/envelopes', TOKEN),
        'untrusted_base_uri',
      ],
    ];
    for (const [endpoint, call, code] of calls) {
      const err = await call().then(
        () => assert.fail(`${endpoint} must be refused`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectorError, String(err));
      assert.equal(err.code, code, endpoint);
      assert.match(err.message, new RegExp(`^DocuSign ${endpoint} call refused, nothing sent: http://`));
      assert.ok(!err.message.includes(TOKEN) && !err.message.includes('signed.assertion'), 'no secret in the message');
    }
    assert.equal(foreign.connections, 0, 'no connection was ever opened to the foreign host');
    assert.deepEqual(foreign.requests, []);

    // Control: the same server, once allowed, is reached (so the zero above is the policy's doing).
    const allowed = new DocuSignClient({ timeoutMs: 2000, trust: trustPolicyOf({ allowedHosts: [foreign.host] }) });
    await assert.rejects(allowed.userInfo(foreign.url, TOKEN), { code: 'invalid_response' });
    assert.equal(foreign.requests.length, 1);
  });
});

describe('TokenService: nothing is signed for an untrusted OAuth host or key reference', () => {
  let emu: Emulator;
  let foreign: Awaited<ReturnType<typeof foreignHost>>;
  let root: string;
  let keysDir: string;
  let creds: TokenCredentials;
  const keys = rsaKeys();
  before(async () => {
    emu = await startEmulator({ envelopes: 0 });
    foreign = await foreignHost();
    root = mkdtempSync(path.join(tmpdir(), 'trust-tokens-'));
    keysDir = path.join(root, 'keys');
    mkdirSync(keysDir);
    writeFileSync(path.join(keysDir, 'key.pem'), keys.privatePem);
    writeFileSync(path.join(root, 'stray.pem'), keys.privatePem); // the right key, in the wrong place
    creds = {
      connectionId: 'trust',
      environment: 'demo',
      integrationKey: randomUUID(),
      userId: randomUUID(),
      privateKeyRef: `file:${path.join(keysDir, 'key.pem')}`,
      oauthBaseUrl: emu.url,
    };
    emu.registerApp(creds.integrationKey, keys.publicPem);
    emu.addUser({ userId: creds.userId });
    emu.grantConsent(creds.integrationKey, creds.userId);
  });
  after(async () => {
    await emu?.stop();
    await foreign?.close();
    rmSync(root, { recursive: true, force: true });
  });
  const service = (keyEnv: NodeJS.ProcessEnv = {}) =>
    new TokenService(
      new DocuSignClient({ timeoutMs: 5000, trust: trustPolicyOf({ keysDir, allowedHosts: [emu.host] }) }),
      { env: keyEnv },
    );
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => assert.fail('the mint must be refused'),
      (e: unknown) => e as ConnectorError,
    );

  test('an OAuth host outside the allowlist: untrusted_oauth_host, checked before the key is even read', async () => {
    const outsideKey = `file:${path.join(root, 'stray.pem')}`;
    const cases: Partial<TokenCredentials>[] = [
      { oauthBaseUrl: foreign.url },
      { oauthBaseUrl: foreign.url, privateKeyRef: outsideKey }, // the host is refused first, not the key
      { oauthBaseUrl: 'https://account.docusign.com' }, // the production host for a demo connection
    ];
    for (const change of cases) {
      const err = await refusal(service().get({ ...creds, ...change }));
      assert.equal(err.code, 'untrusted_oauth_host', JSON.stringify(change));
      assert.match(err.message, /^oauthBaseUrl: .* is not a trusted OAuth host: a demo connection uses/);
    }
    assert.equal(foreign.connections, 0);
    assert.deepEqual(emu.stats.assertionsReceived, []);
  });

  test('a key outside DOCUSIGN_KEYS_DIR, via `..`, or an unprefixed variable: private_key_unavailable, no assertion sent', async () => {
    const refs: [string, RegExp][] = [
      [`file:${path.join(root, 'stray.pem')}`, /must be a file inside/],
      [`file:${keysDir}/../stray.pem`, /must be a file inside/],
      ['env:TLS_PRIVATE_KEY', /must name an environment variable starting with DOCUSIGN_KEY_/],
    ];
    for (const [privateKeyRef, rule] of refs) {
      const err = await refusal(service({ TLS_PRIVATE_KEY: keys.privatePem }).get({ ...creds, privateKeyRef }));
      assert.equal(err.code, 'private_key_unavailable', privateKeyRef);
      assert.match(err.message, rule);
    }
    assert.deepEqual(emu.stats.assertionsReceived, [], 'nothing was signed and sent');
    assert.deepEqual(emu.stats.calls, {});

    // Control: the same key inside the directory, and under a prefixed variable, mints.
    await service().get(creds);
    await service({ DOCUSIGN_KEY_ACME: keys.privatePem }).get({ ...creds, privateKeyRef: 'env:DOCUSIGN_KEY_ACME' });
    assert.equal(emu.stats.assertionsReceived.length, 2);
  });
});
