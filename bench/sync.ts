/**
 * Sync benchmark: an initial sync of 5,000 envelopes (page size 100, include=recipients) through the real worker,
 * its real activities and a directory evidence store, against the DocuSign emulator running in its own process (as
 * DocuSign would be: its CPU is not the connector's).
 *
 *   (a) REST calls per 1,000 envelopes stored (goal <= 11), beside the naive figure: one list call per page plus one
 *       GET per envelope.
 *   (b) end-to-end envelopes/s divided by a bare page-fetch loop (fetch + JSON.parse, nothing stored) over the same
 *       emulator and the same pages (goal >= 0.8). Runs alternate; the medians are compared. Two loops in between
 *       show where the time goes: the connector's DocuSignClient alone (got + zod), then with the directory store
 *       (no Temporal). A disk probe gives this disk's rate of small files written + fsynced + renamed.
 *
 *   npx tsx bench/sync.ts            (TEMPORAL_ADDRESS=host:port to use a running server; BENCH_SERVER=production
 *                                    starts the production server for the run, `npm run stack`'s Temporal on its own
 *                                    Postgres, after `npm run tools -- --server`; else a dev server starts)
 *   BENCH_ENVELOPES=5000 BENCH_RUNS=3
 *   EVIDENCE_STORE=postgres://…      the Postgres store instead of a fresh directory (worker and store loop)
 *   BENCH_LATENCIES_MS=10,50,200     (b) again with the emulator answering each call after this delay: the loopback
 *                                    emulator serves a page in ~2 ms, DocuSign does not; the sweep shows from which
 *                                    page latency the store's fixed cost per page stops mattering
 *
 * Prints a table and writes bench/results/sync.json (sync-postgres.json for Postgres; -production before .json on the
 * production server).
 *
 * BENCH_QUOTA=1 (issue 15, goal 5) runs one initial sync instead, against DocuSign's default limits (3,000 calls an
 * hour, 500 per 30 s) with every call answered after BENCH_QUOTA_LATENCY_MS (default 300): the calls refused for a
 * limit (goal 0) and the sync's time against the fastest those limits and that latency allow. BENCH_ENVELOPES=100000
 * for the issue's figure. Then the same pages fetched bare, for what a call really takes here. Writes sync-quota.json.
 * BENCH_QUOTA_SCALE=k (a divisor of 30) scales time in the emulator: its hour lasts 3600/k s, its burst window 30/k s,
 * and a call 300/k ms, so a backfill the hourly budget binds (over 2,700 calls: BENCH_ENVELOPES=350000) runs in
 * minutes. The bound is then the limits' own schedule: calls one after another, none while the window's usable budget
 * is spent, the next at its reset. Writes sync-quota-scaled.json.
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { DocuSignClient } from '../activities/docusign';
import { trustPolicyOf } from '../activities/trust';
import { createEvidenceStore, isPostgresSpec } from '../activities/store';
import { DEFAULT_SYNC_OPTIONS } from '../activities/sync';
import { readCompose } from '../scripts/compose';
import { locateServerTools } from '../scripts/server-tools';
import { freePorts, planStack, stackSecrets, startStack, type Stack } from '../scripts/stack';
import { ensureTemporalTools } from '../scripts/tools';
import { loadWorkerConfig } from '../worker/config';
import { startDevServer, type DevServer } from '../worker/dev-server';
import { createLogger } from '../worker/logger';
import { createConnectorWorker } from '../worker/worker';
import type { ConnectionConfig } from '../workflows/config';
import {
  consentGrantedSignal,
  statusQuery,
  WORKFLOW_TYPE,
  workflowIdOf,
  type ConnectionStatus,
} from '../workflows/messages';

const ENVELOPES = Number(process.env.BENCH_ENVELOPES ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGE_SIZE = DEFAULT_SYNC_OPTIONS.pageSize;
const WINDOW_MS = DEFAULT_SYNC_OPTIONS.backfillWindowDays * 86_400_000;
const GOAL_CALLS_PER_1000 = 11;
/** The emulator's names of the calls a sync makes (its stats count every endpoint). */
const SYNC_ENDPOINTS = new Set(['POST /oauth/token', 'GET /oauth/userinfo', 'GET envelopes']);
/** The sync's own calls among the emulator's counts (the first snapshot runs beside the first sync). */
const syncCallsOf = (calls: Record<string, number>) =>
  Object.fromEntries(Object.entries(calls).filter(([k]) => SYNC_ENDPOINTS.has(k)));
const GOAL_RATIO = 0.8;
const LATENCIES_MS = (process.env.BENCH_LATENCIES_MS ?? '10,50,200')
  .split(',')
  .filter((v) => v.trim() !== '')
  .map(Number);
const QUOTA = process.env.BENCH_QUOTA === '1';
export const PRODUCTION_SERVER = process.env.BENCH_SERVER === 'production';
/** Results on the production server go to their own files. */
export const SERVER_SUFFIX = PRODUCTION_SERVER ? '-production' : '';
const QUOTA_SCALE = Number(process.env.BENCH_QUOTA_SCALE ?? 1);
if (!Number.isInteger(30 / QUOTA_SCALE)) throw new Error('BENCH_QUOTA_SCALE must divide 30 (whole-second windows)');
const QUOTA_LATENCY_MS = Number(process.env.BENCH_QUOTA_LATENCY_MS ?? 300) / QUOTA_SCALE;
/** DocuSign's default API limits (docusign-api.md §7) and the reserve the connector keeps by default. */
const DEFAULT_LIMITS = { hourly: 3000, burst: 500, burstWindowMs: 30_000, reservePercent: 10 };
/** The emulator's windows, scaled. */
const QUOTA_WINDOWS = { hourMs: 3_600_000 / QUOTA_SCALE, burstMs: DEFAULT_LIMITS.burstWindowMs / QUOTA_SCALE };
export const POSTGRES_STORE =
  process.env.EVIDENCE_STORE && isPostgresSpec(process.env.EVIDENCE_STORE) ? process.env.EVIDENCE_STORE : undefined;

const INTEGRATION_KEY = '00000000-0000-4000-8000-0000000be001';
const USER_ID = '00000000-0000-4000-8000-0000000be002';
const PROJECT = path.resolve(__dirname, '..');

interface EmulatorStats {
  calls: Record<string, number>;
  pagesServed: number;
}

/** The emulator as a child process (emulator/main.ts), driven over its /__admin API. */
async function startEmulatorProcess(publicKeyPath: string) {
  const child = spawn(
    process.execPath,
    [
      // 350,000 envelopes (BENCH_QUOTA_SCALE) take 3.2 GB of heap: more than Node's default limit leaves room for.
      '--max-old-space-size=8192',
      '--import',
      'tsx',
      path.join(PROJECT, 'emulator', 'main.ts'),
      '--port',
      '0',
      '--envelopes',
      String(ENVELOPES),
      '--hourly-limit',
      String(QUOTA ? DEFAULT_LIMITS.hourly : 1_000_000),
      '--burst-limit',
      String(QUOTA ? DEFAULT_LIMITS.burst : 1_000_000),
      '--user-id',
      USER_ID,
      '--integration-key',
      INTEGRATION_KEY,
      '--public-key',
      publicKeyPath,
      '--consent',
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
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const sum = (o: Record<string, number>) => Object.values(o).reduce((s, x) => s + x, 0);
const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries<number>(
    Object.keys(a)
      .map((k): [string, number] => [k, (a[k] ?? 0) - (b[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-sync-'));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = path.join(work, 'private.pem');
  const publicKeyPath = path.join(work, 'public.pem');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));

  Runtime.install({ logger: new DefaultLogger('WARN') });
  let devServer: DevServer | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const emu = await startEmulatorProcess(publicKeyPath);
    cleanups.push(emu.stop);
    let address = process.env.TEMPORAL_ADDRESS;
    if (PRODUCTION_SERVER) {
      const stack = await startProductionServer(work);
      cleanups.push(() => stack.stop());
      address = stack.plan.address;
    } else if (!address) {
      devServer = await startDevServer({ cliPath: ensureTemporalTools().cli, port: 0 });
      const server = devServer;
      cleanups.push(() => server.stop());
      address = devServer.address;
    }
    const connection = await NativeConnection.connect({ address });
    const client = new Client({ connection: await Connection.connect({ address }) });
    const taskQueue = `bench-sync-${randomUUID()}`;
    const storeDir = path.join(work, 'evidence');
    const connector = await createConnectorWorker({
      config: loadWorkerConfig({
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        EVIDENCE_STORE: POSTGRES_STORE ?? storeDir,
        DOCUSIGN_KEYS_DIR: work,
        DOCUSIGN_ALLOWED_HOSTS: emu.host,
      }),
      connection,
      logger: createLogger({ level: 'warn' }),
      workflowCode: {
        workflowBundle: await bundleWorkflowCode({
          workflowsPath: require.resolve('../workflows'),
          logger: new DefaultLogger('WARN'),
        }),
      },
    });
    const running = connector.worker.run();
    cleanups.push(async () => {
      connector.worker.shutdown();
      await running;
      await connector.close();
      await connection.close();
    });

    const info = await emu.admin<{
      users: { accounts: { accountId: string; baseUri: string; isDefault: boolean }[] }[];
    }>('info');
    const account = info.users[0]!.accounts.find((a) => a.isDefault)!;
    const statuses = await emu.admin<Record<string, number>>(`envelopes/status-counts?accountId=${account.accountId}`);
    const truth = sum(statuses) - (statuses.created ?? 0);
    // The data spans 400 days: back-fill from 401 days ago so every envelope is in the initial sync.
    const backfillFrom = new Date(Date.now() - 401 * 86_400_000).toISOString();

    // ---- loops over the same windows, query and pages as the sync, without Temporal ----
    const token = await mintToken(emu.url, emu.host, privateKey);
    const restBase = `${account.baseUri}/restapi`;
    /** Walks every page of the back-fill the way activities/sync.ts does; `fetchPage` returns the page. */
    const pageLoop = async (
      fetchPage: (url: string) => Promise<{ envelopes: number; nextUri?: string | null }>,
    ): Promise<{ ms: number; pages: number; envelopes: number }> => {
      const toDate = Date.now();
      let pages = 0;
      let envelopes = 0;
      const t0 = performance.now();
      for (let start = Date.parse(backfillFrom); start < toDate; start += WINDOW_MS) {
        const end = Math.min(start + WINDOW_MS, toDate);
        const query = new URLSearchParams({
          from_date: new Date(start).toISOString(),
          to_date: new Date(end).toISOString(),
          status: 'any',
          from_to_status: 'changed',
          order_by: 'status_changed',
          order: 'asc',
          include: 'recipients',
          count: String(PAGE_SIZE),
          start_position: '0',
        });
        let url: string | undefined = `${restBase}/v2.1/accounts/${account.accountId}/envelopes?${query.toString()}`;
        while (url) {
          const page = await fetchPage(url);
          pages += 1;
          envelopes += page.envelopes;
          url = page.nextUri ? `${restBase}/v2.1${page.nextUri}` : undefined;
        }
      }
      return { ms: performance.now() - t0, pages, envelopes };
    };
    /** (b)'s baseline: fetch + JSON.parse, nothing else. */
    const bareLoop = () =>
      pageLoop(async (url) => {
        const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
        const page = JSON.parse(await res.text()) as { envelopes?: unknown[]; nextUri?: string };
        if (res.status !== 200) throw new Error(`bare loop: HTTP ${res.status}`);
        return { envelopes: page.envelopes?.length ?? 0, nextUri: page.nextUri };
      });
    // Where the time goes: the connector's DocuSign client (got + zod), then that plus the evidence store.
    const docusign = new DocuSignClient({ timeoutMs: 30_000, trust: trustPolicyOf({ allowedHosts: [emu.host] }) });
    const clientLoop = () =>
      pageLoop(async (url) => {
        const { page } = await docusign.listEnvelopes(url, token);
        return { envelopes: page.envelopes?.length ?? 0, nextUri: page.nextUri };
      });
    const store = createEvidenceStore(POSTGRES_STORE ?? path.join(work, 'evidence-direct'));
    await store.init();
    cleanups.push(() => store.close());
    // Connection IDs unique per bench run: a reused Postgres database must not make the writes re-deliveries.
    const runId = randomUUID().slice(0, 8);
    const storeLoop = (run: number) =>
      pageLoop(async (url) => {
        const { page } = await docusign.listEnvelopes(url, token);
        const syncedAt = new Date().toISOString();
        const envelopes = page.envelopes ?? [];
        await store.writePage(
          `direct-${runId}-${run}`,
          envelopes.map((e) => ({
            connectionId: `direct-${runId}-${run}`,
            envelopeId: e.envelopeId,
            status: e.status,
            statusChangedDateTime: e.statusChangedDateTime,
            syncedAt,
            envelope: e,
          })),
        );
        return { envelopes: envelopes.length, nextUri: page.nextUri };
      });

    // ---- the real thing: a connection workflow's initial sync ----
    const e2e = async (run: number) => {
      const connectionId = `bench-sync-${runId}-${run}`;
      const config: ConnectionConfig = {
        connectionId,
        environment: 'demo',
        integrationKey: INTEGRATION_KEY,
        userId: USER_ID,
        privateKeyRef: `file:${keyPath}`,
        oauthBaseUrl: emu.url,
        backfillFrom,
      };
      const before = await emu.stats();
      const t0 = performance.now();
      const handle = await client.workflow.start(WORKFLOW_TYPE, {
        taskQueue,
        workflowId: workflowIdOf(connectionId),
        args: [config],
      });
      await handle.signal(consentGrantedSignal);
      let status: ConnectionStatus;
      for (;;) {
        status = await handle.query(statusQuery);
        if (status.phase === 'idle' && status.totals.syncs === 1) break;
        if (status.phase === 'needs_attention') throw new Error(`sync failed: ${JSON.stringify(status.lastError)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const wallMs = performance.now() - t0;
      const after = await emu.stats();
      await handle.terminate('benchmark done');
      const syncMs = Date.parse(status.lastSync!.finishedAt!) - Date.parse(status.lastSync!.startedAt);
      return {
        startedAt: Date.parse(status.lastSync!.startedAt),
        envelopes: status.totals.envelopes,
        pages: status.lastSync?.pages ?? 0,
        syncMs,
        wallMs,
        calls: diff(after.calls, before.calls),
        pagesServed: after.pagesServed - before.pagesServed,
      };
    };

    if (QUOTA) {
      await quotaRun(emu, () => e2e(1), bareLoop, truth);
      return;
    }

    // The disk under the store: small files written the way the directory store writes a latest record (temp file,
    // fsync, rename), 16 at a time, plus the directory fsync it does once per page.
    const diskProbe = async (files: number): Promise<number> => {
      const dir = path.join(work, 'disk-probe');
      mkdirSync(dir, { recursive: true });
      const body = JSON.stringify({ probe: 'x'.repeat(1500) });
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < files) {
            const i = next++;
            const temp = path.join(dir, `.${i}.tmp`);
            const handle = await open(temp, 'wx');
            await handle.writeFile(body);
            await handle.sync();
            await handle.close();
            await rename(temp, path.join(dir, `${i}.json`));
          }
        }),
      );
      const dirHandle = await open(dir, 'r');
      await dirHandle.sync();
      await dirHandle.close();
      return (files / (performance.now() - t0)) * 1000;
    };
    const fsyncedFilesPerSecond = await diskProbe(1000);

    await bareLoop(); // warm-up: the emulator serialises each envelope once, then serves cached bytes
    type Loop = Awaited<ReturnType<typeof bareLoop>>;
    const bare: Loop[] = [];
    const viaClient: Loop[] = [];
    const viaStore: Loop[] = [];
    const full: Awaited<ReturnType<typeof e2e>>[] = [];
    for (let run = 1; run <= RUNS; run++) {
      bare.push(await bareLoop());
      viaClient.push(await clientLoop());
      viaStore.push(await storeLoop(run));
      full.push(await e2e(run));
      console.log(
        `run ${run}: bare ${round(bare.at(-1)!.ms)} ms, client ${round(viaClient.at(-1)!.ms)} ms, ` +
          `client + store ${round(viaStore.at(-1)!.ms)} ms, end-to-end ${full.at(-1)!.syncMs} ms ` +
          `(${round(full.at(-1)!.wallMs)} ms from workflow start to idle)`,
      );
    }

    // (b) at page latencies nearer DocuSign's: one bare loop and one sync each (a loop over 47 pages is then long
    // enough that run-to-run noise is small against it).
    const sweep: { latencyMs: number; bareMs: number; syncMs: number; ratio: number }[] = [];
    for (const latencyMs of LATENCIES_MS) {
      await emu.admin('faults/latencyMs', { ms: latencyMs });
      const b = await bareLoop();
      const e = await e2e(RUNS + sweep.length + 1);
      const ratio = e.envelopes / e.syncMs / (b.envelopes / b.ms);
      sweep.push({ latencyMs, bareMs: round(b.ms), syncMs: e.syncMs, ratio: round(ratio, 3) });
      console.log(
        `latency ${latencyMs} ms: bare ${round(b.ms)} ms, end-to-end ${e.syncMs} ms, ratio ${round(ratio, 2)}`,
      );
    }
    await emu.admin('faults/latencyMs', { ms: 0 });

    const first = full[0]!;
    if (first.envelopes !== truth) throw new Error(`stored ${first.envelopes} envelopes, DocuSign has ${truth}`);
    // The first access-review snapshot runs beside the first sync; its calls are not the sync's (bench/snapshots.ts).
    const syncCalls = syncCallsOf(first.calls);
    const snapshotCalls = sum(first.calls) - sum(syncCalls);
    const restCalls = sum(syncCalls);
    const callsPer1000 = (restCalls / first.envelopes) * 1000;
    const naiveCalls = restCalls + first.envelopes; // the same calls plus one GET /envelopes/{id} per envelope
    const naivePer1000 = (naiveCalls / first.envelopes) * 1000;
    const rate = (loops: Loop[]) => median(loops.map((b) => (b.envelopes / b.ms) * 1000));
    const bareRate = rate(bare);
    const clientRate = rate(viaClient);
    const storeRate = rate(viaStore);
    const e2eRate = median(full.map((f) => (f.envelopes / f.syncMs) * 1000));
    const e2eWallRate = median(full.map((f) => (f.envelopes / f.wallMs) * 1000));
    const ratio = e2eRate / bareRate;

    const rows: [string, string, string][] = [
      ['envelopes generated / stored (non-draft)', `${ENVELOPES} / ${first.envelopes}`, ''],
      ['pages fetched (page size 100, 180-day windows)', String(first.pagesServed), ''],
      [
        'DocuSign calls in the initial sync',
        `${restCalls} (${Object.entries(syncCalls)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`,
        '',
      ],
      ['the first access-review snapshot beside it (not counted)', `${snapshotCalls} calls`, ''],
      ['(a) calls per 1,000 envelopes', String(round(callsPer1000, 2)), `goal <= ${GOAL_CALLS_PER_1000}`],
      ['    naive: 1 list call per page + 1 GET per envelope', String(round(naivePer1000, 1)), ''],
      ['bare page-fetch loop, envelopes/s (median)', String(Math.round(bareRate)), ''],
      [
        '  DocuSignClient loop (got + zod), envelopes/s',
        `${Math.round(clientRate)} (${round(clientRate / bareRate, 2)}x bare)`,
        '',
      ],
      [
        `  client + ${POSTGRES_STORE ? 'Postgres' : 'directory'} store, no Temporal, envelopes/s`,
        `${Math.round(storeRate)} (${round(storeRate / bareRate, 2)}x bare)`,
        '',
      ],
      [
        '  disk probe: small files written + fsynced + renamed per second',
        String(Math.round(fsyncedFilesPerSecond)),
        '',
      ],
      ['end-to-end sync, envelopes/s (median, sync start → finish)', String(Math.round(e2eRate)), ''],
      ['end-to-end incl. workflow start + consent + authorize', String(Math.round(e2eWallRate)), ''],
      ['(b) end-to-end / bare', String(round(ratio, 2)), `goal >= ${GOAL_RATIO}`],
    ];
    printTable(['measure', 'value', 'goal'], rows);
    if (sweep.length) {
      printTable(
        ['emulator latency per call', 'bare loop ms', 'end-to-end sync ms', '(b) end-to-end / bare'],
        sweep.map((r) => [`${r.latencyMs} ms`, String(r.bareMs), String(r.syncMs), String(round(r.ratio, 2))]),
      );
    }

    const result = {
      benchmark: 'sync',
      measuredAt: new Date().toISOString(),
      machine: machine(),
      temporal: devServer
        ? 'dev server (started by the bench, in-memory)'
        : PRODUCTION_SERVER
          ? 'production server (temporal-server on Postgres, started by the bench)'
          : `TEMPORAL_ADDRESS ${address}`,
      emulator: 'separate process (emulator/main.ts)',
      store: POSTGRES_STORE ? `postgres (${store.description})` : 'directory',
      envelopesGenerated: ENVELOPES,
      envelopesStored: first.envelopes,
      pageSize: PAGE_SIZE,
      include: 'recipients',
      backfillWindowDays: DEFAULT_SYNC_OPTIONS.backfillWindowDays,
      a: {
        callsByEndpoint: syncCalls,
        snapshotCallsBeside: snapshotCalls,
        calls: restCalls,
        pages: first.pagesServed,
        callsPer1000Envelopes: round(callsPer1000, 2),
        naiveCallsPer1000Envelopes: round(naivePer1000, 1),
        goal: `<= ${GOAL_CALLS_PER_1000}`,
        met: callsPer1000 <= GOAL_CALLS_PER_1000,
      },
      b: {
        runs: RUNS,
        bareMs: bare.map((b) => round(b.ms)),
        syncMs: full.map((f) => f.syncMs),
        wallMs: full.map((f) => round(f.wallMs)),
        clientMs: viaClient.map((b) => round(b.ms)),
        clientAndStoreMs: viaStore.map((b) => round(b.ms)),
        bareEnvelopesPerSecond: Math.round(bareRate),
        clientEnvelopesPerSecond: Math.round(clientRate),
        clientAndStoreEnvelopesPerSecond: Math.round(storeRate),
        diskProbeFsyncedFilesPerSecond: Math.round(fsyncedFilesPerSecond),
        endToEndEnvelopesPerSecond: Math.round(e2eRate),
        endToEndWithStartEnvelopesPerSecond: Math.round(e2eWallRate),
        ratio: round(ratio, 3),
        goal: `>= ${GOAL_RATIO}`,
        met: ratio >= GOAL_RATIO,
        byEmulatorLatency: sweep,
      },
    };
    const dir = path.join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = `${POSTGRES_STORE ? 'sync-postgres' : 'sync'}${SERVER_SUFFIX}.json`;
    writeFileSync(path.join(dir, file), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote bench/results/${file}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Goal 5: one initial sync at DocuSign's default limits and a fixed latency per call. The fastest possible: every
 * call one after another at the latency, and no more calls in an hour than the budget less the reserve (the hourly
 * windows are clock hours, so the bound counts the hours the calls need beyond the first).
 */
async function quotaRun(
  emu: Awaited<ReturnType<typeof startEmulatorProcess>>,
  sync: () => Promise<{ startedAt: number; envelopes: number; syncMs: number; calls: Record<string, number> }>,
  bare: () => Promise<{ ms: number; pages: number }>,
  truth: number,
): Promise<void> {
  await emu.admin('faults/latencyMs', { ms: QUOTA_LATENCY_MS });
  const scaled = QUOTA_SCALE !== 1;
  if (scaled) {
    await emu.admin('rate-limit', {
      hourlyWindowSeconds: QUOTA_WINDOWS.hourMs / 1000,
      burstWindowSeconds: QUOTA_WINDOWS.burstMs / 1000,
    });
    // Windows are aligned to the epoch, as DocuSign's hour is to the clock. Started late in one, a backfill would
    // finish in the next without ever meeting the budget: start with at least half an hour (scaled) left.
    const left = QUOTA_WINDOWS.hourMs - (Date.now() % QUOTA_WINDOWS.hourMs);
    if (left < QUOTA_WINDOWS.hourMs / 2) await new Promise((r) => setTimeout(r, left + 1000));
  }
  // The same pages fetched bare (fetch + JSON.parse, one after another): what a call really takes here, the
  // emulator's own work per page included. Its calls count against the hourly budget too, so the sync runs first.
  await emu.admin('stats/reset', {});
  const run = await sync();
  const stats = await emu.admin<EmulatorStats & { callsWhileLimited: number }>('stats');
  // The limits lifted for the bare loop: it measures a call, not the budget (which the sync has spent).
  await emu.admin('rate-limit', { hourlyLimit: 1_000_000_000, burstLimit: 1_000_000_000 });
  const bareRun = await bare();
  if (run.envelopes !== truth) throw new Error(`stored ${run.envelopes} envelopes, DocuSign has ${truth}`);
  const syncCalls = sum(syncCallsOf(run.calls));
  const allCalls = sum(run.calls);
  const usable = Math.floor((DEFAULT_LIMITS.hourly * (100 - DEFAULT_LIMITS.reservePercent)) / 100);
  const bound = quotaBound(run.startedAt, syncCalls, allCalls - syncCalls, usable);
  const ratio = run.syncMs / bound.ms;
  const scale = scaled ? `, time scaled 1/${QUOTA_SCALE}: an hour is ${QUOTA_WINDOWS.hourMs / 1000} s` : '';
  printTable(
    ['measure', 'value', 'goal'],
    [
      ['envelopes stored', String(run.envelopes), ''],
      [
        'DocuSign calls (the sync / all, the first snapshot included)',
        `${syncCalls} / ${allCalls} (usable per hour ${usable}, burst ${DEFAULT_LIMITS.burst} per ${QUOTA_WINDOWS.burstMs / 1000} s${scale})`,
        '',
      ],
      ['calls refused for a limit', String(stats.callsWhileLimited), 'goal 0'],
      [
        'the fastest the limits allow',
        `${round(bound.ms / 1000)} s (${syncCalls} calls × ${QUOTA_LATENCY_MS} ms; ${bound.resets} reset(s) waited for)`,
        '',
      ],
      ['the sync', `${round(run.syncMs / 1000)} s = ${round(ratio, 3)} × the bound`, 'goal ≤ 1.05'],
      [
        'the same pages fetched bare, one after another',
        `${round(bareRun.ms / 1000)} s (${round(bareRun.ms / bareRun.pages)} ms a page); the sync = ${round(run.syncMs / bareRun.ms, 3)} × that`,
        '',
      ],
    ],
  );
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const result = {
    benchmark: 'sync-quota',
    server: PRODUCTION_SERVER ? 'production' : 'dev',
    measuredAt: new Date().toISOString(),
    machine: machine(),
    store: POSTGRES_STORE ? 'postgres' : 'directory',
    envelopes: run.envelopes,
    timeScale: QUOTA_SCALE,
    latencyPerCallMs: QUOTA_LATENCY_MS,
    limits: { ...DEFAULT_LIMITS, usablePerHour: usable, windows: QUOTA_WINDOWS },
    calls: { sync: syncCalls, all: allCalls, byEndpoint: run.calls, refusedForLimit: stats.callsWhileLimited },
    boundMs: Math.round(bound.ms),
    resetsWaitedFor: bound.resets,
    syncMs: run.syncMs,
    ratio: round(ratio, 3),
    bareLoop: { ms: Math.round(bareRun.ms), pages: bareRun.pages, syncOverBare: round(run.syncMs / bareRun.ms, 3) },
    goal: { refused: 0, ratio: 1.05 },
  };
  const file = `${scaled ? 'sync-quota-scaled' : 'sync-quota'}${SERVER_SUFFIX}.json`;
  writeFileSync(path.join(dir, file), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${file}`);
}

/**
 * The fastest `calls` can finish from `startMs` within the limits: one after another, each taking the latency; none
 * while the hour's usable budget (the connector's reserve kept) or the burst budget is spent, the next at the window's
 * reset. `others`: the account's other calls (the first snapshot's), counted in the first window.
 */
function quotaBound(startMs: number, calls: number, others: number, usable: number): { ms: number; resets: number } {
  const { hourMs, burstMs } = QUOTA_WINDOWS;
  // Calls made in each window, by the window's index since the epoch.
  const inHour = new Map([[Math.floor(startMs / hourMs), others]]);
  const inBurst = new Map([[Math.floor(startMs / burstMs), others]]);
  let t = startMs;
  let resets = 0;
  for (let i = 0; i < calls; i++) {
    for (;;) {
      const hour = Math.floor(t / hourMs);
      const burst = Math.floor(t / burstMs);
      if ((inHour.get(hour) ?? 0) >= usable) {
        t = (hour + 1) * hourMs;
        resets++;
      } else if ((inBurst.get(burst) ?? 0) >= DEFAULT_LIMITS.burst) {
        t = (burst + 1) * burstMs;
      } else {
        inHour.set(hour, (inHour.get(hour) ?? 0) + 1);
        inBurst.set(burst, (inBurst.get(burst) ?? 0) + 1);
        break;
      }
    }
    t += QUOTA_LATENCY_MS;
  }
  return { ms: t - startMs, resets };
}

/**
 * The production server for the run: `npm run stack`'s Temporal (temporal-server on Postgres, SQL visibility) on free
 * ports, without the connector's own services (this bench runs its worker).
 */
export async function startProductionServer(work: string): Promise<Stack> {
  const tools = locateServerTools();
  if (!tools) throw new Error('BENCH_SERVER=production: run `npm run tools -- --server` first');
  const dataDir = path.join(work, 'stack');
  mkdirSync(dataDir, { recursive: true });
  chmodSync(work, 0o755); // Postgres runs as the postgres user, who must reach its directory
  const plan = planStack({
    compose: readCompose(),
    tools,
    temporalCli: ensureTemporalTools().cli,
    ports: await freePorts(),
    dataDir,
    // Compose's file requires them even for the services that do not use them; this bench's worker encrypts nothing.
    env: stackSecrets(dataDir, {}).vars,
    connectorServices: [],
  });
  return startStack(plan, dataDir, { log: () => undefined });
}

async function mintToken(url: string, host: string, key: KeyObject): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: 'signature impersonation' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(INTEGRATION_KEY)
    .setSubject(USER_ID)
    .setAudience(host)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .sign(key);
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN for none. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function machine() {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench/sync: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
