/**
 * Reliability helpers: the connector's worker as a real child PROCESS (`node --import tsx worker/main.ts`), the
 * DocuSign side of a test (emulator, RSA key pair on disk, app, user, consent) without an in-process worker, and a
 * status poller that tolerates a Temporal server that is down for a while.
 */
import { type Client, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectionConfig } from '../../workflows/config';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator';
import { Rng } from '../../emulator/prng';
import { connectionConfigFor, emulatorAllowedHosts, rsaKeys, startConnection, type RsaKeys } from './connector';
export { waitForStatus } from './connector';
import { workflowCode } from './temporal';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const WORKER_MAIN = path.join(PROJECT_ROOT, 'worker', 'main.ts');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let bundlePath: Promise<string> | undefined;

/** The run's pre-built workflow bundle (TEST_WORKFLOW_BUNDLE), or one written to a temp file for this process. */
function workflowBundlePath(): Promise<string> {
  bundlePath ??= (async () => {
    if (process.env.TEST_WORKFLOW_BUNDLE) return process.env.TEST_WORKFLOW_BUNDLE;
    const code = await workflowCode();
    const bundle = code.workflowBundle as { code?: string; codePath?: string };
    const dir = mkdtempSync(path.join(tmpdir(), 'connector-bundle-'));
    const file = path.join(dir, 'workflow-bundle.js');
    writeFileSync(file, bundle.code ?? '');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return file;
  })();
  return bundlePath;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** The worker's Temporal identity (the SDK default, `pid@host`). */
  identity: string;
  /** Every stdout/stderr line the process wrote (scanned for secrets). */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown, no last heartbeat, nothing flushed. */
  kill(): Promise<void>;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<void>;
}

export interface WorkerProcessOptions {
  address: string;
  taskQueue: string;
  /** EVIDENCE_STORE: a directory or a postgres:// URL. */
  evidenceStore: string;
  logLevel?: string;
  env?: Record<string, string>;
  /** What node runs; default the sources, `--import tsx worker/main.ts` (the build test runs `dist/worker/main.js`). */
  nodeArgs?: string[];
}

/** Starts `node --import tsx worker/main.ts` the way an operator would, with the given environment. */
export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    EVIDENCE_STORE: opts.evidenceStore,
    WORKFLOW_BUNDLE_PATH: await workflowBundlePath(),
    LOG_LEVEL: opts.logLevel ?? 'warn',
    // Same client timeout as the in-process harness: a hung DocuSign call costs 5 s, not 30.
    DOCUSIGN_HTTP_TIMEOUT_MS: '5000',
    ...opts.env,
  };
  const child = spawn(process.execPath, opts.nodeArgs ?? ['--import', 'tsx', WORKER_MAIN], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null, name: string) => {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) output.push(`[${name}] ${line}`);
    });
    stream?.on('end', () => {
      if (partial) output.push(`[${name}] ${partial}`);
    });
  };
  collect(child.stdout, 'stdout');
  collect(child.stderr, 'stderr');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error('worker process did not start');
  const pid = child.pid;
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid,
    identity: `${pid}@${hostname()}`,
    output,
    exited,
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Resolves once the worker process polls the task queue for activities (so it is connected and running), or throws
 * with its output if it exits or does not show up in time.
 */
export async function waitForPoller(client: Client, worker: WorkerProcess, taskQueue: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      throw new Error(`worker process ${worker.pid} exited before polling:\n${worker.output.join('\n')}`);
    }
    try {
      const res = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      if (res.pollers.some((p) => p.identity === worker.identity)) return;
    } catch {
      // server restarting: keep waiting
    }
    if (Date.now() > deadline) {
      throw new Error(`worker process ${worker.pid} never polled ${taskQueue}:\n${worker.output.join('\n')}`);
    }
    await sleep(100);
  }
}

/** The identity of the worker running the workflow's pending activity, if one is running. */
export async function runningActivityWorker(handle: WorkflowHandle): Promise<string | undefined> {
  const described = await handle.describe();
  const pending = described.raw.pendingActivities ?? [];
  const running = pending.find(
    (a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
  );
  return running?.lastWorkerIdentity ?? undefined;
}

/**
 * The DocuSign side of a reliability test: an emulator with one app (a real RSA key pair, the private key in a file)
 * and one consenting user. Fixed IDs make the generated data identical across emulators started with the same seed.
 */
export interface Rig {
  emu: Emulator;
  keys: RsaKeys;
  keyPath: string;
  integrationKey: string;
  userId: string;
  accountId: string;
  workDir: string;
  /** What a worker for this rig needs: its key directory and the emulator's host allowed. */
  workerEnv: Record<string, string>;
  config(connectionId: string, overrides?: Partial<ConnectionConfig>): ConnectionConfig;
  start(client: Client, taskQueue: string, config: ConnectionConfig): Promise<WorkflowHandle>;
  close(): Promise<void>;
}

export async function startRig(
  opts: {
    emulator?: EmulatorOptions;
    keys?: RsaKeys;
    integrationKey?: string;
    userId?: string;
    envelopes?: number;
    envelopeSeed?: number;
  } = {},
): Promise<Rig> {
  const emu = await startEmulator({ envelopes: 0, ...opts.emulator });
  const keys = opts.keys ?? rsaKeys();
  const workDir = mkdtempSync(path.join(tmpdir(), 'connector-rel-'));
  const keyPath = path.join(workDir, 'private-key.pem');
  writeFileSync(keyPath, keys.privatePem, { mode: 0o600 });
  const integrationKey = opts.integrationKey ?? '5c0f6a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f';
  const userId = opts.userId ?? '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  emu.registerApp(integrationKey, keys.publicPem);
  emu.addUser({ userId });
  emu.grantConsent(integrationKey, userId);
  const accountId = emu.accountsOf(userId).find((a) => a.isDefault)!.accountId;
  if (opts.envelopes) emu.seedEnvelopes(accountId, opts.envelopes, { days: 400, seed: opts.envelopeSeed ?? 7 });
  return {
    emu,
    keys,
    keyPath,
    integrationKey,
    userId,
    accountId,
    workDir,
    workerEnv: { DOCUSIGN_KEYS_DIR: workDir, DOCUSIGN_ALLOWED_HOSTS: emulatorAllowedHosts(emu) },
    config: (connectionId, overrides = {}) =>
      connectionConfigFor({ emu, integrationKey, userId, keyPath }, connectionId, overrides),
    start: startConnection,
    close: async () => {
      emu.faults.clear();
      await emu.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the emulator has served `target` envelope pages in total. */
export async function untilPagesServed(emu: Emulator, target: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (emu.stats.pagesServed < target) {
    if (Date.now() > deadline) throw new Error(`only ${emu.stats.pagesServed} of ${target} pages served`);
    await sleep(2);
  }
}

/** The emulator's seeded PRNG, so a failing trial can be replayed with the same kill moments. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
