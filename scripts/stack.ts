/**
 * `npm run stack`: the docker-compose.yml topology as local processes, without a Docker engine. Every service is run
 * from its own definition in docker-compose.yml (scripts/compose.ts): the same versions, environment, commands and
 * one-shot jobs. Only what a container network and mounts make different is localized: service host names become
 * 127.0.0.1, container ports this host's ports (by default the ports compose publishes), bind addresses loopback,
 * container paths the host paths mounted there. test/compose.test.ts checks the two against each other.
 *
 *   postgres         Debian's Postgres (newest /usr/lib/postgresql/<n>), its own cluster in <data>/postgres
 *   temporal-schema  compose's script, with the provisioned temporal-sql-tool and the module's schema
 *   temporal         `temporal-server start`: the image's embedded config template, driven by compose's environment
 *   temporal-init    compose's script (namespace, the search attributes), with the Temporal CLI of `npm run tools`
 *   temporal-ui      `ui-server --env docker start`: the image's config template, driven by compose's environment
 *   worker, consent-server, codec-server, connect-listener: the compiled build (`npm run build` first), as the image
 *                    runs them
 *
 * Binaries: `npm run tools -- --server` (scripts/server-tools.ts). Data and logs: ./data/stack, kept across runs like
 * compose's volume. PAYLOAD_CODEC_KEYS, CONSENT_STATE_SECRET and CONNECT_HMAC_KEYS, when unset, are generated once and
 * kept there.
 * Ctrl-C, or a failure while starting, stops everything it started, in reverse order.
 *
 *   npm run stack [-- --data-dir DIR] [--postgres-port N]
 */
import { Connection } from '@temporalio/client';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client as PgClient } from 'pg';
import { CONNECT_PATH } from '../client/connect-listener';
import { BUNDLES } from './build-bundle';
import {
  commandArgs,
  durationMs,
  entrypointArgs,
  interpolate,
  mounts,
  published,
  rawEnv,
  readCompose,
  ROOT,
  service,
  serviceEnv,
  type Compose,
} from './compose';
import { ensureServerTools, TEMPORAL_SERVER_VERSION, type ServerTools } from './server-tools';
import { ensureTemporalTools } from './tools';

const LOCAL = '127.0.0.1';
/** The temporalio/server image's working directory: its relative paths (DYNAMIC_CONFIG_FILE_PATH) start there. */
const SERVER_IMAGE_WORKDIR = '/etc/temporal';
/** Compose does not publish Postgres; the stack's cluster listens here (the evidence tests' one is on 54329). */
export const DEFAULT_POSTGRES_PORT = 54330;

/** The server's own ports (its config template's variables) with the template's defaults. */
export const TEMPORAL_PORT_DEFAULTS = {
  FRONTEND_GRPC_PORT: 7233,
  FRONTEND_HTTP_PORT: 7243,
  FRONTEND_MEMBERSHIP_PORT: 6933,
  HISTORY_GRPC_PORT: 7234,
  HISTORY_MEMBERSHIP_PORT: 6934,
  MATCHING_GRPC_PORT: 7235,
  MATCHING_MEMBERSHIP_PORT: 6935,
  WORKER_GRPC_PORT: 7239,
  WORKER_MEMBERSHIP_PORT: 6939,
};

export interface StackPorts {
  postgres: number;
  temporal: typeof TEMPORAL_PORT_DEFAULTS;
  ui: number;
  codec: number;
  consent: number;
  connect: number;
  metrics: number;
}

/** Compose's published host ports (Postgres: DEFAULT_POSTGRES_PORT), so URLs read the same as with compose. */
export function composePorts(compose: Compose, postgres = DEFAULT_POSTGRES_PORT): StackPorts {
  const port = (name: string) => {
    const [first] = published(service(compose, name));
    if (!first) throw new Error(`docker-compose.yml: ${name} publishes no port`);
    return first.hostPort;
  };
  return {
    postgres,
    temporal: { ...TEMPORAL_PORT_DEFAULTS, FRONTEND_GRPC_PORT: port('temporal') },
    ui: port('temporal-ui'),
    codec: port('codec-server'),
    consent: port('consent-server'),
    connect: port('connect-listener'),
    metrics: port('worker'),
  };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, LOCAL, () => server.close(() => resolve(true)));
  });
}

/**
 * Free ports for everything (tests: nothing collides with a running stack or demo), all below the kernel's
 * ephemeral range: the server keeps its services' ports in a Postgres smallint (cluster_membership.rpc_port), so a
 * port above 32767 stops it at start ("value out of range for type smallint").
 */
export async function freePorts(): Promise<StackPorts> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (let attempt = 0; attempt < 500; attempt++) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (!taken.has(port) && (await canListen(port))) {
        taken.add(port);
        return port;
      }
    }
    throw new Error('no free port between 20000 and 32000');
  };
  const temporal = { ...TEMPORAL_PORT_DEFAULTS };
  for (const key of Object.keys(temporal) as (keyof typeof temporal)[]) temporal[key] = await next();
  return {
    postgres: await next(),
    temporal,
    ui: await next(),
    codec: await next(),
    consent: await next(),
    connect: await next(),
    metrics: await next(),
  };
}

export const CONNECTOR_SERVICES = ['worker', 'consent-server', 'codec-server', 'connect-listener'] as const;
export type ConnectorService = (typeof CONNECTOR_SERVICES)[number];

export interface StackOptions {
  compose: Compose;
  tools: ServerTools;
  /** The Temporal CLI that temporal-init runs (`npm run tools`). */
  temporalCli: string;
  ports: StackPorts;
  /** Postgres data, logs and generated secrets. */
  dataDir: string;
  /** What compose interpolates from: the operator's environment (plus generated secrets). */
  env: NodeJS.ProcessEnv;
  /** The connector's services to run; default all of them. */
  connectorServices?: readonly ConnectorService[];
  /** `dist`: the compiled build, as the image runs it (default). `sources`: the TypeScript through tsx (tests). */
  connectorCode?: 'dist' | 'sources';
}

type Ready = { http: string } | { temporal: string };

/** One compose service as a local process. */
export interface PlannedProcess {
  service: string;
  command: string;
  args: string[];
  /** Compose's environment for the service, localized: what the agreement test compares with docker-compose.yml. */
  env: Record<string, string>;
  /** Runs to completion before the next one starts (compose's service_completed_successfully). */
  oneShot: boolean;
  ready?: Ready;
  /** Directories to put first on PATH (where the one-shot scripts find their tools). */
  path: string[];
  stopGraceMs: number;
}

export interface StackPlan {
  postgres: { user: string; password: string; database: string; port: number };
  /** The Temporal frontend, host:port. */
  address: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  codecUrl: string;
  consentCallbackUrl: string;
  /** Where DocuSign Connect posts (through a public HTTPS proxy). */
  connectWebhookUrl: string;
  metricsUrl: string;
  /** The worker's EVIDENCE_STORE (compose's, pointed at the stack's Postgres). */
  evidenceStore: string;
  /** In start order, after Postgres. */
  processes: PlannedProcess[];
}

/** Where a container path of a service is on this host: through the bind mount that covers it. */
function hostPath(compose: Compose, name: string, containerPath: string, vars: NodeJS.ProcessEnv): string {
  const mount = mounts(service(compose, name), vars).find(
    (m) => containerPath === m.target || containerPath.startsWith(`${m.target}/`),
  );
  if (!mount) throw new Error(`docker-compose.yml: ${name} mounts nothing at ${containerPath}`);
  return path.join(path.resolve(ROOT, mount.source), path.relative(mount.target, containerPath));
}

/**
 * Compose's command for a connector service (the image's CMD for the worker), as this host runs it: its `dist/...`
 * path is relative to the image's WORKDIR, /app, which is the project root here.
 */
function connectorCommand(args: string[], code: 'dist' | 'sources'): { command: string; args: string[] } {
  const [node, script, ...rest] = args;
  if (node !== 'node' || !script?.startsWith('dist/') || !script.endsWith('.js')) {
    throw new Error(`docker-compose.yml: expected \`node dist/....js\`, got ${args.join(' ')}`);
  }
  const entry = code === 'dist' ? [script] : ['--import', 'tsx', script.replace(/^dist\//, '').replace(/\.js$/, '.ts')];
  return { command: process.execPath, args: [...entry, ...rest] };
}

/** Replaces the value after each flag; every flag must be present (compose's command changed otherwise). */
function withFlags(args: string[], values: Record<string, string>): string[] {
  const out = [...args];
  for (const [flag, value] of Object.entries(values)) {
    const i = out.indexOf(flag);
    if (i < 0 || i + 1 >= out.length) throw new Error(`docker-compose.yml: ${out.join(' ')} has no ${flag} value`);
    out[i + 1] = value;
  }
  return out;
}

/** The stack's processes from docker-compose.yml: a pure function of its inputs (test/compose.test.ts runs it). */
export function planStack(options: StackOptions): StackPlan {
  const { compose, tools, ports, env: vars } = options;
  const code = options.connectorCode ?? 'dist';
  const wanted = options.connectorServices ?? CONNECTOR_SERVICES;
  const env = (name: string) => serviceEnv(service(compose, name), vars);
  const script = (name: string) =>
    [...entrypointArgs(service(compose, name)), ...commandArgs(service(compose, name))].map((a) =>
      interpolate(a, vars),
    );
  const grace = (name: string) => durationMs(service(compose, name).stop_grace_period) ?? 10_000; // compose's default

  const pg = env('postgres');
  const postgres = {
    user: pg.POSTGRES_USER!,
    password: pg.POSTGRES_PASSWORD!,
    database: pg.POSTGRES_DB!,
    port: ports.postgres,
  };
  const address = `${LOCAL}:${ports.temporal.FRONTEND_GRPC_PORT}`;
  const uiUrl = `http://localhost:${ports.ui}`;
  const codecUrl = `http://localhost:${ports.codec}`;

  const worker = env('worker');
  const evidence = new URL(worker.EVIDENCE_STORE!);
  if (evidence.hostname !== 'postgres')
    throw new Error('docker-compose.yml: the worker stores evidence elsewhere than in postgres');
  evidence.hostname = LOCAL;
  evidence.port = String(ports.postgres);

  const [schemaShell, ...schemaArgs] = script('temporal-schema');
  const [initShell, ...initArgs] = script('temporal-init');
  const temporal = env('temporal');
  const processes: PlannedProcess[] = [
    {
      service: 'temporal-schema',
      command: schemaShell!,
      args: schemaArgs,
      env: {
        ...env('temporal-schema'),
        SQL_HOST: LOCAL,
        SQL_PORT: String(ports.postgres),
        SCHEMA_DIR: tools.schemaDir,
      },
      oneShot: true,
      path: [path.dirname(tools.sqlTool)],
      stopGraceMs: grace('temporal-schema'),
    },
    {
      service: 'temporal',
      // The image's entrypoint: `exec temporal-server start`, configured by the embedded template from the environment.
      command: tools.server,
      args: ['start'],
      env: {
        ...temporal,
        POSTGRES_SEEDS: LOCAL,
        DB_PORT: String(ports.postgres),
        BIND_ON_IP: LOCAL,
        DYNAMIC_CONFIG_FILE_PATH: hostPath(
          compose,
          'temporal',
          path.posix.resolve(SERVER_IMAGE_WORKDIR, temporal.DYNAMIC_CONFIG_FILE_PATH!),
          vars,
        ),
        ...Object.fromEntries(Object.entries(ports.temporal).map(([k, v]) => [k, String(v)])),
      },
      oneShot: false,
      ready: { temporal: address },
      path: [],
      stopGraceMs: grace('temporal'),
    },
    {
      service: 'temporal-init',
      command: initShell!,
      args: initArgs,
      env: { ...env('temporal-init'), TEMPORAL_ADDRESS: address },
      oneShot: true,
      path: [path.dirname(options.temporalCli)],
      stopGraceMs: grace('temporal-init'),
    },
    {
      service: 'temporal-ui',
      // The image's entrypoint: `./ui-server --env docker start`, config/docker.yaml templated from the environment.
      command: tools.uiServer,
      args: ['--root', tools.uiRoot, '--env', 'docker', 'start'],
      env: {
        ...env('temporal-ui'),
        TEMPORAL_ADDRESS: address,
        TEMPORAL_CORS_ORIGINS: uiUrl,
        TEMPORAL_CODEC_ENDPOINT: codecUrl,
        TEMPORAL_UI_PORT: String(ports.ui),
      },
      oneShot: false,
      ready: { http: `http://${LOCAL}:${ports.ui}/api/v1/settings` },
      path: [],
      stopGraceMs: grace('temporal-ui'),
    },
  ];

  const codecServer = commandArgs(service(compose, 'codec-server'));
  const consentServer = commandArgs(service(compose, 'consent-server'));
  const connectListener = commandArgs(service(compose, 'connect-listener'));
  const connector: Record<ConnectorService, () => PlannedProcess> = {
    'codec-server': () => ({
      service: 'codec-server',
      ...connectorCommand(
        withFlags(codecServer, { '--port': String(ports.codec), '--host': LOCAL, '--allowed-origin': uiUrl }),
        code,
      ),
      env: env('codec-server'),
      oneShot: false,
      ready: { http: `http://${LOCAL}:${ports.codec}/` },
      path: [],
      stopGraceMs: grace('codec-server'),
    }),
    'consent-server': () => ({
      service: 'consent-server',
      ...connectorCommand(withFlags(consentServer, { '--port': String(ports.consent), '--host': LOCAL }), code),
      env: { ...env('consent-server'), TEMPORAL_ADDRESS: address },
      oneShot: false,
      ready: { http: `http://${LOCAL}:${ports.consent}/healthz` },
      path: [],
      stopGraceMs: grace('consent-server'),
    }),
    'connect-listener': () => ({
      service: 'connect-listener',
      ...connectorCommand(withFlags(connectListener, { '--port': String(ports.connect), '--host': LOCAL }), code),
      env: { ...env('connect-listener'), TEMPORAL_ADDRESS: address },
      oneShot: false,
      ready: { http: `http://${LOCAL}:${ports.connect}/healthz` },
      path: [],
      stopGraceMs: grace('connect-listener'),
    }),
    worker: () => ({
      service: 'worker',
      // The image's CMD, with the bundle its ENV names (Dockerfile: WORKFLOW_BUNDLE_PATH).
      ...connectorCommand(['node', 'dist/worker/main.js'], code),
      env: {
        ...worker,
        TEMPORAL_ADDRESS: address,
        EVIDENCE_STORE: evidence.toString(),
        METRICS_HOST: LOCAL,
        METRICS_PORT: String(ports.metrics),
        DOCUSIGN_KEYS_DIR: hostPath(compose, 'worker', worker.DOCUSIGN_KEYS_DIR!, vars),
        ...(code === 'dist' ? { WORKFLOW_BUNDLE_PATH: path.join(ROOT, 'dist', BUNDLES.encryptedFailures) } : {}),
      },
      oneShot: false,
      ready: { http: `http://${LOCAL}:${ports.metrics}/healthz` },
      path: [],
      stopGraceMs: grace('worker'),
    }),
  };
  // Compose's order: the codec and consent servers and the Connect listener need only Temporal; the worker comes last.
  for (const name of ['codec-server', 'consent-server', 'connect-listener', 'worker'] as const) {
    if (wanted.includes(name)) processes.push(connector[name]());
  }
  return {
    postgres,
    address,
    namespace: env('temporal-init').NAMESPACE!,
    taskQueue: worker.TEMPORAL_TASK_QUEUE!,
    uiUrl,
    codecUrl,
    consentCallbackUrl: `http://localhost:${ports.consent}/docusign/consent/callback`,
    connectWebhookUrl: `http://localhost:${ports.connect}${CONNECT_PATH}`,
    metricsUrl: `http://${LOCAL}:${ports.metrics}/metrics`,
    evidenceStore: evidence.toString(),
    processes,
  };
}

/** A child process with its output appended to `<logDir>/<name>.log`, in a process group of its own. */
export class ManagedProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private stopping = false;

  constructor(
    readonly name: string,
    private readonly spec: { command: string; args: string[]; env: NodeJS.ProcessEnv; uid?: number; gid?: number },
    readonly logFile: string,
    private readonly onUnexpectedExit?: (name: string, how: string) => void,
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it (again, after it ended); whether it is ready is the caller's to find out. */
  spawn(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const { command, args, env, uid, gid } = this.spec;
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    const fd = openSync(this.logFile, 'a');
    // A group of its own: a terminal's Ctrl-C reaches only the stack, which stops the processes in order.
    const child = spawn(command, args, { cwd: ROOT, env, uid, gid, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    this.stopping = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.stopping) this.onUnexpectedExit?.(this.name, signal ? `signal ${signal}` : `code ${code}`);
        resolve();
      }),
    );
    child.once('error', () => undefined); // reported through 'exit' (spawn errors end there too)
  }

  /** Resolves with its exit code once it ends (one-shots). */
  async completion(timeoutMs: number, signal?: AbortSignal): Promise<number | null> {
    const child = this.child;
    if (!child) throw new Error(`${this.name} was never started`);
    const kill = () => void this.stop('SIGKILL');
    const timer = setTimeout(kill, timeoutMs);
    signal?.addEventListener('abort', kill);
    await this.exited;
    clearTimeout(timer);
    signal?.removeEventListener('abort', kill);
    signal?.throwIfAborted();
    return child.exitCode;
  }

  /** Sends `signal` to its process group and waits; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // already gone
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The end of its log (for failure messages). */
  logTail(lines = 15): string {
    if (!existsSync(this.logFile)) return '';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  alive: () => boolean,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (!alive()) throw new Error(`${what}: the process exited`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function probe(ready: Ready): Promise<true | undefined> {
  if ('http' in ready) {
    const res = await fetch(ready.http, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status < 500 ? true : undefined;
  }
  // Lazy, so that a connection that never came up is closed too.
  const connection = Connection.lazy({ address: ready.temporal, connectTimeout: 2000 });
  try {
    await connection.ensureConnected();
    await connection.healthService.check({});
    return true;
  } finally {
    await connection.close();
  }
}

/** Debian's Postgres: the newest /usr/lib/postgresql/<major>/bin. */
function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter(
          (d) => existsSync(path.join(base, d, 'bin', 'postgres')) && existsSync(path.join(base, d, 'bin', 'initdb')),
        )
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors[0])
    throw new Error('no PostgreSQL server under /usr/lib/postgresql: install it (apt-get install postgresql)');
  return path.join(base, majors[0], 'bin');
}

/** initdb refuses to run as root: as root, Postgres runs as the `postgres` system user. */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error("running as root needs the `postgres` system user (Debian's postgresql package creates it)");
  }
}

/** The stack's Postgres: compose's `postgres` service (user, password, database) as a cluster under `dir`. */
export class StackPostgres {
  readonly process: ManagedProcess;
  readonly version: string;
  private readonly bin = postgresBinDir();
  private readonly owner = postgresOwner();

  constructor(
    private readonly settings: StackPlan['postgres'],
    private readonly dir: string,
    logDir: string,
    onUnexpectedExit?: (name: string, how: string) => void,
  ) {
    this.version = path.basename(path.dirname(this.bin));
    const data = path.join(dir, 'data');
    this.process = new ManagedProcess(
      'postgres',
      {
        command: path.join(this.bin, 'postgres'),
        // TCP on loopback only, no Unix socket (nothing here uses one).
        args: [
          '-D',
          data,
          '-p',
          String(settings.port),
          '-c',
          `listen_addresses=${LOCAL}`,
          '-c',
          'unix_socket_directories=',
        ],
        env: { PATH: process.env.PATH, LANG: 'C.UTF-8' },
        ...this.owner,
      },
      path.join(logDir, 'postgres.log'),
      onUnexpectedExit,
    );
  }

  url(database: string): string {
    const { user, password, port } = this.settings;
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${LOCAL}:${port}/${database}`;
  }

  /** Creates the cluster on first use (compose's postgres image does the same on an empty volume), starts it. */
  async start(signal?: AbortSignal): Promise<void> {
    const data = path.join(this.dir, 'data');
    if (!existsSync(path.join(data, 'PG_VERSION'))) this.initdb(data);
    const made = readFileSync(path.join(data, 'PG_VERSION'), 'utf8').trim();
    if (made !== this.version) {
      throw new Error(
        `${data} was made by Postgres ${made}, this is ${this.version}: remove it or pass another --data-dir`,
      );
    }
    this.process.spawn();
    await until(
      `postgres on ${LOCAL}:${this.settings.port}`,
      60_000,
      () => this.query('postgres', 'SELECT 1'),
      () => this.process.running,
      signal,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; ${this.process.logFile} ends:\n${this.process.logTail()}`);
    });
    const exists = await this.query('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [
      this.settings.database,
    ]);
    if (!exists?.length) await this.query('postgres', `CREATE DATABASE "${this.settings.database}"`);
  }

  /** Fast shutdown (SIGINT): the way a container's Postgres is stopped. */
  stop(): Promise<void> {
    return this.process.stop('SIGINT', 30_000);
  }

  private initdb(data: string): void {
    // Only the data directory is private: as root, the postgres user must be able to reach it.
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(data, { mode: 0o700 });
    const pwfile = path.join(this.dir, '.pwfile');
    writeFileSync(pwfile, `${this.settings.password}\n`, { mode: 0o600 });
    try {
      if (this.owner) {
        for (const p of [this.dir, data, pwfile]) chownSync(p, this.owner.uid, this.owner.gid);
        if (spawnSync('test', ['-r', pwfile], this.owner).status !== 0) {
          throw new Error(`the postgres user cannot reach ${this.dir}: every directory above it must be traversable`);
        }
      }
      const init = spawnSync(
        path.join(this.bin, 'initdb'),
        [
          '-D',
          data,
          '-U',
          this.settings.user,
          `--pwfile=${pwfile}`,
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
        ],
        { cwd: this.dir, ...this.owner, encoding: 'utf8' },
      );
      if (init.status !== 0)
        throw new Error(`initdb failed: ${(init.stderr || init.stdout || '').trim().split('\n').at(-1) ?? ''}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  private async query(database: string, sql: string, params: unknown[] = []): Promise<unknown[] | undefined> {
    const client = new PgClient({ connectionString: this.url(database), connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as unknown[];
    } finally {
      await client.end();
    }
  }
}

export interface Stack {
  plan: StackPlan;
  postgres: StackPostgres;
  /** The long-running services by compose name (temporal, temporal-ui, and the connector services started). */
  services: Map<string, ManagedProcess>;
  /** Starts a service again (after a kill) and waits until it is ready. */
  restart(name: string): Promise<void>;
  /** Stops everything, in reverse start order. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log: (line: string) => void;
  /** A long-running service ended without being stopped (after start-up; during it, start-up fails). */
  onUnexpectedExit?: (name: string, how: string) => void;
  /** Aborting stops start-up (and what it started). */
  signal?: AbortSignal;
  /** Awaited before the first connector service starts (`npm run build` meanwhile). */
  connectorCodeReady?: Promise<unknown>;
}

/** Starts the plan's processes in order, each ready before the next; on any failure stops what it started. */
export async function startStack(plan: StackPlan, dataDir: string, options: StartOptions): Promise<Stack> {
  const { log, signal } = options;
  const logDir = path.join(dataDir, 'logs');
  const postgres = new StackPostgres(plan.postgres, path.join(dataDir, 'postgres'), logDir, options.onUnexpectedExit);
  const services = new Map<string, ManagedProcess>();
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.splice(0).reverse()) await s.stop();
  };
  const specs = new Map(plan.processes.map((p) => [p.service, p]));
  const ready = async (p: PlannedProcess, proc: ManagedProcess) => {
    if (!p.ready) return;
    try {
      await until(
        p.service,
        120_000,
        () => probe(p.ready!),
        () => proc.running,
        signal,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; ${proc.logFile} ends:\n${proc.logTail()}`);
    }
  };
  try {
    log(`postgres: Postgres ${postgres.version} on ${LOCAL}:${plan.postgres.port}`);
    started.push(postgres);
    await postgres.start(signal);
    for (const p of plan.processes) {
      if ((CONNECTOR_SERVICES as readonly string[]).includes(p.service)) await options.connectorCodeReady;
      signal?.throwIfAborted();
      const proc = new ManagedProcess(
        p.service,
        {
          command: p.command,
          args: p.args,
          // Like a container: compose's environment, not this shell's (PATH and HOME aside).
          env: { PATH: [...p.path, process.env.PATH].join(path.delimiter), HOME: process.env.HOME, ...p.env },
        },
        path.join(logDir, `${p.service}.log`),
        p.oneShot ? undefined : options.onUnexpectedExit,
      );
      log(`${p.service}: ${p.oneShot ? 'running' : 'starting'}`);
      started.push({ stop: () => proc.stop('SIGTERM', p.stopGraceMs) });
      proc.spawn();
      if (p.oneShot) {
        const code = await proc.completion(180_000, signal);
        if (code !== 0) throw new Error(`${p.service} failed (exit ${code}); ${proc.logFile} ends:\n${proc.logTail()}`);
      } else {
        services.set(p.service, proc);
        await ready(p, proc);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    plan,
    postgres,
    services,
    restart: async (name) => {
      const proc = services.get(name);
      const spec = specs.get(name);
      if (!proc || !spec) throw new Error(`no service ${name} in this stack`);
      proc.spawn();
      await ready(spec, proc);
    },
    stop,
  };
}

/**
 * PAYLOAD_CODEC_KEYS, CONSENT_STATE_SECRET and CONNECT_HMAC_KEYS from the environment, else generated once and kept in
 * `<dataDir>`.
 */
export function stackSecrets(
  dataDir: string,
  env: NodeJS.ProcessEnv,
): { vars: Record<string, string>; file: string; generated: string[] } {
  const file = path.join(dataDir, 'secrets.env');
  const kept = existsSync(file)
    ? Object.fromEntries(
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
    : {};
  const make: Record<string, () => string> = {
    PAYLOAD_CODEC_KEYS: () => `k1:${randomBytes(32).toString('base64')}`,
    CONSENT_STATE_SECRET: () => randomBytes(48).toString('base64'),
    // A stand-in of the same shape so the listener starts: DocuSign generates the real key (Admin → Connect → Connect
    // Keys), which must be set in CONNECT_HMAC_KEYS for its events to verify.
    CONNECT_HMAC_KEYS: () => randomBytes(32).toString('base64'),
  };
  const vars: Record<string, string> = {};
  const generated: string[] = [];
  for (const [name, generate] of Object.entries(make)) {
    const given = env[name]?.trim();
    if (given) vars[name] = given;
    else {
      vars[name] = kept[name] ?? generate();
      generated.push(name);
    }
  }
  const toKeep = generated.map((name) => `${name}=${vars[name]}\n`).join('');
  if (toKeep) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, toKeep, { mode: 0o600 });
  }
  return { vars, file, generated };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'data-dir': { type: 'string' }, 'postgres-port': { type: 'string' } },
  });
  const dataDir = path.resolve(values['data-dir'] ?? path.join(ROOT, 'data', 'stack'));
  const log = (line: string) => console.log(`stack: ${line}`);
  const compose = readCompose();
  const tools = ensureServerTools();
  const temporalCli = ensureTemporalTools().cli;
  const secrets = stackSecrets(dataDir, process.env);
  const plan = planStack({
    compose,
    tools,
    temporalCli,
    ports: composePorts(compose, values['postgres-port'] ? Number(values['postgres-port']) : DEFAULT_POSTGRES_PORT),
    dataDir,
    env: { ...process.env, ...secrets.vars },
  });
  for (const p of plan.processes) {
    if (p.service === 'worker') mkdirSync(p.env.DOCUSIGN_KEYS_DIR!, { recursive: true, mode: 0o700 }); // as Docker would
  }

  // Read by the signal handlers, so it exists (empty) before the stack does.
  const running: { stack?: Stack } = {};
  let stopping = false;
  const shutdown = async (why: string, code: number) => {
    if (stopping) return; // a second Ctrl-C must not exit before the processes are stopped
    stopping = true;
    log(`${why}: stopping everything (each process is killed after its grace period)`);
    await running.stack?.stop();
    process.exit(code);
  };
  // While starting, Ctrl-C aborts the start (which stops what it started); afterwards it stops the stack.
  const starting = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => (running.stack ? void shutdown(sig, 0) : starting.abort(new Error(`${sig} while starting`))));
  }

  log('npm run build, meanwhile Postgres and Temporal (the connector services run the compiled build)');
  // A group of its own, so that a start that fails or is interrupted can stop the whole build (npm, sh, tsc).
  const builder = spawn('npm', ['run', '--silent', 'build'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const build = new Promise<void>((resolve, reject) =>
    builder.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (exit ${code})`)))),
  );
  build.catch(() => undefined); // awaited by startStack before the connector services
  const stack = await startStack(plan, dataDir, {
    log,
    signal: starting.signal,
    connectorCodeReady: build,
    onUnexpectedExit: (name, how) => {
      if (running.stack) void shutdown(`${name} exited unexpectedly (${how})`, 1);
    },
  }).catch((err: unknown) => {
    if (builder.exitCode === null) process.kill(-builder.pid!, 'SIGTERM');
    throw err;
  });
  running.stack = stack;
  const secretsNote = secrets.generated.length
    ? `${secrets.generated.join(', ')} generated, kept in ${secrets.file}`
    : `${Object.keys(secrets.vars).join(', ')} from the environment`;
  // For the CLI: the store's URL with compose's own password expression, so that no password is printed.
  const store = new URL(plan.evidenceStore);
  store.password = 'PASSWORD';
  const storeForShell = store.toString().replace('PASSWORD', rawEnv(service(compose, 'postgres')).POSTGRES_PASSWORD!);
  console.log(`
Temporal server v${TEMPORAL_SERVER_VERSION} on Postgres ${stack.postgres.version}, as docker-compose.yml runs it:
  Temporal          ${plan.address}   namespace ${plan.namespace}, task queue ${plan.taskQueue}
  Web UI            ${plan.uiUrl}   (decodes payloads through the codec server)
  Codec server      ${plan.codecUrl}
  Consent callback  ${plan.consentCallbackUrl}
  Connect webhooks  ${plan.connectWebhookUrl}   (HMAC keys: CONNECT_HMAC_KEYS)
  Worker metrics    ${plan.metricsUrl}
  Postgres          ${LOCAL}:${plan.postgres.port}   databases ${plan.postgres.database}, temporal, temporal_visibility
  Private keys      ${plan.processes.find((p) => p.service === 'worker')?.env.DOCUSIGN_KEYS_DIR ?? '-'}   (file: references resolve inside it)
  Data and logs     ${dataDir}
  Secrets           ${secretsNote}

The CLI against it:
${secrets.generated.length ? `  set -a; . ${secrets.file}; set +a\n` : ''}  export TEMPORAL_ADDRESS=${plan.address} EVIDENCE_STORE="${storeForShell}"
  npx docusign-connector list
Ctrl-C stops everything.`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`stack: ${(err as Error).message}`);
    process.exit(1);
  });
}
