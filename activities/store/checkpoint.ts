/** The sync checkpoint as both backends store it: validated JSON text on write, tolerant parsing on read. */
import { isPlainObject } from './checks';
import { EvidenceStoreError } from './errors';
import type { SyncCheckpoint } from './types';

/** The checkpoint as stored (JSON text), or an `invalid_evidence_record` error naming the field. */
export function prepareCheckpoint(description: string, checkpoint: SyncCheckpoint): string {
  const fail = (rule: string): never => {
    throw new EvidenceStoreError('invalid_evidence_record', `Evidence store ${description}: sync checkpoint ${rule}`);
  };
  if (typeof checkpoint.syncId !== 'string' || checkpoint.syncId === '') fail('syncId must be a non-empty string');
  if (!isPlainObject(checkpoint.progress)) fail('progress must be an object');
  return JSON.stringify({ syncId: checkpoint.syncId, progress: checkpoint.progress });
}

/** A stored checkpoint, or undefined if the text is not one (the sync then resumes from its heartbeat alone). */
export function parseCheckpoint(text: string): SyncCheckpoint | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (isPlainObject(value) && typeof value.syncId === 'string' && isPlainObject(value.progress)) {
      return { syncId: value.syncId, progress: value.progress };
    }
  } catch {
    // fall through
  }
  return undefined;
}
