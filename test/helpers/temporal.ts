/**
 * Temporal test environments on the installed binaries (the SDK's own download cannot work here).
 * `test/run.ts` starts one dev server per test run and pre-builds the workflow bundle; every test file reuses both.
 * Run alone (`node --import tsx --test test/x.test.ts`), a file falls back to a private dev server.
 */
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
