/**
 * The directory evidence store (design.md §5), the default backend (its page writes: directory-page.ts; the index of
 * its journal: journal-index.ts; its quarantine: quarantine-directory.ts):
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
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertConnectionId, parseSince } from './checks';
import { parseCheckpoint } from './checkpoint';
import { EvidenceStoreError, errnoCode, unavailable } from './errors';
import { fsyncDirectory, idsOfJsonFiles, serialised, writeFileAtomic } from './files';
import { writePageFiles, type ConnectionPaths } from './directory-page';
import { compare, isEnvelopeId } from './identity';
import { JournalIndexes, parseRecordLine, readVersions, type VersionIndex } from './journal-index';
import { DirectoryQuarantine } from './quarantine-directory';
import { prepareWrite } from './records';
import { DirectoryProofStore } from './proof-directory';
import type { ProofStore } from './proof';
import { DirectorySnapshotStore } from './snapshots-directory';
import type { SnapshotStore } from './snapshots';
import type {
  EnvelopeRecord,
  EvidenceStore,
  EvidenceStoreOptions,
  PageWriteResult,
  QuarantinedEnvelope,
  SyncCheckpoint,
  UnreadableLine,
} from './types';

const CHECKPOINT_FILE = 'sync-checkpoint.json';
const ENVELOPES_DIR = 'envelopes';
const LIST_READ_AHEAD = 32;

export class DirectoryStore implements EvidenceStore {
  readonly description: string;
  readonly snapshots: SnapshotStore;
  readonly proof: ProofStore;
  private readonly root: string;
  private readonly journal: JournalIndexes;
  private readonly quarantined: DirectoryQuarantine;
  private closed = false;

  constructor(dir: string, options: EvidenceStoreOptions = {}) {
    if (typeof dir !== 'string' || dir.trim() === '') {
      throw new EvidenceStoreError('evidence_store_unavailable', 'Evidence store: the directory path is empty');
    }
    this.root = path.resolve(dir);
    this.description = `directory ${this.root}`;
    this.journal = new JournalIndexes(options.onUnreadableLine);
    this.quarantined = new DirectoryQuarantine(this.root, this.description);
    this.snapshots = new DirectorySnapshotStore(this.root, this.description);
    this.proof = new DirectoryProofStore(this.root, this.description);
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
        const result = page.length
          ? await writePageFiles(this.journal, connectionId, paths, page)
          : { changed: [], unchanged: [] };
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
        const index = await this.journal.refresh(connectionId, paths.changes);
        const entries = [...(index.envelopes.get(envelopeId) ?? [])].sort(
          (a, b) => compare(a.key, b.key) || a.offset - b.offset,
        );
        return await readVersions(paths.changes, entries);
      } catch (err) {
        throw unavailable(this.description, `read versions of envelope ${envelopeId}`, err);
      }
    });
  }

  async quarantine(connectionId: string, entries: QuarantinedEnvelope[]): Promise<void> {
    this.assertOpen();
    await this.quarantined.add(connectionId, entries);
  }

  async release(connectionId: string, envelopeIds: string[]): Promise<void> {
    this.assertOpen();
    await this.quarantined.release(connectionId, envelopeIds);
  }

  async listQuarantined(connectionId: string): Promise<QuarantinedEnvelope[]> {
    this.assertOpen();
    return this.quarantined.list(connectionId);
  }

  async countQuarantined(connectionId: string): Promise<number> {
    this.assertOpen();
    return this.quarantined.count(connectionId);
  }

  async unreadableLines(connectionId: string): Promise<UnreadableLine[]> {
    const index = await this.readIndex(connectionId, 'check the journal');
    return [...index.unreadable];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.journal.clear();
  }

  // -------------------------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed)
      throw new EvidenceStoreError('evidence_store_unavailable', `Evidence store ${this.description} is closed`);
  }

  private paths(connectionId: string): ConnectionPaths {
    const dir = path.join(this.root, connectionId);
    return {
      dir,
      envelopes: path.join(dir, ENVELOPES_DIR),
      changes: path.join(dir, 'changes.jsonl'),
    };
  }

  private async readIndex(connectionId: string, action: string): Promise<VersionIndex> {
    this.assertOpen();
    assertConnectionId(this.description, connectionId);
    const paths = this.paths(connectionId);
    return serialised(paths.dir, async () => {
      try {
        return await this.journal.refresh(connectionId, paths.changes);
      } catch (err) {
        throw unavailable(this.description, `${action} of connection ${connectionId}`, err);
      }
    });
  }
}
