/**
 * Snapshots in the directory store (design.md §7):
 *
 *   <dir>/<connectionId>/snapshots/<kind>/index.jsonl             one line per complete snapshot, with its diff
 *   <dir>/<connectionId>/snapshots/<kind>/<takenAt>.jsonl         its records, one per line (none for an identical one)
 *   <dir>/<connectionId>/snapshots/<kind>/staging/<snapshotId>/   the snapshot in progress: page-NNNNNN.jsonl (parts),
 *                                                                 progress.json (written after each page)
 *
 * Publishing writes the records file (temp, fsync, rename), then appends the index line (fsync), then removes the
 * staging: a crash before the index line leaves nothing published and the staging intact for the retry; after it,
 * the retry finds its own entry and only cleans up.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SnapshotKind } from '../../workflows/evidence';
import { assertConnectionId } from './checks';
import { errnoCode, EvidenceStoreError, unavailable } from './errors';
import { fsyncDirectory, serialised, writeFileAtomic } from './files';
import { readLineAt, readLines } from './lines';
import {
  SNAPSHOT_ID,
  parseRecordLine,
  publishedParts,
  sha256,
  snapshotEntry,
  writeSnapshot,
  type WrittenSnapshot,
  type PreviousRecordRef,
  type SnapshotEntry,
  type SnapshotPart,
  type SnapshotRecord,
  type SnapshotStore,
  type StagedProgress,
} from './snapshots';

const INDEX_FILE = 'index.jsonl';
const STAGING_DIR = 'staging';
const PROGRESS_FILE = 'progress.json';
const pageFile = (n: number) => `page-${String(n).padStart(6, '0')}.jsonl`;

export class DirectorySnapshotStore implements SnapshotStore {
  constructor(
    private readonly root: string,
    private readonly description: string,
    private readonly now: () => number = Date.now,
  ) {}

  async stagePage(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
    parts: SnapshotPart[],
    progress: Record<string, unknown>,
  ): Promise<void> {
    const dir = this.kindDir(connectionId, kind, snapshotId);
    await this.locked(dir, `stage a ${kind} page`, async () => {
      const staging = path.join(dir, STAGING_DIR);
      const mine = path.join(staging, snapshotId);
      // One snapshot per kind in progress: any other staging is a snapshot that will never complete.
      for (const other of await fs.readdir(staging).catch(() => [])) {
        if (other !== snapshotId) await fs.rm(path.join(staging, other), { recursive: true, force: true });
      }
      await fs.mkdir(mine, { recursive: true });
      const staged = await readProgress(mine);
      const pages = (staged?.pages ?? 0) + 1;
      await writeFileAtomic(mine, pageFile(pages), parts.map((p) => `${JSON.stringify(p)}\n`).join(''));
      await writeFileAtomic(mine, PROGRESS_FILE, JSON.stringify({ pages, progress }));
      await fsyncDirectory(mine);
    });
  }

  async stagedProgress(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
  ): Promise<StagedProgress | undefined> {
    const dir = this.kindDir(connectionId, kind, snapshotId);
    return this.locked(dir, `read the ${kind} staging`, () => readProgress(path.join(dir, STAGING_DIR, snapshotId)));
  }

  async publish(
    connectionId: string,
    kind: SnapshotKind,
    snapshotId: string,
    takenAt: string,
    lastPage?: SnapshotPart[],
  ): Promise<SnapshotEntry> {
    const dir = this.kindDir(connectionId, kind, snapshotId);
    return this.locked(dir, `publish a ${kind} snapshot`, async () => {
      const staging = path.join(dir, STAGING_DIR, snapshotId);
      const entries = await readIndex(dir);
      const done = entries.find((e) => e.snapshotId === snapshotId);
      if (done) {
        await fs.rm(staging, { recursive: true, force: true });
        return done;
      }
      const staged = await readProgress(staging);
      if (!staged && !lastPage) throw new Error(`no staged ${kind} snapshot ${snapshotId} to publish`);

      const previous = entries.at(-1);
      const name = `${takenAt}.jsonl`;
      const temp = path.join(dir, `.${name}.tmp`);
      const handle = await fs.open(temp, 'w', 0o644);
      let written: WrittenSnapshot;
      try {
        let buffer = '';
        const parts = publishedParts(stagedParts(staging, staged?.pages ?? 0), lastPage);
        written = await writeSnapshot(
          parts,
          kind,
          previous && (await previousIndex(dir, previous)),
          async (_, line) => {
            buffer += `${line}\n`;
            if (buffer.length > 1 << 20) {
              await handle.write(buffer);
              buffer = '';
            }
          },
        );
        await handle.write(buffer);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const entry = snapshotEntry(
        { snapshotId, kind, takenAt, completedAt: new Date(this.now()).toISOString() },
        written,
        previous,
      );
      if (entry.sameAs) await fs.rm(temp, { force: true });
      else await fs.rename(temp, path.join(dir, name));
      const index = await fs.open(path.join(dir, INDEX_FILE), 'a', 0o644);
      try {
        await index.appendFile(`${JSON.stringify(entry)}\n`);
        await index.sync();
      } finally {
        await index.close();
      }
      await fsyncDirectory(dir);
      // Any staging of the kind is this snapshot's, or one that will never complete.
      await fs.rm(path.join(dir, STAGING_DIR), { recursive: true, force: true });
      return entry;
    });
  }

  async snapshots(connectionId: string, kind: SnapshotKind): Promise<SnapshotEntry[]> {
    const dir = this.kindDir(connectionId, kind);
    return this.locked(dir, `read the ${kind} snapshot index`, () => readIndex(dir));
  }

  async *records(connectionId: string, kind: SnapshotKind, snapshotId?: string): AsyncIterable<SnapshotRecord> {
    const entries = await this.snapshots(connectionId, kind);
    const entry = snapshotId === undefined ? entries.at(-1) : entries.find((e) => e.snapshotId === snapshotId);
    if (!entry) {
      if (snapshotId === undefined) return;
      throw new EvidenceStoreError('invalid_evidence_record', `no ${kind} snapshot ${snapshotId}`);
    }
    const file = recordsFile(this.kindDir(connectionId, kind), entry);
    try {
      for await (const line of readLines(file)) yield parsed(file, line.text, line.offset);
    } catch (err) {
      throw unavailable(this.description, `read the ${kind} snapshot ${entry.takenAt}`, err);
    }
  }

  // -------------------------------------------------------------------------------------------------------------------

  private kindDir(connectionId: string, kind: SnapshotKind, snapshotId?: string): string {
    assertConnectionId(this.description, connectionId);
    if (snapshotId !== undefined && !SNAPSHOT_ID.test(snapshotId)) {
      throw new EvidenceStoreError('invalid_evidence_record', `snapshot ID ${JSON.stringify(snapshotId)} is not valid`);
    }
    return path.join(this.root, connectionId, 'snapshots', kind);
  }

  private async locked<T>(dir: string, action: string, fn: () => Promise<T>): Promise<T> {
    return serialised(dir, async () => {
      try {
        await fs.mkdir(dir, { recursive: true });
        return await fn();
      } catch (err) {
        throw unavailable(this.description, action, err);
      }
    });
  }
}

const recordsFile = (dir: string, entry: SnapshotEntry): string =>
  path.join(dir, `${entry.sameAs ?? entry.takenAt}.jsonl`);

function parsed(file: string, text: string, offset: number): SnapshotRecord {
  const record = parseRecordLine(text);
  if (!record) throw new Error(`${file} holds an unreadable record at byte ${offset}`);
  return record;
}

async function readProgress(staging: string): Promise<StagedProgress | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(path.join(staging, PROGRESS_FILE), 'utf8')) as StagedProgress;
    return typeof value.pages === 'number' ? value : undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function readIndex(dir: string): Promise<SnapshotEntry[]> {
  const file = path.join(dir, INDEX_FILE);
  const entries: SnapshotEntry[] = [];
  try {
    for await (const line of readLines(file)) entries.push(JSON.parse(line.text) as SnapshotEntry);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  return entries;
}

async function* stagedParts(staging: string, pages: number): AsyncIterable<SnapshotPart> {
  for (let n = 1; n <= pages; n++) {
    for await (const line of readLines(path.join(staging, pageFile(n)))) yield JSON.parse(line.text) as SnapshotPart;
  }
}

/** The previous snapshot as an index: ID → hash of its line, and where to read it back. */
async function previousIndex(dir: string, entry: SnapshotEntry): Promise<Map<string, PreviousRecordRef>> {
  const file = recordsFile(dir, entry);
  const index = new Map<string, PreviousRecordRef>();
  for await (const { text, offset, length } of readLines(file)) {
    const record = parsed(file, text, offset);
    index.set(record.id, {
      hash: sha256(text),
      read: async () => parsed(file, await readLineAt(file, offset, length), offset),
    });
  }
  return index;
}
