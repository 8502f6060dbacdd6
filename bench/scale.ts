/**
 * Scale benchmark: N connection workflows on ONE worker process (`node --import tsx worker/main.ts`, as operators run
 * it) against the DocuSign emulator and a Temporal dev server, with short token lifetimes so the workflows re-mint
 * during the run. Reports:
 *   - worker RSS (sampled from /proc; peak = VmHWM),
 *   - workflow task latency p50/p99 from history timestamps (WorkflowTaskScheduled → Completed), overall and after the
 *     ramp, plus schedule-to-start,
 *   - re-mints: how many, their lead time before the old token's expiry, late ones (goal 0: requested at or after the
 *     previous token's expiry), and tokens minted outside the workflow's schedule (a 401 or stale-cache re-mint),
 *   - history events per connection per simulated day: the observed rate extrapolated, and a model built from the
 *     events one re-mint cycle and one sync cycle really cost (segmented from the histories), at the bench's
 *     settings and at production defaults (token lifetime 3600 s, sync every 60 min).
 *
 * Token lifetime: the workflow re-mints 10 minutes before expiry, so a lifetime <= 10 min means a re-mint at every
 * wake-up. 900 s (the default here) re-mints 5 minutes after each mint: every connection re-mints at least once in a
 * 10-minute run. Mid-run, every connection also gets a `syncNow`, so a sync cycle is measured too (the minimum sync
 * interval is 15 minutes, longer than the run).
 *
 *   npx tsx bench/scale.ts
 *   SCALE_CONNECTIONS=1000 SCALE_MINUTES=9 SCALE_TOKEN_LIFETIME=900 TEMPORAL_ADDRESS=host:port (else a dev server)
 *   SCALE_SYNC_SPREAD_S=60 (the mid-run syncNow spread; 0 = all at once; -1 = none: only the schedule's syncs)
 *   SCALE_OUT=scale.json (result file name; scale-production.json with BENCH_SERVER=production)
 *   BENCH_SERVER=production: on `npm run stack`'s Temporal (temporal-server on its own Postgres; `npm run tools --
 *   --server` first), started for the run
 *   WORKFLOW_CACHE_SIZE, STICKY_QUEUE_TIMEOUT_MS, WORKFLOW_STACK_TRACES, SYNC_CONCURRENCY, METRICS_PORT,
 *   WORKER_NODE_OPTIONS (its NODE_OPTIONS), MALLOC_ARENA_MAX: passed to the worker; SCALE_WORKER_LOG=path: the
 *   worker's whole output goes there too;
 *   WORKER_EXEC_ARGV: node flags for the worker that NODE_OPTIONS refuses (`--cpu-prof --cpu-prof-dir=DIR`)
 *   SCALE_SERVER_LOG=path, SCALE_SERVER_METRICS_PORT=port: the dev server's warn log, its Prometheus port
 *
 * Mass onboarding (issue 15, goal 2): SCALE_ENVELOPES=1000 (per account, default 10) SCALE_CONSENT_SPREAD_S=60 (the
 * starts with consent are paced over this long; default 0 = as fast as 25 in flight allow) and
 * EVIDENCE_STORE=postgres://… (the worker's store; default a directory). With a Postgres store the bench then writes
 * the same records again, straight into the store with SYNC_CONCURRENCY writers and no Temporal or DocuSign ("the
 * store alone"), and compares the onboarding's time (first start → every connection idle) with it.
 *
 * Prints tables and writes bench/results/scale.json.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { PostgresStore } from '../activities/store/postgres';
import type { EnvelopeRecord } from '../activities/store/types';
import { ensureTemporalTools } from '../scripts/tools';
import { startEmulator } from '../emulator';
import { startDevServer, type DevServer } from '../worker/dev-server';
import { workerEnvSchema } from '../worker/env-schema';
import { DEFAULT_SYNC_INTERVAL_MINUTES, type ConnectionConfig } from '../workflows/config';
import { MAX_HISTORY_EVENTS } from '../workflows/connection';
import { REMINT_BEFORE_EXPIRY_MS } from '../workflows/schedule';
import {
  consentGrantedSignal,
  syncNowSignal,
  WORKFLOW_TYPE,
  workflowIdOf,
  searchAttributes,
  startAttributesOf,
} from '../workflows/messages';
import type { Stack } from '../scripts/stack';
import { localActivityOf, localActivityTypeOf } from '../test/helpers/evidence';
import {
  machine,
  percentile,
  POSTGRES_STORE,
  PRODUCTION_SERVER,
  printTable,
  round,
  SERVER_SUFFIX,
  sleep,
  startProductionServer,
} from './sync';

const N = Number(process.env.SCALE_CONNECTIONS ?? 1000);
const MINUTES = Number(process.env.SCALE_MINUTES ?? 9);
const TOKEN_LIFETIME_S = Number(process.env.SCALE_TOKEN_LIFETIME ?? 900);
/** The mid-run syncNow to every connection is spread over this many seconds (0 = one burst). */
const SYNC_SPREAD_S = Number(process.env.SCALE_SYNC_SPREAD_S ?? 60);
const OUT = process.env.SCALE_OUT ?? `scale${SERVER_SUFFIX}.json`;
const ENVELOPES_PER_ACCOUNT = Number(process.env.SCALE_ENVELOPES ?? 10);
const CONSENT_SPREAD_S = Number(process.env.SCALE_CONSENT_SPREAD_S ?? 0);
/** SCALE_UNTIL_IDLE=1: the run ends once every connection is idle after its first sync (the onboarding alone). */
const UNTIL_IDLE = process.env.SCALE_UNTIL_IDLE === '1';
/** Connections whose records the store-alone pass reads into memory at a time (not timed) before writing them. */
const STORE_ALONE_BATCH = 100;
const SYNC_CONCURRENCY = Number(process.env.SYNC_CONCURRENCY ?? 4);
const CONCURRENCY = 25;
const PROJECT = path.resolve(__dirname, '..');
const INTEGRATION_KEY = '00000000-0000-4000-8000-00000005ca1e';
const userIdOf = (i: number) => `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`;
const RUN_ID = randomUUID().slice(0, 8);
// Unique per run: a reused Postgres database must not make this run's writes re-deliveries.
const connectionIdOf = (i: number) => `scale-${RUN_ID}-${i}`;

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
/** Math.max/min over an array without spreading it (100,000 arguments overflow the stack). */
const maxOf = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), -Infinity);
const minOf = (xs: number[]) => xs.reduce((a, b) => Math.min(a, b), Infinity);

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** VmRSS / VmHWM of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: round(kb('VmRSS') / 1024), peak: round(kb('VmHWM') / 1024) };
}

/** CPU seconds (user + system) of the processes that share this machine's cores, from /proc: where the time goes. */
const CPU_KINDS = ['worker', 'benchAndEmulator', 'temporal', 'postgres'] as const;
type CpuSeconds = Record<(typeof CPU_KINDS)[number], number>;
const cpuOf = (seconds: (kind: (typeof CPU_KINDS)[number]) => number): CpuSeconds =>
  Object.fromEntries(CPU_KINDS.map((kind) => [kind, round(seconds(kind), 1)])) as CpuSeconds;
const NO_CPU = cpuOf(() => 0);
/** a + sign × b, per process kind. */
const cpuAdd = (a: CpuSeconds, b: CpuSeconds, sign = 1) => cpuOf((kind) => a[kind] + sign * b[kind]);
const cpuText = (c: CpuSeconds | undefined) => (c ? `${CPU_KINDS.map((kind) => c[kind]).join(' / ')} s` : 'n/a');

/**
 * A /proc stat file (stat(5)): the name, and the fields from the third on, so `fields[k]` is field k + 3 (ppid is
 * fields[1]; utime, stime, cutime, cstime are fields[11] to fields[14], in ticks of 1/100 s). Undefined if it ended.
 */
function procStat(file: string): { comm: string; fields: string[] } | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    return {
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      fields: stat.slice(stat.lastIndexOf(')') + 2).split(' '),
    };
  } catch {
    return undefined;
  }
}

/**
 * `temporalDir`: where the production server keeps its data; a Postgres cluster whose data lies under it is
 * Temporal's own persistence and counts as Temporal.
 */
function cpuSeconds(workerPid: number, temporalDir?: string): CpuSeconds {
  const stats = new Map<number, { comm: string; ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const stat = procStat(`/proc/${name}/stat`);
    if (!stat) continue;
    const { comm, fields } = stat;
    // Postgres forks a backend per client connection and reaps it when it closes, so its ended backends count in the
    // postmaster's cutime/cstime.
    const children = comm === 'postgres' ? Number(fields[13]) + Number(fields[14]) : 0;
    stats.set(Number(name), {
      comm,
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]) + children,
    });
  }
  /** The postmaster of a Postgres process: its oldest ancestor still named postgres. */
  const postmasterOf = (pid: number): number => {
    const parent = stats.get(pid)?.ppid ?? 0;
    return stats.get(parent)?.comm === 'postgres' ? postmasterOf(parent) : pid;
  };
  // Each postmaster's command line is read once per scan, not once per backend.
  const temporalPostmasters = new Map<number, boolean>();
  const isTemporalsPostgres = (pid: number) => {
    if (!temporalDir) return false;
    const postmaster = postmasterOf(pid);
    let temporals = temporalPostmasters.get(postmaster);
    if (temporals === undefined) {
      try {
        temporals = readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes(temporalDir);
      } catch {
        temporals = false;
      }
      temporalPostmasters.set(postmaster, temporals);
    }
    return temporals;
  };
  const ticks: CpuSeconds = { ...NO_CPU };
  for (const [pid, p] of stats) {
    if (pid === workerPid) ticks.worker += p.ticks;
    else if (pid === process.pid) ticks.benchAndEmulator += p.ticks;
    else if (p.comm.startsWith('temporal') || (p.comm === 'postgres' && isTemporalsPostgres(pid)))
      ticks.temporal += p.ticks;
    else if (p.comm === 'postgres') ticks.postgres += p.ticks;
  }
  return cpuOf((kind) => ticks[kind] / 100);
}

/** The worker's CPU seconds by thread name (main thread, workflow thread, Core's runtime, GC, ...), since it started. */
function workerThreadsCpu(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = procStat(`/proc/${pid}/task/${tid}/stat`);
    if (stat) byName[stat.comm] = (byName[stat.comm] ?? 0) + (Number(stat.fields[11]) + Number(stat.fields[12])) / 100;
  }
  return Object.fromEntries(
    Object.entries(byName)
      .map(([name, seconds]) => [name, round(seconds, 1)] as const)
      .sort((a, b) => b[1] - a[1]),
  );
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const T = (e: HistoryEvent) => tsToMs(e.eventTime);
const payloadJson = (p: temporal.api.common.v1.IPayloads | null | undefined): unknown => {
  const data = p?.payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
};

interface Analysis {
  events: number;
  wft: { scheduledAt: number; total: number; toStart: number; first: boolean }[];
  wftTimeouts: { at: number; type: string }[];
  /** Each distinct token: when the worker requested it (its expiry less the lifetime the emulator grants), and expiry. */
  mints: { activity: string; requestedAt: number; expiresAt: number }[];
  /** Each fired timer: when it was due, and how long after that it fired (a server that stalls fires them late). */
  timers: { dueAt: number; lateMs: number }[];
  leads: number[];
  late: number;
  firstIdleAt?: number;
  eventsAfterFirstIdle: number;
  cycles: { kind: string; events: number }[];
}

/** The activities that sync envelopes: syncPass, and syncEnvelopes in runs recorded before it. */
const SYNC_ACTIVITIES = new Set(['syncEnvelopes', 'syncPass']);

/** A completed activity (its completion event) or local activity (its marker, since local-remint re-mints). */
function activityRun(
  e: HistoryEvent,
  activityOf: Map<string, string>,
): { activity: string; result: temporal.api.common.v1.IPayloads | null | undefined } | undefined {
  const completed = e.activityTaskCompletedEventAttributes;
  if (completed)
    return { activity: activityOf.get(String(completed.scheduledEventId)) ?? '?', result: completed.result };
  const local = localActivityOf(e);
  return local ? { activity: local.activityType ?? '?', result: local.result } : undefined;
}

/** Workflow task latencies, the token chain, and the event cost of each wake-up cycle, from one history. */
function analyse(events: HistoryEvent[]): Analysis {
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  const activityOf = new Map<string, string>();
  const wft: Analysis['wft'] = [];
  const mints: Analysis['mints'] = [];
  const wftTimeouts: Analysis['wftTimeouts'] = [];
  const timers: Analysis['timers'] = [];
  let firstIdleAt: number | undefined;
  let firstIdleIndex = events.length;
  let syncCompleted = false;
  for (const [i, e] of events.entries()) {
    if (e.activityTaskScheduledEventAttributes) {
      activityOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    }
    const done = e.workflowTaskCompletedEventAttributes;
    if (done) {
      const scheduled = byId.get(String(done.scheduledEventId));
      const started = byId.get(String(done.startedEventId));
      if (scheduled && started) {
        wft.push({
          scheduledAt: T(scheduled),
          total: T(e) - T(scheduled),
          toStart: T(started) - T(scheduled),
          // The run's first task goes to the task queue itself; later ones to the worker's sticky queue.
          first: wft.length === 0,
        });
      }
      if (syncCompleted && firstIdleAt === undefined) {
        firstIdleAt = T(e);
        firstIdleIndex = i + 1;
      }
    }
    const fired = e.timerFiredEventAttributes;
    const timerStarted = fired && byId.get(String(fired.startedEventId));
    if (timerStarted) {
      const dueAt = T(timerStarted) + tsToMs(timerStarted.timerStartedEventAttributes?.startToFireTimeout);
      timers.push({ dueAt, lateMs: T(e) - dueAt });
    }
    const timedOut = e.workflowTaskTimedOutEventAttributes;
    if (timedOut) {
      const type =
        timedOut.timeoutType === temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
          ? 'schedule-to-start (sticky)'
          : 'start-to-close';
      wftTimeouts.push({ at: T(e), type });
    }
    const ran = activityRun(e, activityOf);
    if (ran) {
      if (SYNC_ACTIVITIES.has(ran.activity)) syncCompleted = true;
      const result = payloadJson(ran.result) as { expiresAt?: string; token?: { expiresAt?: string } } | undefined;
      const expiresAt = Date.parse(result?.expiresAt ?? result?.token?.expiresAt ?? '');
      // A re-authorize (after needs_attention or a moved account) gets the worker's cached token back: not a mint.
      const isNewToken = !Number.isNaN(expiresAt) && expiresAt !== mints.at(-1)?.expiresAt;
      if ((ran.activity === 'authorize' || ran.activity === 'refreshToken') && isNewToken) {
        // Not the event's time: a local activity's marker says the workflow task's start plus the activity's run time,
        // up to seconds before the real request on a busy worker (sdk-core's local_activity_state_machine.rs).
        mints.push({ activity: ran.activity, requestedAt: expiresAt - TOKEN_LIFETIME_S * 1000, expiresAt });
      }
    }
  }
  const leads: number[] = [];
  let late = 0;
  for (let k = 1; k < mints.length; k++) {
    const lead = mints[k - 1]!.expiresAt - mints[k]!.requestedAt;
    leads.push(lead);
    if (lead <= 0) late += 1;
  }
  // Cycles after the first idle: each starts at a wake-up (timer fired or signal) and runs to the next one.
  const cycles: Analysis['cycles'] = [];
  let current: { activities: Set<string>; events: number } | undefined;
  const close = () => {
    if (!current) return;
    const { activities } = current;
    const kind = [...SYNC_ACTIVITIES].some((sync) => activities.has(sync))
      ? 'sync'
      : activities.has('refreshToken')
        ? 're-mint'
        : 'other';
    cycles.push({ kind, events: current.events });
  };
  for (const e of events.slice(firstIdleIndex)) {
    if (e.timerFiredEventAttributes || e.workflowExecutionSignaledEventAttributes) {
      close();
      current = { activities: new Set(), events: 0 };
    }
    if (!current) continue;
    current.events += 1;
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name ?? localActivityTypeOf(e);
    if (scheduled) current.activities.add(scheduled);
  }
  // The last cycle is complete only if it ended with a new timer (the workflow went back to sleep).
  if (current && events.at(-1)?.timerStartedEventAttributes) close();
  return {
    events: events.length,
    wft,
    wftTimeouts,
    mints,
    timers,
    leads,
    late,
    ...(firstIdleAt !== undefined ? { firstIdleAt } : {}),
    eventsAfterFirstIdle: events.length - firstIdleIndex,
    cycles,
  };
}

/**
 * Wake-ups per day of one connection under the idle loop of workflows/connection.ts: it wakes at
 * min(next sync, token expiry - 10 min); a sync re-mints first when the token expires within 10 min.
 */
function wakeUpsPerDay(
  lifetimeMs: number,
  intervalMs: number,
): { syncs: number; syncsWithRemint: number; remints: number } {
  const day = 86_400_000;
  let now = 0;
  let expiresAt = lifetimeMs; // minted when authorizing
  let nextSync = 0;
  let syncs = 0;
  let syncsWithRemint = 0;
  let remints = 0;
  while (now < 10 * day) {
    if (now >= nextSync) {
      if (expiresAt - now <= REMINT_BEFORE_EXPIRY_MS) {
        expiresAt = now + lifetimeMs; // re-minted inside the sync cycle
        syncsWithRemint += 1;
      }
      syncs += 1;
      nextSync = now + intervalMs;
    } else {
      expiresAt = now + lifetimeMs;
      remints += 1;
    }
    now = Math.max(now + 1, Math.min(nextSync, expiresAt - REMINT_BEFORE_EXPIRY_MS));
  }
  return { syncs: syncs / 10, syncsWithRemint: syncsWithRemint / 10, remints: remints / 10 };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-scale-'));
  const cleanups: (() => Promise<void>)[] = [];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = path.join(work, 'private.pem');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  try {
    // ---- DocuSign: one app, N users (one per customer), each with a small default account ----
    const emu = await startEmulator({
      envelopes: ENVELOPES_PER_ACCOUNT,
      // Every account lists the same generated envelopes (stored per connection all the same): 1,000 accounts of
      // 1,000 distinct envelopes took the emulator 8.8 GiB and more CPU than the worker.
      shareEnvelopeSets: true,
      tokenLifetimeSeconds: TOKEN_LIFETIME_S,
      rateLimit: { hourlyLimit: 1_000_000, burstLimit: 1_000_000 },
    });
    cleanups.push(() => emu.stop());
    emu.registerApp(INTEGRATION_KEY, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    for (let i = 0; i < N; i++) {
      emu.addUser({ userId: userIdOf(i) });
      emu.grantConsent(INTEGRATION_KEY, userIdOf(i));
    }

    // ---- Temporal and the worker process ----
    let devServer: DevServer | undefined;
    let stack: Stack | undefined;
    let address = process.env.TEMPORAL_ADDRESS;
    if (PRODUCTION_SERVER) {
      stack = await startProductionServer(work);
      const started = stack;
      cleanups.push(() => started.stop());
      address = stack.plan.address;
    } else if (!address) {
      devServer = await startDevServer({
        cliPath: ensureTemporalTools().cli,
        port: 0,
        ...(process.env.SCALE_SERVER_LOG ? { logFile: process.env.SCALE_SERVER_LOG, logLevel: 'warn' as const } : {}),
        ...(process.env.SCALE_SERVER_METRICS_PORT
          ? { metricsPort: Number(process.env.SCALE_SERVER_METRICS_PORT) }
          : {}),
      });
      const server = devServer;
      cleanups.push(() => server.stop());
      address = devServer.address;
    }
    // The production server's Postgres lies under this run's directory: its CPU is Temporal's.
    const temporalDir = stack ? work : undefined;
    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const bundlePath = path.join(work, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    const taskQueue = `bench-scale-${Date.now()}`;
    // WORKER_EXEC_ARGV: node flags NODE_OPTIONS refuses, e.g. `--cpu-prof --cpu-prof-dir=DIR` (written when it exits).
    const execArgv = process.env.WORKER_EXEC_ARGV?.split(' ').filter(Boolean) ?? [];
    const worker = spawn(process.execPath, [...execArgv, '--import', 'tsx', path.join(PROJECT, 'worker', 'main.ts')], {
      cwd: PROJECT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        EVIDENCE_STORE: POSTGRES_STORE ?? path.join(work, 'evidence'),
        SYNC_CONCURRENCY: String(SYNC_CONCURRENCY),
        DOCUSIGN_KEYS_DIR: work,
        DOCUSIGN_ALLOWED_HOSTS: emu.host,
        WORKFLOW_BUNDLE_PATH: bundlePath,
        LOG_LEVEL: 'warn',
        // The worker's own defaults unless the bench run sets them. MALLOC_ARENA_MAX: glibc's malloc arenas (default 8
        // per core). WORKER_NODE_OPTIONS, e.g. --max-old-space-size=N: the heap limit of the worker's isolates.
        ...Object.fromEntries(
          Object.entries({
            WORKFLOW_CACHE_SIZE: process.env.WORKFLOW_CACHE_SIZE,
            WORKFLOW_STACK_TRACES: process.env.WORKFLOW_STACK_TRACES,
            STICKY_QUEUE_TIMEOUT_MS: process.env.STICKY_QUEUE_TIMEOUT_MS,
            METRICS_PORT: process.env.METRICS_PORT,
            MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX,
            NODE_OPTIONS: process.env.WORKER_NODE_OPTIONS,
          }).filter(([, value]) => value),
        ),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The last words are kept for the error if it dies; SCALE_WORKER_LOG keeps all of it (e.g. with --trace-gc).
    const workerLog: string[] = [];
    const logFile = process.env.SCALE_WORKER_LOG ? createWriteStream(process.env.SCALE_WORKER_LOG) : undefined;
    for (const stream of [worker.stdout, worker.stderr]) {
      stream.on('data', (c: Buffer) => {
        logFile?.write(c);
        workerLog.push(c.toString());
        if (workerLog.length > 50) workerLog.shift();
      });
    }
    cleanups.push(async () => {
      if (worker.exitCode !== null) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      const timer = setTimeout(() => worker.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    });
    const pid = worker.pid!;
    for (let polled = false; !polled;) {
      if (worker.exitCode !== null) throw new Error(`worker exited: ${workerLog.join('')}`);
      const res = await client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
      });
      polled = res.pollers.some((p) => p.identity === `${pid}@${hostname()}`);
      if (!polled) await sleep(200);
    }
    const rssIdle = memoryOf(pid);
    const rssSamples: { t: number; rss: number }[] = [];

    // ---- the run ----
    const t0 = Date.now();
    const cpuAtStart = cpuSeconds(pid, temporalDir);
    const deadline = t0 + MINUTES * 60_000;
    const sampler = setInterval(() => {
      if (worker.exitCode === null) rssSamples.push({ t: Date.now() - t0, rss: memoryOf(pid).rss });
    }, 5000);
    /** A worker that died mid-run ends the bench with its last words, not with an unreadable /proc entry. */
    const assertWorkerAlive = () => {
      if (worker.exitCode !== null || worker.signalCode !== null) {
        throw new Error(`worker exited (${worker.exitCode ?? worker.signalCode}): ${workerLog.slice(-5).join('')}`);
      }
    };
    cleanups.push(async () => clearInterval(sampler));
    const ids = Array.from({ length: N }, (_, i) => i);
    const spacingMs = (CONSENT_SPREAD_S * 1000) / N;
    const handles: WorkflowHandle[] = await mapLimit(ids, CONCURRENCY, async (i) => {
      await sleep(t0 + i * spacingMs - Date.now());
      const config: ConnectionConfig = {
        connectionId: connectionIdOf(i),
        environment: 'demo',
        integrationKey: INTEGRATION_KEY,
        userId: userIdOf(i),
        privateKeyRef: `file:${keyPath}`,
        oauthBaseUrl: emu.url,
      };
      return client.workflow.signalWithStart(WORKFLOW_TYPE, {
        taskQueue,
        workflowId: workflowIdOf(config.connectionId),
        args: [config],
        typedSearchAttributes: startAttributesOf(config),
        signal: consentGrantedSignal,
      });
    });
    const startedMs = Date.now() - t0;
    console.log(`${N} connections started in ${round(startedMs / 1000)} s`);

    const idleCount = async () =>
      (
        await client.workflow.count(
          `TaskQueue = '${taskQueue}' AND ${searchAttributes.phase.name} = 'idle' AND ExecutionStatus = 'Running'`,
        )
      ).count;
    let rampMs = NaN;
    let cpuInRamp: CpuSeconds | undefined;
    let workerThreadsAtRamp: Record<string, number> | undefined;
    for (;;) {
      assertWorkerAlive();
      const idle = await idleCount();
      if (idle >= N) {
        rampMs = Date.now() - t0;
        cpuInRamp = cpuAdd(cpuSeconds(pid, temporalDir), cpuAtStart, -1);
        workerThreadsAtRamp = workerThreadsCpu(pid);
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(2000);
    }
    console.log(`all ${N} idle after ${round(rampMs / 1000)} s (first sync done); RSS ${memoryOf(pid).rss} MiB`);
    const rssAfterRamp = memoryOf(pid);

    // Mid-run: one syncNow to every connection (a sync cycle; the real interval is >= 15 min).
    const syncNowAt = Math.max(rampMs + 20_000, 210_000);
    if (SYNC_SPREAD_S >= 0 && t0 + syncNowAt < deadline - 60_000) {
      await sleep(t0 + syncNowAt - Date.now());
      // Spread over 60 s by default: ~17 syncs/s for 1000 connections, 60 times what hourly schedules produce.
      const spacing = (SYNC_SPREAD_S * 1000) / N;
      await mapLimit(
        handles.map((h, i) => ({ h, at: Date.now() + i * spacing })),
        CONCURRENCY,
        async ({ h, at }) => {
          await sleep(at - Date.now());
          await h.signal(syncNowSignal);
        },
      );
      console.log(`syncNow sent to all at ${round((Date.now() - t0) / 1000)} s`);
    }
    while (!UNTIL_IDLE && deadline - Date.now() > 1000) {
      await sleep(Math.min(30_000, deadline - Date.now()));
      assertWorkerAlive();
      console.log(
        `t=${round((Date.now() - t0) / 1000)} s  RSS ${memoryOf(pid).rss} MiB  tokens ${emu.stats.tokensIssued.length}`,
      );
    }
    clearInterval(sampler);
    const endMs = Date.now() - t0;
    const storeAlone = POSTGRES_STORE
      ? await writeStoreAlone(POSTGRES_STORE, N, () => cpuSeconds(pid, temporalDir))
      : undefined;
    const rssEnd = memoryOf(pid);
    const tokensIssued = emu.stats.tokensIssued.length;
    // Workflows keep minting while the histories are read; only mints completed by now match this count.
    const tokensCountedAt = Date.now();

    // ---- analysis ----
    const observedAt = Date.now();
    const analyses = await mapLimit(handles, 20, async (h) => analyse((await h.fetchHistory()).events ?? []));
    const wft = analyses.flatMap((a) => a.wft);
    const timeouts = analyses.flatMap((a) => a.wftTimeouts);
    const timeoutSummary = Object.entries(
      timeouts.reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.type]: (acc[t.type] ?? 0) + 1 }), {}),
    )
      .map(([type, n]) => `${n} ${type}`)
      .join(', ');
    const timers = analyses.flatMap((a) => a.timers);
    /**
     * Workflow-task latency per slice of the run, by the time each task was scheduled; and the timers due in the slice
     * (the work it had to do: a slice with no tasks and no timers due was idle, not stalled) and how late they fired.
     */
    const latencyBy = (sliceMs: number, untilMs: number) =>
      Array.from({ length: Math.ceil(untilMs / sliceMs) }, (_, k) => {
        const due = timers.filter((t) => Math.floor((t.dueAt - t0) / sliceMs) === k);
        const inSlice = wft.filter((w) => Math.floor((w.scheduledAt - t0) / sliceMs) === k);
        const totals = inSlice.map((w) => w.total);
        return {
          fromSecond: (k * sliceMs) / 1000,
          workflowTasks: inSlice.length,
          p50: percentile(totals, 50),
          p99: percentile(totals, 99),
          scheduleToStartP99: percentile(
            inSlice.map((w) => w.toStart),
            99,
          ),
          timeouts: timeouts.filter((t) => Math.floor((t.at - t0) / sliceMs) === k).length,
          timersDue: due.length,
          timerLateMax: maxOf(due.map((t) => t.lateMs)),
        };
      });
    const byMinute = latencyBy(60_000, endMs).map(({ fromSecond, ...b }) => ({ minute: fromSecond / 60, ...b }));
    // The ramp in 10-second slices: where within a minute the queue builds up.
    const rampBy10s = Number.isFinite(rampMs) ? latencyBy(10_000, rampMs) : [];
    const steady = wft.filter((w) => w.scheduledAt - t0 > rampMs);
    const leads = analyses.flatMap((a) => a.leads);
    const remints = analyses.reduce((s, a) => s + a.mints.filter((m) => m.activity === 'refreshToken').length, 0);
    const historyMints = analyses.reduce(
      (s, a) => s + a.mints.filter((m) => m.requestedAt <= tokensCountedAt).length,
      0,
    );
    const late = analyses.reduce((s, a) => s + a.late, 0);
    const withRemint = analyses.filter((a) => a.mints.some((m) => m.activity === 'refreshToken')).length;
    const observedPerDay = analyses
      .filter((a) => a.firstIdleAt !== undefined && observedAt - a.firstIdleAt > 60_000)
      .map((a) => (a.eventsAfterFirstIdle / (observedAt - a.firstIdleAt!)) * 86_400_000);
    const cycles = analyses.flatMap((a) => a.cycles);
    const perCycle = (kind: string) => mean(cycles.filter((c) => c.kind === kind).map((c) => c.events));
    const eRemint = perCycle('re-mint');
    const eSync = perCycle('sync');
    const model = (lifetimeMs: number, intervalMs: number) => {
      const w = wakeUpsPerDay(lifetimeMs, intervalMs);
      // A sync that re-mints first has one more activity and workflow task: 6 events (3 + 3) on top of eSync.
      const events = w.syncs * eSync + w.syncsWithRemint * 6 + w.remints * eRemint;
      return { ...w, events: Math.round(events), daysPerContinueAsNew: round(MAX_HISTORY_EVENTS / events, 2) };
    };
    const benchDay = model(TOKEN_LIFETIME_S * 1000, DEFAULT_SYNC_INTERVAL_MINUTES * 60_000);
    const prodDay = model(3_600_000, DEFAULT_SYNC_INTERVAL_MINUTES * 60_000);

    const ms = (x: number) => `${Math.round(x)} ms`;
    console.log('');
    // Computed once: the printed table and the JSON show the same figures.
    const totals = wft.map((w) => w.total);
    const steadyTotals = steady.map((w) => w.total);
    const toStarts = wft.map((w) => w.toStart);
    const firstToStarts = wft.filter((w) => w.first).map((w) => w.toStart);
    const latency = {
      p50: percentile(totals, 50),
      p99: percentile(totals, 99),
      max: maxOf(totals),
      afterRamp: { count: steady.length, p50: percentile(steadyTotals, 50), p99: percentile(steadyTotals, 99) },
      scheduleToStart: { p50: percentile(toStarts, 50), p99: percentile(toStarts, 99) },
      firstTaskScheduleToStart: {
        p50: percentile(firstToStarts, 50),
        p99: percentile(firstToStarts, 99),
        max: maxOf(firstToStarts),
      },
      laterTasksScheduleToStartP99: percentile(
        wft.filter((w) => !w.first).map((w) => w.toStart),
        99,
      ),
    };
    const leadMinutes = { min: round(minOf(leads) / 60_000, 2), p50: round(percentile(leads, 50) / 60_000, 2) };
    const eventCounts = analyses.map((a) => a.events);
    const eventsAtEnd = { mean: round(mean(eventCounts)), max: maxOf(eventCounts) };
    const observedPerDayMean = Math.round(mean(observedPerDay));
    const host = machine();

    printTable(
      ['measure', 'value'],
      [
        ['machine', `${host.cpus} cores, ${host.cpuModel}, ${host.memoryGiB} GiB, node ${process.version}`],
        ['connections (workflows) on one worker process', String(N)],
        [
          'run',
          `${round(endMs / 60_000, 1)} min; token lifetime ${TOKEN_LIFETIME_S} s (re-mint every ${round((TOKEN_LIFETIME_S * 1000 - REMINT_BEFORE_EXPIRY_MS) / 60_000, 1)} min)`,
        ],
        ['ramp: all connected and first sync done', `${round(rampMs / 1000)} s`],
        ...(storeAlone
          ? [
              [
                `the store alone: the same ${storeAlone.envelopes} records, ${SYNC_CONCURRENCY} writers`,
                `${round(storeAlone.ms / 1000)} s; ramp ÷ store alone = ${round(rampMs / storeAlone.ms, 2)} (goal ≤ 1.25)`,
              ],
            ]
          : []),
        ['CPU in the ramp: worker / bench + emulator / Temporal / Postgres', cpuText(cpuInRamp)],
        ...(storeAlone ? [['CPU of the store alone: same processes', cpuText(storeAlone.cpuSeconds)]] : []),
        [
          "worker CPU by thread since it started, at the ramp's end",
          Object.entries(workerThreadsAtRamp ?? {})
            .slice(0, 6)
            .map(([name, seconds]) => `${name} ${seconds} s`)
            .join(', '),
        ],
        [
          'worker RSS: idle before / after ramp / end / peak',
          `${rssIdle.rss} / ${rssAfterRamp.rss} / ${rssEnd.rss} / ${rssEnd.peak} MiB`,
        ],
        [
          'workflow tasks (all): count, p50, p99, max',
          `${wft.length}, ${ms(latency.p50)}, ${ms(latency.p99)}, ${ms(latency.max)}`,
        ],
        ['workflow tasks after the ramp: p50, p99', `${ms(latency.afterRamp.p50)}, ${ms(latency.afterRamp.p99)}`],
        [
          '  of which schedule-to-start p50 / p99 (all)',
          `${ms(latency.scheduleToStart.p50)} / ${ms(latency.scheduleToStart.p99)}`,
        ],
        [
          '  first task of a run (the task queue) p50 / p99 / max; later tasks (sticky queue) p99',
          `${ms(latency.firstTaskScheduleToStart.p50)} / ${ms(latency.firstTaskScheduleToStart.p99)} / ${ms(latency.firstTaskScheduleToStart.max)}; ${ms(latency.laterTasksScheduleToStartP99)}`,
        ],
        ['workflow task timeouts', timeoutSummary || '0'],
        ['re-mints (refreshToken) / connections that re-minted', `${remints} / ${withRemint}`],
        ['re-mint lead before old expiry: min / p50', `${leadMinutes.min} / ${leadMinutes.p50} min`],
        ['late re-mints (goal 0)', String(late)],
        ['tokens minted outside the workflow schedule (401 / stale cache)', String(tokensIssued - historyMints)],
        ['history events per connection at the end: mean / max', `${eventsAtEnd.mean} / ${eventsAtEnd.max}`],
        ['events per re-mint cycle / per sync cycle (measured)', `${round(eRemint)} / ${round(eSync)}`],
        [
          'events/day observed after the first sync, extrapolated (incl. the forced syncNow)',
          String(observedPerDayMean),
        ],
        [
          'events/day modelled, bench settings (900 s tokens, 60-min syncs)',
          `${benchDay.events} (${benchDay.remints} re-mints + ${benchDay.syncs} syncs, ${benchDay.syncsWithRemint} re-minting first); continue-as-new every ${benchDay.daysPerContinueAsNew} d`,
        ],
        [
          'events/day modelled, production (3600 s tokens, 60-min syncs)',
          `${prodDay.events} (${prodDay.remints} re-mints + ${prodDay.syncs} syncs, ${prodDay.syncsWithRemint} re-minting first); continue-as-new every ${prodDay.daysPerContinueAsNew} d`,
        ],
      ],
    );

    console.log('');
    console.log(
      `workflow task latency by minute of the run (ramp ends ${round(rampMs / 1000)} s; ${SYNC_SPREAD_S < 0 ? 'no syncNow' : `syncNow from ${round(syncNowAt / 1000)} s over ${SYNC_SPREAD_S} s`}):`,
    );
    printTable(
      [
        'minute',
        'workflow tasks',
        'p50',
        'p99',
        'schedule-to-start p99',
        'timeouts',
        'timers due',
        'fired late by, max',
      ],
      byMinute.map((b) => [
        String(b.minute),
        String(b.workflowTasks),
        ms(b.p50),
        ms(b.p99),
        ms(b.scheduleToStartP99),
        String(b.timeouts),
        String(b.timersDue),
        b.timersDue ? ms(b.timerLateMax) : '–',
      ]),
    );

    const result = {
      benchmark: 'scale',
      measuredAt: new Date().toISOString(),
      machine: host,
      temporal: stack
        ? 'production server (npm run stack: temporal-server on its own Postgres)'
        : devServer
          ? 'dev server (started by the bench, in-memory SQLite)'
          : `TEMPORAL_ADDRESS ${address}`,
      worker: `one process: node --import tsx worker/main.ts (prebuilt bundle), ${POSTGRES_STORE ? 'Postgres' : 'directory'} store`,
      envelopesPerAccount: ENVELOPES_PER_ACCOUNT,
      consentSpreadSeconds: CONSENT_SPREAD_S,
      syncConcurrency: SYNC_CONCURRENCY,
      ...(storeAlone
        ? {
            storeAlone: {
              ...storeAlone,
              writers: SYNC_CONCURRENCY,
              rampOverStoreAlone: round(rampMs / storeAlone.ms, 2),
            },
          }
        : {}),
      emulator: 'in the bench process',
      connections: N,
      workflowCacheSize: process.env.WORKFLOW_CACHE_SIZE
        ? Number(process.env.WORKFLOW_CACHE_SIZE)
        : "the SDK's default",
      workflowStackTraces: workerEnvSchema.shape.WORKFLOW_STACK_TRACES.parse(process.env.WORKFLOW_STACK_TRACES),
      workerNodeOptions: process.env.WORKER_NODE_OPTIONS,
      mallocArenaMax: process.env.MALLOC_ARENA_MAX,
      runMinutes: round(endMs / 60_000, 2),
      tokenLifetimeSeconds: TOKEN_LIFETIME_S,
      syncNowAtSeconds: SYNC_SPREAD_S < 0 ? null : round(syncNowAt / 1000),
      syncNowSpreadSeconds: SYNC_SPREAD_S,
      rampSeconds: round(rampMs / 1000),
      cpuSecondsInRamp: cpuInRamp,
      workerCpuSecondsByThreadAtRamp: workerThreadsAtRamp,
      rssMiB: {
        idleBefore: rssIdle.rss,
        afterRamp: rssAfterRamp.rss,
        end: rssEnd.rss,
        peak: rssEnd.peak,
        samples: rssSamples.filter((_, i) => i % 6 === 0),
      },
      workflowTaskLatencyMs: {
        source: 'history timestamps, WorkflowTaskScheduled → WorkflowTaskCompleted',
        count: wft.length,
        ...latency,
        timeouts: timeoutSummary || '0',
        byMinute,
        rampBy10s,
      },
      remints: {
        count: remints,
        connectionsThatReminted: withRemint,
        leadMinutes,
        late,
        goalLate: 0,
        tokensIssued,
        mintsInHistories: historyMints,
        mintsOutsideSchedule: tokensIssued - historyMints,
      },
      historyEvents: {
        perConnectionAtEnd: eventsAtEnd,
        perRemintCycle: round(eRemint, 2),
        perSyncCycle: round(eSync, 2),
        observedPerDayBenchSettings: observedPerDayMean,
        modelledPerDay: { benchSettings: benchDay, production: prodDay },
        continueAsNewAt: MAX_HISTORY_EVENTS,
      },
    };
    const dir = path.join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, OUT), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote bench/results/${OUT}`);
    if (workerLog.length)
      console.log(`worker output (${workerLog.length} chunks), last: ${workerLog.at(-1)?.slice(0, 300)}`);

    if (!devServer && !stack)
      await mapLimit(handles, CONCURRENCY, (h) => h.terminate('benchmark done').catch(() => undefined));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The store alone: every record the run stored, written again under new connection IDs, page by page (100), with
 * SYNC_CONCURRENCY connections at a time, as the worker's bulk queue runs them; nothing else runs by then. Records are
 * read STORE_ALONE_BATCH connections at a time (a million parsed records would not fit the heap) and only the writes
 * are timed; each batch ends with fewer writers busy for its last round, which makes the store alone a few per cent
 * slower than one unbroken pass.
 */
async function writeStoreAlone(
  url: string,
  n: number,
  cpuNow: () => CpuSeconds,
): Promise<{ envelopes: number; ms: number; cpuSeconds: CpuSeconds }> {
  const store = new PostgresStore(url, { maxConnections: SYNC_CONCURRENCY + 2 });
  try {
    let envelopes = 0;
    let ms = 0;
    let cpu = NO_CPU;
    for (let first = 0; first < n; first += STORE_ALONE_BATCH) {
      const pages: { connectionId: string; records: EnvelopeRecord[] }[][] = [];
      for (let i = first; i < Math.min(n, first + STORE_ALONE_BATCH); i++) {
        const connectionId = `${connectionIdOf(i)}-alone`;
        const records: EnvelopeRecord[] = [];
        for await (const r of store.list(connectionIdOf(i))) records.push({ ...r, connectionId });
        const mine = [];
        for (let k = 0; k < records.length; k += 100) mine.push({ connectionId, records: records.slice(k, k + 100) });
        pages.push(mine);
        envelopes += records.length;
      }
      const t0 = performance.now();
      const cpuBefore = cpuNow();
      await mapLimit(pages, SYNC_CONCURRENCY, async (mine) => {
        for (const page of mine) await store.writePage(page.connectionId, page.records);
      });
      ms += performance.now() - t0;
      cpu = cpuAdd(cpu, cpuAdd(cpuNow(), cpuBefore, -1));
    }
    return { envelopes, ms: Math.round(ms), cpuSeconds: cpu };
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench/scale: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
