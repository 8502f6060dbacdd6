/**
 * Temporal test environments on the installed binaries (the SDK's own download cannot work here).
 * `test/run.ts` starts one dev server per test run and pre-builds the workflow bundle; every test file reuses both.
 * Run alone (`node --import tsx --test test/x.test.ts`), a file falls back to a private dev server.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type LogEntry,
  type WorkerOptions,
} from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { ensureTemporalTools } from '../../scripts/tools';
import { ALL_SEARCH_ATTRIBUTES, bulkTaskQueueOf } from '../../workflows/messages';

export const WORKFLOWS_PATH = require.resolve('../../workflows');

/** Every SDK log line of this test process (secret scans read it); errors also go to stderr. */
export const capturedSdkLogs: LogEntry[] = [];
Runtime.install({
  logger: new DefaultLogger('DEBUG', (entry) => {
    capturedSdkLogs.push(entry);
    if (entry.level === 'ERROR') console.error(`[sdk ${entry.level}] ${entry.message}`);
  }),
});

/** The shared dev server when test/run.ts started one, else a private one (search attributes registered). */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (address) return TestWorkflowEnvironment.createFromExistingServer({ address });
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: ensureTemporalTools().cli },
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
    },
  });
}

/**
 * A private time-skipping server (time skipping is global to a server, so files must not share one), with the
 * connection's search attributes registered through the operator service.
 */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: ensureTemporalTools().testServer } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      ALL_SEARCH_ATTRIBUTES.map((k) => [
        k.name,
        temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`],
      ]),
    ),
  });
  return env;
}

/** A signal or update sent on the time-skipping server keeps this far from the run's next timer. */
const TIMER_GUARD_MS = 5_000;
/** How long a skip waits for the work its timers started; a run busy longer (a stuck fake) is left as it is. */
const SETTLE_LIMIT_MS = 10_000;

/**
 * Moves the time-skipping server's clock past every timer of the run that is due within TIMER_GUARD_MS, and waits
 * for the work those timers start, so that what the test reads, changes or sends next cannot race them. That server
 * strands a run whose workflow task cancels a timer that fired while the task was with the worker: it refuses the
 * completion ("invalid history builder state for action") and never hands the task out again. Right after a skip such
 * a timer is common: a skip lands exactly on the time asked for, while each timer starts a few milliseconds after the
 * instant its workflow task ran, so a chain of 15-minute timers meets a loop of 25-minute skips every 75 minutes, due
 * a few milliseconds after that skip ends.
 */
export async function skipPastImminentTimers(env: TestWorkflowEnvironment, handle: WorkflowHandle): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const { nextTimerDueAt } = await runState(handle);
    const now = await env.currentTimeMs();
    if (nextTimerDueAt === undefined || nextTimerDueAt - now > TIMER_GUARD_MS) return;
    await env.sleep(Math.max(0, nextTimerDueAt - now) + 1);
    for (const settleBy = Date.now() + SETTLE_LIMIT_MS; (await runState(handle)).busy && Date.now() < settleBy;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Signals once no timer of the run is about to fire: see skipPastImminentTimers. */
export async function signalClearOfTimers<Args extends unknown[]>(
  env: TestWorkflowEnvironment,
  handle: WorkflowHandle,
  signal: SignalDefinition<Args>,
  ...args: Args
): Promise<void> {
  await skipPastImminentTimers(env, handle);
  await handle.signal(signal, ...args);
}

/**
 * From the run's history: when its earliest pending timer fires (by the server's clock), and whether a workflow task
 * or an activity is still open.
 */
async function runState(handle: WorkflowHandle): Promise<{ nextTimerDueAt?: number; busy: boolean }> {
  const { events } = await handle.fetchHistory();
  const timersDueAt = new Map<string, number>(); // by the TimerStarted event's id
  const open = new Set<string>(); // the Scheduled event ids of open workflow tasks and activities
  for (const event of events ?? []) {
    const id = String(event.eventId);
    const timer = event.timerStartedEventAttributes;
    if (timer) timersDueAt.set(id, tsToMs(event.eventTime) + tsToMs(timer.startToFireTimeout));
    const timerEnded = event.timerFiredEventAttributes ?? event.timerCanceledEventAttributes;
    if (timerEnded) timersDueAt.delete(String(timerEnded.startedEventId));
    if (event.workflowTaskScheduledEventAttributes || event.activityTaskScheduledEventAttributes) open.add(id);
    const closed =
      event.workflowTaskCompletedEventAttributes ??
      event.workflowTaskFailedEventAttributes ??
      event.workflowTaskTimedOutEventAttributes ??
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (closed) open.delete(String(closed.scheduledEventId));
  }
  return {
    nextTimerDueAt: timersDueAt.size ? Math.min(...timersDueAt.values()) : undefined,
    busy: open.size > 0,
  };
}

let bundle: Promise<{ code: string }> | undefined;

/** Workflow code for `Worker.create`: the run's pre-built bundle, or one bundle per process. */
export async function workflowCode(): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (codePath) return { workflowBundle: { codePath } };
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return { workflowBundle: await bundle };
}

export const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export const uniqueTaskQueue = (prefix: string): string => `${prefix}-${randomUUID()}`;

/**
 * Runs `body` with a connection worker (the run's workflow code) on `options.taskQueue` and, as worker/worker.ts does,
 * a second one with the same activities on its bulk queue (syncs, snapshots, proof); both are shut down when `body`
 * settles.
 */
export async function withConnectionWorkers<T>(
  options: Omit<WorkerOptions, 'workflowBundle' | 'workflowsPath'> & { activities: object },
  body: () => Promise<T>,
): Promise<T> {
  const bulk = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    activities: options.activities,
    // A stuck fake activity must not hold the test's shutdown for long.
    shutdownForceTime: '10s',
    taskQueue: bulkTaskQueueOf(options.taskQueue),
  });
  const worker = await Worker.create({ ...options, ...(await workflowCode()) });
  return bulk.runUntil(worker.runUntil(body));
}
