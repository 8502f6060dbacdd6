/**
 * The worker process's environment (design.md §2 `worker/`), validated with zod in one pass: a bad environment
 * fails with ONE LINE PER BAD VARIABLE (`NAME: rule`), and no line ever contains a secret value.
 *
 * The schema is worker/env-schema.ts, redaction worker/redact.ts; `connectionOptionsOf(config)` turns the Temporal
 * part into options (common/temporal-connection.ts) that `NativeConnection.connect` (worker) and `Connection.connect`
 * (client) both accept.
 */
import path from 'node:path';
import { trustPolicyOf, type TrustPolicy } from '../activities/trust';
import {
  temporalConnectionOptions,
  TlsFileError,
  type TemporalConnectionOptions,
  type TlsFiles,
} from '../common/temporal-connection';
import {
  blankIsUnset,
  crossChecks,
  isPostgresUrl,
  WORKER_ENV_VARS,
  workerEnvSchema,
  type EnvName,
  type LogLevel,
} from './env-schema';
import { withoutSecrets } from './redact';

export { LOG_LEVELS, WORKER_ENV_VARS, type LogLevel } from './env-schema';
export { redactWorkerConfig, SECRET_ENV_VARS } from './redact';
export type { TemporalConnectionOptions, TlsFiles } from '../common/temporal-connection';

export interface WorkerConfig {
  temporal: {
    /** `host:port`; undefined = start the embedded dev server (see `devServer`). */
    address?: string;
    namespace: string;
    taskQueue: string;
    /** Temporal Cloud API key (secret). */
    apiKey?: string;
    /** Present when any TEMPORAL_TLS_* variable is set. */
    tls?: TlsFiles;
  };
  /** EVIDENCE_STORE as given: a directory path or a postgres:// URL (may contain a password). */
  evidenceStore: string;
  evidenceStoreKind: 'directory' | 'postgres';
  /** PAYLOAD_CODEC_KEYS as given (secret; already validated) — pass to `codecFromKeys`. */
  payloadCodecKeys?: string;
  /** `port` 0 = no metrics server. */
  metrics: { host: string; port: number };
  logLevel: LogLevel;
  consent: {
    redirectUri?: string;
    /** HMAC secret for the consent `state` (secret, >= 32 chars). */
    stateSecret?: string;
    stateTtlHours: number;
  };
  rateLimitReservePercent: number;
  docusignHttpTimeoutMs: number;
  /** Which keys the worker signs with and where it sends assertions and tokens (activities/trust.ts). */
  trust: TrustPolicy;
  shutdownGraceMs: number;
  /** Syncs, snapshots and proof passes this worker runs at once (its bulk queue's slots). */
  syncConcurrency: number;
  /**
   * Workflows kept in the sticky cache; an evicted one is replayed from its history when it next wakes. Undefined: the
   * SDK's default, sized from the V8 heap limit (README "Scale": a cache smaller than the connections active at once
   * turns every workflow task into a replay).
   */
  workflowCacheSize?: number;
  /** How long a workflow task waits on this worker's sticky queue before the server offers it to any worker. */
  stickyQueueTimeoutMs: number;
  /**
   * The SDK's stack trace of every promise a workflow creates (the `__stack_trace` query, the UI's "Call Stack"
   * tab). Off by default: recording them is 20–40 % of a replay's CPU (README "Scale").
   */
  workflowStackTraces: boolean;
  /** A pre-built workflow bundle (`npm run build`), absolute; undefined = bundle workflows/ at start. */
  workflowBundlePath?: string;
  devServer: { dbFilename: string; port: number; uiPort: number };
}

/** Thrown by `loadWorkerConfig`: `message` has one `NAME: rule` line per bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(issues.map((i) => `${i.variable}: ${i.message}`).join('\n'));
  }
}

/**
 * Reads and validates the worker's environment. Throws ConfigError with one `NAME: rule` line per bad variable
 * (the first problem found for it), never echoing a secret value.
 */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const raw: Partial<Record<EnvName, string>> = {};
  for (const name of WORKER_ENV_VARS) {
    const value = blankIsUnset(env[name]);
    if (typeof value === 'string') raw[name] = value;
  }
  const result = workerEnvSchema.safeParse(raw);
  const problems = new Map<string, string>();
  for (const issue of result.error?.issues ?? []) {
    const variable = String(issue.path[0] ?? 'environment');
    if (!problems.has(variable)) problems.set(variable, issue.message);
  }
  for (const { variable, message } of crossChecks(raw)) if (!problems.has(variable)) problems.set(variable, message);
  if (problems.size || !result.success) {
    const order = (v: string) => {
      const i = (WORKER_ENV_VARS as string[]).indexOf(v);
      return i < 0 ? WORKER_ENV_VARS.length : i;
    };
    throw new ConfigError(
      [...problems]
        .sort(([a], [b]) => order(a) - order(b))
        .map(([variable, message]) => ({ variable, message: withoutSecrets(message, env) })),
    );
  }
  const e = result.data;
  const anyTls =
    e.TEMPORAL_TLS_CERT_PATH ?? e.TEMPORAL_TLS_KEY_PATH ?? e.TEMPORAL_TLS_SERVER_NAME ?? e.TEMPORAL_TLS_CA_PATH;
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: anyTls
        ? {
            clientCertPath: e.TEMPORAL_TLS_CERT_PATH,
            clientKeyPath: e.TEMPORAL_TLS_KEY_PATH,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
            caPath: e.TEMPORAL_TLS_CA_PATH,
          }
        : undefined,
    },
    evidenceStore: e.EVIDENCE_STORE,
    evidenceStoreKind: isPostgresUrl(e.EVIDENCE_STORE) ? 'postgres' : 'directory',
    payloadCodecKeys: e.PAYLOAD_CODEC_KEYS,
    metrics: { host: e.METRICS_HOST, port: e.METRICS_PORT },
    logLevel: e.LOG_LEVEL,
    consent: {
      redirectUri: e.CONSENT_REDIRECT_URI,
      stateSecret: e.CONSENT_STATE_SECRET,
      stateTtlHours: e.CONSENT_STATE_TTL_HOURS,
    },
    rateLimitReservePercent: e.RATE_LIMIT_RESERVE_PERCENT,
    docusignHttpTimeoutMs: e.DOCUSIGN_HTTP_TIMEOUT_MS,
    trust: trustPolicyOf({
      keysDir: e.DOCUSIGN_KEYS_DIR,
      keyEnvPrefix: e.DOCUSIGN_KEY_ENV_PREFIX,
      allowedHosts: e.DOCUSIGN_ALLOWED_HOSTS?.split(','),
    }),
    shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    syncConcurrency: e.SYNC_CONCURRENCY,
    workflowCacheSize: e.WORKFLOW_CACHE_SIZE,
    stickyQueueTimeoutMs: e.STICKY_QUEUE_TIMEOUT_MS,
    workflowStackTraces: e.WORKFLOW_STACK_TRACES === 'on',
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH === undefined ? undefined : path.resolve(e.WORKFLOW_BUNDLE_PATH),
    devServer: { dbFilename: e.DEV_SERVER_DB, port: e.DEV_SERVER_PORT, uiPort: e.DEV_SERVER_UI_PORT },
  };
}

/** The variable that names each TLS file, for messages. */
const TLS_FILE_VARIABLES: Record<TlsFileError['file'], EnvName> = {
  clientCertPath: 'TEMPORAL_TLS_CERT_PATH',
  clientKeyPath: 'TEMPORAL_TLS_KEY_PATH',
  caPath: 'TEMPORAL_TLS_CA_PATH',
};

/**
 * The connection options of the config, reading the TLS files now (a file that cannot be read: ConfigError naming
 * its variable). Without TEMPORAL_ADDRESS the address is the embedded dev server's (`127.0.0.1:DEV_SERVER_PORT`)
 * unless `overrides.address` is given (e.g. the address the dev server actually bound).
 */
export function connectionOptionsOf(
  config: Pick<WorkerConfig, 'temporal' | 'devServer'>,
  overrides: { address?: string } = {},
): TemporalConnectionOptions {
  const { temporal } = config;
  try {
    return temporalConnectionOptions({
      address: overrides.address ?? temporal.address ?? `127.0.0.1:${config.devServer.port}`,
      namespace: temporal.namespace,
      ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}),
      ...(temporal.tls ? { tls: temporal.tls } : {}),
    });
  } catch (err) {
    if (err instanceof TlsFileError)
      throw new ConfigError([{ variable: TLS_FILE_VARIABLES[err.file], message: err.message }]);
    throw err;
  }
}
