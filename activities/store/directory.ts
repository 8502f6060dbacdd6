/**
 * The directory evidence store (design.md §5), the default backend:
 *
 *   <dir>/<connectionId>/envelopes/<envelopeId>.json   latest record of each envelope (one JSON object)
 *   <dir>/<connectionId>/changes.jsonl                 one line per stored version, append-only
 *   <dir>/<connectionId>/sync-checkpoint.json          where an interrupted sync resumes (not evidence)
 *   <dir>/<connectionId>/quarantine/<envelopeId>.json  an envelope DocuSign listed that did not validate (not evidence)
 *
 * Durability and crash safety, in write order:
 * 1. New versions are appended to changes.jsonl in one write and fsynced.
 * 2. Each latest record that must change is written to a temp file in the same directory, fsynced, renamed over
 *    `<envelopeId>.json`; then the directory is fsynced. Readers see the old or the new record, never a torn one.
 * 3. The sync checkpoint, if given, the same way: it never claims a page whose records are not durable.
 * Quarantine entries are written the same way (temp file + rename, one file per envelope) by their own call, which
 * the sync makes before the page's: so the checkpoint never passes a quarantined envelope that is not kept.
 * A crash between 1 and 2 is repaired by re-delivery of the page: the version is found in changes.jsonl (so it is not
 * appended again) and the latest file, which is compared with the newest stored version, is brought up to date.
 * A crash in the middle of 1 leaves a torn last line without a newline: loading ignores it, and the next append starts
 * on a fresh line so the fragment can never swallow a real record.
 *
 * Versions are identified by (envelopeId, statusChangedDateTime as a string). "Newer" compares instants: timestamps
 * are normalised to UTC with 9 fractional digits (`instantKey`) and compared as strings. JS Date is not used for this:
 * it keeps milliseconds only, and DocuSign's statusChangedDateTime has 7 fractional digits.
 *
 * Concurrency: writes (and reads of the version index) of one connection are serialised by a promise chain shared by
 * every DirectoryStore instance of the process. Each instance keeps an in-memory index of changes.jsonl (envelopeId ->
 * versions with their byte offsets), loaded on first use and then extended incrementally from the file (a stat per
 * operation notices appends by other processes and a replaced file). One writer *process* per directory is assumed;
 * use the Postgres store for several workers. Duplicate lines (e.g. two processes racing) are ignored on load.
 *
 * This module also holds the record validation and error helpers that the Postgres store shares.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CONNECTION_ID } from '../../workflows/config';
import type {
  EnvelopeRecord,
  EvidenceStore,
  EvidenceStoreOptions,
  PageWriteResult,
  QuarantinedEnvelope,
  SyncCheckpoint,
  UnreadableLine,
} from './types';

// ---------------------------------------------------------------------------------------------------------------------
// Shared by both backends
// ---------------------------------------------------------------------------------------------------------------------

/** DocuSign envelope IDs are GUIDs; anything that is a safe file name (no separators, no leading dot) is accepted. */
const ENVELOPE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export type EvidenceStoreErrorCode = 'evidence_store_unavailable' | 'invalid_evidence_record';

/**
 * What the stores throw. `evidence_store_unavailable`: the store cannot be read or written (retrying may help);
 * `invalid_evidence_record`: the page itself is wrong (retrying will not help). Messages name the store by its
 * description and never contain credentials.
 */
export class EvidenceStoreError extends Error {
  override name = 'EvidenceStoreError';
  constructor(
    readonly code: EvidenceStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One validated record of a page, with what the backends derive from it. */
export interface PreparedRecord {
  /** Exactly the six fields of design.md §5, in that order. */
  record: EnvelopeRecord;
  /** statusChangedDateTime as a comparable instant (see instantKey). */
  key: string;
  /** JSON.stringify(record): what is stored, byte for byte. */
  json: string;
}

const INSTANT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;
const ZONE_SUFFIX = /(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * An ISO-8601 date-time as a string that sorts in instant order: UTC, `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
 * `2024-10-16T12:54:00.0270000Z` -> `2024-10-16T12:54:00.027000000Z`. Undefined if the value is not such a time.
 * A time without a zone is UTC: DocuSign sends some that way (`2026-06-23T14:05:59.560`, docusign-api.md §10).
 * Precision is kept to the nanosecond (the date part goes through Date.UTC, the fraction never does).
 */
export function instantKey(value: string): string | undefined {
  const m = INSTANT_PATTERN.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = m[7] ?? '';
  const zone = m[8] ?? 'Z';
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, 0);
  // Reject calendar overflow (2024-02-31, 25:00) instead of letting Date roll it over.
  if (
    local.getUTCFullYear() !== year ||
    local.getUTCMonth() !== month - 1 ||
    local.getUTCDate() !== day ||
    local.getUTCHours() !== hour ||
    local.getUTCMinutes() !== minute ||
    local.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let ms = local.getTime();
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2));
    ms -= sign * offsetMinutes * 60_000;
  }
  const utc = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ (4-digit years, which DocuSign times have)
  if (utc.length !== 24) return undefined;
  return `${utc.slice(0, 19)}.${fraction.padEnd(9, '0')}Z`;
}

/**
 * A time the connector writes itself (syncedAt, quarantinedAt, countChangedSince's argument) must carry its zone:
 * Date.parse and Postgres' timestamptz would read a zoneless one as local time.
 */
function isZonedTime(value: unknown): value is string {
  return typeof value === 'string' && ZONE_SUFFIX.test(value) && instantKey(value) !== undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function assertConnectionId(description: string, connectionId: unknown): asserts connectionId is string {
  if (typeof connectionId !== 'string' || !CONNECTION_ID.test(connectionId)) {
    throw new EvidenceStoreError(
      'invalid_evidence_record',
      `Evidence store ${description}: connectionId ${JSON.stringify(connectionId)} must match ${String(CONNECTION_ID)}`,
    );
  }
}

/**
 * Validates a page and normalises each record to the design.md §5 shape. Throws (before anything is written) on the
 * first invalid record. Records repeating an (envelopeId, statusChangedDateTime) already in the page are dropped.
 */
function preparePage(description: string, connectionId: string, records: unknown): PreparedRecord[] {
  assertConnectionId(description, connectionId);
  if (!Array.isArray(records)) {
    throw new EvidenceStoreError('invalid_evidence_record', `Evidence store ${description}: a page must be an array`);
  }
  const out: PreparedRecord[] = [];
  const seen = new Set<string>();
  records.forEach((raw: unknown, i) => {
    const fail = (rule: string): never => {
      const id = isPlainObject(raw) && typeof raw.envelopeId === 'string' ? ` (envelopeId ${raw.envelopeId})` : '';
      throw new EvidenceStoreError(
        'invalid_evidence_record',
        `Evidence store ${description}: record ${i}${id} of the page for connection ${connectionId}: ${rule}`,
      );
    };
    if (!isPlainObject(raw)) return fail('must be an object');
    const { envelopeId, status, statusChangedDateTime, syncedAt, envelope } = raw;
    if (raw.connectionId !== connectionId) fail('connectionId must equal the connection written to');
    if (!isEnvelopeId(envelopeId)) return fail(`envelopeId must match ${String(ENVELOPE_ID_PATTERN)}`);
    if (typeof status !== 'string' || status === '') return fail('status must be a non-empty string');
    const key = typeof statusChangedDateTime === 'string' ? instantKey(statusChangedDateTime) : undefined;
    if (typeof statusChangedDateTime !== 'string' || key === undefined) {
      return fail('statusChangedDateTime must be an ISO date-time, e.g. 2024-10-16T12:54:00.0270000Z');
    }
    if (!isZonedTime(syncedAt)) return fail('syncedAt must be an ISO date-time with a zone');
    if (!isPlainObject(envelope)) return fail('envelope must be an object');
    const dedupKey = `${envelopeId}\u0000${statusChangedDateTime}`;
    if (seen.has(dedupKey)) return;
    seen.add(dedupKey);
    const record: EnvelopeRecord = { connectionId, envelopeId, status, statusChangedDateTime, syncedAt, envelope };
    let json: string;
    try {
      json = JSON.stringify(record);
    } catch (err) {
      return fail(`envelope is not JSON-serialisable (${describeCause(err)})`);
    }
    out.push({ record, key, json });
  });
  return out;
}

/** A writePage call validated (before anything is written); undefined when it has nothing to write. */
export function prepareWrite(
  description: string,
  connectionId: string,
  records: unknown,
  checkpoint: SyncCheckpoint | undefined,
): { page: PreparedRecord[]; checkpointJson?: string } | undefined {
  const page = preparePage(description, connectionId, records);
  const checkpointJson = checkpoint && prepareCheckpoint(description, checkpoint);
  return page.length || checkpointJson ? { page, checkpointJson } : undefined;
}

export function isEnvelopeId(value: unknown): value is string {
  return typeof value === 'string' && ENVELOPE_ID_PATTERN.test(value);
}

/** One validated quarantine entry: the QuarantinedEnvelope fields in order, and its JSON as stored. */
export interface PreparedQuarantine {
  entry: QuarantinedEnvelope;
  json: string;
}

/**
 * Validates quarantine entries (before anything is written) and normalises them to the QuarantinedEnvelope shape;
 * of two entries for one envelope the later wins. Throws `invalid_evidence_record` naming the entry and the rule.
 */
export function prepareQuarantine(description: string, connectionId: string, entries: unknown): PreparedQuarantine[] {
  assertConnectionId(description, connectionId);
  if (!Array.isArray(entries)) {
    throw new EvidenceStoreError(
      'invalid_evidence_record',
      `Evidence store ${description}: quarantine entries must be an array`,
    );
  }
  const byId = new Map<string, PreparedQuarantine>();
  entries.forEach((raw: unknown, i) => {
    const fail = (rule: string): never => {
      throw new EvidenceStoreError(
        'invalid_evidence_record',
        `Evidence store ${description}: quarantine entry ${i} for connection ${connectionId}: ${rule}`,
      );
    };
    if (!isPlainObject(raw)) return fail('must be an object');
    const { envelopeId, reason, quarantinedAt, envelope } = raw;
    if (raw.connectionId !== connectionId) fail('connectionId must equal the connection written to');
    if (!isEnvelopeId(envelopeId)) return fail(`envelopeId must match ${String(ENVELOPE_ID_PATTERN)}`);
    if (typeof reason !== 'string' || reason === '') return fail('reason must be a non-empty string');
    if (!isZonedTime(quarantinedAt)) return fail('quarantinedAt must be an ISO date-time with a zone');
    if (!isPlainObject(envelope)) return fail('envelope must be an object');
    const entry: QuarantinedEnvelope = { connectionId, envelopeId, reason, quarantinedAt, envelope };
    let json: string;
    try {
      json = JSON.stringify(entry);
    } catch (err) {
      return fail(`envelope is not JSON-serialisable (${describeCause(err)})`);
    }
    byId.set(envelopeId, { entry, json });
  });
  return [...byId.values()];
}

/** A stored quarantine entry, or undefined if the text is not one. */
export function parseQuarantined(text: string): QuarantinedEnvelope | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (
      isPlainObject(value) &&
      isEnvelopeId(value.envelopeId) &&
      typeof value.reason === 'string' &&
      typeof value.quarantinedAt === 'string' &&
      isPlainObject(value.envelope)
    ) {
      return value as unknown as QuarantinedEnvelope;
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** The checkpoint as stored (JSON text), or an `invalid_evidence_record` error naming the field. */
function prepareCheckpoint(description: string, checkpoint: SyncCheckpoint): string {
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

/** Parses an ISO time argument (countChangedSince) or throws. */
export function parseSince(description: string, since: string): number {
  const ms = isZonedTime(since) ? Date.parse(since) : NaN;
  if (!Number.isFinite(ms)) {
    throw new EvidenceStoreError(
      'invalid_evidence_record',
      `Evidence store ${description}: ${JSON.stringify(since)} is not an ISO date-time with a zone`,
    );
  }
  return ms;
}

/** A one-line description of any thrown value (Node's AggregateError from a dual-stack connect has no message). */
function describeCause(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) {
    return [...new Set(err.errors.map(describeCause))].join('; ');
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (err.message) return err.message;
    return typeof code === 'string' ? code : err.name;
  }
  return String(err);
}

/** The `code` of a Node or pg error (errno name, SQLSTATE). */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Byte (UTF-16 code unit) order, as Postgres' COLLATE "C" keys sort. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Wraps a backend failure; validation errors and already-wrapped errors pass through unchanged. */
export function unavailable(description: string, action: string, err: unknown): EvidenceStoreError {
  if (err instanceof EvidenceStoreError) return err;
  return new EvidenceStoreError(
    'evidence_store_unavailable',
    `Evidence store ${description}: cannot ${action}: ${describeCause(err)}`,
    { cause: err },
  );
}

/** Runs fn over items with at most `limit` in flight; rejects with the first failure after all started ones settle. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

// ---------------------------------------------------------------------------------------------------------------------
// Directory store
// ---------------------------------------------------------------------------------------------------------------------

interface VersionEntry {
  statusChangedDateTime: string;
  key: string;
  syncedAtMs: number;
  /** Byte range of the line in changes.jsonl (without the newline). */
  offset: number;
  length: number;
}

interface VersionIndex {
  /** Identity of changes.jsonl when loaded: a replaced file is reloaded from scratch. */
  ino: number;
  /** Bytes consumed: everything up to and including the last newline seen. */
  offset: number;
  /** Size at the last refresh; > offset means an unterminated (torn) last line. */
  size: number;
  envelopes: Map<string, VersionEntry[]>;
  /** Complete lines that are not a record: skipped, and reported (never silently). */
  unreadable: UnreadableLine[];
}

interface ConnectionPaths {
  dir: string;
  envelopes: string;
  changes: string;
  quarantine: string;
}

const CHANGES_FILE = 'changes.jsonl';
const CHECKPOINT_FILE = 'sync-checkpoint.json';
const ENVELOPES_DIR = 'envelopes';
const QUARANTINE_DIR = 'quarantine';
const READ_CHUNK = 1 << 20;
const FILE_CONCURRENCY = 16;
const LIST_READ_AHEAD = 32;

/** Per-connection-directory promise chains, shared by every instance in the process. */
const chains = new Map<string, Promise<void>>();

async function serialised<T>(lockKey: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(lockKey) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => done);
  chains.set(lockKey, tail);
  try {
    await previous;
    return await fn();
  } finally {
    release();
    if (chains.get(lockKey) === tail) chains.delete(lockKey);
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP'].includes(errnoCode(err) ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

/** Temp file in the same directory, fsync, rename over the target. Never leaves the temp file behind. */
async function writeFileAtomic(dir: string, name: string, data: string): Promise<void> {
  const temp = path.join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', 0o644);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, path.join(dir, name));
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** `<envelopeId>.json` names of a directory listing as IDs, in ID order; anything else is skipped. */
function idsOfJsonFiles(names: string[]): string[] {
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .filter(isEnvelopeId)
    .sort(compare);
}

/** The newest version: greatest instant; among equal instants, the first stored. */
function newest(entries: readonly VersionEntry[]): VersionEntry | undefined {
  let best: VersionEntry | undefined;
  for (const e of entries) if (best === undefined || e.key > best.key) best = e;
  return best;
}

function parseRecordLine(text: string): EnvelopeRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (
    !isPlainObject(value) ||
    typeof value.envelopeId !== 'string' ||
    typeof value.statusChangedDateTime !== 'string' ||
    typeof value.syncedAt !== 'string' ||
    instantKey(value.statusChangedDateTime) === undefined ||
    !Number.isFinite(Date.parse(value.syncedAt))
  ) {
    return undefined;
  }
  return value as unknown as EnvelopeRecord;
}

export class DirectoryStore implements EvidenceStore {
  readonly description: string;
  private readonly root: string;
  private readonly indexes = new Map<string, VersionIndex>();
  private closed = false;

  constructor(
    dir: string,
    private readonly options: EvidenceStoreOptions = {},
  ) {
    if (typeof dir !== 'string' || dir.trim() === '') {
      throw new EvidenceStoreError('evidence_store_unavailable', 'Evidence store: the directory path is empty');
    }
    this.root = path.resolve(dir);
    this.description = `directory ${this.root}`;
  }

  async init(): Promise<void> {
    this.assertOpen();
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.access(this.root, fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      throw unavailable(this.description, 'initialise', err);
    }
  }

  async writePage(
    connectionId: string,
    records: EnvelopeRecord[],
    checkpoint?: SyncCheckpoint,
  ): Promise<PageWriteResult> {
    this.assertOpen();
    const write = prepareWrite(this.description, connectionId, records, checkpoint);
    if (!write) return { changed: [], unchanged: [] };
    const { page, checkpointJson } = write;
    const paths = this.paths(connectionId);
    return serialised(paths.dir, async () => {
      try {
        const result = page.length ? await this.writeLocked(connectionId, paths, page) : { changed: [], unchanged: [] };
        if (checkpointJson) {
          await fs.mkdir(paths.dir, { recursive: true });
          await writeFileAtomic(paths.dir, CHECKPOINT_FILE, checkpointJson);
          await fsyncDirectory(paths.dir);
        }
        return result;
      } catch (err) {
        throw unavailable(this.description, `write a page for connection ${connectionId}`, err);
      }
    });
  }

  async readCheckpoint(connectionId: string): Promise<SyncCheckpoint | undefined> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    let text: string;
    try {
      text = await fs.readFile(path.join(this.paths(connectionId).dir, CHECKPOINT_FILE), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw unavailable(this.description, `read the sync checkpoint of connection ${connectionId}`, err);
    }
    return parseCheckpoint(text);
  }

  async count(connectionId: string): Promise<number> {
    const index = await this.readIndex(connectionId, 'count envelopes');
    return index.envelopes.size;
  }

  async countChangedSince(connectionId: string, syncedAt: string): Promise<number> {
    const sinceMs = parseSince(this.description, syncedAt);
    const index = await this.readIndex(connectionId, 'count changed envelopes');
    let n = 0;
    for (const entries of index.envelopes.values()) if (entries.some((e) => e.syncedAtMs >= sinceMs)) n++;
    return n;
  }

  async *list(connectionId: string): AsyncIterable<EnvelopeRecord> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    const { envelopes } = this.paths(connectionId);
    const action = `list envelopes of connection ${connectionId}`;
    let ids: string[];
    try {
      ids = idsOfJsonFiles(await fs.readdir(envelopes));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw unavailable(this.description, action, err);
    }
    // Files are read a few ahead of the consumer (order kept); the promises never reject, so stopping early is safe.
    const read = (id: string): Promise<{ record?: EnvelopeRecord; error?: unknown }> =>
      fs.readFile(path.join(envelopes, `${id}.json`), 'utf8').then(
        (text) => {
          const record = parseRecordLine(text);
          return record ? { record } : { error: new Error(`${id}.json is not a valid record`) };
        },
        (error: unknown) => (errnoCode(error) === 'ENOENT' ? {} : { error }),
      );
    const ahead: Promise<{ record?: EnvelopeRecord; error?: unknown }>[] = [];
    let next = 0;
    for (;;) {
      while (ahead.length < LIST_READ_AHEAD && next < ids.length) ahead.push(read(ids[next++] as string));
      const head = ahead.shift();
      if (!head) return;
      const { record, error } = await head;
      if (error !== undefined) throw unavailable(this.description, action, error);
      if (record) yield record; // a file removed since readdir is skipped
    }
  }

  async versions(connectionId: string, envelopeId: string): Promise<EnvelopeRecord[]> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    if (!isEnvelopeId(envelopeId)) return [];
    const paths = this.paths(connectionId);
    return serialised(paths.dir, async () => {
      try {
        const index = await this.refresh(connectionId, paths);
        const entries = [...(index.envelopes.get(envelopeId) ?? [])].sort(
          (a, b) => compare(a.key, b.key) || a.offset - b.offset,
        );
        return await this.readVersions(paths, entries);
      } catch (err) {
        throw unavailable(this.description, `read versions of envelope ${envelopeId}`, err);
      }
    });
  }

  async quarantine(connectionId: string, entries: QuarantinedEnvelope[]): Promise<void> {
    this.assertOpen();
    const prepared = prepareQuarantine(this.description, connectionId, entries);
    if (!prepared.length) return;
    const paths = this.paths(connectionId);
    await serialised(paths.dir, async () => {
      try {
        const created = await fs.mkdir(paths.quarantine, { recursive: true });
        await mapLimit(prepared, FILE_CONCURRENCY, ({ entry, json }) =>
          writeFileAtomic(paths.quarantine, `${entry.envelopeId}.json`, `${json}\n`),
        );
        await fsyncDirectory(paths.quarantine);
        if (created !== undefined) await fsyncDirectory(paths.dir);
      } catch (err) {
        throw unavailable(this.description, `quarantine envelopes of connection ${connectionId}`, err);
      }
    });
  }

  async release(connectionId: string, envelopeIds: string[]): Promise<void> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    // An ID that is not a safe file name can never have been quarantined.
    const ids = [...new Set(envelopeIds.filter(isEnvelopeId))];
    if (!ids.length) return;
    const paths = this.paths(connectionId);
    await serialised(paths.dir, async () => {
      try {
        let removed = 0;
        await mapLimit(ids, FILE_CONCURRENCY, async (id) => {
          try {
            await fs.unlink(path.join(paths.quarantine, `${id}.json`));
            removed++;
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') throw err;
          }
        });
        if (removed) await fsyncDirectory(paths.quarantine);
      } catch (err) {
        throw unavailable(this.description, `release quarantined envelopes of connection ${connectionId}`, err);
      }
    });
  }

  async listQuarantined(connectionId: string): Promise<QuarantinedEnvelope[]> {
    const dir = this.paths(connectionId).quarantine;
    const action = `list quarantined envelopes of connection ${connectionId}`;
    const ids = await this.quarantinedIds(connectionId, action);
    try {
      const out: QuarantinedEnvelope[] = [];
      for (const id of ids) {
        let text: string;
        try {
          text = await fs.readFile(path.join(dir, `${id}.json`), 'utf8');
        } catch (err) {
          if (errnoCode(err) === 'ENOENT') continue; // released since readdir
          throw err;
        }
        const entry = parseQuarantined(text);
        if (!entry || entry.envelopeId !== id)
          throw new Error(`${QUARANTINE_DIR}/${id}.json is not a quarantine entry`);
        out.push(entry);
      }
      return out;
    } catch (err) {
      throw unavailable(this.description, action, err);
    }
  }

  async countQuarantined(connectionId: string): Promise<number> {
    return (await this.quarantinedIds(connectionId, `count quarantined envelopes of connection ${connectionId}`))
      .length;
  }

  async unreadableLines(connectionId: string): Promise<UnreadableLine[]> {
    const index = await this.readIndex(connectionId, 'check the journal');
    return [...index.unreadable];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.indexes.clear();
  }

  // -------------------------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed)
      throw new EvidenceStoreError('evidence_store_unavailable', `Evidence store ${this.description} is closed`);
  }

  /** Envelope IDs with a quarantine file, in ID order (temp files of an interrupted write are not entries). */
  private async quarantinedIds(connectionId: string, action: string): Promise<string[]> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    try {
      return idsOfJsonFiles(await fs.readdir(this.paths(connectionId).quarantine));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw unavailable(this.description, action, err);
    }
  }

  private paths(connectionId: string): ConnectionPaths {
    const dir = path.join(this.root, connectionId);
    return {
      dir,
      envelopes: path.join(dir, ENVELOPES_DIR),
      changes: path.join(dir, CHANGES_FILE),
      quarantine: path.join(dir, QUARANTINE_DIR),
    };
  }

  private async readIndex(connectionId: string, action: string): Promise<VersionIndex> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    const paths = this.paths(connectionId);
    return serialised(paths.dir, async () => {
      try {
        return await this.refresh(connectionId, paths);
      } catch (err) {
        throw unavailable(this.description, `${action} of connection ${connectionId}`, err);
      }
    });
  }

  private async writeLocked(
    connectionId: string,
    paths: ConnectionPaths,
    page: PreparedRecord[],
  ): Promise<PageWriteResult> {
    await fs.mkdir(paths.envelopes, { recursive: true });
    let index = await this.refresh(connectionId, paths);

    // 1. Versions not stored yet, appended and fsynced in one write.
    const fresh = page.filter(
      (p) =>
        !index.envelopes
          .get(p.record.envelopeId)
          ?.some((e) => e.statusChangedDateTime === p.record.statusChangedDateTime),
    );
    if (fresh.length) {
      const body = fresh.map((p) => `${p.json}\n`).join('');
      // A torn last line (crash mid-append) must not swallow this append: start on a fresh line.
      const data = index.size > index.offset ? `\n${body}` : body;
      const created = index.size === 0;
      const handle = await fs.open(paths.changes, 'a', 0o644);
      try {
        await handle.appendFile(data, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (created) await fsyncDirectory(paths.dir);
      index = await this.refresh(connectionId, paths);
    }

    // 2. Latest records: each page envelope's file must hold its newest stored version. Checking the file (rather
    //    than only the versions just appended) repairs a crash that happened between 1 and 2. A version appended
    //    just now is newer than any file (files only ever hold versions already in changes.jsonl), so it needs no
    //    check: in a backfill, where every version is new, that saves a read per envelope.
    const pageIds = [...new Set(page.map((p) => p.record.envelopeId))];
    const versionKey = (envelopeId: string, statusChangedDateTime: string) =>
      `${envelopeId}\u0000${statusChangedDateTime}`;
    const fromPage = new Map(
      page.map((p) => [versionKey(p.record.envelopeId, p.record.statusChangedDateTime), p.json]),
    );
    const appended = new Set(fresh.map((p) => versionKey(p.record.envelopeId, p.record.statusChangedDateTime)));
    let wrote = false;
    await mapLimit(pageIds, FILE_CONCURRENCY, async (envelopeId) => {
      const best = newest(index.envelopes.get(envelopeId) ?? []);
      if (!best) throw new Error(`version of ${envelopeId} missing from ${CHANGES_FILE} after append`);
      const bestKey = versionKey(envelopeId, best.statusChangedDateTime);
      if (!appended.has(bestKey)) {
        const current = await this.readLatestKey(paths, envelopeId);
        if (current !== undefined && current >= best.key) return;
      }
      const json = fromPage.get(bestKey) ?? JSON.stringify((await this.readVersions(paths, [best]))[0]);
      await writeFileAtomic(paths.envelopes, `${envelopeId}.json`, `${json}\n`);
      wrote = true;
    });
    if (wrote) await fsyncDirectory(paths.envelopes);

    const changedSet = new Set(fresh.map((p) => p.record.envelopeId));
    return {
      changed: pageIds.filter((id) => changedSet.has(id)),
      unchanged: pageIds.filter((id) => !changedSet.has(id)),
    };
  }

  /** Instant key of the stored latest record; undefined if it is missing or unreadable as a record (then rewritten). */
  private async readLatestKey(paths: ConnectionPaths, envelopeId: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path.join(paths.envelopes, `${envelopeId}.json`), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const record = parseRecordLine(text);
    return record && record.envelopeId === envelopeId ? instantKey(record.statusChangedDateTime) : undefined;
  }

  private async readVersions(paths: ConnectionPaths, entries: readonly VersionEntry[]): Promise<EnvelopeRecord[]> {
    if (!entries.length) return [];
    const handle = await fs.open(paths.changes, 'r');
    try {
      const out: EnvelopeRecord[] = [];
      for (const entry of entries) {
        const buf = Buffer.alloc(entry.length);
        const { bytesRead } = await handle.read(buf, 0, entry.length, entry.offset);
        const record = bytesRead === entry.length ? parseRecordLine(buf.toString('utf8')) : undefined;
        if (!record) throw new Error(`${CHANGES_FILE} changed under the index at byte ${entry.offset}`);
        out.push(record);
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  /**
   * Brings the in-memory index up to date with changes.jsonl: loads it on first use, reads only what was appended
   * since, reloads if the file was replaced or truncated. Call with the connection's chain held.
   */
  private async refresh(connectionId: string, paths: ConnectionPaths): Promise<VersionIndex> {
    let stat: { ino: number; size: number };
    try {
      stat = await fs.stat(paths.changes);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      const empty: VersionIndex = { ino: -1, offset: 0, size: 0, envelopes: new Map(), unreadable: [] };
      this.indexes.set(connectionId, empty);
      return empty;
    }
    let index = this.indexes.get(connectionId);
    if (!index || index.ino !== stat.ino || stat.size < index.offset) {
      index = { ino: stat.ino, offset: 0, size: 0, envelopes: new Map(), unreadable: [] };
      this.indexes.set(connectionId, index);
    }
    if (stat.size > index.offset) {
      const known = index.unreadable.length;
      await this.load(paths.changes, index, stat.size);
      for (const line of index.unreadable.slice(known)) this.options.onUnreadableLine?.(connectionId, line);
    }
    index.size = stat.size;
    return index;
  }

  /** Reads complete lines of changes.jsonl from index.offset up to `end` into the index. */
  private async load(file: string, index: VersionIndex, end: number): Promise<void> {
    const handle = await fs.open(file, 'r');
    try {
      let carry = Buffer.alloc(0);
      let carryStart = index.offset;
      let position = index.offset;
      while (position < end) {
        const chunk = Buffer.alloc(Math.min(READ_CHUNK, end - position));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
        let lineStart = 0;
        for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, lineStart)) {
          if (nl > lineStart)
            this.indexLine(index, file, buf.toString('utf8', lineStart, nl), carryStart + lineStart, nl - lineStart);
          lineStart = nl + 1;
        }
        index.offset = carryStart + lineStart;
        carry = buf.subarray(lineStart);
        carryStart += lineStart;
      }
      // Whatever is left in `carry` has no newline yet: a torn last line (or one being written). Not consumed.
    } finally {
      await handle.close();
    }
  }

  private indexLine(index: VersionIndex, file: string, text: string, offset: number, length: number): void {
    const record = parseRecordLine(text);
    const key = record ? instantKey(record.statusChangedDateTime) : undefined;
    if (!record || key === undefined) {
      // A torn fragment that a later append terminated (its page was re-delivered whole), or corruption.
      index.unreadable.push({ file, offset, length });
      return;
    }
    let entries = index.envelopes.get(record.envelopeId);
    if (!entries) index.envelopes.set(record.envelopeId, (entries = []));
    if (entries.some((e) => e.statusChangedDateTime === record.statusChangedDateTime)) return; // duplicate line
    entries.push({
      statusChangedDateTime: record.statusChangedDateTime,
      key,
      syncedAtMs: Date.parse(record.syncedAt),
      offset,
      length,
    });
  }
}
