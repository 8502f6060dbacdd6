/**
 * How the directory store writes a page (design.md §5; the order is what makes it crash-safe, see directory.ts):
 * new versions appended to changes.jsonl in one fsynced write, then each page envelope's latest file brought to its
 * newest stored version (temp file + rename), then the directory fsynced.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './errors';
import { fsyncDirectory, writeFileAtomic } from './files';
import { instantKey } from './identity';
import { newest, parseRecordLine, readVersions, type JournalIndexes } from './journal-index';
import { mapLimit } from './map-limit';
import type { PreparedRecord } from './records';
import type { PageWriteResult } from './types';

export interface ConnectionPaths {
  dir: string;
  envelopes: string;
  changes: string;
}

const FILE_CONCURRENCY = 16;

/** Writes a page's versions and latest files; call with the connection's chain held. */
export async function writePageFiles(
  journal: JournalIndexes,
  connectionId: string,
  paths: ConnectionPaths,
  page: PreparedRecord[],
): Promise<PageWriteResult> {
  await fs.mkdir(paths.envelopes, { recursive: true });
  let index = await journal.refresh(connectionId, paths.changes);

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
    index = await journal.refresh(connectionId, paths.changes);
  }

  // 2. Latest records: each page envelope's file must hold its newest stored version. Checking the file (rather
  //    than only the versions just appended) repairs a crash that happened between 1 and 2. A version appended
  //    just now is newer than any file (files only ever hold versions already in changes.jsonl), so it needs no
  //    check: in a backfill, where every version is new, that saves a read per envelope.
  const pageIds = [...new Set(page.map((p) => p.record.envelopeId))];
  const versionKey = (envelopeId: string, statusChangedDateTime: string) =>
    `${envelopeId}\u0000${statusChangedDateTime}`;
  const fromPage = new Map(page.map((p) => [versionKey(p.record.envelopeId, p.record.statusChangedDateTime), p.json]));
  const appended = new Set(fresh.map((p) => versionKey(p.record.envelopeId, p.record.statusChangedDateTime)));
  let wrote = false;
  await mapLimit(pageIds, FILE_CONCURRENCY, async (envelopeId) => {
    const best = newest(index.envelopes.get(envelopeId) ?? []);
    if (!best) throw new Error(`version of ${envelopeId} missing from ${path.basename(paths.changes)} after append`);
    const bestKey = versionKey(envelopeId, best.statusChangedDateTime);
    if (!appended.has(bestKey)) {
      const current = await readLatestKey(paths, envelopeId);
      if (current !== undefined && current >= best.key) return;
    }
    const json = fromPage.get(bestKey) ?? JSON.stringify((await readVersions(paths.changes, [best]))[0]);
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
async function readLatestKey(paths: ConnectionPaths, envelopeId: string): Promise<string | undefined> {
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
