/**
 * Evidence checks shared by the reliability suites: the store against the emulator's ground truth, version
 * snapshots (nothing stored is ever lost), and workflow histories as text for secret scans.
 */
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createEvidenceStore, instantKey, isPostgresSpec } from '../../activities/store';
import type { Emulator } from '../../emulator';

export interface StoreCheck {
  /** Distinct envelopes stored (= the emulator's non-draft envelopes). */
  envelopes: number;
}

/** `envelopeId@statusChangedDateTime` of every line of changes.jsonl (empty if the file does not exist). */
export function storedVersions(storeDir: string, connectionId: string): string[] {
  const file = path.join(storeDir, connectionId, 'changes.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const r = JSON.parse(l) as { envelopeId: string; statusChangedDateTime: string };
      return `${r.envelopeId}@${r.statusChangedDateTime}`;
    });
}

/**
 * The store (a directory, or a postgres:// URL) holds EXACTLY the emulator's non-draft envelopes of the account
 * (status=any leaves drafts out), each once with its latest version, and no version twice (the directory's
 * changes.jsonl is read line by line; Postgres keys the versions table by version).
 */
export async function assertStoreMatches(
  storeSpec: string,
  connectionId: string,
  emu: Emulator,
  accountId: string,
): Promise<StoreCheck> {
  const truth = new Map(
    emu
      .envelopes(accountId)
      .filter((e) => e.status !== 'created')
      .map((e) => [e.envelopeId, e]),
  );
  const store = createEvidenceStore(storeSpec);
  const stored = new Set<string>();
  try {
    for await (const rec of store.list(connectionId)) {
      assert.ok(!stored.has(rec.envelopeId), `duplicate ${rec.envelopeId}`);
      stored.add(rec.envelopeId);
      const real = truth.get(rec.envelopeId);
      assert.ok(real, `stored envelope ${rec.envelopeId} is not in DocuSign`);
      assert.equal(rec.statusChangedDateTime, real.statusChangedDateTime, `latest version of ${rec.envelopeId}`);
      assert.equal(rec.status, real.status, `status of ${rec.envelopeId}`);
    }
  } finally {
    await store.close();
  }
  const missing = [...truth.keys()].filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], `${missing.length} envelopes missing from the store`);
  if (!isPostgresSpec(storeSpec)) {
    const versions = storedVersions(storeSpec, connectionId);
    const seen = new Set<string>();
    const dupes = versions.filter((v) => seen.size === seen.add(v).size);
    assert.deepEqual(dupes, [], 'a version was appended to changes.jsonl twice');
  }
  return { envelopes: stored.size };
}

/**
 * The cursor never passed an envelope that was not stored: every non-draft envelope whose status changed at or before
 * `cursor` is in the store with that version. Call it while DocuSign's data is unchanged since the sync ran.
 */
export function assertCursorCovered(
  storeDir: string,
  connectionId: string,
  emu: Emulator,
  accountId: string,
  cursor: string,
): number {
  const limit = instantKey(cursor);
  assert.ok(limit, `cursor ${cursor} is an ISO time`);
  const stored = new Set(storedVersions(storeDir, connectionId));
  const covered = emu
    .envelopes(accountId)
    .filter((e) => e.status !== 'created' && (instantKey(e.statusChangedDateTime) ?? '') <= limit);
  const missing = covered.filter((e) => !stored.has(`${e.envelopeId}@${e.statusChangedDateTime}`));
  assert.deepEqual(
    missing.map((e) => e.envelopeId),
    [],
    `cursor ${cursor} passed ${missing.length} envelopes that are not stored`,
  );
  return covered.length;
}

/** Every version in `before` is still in the store (a later sync, failed or not, never loses evidence). */
export function assertNothingLost(before: string[], storeDir: string, connectionId: string): void {
  const now = new Set(storedVersions(storeDir, connectionId));
  const lost = before.filter((v) => !now.has(v));
  assert.deepEqual(lost, [], 'stored versions disappeared');
}

/**
 * A workflow history as searchable text, with every byte field (payload data and metadata) decoded as UTF-8.
 * `JSON.stringify(history)` is not enough: the proto messages' toJSON turns bytes into base64, so a token inside a
 * payload would be invisible to a substring scan. This walks the message's own fields instead.
 */
export function historyText(history: unknown): string {
  return JSON.stringify(plain(history));
}

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  if (isLong(value)) return value.toString(10);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v);
  return out;
}

/** protobufjs 64-bit integers (event IDs, task IDs). */
function isLong(value: object): value is { low: number; high: number; toString(radix: number): string } {
  return 'low' in value && 'high' in value && 'unsigned' in value;
}

/** The histories of every handle (all runs, continue-as-new included), as text. */
export async function historiesText(handles: WorkflowHandle[]): Promise<string[]> {
  return Promise.all(handles.map(async (h) => historyText(await h.fetchHistory())));
}

/**
 * With RECORD_HISTORIES=1, writes each history to test/fixtures/histories/<workflowId>.json for test/replay.test.ts,
 * in the JSON format `temporal workflow show --output json` writes, so fixtures can come from either.
 */
export function recordHistories(histories: temporal.api.history.v1.IHistory[], handles: WorkflowHandle[]): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  mkdirSync(dir, { recursive: true });
  for (const [i, history] of histories.entries()) {
    writeFileSync(path.join(dir, `${handles[i]!.workflowId}.json`), historyToJSON(history));
  }
}

/** The failure type of a Temporal failure, looking through an ActivityFailure to its cause. */
function failureType(f: temporal.api.failure.v1.IFailure | null | undefined): string | undefined {
  if (!f) return undefined;
  return f.applicationFailureInfo?.type ?? failureType(f.cause) ?? (f.timeoutFailureInfo ? 'timeout' : undefined);
}

/**
 * What the server recorded about each activity execution: its type, the attempt that finished and the failure of the
 * attempt before it (retried attempts leave no events of their own; their last failure is kept on the started event).
 */
export async function activityAttempts(
  handle: WorkflowHandle,
): Promise<{ activity: string; attempt: number; lastFailure?: string; lastFailureMessage?: string }[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, string>();
  const out: { activity: string; attempt: number; lastFailure?: string; lastFailureMessage?: string }[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const lastFailure = failureType(started.lastFailure);
      out.push({
        activity: scheduled.get(String(started.scheduledEventId)) ?? '?',
        attempt: started.attempt ?? 1,
        ...(lastFailure ? { lastFailure } : {}),
        ...(started.lastFailure?.message ? { lastFailureMessage: started.lastFailure.message } : {}),
      });
    }
  }
  return out;
}

/** Failure `type`s of the activity attempts recorded in a workflow's history (ActivityTaskFailed events). */
export async function activityFailureTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskFailedEventAttributes?.failure)
    .filter((f) => f !== undefined && f !== null)
    .map((f) => failureType(f) ?? '(other)');
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What a local activity's marker (`core_local_activity`) records. */
export interface LocalActivityRun {
  activityType?: string;
  completeTime?: { seconds: number; nanos: number };
  result?: temporal.api.common.v1.IPayloads;
}

/** The local activity a marker records, or undefined for any other event. */
export function localActivityOf(event: HistoryEvent): LocalActivityRun | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
  if (!data) return undefined;
  const { activity_type, complete_time } = JSON.parse(Buffer.from(data).toString('utf8')) as {
    activity_type?: string;
    complete_time?: { seconds: number; nanos: number };
  };
  return { activityType: activity_type, completeTime: complete_time, result: marker?.details?.result ?? undefined };
}

/** The activity type a local activity's marker records, or undefined for any other event. */
export function localActivityTypeOf(event: HistoryEvent): string | undefined {
  return localActivityOf(event)?.activityType;
}

/** A local activity's marker (its index in the run's history) and what woke the workflow task that ran it. */
export interface LocalActivityWake {
  at: number;
  wakers: string[];
}

/**
 * For each local activity of `activityType` in one run's history: what woke the workflow task that ran it, as the
 * attribute names of the events between that task's previous one and its scheduling (e.g. `timerFiredEventAttributes`),
 * leaving out the previous task's own commands and any attempt of the task that timed out or failed under load. A task
 * scheduled straight after the previous one completed continues it: the SDK completes a task early while a local
 * activity runs to answer a query that came with the task (or to heartbeat a long one) and asks for the next at once.
 */
export function wakersOfLocalActivity(events: HistoryEvent[], activityType: string): LocalActivityWake[] {
  const indexOf = (id: unknown) => events.findIndex((e) => String(e.eventId) === String(id));
  const wakersOfTask = (completedAt: number): string[] => {
    const scheduled = events.findLastIndex((e, i) => i < completedAt && !!e.workflowTaskScheduledEventAttributes);
    const previous = events.findLastIndex((e, i) => i < scheduled && !!e.workflowTaskCompletedEventAttributes);
    const wakers = events
      .slice(previous + 1, scheduled)
      .filter((e) => !isCommand(e) && !ofWorkflowTask(e))
      .map(attributeNameOf);
    return wakers.length || previous < 0 ? wakers : wakersOfTask(previous);
  };
  return events.flatMap((marker, at) =>
    localActivityTypeOf(marker) === activityType
      ? [{ at, wakers: wakersOfTask(indexOf(marker.markerRecordedEventAttributes?.workflowTaskCompletedEventId)) }]
      : [],
  );
}

/** Whether an event records a workflow task's command (its attributes name the task). */
function isCommand(event: HistoryEvent): boolean {
  return Object.values(event).some(
    (field) => !!(field as { workflowTaskCompletedEventId?: unknown } | null)?.workflowTaskCompletedEventId,
  );
}

/** An event of a workflow task itself (an attempt that timed out or failed under load leaves these): it wakes nothing. */
function ofWorkflowTask(event: HistoryEvent): boolean {
  return !!(
    event.workflowTaskScheduledEventAttributes ||
    event.workflowTaskStartedEventAttributes ||
    event.workflowTaskTimedOutEventAttributes ||
    event.workflowTaskFailedEventAttributes
  );
}

function attributeNameOf(event: HistoryEvent): string {
  return Object.keys(event).find((k) => k.endsWith('EventAttributes') && event[k as keyof HistoryEvent]) ?? '?';
}

/** The events of each run of a workflow started by `handle`, first run first (follows continue-as-new). */
export async function eventsOfEachRun(handle: WorkflowHandleWithFirstExecutionRunId): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const run: HistoryEvent[] = (await handle.client.getHandle(handle.workflowId, runId).fetchHistory()).events ?? [];
    runs.push(run);
    runId = run.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}
