/**
 * The in-memory index of a connection's journal (changes.jsonl, see directory.ts): envelope ID -> its versions with
 * their byte ranges, loaded on first use and then extended from the file as it grows. Lines that are not a record
 * (a torn fragment a later append terminated, corruption) are skipped and reported, never silently.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isPlainObject } from './checks';
import { errnoCode } from './errors';
import { instantKey } from './identity';
import type { EnvelopeRecord, EvidenceStoreOptions, UnreadableLine } from './types';

export interface VersionEntry {
  statusChangedDateTime: string;
  key: string;
  syncedAtMs: number;
  /** Byte range of the line in changes.jsonl (without the newline). */
  offset: number;
  length: number;
}

export interface VersionIndex {
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

const READ_CHUNK = 1 << 20;

/** The newest version: greatest instant; among equal instants, the first stored. */
export function newest(entries: readonly VersionEntry[]): VersionEntry | undefined {
  let best: VersionEntry | undefined;
  for (const e of entries) if (best === undefined || e.key > best.key) best = e;
  return best;
}

/** A journal line (or latest file) as a record, or undefined if it is not one. */
export function parseRecordLine(text: string): EnvelopeRecord | undefined {
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

/** The records of these versions, read back from the journal by their byte ranges. */
export async function readVersions(file: string, entries: readonly VersionEntry[]): Promise<EnvelopeRecord[]> {
  if (!entries.length) return [];
  const handle = await fs.open(file, 'r');
  try {
    const out: EnvelopeRecord[] = [];
    for (const entry of entries) {
      const buf = Buffer.alloc(entry.length);
      const { bytesRead } = await handle.read(buf, 0, entry.length, entry.offset);
      const record = bytesRead === entry.length ? parseRecordLine(buf.toString('utf8')) : undefined;
      if (!record) throw new Error(`${path.basename(file)} changed under the index at byte ${entry.offset}`);
      out.push(record);
    }
    return out;
  } finally {
    await handle.close();
  }
}

/** The journal indexes of one store instance, per connection. */
export class JournalIndexes {
  private readonly indexes = new Map<string, VersionIndex>();

  constructor(private readonly onUnreadableLine: EvidenceStoreOptions['onUnreadableLine']) {}

  /**
   * Brings the in-memory index up to date with changes.jsonl: loads it on first use, reads only what was appended
   * since, reloads if the file was replaced or truncated. Call with the connection's chain held.
   */
  async refresh(connectionId: string, file: string): Promise<VersionIndex> {
    let stat: { ino: number; size: number };
    try {
      stat = await fs.stat(file);
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
      await this.load(file, index, stat.size);
      for (const line of index.unreadable.slice(known)) this.onUnreadableLine?.(connectionId, line);
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

  clear(): void {
    this.indexes.clear();
  }
}
