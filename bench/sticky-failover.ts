/**
 * What STICKY_QUEUE_TIMEOUT_MS costs when the worker goes away: a workflow whose next task the server already put on
 * the worker's sticky queue waits for it to be offered elsewhere. N workflows tick every second on worker 1 (a child
 * process); worker 1 is stopped (SIGKILL: a crash; SIGTERM: a graceful shutdown); worker 2 starts at once on the same
 * task queue. Each workflow's stall = its first workflow task completed after worker 1 exited − the moment of the
 * signal. Worker 2's start (it bundles the workflow code) is part of every stall.
 *
 *   npx tsx bench/sticky-failover.ts     BENCH_STICKY_MS=10000,300000 (cases) BENCH_WORKFLOWS=20
 *
 * Prints a table and writes bench/results/sticky-failover.json.
 */
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureTemporalTools } from '../scripts/tools';
import { startDevServer } from '../worker/dev-server';
import { machine, percentile, printTable, sleep } from './sync';

const EventType = temporal.api.enums.v1.EventType;
const STICKY_MS = (process.env.BENCH_STICKY_MS ?? '10000,300000').split(',').map(Number);
const WORKFLOWS = Number(process.env.BENCH_WORKFLOWS ?? 20);
const SIGNALS = ['SIGKILL', 'SIGTERM'] as const;

interface Case {
  stickyMs: number;
  signal: (typeof SIGNALS)[number];
  stopMs: number;
  stallMs: { min: number; p50: number; max: number };
}

/** The child: one worker on TASK_QUEUE with the given sticky timeout, until stopped. */
async function runWorker(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') }); // not its "no activities registered" warning
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: process.env.BENCH_ADDRESS! }),
    taskQueue: process.env.BENCH_TASK_QUEUE!,
    workflowsPath: require.resolve('./fixtures/ticker-workflow'),
    stickyQueueScheduleToStartTimeout: Number(process.env.BENCH_WORKER_STICKY_MS),
  });
  process.on('SIGTERM', () => worker.shutdown());
  await worker.run();
  process.exit(0);
}

async function measure(address: string, client: Client, stickyMs: number, signal: Case['signal']): Promise<Case> {
  const taskQueue = `sticky-failover-${stickyMs}-${signal}-${Date.now()}`;
  const startWorker = () =>
    spawn(process.execPath, ['--import', 'tsx', __filename, 'worker'], {
      env: {
        ...process.env,
        BENCH_ADDRESS: address,
        BENCH_TASK_QUEUE: taskQueue,
        BENCH_WORKER_STICKY_MS: String(stickyMs),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const first = startWorker();
  const handles = await Promise.all(
    Array.from({ length: WORKFLOWS }, (_, i) =>
      client.workflow.start('ticker', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [3600, 1000] }),
    ),
  );
  await sleep(15_000); // every workflow on worker 1's sticky queue by now
  const exited = new Promise((r) => first.once('exit', r));
  const stoppedAt = Date.now();
  first.kill(signal);
  await exited;
  const exitedAt = Date.now();
  const second = startWorker();
  const stalls: number[] = [];
  const deadline = exitedAt + stickyMs + 60_000;
  for (const handle of handles) {
    for (;;) {
      const { events } = await handle.fetchHistory();
      const resumed = events?.find(
        (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && tsToMs(e.eventTime) > exitedAt,
      );
      if (resumed) {
        stalls.push(tsToMs(resumed.eventTime) - stoppedAt);
        break;
      }
      if (Date.now() > deadline)
        throw new Error(`${handle.workflowId} did not resume within the sticky timeout + 60 s`);
      await sleep(500);
    }
  }
  await Promise.all(handles.map((h) => h.terminate()));
  second.kill('SIGTERM');
  return {
    stickyMs,
    signal,
    stopMs: exitedAt - stoppedAt,
    stallMs: { min: percentile(stalls, 0), p50: percentile(stalls, 50), max: percentile(stalls, 100) },
  };
}

async function main(): Promise<void> {
  const server = await startDevServer({ cliPath: ensureTemporalTools().cli, port: 0 });
  try {
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const cases: Case[] = [];
    for (const stickyMs of STICKY_MS)
      for (const signal of SIGNALS) cases.push(await measure(server.address, client, stickyMs, signal));
    printTable(
      ['sticky timeout', 'worker 1 stopped by', 'its exit took', 'stall after the stop: min / p50 / max'],
      cases.map((c) => [
        `${c.stickyMs / 1000} s`,
        c.signal,
        `${c.stopMs} ms`,
        `${(c.stallMs.min / 1000).toFixed(1)} / ${(c.stallMs.p50 / 1000).toFixed(1)} / ${(c.stallMs.max / 1000).toFixed(1)} s`,
      ]),
    );
    mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    writeFileSync(
      path.join(__dirname, 'results', 'sticky-failover.json'),
      `${JSON.stringify({ benchmark: 'sticky-failover', measuredAt: new Date().toISOString(), machine: machine(), workflows: WORKFLOWS, cases }, null, 2)}\n`,
    );
    console.log('wrote bench/results/sticky-failover.json');
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === 'worker') void runWorker();
else
  void main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
