/**
 * The worker process (`npm start`, `docusign-connector worker`). With TEMPORAL_ADDRESS it connects there; without it
 * it starts the embedded dev server (SQLite under ./data, Web UI on, search attributes registered) and prints the UI URL.
 * SIGTERM/SIGINT: in-flight syncs are cancelled after their last heartbeat, so the next worker resumes from it.
 */
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type pino from 'pino';
import { PHASES, searchAttributes, WORKFLOW_TYPE, type Phase } from '../workflows/messages';
import path from 'node:path';
import { ConfigError, connectionOptionsOf, loadWorkerConfig, type WorkerConfig } from './config';
import { startDevServer, type DevServer } from './dev-server';
import { temporalCliPath } from './temporal-binaries';
import { createLogger, toTemporalLogger } from './logger';
import { createConnectorMetrics, startMetricsServer, type ConnectorMetrics } from './metrics';
import { createConnectorWorker } from './worker';

export async function runWorker(config: WorkerConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel, base: { service: 'docusign-connector-worker' } });
  const sdkMetricsPort = config.metrics.port ? config.metrics.port + 1 : undefined;
  Runtime.install({
    logger: toTemporalLogger(logger),
    ...(sdkMetricsPort
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `${config.metrics.host}:${sdkMetricsPort}` } } } }
      : {}),
  });

  let devServer: DevServer | undefined;
  if (!config.temporal.address) {
    devServer = await startDevServer({
      cliPath: temporalCliPath(),
      dbFilename: path.resolve(config.devServer.dbFilename),
      port: config.devServer.port,
      uiPort: config.devServer.uiPort,
    });
    logger.info({ address: devServer.address, ui: devServer.uiUrl }, 'embedded Temporal dev server started');
    console.log(`Temporal UI: ${devServer.uiUrl ?? '(headless)'}`);
  }

  const metrics = createConnectorMetrics();
  const metricsServer = config.metrics.port
    ? await startMetricsServer({
        host: config.metrics.host,
        port: config.metrics.port,
        registry: metrics.registry,
        onError: (what, err) => logger.warn({ err }, what),
        ...(sdkMetricsPort ? { sdkMetricsUrl: `http://${config.metrics.host}:${sdkMetricsPort}/metrics` } : {}),
      })
    : undefined;

  const connection = await NativeConnection.connect(
    connectionOptionsOf(config, devServer ? { address: devServer.address } : {}),
  );
  // Production runs a pre-built bundle (WORKFLOW_BUNDLE_PATH, built by `npm run build`); else Worker.create bundles
  // the workflows at start, with the data converter's failure converter.
  const bundlePath = config.workflowBundlePath;
  const connector = await createConnectorWorker({
    config,
    connection,
    logger,
    metrics,
    ...(bundlePath ? { workflowCode: { workflowBundle: { codePath: bundlePath } } } : {}),
  });
  const stopPhaseGauge = metricsServer
    ? await startPhaseGauge(connection, config.temporal.namespace, metrics, logger)
    : () => undefined;
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      store: connector.store.description,
      ...connector.capacity,
      syncConcurrency: config.syncConcurrency,
    },
    'worker running',
  );
  try {
    await connector.worker.run(); // resolves after SIGTERM/SIGINT shutdown (Runtime's default signal handling)
  } finally {
    stopPhaseGauge();
    await connector.close();
    await connection.close();
    await metricsServer?.close();
    await devServer?.stop();
    logger.info('worker stopped');
  }
}

/** `docusign_connections{phase}` from visibility (the search attribute DocuSignPhase), refreshed every minute. */
async function startPhaseGauge(
  connection: NativeConnection,
  namespace: string,
  metrics: ConnectorMetrics,
  logger: pino.Logger,
): Promise<() => void> {
  // The worker's own connection serves the visibility queries too.
  const client = new Client({ connection, namespace });
  const refresh = async () => {
    const counts: Partial<Record<Phase, number>> = {};
    for (const phase of PHASES) {
      const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND ${searchAttributes.phase.name} = '${phase}'`;
      counts[phase] = (await client.workflow.count(query)).count;
    }
    metrics.setConnections(counts);
  };
  const timer = setInterval(() => {
    refresh().catch((err: unknown) => logger.warn({ err }, 'phase count failed'));
  }, 60_000);
  await refresh().catch((err: unknown) => logger.warn({ err }, 'phase count failed'));
  return () => clearInterval(timer);
}

if (require.main === module) {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  runWorker(config).catch((err: unknown) => {
    console.error(`worker failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
