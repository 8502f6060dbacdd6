/**
 * Keeping the worker's secrets out of what it prints: configuration error messages (`withoutSecrets`) and the config
 * itself when it is logged (`redactWorkerConfig`).
 */
import { isPostgresUrl } from './env-schema';
import type { WorkerConfig } from './config';

/** Variables whose values are secret: never printed, replaced by `[redacted]` in `redactWorkerConfig`. */
export const SECRET_ENV_VARS = ['TEMPORAL_API_KEY', 'PAYLOAD_CODEC_KEYS', 'CONSENT_STATE_SECRET'] as const;

/** Removes any secret value of `env` (or a long fragment of one) that might have slipped into a message. */
export function withoutSecrets(message: string, env: NodeJS.ProcessEnv): string {
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
