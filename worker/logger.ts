/**
 * Structured JSON logging (pino) with two layers of secret protection (design.md §6: no private key, JWT assertion or
 * access token in logs):
 *   1. `redact`: known secret-bearing keys are replaced by "[redacted]" before serialisation;
 *   2. every serialised line passes through `scrubSecrets`, which blanks anything that LOOKS like a PEM block, a JWT
 *      or a `Bearer` credential wherever it appears (messages, error stacks, nested values).
 * `toTemporalLogger` adapts a pino logger to the Temporal SDK `Logger` interface for `Runtime.install({ logger })`.
 */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino from 'pino';

export type LogLevel = pino.LevelWithSilent;

export const REDACTED = '[redacted]';

/** Keys whose values never reach a log line, at the top level and up to two levels of nesting. */
export const REDACTED_KEYS: readonly string[] = [
  'privateKey',
  'access_token',
  'accessToken',
  'refresh_token',
  'assertion',
  'authorization',
  'Authorization',
  'apiKey',
  'payloadCodecKeys',
  'stateSecret',
  'password',
];

/** pino redact paths (`*` = any one key): `k`, `*.k`, `*.*.k` for each key, so `headers.authorization` is covered. */
export const REDACT_PATHS: readonly string[] = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const PEM_BLOCK =
  /-----BEGIN [A-Z0-9 ]{1,60}-----(?:[\s\S]*?-----END [A-Z0-9 ]{1,60}-----|(?:[A-Za-z0-9+/=\s]|\\[nr])*)/g;
/** header.payload.signature, each base64url; header and payload are JSON objects, so they start with `eyJ` ('{"'). */
const JWT = /\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const BEARER = /\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi;

/**
 * Replaces PEM blocks (also when truncated or JSON-escaped), JWTs and `Bearer <credential>` with "[redacted]". The
 * replacement keeps JSON text valid (it never consumes quotes or escapes other than \n and \r).
 */
export function scrubSecrets(text: string): string {
  return text.replace(PEM_BLOCK, REDACTED).replace(BEARER, REDACTED).replace(JWT, REDACTED);
}

export interface CreateLoggerOptions {
  level?: LogLevel;
  /** Where JSON lines go; default stdout. */
  destination?: pino.DestinationStream;
  /** Static fields on every line (default `{ service: 'docusign-connector' }`). */
  base?: Record<string, unknown>;
}

/** A pino JSON logger with redaction and scrubbing (see the module comment). */
export function createLogger(options: CreateLoggerOptions = {}): pino.Logger {
  const target = options.destination ?? pino.destination({ dest: 1, sync: true });
  const scrubbing: pino.DestinationStream & { flush?: () => void } = {
    write: (line: string) => target.write(scrubSecrets(line)),
    flush: () => (target as { flushSync?: () => void }).flushSync?.(),
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { service: 'docusign-connector' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    scrubbing,
  );
}

const LEVELS: Record<TemporalLogLevel, pino.Level> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** JSON-friendly copy of SDK log metadata: drops symbol keys (e.g. LogTimestamp), stringifies bigints. */
function plainMeta(meta: LogMetadata | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!meta) return out;
  for (const key of Object.keys(meta)) {
    const value: unknown = meta[key];
    out[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

const NO_WORKFLOWS_WARNING = 'No workflows registered, not polling for workflow tasks';

/**
 * The Temporal SDK `Logger` interface over a pino logger, for `Runtime.install({ logger: toTemporalLogger(log) })`
 * and `Worker.create`'s activity/workflow loggers: SDK log entries become JSON lines with their metadata
 * (`sdkComponent`, `workflowId`, `activityType`, ...) as fields, through the same redaction and scrubbing.
 */
export function toTemporalLogger(logger: pino.Logger): TemporalLogger {
  const emit = (level: TemporalLogLevel, message: string, meta?: LogMetadata): void => {
    // The bulk queue's worker runs activities only, by design (worker/worker.ts): not worth a warning at every start.
    const expected = level === 'WARN' && message.startsWith(NO_WORKFLOWS_WARNING);
    const method = expected ? 'debug' : (LEVELS[level] ?? 'info');
    logger[method](plainMeta(meta), message);
  };
  return {
    log: emit,
    trace: (message, meta) => emit('TRACE', message, meta),
    debug: (message, meta) => emit('DEBUG', message, meta),
    info: (message, meta) => emit('INFO', message, meta),
    warn: (message, meta) => emit('WARN', message, meta),
    error: (message, meta) => emit('ERROR', message, meta),
  };
}
