/**
 * The evidence store (design.md §5): `createEvidenceStore(spec)` picks the backend from EVIDENCE_STORE's value.
 * A `postgres://` or `postgresql://` URL selects Postgres; anything else is a directory path.
 */
import { DirectoryStore } from './directory';
import { PostgresStore } from './postgres';
import type { EvidenceStore, EvidenceStoreOptions } from './types';

export type {
  EnvelopeRecord,
  EvidenceStore,
  EvidenceStoreOptions,
  PageWriteResult,
  QuarantinedEnvelope,
  SyncCheckpoint,
  UnreadableLine,
} from './types';
export { DirectoryStore } from './directory';
export { EvidenceStoreError } from './errors';
export { instantKey } from './identity';
export { PostgresStore } from './postgres';

/** Used by callers when EVIDENCE_STORE is unset. */
export const DEFAULT_EVIDENCE_STORE = './data/evidence';

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

export function isPostgresSpec(spec: string): boolean {
  return POSTGRES_URL.test(spec.trim());
}

/** Builds (does not open) the store; call `init()` before use. The spec may hold a password: never log it, log `description`. */
export function createEvidenceStore(spec: string, options: EvidenceStoreOptions = {}): EvidenceStore {
  const value = spec.trim();
  if (value === '') {
    throw new Error('EVIDENCE_STORE is empty: give a directory path or a postgres:// URL');
  }
  return isPostgresSpec(value) ? new PostgresStore(value) : new DirectoryStore(value, options);
}
