/**
 * Builds the connector's Temporal worker from its parts: DocuSign client, token service, evidence store, activities,
 * payload codec, metrics. Used by the worker process, the demo and the end-to-end tests alike.
 */
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type pino from 'pino';
import { createActivities, type ActivityDeps } from '../activities';
import { DocuSignClient, type CallObservation, type DocuSignClientOptions } from '../activities/docusign';
import { createEvidenceStore, type EvidenceStore } from '../activities/store';
import { TokenService } from '../activities/tokens';
import { signConsentState } from '../common/consent-state';
import { codecFromKeys, dataConverterFor } from '../common/codec';
import { bulkTaskQueueOf } from '../workflows/messages';
import type { WorkerConfig } from './config';
import type { ConnectorMetrics, TokenOutcome } from './metrics';

export interface ConnectorWorkerOptions {
  config: WorkerConfig;
  connection: NativeConnection;
  logger: pino.Logger;
  metrics?: ConnectorMetrics;
  /** Pre-built workflow code (production bundle or a test run's); default: bundle `workflows/` now. */
  workflowCode?: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  /** Test hooks: sync tuning (page size, waits) and the process env keys are read from. */
  sync?: ActivityDeps['sync'];
  proof?: ActivityDeps['proof'];
  docusign?: Pick<DocuSignClientOptions, 'burstRetryMs'>;
  env?: NodeJS.ProcessEnv;
}

/** The worker's two Temporal workers (the connection queue and its bulk queue) as one: run, shut down, state. */
export interface WorkerPair {
  run(): Promise<void>;
  shutdown(): void;
  getState(): ReturnType<Worker['getState']>;
}

/** The workflow worker's cache and sticky timeout as the SDK compiled them (its defaults filled in), for the start log. */
export interface WorkerCapacity {
  /** WORKFLOW_CACHE_SIZE unset, the SDK sizes it from the V8 heap limit. */
  maxCachedWorkflows: number;
  stickyQueueTimeoutMs: number;
}

export interface ConnectorWorker {
  worker: WorkerPair;
  capacity: WorkerCapacity;
  store: EvidenceStore;
  tokens: TokenService;
  close(): Promise<void>;
}

export async function createConnectorWorker(options: ConnectorWorkerOptions): Promise<ConnectorWorker> {
  const { config, logger, metrics } = options;
  const store = createEvidenceStore(config.evidenceStore, {
    onUnreadableLine: (connectionId, line) => {
      metrics?.addUnreadableEvidenceLines(1);
      logger.error(
        { connectionId, ...line },
        'evidence journal line unreadable: skipped (doctor and evidence report it)',
      );
    },
  });
  await store.init();

  const docusign = new DocuSignClient({
    timeoutMs: config.docusignHttpTimeoutMs,
    trust: config.trust,
    observe: (call) => observeCall(call, logger, metrics),
    ...options.docusign,
  });
  const tokens = new TokenService(docusign, {
    ...(options.env ? { env: options.env } : {}),
    onMint: (outcome) => metrics?.recordTokenMint((outcome === 'ok' ? 'success' : outcome) as TokenOutcome),
  });
  const stateSecret = config.consent.stateSecret;
  const registeredAttributes = new Set<string>();
  const activities = createActivities({
    docusign,
    tokens,
    store,
    // Asked at every run start (continue-as-new included): a registered attribute stays registered, so that answer is
    // kept; a missing one is asked again, so registering it later needs no worker restart.
    searchAttributeRegistered: async (name) => {
      if (registeredAttributes.has(name)) return true;
      const { customAttributes } = await options.connection.operatorService.listSearchAttributes({
        namespace: config.temporal.namespace,
      });
      if (Object.hasOwn(customAttributes ?? {}, name)) registeredAttributes.add(name);
      return registeredAttributes.has(name);
    },
    consent: {
      ...(config.consent.redirectUri ? { redirectUri: config.consent.redirectUri } : {}),
      stateTtlMs: config.consent.stateTtlHours * 3_600_000,
      ...(stateSecret
        ? {
            signState: (connectionId: string, expiresAt: Date) =>
              signConsentState({ connectionId, expiresAt }, stateSecret),
          }
        : {}),
    },
    sync: {
      reservePercent: config.rateLimitReservePercent,
      onPage: (stored) => {
        metrics?.addSyncPage();
        metrics?.addEnvelopesStored(stored);
      },
      ...options.sync,
    },
    ...(options.proof ? { proof: options.proof } : {}),
  });

  const dataConverter = dataConverterFor(codecFromKeys(config.payloadCodecKeys));
  const common = {
    connection: options.connection,
    namespace: config.temporal.namespace,
    activities,
    ...(dataConverter ? { dataConverter } : {}),
    shutdownGraceTime: config.shutdownGraceMs,
    // Each stored page is heartbeated, but the position a retry resumes from is the store's checkpoint (saved with
    // the page), so heartbeats only need to show progress and liveness: at most one a second per activity. Every
    // heartbeat is a write on the Temporal server; one per page (the earlier 20 ms throttle) cost the dev server ~14 %
    // of its CPU while onboarding 1,000 connections with 10 envelopes each (bench/README.md).
    maxHeartbeatThrottleInterval: '1s',
  } satisfies Partial<WorkerOptions>;
  // Syncs, snapshots and proof passes, at most syncConcurrency at once here; the rest wait in Temporal's queue.
  const bulk = await Worker.create({
    ...common,
    taskQueue: bulkTaskQueueOf(config.temporal.taskQueue),
    maxConcurrentActivityTaskExecutions: config.syncConcurrency,
  });
  // Read by our patch of the SDK (patches/@temporalio+worker+1.24.0.patch) in the workflow threads, which copy
  // process.env when Worker.create starts them; off, no promise records its stack (sdk-typescript#1587).
  process.env.WORKFLOW_STACK_TRACES = config.workflowStackTraces ? 'on' : 'off';
  const worker = await Worker.create({
    ...common,
    taskQueue: config.temporal.taskQueue,
    ...(options.workflowCode ?? { workflowsPath: require.resolve('../workflows') }),
    // Unset: the SDK's default. A bound trades memory for replays (README "Scale").
    ...(config.workflowCacheSize !== undefined ? { maxCachedWorkflows: config.workflowCacheSize } : {}),
    // Also how long a crashed worker's workflows wait; longer helps only a lone, overloaded worker (README "Scale").
    stickyQueueScheduleToStartTimeout: config.stickyQueueTimeoutMs,
  });
  return {
    worker: pairOf(worker, bulk),
    capacity: {
      maxCachedWorkflows: worker.options.maxCachedWorkflows,
      stickyQueueTimeoutMs: worker.options.stickyQueueScheduleToStartTimeoutMs,
    },
    store,
    tokens,
    close: () => store.close(),
  };
}

/** Runs both until both stop: either one stopping (or failing) stops the other; run() rejects with the first failure. */
function pairOf(main: Worker, bulk: Worker): WorkerPair {
  const shutdown = () => {
    for (const w of [main, bulk]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    run: async () => {
      const outcomes = await Promise.allSettled(
        [main, bulk].map(async (w) => {
          try {
            await w.run();
          } finally {
            shutdown();
          }
        }),
      );
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    },
    shutdown,
    getState: () => main.getState(),
  };
}

function observeCall(call: CallObservation, logger: pino.Logger, metrics: ConnectorMetrics | undefined): void {
  metrics?.recordApiCall(call.endpoint, call.status, call.durationMs / 1000);
  if (call.rateLimit?.hourlyRemaining !== undefined)
    metrics?.setRateLimitRemaining('hourly', call.rateLimit.hourlyRemaining);
  if (call.rateLimit?.burstRemaining !== undefined)
    metrics?.setRateLimitRemaining('burst', call.rateLimit.burstRemaining);
  logger.debug(
    { endpoint: call.endpoint, status: call.status, ms: call.durationMs, traceToken: call.traceToken },
    'docusign call',
  );
}
