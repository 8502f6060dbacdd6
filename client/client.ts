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
 */
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  type ConnectionOptions,
  type DataConverter,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import {
  createEvidenceStore,
  DEFAULT_EVIDENCE_STORE,
  type EnvelopeRecord,
  type EvidenceStore,
  type QuarantinedEnvelope,
  type UnreadableLine,
} from '../activities/store';
import { codecFromKeys, dataConverterFor } from '../common/codec';
import { connectionOptionsOf, loadWorkerConfig, type WorkerConfig } from '../worker/config';
import {
  CONNECTION_ID,
  credentialsUpdateSchema,
  describeIssues,
  InvalidConfigError,
  parseConnectionConfig,
  type ConnectionConfig,
  type CredentialsUpdate,
} from '../workflows/config';
import {
  consentDeniedSignal,
  consentGrantedSignal,
  credentialsUpdatedSignal,
  DEFAULT_TASK_QUEUE,
  disconnectSignal,
  searchAttributes,
  statusQuery,
  syncAndWaitUpdate,
  syncNowSignal,
  WORKFLOW_TYPE,
  workflowIdOf,
  type ConnectionStatus,
  type Phase,
} from '../workflows/messages';

export { InvalidConfigError } from '../workflows/config';
export type { ConnectionConfig, CredentialsUpdate } from '../workflows/config';
export type { ConnectionStatus, Phase } from '../workflows/messages';
export type { EnvelopeRecord } from '../activities/store';

// ---------------------------------------------------------------------------------------------------------------------
// Errors

/** Base class of the errors this library throws (besides InvalidConfigError). */
export class ConnectorClientError extends Error {
  override name = 'ConnectorClientError';
}

/** No workflow exists for the connection ID. */
export class ConnectionNotFoundError extends ConnectorClientError {
  override name = 'ConnectionNotFoundError';
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} not found (no workflow ${workflowIdOf(connectionId)})`);
  }
}

/** The connection's workflow has closed (disconnected, or terminated by an operator): it takes no more messages. */
export class ConnectionClosedError extends ConnectorClientError {
  override name = 'ConnectionClosedError';
  constructor(
    readonly connectionId: string,
    readonly workflowStatus: string,
  ) {
    super(
      workflowStatus === 'COMPLETED'
        ? `connection ${connectionId} is disconnected; connect it again to resume`
        : `connection ${connectionId}'s workflow is ${workflowStatus.toLowerCase()}; connect it again to resume`,
    );
  }
}

/** The status query got no answer in time: no worker is polling the connection's task queue. */
export class WorkerUnavailableError extends ConnectorClientError {
  override name = 'WorkerUnavailableError';
  constructor(
    readonly connectionId: string,
    readonly taskQueue: string,
  ) {
    super(`no worker answered for connection ${connectionId}: is a worker running on task queue ${taskQueue}?`);
  }
}

/** Temporal cannot be reached at the configured address. */
export class TemporalUnavailableError extends ConnectorClientError {
  override name = 'TemporalUnavailableError';
}

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
  /** How long `status` waits for a worker to answer the query; default 10 s. */
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

export interface ConnectionSummary {
  connectionId: string;
  environment: 'demo' | 'production';
  phase: Phase;
  /** ISO time the last successful sync finished. */
  lastSyncAt?: string;
}

export interface SyncProgress {
  phase: Phase;
  /** Pages stored by the running sync attempt (from its last heartbeat). */
  pages?: number;
  /** Attempt number of the running sync activity (> 1 after a retry). */
  attempt?: number;
  /** Why the previous attempt failed, when it is being retried. */
  lastFailure?: string;
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
   */
  async connect(input: unknown): Promise<ConnectResult> {
    const config = parseConnectionConfig(input);
    const workflowId = workflowIdOf(config.connectionId);
    const before = await this.describe(config.connectionId).catch((err: unknown) => {
      if (err instanceof ConnectionNotFoundError) return undefined;
      throw err;
    });
    const handle = await this.temporal.workflow.start(WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId,
      args: [config],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: searchAttributes.connectionId, value: config.connectionId },
        { key: searchAttributes.environment, value: config.environment },
        { key: searchAttributes.phase, value: 'awaiting_consent' },
      ],
      staticSummary: `DocuSign connection ${config.connectionId} (${config.environment})`,
    });
    const created = before?.status.name !== 'RUNNING';
    let differingFields: (keyof ConnectionConfig)[] = [];
    let comparisonError: string | undefined;
    if (!created) {
      try {
        differingFields = differences(await this.configOf(config.connectionId), config);
      } catch (err) {
        comparisonError = err instanceof Error ? err.message : String(err);
      }
    }
    return {
      connectionId: config.connectionId,
      workflowId,
      runId: handle.firstExecutionRunId,
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
  async syncNow(connectionId: string): Promise<void> {
    await this.signal(connectionId, (h) => h.signal(syncNowSignal));
  }

  /** Requests a sync and returns the status once that sync finished or the connection ended in needs_attention. */
  async syncAndWait(connectionId: string): Promise<ConnectionStatus> {
    const handle = this.handle(connectionId);
    try {
      return await handle.executeUpdate(syncAndWaitUpdate);
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
      return (await this.connection.withAbortSignal(timeout, () => handle.result())) as ConnectionStatus;
    } catch (err) {
      if (timeout.aborted) return undefined;
      throw await this.explain(connectionId, err);
    }
  }

  /** Sends new credential references (validated first): the connection re-authorizes with them at once. */
  async updateCredentials(connectionId: string, update: CredentialsUpdate): Promise<void> {
    const parsed = credentialsUpdateSchema.safeParse(update);
    if (!parsed.success) throw new InvalidConfigError(describeIssues(parsed.error));
    await this.signal(connectionId, (h) => h.signal(credentialsUpdatedSignal, parsed.data));
  }

  /**
   * The connection's status: the `status` query while it runs, its final status once disconnected. Throws
   * WorkerUnavailableError when no worker answers within `queryTimeoutMs`.
   */
  async status(connectionId: string): Promise<ConnectionStatus> {
    const description = await this.describe(connectionId);
    const handle = this.handle(connectionId);
    const state = description.status.name;
    if (state === 'COMPLETED') return (await handle.result()) as ConnectionStatus;
    if (state !== 'RUNNING') throw new ConnectionClosedError(connectionId, state);
    try {
      return await this.connection.withDeadline(Date.now() + this.queryTimeoutMs, () => handle.query(statusQuery));
    } catch (err) {
      if (isNoWorker(err)) throw new WorkerUnavailableError(connectionId, description.taskQueue);
      throw await this.explain(connectionId, err);
    }
  }

  /** Progress of a running sync, from the workflow's pending sync activity (its last heartbeat). */
  async syncProgress(connectionId: string): Promise<SyncProgress> {
    const description = await this.describe(connectionId);
    const phase = description.typedSearchAttributes.get(searchAttributes.phase) as Phase | undefined;
    const progress: SyncProgress = { phase: phase ?? 'syncing' };
    const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'syncEnvelopes');
    if (!activity) return progress;
    if (activity.attempt) progress.attempt = activity.attempt;
    if (activity.lastFailure?.message) progress.lastFailure = activity.lastFailure.message;
    const payloads = activity.heartbeatDetails?.payloads;
    if (payloads?.length) {
      const [details] = await this.decode(payloads as Payload[]).catch(() => []);
      const pages = (details as { pages?: unknown } | undefined)?.pages;
      if (typeof pages === 'number') progress.pages = pages;
    }
    return progress;
  }

  /** Every connection visible in this namespace (from search attributes), newest first. */
  async list(): Promise<ConnectionSummary[]> {
    const seen = new Map<string, ConnectionSummary & { startedAt: number }>();
    const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ${searchAttributes.connectionId.name} IS NOT NULL`;
    for await (const info of this.temporal.workflow.list({ query })) {
      const sa = info.typedSearchAttributes;
      const connectionId = sa.get(searchAttributes.connectionId);
      const environment = sa.get(searchAttributes.environment);
      if (!connectionId || (environment !== 'demo' && environment !== 'production')) continue;
      if (info.status.name === 'CONTINUED_AS_NEW') continue; // superseded by the run that followed it
      const startedAt = info.startTime.getTime();
      const previous = seen.get(connectionId);
      if (previous && previous.startedAt >= startedAt) continue; // an older run of a reconnected connection
      const closed = info.status.name !== 'RUNNING';
      const phase = closed
        ? 'disconnected'
        : ((sa.get(searchAttributes.phase) as Phase | undefined) ?? 'awaiting_consent');
      const lastSync = sa.get(searchAttributes.lastSyncAt);
      seen.set(connectionId, {
        connectionId,
        environment,
        phase,
        ...(lastSync ? { lastSyncAt: lastSync.toISOString() } : {}),
        startedAt,
      });
    }
    return [...seen.values()]
      .sort((a, b) => b.startedAt - a.startedAt || a.connectionId.localeCompare(b.connectionId))
      .map(({ startedAt: _startedAt, ...summary }) => summary);
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
   * The config the connection runs with: the current run's start input plus every `credentialsUpdated` it received
   * since. It holds references only (e.g. `file:/keys/acme.pem`), never key material.
   */
  async configOf(connectionId: string): Promise<ConnectionConfig> {
    const handle = this.handle(connectionId);
    let history;
    try {
      history = await handle.fetchHistory();
    } catch (err) {
      throw await this.explain(connectionId, err);
    }
    const events = history.events ?? [];
    const startPayloads = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!startPayloads?.length) throw new ConnectorClientError(`connection ${connectionId}: start input not found`);
    const [start] = await this.decode(startPayloads);
    let config = parseConnectionConfig(start);
    for (const event of events) {
      const signaled = event.workflowExecutionSignaledEventAttributes;
      if (signaled?.signalName !== credentialsUpdatedSignal.name || !signaled.input?.payloads?.length) continue;
      const [update] = await this.decode(signaled.input.payloads);
      const parsed = credentialsUpdateSchema.safeParse(update);
      if (parsed.success) config = { ...config, ...parsed.data };
    }
    return config;
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
  handle(connectionId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(workflowIdOf(connectionId));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.connection.close();
  }

  // -------------------------------------------------------------------------------------------------------------------

  private async signal(connectionId: string, send: (handle: WorkflowHandle) => Promise<void>): Promise<void> {
    try {
      await send(this.handle(connectionId));
    } catch (err) {
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

// ---------------------------------------------------------------------------------------------------------------------
// Helpers (also used by the CLI and the demo)

/**
 * The stored envelope records of a connection (latest version of each, in envelopeId order), read from the evidence
 * store `spec` (EVIDENCE_STORE: a directory or a postgres:// URL) directly; needs no Temporal connection.
 */
export async function* readEvidence(spec: string, connectionId: string): AsyncIterable<EnvelopeRecord> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    yield* store.list(connectionId);
  } finally {
    await store.close();
  }
}

/** The quarantined envelopes of a connection (in envelopeId order), read from the evidence store `spec` directly. */
export async function readQuarantined(spec: string, connectionId: string): Promise<QuarantinedEnvelope[]> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    return await store.listQuarantined(connectionId);
  } finally {
    await store.close();
  }
}

/** Stored lines of a connection that no reader can use (skipped by `readEvidence`), from the store `spec`. */
export async function readUnreadableLines(spec: string, connectionId: string): Promise<UnreadableLine[]> {
  const store = storeOf(spec, connectionId);
  try {
    await store.init();
    return await store.unreadableLines(connectionId);
  } finally {
    await store.close();
  }
}

/** The evidence store `spec`, to read one (valid) connection from; not opened yet. */
function storeOf(spec: string, connectionId: string): EvidenceStore {
  if (!CONNECTION_ID.test(connectionId))
    throw new InvalidConfigError(`connectionId: must match ${String(CONNECTION_ID)}`);
  return createEvidenceStore(spec);
}

const CONFIG_FIELDS: (keyof ConnectionConfig)[] = [
  'environment',
  'integrationKey',
  'userId',
  'privateKeyRef',
  'accountId',
  'oauthBaseUrl',
  'redirectUri',
  'syncIntervalMinutes',
  'backfillFrom',
];

function differences(running: ConnectionConfig, wanted: ConnectionConfig): (keyof ConnectionConfig)[] {
  return CONFIG_FIELDS.filter((field) => running[field] !== wanted[field]);
}

/** No worker answered: the query's deadline passed, or the server knows no poller on the task queue. */
function isNoWorker(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; details?: unknown } } | undefined)?.cause;
  if (cause?.code === 9 && /no poller/i.test(String(cause.details))) return true; // FAILED_PRECONDITION
  return isDeadlineExceeded(err);
}

function isDeadlineExceeded(err: unknown): boolean {
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.cause?.code ??
    (err as { code?: unknown } | undefined)?.code;
  return code === 4; // grpc DEADLINE_EXCEEDED
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return e?.code === 5 || e?.cause?.code === 5; // grpc NOT_FOUND (raw, or wrapped in a ServiceError)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A readable, multi-line summary of a status (the CLI's `status` without --json, the demo). */
export function describeStatus(status: ConnectionStatus, now: number = Date.now()): string[] {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(12)}${value}`);
  row('connection', `${status.connectionId} (${status.environment})`);
  row('phase', status.phase);
  if (status.consentUrl) row('consent URL', status.consentUrl);
  if (status.account) {
    const name = status.account.accountName ? `${status.account.accountName} ` : '';
    row('account', `${name}${status.account.accountId} at ${status.account.baseUri}`);
  }
  if (status.token) row('token', `expires ${status.token.expiresAt} (${relative(status.token.expiresAt, now)})`);
  if (status.lastSync) {
    const s = status.lastSync;
    const pages = s.pages === undefined ? '' : `, ${s.pages} page${s.pages === 1 ? '' : 's'}`;
    row(
      'last sync',
      s.finishedAt
        ? `finished ${s.finishedAt}: ${s.envelopes} envelope${s.envelopes === 1 ? '' : 's'} new or changed${pages}`
        : `running since ${s.startedAt}`,
    );
    row('cursor', s.cursor);
  }
  row(
    'stored',
    `${status.totals.envelopes} envelope${status.totals.envelopes === 1 ? '' : 's'} in ${status.totals.syncs} sync${status.totals.syncs === 1 ? '' : 's'}`,
  );
  const held = status.totals.quarantined ?? 0;
  if (held > 0) {
    row('quarantined', `${held} envelope${held === 1 ? '' : 's'} not valid yet (evidence --quarantined)`);
  }
  if (status.nextSyncAt) {
    row(
      status.phase === 'needs_attention' ? 'next retry' : 'next sync',
      `${status.nextSyncAt} (${relative(status.nextSyncAt, now)})`,
    );
  }
  if (status.lastError) {
    row('last error', `${status.lastError.code} at ${status.lastError.at}: ${status.lastError.message}`);
    row('fix', status.lastError.hint);
  }
  return lines;
}

function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text =
    abs < 90_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 90 * 60_000
        ? `${Math.round(abs / 60_000)} min`
        : `${(abs / 3_600_000).toFixed(1)} h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}
