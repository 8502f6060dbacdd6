/**
 * A sync pass in one activity (runs from the workflow's `one-bulk-pass` patch on): the envelope sync, then the snapshot
 * kinds due with it. Each activity costs the workflow an activity task and a workflow task to read its result, and
 * such tasks are most of the server's work per onboarding (bench/README.md, "One activity per pass").
 *
 * Retries keep both halves' guarantees. A retried attempt runs the sync again, which resumes from the store's
 * checkpoint of this sync (a finished one lists no page again; envelopes in quarantine are fetched by ID again, as at
 * the start of every attempt), then the snapshots, where kinds already published are not read again. Once the
 * envelopes are stored, a failure carries their result, so the workflow records the sync whatever becomes of the
 * snapshots.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { SnapshotKind, SnapshotOutcome, SyncResult } from '../workflows/evidence';
import { withDetails } from './errors';
import type { SyncInput } from './sync';

export interface SyncPassInput extends SyncInput {
  /** The snapshot kinds due with this sync (may be none); their snapshots are named by `startedAt`. */
  snapshotKinds: SnapshotKind[];
}

export interface SyncPassResult {
  envelopes: SyncResult;
  snapshots: SnapshotOutcome[];
}

/** Runs the envelope sync, then the snapshot pass (takeSnapshotPass: per-kind failures come back as outcomes). */
export async function syncPass(
  syncEnvelopes: () => Promise<SyncResult>,
  takeSnapshots: () => Promise<SnapshotOutcome[]>,
): Promise<SyncPassResult> {
  const envelopes = await syncEnvelopes();
  try {
    return { envelopes, snapshots: await takeSnapshots() };
  } catch (err) {
    throw err instanceof ApplicationFailure ? withDetails(err, { envelopes }) : err;
  }
}
