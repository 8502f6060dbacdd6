/**
 * worker/config.ts (with worker/env-schema.ts, worker/redact.ts, common/temporal-connection.ts): defaults, one line per
 * bad variable, no secret echoed, connection options for worker and client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import {
  ConfigError,
  connectionOptionsOf,
  loadWorkerConfig,
  redactWorkerConfig,
  WORKER_ENV_VARS,
  type TemporalConnectionOptions,
  type WorkerConfig,
} from '../worker/config';

const dir = mkdtempSync(path.join(tmpdir(), 'worker-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const CERT = file('client.crt', 'CERT-PEM');
const KEY = file('client.key', 'KEY-PEM');
const CA = file('ca.crt', 'CA-PEM');
const BUNDLE = file('workflow-bundle.js', '// bundle');
const MISSING = path.join(dir, 'missing.pem');
const GOOD_KEYS = `k1:${randomBytes(32).toString('base64')}`;

/** Asserts that `env` fails with exactly the given variables, one line each, and returns the lines. */
function failsWith(env: NodeJS.ProcessEnv, variables: string[]): string[] {
  let caught: unknown;
  try {
    loadWorkerConfig(env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(Object.keys(env))}`);
  const lines = caught.message.split('\n');
  assert.deepEqual(
    lines.map((l) => l.slice(0, l.indexOf(':'))),
    variables,
    caught.message,
  );
  assert.deepEqual(
    caught.issues.map((i) => i.variable),
    variables,
  );
  return lines;
}

void describe('loadWorkerConfig', () => {
  void test('defaults', () => {
    const expected: WorkerConfig = {
      temporal: {
        address: undefined,
        namespace: 'default',
        taskQueue: 'docusign-connector',
        apiKey: undefined,
        tls: undefined,
      },
      evidenceStore: './data/evidence',
      evidenceStoreKind: 'directory',
      payloadCodecKeys: undefined,
      metrics: { host: '127.0.0.1', port: 0 },
      logLevel: 'info',
      consent: { redirectUri: undefined, stateSecret: undefined, stateTtlHours: 168 },
      rateLimitReservePercent: 10,
      docusignHttpTimeoutMs: 30000,
      // Safe defaults: keys only from ./keys (resolved now), variables with DOCUSIGN_KEY_, DocuSign's hosts only.
      trust: { keysDir: path.resolve('keys'), keyEnvPrefix: 'DOCUSIGN_KEY_', allowedHosts: [] },
      shutdownGraceMs: 30000,
      workflowCacheSize: undefined,
      stickyQueueTimeoutMs: 10000,
      workflowStackTraces: false,
      syncConcurrency: 4,
      workflowBundlePath: undefined,
      devServer: { dbFilename: './data/temporal-dev.sqlite', port: 7233, uiPort: 8233 },
    };
    assert.deepEqual(loadWorkerConfig({}), expected);
    // Blank values (docker-compose `${VAR:-}`) count as unset.
    assert.deepEqual(loadWorkerConfig(Object.fromEntries(WORKER_ENV_VARS.map((n) => [n, '  ']))), expected);
  });

  void test('every documented variable is read', () => {
    assert.deepEqual(
      [...WORKER_ENV_VARS].sort(),
      [
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        'TEMPORAL_API_KEY',
        'TEMPORAL_TLS_CERT_PATH',
        'TEMPORAL_TLS_KEY_PATH',
        'TEMPORAL_TLS_SERVER_NAME',
        'TEMPORAL_TLS_CA_PATH',
        'EVIDENCE_STORE',
        'PAYLOAD_CODEC_KEYS',
        'METRICS_PORT',
        'METRICS_HOST',
        'LOG_LEVEL',
        'CONSENT_REDIRECT_URI',
        'CONSENT_STATE_SECRET',
        'CONSENT_STATE_TTL_HOURS',
        'RATE_LIMIT_RESERVE_PERCENT',
        'DOCUSIGN_HTTP_TIMEOUT_MS',
        'DOCUSIGN_KEYS_DIR',
        'DOCUSIGN_KEY_ENV_PREFIX',
        'DOCUSIGN_ALLOWED_HOSTS',
        'WORKER_SHUTDOWN_GRACE_MS',
        'SYNC_CONCURRENCY',
        'WORKFLOW_CACHE_SIZE',
        'STICKY_QUEUE_TIMEOUT_MS',
        'WORKFLOW_STACK_TRACES',
        'WORKFLOW_BUNDLE_PATH',
        'DEV_SERVER_DB',
        'DEV_SERVER_PORT',
        'DEV_SERVER_UI_PORT',
      ].sort(),
    );
  });

  void test('a full, valid production environment', () => {
    const config = loadWorkerConfig({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_TASK_QUEUE: 'dq',
      TEMPORAL_TLS_CERT_PATH: CERT,
      TEMPORAL_TLS_KEY_PATH: KEY,
      TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud',
      TEMPORAL_TLS_CA_PATH: CA,
      EVIDENCE_STORE: 'postgres://u:p@db:5432/evidence',
      PAYLOAD_CODEC_KEYS: GOOD_KEYS,
      METRICS_PORT: '9464',
      METRICS_HOST: '0.0.0.0',
      LOG_LEVEL: 'DEBUG',
      CONSENT_REDIRECT_URI: 'https://app.example.com/docusign/consent',
      CONSENT_STATE_SECRET: 'x'.repeat(32),
      CONSENT_STATE_TTL_HOURS: '24',
      RATE_LIMIT_RESERVE_PERCENT: '0',
      DOCUSIGN_HTTP_TIMEOUT_MS: '5000',
      DOCUSIGN_KEYS_DIR: '/keys',
      DOCUSIGN_KEY_ENV_PREFIX: 'ACME_DOCUSIGN_',
      DOCUSIGN_ALLOWED_HOSTS: ' Proxy.Example.com:8443 , [::1]:4010,',
      WORKER_SHUTDOWN_GRACE_MS: '0',
      WORKFLOW_BUNDLE_PATH: path.relative(process.cwd(), BUNDLE),
    });
    assert.equal(config.temporal.address, 'ns.acct.tmprl.cloud:7233');
    // Host names compare case-insensitively: the entries are normalised.
    assert.deepEqual(config.trust, {
      keysDir: '/keys',
      keyEnvPrefix: 'ACME_DOCUSIGN_',
      allowedHosts: ['proxy.example.com:8443', '[::1]:4010'],
    });
    assert.deepEqual(config.temporal.tls, {
      clientCertPath: CERT,
      clientKeyPath: KEY,
      serverName: 'ns.acct.tmprl.cloud',
      caPath: CA,
    });
    assert.equal(config.evidenceStoreKind, 'postgres');
    assert.equal(config.payloadCodecKeys, GOOD_KEYS);
    assert.deepEqual(config.metrics, { host: '0.0.0.0', port: 9464 });
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.consent.stateTtlHours, 24);
    assert.equal(config.rateLimitReservePercent, 0);
    assert.equal(config.shutdownGraceMs, 0);
    assert.equal(config.workflowCacheSize, undefined, "the SDK's default");
    assert.equal(loadWorkerConfig({ WORKFLOW_CACHE_SIZE: '2500' }).workflowCacheSize, 2500);
    assert.equal(loadWorkerConfig({ WORKFLOW_CACHE_SIZE: '0' }).workflowCacheSize, 0, 'no cache: every task replays');
    assert.equal(loadWorkerConfig({ STICKY_QUEUE_TIMEOUT_MS: '300000' }).stickyQueueTimeoutMs, 300_000);
    assert.equal(loadWorkerConfig({ WORKFLOW_STACK_TRACES: 'ON' }).workflowStackTraces, true);
    assert.equal(loadWorkerConfig({ WORKFLOW_STACK_TRACES: 'off' }).workflowStackTraces, false);
    assert.equal(config.workflowBundlePath, BUNDLE, 'resolved against the working directory');
  });

  void test('each bad variable gives exactly one line naming it', () => {
    const remote = { TEMPORAL_ADDRESS: 'temporal:7233' };
    const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
      ['TEMPORAL_ADDRESS', { TEMPORAL_ADDRESS: 'http://temporal:7233' }, /host:port/],
      ['TEMPORAL_ADDRESS', { TEMPORAL_ADDRESS: 'temporal:99999' }, /host:port/],
      ['TEMPORAL_NAMESPACE', { TEMPORAL_NAMESPACE: 'bad namespace' }, /namespace/],
      ['TEMPORAL_TASK_QUEUE', { TEMPORAL_TASK_QUEUE: 'has space' }, /without spaces/],
      ['TEMPORAL_API_KEY', { ...remote, TEMPORAL_API_KEY: 'two words' }, /single token/],
      ['TEMPORAL_API_KEY', { TEMPORAL_API_KEY: 'abc' }, /requires TEMPORAL_ADDRESS/],
      [
        'TEMPORAL_TLS_CERT_PATH',
        { ...remote, TEMPORAL_TLS_CERT_PATH: MISSING, TEMPORAL_TLS_KEY_PATH: KEY },
        /cannot read/,
      ],
      [
        'TEMPORAL_TLS_KEY_PATH',
        { ...remote, TEMPORAL_TLS_CERT_PATH: CERT },
        /^TEMPORAL_TLS_KEY_PATH: required when TEMPORAL_TLS_CERT_PATH is set$/,
      ],
      [
        'TEMPORAL_TLS_CERT_PATH',
        { ...remote, TEMPORAL_TLS_KEY_PATH: KEY },
        /required when TEMPORAL_TLS_KEY_PATH is set/,
      ],
      ['TEMPORAL_TLS_SERVER_NAME', { ...remote, TEMPORAL_TLS_SERVER_NAME: 'no spaces allowed' }, /host name/],
      ['TEMPORAL_TLS_CA_PATH', { ...remote, TEMPORAL_TLS_CA_PATH: MISSING }, /cannot read file/],
      ['TEMPORAL_TLS_CA_PATH', { TEMPORAL_TLS_CA_PATH: CA }, /requires TEMPORAL_ADDRESS/],
      ['EVIDENCE_STORE', { EVIDENCE_STORE: 's3://bucket/evidence' }, /directory path or a postgres:\/\/ URL/],
      ['PAYLOAD_CODEC_KEYS', { PAYLOAD_CODEC_KEYS: 'k1' }, /keyId:base64key/],
      ['METRICS_PORT', { METRICS_PORT: '70000' }, /0 to 65535/],
      ['METRICS_PORT', { METRICS_PORT: '7233' }, /must differ from DEV_SERVER_PORT/],
      ['METRICS_HOST', { METRICS_HOST: 'not a host!' }, /host name or IP/],
      ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }, /one of fatal, error, warn, info, debug, trace, silent/],
      ['CONSENT_REDIRECT_URI', { CONSENT_REDIRECT_URI: 'ftp://x' }, /http\(s\) URL/],
      ['CONSENT_STATE_SECRET', { CONSENT_STATE_SECRET: 'too-short' }, /at least 32 characters/],
      ['CONSENT_STATE_TTL_HOURS', { CONSENT_STATE_TTL_HOURS: '0' }, /1 to 8760/],
      ['RATE_LIMIT_RESERVE_PERCENT', { RATE_LIMIT_RESERVE_PERCENT: '91' }, /0 to 90/],
      ['RATE_LIMIT_RESERVE_PERCENT', { RATE_LIMIT_RESERVE_PERCENT: '10.5' }, /whole number/],
      ['DOCUSIGN_HTTP_TIMEOUT_MS', { DOCUSIGN_HTTP_TIMEOUT_MS: 'soon' }, /whole number/],
      ['DOCUSIGN_KEYS_DIR', { DOCUSIGN_KEYS_DIR: '/' }, /other than the filesystem root/],
      ['DOCUSIGN_KEY_ENV_PREFIX', { DOCUSIGN_KEY_ENV_PREFIX: '1KEY' }, /start of an environment variable name/],
      ['DOCUSIGN_ALLOWED_HOSTS', { DOCUSIGN_ALLOWED_HOSTS: 'emulator' }, /entry 'emulator': .*host:port/],
      ['DOCUSIGN_ALLOWED_HOSTS', { DOCUSIGN_ALLOWED_HOSTS: 'a:1,b:99999' }, /entry 'b:99999'/],
      ['DOCUSIGN_ALLOWED_HOSTS', { DOCUSIGN_ALLOWED_HOSTS: 'http://a:1' }, /comma list of host:port/],
      ['WORKER_SHUTDOWN_GRACE_MS', { WORKER_SHUTDOWN_GRACE_MS: '-1' }, /whole number/],
      ['SYNC_CONCURRENCY', { SYNC_CONCURRENCY: '0' }, /1 to 1000/],
      ['WORKFLOW_CACHE_SIZE', { WORKFLOW_CACHE_SIZE: 'lots' }, /whole number from 0 to 1000000/],
      ['STICKY_QUEUE_TIMEOUT_MS', { STICKY_QUEUE_TIMEOUT_MS: '500' }, /1000 to 3600000/],
      ['WORKFLOW_STACK_TRACES', { WORKFLOW_STACK_TRACES: 'yes' }, /^WORKFLOW_STACK_TRACES: must be on or off$/],
      ['WORKFLOW_BUNDLE_PATH', { WORKFLOW_BUNDLE_PATH: MISSING }, /^WORKFLOW_BUNDLE_PATH: cannot read file /],
      ['DEV_SERVER_PORT', { DEV_SERVER_PORT: '0' }, /1 to 65535/],
      ['DEV_SERVER_UI_PORT', { DEV_SERVER_UI_PORT: '7233' }, /must differ from DEV_SERVER_PORT/],
    ];
    for (const [variable, env, rule] of cases) {
      const [line] = failsWith(env, [variable]);
      assert.match(line!, rule, `${variable}: ${line}`);
    }
  });

  void test('several bad variables: one line each, in documentation order', () => {
    failsWith({ LOG_LEVEL: 'loud', METRICS_PORT: 'x', TEMPORAL_TLS_CERT_PATH: CERT, TEMPORAL_ADDRESS: 'a:1' }, [
      'TEMPORAL_TLS_KEY_PATH',
      'METRICS_PORT',
      'LOG_LEVEL',
    ]);
  });

  void test('no secret value is ever echoed', () => {
    const shortKey = randomBytes(16).toString('base64');
    const secrets = {
      PAYLOAD_CODEC_KEYS: `prod-2026:${shortKey}`,
      CONSENT_STATE_SECRET: 'hunter2-hunter2',
      TEMPORAL_API_KEY: 'eyJhbGciOiJFUzI1NiJ9 with-space',
    };
    const lines = failsWith({ ...secrets, TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233' }, [
      'TEMPORAL_API_KEY',
      'PAYLOAD_CODEC_KEYS',
      'CONSENT_STATE_SECRET',
    ]);
    const message = lines.join('\n');
    for (const value of [...Object.values(secrets), shortKey, 'hunter2', 'eyJhbGciOiJFUzI1NiJ9']) {
      assert.ok(!message.includes(value), `message leaks ${value}:\n${message}`);
    }
    assert.match(message, /key id 'prod-2026'/, 'the (public) key id may be named');

    const storeLines = failsWith({ EVIDENCE_STORE: 'postgres://admin:Sup3rSecretPw@' }, ['EVIDENCE_STORE']);
    assert.ok(!storeLines.join('\n').includes('Sup3rSecretPw'));
  });

  void test('redactWorkerConfig hides secrets and the database password', () => {
    const config = loadWorkerConfig({
      TEMPORAL_ADDRESS: 'x:7233',
      TEMPORAL_API_KEY: 'api-key-value',
      PAYLOAD_CODEC_KEYS: GOOD_KEYS,
      CONSENT_STATE_SECRET: 's'.repeat(40),
      EVIDENCE_STORE: 'postgres://user:db-password@db:5432/evidence',
    });
    const text = JSON.stringify(redactWorkerConfig(config));
    for (const secret of ['api-key-value', GOOD_KEYS, 's'.repeat(40), 'db-password']) assert.ok(!text.includes(secret));
    assert.match(text, /postgres:\/\/user:redacted@db:5432\/evidence/);
  });
});

void describe('connectionOptionsOf', () => {
  void test('embedded dev server by default, or the given address', () => {
    assert.deepEqual(connectionOptionsOf(loadWorkerConfig({})), { address: '127.0.0.1:7233' });
    assert.deepEqual(connectionOptionsOf(loadWorkerConfig({ DEV_SERVER_PORT: '7400' })), { address: '127.0.0.1:7400' });
    assert.deepEqual(connectionOptionsOf(loadWorkerConfig({}), { address: '127.0.0.1:40001' }), {
      address: '127.0.0.1:40001',
    });
    assert.deepEqual(connectionOptionsOf(loadWorkerConfig({ TEMPORAL_ADDRESS: 'temporal:7233' })), {
      address: 'temporal:7233',
    });
  });

  void test('mTLS: certificate, key and CA read from the files; SNI override', () => {
    const options = connectionOptionsOf(
      loadWorkerConfig({
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_TLS_CERT_PATH: CERT,
        TEMPORAL_TLS_KEY_PATH: KEY,
        TEMPORAL_TLS_SERVER_NAME: 'override.example',
        TEMPORAL_TLS_CA_PATH: CA,
      }),
    );
    assert.equal(options.apiKey, undefined);
    const tls = options.tls;
    assert.ok(tls && typeof tls === 'object');
    assert.equal(Buffer.from(tls.clientCertPair!.crt).toString(), 'CERT-PEM');
    assert.equal(Buffer.from(tls.clientCertPair!.key).toString(), 'KEY-PEM');
    assert.equal(Buffer.from(tls.serverRootCACertificate!).toString(), 'CA-PEM');
    assert.equal(tls.serverNameOverride, 'override.example');
  });

  void test('API key: TLS on and the namespace header set', () => {
    const options = connectionOptionsOf(
      loadWorkerConfig({
        TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_API_KEY: 'k',
      }),
    );
    assert.deepEqual(options, {
      address: 'eu-west-1.aws.api.temporal.io:7233',
      apiKey: 'k',
      tls: true,
      metadata: { 'temporal-namespace': 'ns.acct' },
    });
  });

  void test('a TLS file that disappeared after loading is reported by its variable', () => {
    for (const variable of ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_CA_PATH']) {
      const gone = file(`gone-${variable}.pem`, 'x');
      const config = loadWorkerConfig({
        TEMPORAL_ADDRESS: 'a:7233',
        TEMPORAL_TLS_CERT_PATH: CERT,
        TEMPORAL_TLS_KEY_PATH: KEY,
        [variable]: gone,
      });
      rmSync(gone);
      assert.throws(
        () => connectionOptionsOf(config),
        new RegExp(`^ConfigError: ${variable}: cannot read file ${gone} \\(ENOENT\\)$`),
        variable,
      );
    }
  });

  void test('the options type is accepted by both NativeConnection.connect and Connection.connect', () => {
    // Compile-time check (tsc --noEmit covers test/): assignable to both SDK option types.
    const options: TemporalConnectionOptions = connectionOptionsOf(loadWorkerConfig({}));
    const forWorker: NativeConnectionOptions = options;
    const forClient: ConnectionOptions = options;
    assert.equal(forWorker.address, forClient.address);
  });
});
