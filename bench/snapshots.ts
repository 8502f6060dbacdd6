/**
 * Access-review snapshot benchmark (issue 12): a full snapshot of every kind (users, groups with their members,
 * permission profiles, signing groups, account settings) of a large account, through the real worker PROCESS
 * (`node --import tsx worker/main.ts`, prebuilt workflow bundle, directory store), the real workflow (started and
 * driven through the client library, ConnectorClient) and the DocuSign emulator in its own process, driven over
 * /__admin.
 *
 *   - DocuSign calls per full snapshot, per kind, against the goal ⌈users/100⌉ + Σ groups ⌈members/100⌉ + kinds,
 *     computed from the emulator's truth (GET /__admin/directory), and against the exact minimum the API allows;
 *   - wall time of the snapshot pass (history: the takeSnapshots activity scheduled → closed; the first pass: the
 *     syncPass activity, an empty account's envelope sync included) at 0 and 200 ms
 *     emulator latency per call, for the first snapshot, a second identical one (stored once) and one after a
 *     scripted change (a user promoted, one closed, one removed, a group membership, sessionTimeout, password rules);
 *   - the worker process's RSS (sampled from /proc every 50 ms; VmHWM too) against a baseline taken after a warm-up
 *     connection on a small account has run its first pass on the same worker, at 1,000 / 5,000 / 10,000 users, so
 *     growth with the user count shows.
 *
 *   npx tsx bench/snapshots.ts            (TEMPORAL_ADDRESS=host:port to use a running server; else a dev server starts)
 *   SNAP_USERS=1000,5000,10000  SNAP_GROUPS=200  SNAP_GROUP_MEMBERS=50  SNAP_PROFILES=20  SNAP_SIGNING_GROUPS=10
 *   SNAP_LATENCIES_MS=0,200     (the largest size at each latency; the smaller sizes at 0 ms only)
 *   SNAP_OUT=snapshots.json
 *
 * Prints tables and writes bench/results/snapshots.json. Exports the harness bench/proof.ts uses too.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { ConnectorClient } from '../client/client';
import { ensureTemporalTools } from '../scripts/tools';
import { startDevServer, type DevServer } from '../worker/dev-server';
import type { ConnectionConfig } from '../workflows/config';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../workflows/evidence';
import type { ConnectionStatus } from '../workflows/messages';
import { machine, printTable, round, sleep } from './sync';

const PROJECT = path.resolve(__dirname, '..');
export const INTEGRATION_KEY = '00000000-0000-4000-8000-0000000be101';
export const USER_ID = '00000000-0000-4000-8000-0000000be102';
/** A second user of the emulator, with the default small account: the warm-up connection. */
export const WARM_USER_ID = '00000000-0000-4000-8000-0000000be103';

const list = (value: string | undefined, fallback: string): number[] =>
  (value ?? fallback)
    .split(',')
    .filter((v) => v.trim() !== '')
    .map(Number);
const SIZES = list(process.env.SNAP_USERS, '1000,5000,10000').sort((a, b) => a - b);
const GROUPS = Number(process.env.SNAP_GROUPS ?? 200);
const GROUP_MEMBERS = Number(process.env.SNAP_GROUP_MEMBERS ?? 50);
const PROFILES = Number(process.env.SNAP_PROFILES ?? 20);
const SIGNING_GROUPS = Number(process.env.SNAP_SIGNING_GROUPS ?? 10);
const LATENCIES_MS = list(process.env.SNAP_LATENCIES_MS, '0,200');
const OUT = process.env.SNAP_OUT ?? 'snapshots.json';
const PAGE = 100;

export const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
export const loadAverage = (): number[] => loadavg().map((x) => round(x, 2));
/** b − a per key, zeros left out. */
export const diffCounts = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.keys(after)
      .map((k): [string, number] => [k, (after[k] ?? 0) - (before[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

// ---------------------------------------------------------------------------------------------------------------------
// The harness: emulator process, worker process, Temporal, client, history

export interface EmulatorStats {
  calls: Record<string, number>;
  pagesServed: number;
  callsWhileLimited: number;
  documentsDownloaded: Record<string, number>;
  throttled: number;
  pollingLimited: number;
}

export interface EmulatorProcess {
  url: string;
  host: string;
  admin<T>(route: string, body?: unknown): Promise<T>;
  stats(): Promise<EmulatorStats>;
  /** The default account of a user. */
  accountOf(userId: string): Promise<string>;
  stop: () => Promise<void>;
}

/** emulator/main.ts as a child process (its CPU is not the connector's), the bench's app and user registered. */
export async function startEmulatorProcess(publicKeyPath: string, extraArgs: string[] = []): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(PROJECT, 'emulator', 'main.ts'),
      '--port',
      '0',
      '--envelopes',
      '0',
      '--user-id',
      USER_ID,
      '--integration-key',
      INTEGRATION_KEY,
      '--public-key',
      publicKeyPath,
      '--consent',
      ...extraArgs,
    ],
    { cwd: PROJECT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
  });
  child.stdout.resume();
  const admin = async <T>(route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/__admin/${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`admin ${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    url,
    host: new URL(url).host,
    admin,
    stats: () => admin<EmulatorStats>('stats'),
    accountOf: async (userId) => {
      const accounts = await admin<{ accountId: string; isDefault: boolean }[]>(`accounts?userId=${userId}`);
      return accounts.find((a) => a.isDefault)!.accountId;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: round(kb('VmRSS') / 1024), peakMiB: round(kb('VmHWM') / 1024) };
}

export interface BenchWorker {
  pid: number;
  identity: string;
  output: string[];
  memory(): { rssMiB: number; peakMiB: number };
  /** SIGKILL: no shutdown, no last heartbeat. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop: () => Promise<void>;
}

export interface WorkerSetup {
  address: string;
  taskQueue: string;
  evidenceStore: string;
  keysDir: string;
  allowedHosts: string;
  bundlePath: string;
}

/** `node --import tsx worker/main.ts` as an operator starts it; resolves once it polls the activity queue. */
export async function startWorker(setup: WorkerSetup, client: ConnectorClient): Promise<BenchWorker> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT, 'worker', 'main.ts')], {
    cwd: PROJECT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: setup.address,
      TEMPORAL_TASK_QUEUE: setup.taskQueue,
      EVIDENCE_STORE: setup.evidenceStore,
      DOCUSIGN_KEYS_DIR: setup.keysDir,
      DOCUSIGN_ALLOWED_HOSTS: setup.allowedHosts,
      WORKFLOW_BUNDLE_PATH: setup.bundlePath,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const pid = child.pid!;
  const identity = `${pid}@${hostname()}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (!alive()) throw new Error(`worker ${pid} exited before polling:\n${output.join('')}`);
    const res = await client.temporal.workflowService.describeTaskQueue({
      namespace: client.namespace,
      taskQueue: { name: setup.taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if (res.pollers.some((p) => p.identity === identity)) break;
    if (Date.now() > deadline) throw new Error(`worker ${pid} never polled:\n${output.join('')}`);
    await sleep(100);
  }
  return {
    pid,
    identity,
    output,
    memory: () => memoryOf(pid),
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Samples a process's VmRSS every `everyMs`; `stop()` gives the highest sample. */
export function sampleRss(pid: number, everyMs = 50): { stop(): { maxRssMiB: number; samples: number } } {
  let max = 0;
  let samples = 0;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, memoryOf(pid).rssMiB);
      samples += 1;
    } catch {
      // the process is gone (a kill): keep what was sampled
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { maxRssMiB: max, samples };
    },
  };
}

export interface BenchEnv {
  work: string;
  keyPath: string;
  publicKeyPath: string;
  address: string;
  temporalDescription: string;
  bundlePath: string;
  client(evidenceStore: string, taskQueue: string): Promise<ConnectorClient>;
  cleanups: (() => Promise<void>)[];
}

/** Key pair on disk, Temporal (a dev server unless TEMPORAL_ADDRESS), the workflow bundle written once. */
export async function benchEnv(prefix: string): Promise<BenchEnv> {
  const work = mkdtempSync(path.join(tmpdir(), prefix));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(work, { recursive: true, force: true })];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = path.join(work, 'private.pem');
  const publicKeyPath = path.join(work, 'public.pem');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  let address = process.env.TEMPORAL_ADDRESS;
  let devServer: DevServer | undefined;
  if (!address) {
    devServer = await startDevServer({ cliPath: ensureTemporalTools().cli, port: 0 });
    const server = devServer;
    cleanups.push(() => server.stop());
    address = devServer.address;
  }
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(work, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const temporalAddress = address;
  return {
    work,
    keyPath,
    publicKeyPath,
    address: temporalAddress,
    temporalDescription: devServer ? 'dev server (started by the bench, in-memory)' : `TEMPORAL_ADDRESS ${address}`,
    bundlePath,
    client: async (evidenceStore, taskQueue) => {
      const client = await ConnectorClient.create({ address: temporalAddress, taskQueue, evidenceStore });
      cleanups.push(() => client.close());
      return client;
    },
    cleanups,
  };
}

export function connectionConfig(
  env: Pick<BenchEnv, 'keyPath'>,
  emu: Pick<EmulatorProcess, 'url'>,
  connectionId: string,
  userId: string,
  extra: Partial<ConnectionConfig> = {},
): ConnectionConfig {
  return {
    connectionId,
    environment: 'demo',
    integrationKey: INTEGRATION_KEY,
    userId,
    privateKeyRef: `file:${env.keyPath}`,
    oauthBaseUrl: emu.url,
    ...extra,
  };
}

/** Polls `status` until `done` holds; throws on needs_attention or after `timeoutMs`. */
export async function waitForStatus(
  client: ConnectorClient,
  connectionId: string,
  done: (s: ConnectionStatus) => boolean,
  timeoutMs = 30 * 60_000,
  everyMs = 100,
): Promise<ConnectionStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.status(connectionId).catch(() => undefined); // no worker for a moment (a kill)
    if (status && done(status)) return status;
    if (status?.phase === 'needs_attention') {
      throw new Error(`${connectionId} needs attention: ${JSON.stringify(status.lastError)}`);
    }
    if (Date.now() > deadline) throw new Error(`${connectionId}: timed out; last status ${JSON.stringify(status)}`);
    await sleep(everyMs);
  }
}

export interface ActivitySpan {
  type: string;
  input: unknown;
  scheduledAt: number;
  startedAt?: number;
  closedAt?: number;
  /** The attempt that closed it (1 = first try). */
  attempt?: number;
  outcome: 'completed' | 'failed' | 'timed out' | 'canceled' | 'open';
  result?: unknown;
}

const payloadJson = (p: temporal.api.common.v1.IPayloads | null | undefined): unknown => {
  const data = p?.payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
};

/** Every activity of the connection's current run, from its history, in scheduling order. */
export async function activitySpans(client: ConnectorClient, connectionId: string): Promise<ActivitySpan[]> {
  const history = await client.handle(connectionId).fetchHistory();
  const spans = new Map<string, ActivitySpan>();
  const close = (
    e: temporal.api.history.v1.IHistoryEvent,
    attrs: { scheduledEventId?: unknown; startedEventId?: unknown } | null | undefined,
    outcome: ActivitySpan['outcome'],
    result?: unknown,
  ) => {
    const span = spans.get(String(attrs?.scheduledEventId));
    if (!span) return;
    span.closedAt = tsToMs(e.eventTime);
    span.outcome = outcome;
    if (result !== undefined) span.result = result;
  };
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      spans.set(String(e.eventId), {
        type: scheduled.activityType?.name ?? '?',
        input: payloadJson(scheduled.input),
        scheduledAt: tsToMs(e.eventTime),
        outcome: 'open',
      });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const span = spans.get(String(started.scheduledEventId));
      if (span) {
        span.startedAt = tsToMs(e.eventTime);
        span.attempt = started.attempt ?? undefined;
      }
    }
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) close(e, completed, 'completed', payloadJson(completed.result));
    if (e.activityTaskFailedEventAttributes) close(e, e.activityTaskFailedEventAttributes, 'failed');
    if (e.activityTaskTimedOutEventAttributes) close(e, e.activityTaskTimedOutEventAttributes, 'timed out');
    if (e.activityTaskCanceledEventAttributes) close(e, e.activityTaskCanceledEventAttributes, 'canceled');
  }
  return [...spans.values()];
}

/** Bytes of every file under `dir` (0 when it does not exist). */
export function bytesUnder(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const st = statSync(file);
    total += st.isDirectory() ? bytesUnder(file) : st.size;
  }
  return total;
}

/** Runs the cleanups in reverse, ignoring their failures. */
export async function cleanUp(cleanups: (() => Promise<void>)[]): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------------------------
// The snapshot benchmark

/** The emulator's endpoint names (stats.calls keys) each kind reads. */
const ENDPOINTS_OF: Record<SnapshotKind, string[]> = {
  users: ['GET users'],
  groups: ['GET groups', 'GET group users'],
  'permission-profiles': ['GET permission_profiles'],
  'signing-groups': ['GET signing_groups'],
  'account-settings': ['GET settings', 'GET password_rules'],
};
const SNAPSHOT_ENDPOINTS = new Set(Object.values(ENDPOINTS_OF).flat());

interface DirectoryTruth {
  users: { userId: string; userStatus?: string; isAdmin?: string }[];
  groups: { groupId: string; groupType: string }[];
  groupMembers: Record<string, { userId: string }[]>;
  permissionProfiles: unknown[];
  signingGroups: unknown[];
  settings: Record<string, unknown>;
  passwordRules: Record<string, unknown>;
}

const pages = (n: number) => Math.max(1, Math.ceil(n / PAGE));

/** The goal of issue 12 and the exact minimum the API allows, from the emulator's truth. */
function goalsOf(truth: DirectoryTruth) {
  const users = truth.users.length;
  const groups = truth.groups.length;
  const memberCounts = truth.groups.map((g) => truth.groupMembers[g.groupId]?.length ?? 0);
  const memberPages = sum(memberCounts.map(pages));
  const minimum: Record<SnapshotKind, number> = {
    users: pages(users),
    groups: pages(groups) + memberPages,
    'permission-profiles': 1,
    'signing-groups': pages(truth.signingGroups.length),
    'account-settings': 2,
  };
  return {
    truth: {
      users,
      groups,
      memberships: sum(memberCounts),
      meanMembers: round(sum(memberCounts) / groups, 1),
      largestGroup: Math.max(...memberCounts),
      groupsOver100Members: memberCounts.filter((m) => m > PAGE).length,
      permissionProfiles: truth.permissionProfiles.length,
      signingGroups: truth.signingGroups.length,
    },
    /** ⌈users/100⌉ + Σ groups ⌈members/100⌉ + kinds (issue 12's formula, member pages per group from the truth). */
    issueGoal: pages(users) + memberPages + SNAPSHOT_KINDS.length,
    minimumByKind: minimum,
    minimum: sum(Object.values(minimum)),
  };
}

interface PassResult {
  pass: 'first' | 'identical' | 'changed';
  /** The takeSnapshots (first pass: syncPass) activity scheduled → closed, from history. */
  snapshotMs: number;
  /** syncAndWait round trip (identical and changed passes; the first pass starts on consent). */
  clientMs?: number;
  calls: Record<string, number>;
  snapshotCalls: number;
  snapshotCallsByKind: Record<SnapshotKind, number>;
  /** The exact minimum for the directory at this pass. */
  minimum: number;
  otherCalls: Record<string, number>;
  changes: Partial<Record<SnapshotKind, { added: number; removed: number; changed: number }>>;
  counts: Partial<Record<SnapshotKind, number>>;
  /** Kinds whose snapshot was identical to the previous one (an index line, no records file). */
  storedOnce: SnapshotKind[];
  storeBytesAdded: number;
  peakRssMiB: number;
  outcomes: string[];
}

interface ScenarioResult {
  users: number;
  latencyMs: number;
  loadAverage: { start: number[]; end: number[] };
  goals: ReturnType<typeof goalsOf>;
  rss: { idleMiB: number; baselineMiB: number; vmHwmEndMiB: number };
  passes: PassResult[];
  scriptedChange: Record<string, string>;
}

async function main(): Promise<void> {
  const env = await benchEnv('bench-snapshots-');
  const startedLoad = loadAverage();
  const t0 = Date.now();
  try {
    const emu = await startEmulatorProcess(env.publicKeyPath, [
      '--hourly-limit',
      '1000000',
      '--burst-limit',
      '1000000',
    ]);
    env.cleanups.push(emu.stop);
    const accountId = await emu.accountOf(USER_ID);
    await emu.admin('users', { userId: WARM_USER_ID });
    await emu.admin('consent', { integrationKey: INTEGRATION_KEY, userId: WARM_USER_ID });

    const scenarios: ScenarioResult[] = [];
    const largest = SIZES.at(-1)!;
    const plan = [
      ...SIZES.map((users) => ({ users, latencyMs: 0 })),
      ...LATENCIES_MS.filter((l) => l !== 0).map((latencyMs) => ({ users: largest, latencyMs })),
    ];
    for (const [i, { users, latencyMs }] of plan.entries()) {
      scenarios.push(await scenario(env, emu, accountId, users, latencyMs, i));
    }
    report(scenarios, env, startedLoad, Date.now() - t0);
  } finally {
    await cleanUp(env.cleanups);
  }
}

async function scenario(
  env: BenchEnv,
  emu: EmulatorProcess,
  accountId: string,
  users: number,
  latencyMs: number,
  n: number,
): Promise<ScenarioResult> {
  const load = loadAverage();
  const tag = `${users}u-${latencyMs}ms`;
  console.log(`\n== ${users} users, ${latencyMs} ms per call (load ${load.join(' ')})`);
  await emu.admin('faults/latencyMs', { ms: 0 });
  await emu.admin('directory/seed', {
    accountId,
    users,
    groups: GROUPS,
    groupMembers: GROUP_MEMBERS,
    profiles: PROFILES,
    signingGroups: SIGNING_GROUPS,
  });
  const truth = await emu.admin<DirectoryTruth>(`directory?accountId=${accountId}`);
  const goals = goalsOf(truth);

  const taskQueue = `bench-snapshots-${n}-${Date.now()}`;
  const evidenceStore = path.join(env.work, `evidence-${tag}`);
  const client = await env.client(evidenceStore, taskQueue);
  const worker = await startWorker(
    {
      address: env.address,
      taskQueue,
      evidenceStore,
      keysDir: env.work,
      allowedHosts: emu.host,
      bundlePath: env.bundlePath,
    },
    client,
  );
  try {
    const idle = worker.memory();
    // Warm-up: a small account's first pass (envelopes + every snapshot kind) loads every code path and the workflow
    // isolate, so the baseline after it leaves only what the large snapshot costs.
    const warm = `warm-${n}`;
    await client.connect(connectionConfig(env, emu, warm, WARM_USER_ID));
    await client.consent(warm);
    await waitForStatus(client, warm, (s) => s.phase === 'idle' && s.totals.syncs >= 1);
    await sleep(1000);
    const baseline = worker.memory();
    console.log(`worker ${worker.pid}: idle ${idle.rssMiB} MiB, after the warm-up ${baseline.rssMiB} MiB`);

    await emu.admin('faults/latencyMs', { ms: latencyMs });
    const id = `snap-${n}`;
    const passes: PassResult[] = [];
    /** The exact minimum of calls for each pass, from the truth at that pass (the scripted change removes a user). */
    const goalsAtPass: Record<PassResult['pass'], number> = {
      first: goals.minimum,
      identical: goals.minimum,
      changed: goals.minimum,
    };
    const spansSeen = { count: 0 };
    const runPass = async (pass: PassResult['pass'], start: () => Promise<number | undefined>): Promise<void> => {
      const before = await emu.stats();
      const dir = path.join(evidenceStore, id, 'snapshots');
      const bytesBefore = bytesUnder(dir);
      const sampler = sampleRss(worker.pid);
      const clientMs = await start();
      const { maxRssMiB } = sampler.stop();
      const after = await emu.stats();
      const status = await client.status(id);
      // A connection's first pass takes its snapshots in the sync pass (after an envelope sync), later ones alone.
      const spans = (await activitySpans(client, id)).filter(
        (s) => s.type === 'takeSnapshots' || s.type === 'syncPass',
      );
      const mine = spans.slice(spansSeen.count);
      spansSeen.count = spans.length;
      const kindsOf = (s: ActivitySpan) => {
        const input = s.input as { kinds?: SnapshotKind[]; snapshotKinds?: SnapshotKind[] };
        return (input.kinds ?? input.snapshotKinds ?? []).join(', ');
      };
      const calls = diffCounts(after.calls, before.calls);
      const snapshotCallsByKind = Object.fromEntries(
        SNAPSHOT_KINDS.map((k) => [k, sum(ENDPOINTS_OF[k].map((e) => calls[e] ?? 0))]),
      ) as Record<SnapshotKind, number>;
      const storedOnce: SnapshotKind[] = [];
      for (const kind of SNAPSHOT_KINDS) {
        if ((await client.snapshotHistory(id, kind)).at(-1)?.sameAs) storedOnce.push(kind);
      }
      const result: PassResult = {
        pass,
        snapshotMs: Math.max(...mine.map((s) => s.closedAt ?? NaN)) - Math.min(...mine.map((s) => s.scheduledAt)),
        ...(clientMs === undefined ? {} : { clientMs: round(clientMs) }),
        calls,
        snapshotCalls: sum(Object.values(snapshotCallsByKind)),
        snapshotCallsByKind,
        minimum: goalsAtPass[pass],
        otherCalls: Object.fromEntries(Object.entries(calls).filter(([k]) => !SNAPSHOT_ENDPOINTS.has(k))),
        changes: Object.fromEntries(SNAPSHOT_KINDS.map((k) => [k, status.evidence?.[k]?.lastChanges])),
        counts: Object.fromEntries(SNAPSHOT_KINDS.map((k) => [k, status.evidence?.[k]?.count])),
        storedOnce,
        storeBytesAdded: bytesUnder(dir) - bytesBefore,
        peakRssMiB: maxRssMiB,
        outcomes: mine.map(
          (s) => `${kindsOf(s)}: ${s.outcome}${s.attempt && s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}`,
        ),
      };
      passes.push(result);
      console.log(
        `${pass}: snapshot pass ${result.snapshotMs} ms, ${result.snapshotCalls} snapshot calls ` +
          `(${SNAPSHOT_KINDS.map((k) => `${k} ${snapshotCallsByKind[k]}`).join(', ')}), other ${JSON.stringify(result.otherCalls)}, ` +
          `peak RSS ${maxRssMiB} MiB (+${round(maxRssMiB - baseline.rssMiB)}), store +${result.storeBytesAdded} B`,
      );
    };

    // 1. The first snapshot: the connection's first pass (an envelope sync of an empty account, then every kind).
    await runPass('first', async () => {
      await client.connect(connectionConfig(env, emu, id, USER_ID));
      await client.consent(id);
      await waitForStatus(
        client,
        id,
        (s) => s.phase === 'idle' && s.totals.syncs >= 1 && SNAPSHOT_KINDS.every((k) => s.evidence?.[k]),
      );
      return undefined;
    });
    const first = passes[0]!;
    const expectedCounts: Record<SnapshotKind, number> = {
      users: truth.users.length,
      groups: truth.groups.length,
      'permission-profiles': truth.permissionProfiles.length,
      'signing-groups': truth.signingGroups.length,
      'account-settings': 2,
    };
    for (const kind of SNAPSHOT_KINDS) {
      if (first.counts[kind] !== expectedCounts[kind]) {
        throw new Error(`${kind}: stored ${first.counts[kind]}, DocuSign has ${expectedCounts[kind]}`);
      }
    }

    // 2. The same again: nothing changed, so each kind is stored once (an index line).
    const all = { kinds: [...SNAPSHOT_KINDS] };
    await runPass('identical', async () => {
      const t = performance.now();
      await client.syncAndWait(id, all);
      return performance.now() - t;
    });

    // 3. An auditor's week (as test/snapshots.e2e.test.ts scripts it), then the next snapshot.
    const plain = truth.users.filter(
      (u) => u.userId.toLowerCase() !== USER_ID && !/^true$/i.test(String(u.isAdmin)) && u.userStatus === 'Active',
    );
    const [promoted, closed, removed, joiner] = plain.slice(0, 4).map((u) => u.userId) as [
      string,
      string,
      string,
      string,
    ];
    const custom = truth.groups.find(
      (g) => g.groupType === 'customGroup' && !truth.groupMembers[g.groupId]!.some((m) => m.userId === joiner),
    )!.groupId;
    await emu.admin('account-users/admin', { accountId, userId: promoted, isAdmin: true });
    await emu.admin('account-users/close', { accountId, userId: closed });
    await emu.admin('account-users/remove', { accountId, userId: removed });
    await emu.admin('groups/members/add', { accountId, groupId: custom, userId: joiner });
    await emu.admin('settings', {
      accountId,
      settings: { sessionTimeout: String(Number(truth.settings.sessionTimeout ?? 20) + 10) },
    });
    await emu.admin('password-rules', {
      accountId,
      rules: { minimumPasswordLength: String(Number(truth.passwordRules.minimumPasswordLength ?? 8) + 4) },
    });
    goalsAtPass.changed = goalsOf(await emu.admin<DirectoryTruth>(`directory?accountId=${accountId}`)).minimum;
    await runPass('changed', async () => {
      const t = performance.now();
      await client.syncAndWait(id, all);
      return performance.now() - t;
    });

    const end = worker.memory();
    return {
      users,
      latencyMs,
      loadAverage: { start: load, end: loadAverage() },
      goals,
      rss: { idleMiB: idle.rssMiB, baselineMiB: baseline.rssMiB, vmHwmEndMiB: end.peakMiB },
      passes,
      scriptedChange: {
        promotedToAdministrator: promoted,
        closed,
        removed,
        joinedGroup: `${joiner} → ${custom}`,
        sessionTimeout: '+10',
        minimumPasswordLength: '+4',
      },
    };
  } finally {
    await emu.admin('faults/latencyMs', { ms: 0 });
    await worker.stop();
  }
}

function report(scenarios: ScenarioResult[], env: BenchEnv, startedLoad: number[], ms: number): void {
  const at0 = scenarios.filter((s) => s.latencyMs === 0);
  const largest = at0.at(-1)!;
  const first = largest.passes[0]!;
  const goals = largest.goals;

  console.log(
    `\nCalls per full snapshot, ${largest.users} users (DocuSign's truth: ${goals.truth.users} users, ` +
      `${goals.truth.groups} groups, ${goals.truth.memberships} memberships, ${goals.truth.permissionProfiles} profiles, ` +
      `${goals.truth.signingGroups} signing groups):`,
  );
  printTable(
    ['kind', 'calls (first)', 'calls (identical)', 'calls (changed)', 'exact minimum'],
    [
      ...SNAPSHOT_KINDS.map((k) => [
        k,
        ...largest.passes.map((p) => String(p.snapshotCallsByKind[k])),
        String(goals.minimumByKind[k]),
      ]),
      ['total', ...largest.passes.map((p) => `${p.snapshotCalls} (minimum ${p.minimum})`), String(goals.minimum)],
      ['issue 12 goal ⌈u/100⌉ + Σ⌈m/100⌉ + kinds', String(goals.issueGoal), '', '', ''],
      ['other calls in the pass', ...largest.passes.map((p) => JSON.stringify(p.otherCalls)), ''],
    ],
  );

  console.log('\nSnapshot pass time (history: takeSnapshots scheduled → closed):');
  printTable(
    ['users', 'latency', 'first', 'identical', 'changed', 'per call (first)'],
    scenarios.map((s) => [
      String(s.users),
      `${s.latencyMs} ms`,
      ...s.passes.map((p) => `${p.snapshotMs} ms`),
      `${round(s.passes[0]!.snapshotMs / s.passes[0]!.snapshotCalls, 1)} ms`,
    ]),
  );

  console.log('\nWorker RSS (MiB; baseline = after a warm-up connection on a 13-user account):');
  printTable(
    ['users', 'latency', 'idle', 'baseline', 'peak first (+)', 'peak identical (+)', 'peak changed (+)', 'VmHWM end'],
    scenarios.map((s) => [
      String(s.users),
      `${s.latencyMs} ms`,
      String(s.rss.idleMiB),
      String(s.rss.baselineMiB),
      ...s.passes.map((p) => `${p.peakRssMiB} (+${round(p.peakRssMiB - s.rss.baselineMiB)})`),
      String(s.rss.vmHwmEndMiB),
    ]),
  );
  const growth = (s: ScenarioResult) => Math.max(...s.passes.map((p) => p.peakRssMiB)) - s.rss.baselineMiB;
  const smallest = at0[0]!;
  const perThousand =
    at0.length > 1 ? ((growth(largest) - growth(smallest)) / (largest.users - smallest.users)) * 1000 : undefined;

  console.log('\nScripted change → diff (added / removed / changed):');
  printTable(
    ['kind', ...scenarios.map((s) => `${s.users} u, ${s.latencyMs} ms`)],
    SNAPSHOT_KINDS.map((k) => [
      k,
      ...scenarios.map((s) => {
        const c = s.passes[2]?.changes[k];
        return c ? `+${c.added} −${c.removed} ~${c.changed}` : '-';
      }),
    ]),
  );

  const result = {
    benchmark: 'snapshots',
    measuredAt: new Date().toISOString(),
    durationSeconds: Math.round(ms / 1000),
    loadAverage: { start: startedLoad, end: loadAverage() },
    machine: machine(),
    temporal: env.temporalDescription,
    emulator: 'separate process (emulator/main.ts), driven over /__admin; rate limits raised out of the way',
    worker:
      'separate process (node --import tsx worker/main.ts, prebuilt bundle, directory store, LOG_LEVEL=warn); ' +
      'RSS sampled from /proc every 50 ms',
    account: {
      groups: GROUPS,
      meanGroupMembers: GROUP_MEMBERS,
      permissionProfiles: PROFILES,
      signingGroups: SIGNING_GROUPS,
    },
    calls: {
      users: largest.users,
      truth: goals.truth,
      byKind: first.snapshotCallsByKind,
      total: first.snapshotCalls,
      minimumByKind: goals.minimumByKind,
      minimum: goals.minimum,
      issueGoal: goals.issueGoal,
      metIssueGoal: first.snapshotCalls <= goals.issueGoal,
      atMinimum: first.snapshotCalls === goals.minimum,
      otherCallsInFirstPass: first.otherCalls,
    },
    rssGrowth: {
      note: 'peak sampled VmRSS during the three passes minus the RSS after the warm-up, per user count (0 ms latency)',
      bySize: at0.map((s) => ({ users: s.users, growthMiB: round(growth(s)) })),
      ...(perThousand === undefined ? {} : { miBPer1000Users: round(perThousand, 2) }),
    },
    scenarios,
  };
  if (perThousand !== undefined) {
    console.log(
      `\nRSS growth over the baseline: ${at0.map((s) => `${s.users} users +${round(growth(s))} MiB`).join(', ')} ` +
        `(${round(perThousand, 2)} MiB per 1,000 users)`,
    );
  }
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, OUT), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${OUT}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench/snapshots: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
