/**
 * Bad input, table by table: connection configs, private keys, the worker's environment, DocuSign responses of the
 * wrong shape, and a workflow started with an invalid config behind the client's back. Every rejection is one line
 * naming the field and the rule, and never echoes key material or a token. (CLI flags: test/cli.test.ts.)
 */
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DocuSignClient } from '../../activities/docusign';
import { ConnectorError } from '../../activities/errors';
import { loadPrivateKey } from '../../activities/keys';
import { trustPolicyOf } from '../../activities/trust';
import { ConfigError, loadWorkerConfig } from '../../worker/config';
import {
  InvalidConfigError,
  parseConnectionConfig,
  parseCredentialsUpdate,
  type ConnectionConfig,
} from '../../workflows/config';
import { findLeaks, rsaKeys, startHarness, type Harness } from '../helpers/connector';
import { historiesText } from '../helpers/evidence';

const GUID_A = '5c0f6a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f';
const GUID_B = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const VALID: ConnectionConfig = {
  connectionId: 'acme-docusign',
  environment: 'demo',
  integrationKey: GUID_A,
  userId: GUID_B,
  privateKeyRef: 'file:/etc/docusign/key.pem',
};

const keys = rsaKeys();
/** Base64 lines of a PEM (its body): none may appear in an error message. */
const bodyLines = (pem: string) => pem.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
function assertNoPemBody(message: string, pem: string): void {
  for (const line of bodyLines(pem)) assert.ok(!message.includes(line.slice(0, 16)), 'the message echoes the PEM body');
}
const oneLine = (message: string) => assert.equal(message.split('\n').length, 1, `one line: ${message}`);

describe('connection config: each field wrong → one line naming the field and the rule', () => {
  const cases: [string, Partial<Record<keyof ConnectionConfig | 'extra', unknown>>, RegExp][] = [
    ['connectionId', { connectionId: 'Acme Prod' }, /^connectionId: must match .*lowercase letters/],
    ['connectionId', { connectionId: '-leading-dash' }, /^connectionId: must match/],
    ['connectionId', { connectionId: 'x'.repeat(64) }, /^connectionId: must match/],
    ['connectionId', { connectionId: 7 }, /^connectionId: must match \/\^\[a-z0-9\]/],
    ['environment', { environment: 'staging' }, /^environment: must be 'demo' or 'production'$/],
    ['integrationKey', { integrationKey: 'my-app' }, /^integrationKey: must be a GUID \(the Integration Key\)$/],
    [
      'integrationKey',
      { integrationKey: undefined },
      /^integrationKey: is required: must be a GUID \(the Integration Key\)$/,
    ],
    ['userId', { userId: 'admin@example.com' }, /^userId: must be a GUID \(the impersonated user ID, not an email\)$/],
    ['privateKeyRef', { privateKeyRef: 'file:relative/key.pem' }, /^privateKeyRef: must be 'file:<absolute path>'/],
    ['privateKeyRef', { privateKeyRef: 'vault:secret/docusign' }, /^privateKeyRef: must be .*never the key itself/],
    ['privateKeyRef', { privateKeyRef: keys.privatePem }, /^privateKeyRef: must be .*never the key itself\)$/],
    ['accountId', { accountId: '12345' }, /^accountId: must be a GUID \(the DocuSign account ID\)$/],
    ['oauthBaseUrl', { oauthBaseUrl: 'account-d.docusign.com' }, /^oauthBaseUrl: must be an http\(s\) URL$/],
    ['oauthBaseUrl', { oauthBaseUrl: 'ftp://account-d.docusign.com' }, /^oauthBaseUrl: must be an http\(s\) URL$/],
    ['redirectUri', { redirectUri: 'javascript:alert(1)' }, /^redirectUri: must be an http\(s\) URL$/],
    [
      'syncIntervalMinutes',
      { syncIntervalMinutes: 5 },
      /^syncIntervalMinutes: must be >= 15 \(DocuSign polling rule\)$/,
    ],
    ['syncIntervalMinutes', { syncIntervalMinutes: 20.5 }, /^syncIntervalMinutes: must be a whole number of minutes$/],
    ['syncIntervalMinutes', { syncIntervalMinutes: '60' }, /^syncIntervalMinutes: must be a number of minutes$/],
    ['backfillFrom', { backfillFrom: 'last year' }, /^backfillFrom: must be an ISO date-time$/],
    ['backfillFrom', { backfillFrom: '2024-01-01' }, /^backfillFrom: must be an ISO date-time$/],
    ['environment', { environment: undefined }, /^environment: is required: must be 'demo' or 'production'$/],
    ['backfillFrom', { backfillFrom: '2023-02-29T00:00:00Z' }, /^backfillFrom: must be an ISO date-time$/],
    ['backfillFrom', { backfillFrom: '2024-01-01T00:00Z' }, /^backfillFrom: must be an ISO date-time$/],
    ['backfillFrom', { backfillFrom: '2024-01-01T00:00:00+0200' }, /^backfillFrom: must be an ISO date-time$/],
    ['snapshotIntervalHours', { snapshotIntervalHours: 0 }, /^snapshotIntervalHours: must be from 1 to 168 hours$/],
    [
      'snapshotIntervalHours',
      { snapshotIntervalHours: 2.5 },
      /^snapshotIntervalHours: must be a whole number of hours$/,
    ],
    ['signedProof', { signedProof: 'all' }, /^signedProof: must be 'none', 'all-completed' or \{ templateIds/],
    ['signedProof', { signedProof: {} }, /^signedProof: must name templateIds or subjectContains \(or both\)$/],
    [
      'signedProof',
      { signedProof: { templateIds: [GUID_A, 'bad'] } },
      /^signedProof\.templateIds\.1: must be a GUID \(a template ID\)$/,
    ],
    ['signedProof', { signedProof: { templateIds: [] } }, /^signedProof\.templateIds: must have 1 to 100 items$/],
    ['signedProof', { signedProof: { subjectContains: 'NDA' } }, /^signedProof\.subjectContains: must be a list$/],
    ['signedProof', { signedProof: { subjectContains: [''] } }, /^signedProof\.subjectContains\.0: must not be empty$/],
    [
      'signedProof',
      { signedProof: { subjectContains: ['NDA'], regex: '.*' } },
      /^signedProof: Unrecognized key: "regex"$/,
    ],
    ['(unknown key)', { extra: true }, /^config: Unrecognized key: "extra"$/],
  ];
  for (const [field, override, rule] of cases) {
    test(`${field} = ${JSON.stringify(Object.values(override)[0])?.slice(0, 40) ?? 'undefined'}`, () => {
      assert.throws(
        () => parseConnectionConfig({ ...VALID, ...override }),
        (err: unknown) => {
          assert.ok(err instanceof InvalidConfigError);
          oneLine(err.message);
          assert.match(err.message, rule);
          assertNoPemBody(err.message, keys.privatePem);
          return true;
        },
      );
    });
  }

  test('not an object at all', () => {
    assert.throws(() => parseConnectionConfig(null), { message: /^config: expected an object, received null$/ });
    assert.throws(() => parseConnectionConfig([]), { message: /^config: expected an object, received array$/ });
  });

  test('every broken field is named, in one line', () => {
    assert.throws(() => parseConnectionConfig({ ...VALID, userId: 'x', syncIntervalMinutes: 5, extra: 1 }), {
      message:
        'config: Unrecognized key: "extra"; userId: must be a GUID (the impersonated user ID, not an email); ' +
        'syncIntervalMinutes: must be >= 15 (DocuSign polling rule)',
    });
  });

  test('the valid config passes (the table changes one field at a time), and so does every optional field', () => {
    assert.deepEqual(parseConnectionConfig(VALID), VALID);
    const full: ConnectionConfig = {
      ...VALID,
      environment: 'production',
      accountId: GUID_A,
      oauthBaseUrl: 'http://127.0.0.1:8080/',
      redirectUri: 'https://platform.example.com/docusign/consent',
      syncIntervalMinutes: 15,
      backfillFrom: '2024-02-29T23:59:59.123+05:30',
      snapshotIntervalHours: 168,
      signedProof: { templateIds: [GUID_B], subjectContains: ['NDA'] },
    };
    assert.deepEqual(parseConnectionConfig(full), full);
    for (const signedProof of ['none', 'all-completed', { subjectContains: ['x'.repeat(200)] }] as const)
      assert.deepEqual(parseConnectionConfig({ ...VALID, signedProof }).signedProof, signedProof);
  });

  test('credentialsUpdated: only the credential fields and the signed-proof policy, each by its rule', () => {
    assert.deepEqual(parseCredentialsUpdate({}), {});
    assert.deepEqual(parseCredentialsUpdate({ accountId: GUID_A, signedProof: 'none' }), {
      accountId: GUID_A,
      signedProof: 'none',
    });
    assert.throws(() => parseCredentialsUpdate({ connectionId: 'other' }), {
      message: 'config: Unrecognized key: "connectionId"',
    });
    assert.throws(
      () => parseCredentialsUpdate({ privateKeyRef: keys.privatePem }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidConfigError);
        assert.match(err.message, /^privateKeyRef: must be 'file:<absolute path>'/);
        assertNoPemBody(err.message, keys.privatePem);
        return true;
      },
    );
  });
});

describe('private keys: loadPrivateKey → private_key_unavailable naming the ref and the rule, no PEM body', () => {
  let dir: string;
  const env: NodeJS.ProcessEnv = {};
  /** The keys directory is `dir`; `env:` references need the default prefix DOCUSIGN_KEY_. */
  const trust = () => trustPolicyOf({ keysDir: dir });
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'connector-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cases: [string, string | undefined, RegExp][] = [
    ['EC key', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /is a ec key; .* needs an RSA key/],
    ['Ed25519 key', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /is a ed25519 key/],
    [
      'encrypted PKCS#8',
      rsa.privateKey
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass-phrase' })
        .toString(),
      /is an encrypted key; give the connector the unencrypted RSA private key/,
    ],
    [
      'encrypted PKCS#1 (Proc-Type: 4,ENCRYPTED)',
      rsa.privateKey
        .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass-phrase' })
        .toString(),
      /is an encrypted key/,
    ],
    ['truncated PEM (no END line)', pkcs1.slice(0, Math.floor(pkcs1.length / 2)), /is not a complete PEM block/],
    [
      'truncated PEM body (END line kept)',
      [...pkcs1.split('\n').slice(0, 8), '-----END RSA PRIVATE KEY-----'].join('\n'),
      /PEM body does not parse as a private key/,
    ],
    ['CERTIFICATE label', pkcs8.replace(/PRIVATE KEY/g, 'CERTIFICATE'), /has PEM label 'CERTIFICATE'; expected/],
    [
      'a public key instead',
      rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      /has PEM label 'PUBLIC KEY'; expected 'RSA PRIVATE KEY' \(PKCS#1\) or 'PRIVATE KEY' \(PKCS#8\)/,
    ],
    ['empty file', '', /is not a complete PEM block/],
    ['missing file', undefined, /file cannot be read \(ENOENT\)/],
  ];
  for (const [name, content, rule] of cases) {
    test(name, async () => {
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.pem`);
      if (content !== undefined) writeFileSync(file, content);
      const ref = `file:${file}`;
      const err = await loadPrivateKey(ref, trust(), env).then(
        () => assert.fail('the key must be refused'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'private_key_unavailable');
      oneLine(err.message);
      assert.ok(err.message.startsWith(`privateKeyRef ${ref}: `), err.message);
      assert.match(err.message, rule);
      if (content) assertNoPemBody(err.message, content);
    });
  }

  test('a directory instead of a file', async () => {
    await assert.rejects(loadPrivateKey(`file:${dir}`, trust(), env), {
      code: 'private_key_unavailable',
      message: `privateKeyRef file:${dir}: file cannot be read (EISDIR)`,
    });
  });

  test('env var unset, or set but empty', async () => {
    for (const value of [undefined, '']) {
      await assert.rejects(loadPrivateKey('env:DOCUSIGN_KEY_UNSET', trust(), { DOCUSIGN_KEY_UNSET: value }), {
        code: 'private_key_unavailable',
        message: 'privateKeyRef env:DOCUSIGN_KEY_UNSET: environment variable is not set on the worker',
      });
    }
  });

  test('env var holding a wrong key: same rules, no PEM body in the message', async () => {
    const pem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const err = (await loadPrivateKey('env:DOCUSIGN_KEY_EC', trust(), { DOCUSIGN_KEY_EC: pem }).catch(
      (e: unknown) => e,
    )) as Error;
    assert.match(err.message, /^privateKeyRef env:DOCUSIGN_KEY_EC: is a ec key/);
    assertNoPemBody(err.message, pem);
  });

  test('the good forms load: PKCS#1 and PKCS#8 files, an env var with literal \\n', async () => {
    const p1 = path.join(dir, 'good-pkcs1.pem');
    const p8 = path.join(dir, 'good-pkcs8.pem');
    writeFileSync(p1, pkcs1);
    writeFileSync(p8, pkcs8);
    assert.equal((await loadPrivateKey(`file:${p1}`, trust(), env)).asymmetricKeyType, 'rsa');
    assert.equal((await loadPrivateKey(`file:${p8}`, trust(), env)).asymmetricKeyType, 'rsa');
    const escaped = pkcs1.replace(/\n/g, '\\n');
    const fromEnv = await loadPrivateKey('env:DOCUSIGN_KEY_K', trust(), { DOCUSIGN_KEY_K: escaped });
    assert.equal(fromEnv.asymmetricKeyType, 'rsa');
  });

  // The trust policy: a valid RSA key in the wrong place is refused with the rule, before anything parses it.
  test('outside DOCUSIGN_KEYS_DIR, a `..` escape, a symlink escape, an unprefixed variable: the rule, not the key', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'connector-outside-'));
    try {
      const stray = path.join(outside, 'stray.pem');
      writeFileSync(stray, pkcs1);
      mkdirSync(path.join(dir, 'sub'), { recursive: true });
      symlinkSync(stray, path.join(dir, 'sub', 'link.pem'));
      const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
        [`file:${stray}`, env, new RegExp(`: must be a file inside ${dir} \\(DOCUSIGN_KEYS_DIR\\)$`)],
        [
          `file:${dir}/sub/../../${path.basename(outside)}/stray.pem`,
          env,
          /: must be a file inside .*DOCUSIGN_KEYS_DIR/,
        ],
        [`file:${dir}/sub/link.pem`, env, /: resolves outside .* \(DOCUSIGN_KEYS_DIR\) through a symlink$/],
        ['env:KEY_FOR_TLS', { KEY_FOR_TLS: pkcs1 }, /: must name an environment variable starting with DOCUSIGN_KEY_ /],
        ['env:DOCUSIGN_KEY_', { DOCUSIGN_KEY_: pkcs1 }, /DOCUSIGN_KEY_ENV_PREFIX/],
      ];
      for (const [ref, keyEnv, rule] of cases) {
        const err = await loadPrivateKey(ref, trust(), keyEnv).then(
          () => assert.fail(`${ref} must be refused`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ConnectorError, ref);
        assert.equal(err.code, 'private_key_unavailable', ref);
        oneLine(err.message);
        assert.ok(err.message.startsWith(`privateKeyRef ${ref}: `), err.message);
        assert.match(err.message, rule, ref);
        assertNoPemBody(err.message, pkcs1);
      }
      // The same key is accepted inside the directory, and under another configured prefix.
      writeFileSync(path.join(dir, 'sub', 'inside.pem'), pkcs1);
      assert.equal((await loadPrivateKey(`file:${dir}/sub/inside.pem`, trust(), env)).asymmetricKeyType, 'rsa');
      const custom = trustPolicyOf({ keysDir: dir, keyEnvPrefix: 'ACME_' });
      assert.equal((await loadPrivateKey('env:ACME_KEY', custom, { ACME_KEY: pkcs1 })).asymmetricKeyType, 'rsa');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('worker environment: loadWorkerConfig → one line per bad variable', () => {
  const bad: Record<string, [string, RegExp]> = {
    TEMPORAL_ADDRESS: ['http://temporal:7233', /must be host:port without a scheme/],
    TEMPORAL_NAMESPACE: ['my namespace', /must be a Temporal namespace name/],
    TEMPORAL_TASK_QUEUE: ['two words', /must be a non-empty name without spaces/],
    EVIDENCE_STORE: ['s3://bucket/evidence', /must be a directory path or a postgres:\/\/ URL/],
    PAYLOAD_CODEC_KEYS: ['k1:not-base64-and-short', /format: keyId:base64key/],
    METRICS_PORT: ['99999', /must be a whole number from 0 to 65535/],
    LOG_LEVEL: ['loud', /must be one of fatal, error, warn, info, debug, trace, silent/],
    CONSENT_REDIRECT_URI: ['localhost/callback', /must be an http\(s\) URL/],
    CONSENT_STATE_SECRET: ['short-secret-xyz', /must be at least 32 characters/],
    RATE_LIMIT_RESERVE_PERCENT: ['95', /must be a whole number from 0 to 90/],
    DOCUSIGN_HTTP_TIMEOUT_MS: ['5s', /must be a whole number from 1000 to 600000/],
    DOCUSIGN_KEYS_DIR: ['/', /must be a directory path other than the filesystem root/],
    DOCUSIGN_KEY_ENV_PREFIX: ['KEY-', /must be the start of an environment variable name/],
    DOCUSIGN_ALLOWED_HOSTS: [
      'https://emulator:4010',
      /entry 'https:\/\/emulator:4010': must be a comma list of host:port/,
    ],
  };

  test('all at once: exactly one line per variable, each naming it and its rule, no secret echoed', () => {
    const env = Object.fromEntries(Object.entries(bad).map(([k, [v]]) => [k, v]));
    assert.throws(
      () => loadWorkerConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const lines = err.message.split('\n');
        assert.deepEqual(lines.map((l) => l.split(':')[0]).sort(), Object.keys(bad).sort());
        for (const line of lines) {
          const [name, rest] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)];
          assert.match(rest, bad[name]![1], line);
        }
        assert.ok(!err.message.includes('short-secret-xyz'), 'CONSENT_STATE_SECRET echoed');
        assert.ok(!err.message.includes('not-base64-and-short'), 'PAYLOAD_CODEC_KEYS echoed');
        return true;
      },
    );
  });

  for (const [name, [value, rule]] of Object.entries(bad)) {
    test(`${name} alone`, () => {
      assert.throws(
        () => loadWorkerConfig({ TEMPORAL_ADDRESS: 'localhost:7233', [name]: value }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          oneLine(err.message);
          assert.ok(err.message.startsWith(`${name}: `), err.message);
          assert.match(err.message, rule);
          return true;
        },
      );
    });
  }
});

describe('DocuSign responses of the wrong shape → invalid_response naming the field', () => {
  let server: Server;
  let base = '';
  let body = '';
  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new DocuSignClient({ timeoutMs: 2000, trust: trustPolicyOf({ allowedHosts: [new URL(base).host] }) });
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const TOKEN = 'eyJ0eXAiOiJNVCIsImFsZyI6IlJTMjU2Iiwia2lkIjoi-secret-access-token';
  let client: DocuSignClient;
  const envelope = { envelopeId: GUID_A, status: 'sent', statusChangedDateTime: '2024-10-16T12:54:00.0270000Z' };
  const page = { resultSetSize: '1', totalSetSize: '1', startPosition: '0', endPosition: '0', envelopes: [envelope] };
  const account = { account_id: GUID_B, is_default: true, account_name: 'Acme', base_uri: 'https://na3.docusign.net' };

  const calls = {
    token: () => client.requestToken(base, 'assertion'),
    userinfo: () => client.userInfo(base, TOKEN),
    envelopes: () => client.listEnvelopes(`${base}/restapi/v2.1/accounts/a/envelopes`, TOKEN),
  };
  const cases: [keyof typeof calls, string, unknown, RegExp][] = [
    ['token', 'access_token a number', { access_token: 5, token_type: 'Bearer', expires_in: 3600 }, /access_token/],
    ['token', 'expires_in missing', { access_token: TOKEN, token_type: 'Bearer' }, /field expires_in/],
    ['token', 'expires_in negative', { access_token: TOKEN, token_type: 'Bearer', expires_in: -5 }, /field expires_in/],
    ['token', 'token_type MAC', { access_token: TOKEN, token_type: 'MAC', expires_in: 3600 }, /field token_type/],
    ['userinfo', 'accounts missing', { sub: GUID_B }, /userinfo: field accounts /],
    ['userinfo', 'accounts not a list', { sub: GUID_B, accounts: account }, /field accounts /],
    [
      'userinfo',
      'base_uri not a URL',
      { sub: GUID_B, accounts: [{ ...account, base_uri: 'na3' }] },
      /field accounts\.0\.base_uri/,
    ],
    [
      'userinfo',
      'is_default "yes"',
      { sub: GUID_B, accounts: [{ ...account, is_default: 'yes' }] },
      /field accounts\.0\.is_default/,
    ],
    [
      'userinfo',
      'account_id missing',
      { sub: GUID_B, accounts: [{ ...account, account_id: undefined }] },
      /account_id/,
    ],
    ['envelopes', 'resultSetSize missing', { ...page, resultSetSize: undefined }, /envelope list: field resultSetSize/],
    [
      'envelopes',
      'totalSetSize "many"',
      { ...page, totalSetSize: 'many' },
      /field totalSetSize must be a decimal count/,
    ],
    ['envelopes', 'envelopes not a list', { ...page, envelopes: { 0: envelope } }, /field envelopes /],
    [
      'envelopes',
      'envelopeId empty',
      { ...page, envelopes: [{ ...envelope, envelopeId: '' }] },
      /envelopes\.0\.envelopeId/,
    ],
    [
      'envelopes',
      'envelopeId a number',
      { ...page, envelopes: [{ ...envelope, envelopeId: 42 }] },
      /envelopes\.0\.envelopeId/,
    ],
    // An envelope with an ID but a bad status or time does not fail its page: it is quarantined
    // (test/docusign-shapes.test.ts). The page's own counts must hold, since paging follows them.
    [
      'envelopes',
      'resultSetSize not the number of envelopes',
      { ...page, resultSetSize: '2' },
      /field resultSetSize must equal the number of envelopes \(1\)/,
    ],
    [
      'envelopes',
      'endPosition not startPosition + resultSetSize - 1',
      { ...page, startPosition: '5', endPosition: '9', totalSetSize: '20' },
      /field endPosition must be startPosition \+ resultSetSize - 1/,
    ],
    ['envelopes', 'endPosition past totalSetSize', { ...page, totalSetSize: '0' }, /field totalSetSize must exceed/],
    [
      'envelopes',
      'more envelopes after an empty page',
      { resultSetSize: '0', totalSetSize: '42', startPosition: '0', endPosition: '-1' },
      /field totalSetSize says more envelopes remain after an empty page/,
    ],
    ['envelopes', 'nextUri a number', { ...page, nextUri: 5 }, /field nextUri/],
    ['envelopes', 'a JSON array', [envelope], /field \(root\)/],
    ['envelopes', 'not JSON', '{"resultSetSize": "1", "envelopes": [', /body is not valid JSON/],
  ];
  for (const [call, name, response, rule] of cases) {
    test(`${call}: ${name}`, async () => {
      body = typeof response === 'string' ? response : JSON.stringify(response);
      const err = await calls[call]().then(
        () => assert.fail('the response must be refused'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectorError, String(err));
      assert.equal(err.code, 'invalid_response');
      oneLine(err.message);
      assert.match(err.message, rule);
      assert.ok(!err.message.includes(TOKEN), 'the message echoes the access token');
    });
  }
});

describe('a workflow started with an invalid config, bypassing the client', () => {
  let h: Harness;
  const handles: WorkflowHandle[] = [];
  before(async () => {
    h = await startHarness({ emulator: { envelopes: 5 } });
  });
  after(async () => {
    await h?.close();
  });

  test('fails with invalid_config naming the field, calls DocuSign never, writes nothing', async () => {
    h.emu.grantConsent(h.integrationKey, h.userId);
    const config = { ...h.config('bad-input-direct'), userId: 'admin@example.com', syncIntervalMinutes: 1 };
    const handle = await h.start(config);
    handles.push(handle);
    const err = await handle.result().then(
      () => assert.fail('the workflow must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'invalid_config');
    assert.equal(err.cause.nonRetryable, true);
    assert.match(err.cause.message, /^userId: must be a GUID .*; syncIntervalMinutes: must be >= 15/);
    assert.deepEqual(h.emu.stats.calls, {}, 'DocuSign was never called');
    assert.equal(h.emu.stats.assertionsReceived.length, 0);
    assert.ok(!existsSync(path.join(h.storeDir, 'bad-input-direct')), 'nothing was written to the store');
    assert.equal(await h.connector.store.count('bad-input-direct'), 0);
  });

  test('no secret in the history or the worker logs', async () => {
    const texts = [...(await historiesText(handles)), ...h.logs];
    assert.deepEqual(findLeaks(h, texts), []);
    assert.ok(!texts.some((t) => t.includes(bodyLines(h.keys.privatePem)[3]!)), 'no PEM body line');
  });
});
