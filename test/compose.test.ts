/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked statically (no Docker engine needed): the services are
 * wired to each other consistently, every variable the stack reads is documented, and the image is built the way
 * the Temporal SDK needs (glibc, non-root, production dependencies only, secrets kept out of the build context).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { WORKER_ENV_VARS } from '../worker/config';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/messages';

const root = path.resolve(__dirname, '..');
const composeText = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { published?: string | number; target?: number; host_ip?: string })[];
}
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/**
 * Every variable the stack may take from the operator's environment, with what it is for. Keep in sync with
 * worker/config.ts (checked below) and the README.
 */
const DOCUMENTED_VARIABLES: Record<string, string> = {
  // worker/config.ts
  TEMPORAL_ADDRESS: 'Temporal frontend host:port; unset = embedded dev server',
  TEMPORAL_NAMESPACE: 'Temporal namespace',
  TEMPORAL_TASK_QUEUE: 'task queue of the connector worker',
  TEMPORAL_API_KEY: 'Temporal Cloud API key',
  TEMPORAL_TLS_CERT_PATH: 'mTLS client certificate (PEM file)',
  TEMPORAL_TLS_KEY_PATH: 'mTLS client key (PEM file)',
  TEMPORAL_TLS_SERVER_NAME: 'TLS server name override',
  TEMPORAL_TLS_CA_PATH: 'CA bundle for the Temporal server certificate',
  EVIDENCE_STORE: 'evidence directory or postgres:// URL',
  PAYLOAD_CODEC_KEYS: 'payload encryption keys keyId:base64key,...',
  METRICS_PORT: 'Prometheus endpoint port (0 = off)',
  METRICS_HOST: 'Prometheus endpoint bind address',
  LOG_LEVEL: 'pino log level',
  CONSENT_REDIRECT_URI: 'default consent redirect URI',
  CONSENT_STATE_SECRET: 'HMAC secret for the consent state',
  CONSENT_STATE_TTL_HOURS: 'consent state lifetime',
  RATE_LIMIT_RESERVE_PERCENT: 'share of the DocuSign rate limit kept in reserve',
  DOCUSIGN_HTTP_TIMEOUT_MS: 'DocuSign HTTP timeout',
  // In compose, the HOST directory mounted read-only at /keys, the worker's DOCUSIGN_KEYS_DIR in the container.
  DOCUSIGN_KEYS_DIR: 'directory of the DocuSign private keys (file: references must resolve inside it)',
  DOCUSIGN_KEY_ENV_PREFIX: 'prefix of the variables env: key references may name',
  DOCUSIGN_ALLOWED_HOSTS: 'host:port list trusted besides DocuSign for OAuth and REST',
  WORKER_SHUTDOWN_GRACE_MS: 'grace period for in-flight activities on shutdown',
  DEV_SERVER_DB: 'embedded dev server SQLite file',
  DEV_SERVER_PORT: 'embedded dev server gRPC port',
  DEV_SERVER_UI_PORT: 'embedded dev server UI port',
  // docker-compose.yml only
  POSTGRES_PASSWORD: 'password of the compose Postgres (Temporal and evidence databases)',
};
const COMPOSE_ONLY = ['POSTGRES_PASSWORD'];

const CONNECTOR_SERVICES = ['worker', 'consent-server', 'codec-server'] as const;

function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `service ${name} is missing`);
  return s;
}

function env(s: Service): Record<string, string> {
  if (!s.environment) return {};
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(
      s.environment.map((e) => [
        e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')),
        e.slice(e.indexOf('=') + 1),
      ]),
    );
  }
  return Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(s: Service): string[] {
  if (!s.depends_on) return [];
  return Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on);
}

/** Published host ports of a service as { hostIp, hostPort, containerPort }. */
function published(s: Service): { hostIp: string; hostPort: number; containerPort: number }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return { hostIp: p.host_ip ?? '0.0.0.0', hostPort: Number(p.published), containerPort: Number(p.target) };
    }
    const parts = String(p).split(':');
    const containerPort = Number(parts.pop());
    const hostPort = Number(parts.pop() ?? containerPort);
    return { hostIp: parts.pop() ?? '0.0.0.0', hostPort, containerPort };
  });
}

function commandArgs(s: Service): string[] {
  if (!s.command) return [];
  return Array.isArray(s.command) ? s.command : s.command.split(/\s+/);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `${VAR}`, `${VAR:-x}`, `${VAR:?x}`, `$VAR` — but not `$$` (a literal dollar for the container's shell). */
function referencedVariables(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) found.add(m[1]!);
  for (const m of text.matchAll(/(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g)) found.add(m[1]!);
  return [...found].sort();
}

void describe('docker-compose.yml', () => {
  void test('has the expected services, each with an image or a build', () => {
    for (const name of ['postgres', 'temporal', 'temporal-ui', 'temporal-init', ...CONNECTOR_SERVICES]) service(name);
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image || s.build, `${name} has neither image nor build`);
    }
  });

  void test('external images are pinned (a tag, never latest); Postgres 16; no auto-setup', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build || !s.image) continue;
      const tag = s.image.includes(':') ? s.image.slice(s.image.lastIndexOf(':') + 1) : '';
      assert.ok(tag && tag !== 'latest', `${name}: image ${s.image} is not pinned`);
      assert.ok(!s.image.startsWith('temporalio/auto-setup'), `${name}: temporalio/auto-setup is deprecated`);
    }
    assert.match(service('postgres').image ?? '', /^postgres:16(\.|-|$)/);
    assert.match(service('temporal').image ?? '', /^temporalio\/server:/);
    assert.match(service('temporal-ui').image ?? '', /^temporalio\/ui:/);
    assert.match(service('temporal-init').image ?? '', /^temporalio\/admin-tools:/);
  });

  void test('every depends_on target exists, and nothing depends on itself', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const target of dependsOn(s)) {
        assert.ok(services[target], `${name} depends on missing service ${target}`);
        assert.notEqual(target, name);
      }
    }
  });

  void test('worker, consent-server and codec-server use the same build and image', () => {
    const [first, ...rest] = CONNECTOR_SERVICES.map(service);
    assert.ok(first!.build, 'worker must be built from this repository');
    assert.deepEqual(first!.build, { context: '.', dockerfile: 'Dockerfile' });
    for (const s of rest) {
      assert.deepEqual(s.build, first!.build);
      assert.equal(s.image, first!.image);
    }
    assert.deepEqual(commandArgs(service('consent-server')).slice(0, 4), [
      'npx',
      'tsx',
      'client/cli.ts',
      'consent-server',
    ]);
    assert.deepEqual(commandArgs(service('codec-server')).slice(0, 4), ['npx', 'tsx', 'client/cli.ts', 'codec-server']);
    assert.equal(flag(commandArgs(service('consent-server')), '--port'), '8787');
    assert.equal(flag(commandArgs(service('codec-server')), '--port'), '8888');
    assert.equal(service('worker').command, undefined, 'the worker runs the image default (npx tsx worker/main.ts)');
  });

  void test('published host ports do not collide, and each maps to the port the service listens on', () => {
    const seen = new Map<number, string>();
    for (const [name, s] of Object.entries(services)) {
      for (const { hostPort } of published(s)) {
        assert.ok(Number.isInteger(hostPort) && hostPort > 0, `${name}: bad port`);
        assert.ok(!seen.has(hostPort), `host port ${hostPort} used by ${seen.get(hostPort)} and ${name}`);
        seen.set(hostPort, name);
      }
    }
    const ports = (name: string) => published(service(name)).map((p) => p.containerPort);
    assert.deepEqual(ports('consent-server'), [Number(flag(commandArgs(service('consent-server')), '--port'))]);
    assert.deepEqual(ports('codec-server'), [Number(flag(commandArgs(service('codec-server')), '--port'))]);
    assert.deepEqual(ports('worker'), [Number(env(service('worker')).METRICS_PORT)]);
  });

  void test('every ${VAR} is documented, and the documented list matches worker/config.ts', () => {
    const configVars = Object.keys(DOCUMENTED_VARIABLES).filter((v) => !COMPOSE_ONLY.includes(v));
    assert.deepEqual([...configVars].sort(), [...WORKER_ENV_VARS].sort(), 'DOCUMENTED_VARIABLES is out of sync');
    const referenced = referencedVariables(composeText);
    assert.ok(referenced.includes('PAYLOAD_CODEC_KEYS'));
    for (const v of referenced) assert.ok(v in DOCUMENTED_VARIABLES, `\${${v}} is not documented`);
    for (const v of COMPOSE_ONLY) assert.ok(referenced.includes(v), `${v} is documented but unused`);
  });

  void test('the connector services only set variables worker/config.ts knows (no typos)', () => {
    for (const name of CONNECTOR_SERVICES) {
      for (const key of Object.keys(env(service(name)))) {
        assert.ok((WORKER_ENV_VARS as string[]).includes(key), `${name}: unknown variable ${key}`);
      }
    }
  });

  void test('the UI calls the codec server where it is published, and the codec server allows the UI origin', () => {
    const ui = service('temporal-ui');
    const endpoint = new URL(env(ui).TEMPORAL_CODEC_ENDPOINT ?? '');
    const codec = published(service('codec-server'));
    assert.equal(codec.length, 1);
    assert.equal(Number(endpoint.port), codec[0]!.hostPort, 'UI codec endpoint port != codec-server published port');
    assert.ok(['localhost', '127.0.0.1'].includes(endpoint.hostname), 'the browser reaches it on this host');
    assert.equal(codec[0]!.hostIp, '127.0.0.1', 'the codec server decrypts anything: publish it on loopback only');

    const uiPort = published(ui).find((p) => p.containerPort === 8080);
    assert.ok(uiPort, 'the UI container listens on 8080');
    const uiOrigin = `http://localhost:${uiPort.hostPort}`;
    assert.equal(flag(commandArgs(service('codec-server')), '--allowed-origin'), uiOrigin);
    assert.equal(env(ui).TEMPORAL_ADDRESS, 'temporal:7233');
  });

  void test('temporal points at the postgres service; the schema and search attributes are created first', () => {
    const temporal = env(service('temporal'));
    const pgName = temporal.POSTGRES_SEEDS ?? '';
    assert.equal(pgName, 'postgres');
    assert.match(service(pgName).image ?? '', /^postgres:/);
    assert.equal(temporal.DB, 'postgres12');
    assert.equal(temporal.DB_PORT, '5432');
    assert.equal(temporal.POSTGRES_USER, env(service(pgName)).POSTGRES_USER);
    assert.equal(temporal.POSTGRES_PWD, env(service(pgName)).POSTGRES_PASSWORD);

    // Dependency chain: postgres <- temporal-schema <- temporal <- temporal-init <- connector services.
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      from === to || dependsOn(service(from)).some((d) => !seen.has(d) && (seen.add(d), reaches(d, to, seen)));
    assert.ok(reaches('temporal', pgName));
    for (const name of ['worker', 'consent-server']) assert.ok(reaches(name, 'temporal-init'), name);

    const init = JSON.stringify(service('temporal-init').command);
    assert.match(init, /temporal operator search-attribute create/);
    for (const key of ALL_SEARCH_ATTRIBUTES) {
      const type = key.type.charAt(0) + key.type.slice(1).toLowerCase(); // KEYWORD -> Keyword
      assert.ok(init.includes(`${key.name}=${type}`), `search attribute ${key.name}=${type} is not created`);
    }
  });

  void test('the worker talks to the compose Temporal and Postgres, with encryption required', () => {
    const worker = env(service('worker'));
    const [host, port] = (worker.TEMPORAL_ADDRESS ?? '').split(':');
    assert.ok(services[host!], `TEMPORAL_ADDRESS host ${host} is not a service`);
    assert.equal(port, '7233');
    const store = new URL(worker.EVIDENCE_STORE ?? '');
    assert.equal(store.protocol, 'postgres:');
    assert.equal(store.hostname, 'postgres');
    assert.equal(store.pathname, `/${env(service('postgres')).POSTGRES_DB}`);
    for (const name of ['worker', 'consent-server', 'codec-server']) {
      assert.match(
        env(service(name)).PAYLOAD_CODEC_KEYS ?? '',
        /^\$\{PAYLOAD_CODEC_KEYS:\?/,
        `${name} must require keys`,
      );
    }
    assert.equal(worker.METRICS_HOST, '0.0.0.0', 'inside a container the metrics port must bind all interfaces');
  });

  void test("the worker's DOCUSIGN_KEYS_DIR is its read-only keys mount", () => {
    const worker = service('worker');
    const keysDir = env(worker).DOCUSIGN_KEYS_DIR;
    // source:target:mode, where the source may itself hold `:` (`${VAR:-default}`).
    const mount = (worker.volumes ?? []).map((v) => /^(.*):([^:]+):(ro|rw)$/.exec(v)).find((m) => m?.[2] === keysDir);
    assert.ok(mount, `no volume is mounted at DOCUSIGN_KEYS_DIR ${keysDir}`);
    assert.match(mount[1] ?? '', /^\$\{DOCUSIGN_KEYS_DIR:-/, 'the host directory comes from DOCUSIGN_KEYS_DIR');
    assert.equal(mount[3], 'ro', 'the worker never writes keys');
  });
});

void describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .join('\n');

  void test('glibc Node 20 base, production dependencies, non-root, runs the worker with tsx', () => {
    const from = /^FROM\s+(\S+)/m.exec(instructions)?.[1] ?? '';
    assert.match(from, /^node:20[.\d]*-(bookworm|bullseye|trixie)(-slim)?$/, `base image ${from}`);
    assert.doesNotMatch(from, /alpine/);
    assert.match(instructions, /npm ci --omit=dev/);
    const user = /^USER\s+(\S+)/m.exec(instructions)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', 'must not run as root');
    assert.match(instructions, /^CMD \["npx", "tsx", "worker\/main\.ts"\]$/m);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.ok(pkg.dependencies.tsx, 'tsx must be a runtime dependency (npm ci --omit=dev)');
  });

  void test('.dockerignore keeps secrets and local state out of the image', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const pattern of [
      '.git',
      '**/.env',
      'keys/',
      '**/*.pem',
      '**/*.key',
      'data/',
      '.tools/',
      '**/node_modules/',
    ]) {
      assert.ok(ignored.includes(pattern), `.dockerignore lacks ${pattern}`);
    }
  });
});
