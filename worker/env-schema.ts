/**
 * The worker's environment as a zod schema: one key per variable, each with its rule and default, plus the rules that
 * involve several variables (`crossChecks`). worker/config.ts runs both and turns the result into a WorkerConfig.
 * Blank values count as unset (docker-compose `${VAR:-}` passes '').
 */
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import {
  DEFAULT_KEY_ENV_PREFIX,
  DEFAULT_KEYS_DIR,
  isKeyEnvPrefix,
  isKeysDir,
  KEY_ENV_PREFIX_RULE,
  KEYS_DIR_RULE,
  parseAllowedHosts,
} from '../activities/trust';
import { parseCodecKeys } from '../common/codec';
import { MIN_CONSENT_STATE_SECRET_LENGTH } from '../common/consent-state';
import { DEFAULT_TASK_QUEUE } from '../workflows/messages';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const blankIsUnset = (v: unknown): unknown => {
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

/** One of `values`, any case; unset or blank gives `def`. */
const enumWithDefault = <const T extends readonly [string, ...string[]]>(values: T, def: T[number], rule: string) =>
  z
    .preprocess(
      (v) => (typeof v === 'string' ? blankIsUnset(v.toLowerCase()) : v),
      z.enum(values, { error: rule }).optional(),
    )
    .transform((v): T[number] => v ?? def);

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
export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

function portOk(hostPort: string): boolean {
  const m = /:(\d{1,5})$/.exec(hostPort);
  if (!m || hostPort.startsWith('[') !== hostPort.includes(']')) return true;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535;
}

export const workerEnvSchema = z.object({
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
  LOG_LEVEL: enumWithDefault(LOG_LEVELS, 'info', `must be one of ${LOG_LEVELS.join(', ')}`),
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
  SYNC_CONCURRENCY: intWithDefault(1, 1000, 4),
  // Unset: the SDK's default, sized from the V8 heap limit.
  WORKFLOW_CACHE_SIZE: z.preprocess(blankIsUnset, wholeNumber(0, 1_000_000).optional()),
  STICKY_QUEUE_TIMEOUT_MS: intWithDefault(1000, 3_600_000, 10_000),
  WORKFLOW_STACK_TRACES: enumWithDefault(['on', 'off'] as const, 'off', 'must be on or off'),
  WORKFLOW_BUNDLE_PATH: readableFile,
  DEV_SERVER_DB: stringWithDefault('./data/temporal-dev.sqlite'),
  DEV_SERVER_PORT: intWithDefault(1, 65535, 7233),
  DEV_SERVER_UI_PORT: intWithDefault(1, 65535, 8233),
});

export type WorkerEnv = z.output<typeof workerEnvSchema>;
export type EnvName = keyof WorkerEnv;

/** Every variable the worker reads, in documentation order. */
export const WORKER_ENV_VARS = Object.keys(workerEnvSchema.shape) as EnvName[];

/**
 * Rules that involve several variables. They run on the raw (trimmed, blank = unset) values, so they are reported
 * together with the per-variable problems; a variable that already has a problem keeps that one.
 */
export function crossChecks(raw: Partial<Record<EnvName, string>>): { variable: EnvName; message: string }[] {
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
