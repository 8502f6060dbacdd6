/**
 * The directory store's quarantine (design.md §5): `<dir>/<connectionId>/quarantine/<envelopeId>.json`, one file per
 * envelope DocuSign listed that did not validate, written atomically (temp file + rename) and durable when a call
 * resolves. Writes take the connection's chain, as its pages do, so a release never races the page that stored it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertConnectionId } from './checks';
import { errnoCode, unavailable } from './errors';
import { fsyncDirectory, idsOfJsonFiles, serialised, writeFileAtomic } from './files';
import { isEnvelopeId } from './identity';
import { mapLimit } from './map-limit';
import { parseQuarantined, prepareQuarantine } from './quarantine-entry';
import type { QuarantinedEnvelope } from './types';

const QUARANTINE_DIR = 'quarantine';
const FILE_CONCURRENCY = 16;

export class DirectoryQuarantine {
  constructor(
    private readonly root: string,
    private readonly description: string,
  ) {}

  async add(connectionId: string, entries: QuarantinedEnvelope[]): Promise<void> {
    const prepared = prepareQuarantine(this.description, connectionId, entries);
    if (!prepared.length) return;
    const quarantine = this.dir(connectionId);
    await serialised(path.dirname(quarantine), async () => {
      try {
        const created = await fs.mkdir(quarantine, { recursive: true });
        await mapLimit(prepared, FILE_CONCURRENCY, ({ entry, json }) =>
          writeFileAtomic(quarantine, `${entry.envelopeId}.json`, `${json}\n`),
        );
        await fsyncDirectory(quarantine);
        if (created !== undefined) await fsyncDirectory(path.dirname(quarantine));
      } catch (err) {
        throw unavailable(this.description, `quarantine envelopes of connection ${connectionId}`, err);
      }
    });
  }

  async release(connectionId: string, envelopeIds: string[]): Promise<void> {
    assertConnectionId(this.description, connectionId);
    // An ID that is not a safe file name can never have been quarantined.
    const ids = [...new Set(envelopeIds.filter(isEnvelopeId))];
    if (!ids.length) return;
    const quarantine = this.dir(connectionId);
    await serialised(path.dirname(quarantine), async () => {
      try {
        let removed = 0;
        await mapLimit(ids, FILE_CONCURRENCY, async (id) => {
          try {
            await fs.unlink(path.join(quarantine, `${id}.json`));
            removed++;
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') throw err;
          }
        });
        if (removed) await fsyncDirectory(quarantine);
      } catch (err) {
        throw unavailable(this.description, `release quarantined envelopes of connection ${connectionId}`, err);
      }
    });
  }

  async list(connectionId: string): Promise<QuarantinedEnvelope[]> {
    const dir = this.dir(connectionId);
    const action = `list quarantined envelopes of connection ${connectionId}`;
    const ids = await this.ids(connectionId, action);
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

  async count(connectionId: string): Promise<number> {
    return (await this.ids(connectionId, `count quarantined envelopes of connection ${connectionId}`)).length;
  }

  /** Envelope IDs with a quarantine file, in ID order (temp files of an interrupted write are not entries). */
  private async ids(connectionId: string, action: string): Promise<string[]> {
    assertConnectionId(this.description, connectionId);
    try {
      return idsOfJsonFiles(await fs.readdir(this.dir(connectionId)));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw unavailable(this.description, action, err);
    }
  }

  private dir(connectionId: string): string {
    return path.join(this.root, connectionId, QUARANTINE_DIR);
  }
}
