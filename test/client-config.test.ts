/**
 * ConnectorClient.config, which `connect` (the flags it did not apply) and `doctor` read: the workflow's `config`
 * query where the run's worker has it, and the run's history where the query cannot answer: a worker from before the
 * query existed (a stub of the workflow without the handler, test/fixtures/workflows/before-config-query.ts), a
 * closed run, no worker at all. The RPCs the client makes show which path it took. The history reader alone runs on
 * the recorded histories (test/fixtures/histories, most recorded before the query existed), with credentialsUpdated
 * signals merged in the way the workflow merges them.
 *
 *   npx tsx test/run.ts client-config
 */
import {
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
  type WorkflowHandle,
} from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectorClient } from '../client/client';
import { configFromHistory } from '../client/connection-config';
import { loadWorkerConfig } from '../worker/config';
import { createLogger } from '../worker/logger';
import { createConnectorWorker, type ConnectorWorker } from '../worker/worker';
import type { ConnectionConfig } from '../workflows/config';
import { configQuery, credentialsUpdatedSignal, workflowIdOf } from '../workflows/messages';
import { startRig, type Rig } from './helpers/processes';
import { devServerEnv, quietBundlerLogger, uniqueTaskQueue, workflowCode } from './helpers/temporal';

const HISTORIES = path.join(__dirname, 'fixtures', 'histories');
type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];
const decode = async (payloads: temporal.api.common.v1.IPayload[]) =>
  payloads.map((p) => defaultPayloadConverter.fromPayload(p));

function signaled(signalName: string, arg: unknown): temporal.api.history.v1.IHistoryEvent {
  return {
    eventType: temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    workflowExecutionSignaledEventAttributes: {
      signalName,
      input: { payloads: [defaultPayloadConverter.toPayload(arg)] },
    },
  };
}

describe('the config from a recorded history (runs from before the config query)', () => {
  const files = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
  const historyOf = (file: string) => historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')));

  test('every recorded history gives its connection config', async () => {
    assert.ok(files.length >= 10, `${files.length} histories`);
    for (const file of files) {
      const history = historyOf(file);
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      const config = await configFromHistory(history, decode);
      assert.equal(workflowIdOf(config.connectionId), started?.workflowId, file);
      assert.equal(config.environment, 'demo', file);
      assert.match(config.privateKeyRef, /^file:\//, file);
    }
  });

  test('credentialsUpdated signals are merged in order; one that does not validate is ignored, as the workflow does', async () => {
    const history = historyOf('docusign-connection-life-consent.json');
    const start = await configFromHistory(history, decode);
    const rotated = { privateKeyRef: 'env:DOCUSIGN_KEY_SECOND', userId: randomUUID() };
    history.events = [
      ...(history.events ?? []),
      signaled(credentialsUpdatedSignal.name, { privateKeyRef: 'env:DOCUSIGN_KEY_FIRST' }),
      signaled('syncNow', { privateKeyRef: 'env:DOCUSIGN_KEY_NOT_CREDENTIALS' }),
      signaled(credentialsUpdatedSignal.name, rotated),
      signaled(credentialsUpdatedSignal.name, { userId: 'ops@example.com' }), // not a GUID: ignored
    ];
    assert.deepEqual(await configFromHistory(history, decode), { ...start, ...rotated });
  });
});

describe('ConnectorClient.config: the query where it answers, the history where it cannot', () => {
  let env: TestWorkflowEnvironment;
  let rig: Rig;
  let connector: ConnectorWorker;
  let stub: Worker;
  let running: Promise<unknown>[];
  const rpcs: string[] = [];
  const clients: ConnectorClient[] = [];
  const taskQueue = uniqueTaskQueue('client-config');
  const stubTaskQueue = uniqueTaskQueue('client-config-stub');

  /** RPC method names (e.g. QueryWorkflow) the clients made since the last call. */
  const madeRpcs = () => rpcs.splice(0);
  const recordRpc: GrpcInterceptor = (options, next) => {
    rpcs.push(options.method_definition.path.split('/').pop() ?? '');
    // The next call as it is: grpc-js accepts any intercepting call, its type only names its class.
    return next(options) as ReturnType<GrpcInterceptor>;
  };
  const clientOn = async (queue: string, queryTimeoutMs?: number) => {
    const client = await ConnectorClient.create({
      address: env.address,
      taskQueue: queue,
      connectionOptions: { interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions()), recordRpc] },
      ...(queryTimeoutMs ? { queryTimeoutMs } : {}),
    });
    clients.push(client);
    return client;
  };
  const configFor = (id: string): ConnectionConfig => rig.config(id);

  before(async () => {
    env = await devServerEnv();
    rig = await startRig();
    connector = await createConnectorWorker({
      config: loadWorkerConfig({
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        EVIDENCE_STORE: path.join(rig.workDir, 'evidence'),
        LOG_LEVEL: 'silent',
        ...rig.workerEnv,
      }),
      connection: env.nativeConnection,
      logger: createLogger({ level: 'silent' }),
      workflowCode: await workflowCode(),
    });
    stub = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: stubTaskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('./fixtures/workflows/before-config-query'),
        logger: quietBundlerLogger,
      }),
    });
    running = [connector.worker.run(), stub.run()];
  });

  after(async () => {
    for (const client of clients) await client.close();
    connector?.worker.shutdown();
    stub?.shutdown();
    await Promise.all(running ?? []);
    await connector?.close();
    await rig?.close();
    await env?.teardown();
  });

  test('a run whose worker has the query: config, updates and connect comparisons come from it, not from history', async () => {
    const client = await clientOn(taskQueue);
    const id = `cfg-new-${randomUUID().slice(0, 8)}`;
    const config = configFor(id);
    assert.equal((await client.connect(config)).created, true);
    assert.deepEqual(await client.config(id), config);

    await client.updateCredentials(id, { privateKeyRef: 'env:DOCUSIGN_KEY_ROTATED' });
    const updated = { ...config, privateKeyRef: 'env:DOCUSIGN_KEY_ROTATED' };
    const deadline = Date.now() + 10_000;
    while ((await client.config(id)).privateKeyRef !== updated.privateKeyRef) {
      assert.ok(Date.now() < deadline, 'the query never showed the credentials update');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await client.handle(id).query(configQuery), updated);
    madeRpcs();

    const again = await client.connect({ ...config, syncIntervalMinutes: 30 });
    assert.equal(again.created, false);
    assert.deepEqual(again.differingFields, ['privateKeyRef', 'syncIntervalMinutes']);
    assert.equal(again.comparisonError, undefined);
    const used = madeRpcs();
    assert.ok(used.includes('QueryWorkflow'), used.join(' '));
    assert.ok(!used.includes('GetWorkflowExecutionHistory'), `no history read: ${used.join(' ')}`);

    // Once closed, the run's history is final: read without a worker.
    await client.disconnect(id, { wait: true });
    madeRpcs();
    assert.deepEqual(await client.config(id), updated);
    const closed = madeRpcs();
    assert.ok(closed.includes('GetWorkflowExecutionHistory') && !closed.includes('QueryWorkflow'), closed.join(' '));
  });

  test('a run whose worker predates the query: "no handler for config", so the history, with the update merged', async () => {
    const client = await clientOn(stubTaskQueue);
    const id = `cfg-old-${randomUUID().slice(0, 8)}`;
    const config = configFor(id);
    assert.equal((await client.connect(config)).created, true);
    const handle: WorkflowHandle = client.handle(id);
    try {
      await assert.rejects(handle.query(configQuery), /did not register a handler for config/);
      await client.updateCredentials(id, { privateKeyRef: 'env:DOCUSIGN_KEY_ROTATED' });
      madeRpcs();

      assert.deepEqual(await client.config(id), { ...config, privateKeyRef: 'env:DOCUSIGN_KEY_ROTATED' });
      assert.deepEqual(madeRpcs().slice(-2), ['QueryWorkflow', 'GetWorkflowExecutionHistory']);

      const again = await client.connect({ ...config, syncIntervalMinutes: 30 });
      assert.equal(again.created, false);
      assert.deepEqual(again.differingFields, ['privateKeyRef', 'syncIntervalMinutes']);
    } finally {
      await handle.terminate('test done');
    }
  });

  test('no worker answers: the history (so doctor works while the worker is down)', async () => {
    const client = await clientOn(uniqueTaskQueue('client-config-no-worker'), 1000);
    const id = `cfg-none-${randomUUID().slice(0, 8)}`;
    const config = configFor(id);
    await client.connect(config);
    try {
      madeRpcs();
      assert.deepEqual(await client.config(id), config);
      assert.deepEqual(madeRpcs().slice(-2), ['QueryWorkflow', 'GetWorkflowExecutionHistory']);
    } finally {
      await client.handle(id).terminate('test done');
    }
  });
});
