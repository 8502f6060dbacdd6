/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked statically (no Docker engine needed): the services are
 * wired to each other consistently, every variable the stack reads is documented, and the image is built the way
 * the Temporal SDK needs (glibc, non-root, production dependencies only, compiled JavaScript without tsx, secrets kept
 * out of the build context).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BUNDLES } from '../scripts/build-bundle';
import {
  commandArgs,
  dependsOn,
  flag,
  imageTag,
  interpolate,
  mounts,
  published,
  rawEnv as env,
  readCompose,
  ROOT as root,
  service as composeService,
  serviceEnv,
} from '../scripts/compose';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION, type ServerTools } from '../scripts/server-tools';
import { composePorts, planStack, TEMPORAL_PORT_DEFAULTS, type StackPorts } from '../scripts/stack';
import { WORKER_ENV_VARS } from '../worker/config';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/messages';

const compose = readCompose();
const composeText = compose.text;
const services = compose.services;
const service = (name: string) => composeService(compose, name);

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
  SYNC_CONCURRENCY: 'syncs, snapshots and proof passes one worker runs at once',
  WORKFLOW_CACHE_SIZE: "workflows kept in the sticky cache (default: the SDK's, from the heap limit)",
  STICKY_QUEUE_TIMEOUT_MS: "how long a workflow task waits on this worker's sticky queue before any worker may take it",
  WORKFLOW_STACK_TRACES: "the SDK's stack trace of every workflow promise (on/off)",
  WORKFLOW_BUNDLE_PATH: 'pre-built workflow bundle (npm run build); the image sets it',
  DEV_SERVER_DB: 'embedded dev server SQLite file',
  DEV_SERVER_PORT: 'embedded dev server gRPC port',
  DEV_SERVER_UI_PORT: 'embedded dev server UI port',
  // docker-compose.yml only
  POSTGRES_PASSWORD: 'password of the compose Postgres (Temporal and evidence databases)',
  // Read by a CLI command itself, not by worker/config.ts
  CONNECT_HMAC_KEYS: 'DocuSign Connect HMAC keys of the connect-listener',
};
const COMPOSE_ONLY = ['POSTGRES_PASSWORD'];
/** The variables a command reads besides worker/config.ts's, by the service that runs it. */
const COMMAND_VARIABLES: Record<string, string[]> = { 'connect-listener': ['CONNECT_HMAC_KEYS'] };
const COMMAND_ONLY = Object.values(COMMAND_VARIABLES).flat();

const CONNECTOR_SERVICES = ['worker', 'consent-server', 'codec-server', 'connect-listener'] as const;

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

  void test('worker, consent-server, codec-server and connect-listener use the same build and image', () => {
    const [first, ...rest] = CONNECTOR_SERVICES.map(service);
    assert.ok(first!.build, 'worker must be built from this repository');
    assert.deepEqual(first!.build, { context: '.', dockerfile: 'Dockerfile' });
    for (const s of rest) {
      assert.deepEqual(s.build, first!.build);
      assert.equal(s.image, first!.image);
    }
    // The compiled CLI: the image has neither tsx nor the TypeScript sources.
    assert.deepEqual(commandArgs(service('consent-server')).slice(0, 3), [
      'node',
      'dist/client/cli.js',
      'consent-server',
    ]);
    assert.deepEqual(commandArgs(service('codec-server')).slice(0, 3), ['node', 'dist/client/cli.js', 'codec-server']);
    assert.deepEqual(commandArgs(service('connect-listener')).slice(0, 3), [
      'node',
      'dist/client/cli.js',
      'connect-listener',
    ]);
    assert.equal(flag(commandArgs(service('consent-server')), '--port'), '8787');
    assert.equal(flag(commandArgs(service('codec-server')), '--port'), '8888');
    assert.equal(flag(commandArgs(service('connect-listener')), '--port'), '8789');
    assert.equal(service('worker').command, undefined, 'the worker runs the image default (node dist/worker/main.js)');
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
    assert.deepEqual(ports('connect-listener'), [Number(flag(commandArgs(service('connect-listener')), '--port'))]);
    assert.deepEqual(ports('worker'), [Number(env(service('worker')).METRICS_PORT)]);
  });

  void test('every ${VAR} is documented, and the documented list matches worker/config.ts', () => {
    const configVars = Object.keys(DOCUMENTED_VARIABLES).filter(
      (v) => !COMPOSE_ONLY.includes(v) && !COMMAND_ONLY.includes(v),
    );
    assert.deepEqual([...configVars].sort(), [...WORKER_ENV_VARS].sort(), 'DOCUMENTED_VARIABLES is out of sync');
    const referenced = referencedVariables(composeText);
    assert.ok(referenced.includes('PAYLOAD_CODEC_KEYS'));
    for (const v of referenced) assert.ok(v in DOCUMENTED_VARIABLES, `\${${v}} is not documented`);
    for (const v of [...COMPOSE_ONLY, ...COMMAND_ONLY]) {
      assert.ok(referenced.includes(v), `${v} is documented but unused`);
    }
  });

  void test('the connector services only set variables worker/config.ts or their command knows (no typos)', () => {
    for (const name of CONNECTOR_SERVICES) {
      const known = [...WORKER_ENV_VARS, ...(COMMAND_VARIABLES[name] ?? [])];
      for (const key of Object.keys(env(service(name)))) {
        assert.ok(known.includes(key), `${name}: unknown variable ${key}`);
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
    for (const name of ['worker', 'consent-server', 'connect-listener']) {
      assert.ok(reaches(name, 'temporal-init'), name);
    }

    const init = JSON.stringify(service('temporal-init').command);
    assert.match(init, /temporal operator search-attribute create/);
    for (const key of ALL_SEARCH_ATTRIBUTES) {
      const type = key.type.charAt(0) + key.type.slice(1).toLowerCase(); // KEYWORD -> Keyword
      assert.ok(init.includes(`${key.name}=${type}`), `search attribute ${key.name}=${type} is not created`);
    }
  });

  void test('temporal mounts the dynamic config file it names (the server image has none, and needs one to start)', () => {
    const temporal = service('temporal');
    const file = path.posix.resolve('/etc/temporal', env(temporal).DYNAMIC_CONFIG_FILE_PATH ?? '');
    const mount = mounts(temporal, {}).find((m) => file.startsWith(`${m.target}/`));
    assert.ok(mount, `nothing is mounted over ${file}`);
    assert.equal(mount.mode, 'ro');
    assert.ok(
      existsSync(path.join(root, mount.source, path.relative(mount.target, file))),
      `${file} is not in the repo`,
    );
  });

  void test('the schema job sets up both Temporal databases from the admin-tools schema, idempotently', () => {
    const schema = env(service('temporal-schema'));
    assert.equal(schema.SQL_HOST, 'postgres');
    assert.equal(schema.SQL_PLUGIN, env(service('temporal')).DB);
    assert.equal(schema.SQL_USER, env(service('temporal')).POSTGRES_USER);
    assert.equal(schema.SQL_PASSWORD, env(service('temporal')).POSTGRES_PWD);
    const script = interpolate(commandArgs(service('temporal-schema')).join('\n'), {});
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) assert.match(script, new RegExp(step));
    assert.match(script, /temporal:temporal temporal_visibility:visibility/);
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
    for (const name of CONNECTOR_SERVICES) {
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

  // The stages: FROM lines split the instructions; the last stage is the image that runs.
  const stages = instructions.split(/^(?=FROM\s)/m).filter((s) => s.startsWith('FROM'));
  const runtime = stages.at(-1) ?? '';
  const stageOf = (name: string) => stages.find((s) => new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}\\s*$`, 'im').test(s));

  void test('glibc Node 20 base for every stage, non-root, the compiled worker without tsx', () => {
    assert.equal(stages.length, 2, 'a build stage and the runtime stage');
    for (const stage of stages) {
      const from = /^FROM\s+(\S+)/.exec(stage)?.[1] ?? '';
      assert.match(from, /^node:20[.\d]*-(bookworm|bullseye|trixie)(-slim)?$/, `base image ${from}`);
    }
    const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', 'must not run as root');
    assert.match(runtime, /^CMD \["node", "dist\/worker\/main\.js"\]$/m);
    assert.doesNotMatch(runtime, /tsx/);
    // npm run stack runs the worker with the same bundle (scripts/stack.ts).
    assert.ok(runtime.split('\n').includes(`ENV WORKFLOW_BUNDLE_PATH=/app/dist/${BUNDLES.encryptedFailures}`));
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    assert.ok(!pkg.dependencies.tsx && pkg.devDependencies.tsx, 'tsx is a dev dependency only');
    assert.match(pkg.scripts.build ?? '', /tsc -p tsconfig\.build\.json/);
  });

  void test('the build stage runs npm run build; the runtime stage has production dependencies, dist/ and bin/', () => {
    const build = stageOf('build');
    assert.ok(build, 'a stage named build');
    assert.match(build, /^RUN npm ci$/m, 'the build needs the dev dependencies');
    assert.match(build, /^RUN npm run build$/m);
    assert.match(runtime, /^RUN npm ci --omit=dev\b/m);
    const copies = [...runtime.matchAll(/^COPY\s+(.+)$/gm)].map((m) => m[1]!.trim());
    assert.deepEqual(copies, [
      'package.json package-lock.json ./',
      'patches ./patches',
      '--from=build /app/dist ./dist',
      'bin ./bin',
    ]);
    // npm ci runs the postinstall (patch-package), which needs patches/ in both stages and itself in production.
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    assert.match(build, /^COPY patches \.\/patches\nRUN npm ci$/m);
    assert.equal(
      pkg.scripts.postinstall,
      'patch-package --error-on-fail',
      'a patch that no longer applies fails npm ci',
    );
    assert.ok(pkg.dependencies['patch-package'], 'patch-package is a production dependency (npm ci --omit=dev)');
    // What the build copies in: the product folders the compile covers, and the bundle script; never test/ or bench/.
    const built = [...build.matchAll(/^COPY\s+(\S+)/gm)].map((m) => m[1]!);
    const tsconfig = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    for (const folder of tsconfig.include) assert.ok(built.includes(folder), `the build stage lacks ${folder}/`);
    for (const folder of ['test', 'bench', '.']) assert.ok(!built.includes(folder), `the build stage copies ${folder}`);
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

void describe('compose interpolation (scripts/compose.ts, what the stack reads compose with)', () => {
  void test('defaults, required variables and $$', () => {
    assert.equal(interpolate('${A:-x} ${A-y} $A', {}), 'x y ');
    assert.equal(interpolate('${A:-x} ${A-y} $A', { A: '' }), 'x  ');
    assert.equal(interpolate('${A:-x} ${A-y} $A', { A: 'v' }), 'v v v');
    assert.equal(interpolate('$${x%%=*} $$HOME', { x: 'no', HOME: 'no' }), '${x%%=*} $HOME');
    assert.throws(() => interpolate('${K:?set K, e.g. k1:<key>}', { K: '' }), /^Error: K: set K, e\.g\. k1:<key>$/);
  });
});

void describe("docker-compose.yml and `npm run stack` agree (the stack runs compose's own definitions)", () => {
  const tools: ServerTools = {
    server: '/cache/server/bin/temporal-server',
    sqlTool: '/cache/server/bin/temporal-sql-tool',
    schemaDir: '/cache/server/schema/postgresql/v12',
    uiServer: '/cache/ui/bin/ui-server',
    uiRoot: '/cache/ui',
  };
  const operatorEnv = {
    PAYLOAD_CODEC_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    CONSENT_STATE_SECRET: 's'.repeat(40),
    CONNECT_HMAC_KEYS: Buffer.alloc(32, 2).toString('base64'),
  };
  // Ports unlike compose's, so that anything left pointing at compose's own shows.
  let n = 41000;
  const otherPorts: StackPorts = {
    postgres: n++,
    temporal: Object.fromEntries(Object.keys(TEMPORAL_PORT_DEFAULTS).map((k) => [k, n++])) as StackPorts['temporal'],
    ui: n++,
    codec: n++,
    consent: n++,
    connect: n++,
    metrics: n++,
  };
  const plan = planStack({
    compose,
    tools,
    temporalCli: '/cli/temporal',
    ports: otherPorts,
    dataDir: '/data',
    env: operatorEnv,
  });
  const planned = (name: string) => {
    const p = plan.processes.find((x) => x.service === name);
    assert.ok(p, `the stack does not run ${name}`);
    return p;
  };

  void test('the images are the versions provisioned for the stack', () => {
    for (const name of ['temporal', 'temporal-schema', 'temporal-init']) {
      assert.equal(imageTag(service(name)), TEMPORAL_SERVER_VERSION, name);
    }
    assert.equal(imageTag(service('temporal-ui')), TEMPORAL_UI_VERSION);
  });

  void test('every compose service runs, each after what it depends on', () => {
    const order = ['postgres', ...plan.processes.map((p) => p.service)];
    assert.deepEqual([...order].sort(), Object.keys(services).sort());
    for (const [i, name] of order.entries()) {
      for (const dep of dependsOn(service(name))) assert.ok(order.indexOf(dep) < i, `${name} starts before ${dep}`);
    }
  });

  void test("each gets compose's environment: only addresses, ports and mounted paths differ", () => {
    const LOCALIZED: Record<string, string[]> = {
      'temporal-schema': ['SCHEMA_DIR', 'SQL_HOST', 'SQL_PORT'],
      temporal: ['BIND_ON_IP', 'DB_PORT', 'DYNAMIC_CONFIG_FILE_PATH', 'POSTGRES_SEEDS'],
      'temporal-init': ['TEMPORAL_ADDRESS'],
      'temporal-ui': ['TEMPORAL_ADDRESS', 'TEMPORAL_CODEC_ENDPOINT', 'TEMPORAL_CORS_ORIGINS'],
      'codec-server': [],
      'consent-server': ['TEMPORAL_ADDRESS'],
      'connect-listener': ['TEMPORAL_ADDRESS'],
      worker: ['DOCUSIGN_KEYS_DIR', 'EVIDENCE_STORE', 'METRICS_HOST', 'METRICS_PORT', 'TEMPORAL_ADDRESS'],
    };
    // What a container gets elsewhere: the server's ports from its config template's defaults, the UI's port
    // (compose maps 8080), the worker's bundle from the image's ENV.
    const ADDED: Record<string, string[]> = {
      temporal: Object.keys(TEMPORAL_PORT_DEFAULTS),
      'temporal-ui': ['TEMPORAL_UI_PORT'],
      worker: ['WORKFLOW_BUNDLE_PATH'],
    };
    for (const p of plan.processes) {
      const composed = serviceEnv(service(p.service), operatorEnv);
      const changed = Object.keys(composed).filter((k) => p.env[k] !== composed[k]);
      assert.deepEqual(changed.sort(), LOCALIZED[p.service], `${p.service}: localized variables`);
      const added = Object.keys(p.env).filter((k) => !(k in composed));
      assert.deepEqual(added.sort(), [...(ADDED[p.service] ?? [])].sort(), `${p.service}: added variables`);
    }
  });

  void test("localized values point at this host: loopback, the stack's ports, the mounted files", () => {
    const address = `127.0.0.1:${otherPorts.temporal.FRONTEND_GRPC_PORT}`;
    assert.equal(plan.address, address);
    for (const name of ['temporal-init', 'temporal-ui', 'consent-server', 'connect-listener', 'worker']) {
      assert.equal(planned(name).env.TEMPORAL_ADDRESS, address, name);
    }
    const temporal = planned('temporal').env;
    assert.deepEqual(
      [temporal.POSTGRES_SEEDS, temporal.DB_PORT, temporal.BIND_ON_IP],
      ['127.0.0.1', `${otherPorts.postgres}`, '127.0.0.1'],
    );
    assert.equal(temporal.DYNAMIC_CONFIG_FILE_PATH, path.join(root, 'deploy', 'dynamicconfig', 'docker.yaml'));
    assert.ok(existsSync(temporal.DYNAMIC_CONFIG_FILE_PATH));
    for (const [k, v] of Object.entries(otherPorts.temporal)) assert.equal(temporal[k], String(v), k);
    const schema = planned('temporal-schema').env;
    assert.deepEqual(
      [schema.SQL_HOST, schema.SQL_PORT, schema.SCHEMA_DIR],
      ['127.0.0.1', `${otherPorts.postgres}`, tools.schemaDir],
    );

    const worker = planned('worker').env;
    const composed = new URL(serviceEnv(service('worker'), operatorEnv).EVIDENCE_STORE!);
    const store = new URL(worker.EVIDENCE_STORE!);
    assert.deepEqual([store.hostname, store.port], ['127.0.0.1', `${otherPorts.postgres}`]);
    assert.deepEqual(
      [store.username, store.password, store.pathname],
      [composed.username, composed.password, composed.pathname],
    );
    assert.deepEqual([worker.METRICS_HOST, worker.METRICS_PORT], ['127.0.0.1', `${otherPorts.metrics}`]);
    assert.equal(worker.DOCUSIGN_KEYS_DIR, path.join(root, 'keys'), "compose's default keys mount, ./keys");
    assert.equal(worker.WORKFLOW_BUNDLE_PATH, path.join(root, 'dist', BUNDLES.encryptedFailures));
    assert.equal(worker.PAYLOAD_CODEC_KEYS, operatorEnv.PAYLOAD_CODEC_KEYS, 'payloads are encrypted as in compose');

    const ui = planned('temporal-ui').env;
    assert.equal(ui.TEMPORAL_UI_PORT, `${otherPorts.ui}`);
    assert.equal(ui.TEMPORAL_CORS_ORIGINS, plan.uiUrl);
    assert.equal(ui.TEMPORAL_CODEC_ENDPOINT, plan.codecUrl);
    assert.equal(new URL(plan.codecUrl).port, `${otherPorts.codec}`);
  });

  void test("the one-shot jobs run compose's scripts, the servers compose's commands with local addresses", () => {
    for (const name of ['temporal-schema', 'temporal-init']) {
      const p = planned(name);
      const s = service(name);
      assert.deepEqual(
        [p.command, ...p.args],
        [...(s.entrypoint as string[]), ...commandArgs(s)].map((a) => interpolate(a, operatorEnv)),
      );
    }
    assert.deepEqual(planned('temporal-schema').path, [path.dirname(tools.sqlTool)]);
    assert.deepEqual(planned('temporal-init').path, ['/cli']);

    const expected = (name: string, flags: Record<string, string>) => {
      const args = commandArgs(service(name)).slice(1); // after `node`
      for (const [f, v] of Object.entries(flags)) args[args.indexOf(f) + 1] = v;
      return args;
    };
    assert.deepEqual(
      planned('codec-server').args,
      expected('codec-server', {
        '--port': `${otherPorts.codec}`,
        '--host': '127.0.0.1',
        '--allowed-origin': plan.uiUrl,
      }),
    );
    assert.deepEqual(
      planned('consent-server').args,
      expected('consent-server', { '--port': `${otherPorts.consent}`, '--host': '127.0.0.1' }),
    );
    assert.deepEqual(
      planned('connect-listener').args,
      expected('connect-listener', { '--port': `${otherPorts.connect}`, '--host': '127.0.0.1' }),
    );
    assert.equal(planned('connect-listener').env.CONNECT_HMAC_KEYS, operatorEnv.CONNECT_HMAC_KEYS);
    assert.equal(new URL(plan.connectWebhookUrl).port, `${otherPorts.connect}`);
    assert.deepEqual(planned('worker').args, ['dist/worker/main.js'], "the image's CMD");
  });

  // (Bare host variables, SQL_HOST and POSTGRES_SEEDS, are checked above.)
  void test("with other ports, nothing still points at compose's ports or service host:port", () => {
    const values = [
      ...[plan.address, plan.uiUrl, plan.codecUrl, plan.consentCallbackUrl, plan.connectWebhookUrl, plan.metricsUrl],
      plan.evidenceStore,
      ...plan.processes.flatMap((p) => [...p.args, ...Object.values(p.env)]),
    ];
    for (const port of [5432, 7233, 8080, 8233, 8787, 8789, 8888, 9464]) {
      assert.deepEqual(
        values.filter((v) => new RegExp(`(^|:)${port}(/|$)`).test(v)),
        [],
        `port ${port}`,
      );
    }
    for (const host of Object.keys(services)) {
      assert.deepEqual(
        values.filter((v) => new RegExp(`(^|//|@)${host}:\\d`).test(v)),
        [],
        `host ${host}`,
      );
    }
  });

  void test('the default ports are the ones compose publishes (URLs read the same with either)', () => {
    const ports = composePorts(compose);
    const host = (name: string) => published(service(name)).map((p) => p.hostPort);
    assert.deepEqual(host('temporal'), [ports.temporal.FRONTEND_GRPC_PORT]);
    assert.deepEqual(host('temporal-ui'), [ports.ui]);
    assert.deepEqual(host('codec-server'), [ports.codec]);
    assert.deepEqual(host('consent-server'), [ports.consent]);
    assert.deepEqual(host('connect-listener'), [ports.connect]);
    assert.deepEqual(host('worker'), [ports.metrics]);
  });
});
