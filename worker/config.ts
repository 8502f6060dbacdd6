/**
 * The worker process's environment (design.md §2 `worker/`), validated with zod in one pass: a bad environment
 * fails with ONE LINE PER BAD VARIABLE (`NAME: rule`), and no line ever contains a secret value.
 *
 * `connectionOptionsOf(config)` turns the Temporal part into options that `NativeConnection.connect` (worker) and
 * `Connection.connect` (client) both accept.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import {
  DEFAULT_KEY_ENV_PREFIX,
  DEFAULT_KEYS_DIR,
  isKeyEnvPrefix,
  isKeysDir,
  KEY_ENV_PREFIX_RULE,
  KEYS_DIR_RULE,
  parseAllowedHosts,
  trustPolicyOf,
  type TrustPolicy,
} from '../activities/trust';
import { MIN_CONSENT_STATE_SECRET_LENGTH } from '../common/consent-state';
import { DEFAULT_TASK_QUEUE } from '../workflows/messages';
import { parseCodecKeys } from '../common/codec';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Variables whose values are secret: never printed, replaced by `[redacted]` in `redactWorkerConfig`. */
export const SECRET_ENV_VARS = ['TEMPORAL_API_KEY', 'PAYLOAD_CODEC_KEYS', 'CONSENT_STATE_SECRET'] as const;

export interface TlsFiles {
  /** mTLS client certificate (PEM) — set together with `clientKeyPath`. */
  clientCertPath?: string;
  clientKeyPath?: string;
  /** SNI / host name to verify instead of the address's host. */
  serverName?: string;
  /** CA bundle (PEM) for servers whose certificate the OS does not trust. */
  caPath?: string;
}

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
  devServer: { dbFilename: string; port: number; uiPort: number };
}

/** Thrown by `loadWorkerConfig`: `message` has one `NAME: rule` line per bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(issues.map((i) => `${i.variable}: ${i.message}`).join('\n'));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Schema: one key per environment variable. Blank values count as unset (docker-compose `${VAR:-}` passes '').

const blankIsUnset = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  return t === '' ? undefined : t;
};

const optionalString = () => z.preprocess(blankIsUnset, z.string().optional());

function wholeNumber(min: number, max: number) {
  const rule = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: rule })
    .regex(/^\d{1,10}$/, rule)
    .transform(Number)
    .refine((n) => n >= min && n <= max, rule);
}
const intWithDefault = (min: number, max: number, def: number) =>
  z.preprocess(blankIsUnset, wholeNumber(min, max).optional()).transform((v) => v ?? def);

const stringWithDefault = (def: string, check?: { test: (s: string) => boolean; rule: string }) =>
  z
    .preprocess(blankIsUnset, z.string().optional())
    .transform((v) => v ?? def)
    .superRefine((v, ctx) => {
      if (check && !check.test(v)) ctx.addIssue({ code: 'custom', message: check.rule });
    });

const readableFile = z.preprocess(
  blankIsUnset,
  z
    .string()
    .superRefine((p, ctx) => {
      try {
        accessSync(p, constants.R_OK);
      } catch {
        ctx.addIssue({ code: 'custom', message: `cannot read file ${p}` });
      }
    })
    .optional(),
);

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/;
const isHttpUrl = (s: string) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol);
const isPostgresUrl = (s: string) => /^postgres(ql)?:\/\//i.test(s);

const schema = z.object({
  TEMPORAL_ADDRESS: optionalString().refine(
    (v) => v === undefined || (HOST_PORT.test(v) && portOk(v)),
    'must be host:port without a scheme, e.g. temporal:7233 (unset = embedded dev server)',
  ),
  TEMPORAL_NAMESPACE: stringWithDefault('default', {
    test: (s) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(s),
    rule: 'must be a Temporal namespace name (letters, digits, . _ -)',
  }),
  TEMPORAL_TASK_QUEUE: stringWithDefault(DEFAULT_TASK_QUEUE, {
    test: (s) => /^\S{1,1000}$/.test(s),
    rule: 'must be a non-empty name without spaces',
  }),
  TEMPORAL_API_KEY: optionalString().refine(
    (v) => v === undefined || /^[\x21-\x7e]+$/.test(v),
    'must be a single token of printable characters (the Temporal Cloud API key)',
  ),
  TEMPORAL_TLS_CERT_PATH: readableFile,
  TEMPORAL_TLS_KEY_PATH: readableFile,
  TEMPORAL_TLS_SERVER_NAME: optionalString().refine(
    (v) => v === undefined || /^[A-Za-z0-9.-]{1,253}$/.test(v),
    'must be a host name',
  ),
  TEMPORAL_TLS_CA_PATH: readableFile,
  EVIDENCE_STORE: stringWithDefault('./data/evidence').superRefine((v, ctx) => {
    if (isPostgresUrl(v)) {
      let ok = false;
      try {
        ok = new URL(v).hostname !== '';
      } catch {
        ok = false;
      }
      if (!ok)
        ctx.addIssue({ code: 'custom', message: 'is not a valid postgres:// URL (postgres://user:pass@host:5432/db)' });
    } else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be a directory path or a postgres:// URL' });
    }
  }),
  PAYLOAD_CODEC_KEYS: optionalString().superRefine((v, ctx) => {
    if (v === undefined) return;
    try {
      parseCodecKeys(v);
    } catch (err) {
      // parseCodecKeys never puts key material in its messages.
      ctx.addIssue({
        code: 'custom',
        message: `${(err as Error).message} (format: keyId:base64key[,keyId:base64key])`,
      });
    }
  }),
  METRICS_PORT: intWithDefault(0, 65535, 0),
  METRICS_HOST: stringWithDefault('127.0.0.1', {
    test: (s) => /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9.-]+)$/.test(s),
    rule: 'must be a host name or IP address to bind, e.g. 127.0.0.1 or 0.0.0.0',
  }),
  LOG_LEVEL: z
    .preprocess(
      (v) => (typeof v === 'string' ? blankIsUnset(v.toLowerCase()) : v),
      z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
    )
    .transform((v): LogLevel => v ?? 'info'),
  CONSENT_REDIRECT_URI: optionalString().refine((v) => v === undefined || isHttpUrl(v), 'must be an http(s) URL'),
  CONSENT_STATE_SECRET: optionalString().refine(
    (v) => v === undefined || v.length >= MIN_CONSENT_STATE_SECRET_LENGTH,
    `must be at least ${MIN_CONSENT_STATE_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`,
  ),
  CONSENT_STATE_TTL_HOURS: intWithDefault(1, 8760, 168),
  RATE_LIMIT_RESERVE_PERCENT: intWithDefault(0, 90, 10),
  DOCUSIGN_HTTP_TIMEOUT_MS: intWithDefault(1000, 600_000, 30_000),
  DOCUSIGN_KEYS_DIR: stringWithDefault(DEFAULT_KEYS_DIR, { test: isKeysDir, rule: KEYS_DIR_RULE }),
  DOCUSIGN_KEY_ENV_PREFIX: stringWithDefault(DEFAULT_KEY_ENV_PREFIX, {
    test: isKeyEnvPrefix,
    rule: KEY_ENV_PREFIX_RULE,
  }),
  DOCUSIGN_ALLOWED_HOSTS: optionalString().superRefine((v, ctx) => {
    if (v === undefined) return;
    try {
      parseAllowedHosts(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  WORKER_SHUTDOWN_GRACE_MS: intWithDefault(0, 3_600_000, 30_000),
  DEV_SERVER_DB: stringWithDefault('./data/temporal-dev.sqlite'),
  DEV_SERVER_PORT: intWithDefault(1, 65535, 7233),
  DEV_SERVER_UI_PORT: intWithDefault(1, 65535, 8233),
});

function portOk(hostPort: string): boolean {
  const m = /:(\d{1,5})$/.exec(hostPort);
  if (!m || hostPort.startsWith('[') !== hostPort.includes(']')) return true;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535;
}

type Parsed = z.output<typeof schema>;

/** Every variable `loadWorkerConfig` reads, in documentation order. */
export const WORKER_ENV_VARS = Object.keys(schema.shape) as (keyof Parsed)[];

type EnvName = keyof Parsed;

/**
 * Rules that involve several variables. They run on the raw (trimmed, blank = unset) values, so they are reported
 * together with the per-variable problems; a variable that already has a problem keeps that one.
 */
function crossChecks(raw: Partial<Record<EnvName, string>>): { variable: EnvName; message: string }[] {
  const issues: { variable: EnvName; message: string }[] = [];
  const num = (name: EnvName, def: number): number | undefined => {
    const v = raw[name];
    return v === undefined ? def : /^\d{1,10}$/.test(v) ? Number(v) : undefined;
  };
  if (raw.TEMPORAL_TLS_CERT_PATH && !raw.TEMPORAL_TLS_KEY_PATH) {
    issues.push({ variable: 'TEMPORAL_TLS_KEY_PATH', message: 'required when TEMPORAL_TLS_CERT_PATH is set' });
  }
  if (raw.TEMPORAL_TLS_KEY_PATH && !raw.TEMPORAL_TLS_CERT_PATH) {
    issues.push({ variable: 'TEMPORAL_TLS_CERT_PATH', message: 'required when TEMPORAL_TLS_KEY_PATH is set' });
  }
  if (!raw.TEMPORAL_ADDRESS) {
    const remoteOnly: EnvName[] = [
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS_CERT_PATH',
      'TEMPORAL_TLS_KEY_PATH',
      'TEMPORAL_TLS_SERVER_NAME',
      'TEMPORAL_TLS_CA_PATH',
    ];
    for (const name of remoteOnly) {
      if (raw[name] !== undefined) {
        issues.push({
          variable: name,
          message: 'requires TEMPORAL_ADDRESS (unset means the embedded dev server, which takes no TLS or API key)',
        });
      }
    }
    const devPort = num('DEV_SERVER_PORT', 7233);
    const uiPort = num('DEV_SERVER_UI_PORT', 8233);
    const metricsPort = num('METRICS_PORT', 0);
    if (devPort !== undefined && devPort === uiPort) {
      issues.push({ variable: 'DEV_SERVER_UI_PORT', message: 'must differ from DEV_SERVER_PORT' });
    }
    if (metricsPort && (metricsPort === devPort || metricsPort === uiPort)) {
      issues.push({ variable: 'METRICS_PORT', message: 'must differ from DEV_SERVER_PORT and DEV_SERVER_UI_PORT' });
    }
  }
  return issues;
}

/** Removes any secret value (or a long fragment of one) that might have slipped into a message. */
function withoutSecrets(message: string, env: NodeJS.ProcessEnv): string {
  let out = message;
  for (const name of SECRET_ENV_VARS) {
    const value = env[name]?.trim();
    if (!value) continue;
    // The whole value, its space-separated words and, for PAYLOAD_CODEC_KEYS, each entry and each key (not the
    // key ids, which are public and useful in messages).
    const fragments = [value, ...value.split(/\s+/)];
    if (name === 'PAYLOAD_CODEC_KEYS') {
      for (const entry of value.split(',')) fragments.push(entry.trim(), entry.slice(entry.indexOf(':') + 1).trim());
    }
    const longestFirst = fragments.filter((f) => f.length >= 6).sort((a, b) => b.length - a.length);
    for (const f of longestFirst) out = out.split(f).join('[redacted]');
  }
  const store = env.EVIDENCE_STORE?.trim();
  if (store && isPostgresUrl(store) && URL.canParse(store)) {
    const password = decodeURIComponent(new URL(store).password);
    if (password.length >= 4) out = out.split(password).join('[redacted]');
  }
  return out;
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
  const result = schema.safeParse(raw);
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
    devServer: { dbFilename: e.DEV_SERVER_DB, port: e.DEV_SERVER_PORT, uiPort: e.DEV_SERVER_UI_PORT },
  };
}

/** A copy safe to log: secrets replaced by `[redacted]`, the Postgres password removed. */
export function redactWorkerConfig(config: WorkerConfig): WorkerConfig {
  const redact = (v: string | undefined) => (v === undefined ? undefined : '[redacted]');
  let store = config.evidenceStore;
  if (config.evidenceStoreKind === 'postgres' && URL.canParse(store)) {
    const url = new URL(store);
    if (url.password) url.password = 'redacted';
    store = url.toString();
  }
  return {
    ...config,
    temporal: { ...config.temporal, apiKey: redact(config.temporal.apiKey) },
    evidenceStore: store,
    payloadCodecKeys: redact(config.payloadCodecKeys),
    consent: { ...config.consent, stateSecret: redact(config.consent.stateSecret) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Connection options shared by the worker (NativeConnection.connect) and clients (Connection.connect).

/**
 * The intersection of `NativeConnectionOptions` (@temporalio/worker) and `ConnectionOptions` (@temporalio/client)
 * that this project uses: assignable to both.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

function readConfigFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([
      { variable, message: `cannot read file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
}

/**
 * Builds the connection options from the config, reading the TLS files now. Without TEMPORAL_ADDRESS the address is
 * the embedded dev server's (`127.0.0.1:DEV_SERVER_PORT`) unless `overrides.address` is given (e.g. the address the
 * dev server actually bound). With an API key TLS is on (Temporal Cloud) and the `temporal-namespace` header is set.
 */
export function connectionOptionsOf(
  config: Pick<WorkerConfig, 'temporal' | 'devServer'>,
  overrides: { address?: string } = {},
): TemporalConnectionOptions {
  const { temporal } = config;
  const address = overrides.address ?? temporal.address ?? `127.0.0.1:${config.devServer.port}`;
  const options: TemporalConnectionOptions = { address };
  if (temporal.tls) {
    const tls: TLSConfig = {};
    const { clientCertPath, clientKeyPath, serverName, caPath } = temporal.tls;
    if (clientCertPath && clientKeyPath) {
      tls.clientCertPair = {
        crt: readConfigFile('TEMPORAL_TLS_CERT_PATH', clientCertPath),
        key: readConfigFile('TEMPORAL_TLS_KEY_PATH', clientKeyPath),
      };
    }
    if (serverName) tls.serverNameOverride = serverName;
    if (caPath) tls.serverRootCACertificate = readConfigFile('TEMPORAL_TLS_CA_PATH', caPath);
    options.tls = tls;
  }
  if (temporal.apiKey) {
    options.apiKey = temporal.apiKey;
    options.tls ??= true;
    options.metadata = { 'temporal-namespace': temporal.namespace };
  }
  return options;
}
