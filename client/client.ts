/**
 * The typed client library the platform (and the CLI, the consent server, the demo) uses to drive connections:
 *
 *   const client = await ConnectorClient.fromEnv();          // TEMPORAL_ADDRESS / _NAMESPACE / _TASK_QUEUE, codec keys
 *   const { created } = await client.connect(config);        // validated with zod first; idempotent
 *   const { consentUrl } = await client.waitForConsentUrl(id);
 *   await client.consent(id);                                // after the browser consent (the consent server does this)
 *   const status = await client.syncAndWait(id);
 *   for await (const record of client.evidence(id)) ...
 *   await client.close();
 *
 * Every method that names a connection throws `ConnectionNotFoundError` when there is no such workflow. Nothing here
 * ever handles secret material: the config holds references only, and the status holds `expiresAt`, never a token.
 *
 * The class is the whole library surface in one place (hence the length); what it builds on lives beside it: errors
 * (errors.ts), status formatting (format.ts), evidence reading (evidence.ts), visibility and sync progress
 * (visibility.ts), and the config from history for runs the `config` query cannot answer (connection-config.ts).
 */
import {
  Client,
  Connection,
  QueryNotRegisteredError,
  ServiceError,
  WorkflowNotFoundError,
  type ConnectionOptions,
  type DataConverter,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type PayloadCodec, type QueryDefinition } from '@temporalio/common';
import { DEFAULT_EVIDENCE_STORE, type EnvelopeRecord, type QuarantinedEnvelope } from '../activities/store';
import { codecFromKeys, dataConverterFor } from '../common/codec';
import { connectionOptionsOf, loadWorkerConfig, type WorkerConfig } from '../worker/config';
import { docusignConnection } from '../workflows';
import {
  parseConnectionConfig,
  parseCredentialsUpdate,
  type ConnectionConfig,
  type CredentialsUpdate,
} from '../workflows/config';
import {
  configQuery,
  connectEventsSignal,
  consentDeniedSignal,
  consentGrantedSignal,
  credentialsUpdatedSignal,
  DEFAULT_TASK_QUEUE,
  disconnectSignal,
  startAttributesOf,
  statusQuery,
  syncAndWaitUpdate,
  syncNowSignal,
  workflowIdOf,
  type ConnectEvents,
  type ConnectionStatus,
  type SyncRequest,
} from '../workflows/messages';
import type { SnapshotKind } from '../workflows/evidence';
import type { SnapshotEntry, SnapshotRecord } from '../activities/store/snapshots';
import { configFromHistory, differences } from './connection-config';
import {
  ConnectionClosedError,
  ConnectionNotFoundError,
  isNoWorker,
  isNotFound,
  TemporalUnavailableError,
  WorkerUnavailableError,
} from './errors';
import { readEvidence, readQuarantined, readReport, readSnapshot, readSnapshotHistory } from './evidence';
import type { RenderedReport, ReportFormat } from './report';
import { listConnections, syncProgressOf, type ConnectionSummary, type SyncProgress } from './visibility';

// The library's surface beyond the class: its errors, the evidence readers and the status formatter.
export {
  ConnectionClosedError,
  ConnectionNotFoundError,
  ConnectorClientError,
  TemporalUnavailableError,
  WorkerUnavailableError,
} from './errors';
export {
  readEvidence,
  readQuarantined,
  readReport,
  readSnapshot,
  readSnapshotHistory,
  readUnreadableLines,
} from './evidence';
export { REPORT_FORMATS, type RenderedReport, type Report, type ReportFormat } from './report';
export type { SnapshotEntry, SnapshotRecord } from '../activities/store/snapshots';
export { describeStatus } from './format';
export type { ConnectionSummary, SyncProgress } from './visibility';
export { InvalidConfigError } from '../workflows/config';
export type { ConnectionConfig, CredentialsUpdate } from '../workflows/config';
export type { ConnectionStatus, Phase } from '../workflows/messages';
export type { EnvelopeRecord } from '../activities/store';

// ---------------------------------------------------------------------------------------------------------------------
// Types

export interface ConnectorClientOptions {
  /** Temporal frontend `host:port`; default `localhost:7233`. Ignored when `connection` is given. */
  address?: string;
  /** TLS / API key / metadata for the connection (see worker/config.ts `connectionOptionsOf`). */
  connectionOptions?: Omit<ConnectionOptions, 'address'>;
  /** An open connection to use; it is not closed by `close()`. */
  connection?: Connection;
  /** Default `default`. */
  namespace?: string;
  /** Where new connections' workflows run; default `docusign-connector`. */
  taskQueue?: string;
  /** Must match the worker's when payloads are encrypted (PAYLOAD_CODEC_KEYS): see common/codec.ts. */
  dataConverter?: DataConverter;
  /** EVIDENCE_STORE spec that `evidence()` and `quarantined()` read; default `./data/evidence`. */
  evidenceStore?: string;
  /** How long `status` and `config` wait for a worker to answer their query; default 10 s. */
  queryTimeoutMs?: number;
}

export interface ConnectResult {
  connectionId: string;
  workflowId: string;
  /** The run that holds the connection now (the existing one when `created` is false). */
  runId: string;
  /** False when the connection was already running: nothing new was started. */
  created: boolean;
  /**
   * When the connection already existed: the config fields whose value differs from the running connection's (those
   * were NOT applied; use `updateCredentials`, or disconnect and connect again).
   */
  differingFields: (keyof ConnectionConfig)[];
  /** Why the running connection's config could not be compared (then `differingFields` is empty but unknown). */
  comparisonError?: string;
}

const DEFAULT_ADDRESS = 'localhost:7233';
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------------------------------
// The client

export class ConnectorClient {
  readonly namespace: string;
  readonly taskQueue: string;
  readonly address: string;
  private readonly evidenceStore: string;
  private readonly queryTimeoutMs: number;
  private readonly codecs: readonly PayloadCodec[];

  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    private readonly ownsConnection: boolean,
    options: ConnectorClientOptions,
  ) {
    this.namespace = options.namespace ?? 'default';
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.address = options.address ?? DEFAULT_ADDRESS;
    this.evidenceStore = options.evidenceStore ?? DEFAULT_EVIDENCE_STORE;
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.codecs = options.dataConverter?.payloadCodecs ?? [];
  }

  /** Connects to Temporal with explicit options. */
  static async create(options: ConnectorClientOptions = {}): Promise<ConnectorClient> {
    let connection = options.connection;
    const owns = !connection;
    if (!connection) {
      const address = options.address ?? DEFAULT_ADDRESS;
      try {
        connection = await Connection.connect({ ...options.connectionOptions, address });
      } catch (err) {
        throw new TemporalUnavailableError(`cannot reach Temporal at ${address}: ${(err as Error).message}`);
      }
    }
    const temporal = new Client({
      connection,
      namespace: options.namespace ?? 'default',
      ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    });
    return new ConnectorClient(temporal, connection, owns, options);
  }

  /**
   * Connects as the worker does, from the same environment: TEMPORAL_ADDRESS (default the embedded dev server's
   * 127.0.0.1:DEV_SERVER_PORT, i.e. localhost:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TLS / API key,
   * PAYLOAD_CODEC_KEYS, EVIDENCE_STORE. Throws worker/config.ts's ConfigError on a bad variable.
   */
  static async fromEnv(
    env: NodeJS.ProcessEnv = process.env,
    overrides: Partial<ConnectorClientOptions> = {},
  ): Promise<ConnectorClient> {
    return ConnectorClient.fromConfig(loadWorkerConfig(env), overrides);
  }

  /** As fromEnv, from a worker configuration already loaded (the CLI loads it once per command). */
  static async fromConfig(
    config: WorkerConfig,
    overrides: Partial<ConnectorClientOptions> = {},
  ): Promise<ConnectorClient> {
    const { address, ...connectionOptions } = connectionOptionsOf(config);
    const dataConverter = dataConverterFor(codecFromKeys(config.payloadCodecKeys));
    return ConnectorClient.create({
      address,
      connectionOptions,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      evidenceStore: config.evidenceStore,
      ...(dataConverter ? { dataConverter } : {}),
      ...overrides,
    });
  }

  /**
   * Validates `input` (throws InvalidConfigError naming the field and the rule) and starts the connection's workflow.
   * Idempotent: a running connection with the same ID is kept as it is (`created: false`).
   *
   * `consentGranted: true` when the service user's consent is already done (e.g. an administrator consented before
   * the connection was made): the start carries `consentGranted`, so no consent link is built and authorization
   * begins at once. A running connection gets the signal, which it ignores unless it awaits consent.
   */
  async connect(input: unknown, options: { consentGranted?: boolean } = {}): Promise<ConnectResult> {
    const config = parseConnectionConfig(input);
    const workflowId = workflowIdOf(config.connectionId);
    const before = await this.describe(config.connectionId).catch((err: unknown) => {
      if (err instanceof ConnectionNotFoundError) return undefined;
      throw err;
    });
    const start = {
      taskQueue: this.taskQueue,
      workflowId,
      args: [config],
      typedSearchAttributes: startAttributesOf(config),
      staticSummary: `DocuSign connection ${config.connectionId} (${config.environment})`,
    } satisfies WorkflowStartOptions<typeof docusignConnection>;
    const runId = options.consentGranted
      ? (await this.temporal.workflow.signalWithStart(docusignConnection, { ...start, signal: consentGrantedSignal }))
          .signaledRunId
      : (await this.temporal.workflow.start(docusignConnection, { ...start, workflowIdConflictPolicy: 'USE_EXISTING' }))
          .firstExecutionRunId;
    const created = before?.status.name !== 'RUNNING';
    let differingFields: (keyof ConnectionConfig)[] = [];
    let comparisonError: string | undefined;
    if (!created) {
      try {
        differingFields = differences(await this.config(config.connectionId), config);
      } catch (err) {
        comparisonError = err instanceof Error ? err.message : String(err);
      }
    }
    return {
      connectionId: config.connectionId,
      workflowId,
      runId,
      created,
      differingFields,
      ...(comparisonError !== undefined ? { comparisonError } : {}),
    };
  }

  /** The browser consent completed: delivers `consentGranted` (ignored by the workflow unless awaiting consent). */
  async consent(connectionId: string): Promise<void> {
    await this.signal(connectionId, (h) => h.signal(consentGrantedSignal));
  }

  /** The browser consent was declined: delivers `consentDenied` (the connection goes to needs_attention). */
  async deny(connectionId: string, error?: string): Promise<void> {
    await this.signal(connectionId, (h) => h.signal(consentDeniedSignal, error === undefined ? {} : { error }));
  }

  /** Requests a sync now (also retries at once from needs_attention). */
  async syncNow(connectionId: string, request: SyncRequest = {}): Promise<void> {
    await this.signal(connectionId, (h) => h.signal(syncNowSignal, request));
  }

  /** Delivers DocuSign Connect events (the connect listener's debounced burst): the connection syncs envelopes now. */
  async connectEvents(connectionId: string, events: ConnectEvents): Promise<void> {
    await this.signal(connectionId, (h) => h.signal(connectEventsSignal, events));
  }

  /** Requests a sync and returns the status once that sync finished or the connection ended in needs_attention. */
  async syncAndWait(connectionId: string, request: SyncRequest = {}): Promise<ConnectionStatus> {
    const handle = this.handle(connectionId);
    try {
      return await handle.executeUpdate(syncAndWaitUpdate, { args: [request] });
    } catch (err) {
      throw await this.explain(connectionId, err);
    }
  }

  /**
   * Delivers `disconnect`. With `wait`, also waits (up to `timeoutMs`, default 30 s) for the workflow to complete and
   * returns its final (disconnected) status, or undefined if it did not complete in time (no worker running).
   */
  async disconnect(connectionId: string): Promise<void>;
  async disconnect(
    connectionId: string,
    options: { wait: true; timeoutMs?: number },
  ): Promise<ConnectionStatus | undefined>;
  async disconnect(
    connectionId: string,
    options?: { wait: true; timeoutMs?: number },
  ): Promise<ConnectionStatus | undefined | void> {
    await this.signal(connectionId, (h) => h.signal(disconnectSignal));
    if (!options?.wait) return;
    const handle = this.handle(connectionId);
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    try {
      return await this.connection.withAbortSignal(timeout, () => handle.result());
    } catch (err) {
      if (timeout.aborted) return undefined;
      throw await this.explain(connectionId, err);
    }
  }

  /** Sends new credential references (validated first): the connection re-authorizes with them at once. */
  async updateCredentials(connectionId: string, update: CredentialsUpdate): Promise<void> {
    const parsed = parseCredentialsUpdate(update);
    await this.signal(connectionId, (h) => h.signal(credentialsUpdatedSignal, parsed));
  }

  /**
   * The connection's status: the `status` query while it runs, its final status once disconnected. Throws
   * WorkerUnavailableError when no worker answers within `queryTimeoutMs`.
   */
  async status(connectionId: string): Promise<ConnectionStatus> {
    const description = await this.describe(connectionId);
    const state = description.status.name;
    if (state === 'COMPLETED') return await this.handle(connectionId).result();
    if (state !== 'RUNNING') throw new ConnectionClosedError(connectionId, state);
    return this.query(connectionId, description.taskQueue, statusQuery);
  }

  /**
   * The config the connection runs with: the `config` query (the start input plus every credentialsUpdated since,
   * as the workflow merged them). References only (e.g. `file:/keys/acme.pem`), never key material. The run's
   * history gives the same answer where the query cannot: a closed run, no worker answering within `queryTimeoutMs`
   * (so `doctor` works while the worker is down), or a worker from before the query existed.
   */
  async config(connectionId: string): Promise<ConnectionConfig> {
    const description = await this.describe(connectionId);
    if (description.status.name === 'RUNNING') {
      try {
        return await this.query(connectionId, description.taskQueue, configQuery);
      } catch (err) {
        if (!(err instanceof QueryNotRegisteredError || err instanceof WorkerUnavailableError)) throw err;
      }
    }
    let history;
    try {
      history = await this.handle(connectionId).fetchHistory();
    } catch (err) {
      throw await this.explain(connectionId, err);
    }
    return configFromHistory(history, (payloads) => this.decode(payloads));
  }

  /** Progress of a running sync, from the workflow's pending sync activity (its last heartbeat). */
  async syncProgress(connectionId: string): Promise<SyncProgress> {
    return syncProgressOf(await this.describe(connectionId), (payloads) => this.decode(payloads));
  }

  /** Every connection visible in this namespace (from search attributes), newest first. */
  async list(): Promise<ConnectionSummary[]> {
    return listConnections(this.temporal.workflow);
  }

  /**
   * The stored envelope records of a connection (latest version of each envelope, in envelopeId order), read from
   * the evidence store directly: it works while the worker is down and after the connection was disconnected.
   */
  evidence(connectionId: string): AsyncIterable<EnvelopeRecord> {
    return readEvidence(this.evidenceStore, connectionId);
  }

  /**
   * The connection's quarantined envelopes (in envelopeId order): listed by DocuSign but not valid, kept exactly as
   * received with the reason until a sync fetches them valid. Read from the evidence store directly, like `evidence`.
   */
  quarantined(connectionId: string): Promise<QuarantinedEnvelope[]> {
    return readQuarantined(this.evidenceStore, connectionId);
  }

  /**
   * The auditor's report (HTML, Markdown or JSON): the evidence store's facts, with the live status and the
   * connection's signed-proof policy when a worker answers (the report says so when it does not).
   */
  async report(connectionId: string, options: { format: ReportFormat; since?: string }): Promise<RenderedReport> {
    // The config only once the status answered: a worker is up, so it is one quick query (not a history replay).
    let live: Pick<Parameters<typeof readReport>[2], 'status' | 'policy'>;
    try {
      const status = await this.status(connectionId);
      const { signedProof } = await this.config(connectionId);
      live = { status, ...(signedProof ? { policy: signedProof } : {}) };
    } catch (err) {
      if (err instanceof ConnectionNotFoundError) throw err;
      live = { status: { unavailable: err instanceof Error ? err.message : String(err) } };
    }
    return readReport(this.evidenceStore, connectionId, { ...options, ...live });
  }

  /** The latest complete snapshot of a kind (users, groups, …): its records exactly as DocuSign sent them. */
  snapshot(connectionId: string, kind: SnapshotKind): AsyncIterable<SnapshotRecord> {
    return readSnapshot(this.evidenceStore, connectionId, kind);
  }

  /** Every complete snapshot of a kind, oldest first, each with its diff against the one before. */
  snapshotHistory(connectionId: string, kind: SnapshotKind): Promise<SnapshotEntry[]> {
    return readSnapshotHistory(this.evidenceStore, connectionId, kind);
  }

  /** The workflow's description (status, search attributes, pending activities). */
  async describe(connectionId: string): Promise<WorkflowExecutionDescription> {
    try {
      return await this.handle(connectionId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ConnectionNotFoundError(connectionId);
      throw err;
    }
  }

  /**
   * Polls `status` until the workflow has built its consent URL (an activity does that right after start), or the
   * connection no longer awaits consent. Resolves with the last status seen.
   */
  async waitForConsentUrl(connectionId: string, timeoutMs = 15_000): Promise<ConnectionStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(connectionId);
      if (status.consentUrl || status.phase !== 'awaiting_consent' || Date.now() >= deadline) return status;
      await sleep(200);
    }
  }

  /** The workflow handle of a connection (follows continue-as-new to the current run). */
  handle(connectionId: string): WorkflowHandle<typeof docusignConnection> {
    return this.temporal.workflow.getHandle<typeof docusignConnection>(workflowIdOf(connectionId));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.connection.close();
  }

  // -------------------------------------------------------------------------------------------------------------------

  private async signal(
    connectionId: string,
    send: (handle: WorkflowHandle<typeof docusignConnection>) => Promise<void>,
  ): Promise<void> {
    try {
      await send(this.handle(connectionId));
    } catch (err) {
      throw await this.explain(connectionId, err);
    }
  }

  /** A query to a running connection; WorkerUnavailableError when no worker answers within `queryTimeoutMs`. */
  private async query<T>(connectionId: string, taskQueue: string, query: QueryDefinition<T>): Promise<T> {
    const handle = this.handle(connectionId);
    const deadline = Date.now() + this.queryTimeoutMs;
    try {
      return await this.connection.withDeadline(deadline, () => handle.query(query));
    } catch (err) {
      // Our own deadline passed, whatever code the failure carries (not always DEADLINE_EXCEEDED on a busy host).
      if (isNoWorker(err) || (err instanceof ServiceError && Date.now() >= deadline)) {
        throw new WorkerUnavailableError(connectionId, taskQueue);
      }
      throw await this.explain(connectionId, err);
    }
  }

  /** Turns "workflow not found" (which the server also says for a closed workflow) into the precise error. */
  private async explain(connectionId: string, err: unknown): Promise<unknown> {
    if (!(err instanceof WorkflowNotFoundError) && !isNotFound(err)) return err;
    const description = await this.handle(connectionId)
      .describe()
      .catch(() => undefined);
    if (description && description.status.name !== 'RUNNING') {
      return new ConnectionClosedError(connectionId, description.status.name);
    }
    return new ConnectionNotFoundError(connectionId);
  }

  /** Payloads from history or describe: through the codec(s), then the default JSON converter. */
  private async decode(payloads: Payload[]): Promise<unknown[]> {
    let decoded = payloads;
    for (const codec of [...this.codecs].reverse()) decoded = await codec.decode(decoded);
    return decoded.map((p) => defaultPayloadConverter.fromPayload(p));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
