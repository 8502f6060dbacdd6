/**
 * End-to-end harness: the shared dev server, a DocuSign emulator, a real RSA key pair (PKCS#1, as DocuSign generates),
 * the connector's real worker with its real activities and a directory evidence store. Worker logs are captured so
 * tests can scan them for secrets. The worker trusts what an operator would configure: keys in the work directory
 * (DOCUSIGN_KEYS_DIR) and the emulator's host (DOCUSIGN_ALLOWED_HOSTS, as 127.0.0.1 and as localhost).
 */
import { Client, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ActivityDeps } from '../../activities';
import type { ConnectionConfig } from '../../workflows/config';
import {
  consentGrantedSignal,
  startAttributesOf,
  statusQuery,
  WORKFLOW_TYPE,
  workflowIdOf,
  type ConnectionStatus,
} from '../../workflows/messages';
import { loadWorkerConfig } from '../../worker/config';
import { createLogger } from '../../worker/logger';
import { createConnectorWorker, type ConnectorWorker } from '../../worker/worker';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator';
import { rsaKeys, type RsaKeys } from './keys';
import { devServerEnv, uniqueTaskQueue, workflowCode } from './temporal';

/** A backfill start before anything the emulator holds (it spreads envelopes over 400 days). */
export const BACKFILL_ALL = new Date(Date.now() - 500 * 86_400_000).toISOString();

/** Polls the status query until the predicate holds; query errors (server down, no worker yet) are retried. */
export async function waitForStatus(
  handle: WorkflowHandle,
  predicate: (s: ConnectionStatus) => boolean,
  timeoutMs = 60_000,
): Promise<ConnectionStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ConnectionStatus | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `status never matched; last: ${JSON.stringify(last)}${lastError instanceof Error ? `; last error: ${lastError.message}` : ''}` +
      (await pendingActivitiesOf(handle)),
  );
}

/** What the run is waiting on, for a failed wait's message: each pending activity's attempt, state and last failure. */
async function pendingActivitiesOf(handle: WorkflowHandle): Promise<string> {
  try {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    return pending
      .map((a) => {
        const state = a.state != null ? temporal.api.enums.v1.PendingActivityState[a.state] : 'unknown';
        const failure = a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : '';
        return `; pending ${a.activityType?.name} attempt ${a.attempt} ${state}${failure}`;
      })
      .join('');
  } catch (err) {
    return `; describe failed: ${(err as Error).message}`;
  }
}

/** DOCUSIGN_ALLOWED_HOSTS for an emulator: its host, also as `localhost` (the wrong-`aud` tests call it that way). */
export function emulatorAllowedHosts(emu: Pick<Emulator, 'host'>): string {
  return [emu.host, emu.host.replace('127.0.0.1', 'localhost')].join(',');
}

/** A demo-environment connection config for the emulator's app and user, key read from `keyPath`. */
export function connectionConfigFor(
  app: { emu: Pick<Emulator, 'url'>; integrationKey: string; userId: string; keyPath: string },
  connectionId: string,
  overrides: Partial<ConnectionConfig> = {},
): ConnectionConfig {
  return {
    connectionId,
    environment: 'demo',
    integrationKey: app.integrationKey,
    userId: app.userId,
    privateKeyRef: `file:${app.keyPath}`,
    oauthBaseUrl: app.emu.url,
    ...overrides,
  };
}

export { rsaKeys, type RsaKeys } from './keys';

export interface Harness {
  env: TestWorkflowEnvironment;
  /** The client of the harness's namespace. */
  client: Client;
  emu: Emulator;
  keys: RsaKeys;
  keyPath: string;
  integrationKey: string;
  userId: string;
  taskQueue: string;
  storeDir: string;
  workDir: string;
  connector: ConnectorWorker;
  /** Every line the worker's logger wrote. */
  logs: string[];
  config(connectionId: string, overrides?: Partial<ConnectionConfig>): ConnectionConfig;
  start(config: ConnectionConfig): Promise<WorkflowHandle>;
  /** Every workflow this harness started (for secret scans and replay). */
  handles: WorkflowHandle[];
  /** A fresh consented DocuSign user whose default account holds `count` envelopes over 400 days. */
  newAccount(count: number): { userId: string; accountId: string };
  /** Starts a connection for `userId` that backfills everything the emulator has, and grants consent. */
  connect(connectionId: string, userId: string): Promise<WorkflowHandle>;
  waitForStatus(
    handle: WorkflowHandle,
    predicate: (s: ConnectionStatus) => boolean,
    timeoutMs?: number,
  ): Promise<ConnectionStatus>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    emulator?: EmulatorOptions;
    sync?: ActivityDeps['sync'];
    proof?: ActivityDeps['proof'];
    burstRetryMs?: number;
    env?: TestWorkflowEnvironment;
    /** Where the worker resolves `env:` key references (default process.env). */
    keyEnv?: NodeJS.ProcessEnv;
    /** A namespace other than `default` (it must exist). */
    namespace?: string;
    /** More worker variables (loadWorkerConfig), e.g. WORKFLOW_STACK_TRACES. */
    workerEnv?: NodeJS.ProcessEnv;
  } = {},
): Promise<Harness> {
  const env = opts.env ?? (await devServerEnv());
  const emu = await startEmulator({ envelopes: 50, ...opts.emulator });
  const keys = rsaKeys();
  const workDir = mkdtempSync(path.join(tmpdir(), 'connector-e2e-'));
  const keyPath = path.join(workDir, 'private-key.pem');
  writeFileSync(keyPath, keys.privatePem, { mode: 0o600 });
  const integrationKey = randomUUID();
  const userId = randomUUID();
  emu.registerApp(integrationKey, keys.publicPem);
  emu.addUser({ userId });

  const taskQueue = uniqueTaskQueue('e2e');
  const storeDir = path.join(workDir, 'evidence');
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
  const config = loadWorkerConfig({
    TEMPORAL_ADDRESS: env.address,
    ...(opts.namespace ? { TEMPORAL_NAMESPACE: opts.namespace } : {}),
    TEMPORAL_TASK_QUEUE: taskQueue,
    EVIDENCE_STORE: storeDir,
    DOCUSIGN_HTTP_TIMEOUT_MS: '5000',
    DOCUSIGN_KEYS_DIR: workDir,
    DOCUSIGN_ALLOWED_HOSTS: emulatorAllowedHosts(emu),
    ...opts.workerEnv,
  });
  const connector = await createConnectorWorker({
    config,
    connection: env.nativeConnection,
    logger,
    workflowCode: await workflowCode(),
    ...(opts.sync ? { sync: opts.sync } : {}),
    ...(opts.proof ? { proof: opts.proof } : {}),
    ...(opts.burstRetryMs ? { docusign: { burstRetryMs: opts.burstRetryMs } } : {}),
    ...(opts.keyEnv ? { env: opts.keyEnv } : {}),
  });

  // One worker runs for the whole test file (a Worker runs once); a fatal worker error fails the waiting tests.
  const running = connector.worker.run().catch((err: unknown) => {
    console.error(`worker failed: ${(err as Error).message}`);
  });

  const client = opts.namespace ? new Client({ connection: env.connection, namespace: opts.namespace }) : env.client;
  const handles: WorkflowHandle[] = [];
  const harness: Harness = {
    env,
    client,
    emu,
    keys,
    keyPath,
    integrationKey,
    userId,
    taskQueue,
    storeDir,
    workDir,
    connector,
    logs,
    config: (connectionId, overrides = {}) =>
      connectionConfigFor({ emu, integrationKey, userId, keyPath }, connectionId, overrides),
    start: async (cfg) => {
      const handle = await startConnection(client, taskQueue, cfg);
      handles.push(handle);
      return handle;
    },
    handles,
    newAccount: (count) => {
      const accountUser = randomUUID();
      emu.addUser({ userId: accountUser });
      emu.grantConsent(integrationKey, accountUser);
      const accountId = emu.accountsOf(accountUser).find((a) => a.isDefault)!.accountId;
      emu.seedEnvelopes(accountId, count, { days: 400, seed: count });
      return { userId: accountUser, accountId };
    },
    connect: async (connectionId, accountUser) => {
      const handle = await harness.start(
        harness.config(connectionId, { userId: accountUser, backfillFrom: BACKFILL_ALL }),
      );
      await handle.signal(consentGrantedSignal);
      return handle;
    },
    waitForStatus: (handle, predicate, timeoutMs = 30_000) => waitForStatus(handle, predicate, timeoutMs),
    close: async () => {
      connector.worker.shutdown();
      await running;
      await connector.close();
      await emu.stop();
      if (!opts.env) await env.teardown();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Starts a connection's workflow as the client library does (an existing one is returned, not restarted). */
export function startConnection(client: Client, taskQueue: string, cfg: ConnectionConfig): Promise<WorkflowHandle> {
  return client.workflow.start(WORKFLOW_TYPE, {
    taskQueue,
    workflowId: workflowIdOf(cfg.connectionId),
    args: [cfg],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: startAttributesOf(cfg),
  });
}

/** Every secret the emulator saw or issued, plus the private key body: none may appear in `haystacks`. */
export function findLeaks(harness: Pick<Harness, 'emu' | 'keys'>, haystacks: string[]): string[] {
  const pemBody = harness.keys.privatePem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  const needles = [
    ...harness.emu.stats.tokensIssued,
    ...harness.emu.stats.assertionsReceived,
    // PEM bodies may be re-wrapped: look for a distinctive 40-char slice of each line.
    ...harness.keys.privatePem
      .split('\n')
      .filter((l) => l.length >= 60 && !l.startsWith('-----'))
      .map((l) => l.slice(10, 50)),
    pemBody.slice(100, 160),
  ].filter((n) => n.length >= 20);
  const leaks: string[] = [];
  for (const hay of haystacks) for (const needle of needles) if (hay.includes(needle)) leaks.push(needle.slice(0, 12));
  return leaks;
}
