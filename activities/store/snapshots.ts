/**
 * Snapshot evidence (design.md §7): full refreshes of users, groups, permission profiles, signing groups and account
 * settings. The contract both backends implement, and the logic they share: how staged pages become records, how a
 * snapshot is hashed, and how it is diffed against the previous complete one.
 *
 * Life of a snapshot: every fetched page but the last is staged with the position after it (so a retry resumes from
 * the last staged page); the last page goes straight to `publish` (a retry fetches it again), which assembles the
 * records, diffs them against the previous complete snapshot, stores them and appends one index entry, in that order,
 * and clears the staging. A snapshot of one page is thus one write, not two. A snapshot is never visible before it is
 * complete; one that cannot complete leaves only its staging, which the next snapshot of the kind discards, and
 * removes nothing. An identical snapshot stores no records again, only its index entry (the records are addressed by
 * their SHA-256).
 */
import { createHash } from 'node:crypto';
import type { SnapshotKind } from '../../workflows/evidence';

/** One object of a snapshot, exactly as DocuSign sent it; a group carries its members (each as sent). */
export interface SnapshotRecord {
  id: string;
  object: Record<string, unknown>;
  members?: Record<string, unknown>[];
}

/** What the fetch stages, page by page: an object, or a chunk of the members of the object with that ID. */
export type SnapshotPart =
  { id: string; object: Record<string, unknown> } | { id: string; members: Record<string, unknown>[] };

export interface SnapshotChange {
  id: string;
  /** Top-level fields of the object whose value changed (added or removed fields count), and `members`. */
  fields: string[];
  /** When `members` changed: member IDs that joined and left. */
  membersAdded?: string[];
  membersRemoved?: string[];
}

export interface SnapshotDiff {
  added: string[];
  removed: string[];
  changed: SnapshotChange[];
}

/** One line of a kind's index: a complete snapshot. */
export interface SnapshotEntry {
  snapshotId: string;
  kind: SnapshotKind;
  /** When the workflow started it (ISO): the name of the snapshot. */
  takenAt: string;
  completedAt: string;
  count: number;
  /** SHA-256 of the record lines: equal hashes, equal snapshots (stored once). */
  sha256: string;
  /** Identical to an earlier snapshot: the takenAt of the one whose stored records it shares (no copy is kept). */
  sameAs?: string;
  /** Absent for the first snapshot of a kind. */
  diff?: SnapshotDiff;
}

export interface StagedProgress {
  /** Pages staged so far. */
  pages: number;
  /** Where the fetch goes on from, as saved with the last staged page (opaque to the store). */
  progress: Record<string, unknown>;
}

export interface SnapshotStore {
  /**
   * Stages one fetched page of a snapshot in progress, with the position after it; durable when it resolves (the
   * position is never ahead of the pages). Staging of another snapshot of the same kind is discarded first: one
   * snapshot per kind is in progress at a time.
   */
  stagePage(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
    parts: SnapshotPart[],
    progress: Record<string, unknown>,
  ): Promise<void>;
  /** How far the staging of this snapshot got, if it was started. */
  stagedProgress(connectionId: string, kind: SnapshotKind, snapshotId: string): Promise<StagedProgress | undefined>;
  /**
   * Publishes the snapshot (see above): its staged pages, then `lastPage` (the page that ended the listing, not
   * staged), and returns its entry; any staging of the kind is cleared. Without `lastPage` at least one page must be
   * staged. Idempotent: publishing a snapshot already published returns its entry again (`lastPage` is not read).
   */
  publish(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
    takenAt: string,
    lastPage?: SnapshotPart[],
  ): Promise<SnapshotEntry>;
  /** The complete snapshots of a kind, oldest first. */
  snapshots(connectionId: string, kind: SnapshotKind): Promise<SnapshotEntry[]>;
  /** The records of a complete snapshot (the latest when `snapshotId` is absent), in DocuSign's order. */
  records(connectionId: string, kind: SnapshotKind, snapshotId?: string): AsyncIterable<SnapshotRecord>;
}

// ---- shared by both backends ----

/** The stored form of a record: one JSON line, `id`, `object`, then `members` (if any). */
export function recordLine(record: SnapshotRecord): string {
  const { id, object, members } = record;
  return JSON.stringify(members ? { id, object, members } : { id, object });
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Hashes a snapshot line by line, as it is written: the same lines in the same order give the same hash. */
export class SnapshotHasher {
  private readonly hash = createHash('sha256');
  add(line: string): void {
    this.hash.update(line).update('\n');
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** The ID of a member object (group members are users). */
const memberId = (member: Record<string, unknown>): string =>
  typeof member.userId === 'string' ? member.userId : JSON.stringify(member);

/** Kinds whose objects carry members fetched separately (a group's users). */
export const hasMembers = (kind: SnapshotKind): boolean => kind === 'groups';

/**
 * The records a snapshot's staged parts make, in order. Without members every object part is a record. With
 * members, the objects come first (list pages), then each object's member chunks, consecutive and in the objects'
 * order (an object without members gets one empty chunk): a record is complete when the next object's chunks begin.
 * Held in memory: the objects of such a kind (as many as there are groups) and one object's members at a time.
 */
export async function* assembleRecords(
  parts: AsyncIterable<SnapshotPart>,
  withMembers: boolean,
): AsyncIterable<SnapshotRecord> {
  const pending = new Map<string, Record<string, unknown>>();
  // A list re-read from its start (it shifted while paged) repeats items: the first copy is kept.
  const seen = new Set<string>();
  let current: { record: SnapshotRecord; members: Set<string> } | undefined;
  for await (const part of parts) {
    if ('object' in part) {
      if (seen.has(part.id)) continue;
      seen.add(part.id);
      if (withMembers) pending.set(part.id, part.object);
      else yield { id: part.id, object: part.object };
      continue;
    }
    if (current?.record.id !== part.id) {
      if (current) yield current.record;
      const object = pending.get(part.id);
      if (!object) throw new Error(`snapshot staging holds members of ${part.id} but not the object`);
      pending.delete(part.id);
      current = { record: { id: part.id, object, members: [] }, members: new Set() };
    }
    for (const member of part.members) {
      const id = memberId(member);
      if (current.members.has(id)) continue;
      current.members.add(id);
      current.record.members!.push(member);
    }
  }
  if (current) yield current.record;
  if (pending.size) throw new Error(`snapshot staging holds no members of ${[...pending.keys()].join(', ')}`);
}

/** How `next` differs from `previous` (same ID): the changed fields, and who joined or left. */
function changeOf(previous: SnapshotRecord, next: SnapshotRecord): SnapshotChange | undefined {
  const keys = new Set([...Object.keys(previous.object), ...Object.keys(next.object)]);
  const fields = [...keys].filter((k) => JSON.stringify(previous.object[k]) !== JSON.stringify(next.object[k])).sort();
  const change: SnapshotChange = { id: next.id, fields };
  if (previous.members || next.members) {
    const before = new Set((previous.members ?? []).map(memberId));
    const after = new Set((next.members ?? []).map(memberId));
    const joined = [...after].filter((m) => !before.has(m)).sort();
    const left = [...before].filter((m) => !after.has(m)).sort();
    // Membership is who belongs: a member's own details (status, name) are the users snapshot's to report.
    if (joined.length || left.length) {
      fields.push('members');
      fields.sort();
      change.membersAdded = joined;
      change.membersRemoved = left;
    }
  }
  return fields.length ? change : undefined;
}

/** Where a previous record can be read back from, for the records whose hash changed. */
export interface PreviousRecordRef {
  hash: string;
  read(): Promise<SnapshotRecord>;
}

/**
 * Diffs a snapshot being written against the previous one, record by record: the previous snapshot is held as an
 * index (ID → hash and where to read it), never whole; a record is read back only when its hash changed.
 */
export class SnapshotDiffer {
  private readonly seen = new Set<string>();
  readonly diff: SnapshotDiff = { added: [], removed: [], changed: [] };

  constructor(private readonly previous: Map<string, PreviousRecordRef>) {}

  async add(record: SnapshotRecord, line: string): Promise<void> {
    this.seen.add(record.id);
    const before = this.previous.get(record.id);
    if (!before) {
      this.diff.added.push(record.id);
      return;
    }
    if (before.hash === sha256(line)) return;
    const change = changeOf(await before.read(), record);
    if (change) this.diff.changed.push(change);
  }

  finish(): SnapshotDiff {
    for (const id of this.previous.keys()) if (!this.seen.has(id)) this.diff.removed.push(id);
    return this.diff;
  }
}

/** What publishing made of the staged parts: the records, the snapshot's hash and its diff (absent for the first). */
export interface WrittenSnapshot {
  count: number;
  sha256: string;
  diff?: SnapshotDiff;
}

/** A snapshot's parts: the staged pages', then the unstaged last page's. */
export async function* publishedParts(
  staged: AsyncIterable<SnapshotPart>,
  lastPage: SnapshotPart[] = [],
): AsyncIterable<SnapshotPart> {
  yield* staged;
  yield* lastPage;
}

/**
 * Publishing, as both stores do it: the staged parts assembled into records, each hashed, diffed against the previous
 * snapshot's index (when there is one) and handed to `write` with its line and position (from 0), in order.
 */
export async function writeSnapshot(
  parts: AsyncIterable<SnapshotPart>,
  kind: SnapshotKind,
  previous: Map<string, PreviousRecordRef> | undefined,
  write: (record: SnapshotRecord, line: string, ord: number) => Promise<void>,
): Promise<WrittenSnapshot> {
  const differ = previous && new SnapshotDiffer(previous);
  const hasher = new SnapshotHasher();
  let count = 0;
  for await (const record of assembleRecords(parts, hasMembers(kind))) {
    const line = recordLine(record);
    hasher.add(line);
    await differ?.add(record, line);
    await write(record, line, count);
    count += 1;
  }
  return { count, sha256: hasher.digest(), ...(differ ? { diff: differ.finish() } : {}) };
}

/** The index entry of a published snapshot; one identical to the previous shares its records (`sameAs`). */
export function snapshotEntry(
  name: Pick<SnapshotEntry, 'snapshotId' | 'kind' | 'takenAt' | 'completedAt'>,
  written: WrittenSnapshot,
  previous: SnapshotEntry | undefined,
): SnapshotEntry {
  const identical = previous?.sha256 === written.sha256;
  return {
    ...name,
    count: written.count,
    sha256: written.sha256,
    ...(identical ? { sameAs: previous.sameAs ?? previous.takenAt } : {}),
    ...(written.diff ? { diff: written.diff } : {}),
  };
}

export const changeCounts = (diff: SnapshotDiff) => ({
  added: diff.added.length,
  removed: diff.removed.length,
  changed: diff.changed.length,
});

/** Parses a stored record line; undefined when it is not one. */
export function parseRecordLine(text: string): SnapshotRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<SnapshotRecord>;
    if (typeof value.id === 'string' && typeof value.object === 'object' && value.object !== null) {
      return value as SnapshotRecord;
    }
  } catch {
    // not a record
  }
  return undefined;
}

/** Snapshot IDs name staging folders and rows: a safe token (the workflow builds them from the run and the time). */
export const SNAPSHOT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
